#!/bin/sh
# spec/bench/run.sh: runs the benchmark's tests (spec/bench/*.bats) and ends with one summary line,
# "bats-bench: N passed, N failed, N skipped"; exits non-zero when a test failed or bats could not run.
set -u
cd "$(dirname "$0")/../.." || exit 1
mkdir -p build/bench
tap=build/bench/test-bench.tap
bats --tap "$@" spec/bench > "$tap" 2>&1
rc=$?
cat "$tap"
exec spec/support/tap-summary.sh bats-bench "$tap" "$rc"
