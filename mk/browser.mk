# The storefront (app/static/) tested end to end in Debian's headless Chromium against the
# real stack of `make run` (started and stopped by the test when it is not already up), served
# over HTTPS with a CA of its own (ansible/lab-ca.yml: community.crypto, hence `collections`).
BROWSER_OUT := .state/browser
BROWSER_NODE_DIR := tests/browser

.PHONY: test-browser screenshots

# axe-core (the accessibility audit injected into each page), pinned by the lock file;
# node_modules is gitignored. npm ci only when the lock changed.
$(BROWSER_NODE_DIR)/node_modules/.package-lock.json: $(BROWSER_NODE_DIR)/package-lock.json
	@cd $(BROWSER_NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

test-browser: collections $(BROWSER_NODE_DIR)/node_modules/.package-lock.json ## storefront end-to-end test in headless Chromium (screenshots in .state/browser/)
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null \
	  || { echo "chromium and chromium-driver are missing: run make deps" >&2; exit 1; }
	$(PY) -m pytest -p no:cacheprovider -q -s tests/browser
TEST_TARGETS += test-browser

screenshots: test-browser ## refresh docs/screenshots/ from a passing browser test
	mkdir -p docs/screenshots
	cp $(BROWSER_OUT)/*.png docs/screenshots/
