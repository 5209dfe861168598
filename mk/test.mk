# Runtime tests: JUnit 5 (spec/java, with the fake Runtime API in spec/support) and bats (spec/runtime).
#   make test-java [JUNIT_SELECT='--select-class BootstrapUnitTest']   make test-runtime-bats [BATS_ARGS='-f name']
# JUnit comes from Maven Central through mvn; nothing else beyond the JDK, bats and make is needed.
.PHONY: test-java test-runtime-bats

JUNIT_VERSION := 1.14.1
JUNIT_JAR := $(BUILD)/lib/junit-platform-console-standalone-$(JUNIT_VERSION).jar
TEST_CLASSES := $(BUILD)/test-classes
JUNIT_SELECT :=
BATS_ARGS :=
# The end-to-end tests run the generated bootstrap file: regenerate it first when Bootstrap.java exists.
RUNTIME_UNDER_TEST := $(if $(wildcard Bootstrap.java),bootstrap)

$(JUNIT_JAR):
	mkdir -p $(BUILD)/lib
	mvn -q dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:$(JUNIT_VERSION) \
	    -DoutputDirectory=$(BUILD)/lib

test-java: $(JUNIT_JAR) $(RUNTIME_UNDER_TEST)
	spec/support/junit.sh $(JUNIT_JAR) $(TEST_CLASSES) $(JUNIT_SELECT)

test-runtime-bats: $(RUNTIME_UNDER_TEST)
	spec/support/bats-runtime.sh $(BATS_ARGS)

TEST_TARGETS += test-java test-runtime-bats
