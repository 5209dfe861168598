#!/usr/bin/env bats
# The suites' closing lines (spec/support/tap-summary.sh, which every bats runner ends with) and CI's closing line
# (spec/support/ci-total.sh, which .ci/run ends with) count skipped tests as skipped, not as passed.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

# tap_of BODY...: the TAP output of a real bats run of a file with the given tests.
tap_of() {
    local f=$BATS_TEST_TMPDIR/fixture.bats
    printf '%s\n' "$@" >"$f"
    TAP=$BATS_TEST_TMPDIR/fixture.tap
    TAP_STATUS=0
    bats --tap "$f" >"$TAP" 2>&1 || TAP_STATUS=$?
}

@test "a suite's closing line: a skipped test is counted as skipped" {
    tap_of '@test "runs" { true; }' '@test "also runs" { true; }' '@test "cannot run here" { skip "no such thing here"; }'
    assert_equal "$TAP_STATUS" 0
    grep -q '^ok 3 cannot run here # skip no such thing here$' "$TAP"
    run "$ROOT/spec/support/tap-summary.sh" bats-demo "$TAP" "$TAP_STATUS"
    assert_success
    assert_output 'bats-demo: 2 passed, 0 failed, 1 skipped'
}

@test "a suite's closing line: failures, and a suite with nothing but skips fails" {
    tap_of '@test "runs" { true; }' '@test "fails" { false; }' '@test "skips" { skip; }'
    run "$ROOT/spec/support/tap-summary.sh" bats-demo "$TAP" "$TAP_STATUS"
    assert_failure
    assert_output 'bats-demo: 1 passed, 1 failed, 1 skipped'
    tap_of '@test "skips" { skip; }'
    run "$ROOT/spec/support/tap-summary.sh" bats-demo "$TAP" "$TAP_STATUS"
    assert_failure
    assert_output 'bats-demo: 0 passed, 0 failed, 1 skipped'
}

@test "CI's closing line adds up passed, failed and skipped over the suites" {
    log=$BATS_TEST_TMPDIR/make-test.log
    printf '%s\n' 'junit: 113 passed, 0 failed, 0 skipped' 'ok 1 something' 'bats-invoke: 40 passed, 0 failed, 2 skipped' \
        'bats-layer: 30 passed, 0 failed, 1 skipped' >"$log"
    run "$ROOT/spec/support/ci-total.sh" "$log"
    assert_success
    assert_output '183 passed, 0 failed, 3 skipped'
    printf '%s\n' 'bats-bench: 9 passed, 1 failed, 0 skipped' >>"$log"
    run "$ROOT/spec/support/ci-total.sh" "$log"
    assert_failure
    assert_output '192 passed, 1 failed, 3 skipped'
}

@test ".ci/run ends with spec/support/ci-total.sh on the output of the README's test command" {
    grep -q '^{ status=0; make test 2>&1 ' "$ROOT/.ci/run"
    grep -q '^spec/support/ci-total.sh "\$log"' "$ROOT/.ci/run"
    # No layer variable: the README's command as written.
    run grep -E '^(export )?(JQ|AWS_CLI|LAYER_GLIBC_MAX)=' "$ROOT/.ci/run"
    assert_failure
}
