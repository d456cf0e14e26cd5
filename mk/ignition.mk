# Ignition area (issue 10): Debian's `ignition` package ships ignition-validate (2.14), which the
# Butane and Ignition tests run on every config bootcfg compiles. Included by the Makefile;
# `make ci-deps` runs ignition-deps as root.

.PHONY: ignition-deps ignition-test

CI_DEPS += ignition-deps

ignition-deps:
	@if command -v ignition-validate >/dev/null 2>&1; then echo "ignition-deps: ignition-validate already installed"; exit 0; fi; \
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ignition

# The Butane/Ignition tests alone: the corpus against the reference Butane, errors, Ignition JSON.
ignition-test: compile
	node --test --test-reporter=spec $(sort $(wildcard lib/test/butane-*.test.js lib/test/ignition-*.test.js))
