# The storefront (app/static/) tested end to end in Debian's headless Chromium against the
# real stack of `make run` (started and stopped by the test when it is not already up).
BROWSER_OUT := .state/browser

.PHONY: test-browser screenshots
test-browser: ## storefront end-to-end test in headless Chromium (screenshots in .state/browser/)
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null \
	  || { echo "chromium and chromium-driver are missing: run make deps" >&2; exit 1; }
	$(PY) -m pytest -p no:cacheprovider -q -s tests/browser
TEST_TARGETS += test-browser

screenshots: test-browser ## refresh docs/screenshots/ from a passing browser test
	mkdir -p docs/screenshots
	cp $(BROWSER_OUT)/*.png docs/screenshots/
