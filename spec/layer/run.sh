#!/bin/sh
# make test-layer: builds a layer from local inputs, then runs spec/layer/*.bats against it, and ends with
# exactly one line
#   bats-layer: N passed, N failed
# Exit status 0 when every spec passed, 1 otherwise. Extra arguments go to bats (e.g. -f NAME).
#
# The layer under test is built like `make layer`, with the inputs this offline machine has: Debian's jq
# (JQ=/usr/bin/jq, which needs glibc 2.35, so LAYER_GLIBC_MAX is this machine's glibc: the layer is for these
# tests only) and no AWS CLI (AWS_CLI=none). Work files: build/layer-test/ (LAYER_TEST_DIR).
# Environment: JAVA_HOME (a JDK 25; the Makefile exports it).
set -u
: "${JAVA_HOME:?JAVA_HOME must name a JDK 25}"
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
lt=${LAYER_TEST_DIR:-$root/build/layer-test}
export LAYER_TEST_DIR="$lt"
rm -rf "$lt"
mkdir -p "$lt"
chmod 755 "$lt"

# The fake Runtime API, compiled once for all specs.
"$JAVA_HOME/bin/javac" -nowarn --release 21 -d "$lt/fake" spec/support/FakeRuntimeApi.java > "$lt/fake-javac.log" 2>&1 ||
    { cat "$lt/fake-javac.log"; echo "spec/layer: cannot compile spec/support/FakeRuntimeApi.java"; }

# The inputs every build of this run shares (other people commit and regenerate bootstrap meanwhile).
cp bootstrap "$lt/bootstrap"
BOOTSTRAP=$lt/bootstrap
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
export BOOTSTRAP SOURCE_DATE_EPOCH
host_glibc=$(getconf GNU_LIBC_VERSION | awk '{ print $2 }')
# Both variants of the layer (LAUNCH=source, the default, and LAUNCH=precompiled), from the same bootstrap.
for launch in source precompiled; do
    log=$lt/build.log status_file=$lt/build.status
    [ "$launch" = source ] || log=$lt/build-$launch.log status_file=$lt/build-$launch.status
    echo "spec/layer: building the $launch test layer (JQ=/usr/bin/jq AWS_CLI=none LAYER_GLIBC_MAX=$host_glibc), log in $log"
    LAUNCH=$launch JQ=/usr/bin/jq AWS_CLI=none LAYER_GLIBC_MAX=$host_glibc DIST="$lt/dist" BUILD="$lt/build" \
        scripts/build_layer.sh > "$log" 2>&1
    echo "$?" > "$status_file"
    tail -n 4 "$log"
done
unset LAUNCH

# Every spec against the JEP 330 layer; then the specs of a running layer (the conformance of the runtime in
# the sandbox) again against the precompiled one, their names prefixed with [precompiled].
out=$lt/bats-output.txt
{
    LAYER_VARIANT=source bats --tap "$@" spec/layer 2>&1
    echo "$?" > "$lt/bats.status"
    LAYER_VARIANT=precompiled BATS_TEST_NAME_PREFIX='[precompiled] ' \
        bats --tap "$@" spec/layer/run-in-sandbox.bats spec/layer/isolation.bats 2>&1
    echo "$?" >> "$lt/bats.status"
} | tee "$out"
status=$(sort -n "$lt/bats.status" | tail -n 1)
passed=$(grep -c '^ok ' "$out")
failed=$(grep -c '^not ok ' "$out")
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    echo "bats-layer: bats exited with status $status" >&2
    failed=1
fi
echo "bats-layer: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
