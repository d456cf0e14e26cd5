# nginx area (issue 4): the Debian packages its tests need, and shortcuts to run those tests.
# Included by the Makefile (`-include mk/*.mk`); `make ci-deps` runs nginx-deps as root.
#   nginx   - the conformance suite and the rebuild test start a real nginx (test/conformance/nginx.ts)
#   systemd - systemd-analyze, systemd-sysusers and systemd-tmpfiles check deploy/ (test/nginx-deploy.test.ts)

.PHONY: nginx-deps nginx-test nginx-conf

CI_DEPS += nginx-deps

# Only what is missing: naming an installed package would upgrade it (systemd, say) for nothing.
nginx-deps:
	@missing=""; \
	command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || missing="$$missing nginx"; \
	command -v systemd-analyze >/dev/null 2>&1 || missing="$$missing systemd"; \
	if [ -z "$$missing" ]; then echo "nginx-deps: nginx and systemd-analyze already installed"; exit 0; fi; \
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing

# The nginx tests alone: generator, conformance (both servers), rebuild under load, deploy files.
nginx-test: compile
	node --test --test-reporter=spec lib/test/nginx.test.js lib/test/nginx-conformance.test.js lib/test/nginx-rebuild.test.js lib/test/nginx-revision.test.js lib/test/nginx-deploy.test.js

# Print the block for this checkout's dist/ and images/ (what docs/nginx.md walks through).
nginx-conf: compile
	@node bin/bootcfg.js nginx --dist-path dist --images-path images --listen 127.0.0.1:8081
