#!/bin/sh
# Runs the local Lambda's specs (spec/invoke/*.bats) and the examples' specs (spec/examples/*.bats) and ends
# with exactly one line
#   bats-invoke: N passed, N failed, N skipped
# Exit status 0 when every spec passed, 1 otherwise. Extra arguments go to bats (e.g. -f timeout).
# Needs the built layer (make layer; or INVOKE_LAYER=DIR|ZIP), bubblewrap, curl, jq and JAVA_HOME (a JDK 25).
set -u
# The docs specs run `make ...` as a reader would, from a shell: not as a sub-make of `make test`, whose
# inherited variables would add "Entering directory" lines to the output they compare.
unset MAKELEVEL MAKEFLAGS MFLAGS
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
mkdir -p build/invoke
out=build/invoke/bats-output.txt
rc=build/invoke/bats-status.txt
{
    bats --tap "$@" spec/invoke spec/examples 2>&1
    echo "$?" >"$rc"
} | tee "$out"
status=$(cat "$rc")
exec spec/support/tap-summary.sh bats-invoke "$out" "$status"
