# transcode: the on-demand pipeline (internal/vod, the transcode Lambda in
# functions/transcode) and its playlists (internal/hls). `make
# bench-transcode` runs the real pipeline, in a child process, on 01
# looped to about a minute against the embedded S3, and prints
# transcode_peak_rss_mb (Go process only, target <= 100),
# transcode_peak_tmp_mb (bounded by a few segments), ladder_overhead_pct
# (Go CPU as a share of ffmpeg's, target < 5) and the run's CPU figures.
# HLSFLOW_BENCH_LOOPS=N plays 01 N times (default 12, about 64 s).
# `make fuzz-hls` fuzzes the playlist parser for FUZZTIME (default 60s).

BENCH_TARGETS += bench-transcode

FUZZTIME ?= 60s

.PHONY: bench-transcode fuzz-hls test-transcode

bench-transcode: ## transcode handler: peak RSS, peak /tmp, Go CPU overhead vs ffmpeg
	$(GO) test -run '^$$' -bench '^BenchmarkTranscode$$' -benchtime 1x -count 1 -timeout 20m ./internal/vod

test-transcode: ## only the on-demand pipeline's and the playlist package's tests
	$(GO) test -race -timeout 25m ./internal/hls/... ./internal/vod/...

fuzz-hls: ## fuzz the HLS playlist parser (FUZZTIME=60s)
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) -parallel 1 ./internal/hls
