#!/bin/sh
# ci-total.sh LOG: CI's closing line from the output of `make test`: the sum of every suite's closing line
# ("name: N passed, N failed" with an optional ", N skipped"), printed as
#   N passed, N failed, N skipped
# Exit status 1 when something failed or nothing passed.
set -u
passed=0 failed=0 skipped=0
while read -r p f s; do
    [ -n "$p" ] || continue
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + s))
done <<SUMS
$(sed -n -e 's/^[a-z-]*: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p' \
    -e 's/^[a-z-]*: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2 0/p' "$1")
SUMS
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] || exit 1
[ "$passed" -gt 0 ] || { echo "no test ran" >&2; exit 1; }
