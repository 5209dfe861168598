# Local invoke (issue 4): run a function as Lambda does, with the built layer in the sandbox, without Docker.
#   make invoke FUNCTION=examples/hello HANDLER=function.handler EVENT=examples/hello/event.json [INVOKE_ARGS='--timeout 10']
#   make invoke-serve FUNCTION=examples/hello HANDLER=function.handler [INVOKE_PORT=9000]   (then curl; Ctrl-C stops)
#   make test-invoke [BATS_INVOKE_ARGS='-f timeout']   the local Lambda's and the examples' bats specs
# scripts/invoke.sh is the same thing without make; docs/local-invoke.md explains it all.
# stdout is the response alone: every build step (make's own lines, the layer's report) goes to stderr.
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
	@echo "make: compiling local/LocalLambda.java into $(BUILD)/local/classes" >&2
	@rm -rf $(BUILD)/local/classes.new && mkdir -p $(BUILD)/local/classes.new
	@$(JAVA_HOME)/bin/javac --release 21 -d $(BUILD)/local/classes.new local/LocalLambda.java >&2
	@rm -rf $(BUILD)/local/classes && mv $(BUILD)/local/classes.new $(BUILD)/local/classes

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

# The layer `make layer` built for these inputs (local or publishable), unless INVOKE_ARGS names another.
invoke_layer = --layer "$$(cat $(layer_built))"
invoke_command = scripts/invoke.sh $(invoke_layer) --function '$(FUNCTION)' --handler '$(HANDLER)' --event '$(EVENT)' $(INVOKE_ARGS)

# `make invoke` exits as scripts/invoke.sh does: 0, or 1 for a function error (docs/local-invoke.md). make itself
# turns every failed recipe into status 2, and its only way to exit 1 is -q (a target is out of date). So, when
# invoke is the only goal, the invoke runs while make brings an included file up to date (recipes there are
# ordinary ones: stdout and stderr pass through, after the layer is built), the file records invoke.sh's status,
# and make restarts to read it: status 1 sets -q, under which make runs nothing more and exits 1; any other
# failure stops make with its message (status 2). With other goals alongside, invoke is a plain recipe (a function
# error is then make's status 2). make updates included files even under -n, so `make -n invoke` invokes too.
ifeq ($(MAKECMDGOALS),invoke)
invoke_status_file := $(BUILD)/invoke/status-$(shell echo $$PPID).mk
ifndef MAKE_RESTARTS
include $(invoke_status_file)
$(invoke_status_file): FORCE layer $(LOCAL_LAMBDA_CLASS)
	@mkdir -p $(@D)
	@s=0; $(invoke_command) || s=$$?; echo "invoke_status := $$s" >$@
else
-include $(invoke_status_file)
$(shell rm -f $(invoke_status_file))
ifeq ($(invoke_status),1)
MAKEFLAGS += -q
else ifneq ($(invoke_status),0)
$(error scripts/invoke.sh exited with status $(or $(invoke_status),unknown))
endif
endif
invoke:
	@:
else
invoke: layer $(LOCAL_LAMBDA_CLASS)
	@$(invoke_command)
endif

invoke-serve: layer $(LOCAL_LAMBDA_CLASS)
	@scripts/invoke.sh $(invoke_layer) --function '$(FUNCTION)' --handler '$(HANDLER)' --serve --port '$(INVOKE_PORT)' $(INVOKE_ARGS)

# The last step of `make`: the hello example, invoked locally with the layer just built.
invoke-example: layer $(LOCAL_LAMBDA_CLASS)
	@mkdir -p $(BUILD)/invoke
	@echo "Invoking examples/hello locally with the layer (scripts/invoke.sh; the logs come first, on stderr):"
	@scripts/invoke.sh $(invoke_layer) --function examples/hello --handler function.handler --event examples/hello/event.json \
	    > $(BUILD)/invoke/hello-response.json
	@printf 'Response: '; cat $(BUILD)/invoke/hello-response.json
	@cmp -s $(BUILD)/invoke/hello-response.json examples/hello/response.json || \
	    { echo "invoke-example: the response differs from examples/hello/response.json" >&2; exit 1; }

test-invoke: layer bootstrap $(LOCAL_LAMBDA_CLASS)
	INVOKE_LAYER="$$(cat $(layer_built))" spec/invoke/run.sh $(BATS_INVOKE_ARGS)

ALL_TARGETS += invoke-example
TEST_TARGETS += test-invoke
