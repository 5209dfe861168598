# Benchmark (issue 5): `make bench` compares java-shell-runtime, from the built layer, with the sh + curl
# baseline in bench/baseline at 100%, 28.9% and 7.2% of one core and writes docs/benchmarks.md.
# A few minutes; knobs are documented at the top of bench/run.sh. `make test-bench` checks on a tiny run
# (BENCH_QUICK=1, output under build/bench/) that the benchmark works; it asserts no timings.
.PHONY: bench bench-quick bench-coldstart bench-compile-share bench-layer test-bench

# Our runtime is measured from the layer when the layer fragment exists, else from ./bootstrap by source.
BENCH_RUNTIME ?= $(if $(wildcard mk/layer.mk),layer,source)
export BENCH_RUNTIME

# The layer `make layer` built for the current inputs (rebuilt only when one of them changed; make -B layer forces
# it); the benchmark measures that zip.
bench-layer: bootstrap $(if $(filter layer,$(BENCH_RUNTIME)),layer)
bench bench-quick bench-coldstart test-bench: export BENCH_LAYER_ZIP = $(if $(filter layer,$(BENCH_RUNTIME)),$(file <$(layer_built)))
bench-compile-share: export LAYER_ZIP = $(if $(filter layer,$(BENCH_RUNTIME)),$(file <$(layer_built)))

bench: bench-layer
	bench/run.sh

bench-quick: bench-layer
	BENCH_QUICK=1 bench/run.sh

# What costs time in the runtime's cold start: class loading, JIT, javac, per-feature first-use costs.
bench-coldstart: bench-layer
	bench/coldstart.sh

# How much of init is javac compiling Bootstrap.java (docs/layer.md quotes it).
bench-compile-share: bench-layer
	bench/compile-share.sh

test-bench: bench-layer
	spec/bench/run.sh

TEST_TARGETS += test-bench
