# Benchmark (issue 5): `make bench` compares java-shell-runtime, from the built layer, with the sh + curl
# baseline in bench/baseline at 100%, 28.9% and 7.2% of one core and writes docs/benchmarks.md.
# A few minutes; knobs are documented at the top of bench/run.sh. `make test-bench` checks on a tiny run
# (BENCH_QUICK=1, output under build/bench/) that the benchmark works; it asserts no timings.
.PHONY: bench bench-quick bench-coldstart test-bench

# Our runtime is measured from the layer when the layer fragment exists, else from ./bootstrap by source.
BENCH_LAYER_DEP := $(if $(wildcard mk/layer.mk),layer)
BENCH_RUNTIME ?= $(if $(BENCH_LAYER_DEP),layer,source)
export BENCH_RUNTIME

bench: bootstrap $(BENCH_LAYER_DEP)
	bench/run.sh

bench-quick: bootstrap $(BENCH_LAYER_DEP)
	BENCH_QUICK=1 bench/run.sh

# What costs time in the runtime's cold start: class loading, JIT, javac, per-feature first-use costs.
bench-coldstart: bootstrap $(BENCH_LAYER_DEP)
	bench/coldstart.sh

test-bench: bootstrap $(BENCH_LAYER_DEP)
	spec/bench/run.sh

TEST_TARGETS += test-bench
