#!/bin/sh
# make test-cdk: installs deploy/cdk's npm packages when needed (npm ci), runs its tests (npm test), and ends with
# the line "cdk: N passed, N failed[, N skipped]" that make test and .ci/run add up.
set -u
cd "$(dirname "$0")/.." || exit 1

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "test-cdk: needs Node.js 20 or later and npm (Debian: apt-get install nodejs npm)" >&2
    echo "cdk: 0 passed, 1 failed"
    exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || echo "test-cdk: Node.js $(node --version) is older than aws-cdk-lib's minimum, 20: expect trouble" >&2

# npm ci empties node_modules and installs the lockfile's versions: only when node_modules is missing or older than
# package-lock.json (npm ci writes node_modules/.package-lock.json last).
if [ ! -f node_modules/.package-lock.json ] || [ -n "$(find package-lock.json -newer node_modules/.package-lock.json)" ]; then
    if ! npm ci --no-audit --no-fund; then
        echo "cdk: 0 passed, 1 failed"
        exit 1
    fi
fi

tap=build/test-results.tap
rm -f "$tap"
status=0
npm test || status=$?

count() { sed -n "s/^# $1 \([0-9]*\)\$/\1/p" "$tap" | tail -n 1; }
if [ -f "$tap" ]; then
    passed=$(count pass) failed=$(count fail) cancelled=$(count cancelled) skipped=$(count skipped)
    failed=$((${failed:-0} + ${cancelled:-0}))
else
    # tsc failed, so no test ran.
    passed=0 failed=0 skipped=0
fi
# A failure outside any test (the compile, a crash) still counts as one.
[ "$status" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
line="cdk: ${passed:-0} passed, $failed failed"
[ "${skipped:-0}" -eq 0 ] || line="$line, $skipped skipped"
echo "$line"
exit "$status"
