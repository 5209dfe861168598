# java-shell-runtime. `make` builds the layer and invokes an example locally; `make test` runs every test.
# Each area keeps its targets in mk/<area>.mk; this file holds only what they share.
SHELL := /bin/sh
.DEFAULT_GOAL := all

JAVA_HOME := $(shell scripts/find_jdk.sh)
ifeq ($(JAVA_HOME),)
$(error no JDK 25: set JAVA_HOME to a JDK 25 home)
endif
export JAVA_HOME
JAVA := $(JAVA_HOME)/bin/java
BUILD := build

.PHONY: all clean test
# Each mk/<area>.mk appends to these; the rules that use them come after the include.
ALL_TARGETS :=
TEST_TARGETS :=

# bootstrap is committed (users copy it) and regenerated whenever its inputs change.
# make_bootstrap.sh rewrites it only when its content changes, so the layer is not rebuilt for nothing.
bootstrap: Bootstrap.java layer/jvm-flags scripts/make_bootstrap.sh
	@scripts/make_bootstrap.sh

clean:
	rm -rf $(BUILD) dist

include $(sort $(wildcard mk/*.mk))

all: bootstrap $(ALL_TARGETS)
# -k: every suite runs and prints its "name: N passed, N failed, N skipped" line even when an earlier one failed;
# make still exits non-zero if any did. -j: TEST_JOBS suites at a time (default 2, this project's 2-core machines);
# the layer, which three suites share, is built once, alongside JUnit; -Otarget keeps each suite's output together.
TEST_JOBS ?= 2
test:
	$(MAKE) -k -j$(TEST_JOBS) -Otarget $(filter test-java,$(TEST_TARGETS)) $(if $(filter test-layer test-invoke test-bench,$(TEST_TARGETS)),layer) \
	    $(filter test-runtime-bats,$(TEST_TARGETS)) $(filter-out test-java test-runtime-bats,$(TEST_TARGETS))
