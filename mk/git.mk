# GitOps (issue 3): the tests make real repos, push and force-push with the git CLI, and
# bootcfg itself drives git through simple-git. CI installs git on the fresh Debian machine.

.PHONY: ci-deps-git test-git

ci-deps-git:
	@if command -v git >/dev/null 2>&1; then echo "ci-deps-git: git already installed"; else \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends git ca-certificates; fi

CI_DEPS += ci-deps-git

# Only the GitOps tests (fetch, webhook, diff, serve --repo, load).
test-git: install
	node --test --test-reporter=spec lib/test/git-*.test.js lib/test/diff-*.test.js lib/test/webhook*.test.js
