# Static publishing (issue 12): the Debian package its tests need, and a shortcut to run them.
# Included by the Makefile (`-include mk/*.mk`); `make ci-deps` runs publish-deps as root.
#   rclone - `bootcfg publish --to <remote>` copies through it; the rclone tests publish to a
#            local remote (test/publish-rclone.test.ts) and fail under CI=true without it

.PHONY: publish-deps publish-test

CI_DEPS += publish-deps

publish-deps:
	@if command -v rclone >/dev/null 2>&1; then echo "publish-deps: rclone already installed"; exit 0; fi; \
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends rclone

# The static publishing tests alone: the CLI on a directory, the chain against serve, rclone under load.
publish-test: compile
	node --test --test-reporter=spec lib/test/publish.test.js lib/test/static-chain.test.js lib/test/publish-rclone.test.js
