#!/bin/sh
# spec/bench/run.sh: runs the benchmark's tests (spec/bench/*.bats) and ends with one summary line,
# "bats-bench: N passed, N failed"; exits non-zero when a test failed or bats could not run.
set -u
cd "$(dirname "$0")/../.." || exit 1
mkdir -p build/bench
tap=build/bench/test-bench.tap
bats --tap spec/bench > "$tap" 2>&1
rc=$?
cat "$tap"
passed=$(grep -c '^ok ' "$tap")
failed=$(grep -c '^not ok ' "$tap")
planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$tap" | head -n 1)
# A test that never reported (bats died) counts as failed.
if [ -n "$planned" ] && [ $((passed + failed)) -lt "$planned" ]; then
    failed=$((planned - passed))
fi
[ "$rc" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
echo "bats-bench: $passed passed, $failed failed"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
