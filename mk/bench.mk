# Benchmarks (issue 6): not part of `make test` or CI. Measures build, serve --watch and serve
# against cp -a and nginx at fleet scale; see docs/BENCHMARKS.md. Knobs: BENCH_SIZES (default
# 1000,10000,100000), BENCH_RUNS (3), BENCH_SECONDS (10), BENCH_DIR (.cache/bench).
# Quick iteration: make bench BENCH_SIZES=1000 BENCH_RUNS=1 BENCH_SECONDS=3

.PHONY: bench bench-deps bench-report

bench: bench-deps compile
	node lib/bench/run.js
	node lib/bench/report.js

bench-report: compile
	node lib/bench/report.js

# wrk and nginx from Debian, installed only when missing (needs root, as CI's ci-deps does).
bench-deps:
	@command -v wrk >/dev/null && command -v nginx >/dev/null || { \
	  apt-get update && apt-get install -y --no-install-recommends wrk nginx; }
