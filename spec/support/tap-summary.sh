#!/bin/sh
# tap-summary.sh NAME TAP_FILE BATS_STATUS: prints the closing line of a bats suite from its TAP output,
#   NAME: N passed, N failed, N skipped
# and exits 0 when nothing failed and something passed, 1 otherwise. Every bats runner (spec/*/run.sh,
# spec/support/bats-runtime.sh) ends with it, so they count alike: "ok N name # skip reason" is skipped, not
# passed; a planned test that never reported (bats died) and a non-zero bats status without a failed test count
# as failures.
set -u
name=$1 tap=$2 status=$3
skipped=$(grep -c '^ok .* # skip' "$tap")
passed=$(($(grep -c '^ok ' "$tap") - skipped))
failed=$(grep -c '^not ok ' "$tap")
# (Several bats runs may share one TAP file: their plans add up.)
planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$tap" | awk '{ n += $1 } END { if (NR) print n }')
if [ -n "$planned" ] && [ $((passed + failed + skipped)) -lt "$planned" ]; then
    failed=$((planned - passed - skipped))
fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    echo "$name: bats exited with status $status" >&2
    failed=1
fi
echo "$name: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
