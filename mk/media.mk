# media: probe and ladder planning (internal/media); ffmpeg arguments,
# runner and segment watcher (internal/encoder).
# `make bench-media` encodes real sources two ways (one ffmpeg for the whole
# ladder vs one per rung) and prints ladder_cpu_vs_naive (720p, target
# <= 0.9), ladder_cpu_vs_naive_1080p (target <= 0.8), the CPU seconds per
# source second of each way, ssim_<rung>_ladder / ssim_<rung>_naive, and
# storyboard_cpu_overhead_pct (the storyboard sheets, target <= 3).
# ffmpeg and ffprobe come from the root Makefile's setup-system.

BENCH_TARGETS += bench-media

.PHONY: bench-media test-media

bench-media: setup-system ## media: ladder vs one-ffmpeg-per-rung CPU ratio and SSIM per rung
	$(GO) test -run '^$$' -bench '^Benchmark(LadderVsNaive|Storyboard)$$' -benchtime 1x -count 1 -timeout 20m ./internal/encoder

test-media: setup-system ## only internal/media's and internal/encoder's tests (golden files: go test ./internal/media ./internal/encoder -update)
	$(GO) test -race -timeout 15m ./internal/media/... ./internal/encoder/...

# `make bench-pertitle` encodes the clips (and a synthetic high-motion
# source) with the fixed and the per-title ladder and prints
# pertitle_bytes_vs_fixed (target <= 0.65 on average, never > 1.0 per clip)
# with both SSIMs per rung, and pertitle_cpu_overhead_pct (target <= 10).
BENCH_TARGETS += bench-pertitle

.PHONY: bench-pertitle

bench-pertitle: setup-system ## media: per-title vs fixed ladder bytes at no worse SSIM, and the complexity pass's CPU
	$(GO) test -run '^$$' -bench '^BenchmarkPerTitle$$' -benchtime 1x -count 1 -timeout 60m ./internal/encoder

# `make bench-pertitle-bound` encodes the same sources' top rungs whole at
# a sweep of capped CRFs (veryfast and fast) and prints the bytes a
# planner that knew each source exactly would need at the fixed rung's
# SSIM minus 0.0015 and 0.002: the bound pertitle_bytes_vs_fixed is read
# against (pertitle_bound_<preset>_<tolerance>).
BENCH_TARGETS += bench-pertitle-bound

.PHONY: bench-pertitle-bound

bench-pertitle-bound: setup-system ## media: what a per-title planner that knew each source exactly could save (top rungs, CRF sweeps)
	$(GO) test -run '^$$' -bench '^BenchmarkPerTitleBound$$' -benchtime 1x -count 1 -timeout 60m ./internal/encoder

# `make bench-codecs` encodes the clips (first 6 s) and a synthetic
# high-motion source with today's H.264 ladder and searches the HEVC and
# AV1 rungs' CRF for the same SSIM (within 0.002), printing
# hevc_bytes_vs_h264 (target <= 0.70) and av1_bytes_vs_h264 (target
# <= 0.60) with both SSIMs per rung, and cost_per_source_minute_usd of the
# H.264 and H.264+AV1 ladders next to MediaConvert's price.
BENCH_TARGETS += bench-codecs

.PHONY: bench-codecs

bench-codecs: setup-system ## media: HEVC and AV1 bytes vs H.264 at equal SSIM, and the cost per source minute vs MediaConvert
	$(GO) test -run '^$$' -bench '^BenchmarkCodecs$$' -benchtime 1x -count 1 -timeout 60m ./internal/encoder
