# The FFmpeg Lambda layer (layers/ffmpeg): a static ffmpeg + ffprobe built
# from pinned source into dist/layers/ffmpeg-{arch}.zip.
#
#   make layer               x86_64 (what this machine can test natively)
#   make layer ARCH=arm64    cross-compiled; tested under qemu-user
#   make test-layer          runs the empty-root tests on every built zip
#   make ci-layer [ARCH=arm64] build + test one architecture (make test does x86_64 too:
#                            test-lambda-zip builds it, test-layer tests it)
#   make bench-layer         sizes and encode speed against Debian's ffmpeg

# ARCH defaults to arm64 for the functions; the layer defaults to x86_64
# unless ARCH is given explicitly.
LAYER_ARCH := $(if $(filter command line environment,$(origin ARCH)),$(ARCH),x86_64)
LAYER_ZIPS  = $(wildcard dist/layers/ffmpeg-x86_64.zip dist/layers/ffmpeg-arm64.zip)

TEST_TARGETS  += test-layer
BENCH_TARGETS += bench-layer

.PHONY: layer layer-deps test-layer ci-layer bench-layer layer-repro

layer-deps: ## install what the layer build needs (apt-get) when missing
	@pkgs=""; \
	for t in make:make nasm:nasm meson:meson ninja:ninja-build cmake:cmake patch:patch pkg-config:pkg-config xz:xz-utils zip:zip gcc:gcc g++:g++ curl:curl; do \
		command -v $${t%%:*} >/dev/null || pkgs="$$pkgs $${t#*:}"; \
	done; \
	[ -e /usr/lib/x86_64-linux-gnu/libmbedtls.a ] || pkgs="$$pkgs libmbedtls-dev"; \
	[ -e /usr/lib/x86_64-linux-gnu/libz.a ] || pkgs="$$pkgs zlib1g-dev"; \
	if [ "$(LAYER_ARCH)" = arm64 ]; then \
		dpkg --print-foreign-architectures | grep -qx arm64 || { $(SUDO) dpkg --add-architecture arm64 && $(SUDO) apt-get update -qq; }; \
		command -v aarch64-linux-gnu-gcc >/dev/null || pkgs="$$pkgs gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross"; \
		command -v aarch64-linux-gnu-g++ >/dev/null || pkgs="$$pkgs g++-aarch64-linux-gnu"; \
		[ -e /usr/lib/aarch64-linux-gnu/libmbedtls.a ] || pkgs="$$pkgs libmbedtls-dev:arm64"; \
		[ -e /usr/lib/aarch64-linux-gnu/libz.a ] || pkgs="$$pkgs zlib1g-dev:arm64"; \
		command -v qemu-aarch64-static >/dev/null || pkgs="$$pkgs qemu-user-static"; \
	fi; \
	if [ -n "$$pkgs" ]; then \
		echo "layer: installing$$pkgs"; \
		$(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$pkgs >/dev/null; \
	fi; \
	if ! apt-cache showsrc ffmpeg 2>/dev/null | grep -q '^Package: ffmpeg'; then \
		echo "layer: adding Debian source entries (deb-src) for apt-get source"; \
		sed 's/^Types: deb$$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources | $(SUDO) tee /etc/apt/sources.list.d/deb-src.sources >/dev/null && \
		$(SUDO) apt-get update -qq || echo "layer: no deb-src; build.sh falls back to the pinned URLs"; \
	fi

layer: layer-deps ## build dist/layers/ffmpeg-$(ARCH).zip (x86_64 unless ARCH= is given)
	layers/ffmpeg/build.sh $(LAYER_ARCH)

test-layer: ## run the layer's empty-root tests on every built zip (skips when none)
	@if [ -z "$(LAYER_ZIPS)" ]; then \
		echo "test-layer: skipped: no dist/layers/ffmpeg-*.zip (build one with \`make layer\`, about 10 min cold)"; \
		exit 0; \
	fi; \
	for z in $(LAYER_ZIPS); do \
		echo "test-layer: $$z"; \
		LAYER_ZIP=$$PWD/$$z $(GO) test -count=1 -timeout 30m -v ./layers/ffmpeg || exit 1; \
	done

ci-layer: ## build the layer for ARCH (x86_64 unless given; arm64 cross-compiled) and run its tests (arm64's under qemu-user)
	@$(MAKE) --no-print-directory layer ARCH=$(LAYER_ARCH)
	@LAYER_ZIP=$$PWD/dist/layers/ffmpeg-$(LAYER_ARCH).zip $(GO) test -count=1 -timeout 30m ./layers/ffmpeg

layer-repro: ## package the layer twice and check the zips are identical
	@layers/ffmpeg/build.sh $(LAYER_ARCH) && a=$$(sha256sum < dist/layers/ffmpeg-$(LAYER_ARCH).zip) && \
	layers/ffmpeg/build.sh $(LAYER_ARCH) && b=$$(sha256sum < dist/layers/ffmpeg-$(LAYER_ARCH).zip) && \
	if [ "$$a" = "$$b" ]; then echo "layer-repro: same zip ($${a%% *})"; else echo "layer-repro: zips differ"; exit 1; fi

bench-layer: ## layer sizes and ladder encode speed against Debian's ffmpeg
	@layers/ffmpeg/bench.sh dist/layers/ffmpeg-x86_64.zip
