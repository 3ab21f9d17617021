# api and web: the upload/status API (internal/api), its local HTTP
# adapter (internal/apigw) and the page (web/).
#
# The page embeds a committed copy of hls.js (web/static/vendor/), so
# `go build` works on a fresh clone without npm. setup-web-vendor refreshes
# that copy from the npm package pinned in web/package-lock.json; the web
# package's tests fail when the two differ.

BENCH_TARGETS += bench-api

.PHONY: setup-web-node setup-web-vendor test-api bench-api

HLS_VENDOR := web/static/vendor

setup-web-node: ## npm ci in web/ when a player is missing (needs npm: apt-get install npm)
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
	@[ -f web/node_modules/hls.js/dist/hls.min.js ] && [ -f web/node_modules/shaka-player/dist/shaka-player.compiled.js ] && \
		[ -f web/node_modules/video.js/dist/video.min.js ] || (cd web && npm ci --no-audit --no-fund --loglevel=error)

setup-web-vendor: setup-web-node ## copy the pinned hls.js into web/static/vendor (then update HLSVersion in web/web.go)
	@want=$$(node -p 'require("./web/package-lock.json").packages["node_modules/hls.js"].version'); \
	got=$$(node -p 'require("./web/node_modules/hls.js/package.json").version'); \
	if [ "$$want" != "$$got" ]; then echo "web/node_modules has hls.js $$got, the lock pins $$want: run npm ci in web/"; exit 1; fi; \
	cp web/node_modules/hls.js/dist/hls.min.js $(HLS_VENDOR)/hls.min.js; \
	cp web/node_modules/hls.js/dist/hls.worker.js $(HLS_VENDOR)/hls.worker.js; \
	cp web/node_modules/hls.js/LICENSE $(HLS_VENDOR)/hls.js-LICENSE; \
	echo "$$want" > $(HLS_VENDOR)/hls.js-VERSION; \
	grep -q "HLSVersion = \"$$want\"" web/web.go || echo "now set HLSVersion = \"$$want\" in web/web.go"; \
	echo "hls.js $$want copied to $(HLS_VENDOR)"

test-api: ## only the API, adapter and page tests (the page's run headless Chromium)
	$(GO) test -race -timeout 15m ./internal/apigw/... ./internal/api/... ./functions/api/... ./internal/system/... ./web/...

bench-api: ## the local API Gateway adapter's cost per request against a plain http.Handler
	@$(GO) test -run '^$$' -bench '^BenchmarkAdapterOverhead$$' -benchtime 1x -count 1 ./internal/apigw | grep -E '^(apigw|api)_[a-z_]+: '
	@$(GO) test -run '^$$' -bench '^BenchmarkListVideos$$' -benchtime 1x -count 1 ./internal/api | grep -E '^(apigw|api)_[a-z_]+: '
