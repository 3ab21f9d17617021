# edge: the local CloudFront stand-in (internal/edge). `make bench-edge`
# compares it, cache warm, with nginx serving the same segments from disk,
# both driven by wrk on 127.0.0.1; HLSFLOW_BENCH_SECONDS sets each run's
# length (default 3 s; 36 runs in all, ABBAAB order, best of three counts). Two
# net/http references run beside them (servecontent_*, nethttp_*: the most
# a Go server on net/http reaches here), with each server's CPU per request.

BENCH_TARGETS += bench-edge

.PHONY: setup-bench-edge bench-edge

setup-bench-edge: ## install nginx and wrk (apt-get) when missing
	@missing=""; \
	command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

bench-edge: setup-bench-edge ## edge vs nginx: req/s, MB/s, edge_vs_nginx_rps and edge_vs_nginx_range_rps (target >= 0.8)
	$(GO) test -run '^$$' -bench '^BenchmarkEdgeVsNginx$$' -benchtime 1x -count 1 -timeout 10m ./internal/edge
