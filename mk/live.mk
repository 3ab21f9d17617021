# live: the ingest service (services/ingest, internal/live/...).
# `make bench-live` runs BenchmarkLive: 01 looped to ~21 s, default ladder,
# through the RTMP ingest into the embedded S3, against the same ffmpeg
# command run alone. Prints live_publish_lag_p95_ms (target <= 500),
# live_cpu_overhead_pct (target <= 5) and live_streams_realtime_720p. Then
# BenchmarkSRT, the same input over SRT: srt_publish_lag_p95_ms and
# srt_streams_realtime_720p. Then BenchmarkWHIP, a 720p25 H.264 + Opus clip
# over WHIP (pion, as a browser sends): whip_publish_lag_p95_ms. Then
# BenchmarkRestream: that stream with two
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

bench-live: ## live ingest: publish lag p95 (RTMP, SRT, WHIP), PDT drift, CPU overhead vs ffmpeg alone and of two restream destinations, 720p streams in real time
	@out=$$($(GO) test -run '^$$' -bench '^Benchmark(Live|SRT|WHIP|Restream|PDTDrift)$$' -benchtime 1x -count 1 -timeout 15m ./internal/live/ingest 2>&1); rc=$$?; \
		echo "$$out" | grep -E '^(live|srt|whip|restream)_'; \
		if [ $$rc -ne 0 ]; then echo "$$out" | tail -30; exit $$rc; fi
	@out=$$($(GO) test -run '^$$' -bench '^BenchmarkLiveGlassToGlass$$' -benchtime 1x -count 1 -timeout 10m ./internal/system 2>&1); rc=$$?; \
		echo "$$out" | grep -E '^live_'; \
		if [ $$rc -ne 0 ]; then echo "$$out" | tail -30; exit $$rc; fi

test-live: ## only the live ingest's tests
	$(GO) test -race -timeout 15m ./internal/live/... ./services/ingest/...

# The ingest image without Docker: services/ingest/rootfs.sh builds the
# tree the Dockerfile copies into an empty image (ARCH: x86_64 unless
# given; arm64 cross-built), then its tests run it in its own root
# (bubblewrap; arm64 under qemu-user): ffmpeg and the ingest load, and
# natively an RTMP feed becomes live HLS in S3.
INGEST_ARCH := $(if $(filter command line environment,$(origin ARCH)),$(ARCH),x86_64)
INGEST_DEB   = $(if $(filter arm64,$(INGEST_ARCH)),arm64,amd64)

.PHONY: ingest-rootfs ingest-rootfs-deps

ingest-rootfs-deps: ## install what building the ingest image's tree for ARCH needs (apt-get)
	@pkgs=""; \
	for t in bwrap:bubblewrap file:file gcc:gcc; do command -v $${t%%:*} >/dev/null || pkgs="$$pkgs $${t#*:}"; done; \
	if [ "$(INGEST_DEB)" != "$$(dpkg --print-architecture)" ]; then \
		dpkg --print-foreign-architectures | grep -qx $(INGEST_DEB) || { $(SUDO) dpkg --add-architecture $(INGEST_DEB) && $(SUDO) apt-get update -qq; }; \
		command -v aarch64-linux-gnu-gcc >/dev/null || pkgs="$$pkgs gcc-aarch64-linux-gnu libc6-dev-arm64-cross"; \
		command -v qemu-aarch64-static >/dev/null || pkgs="$$pkgs qemu-user-static"; \
	fi; \
	dpkg -s libsrt-openssl-dev:$(INGEST_DEB) >/dev/null 2>&1 || pkgs="$$pkgs libsrt-openssl-dev:$(INGEST_DEB)"; \
	if [ -n "$$pkgs" ]; then \
		echo "ingest-rootfs: installing$$pkgs"; \
		$(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$pkgs >/dev/null; \
	fi

ingest-rootfs: ingest-rootfs-deps ## build the ingest image's tree for ARCH into dist/ingest-rootfs-ARCH and test it there
	services/ingest/rootfs.sh $(INGEST_ARCH) dist/ingest-rootfs-$(INGEST_ARCH)
	HLSFLOW_INGEST_ROOTFS=$(CURDIR)/dist/ingest-rootfs-$(INGEST_ARCH) $(GO) test -count=1 -timeout 10m -run Rootfs -v ./services/ingest
