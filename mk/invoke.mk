# Local invoke (issue 4): run a function as Lambda does, with the built layer in the sandbox, without Docker.
#   make invoke FUNCTION=examples/hello HANDLER=function.handler EVENT=examples/hello/event.json [INVOKE_ARGS='--timeout 10']
#   make invoke-serve FUNCTION=examples/hello HANDLER=function.handler [INVOKE_PORT=9000]   (then curl; Ctrl-C stops)
#   make test-invoke [BATS_INVOKE_ARGS='-f timeout']   the local Lambda's and the examples' bats specs
# scripts/invoke.sh is the same thing without make; docs/local-invoke.md explains it all.
.PHONY: invoke invoke-serve invoke-example local-lambda test-invoke

FUNCTION ?=
HANDLER ?=
EVENT ?=
INVOKE_PORT ?= 9000
INVOKE_ARGS ?=
BATS_INVOKE_ARGS ?=
LOCAL_LAMBDA_CLASS := $(BUILD)/local/classes/LocalLambda.class

# invoke.sh compiles it on demand too; this target lets `make` report compile errors early.
local-lambda: $(LOCAL_LAMBDA_CLASS)
$(LOCAL_LAMBDA_CLASS): local/LocalLambda.java
	rm -rf $(BUILD)/local/classes.new && mkdir -p $(BUILD)/local/classes.new
	$(JAVA_HOME)/bin/javac --release 21 -d $(BUILD)/local/classes.new local/LocalLambda.java
	rm -rf $(BUILD)/local/classes && mv $(BUILD)/local/classes.new $(BUILD)/local/classes

# Missing variables are reported before anything is built.
ifneq ($(filter invoke invoke-serve,$(MAKECMDGOALS)),)
ifeq ($(FUNCTION),)
$(error set FUNCTION and HANDLER (and EVENT for make invoke), e.g. make invoke FUNCTION=examples/hello HANDLER=function.handler EVENT=examples/hello/event.json)
endif
ifeq ($(HANDLER),)
$(error set HANDLER, e.g. HANDLER=function.handler (function mode) or HANDLER=handler.sh (file mode))
endif
endif
ifneq ($(filter invoke,$(MAKECMDGOALS)),)
ifeq ($(EVENT),)
$(error set EVENT, e.g. EVENT=examples/hello/event.json)
endif
endif

invoke: layer $(LOCAL_LAMBDA_CLASS)
	@scripts/invoke.sh --function '$(FUNCTION)' --handler '$(HANDLER)' --event '$(EVENT)' $(INVOKE_ARGS)

invoke-serve: layer $(LOCAL_LAMBDA_CLASS)
	@scripts/invoke.sh --function '$(FUNCTION)' --handler '$(HANDLER)' --serve --port '$(INVOKE_PORT)' $(INVOKE_ARGS)

# The last step of `make`: the hello example, invoked locally with the layer just built.
invoke-example: layer $(LOCAL_LAMBDA_CLASS)
	@mkdir -p $(BUILD)/invoke
	@echo "Invoking examples/hello locally with the layer (scripts/invoke.sh; the logs come first, on stderr):"
	@scripts/invoke.sh --function examples/hello --handler function.handler --event examples/hello/event.json \
	    > $(BUILD)/invoke/hello-response.json
	@printf 'Response: '; cat $(BUILD)/invoke/hello-response.json
	@cmp -s $(BUILD)/invoke/hello-response.json examples/hello/response.json || \
	    { echo "invoke-example: the response differs from examples/hello/response.json" >&2; exit 1; }

test-invoke: layer bootstrap $(LOCAL_LAMBDA_CLASS)
	spec/invoke/run.sh $(BATS_INVOKE_ARGS)

ALL_TARGETS += invoke-example
TEST_TARGETS += test-invoke
