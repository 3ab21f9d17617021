# hlsflow — `make up` runs the whole system on this machine, `make test`
# passes the tests. Both install what is missing first: `make up` only what
# running needs (ffmpeg, Go modules); `make test` also the tests' tools
# (chromium, the aws CLI, rclone, Node packages) through apt-get and npm.

SHELL := /bin/bash
.DEFAULT_GOAL := help

GO          ?= go
DATA        ?= .hlsflow
UP_ARGS     ?=
ARCH        ?= arm64
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# apt-get needs root; use sudo when we are not.
SUDO        := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# $(call APT_MISSING,tool:package ...) is a recipe line that installs with
# apt-get the packages whose tool is not on PATH.
APT_MISSING = @missing=""; \
	for t in $(1); do command -v $${t%%:*} >/dev/null || missing="$$missing $${t\#*:}"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
# $(call APT_UNLESS,check,packages) is a recipe line that installs the
# packages with apt-get unless the shell check succeeds (for packages
# without a tool of their own: a library, a plugin).
APT_UNLESS = @if ! { $(1); } >/dev/null 2>&1; then \
		echo "installing: $(2)"; \
		$(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) >/dev/null; \
	fi

# Areas add their own targets to these lists from mk/*.mk.
SETUP_TARGETS :=
TEST_TARGETS  :=
BENCH_TARGETS :=

include $(sort $(wildcard mk/*.mk))

# Every Go package except the CDK app, which is tested apart: compiling the
# CDK bindings with the race detector costs minutes for no benefit.
GO_PKGS = $$($(GO) list ./... | grep -v '/infra')

.PHONY: help up test bench build lint setup setup-system setup-go tidy-check clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort | awk -F':.*## ' '{printf "  %-20s %s\n", $$1, $$2}'

# What building and running the system needs: ffmpeg (and ffprobe, in
# the same package), and libsrt with its headers, which the SRT ingest
# (internal/live/srt) links through cgo. The browser the tests drive comes
# with setup-web.
setup-system: ## install ffmpeg and libsrt with apt-get when missing
	$(call APT_MISSING,ffmpeg:ffmpeg ffprobe:ffmpeg)
	$(call APT_UNLESS,test -e /usr/include/srt/srt.h,libsrt-openssl-dev)

setup-go: ## download the Go modules
	@$(GO) mod download

setup: setup-system setup-go $(SETUP_TARGETS) ## all the set-up the tests need

up: setup-system ## run the whole system on this machine (S3, events, functions, edge, live ingest)
	@$(GO) build -o dist/hlsflow ./cmd/hlsflow
	@# exec: Ctrl-C reaches hlsflow itself, which drains and exits cleanly.
	exec ./dist/hlsflow up --data $(DATA) $(UP_ARGS)

# Where `make build` writes the bootstraps (mk/lambdazip.mk builds its own).
FUNCTIONS_OUT ?= dist/functions

build: ## build the Lambda bootstraps into dist/functions (ARCH=arm64|x86_64)
	@for d in functions/*/bootstrap; do \
		[ -d "$$d" ] || continue; \
		name=$$(basename $$(dirname $$d)); \
		goarch=$$([ "$(ARCH)" = x86_64 ] && echo amd64 || echo arm64); \
		echo "build $$name ($(ARCH))"; \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$goarch $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' \
			-o $(FUNCTIONS_OUT)/$$name/bootstrap ./$$d || exit 1; \
	done

lint: ## gofmt, go vet, staticcheck, and nothing reads files beside the repository
	@out=$$(git grep -n -I -E '\.\./(shared|\.library)/' -- . ':!Makefile' 2>/dev/null); \
		if [ -n "$$out" ]; then echo "files refer to folders outside the repository (a fresh clone has none):"; echo "$$out"; exit 1; fi
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './web/node_modules/*')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

tidy-check: ## go mod tidy must leave no diff
	@cp go.mod /tmp/hlsflow-go.mod && cp go.sum /tmp/hlsflow-go.sum && $(GO) mod tidy && \
		if ! cmp -s go.mod /tmp/hlsflow-go.mod || ! cmp -s go.sum /tmp/hlsflow-go.sum; then \
			echo "go mod tidy changed go.mod/go.sum: commit the tidy result"; exit 1; fi

test: setup lint ## run every test (Go with -race, the CDK app, and the areas' extra checks)
	$(GO) test -race -timeout 25m $(GO_PKGS)
	@for t in $(TEST_TARGETS); do $(MAKE) --no-print-directory $$t || exit 1; done

bench: setup ## run the benchmarks; prints one `name: value` line per figure
	@for t in $(BENCH_TARGETS); do $(MAKE) --no-print-directory $$t || exit 1; done

clean: ## remove build outputs (keeps caches and the local data dir)
	rm -rf dist/functions dist/zip cdk.out
