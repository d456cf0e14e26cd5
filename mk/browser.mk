# Browser area (issue 13): the /-/machines page is tested in a real headless Chromium
# (Debian's `chromium`, driven by puppeteer-core from npm; test/machines-page.test.ts).
# Included by the Makefile (`-include mk/*.mk`); `make ci-deps` runs browser-deps as root.

.PHONY: browser-deps machines-test machines-screenshot

CI_DEPS += browser-deps

# Only when missing: Chromium is large, and naming it would upgrade it for nothing.
browser-deps:
	@if command -v chromium >/dev/null 2>&1; then echo "browser-deps: chromium already installed"; exit 0; fi; \
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-dejavu-core

# The fleet view's tests alone: the logs of both servers, the CLI, the page in Chromium.
machines-test: compile
	node --test --test-reporter=spec lib/test/machines-logs.test.js lib/test/machines-page.test.js

# Refresh docs/machines.png from the page test's 10k-machine fleet.
machines-screenshot: compile
	BOOTCFG_SCREENSHOT=docs/machines.png node --test --test-reporter=spec lib/test/machines-page.test.js
