# Every target here is also a package.json script (npm run <target>); the README's commands are
# the ones CI runs. `make serve` and `make test` do all the set-up on a fresh clone.

NPM_STAMP := node_modules/.installed

.PHONY: install compile build serve watch validate test lint clean ci-deps

install: $(NPM_STAMP) compile

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

compile: $(NPM_STAMP)
	npm run --silent compile

build: install
	npm run --silent build

serve: install
	npm run --silent serve

watch: install
	npm run --silent watch

validate: install
	npm run --silent validate

test: install
	npm run --silent test

lint: $(NPM_STAMP)
	npm run --silent lint

clean:
	rm -rf lib dist .cache

# Areas add their own targets (and their CI install steps to CI_DEPS) in mk/*.mk.
CI_DEPS :=
-include mk/*.mk

# Everything CI installs before `make test` (Debian packages; run as root).
ci-deps: $(CI_DEPS)
