# The layer (issue 3): a trimmed JRE with an AOT cache, jq and the AWS CLI, zipped for Lambda.
#   make layer [JQ=/path] [AWS_CLI=none | AWS_CLI_ZIP=/path [AWS_CLI_SIG=/path]] [TARGET_JAVA_HOME=/jdk | TARGET_JDK=jdk.tar.gz]
#   make layer-local   the same from this machine's jq (glibc limit lifted to this machine's), without the AWS CLI:
#                      offline, for local runs and benchmarks only (not for Lambda: Debian's jq needs glibc 2.35)
#   make layer LAUNCH=precompiled   (also with layer-local) the precompiled variant: dist/java-shell-runtime-precompiled-*.zip
#   make test-layer [BATS_LAYER_ARGS='-f sandbox']   builds its own layers from local inputs, under build/layer-test
# scripts/build_layer.sh documents every input; docs/layer.md explains the layer and its measurements.
.PHONY: layer layer-local test-layer

BATS_LAYER_ARGS ?=

# Always rebuilt: the inputs include downloads and files outside this repository (JQ, the JDK).
layer: bootstrap
	scripts/build_layer.sh

layer-local: bootstrap
	JQ=$${JQ:-$$(command -v jq)} AWS_CLI=none LAYER_GLIBC_MAX=$$(getconf GNU_LIBC_VERSION | cut -d' ' -f2) \
	    scripts/build_layer.sh

test-layer: bootstrap
	spec/layer/run.sh $(BATS_LAYER_ARGS)

ALL_TARGETS += layer
TEST_TARGETS += test-layer
