#!/bin/sh
# Compiles the runtime (Bootstrap.java), the fake Runtime API (spec/support) and the JUnit tests (spec/java)
# into CLASSES_DIR, runs the tests with the JUnit console launcher, and ends with exactly one line
#   junit: N passed, N failed, N skipped
# Exit status 0 when every test passed, 1 otherwise (a compilation failure counts as one failed test).
#
# usage: spec/support/junit.sh JUNIT_JAR CLASSES_DIR [console launcher selectors...]
#   Without selectors the whole class path is scanned; e.g. `--select-class BootstrapUnitTest` or
#   `--select-method EndToEndFunctionModeTest#binaryPayload` run less.
# Environment: JAVA_HOME must be a JDK 25 (the Makefile exports it).
set -u
jar=$1
classes=$2
shift 2
: "${JAVA_HOME:?JAVA_HOME must name a JDK 25}"
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1

summary() {
    echo "junit: $1 passed, $2 failed, ${3:-0} skipped"
    [ "$2" -eq 0 ] && [ "$1" -gt 0 ]
    exit $?
}

rm -rf "$classes"
mkdir -p "$classes"
sources=$classes/sources.txt
: > "$sources"
for f in Bootstrap.java spec/support/*.java spec/java/*.java; do
    [ -f "$f" ] && printf '%s\n' "$f" >> "$sources"
done
if [ ! -f Bootstrap.java ]; then
    echo "junit: Bootstrap.java is absent: compiling the tests without it" >&2
fi
if ! "$JAVA_HOME/bin/javac" --release 21 -encoding UTF-8 -cp "$jar" -d "$classes" "@$sources"; then
    echo "junit: compilation failed" >&2
    summary 0 1
fi

[ $# -eq 0 ] && set -- --scan-class-path "$classes"
out=$classes/../junit-output.txt
rc=$classes/../junit-status.txt
{
    "$JAVA_HOME/bin/java" -Drepo.root="$root" -jar "$jar" execute --disable-banner --details=tree \
        --disable-ansi-colors --class-path "$classes" "$@" 2>&1
    echo "$?" > "$rc"
} | tee "$out"
status=$(cat "$rc")
passed=$(sed -n 's/^\[ *\([0-9][0-9]*\) tests successful *\]$/\1/p' "$out")
failed=$(sed -n 's/^\[ *\([0-9][0-9]*\) tests failed *\]$/\1/p' "$out")
aborted=$(sed -n 's/^\[ *\([0-9][0-9]*\) tests aborted *\]$/\1/p' "$out")
containers=$(sed -n 's/^\[ *\([0-9][0-9]*\) containers failed *\]$/\1/p' "$out")
# Disabled tests: neither passed nor failed.
skipped=$(sed -n 's/^\[ *\([0-9][0-9]*\) tests skipped *\]$/\1/p' "$out")
if [ -z "$passed" ] || [ -z "$failed" ]; then
    echo "junit: the console launcher printed no summary (exit status $status)" >&2
    summary 0 1
fi
failed=$((failed + ${containers:-0}))
# An aborted test is one whose assumption did not hold (Assumptions.assume*): JUnit's way of skipping.
skipped=$((${skipped:-0} + ${aborted:-0}))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    echo "junit: the console launcher exited with status $status" >&2
    failed=1
fi
summary "$passed" "$failed" "${skipped:-0}"
