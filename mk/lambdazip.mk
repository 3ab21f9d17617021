# lambdazip: the functions as they deploy. Each built function with the
# FFmpeg layer runs under the AWS Lambda Runtime Interface Emulator (RIE)
# in a root shaped like provided.al2023 (internal/lambdarie), with only
# the environment the stack gives it (internal/lambdaspec).
#
#   make up-zip            hlsflow up with the functions from their zips
#   make test-lambda-zip   lambdarie's tests and the e2e suite in that mode
#
# Both build what they run first: the bootstraps and the layer for this
# machine (the layer from ~/.cache/hlsflow in seconds, about 10 min cold),
# and the emulator, pinned here, from the Go module proxy.

RIE_MODULE    := github.com/aws/aws-lambda-runtime-interface-emulator
RIE_VERSION   := v0.0.0-20261030222936-bef5c4ba774d
HLSFLOW_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/hlsflow
RIE           := $(HLSFLOW_CACHE)/rie/$(RIE_VERSION)/aws-lambda-rie
# The emulator runs the functions natively: this machine's architecture.
ZIP_ARCH      := $(if $(filter aarch64 arm64,$(shell uname -m)),arm64,x86_64)
ZIP_FUNCTIONS := dist/zip/functions
ZIP_LAYER     := dist/layers/ffmpeg-$(ZIP_ARCH).zip
ZIP_ENV        = HLSFLOW_RIE=$(RIE) HLSFLOW_FUNCTIONS_DIR=$(CURDIR)/$(ZIP_FUNCTIONS) HLSFLOW_LAYER_ZIP=$(CURDIR)/$(ZIP_LAYER)

# Before test-layer (mk files are read in name order), which then tests
# the layer built here.
TEST_TARGETS += test-lambda-zip

.PHONY: rie zip-assets up-zip test-lambda-zip

rie: ## build the pinned Lambda Runtime Interface Emulator (static) into ~/.cache/hlsflow/rie
	$(call APT_MISSING,bwrap:bubblewrap)
	@[ -x $(RIE) ] || { echo "building aws-lambda-rie $(RIE_VERSION)"; \
		CGO_ENABLED=0 GOBIN=$(dir $(RIE)) $(GO) install -trimpath $(RIE_MODULE)/cmd/aws-lambda-rie@$(RIE_VERSION); }

zip-assets: rie ## build the functions and the FFmpeg layer for this machine, as `hlsflow up --functions zip` runs them
	@$(MAKE) --no-print-directory build ARCH=$(ZIP_ARCH) FUNCTIONS_OUT=$(ZIP_FUNCTIONS)
	@$(MAKE) --no-print-directory layer ARCH=$(ZIP_ARCH)

up-zip: setup-system zip-assets ## run the whole system with the functions from their zips under the Lambda emulator
	@$(GO) build -o dist/hlsflow ./cmd/hlsflow
	exec ./dist/hlsflow up --data $(DATA) --functions zip --functions-dir $(ZIP_FUNCTIONS) --layer $(ZIP_LAYER) --rie $(RIE) $(UP_ARGS)

test-lambda-zip: zip-assets ## the emulator's tests and the whole e2e suite with the functions from their zips
	$(ZIP_ENV) $(GO) test -count=1 -timeout 10m ./internal/lambdarie/...
	$(ZIP_ENV) $(GO) test -count=1 -timeout 10m -run '^TestZip' ./internal/system/...
	$(ZIP_ENV) HLSFLOW_E2E_FUNCTIONS=zip $(GO) test -count=1 -timeout 25m ./internal/e2e/...
