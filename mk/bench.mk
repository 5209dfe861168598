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

# Reuse the newest dist/*.zip of each variant unless the runtime or the layer's inputs changed after it was
# built (`make layer` always rebuilds, and takes a while). ./bootstrap itself is not compared: the phony
# bootstrap target rewrites it on every make, so it would always look newer; its inputs are compared instead.
bench-layer: bootstrap
	@if [ "$(BENCH_RUNTIME)" = layer ]; then \
	    for v in $(filter java precompiled,$(BENCH_RUNTIMES)); do \
	        if [ $$v = java ]; then z=$$(ls -t dist/*.zip 2>/dev/null | grep -v -e -precompiled- | head -n 1); launch=source; \
	        else z=$$(ls -t dist/*-precompiled-*.zip 2>/dev/null | head -n 1); launch=precompiled; fi; \
	        if [ -z "$$z" ] || [ -n "$$(find Bootstrap.java layer scripts/make_bootstrap.sh scripts/build_layer.sh scripts/lib -newer "$$z" 2>/dev/null | head -n 1)" ]; then \
	            $(MAKE) layer LAUNCH=$$launch || exit 1; \
	        else \
	            echo "bench: reusing $$z (newer than the runtime and the layer's inputs; make layer rebuilds it)"; \
	        fi; \
	    done; \
	fi

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
