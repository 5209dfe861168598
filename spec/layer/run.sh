#!/bin/sh
# make test-layer: runs spec/layer/*.bats against the layer `make layer` built, then the specs of a running layer
# again against the precompiled variant built here from the same bootstrap, and ends with exactly one line
#   bats-layer: N passed, N failed, N skipped
# Exit status 0 when every spec passed, 1 otherwise. Extra arguments go to bats (e.g. -f NAME).
#
# The layer under test is the zip LAYER_ZIP (the Makefile passes the one `make layer` built for the current
# inputs, the same one the other suites use, so `make test` builds it once) with its build report LAYER_LOG.
# On this offline machine that is a local layer: Debian's jq (with its libraries in lib/) and no AWS CLI.
# The zip is copied with its .sha256 and report into build/layer-test/ (LAYER_TEST_DIR) for the specs; the
# precompiled variant (LAUNCH=precompiled) is built there from the zip's own bootstrap, as a local layer.
# Environment: JAVA_HOME (a JDK 25; the Makefile exports it).
set -u
: "${JAVA_HOME:?JAVA_HOME must name a JDK 25}"
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
lt=${LAYER_TEST_DIR:-$root/build/layer-test}
export LAYER_TEST_DIR="$lt"
rm -rf "$lt"
mkdir -p "$lt/dist"
chmod 755 "$lt"

# The fake Runtime API, compiled once for all specs.
"$JAVA_HOME/bin/javac" -nowarn --release 21 -d "$lt/fake" spec/support/FakeRuntimeApi.java > "$lt/fake-javac.log" 2>&1 ||
    { cat "$lt/fake-javac.log"; echo "spec/layer: cannot compile spec/support/FakeRuntimeApi.java"; }

# The layer under test and what it was built from: its bootstrap (the reproducibility spec rebuilds from it) and
# SOURCE_DATE_EPOCH (the zip's entries carry it).
if [ -z "${LAYER_ZIP:-}" ] || [ ! -f "$LAYER_ZIP" ] || [ ! -f "$LAYER_ZIP.sha256" ]; then
    echo "spec/layer: no layer zip (LAYER_ZIP=${LAYER_ZIP:-}): run make test-layer, which builds it" > "$lt/build.log"
    echo 1 > "$lt/build.status"
else
    cp "$LAYER_ZIP" "$LAYER_ZIP.sha256" "$lt/dist/"
    cp "${LAYER_LOG:-/dev/null}" "$lt/build.log"
    echo 0 > "$lt/build.status"
    unzip -p "$LAYER_ZIP" bootstrap > "$lt/bootstrap"
    SOURCE_DATE_EPOCH=$(sed -n 's/.* mtimes = SOURCE_DATE_EPOCH \([0-9]*\),.*/\1/p' "$lt/build.log")
    export SOURCE_DATE_EPOCH
fi
echo "spec/layer: testing $(ls "$lt"/dist/*.zip 2>/dev/null), built as $lt/build.log reports"
BOOTSTRAP=$lt/bootstrap
export BOOTSTRAP

# The precompiled variant, from the same bootstrap (its JEP 330 first line is replaced by the build).
echo "spec/layer: building the precompiled test layer (LAYER_KIND=local), log in $lt/build-precompiled.log"
LAUNCH=precompiled LAYER_KIND=local DIST="$lt/dist" BUILD="$lt/build" scripts/build_layer.sh \
    > "$lt/build-precompiled.out" 2> "$lt/build-precompiled.log"
echo "$?" > "$lt/build-precompiled.status"
tail -n 4 "$lt/build-precompiled.log"

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
exec spec/support/tap-summary.sh bats-layer "$out" "$status"
