# live: the ingest service (services/ingest, internal/live/...).
# `make bench-live` runs BenchmarkLive: 01 looped to ~21 s, default ladder,
# through the RTMP ingest into the embedded S3, against the same ffmpeg
# command run alone. Prints live_publish_lag_p95_ms (target <= 500),
# live_cpu_overhead_pct (target <= 5) and live_streams_realtime_720p. Then
# BenchmarkSRT, the same input over SRT: srt_publish_lag_p95_ms and
# srt_streams_realtime_720p. Then BenchmarkRestream: that stream with two
# restream destinations (nginx-rtmp) over the same without:
# restream_cpu_overhead_pct (target <= 5). Then BenchmarkPDTDrift: a
# 10-minute synthetic feed faster than real time, each segment's
# PROGRAM-DATE-TIME against the feed's clock: live_pdt_drift_ms_per_hour
# (target <= 50). Then BenchmarkLiveGlassToGlass (internal/system): an
# RTMP feed in real time played through the edge by hls.js in headless
# Chromium for a minute, latency = now - hls.playingDate:
# live_glass_to_glass_p50_s / _p95_s (lowLatencyMode) and
# live_glass_to_glass_regular_p50_s / _p95_s (without), with stalls.

BENCH_TARGETS += bench-live
SETUP_TARGETS += setup-live

.PHONY: bench-live test-live setup-live

setup-live: ## install GStreamer's srtsink, a publisher the SRT tests use, and nginx's RTMP module, the restream tests' destination (apt-get)
	$(call APT_UNLESS,gst-inspect-1.0 srtsink,gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad)
	$(call APT_UNLESS,test -x /usr/sbin/nginx && test -e /usr/lib/nginx/modules/ngx_rtmp_module.so,nginx libnginx-mod-rtmp)

bench-live: ## live ingest: publish lag p95 (RTMP, SRT), CPU overhead vs ffmpeg alone and of two restream destinations, 720p streams in real time
	@out=$$($(GO) test -run '^$$' -bench '^Benchmark(Live|SRT|Restream|PDTDrift)$$' -benchtime 1x -count 1 -timeout 15m ./internal/live/ingest 2>&1); rc=$$?; \
		echo "$$out" | grep -E '^(live|srt|restream)_'; \
		if [ $$rc -ne 0 ]; then echo "$$out" | tail -30; exit $$rc; fi
	@out=$$($(GO) test -run '^$$' -bench '^BenchmarkLiveGlassToGlass$$' -benchtime 1x -count 1 -timeout 10m ./internal/system 2>&1); rc=$$?; \
		echo "$$out" | grep -E '^live_'; \
		if [ $$rc -ne 0 ]; then echo "$$out" | tail -30; exit $$rc; fi

test-live: ## only the live ingest's tests
	$(GO) test -race -timeout 15m ./internal/live/... ./services/ingest/...
