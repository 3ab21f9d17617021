# chunk: parallel chunked encoding (internal/vod's fan-out and Worker, the
# encode Lambda in functions/encode, chunk planning in internal/chunk).
# `make bench-chunk` encodes 01 looped to about a minute (720p, production
# preset and ladder) with 1 worker and with N = cores workers through the
# Invoke API, and prints parallel_wall_vs_ideal (target <= 1.2), parallel_cpu_vs_single
# (target <= 1.1), first_playable_s (target <= 10) and
# cost_per_source_minute_usd next to MediaConvert's price (see
# functions/encode/README.md for the formula and prices).
# `make bench-first-playable` prints first_playable_60min_s (target <= 10)
# for a synthetic 60-minute 720p source, next to the old path's figure
# (the audio encoded whole), measured in the same run.

BENCH_TARGETS += bench-chunk bench-first-playable

.PHONY: bench-chunk bench-first-playable test-chunk

bench-chunk: ## chunked encoding: 1 vs N workers, first playable, cost per minute
	$(GO) test -run '^$$' -bench '^BenchmarkChunked$$' -benchtime 1x -count 1 -timeout 30m ./internal/vod

bench-first-playable: ## first playable of a 60-minute source: chunked audio vs the whole track
	$(GO) test -run '^$$' -bench '^BenchmarkFirstPlayable60min$$' -benchtime 1x -count 1 -timeout 40m ./internal/vod

test-chunk: ## only the chunked-encoding tests (fan-out, Worker, planning)
	$(GO) test -race -timeout 15m -run 'Chunk|Progressive|Redelivered|BadRequests|BrowserPlaysAcrossJoins|AudioJob' ./internal/chunk/... ./internal/vod/...
