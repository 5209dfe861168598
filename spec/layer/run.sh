#!/bin/sh
# make test-layer: runs spec/layer/*.bats against the layer `make layer` built, and ends with exactly one line
#   bats-layer: N passed, N failed, N skipped
# Exit status 0 when every spec passed, 1 otherwise. Extra arguments go to bats (e.g. -f NAME).
#
# The layer under test is the zip LAYER_ZIP (the Makefile passes the one `make layer` built for the current
# inputs, the same one the other suites use, so `make test` builds it once) with its build report LAYER_LOG.
# On this offline machine that is a local layer: Debian's jq (with its libraries in lib/) and no AWS CLI.
# The zip is copied with its .sha256 and report into build/layer-test/ (LAYER_TEST_DIR) for the specs.
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

out=$lt/bats-output.txt
{
    bats --tap "$@" spec/layer 2>&1
    echo "$?" > "$lt/bats.status"
} | tee "$out"
status=$(cat "$lt/bats.status")
exec spec/support/tap-summary.sh bats-layer "$out" "$status"
