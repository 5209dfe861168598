# Benchmark (issues 5 and 10): `make bench` compares both layers of java-shell-runtime (JEP 330 and
# precompiled) with the sh + curl baseline in bench/baseline, on all cores and at 100%, 28.9% and 7.2% of one
# core, and writes docs/benchmarks.md.
# A few minutes; knobs are documented at the top of bench/run.sh. `make test-bench` checks on a tiny run
# (BENCH_QUICK=1, output under build/bench/) that the benchmark works; it asserts no timings.
.PHONY: bench bench-quick bench-coldstart bench-compile-share bench-layer test-bench

# Our runtime is measured from the layer when the layer fragment exists, else from ./bootstrap by source.
BENCH_RUNTIME ?= $(if $(wildcard mk/layer.mk),layer,source)
export BENCH_RUNTIME

# Which runtimes bench/run.sh measures: java (the JEP 330 layer), precompiled (the precompiled layer), sh.
BENCH_RUNTIMES ?= $(if $(filter layer,$(BENCH_RUNTIME)),java precompiled sh,java sh)
export BENCH_RUNTIMES

# The layers `make layer` built for the current inputs (rebuilt only when one of them changed; make -B layer forces
# it): the JEP 330 one, and the precompiled one when it is measured (bench/run.sh takes the newest of those zips).
bench-layer: bootstrap $(if $(filter layer,$(BENCH_RUNTIME)),layer)
	@if [ "$(BENCH_RUNTIME)" = layer ] && [ -n "$(filter precompiled,$(BENCH_RUNTIMES))" ]; then \
	    $(MAKE) --no-print-directory layer LAUNCH=precompiled; \
	fi
bench bench-quick bench-coldstart test-bench: export BENCH_LAYER_ZIP = $(if $(filter layer,$(BENCH_RUNTIME)),$(patsubst $(CURDIR)/%,%,$(file <$(layer_built))))
bench-compile-share: export LAYER_ZIP = $(if $(filter layer,$(BENCH_RUNTIME)),$(patsubst $(CURDIR)/%,%,$(file <$(layer_built))))

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
