# The layer (issue 3): a trimmed JRE with an AOT cache, jq and the AWS CLI, zipped for Lambda.
#   make layer [JQ=/path] [AWS_CLI=none | AWS_CLI_ZIP=/path [AWS_CLI_SIG=/path]] [TARGET_JAVA_HOME=/jdk | TARGET_JDK=jdk.tar.gz]
#              [LAYER_KIND=auto|publish|local]
#              builds dist/java-shell-runtime-<arch>-<version>.zip from the official downloads, or, where they are
#              impossible (offline), a LOCAL layer dist/...-<version>-local.zip from this machine's jq without the
#              AWS CLI; it says which on stderr. Only when an input changed since the last build: `make -B layer`
#              forces a rebuild (e.g. for a new AWS CLI release, or to try the downloads again once online).
#   make layer-local   a local layer on purpose (LAYER_KIND=local): this machine's jq, no AWS CLI, never for Lambda
#   make layer LAUNCH=precompiled   (also with layer-local) the precompiled variant: dist/java-shell-runtime-precompiled-*.zip
#   make test-layer [BATS_LAYER_ARGS='-f sandbox']   the layer's specs, against the layer `make layer` built
# scripts/build_layer.sh documents every input; docs/layer.md explains the layer and its measurements.
.PHONY: layer layer-local test-layer

BATS_LAYER_ARGS ?=

# One directory per set of input variables, build/layer-stamps/<key>/: inputs (the variables), built (the path of
# the zip the build made; its name says local or publishable) and build.log (its report). So switching between
# e.g. `make layer-local` and `make layer` reuses each one's last build instead of rebuilding every time. The
# build runs again when a file it reads changed, or when its zip is gone (make clean, rm dist/...).
# The variables scripts/build_layer.sh reads, and any LAYER_* one (so a new input cannot be forgotten here).
layer_vars := $(sort JAVA_HOME JQ JQ_VERSION AWS_CLI AWS_CLI_ZIP AWS_CLI_SIG AWS_CLI_VERSION TARGET_JAVA_HOME TARGET_JDK \
    BOOTSTRAP AOT_CACHE SOURCE_DATE_EPOCH DIST LAUNCH $(filter LAYER_%,$(.VARIABLES)))
layer_inputs_text := $(foreach v,$(layer_vars),$(v)=$($(v)))
layer_key := $(firstword $(shell printf '%s' '$(subst ','\'',$(layer_inputs_text))' | cksum))
layer_stamps := $(BUILD)/layer-stamps/$(layer_key)
layer_inputs := $(layer_stamps)/inputs
layer_built := $(layer_stamps)/built
layer_log := $(layer_stamps)/build.log
ifeq ($(wildcard $(layer_inputs)),)
$(shell mkdir -p $(layer_stamps))
$(file >$(layer_inputs),$(layer_inputs_text))
endif
# Files given as inputs, and the JDKs' release files (a JDK update changes them).
layer_input_files := $(wildcard $(JQ) $(AWS_CLI_ZIP) $(AWS_CLI_SIG) $(TARGET_JDK) $(AOT_CACHE) $(BOOTSTRAP) \
    $(JAVA_HOME)/release $(if $(TARGET_JAVA_HOME),$(TARGET_JAVA_HOME)/release) $(if $(JQ),,$(shell command -v jq)))
layer_deps := bootstrap VERSION scripts/build_layer.sh spec/support/FakeRuntimeApi.java $(layer_inputs) \
    $(shell find layer scripts/lib -type f) $(layer_input_files)
layer_zip := $(if $(wildcard $(layer_built)),$(file <$(layer_built)))
layer_missing := $(if $(and $(layer_zip),$(wildcard $(layer_zip))),,FORCE)
.PHONY: FORCE
FORCE:

layer: $(layer_built)
	@z=$$(cat $(layer_built)); case $$z in *-local.zip) k='a LOCAL layer: for this machine, not for Lambda' ;; *) k=publishable ;; esac; \
	    echo "make: layer $$z ($$k; build log $(layer_log))" >&2

# Progress goes to stderr and to the log; build_layer.sh prints the zip's path on stdout.
$(layer_built): $(layer_deps) $(layer_missing)
	@echo "make: building the layer (scripts/build_layer.sh)" >&2
	@mkdir -p $(BUILD)/layer && rm -f $@
	@{ scripts/build_layer.sh 2>&1 >$@.tmp; echo $$? >$@.status; } | tee $(layer_log) >&2
	@[ "$$(cat $@.status)" = 0 ] && [ -s $@.tmp ] && mv $@.tmp $@

layer-local:
	@$(MAKE) --no-print-directory layer LAYER_KIND=local

# The specs run against the layer `make layer` built (one build shared by every suite of `make test`).
test-layer: layer
	LAYER_ZIP="$$(cat $(layer_built))" LAYER_LOG=$(layer_log) spec/layer/run.sh $(BATS_LAYER_ARGS)

ALL_TARGETS += layer
TEST_TARGETS += test-layer
