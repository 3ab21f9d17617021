# web: the browser-side packages (hls.js, and Shaka Player and video.js for
# the player matrix, pinned in web/package-lock.json) and the browser the
# browser tests drive (Debian's chromium). After `make setup-web` the
# tests run offline.

SETUP_TARGETS += setup-web

.PHONY: setup-web

setup-web: ## install chromium (apt-get) and the players (npm ci in web/) when missing or stale
	$(call APT_MISSING,chromium:chromium npm:npm)
	@if [ ! -f web/node_modules/.package-lock.json ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then \
		echo "npm ci in web"; \
		npm ci --prefix web --no-audit --no-fund --loglevel=error; \
	fi
