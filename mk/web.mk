# web: the browser-side packages (hls.js, pinned in web/package-lock.json)
# and the browser the browser tests drive (Debian's chromium). After
# `make setup-web` the tests run offline.

SETUP_TARGETS += setup-web

.PHONY: setup-web

setup-web: ## install chromium (apt-get) and hls.js (npm ci in web/) when missing or stale
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@if [ ! -f web/node_modules/.package-lock.json ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then \
		echo "npm ci in web"; \
		npm ci --prefix web --no-audit --no-fund --loglevel=error; \
	fi
