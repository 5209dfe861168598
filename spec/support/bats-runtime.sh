#!/bin/sh
# Runs the runtime's bats specs (spec/runtime/*.bats) and ends with exactly one line
#   bats-runtime: N passed, N failed, N skipped
# Exit status 0 when every spec passed, 1 otherwise. Extra arguments go to bats (e.g. -f NAME).
# Environment: JAVA_HOME must be a JDK 25 (the Makefile exports it).
set -u
: "${JAVA_HOME:?JAVA_HOME must name a JDK 25}"
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
mkdir -p build
out=build/bats-runtime-output.txt
rc=build/bats-runtime-status.txt
{
    bats --tap "$@" spec/runtime 2>&1
    echo "$?" > "$rc"
} | tee "$out"
status=$(cat "$rc")
exec spec/support/tap-summary.sh bats-runtime "$out" "$status"
