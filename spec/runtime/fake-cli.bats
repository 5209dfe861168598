#!/usr/bin/env bats
# The runtime driven by the fake Runtime API's CLI, the way the layer's training run and the benchmark use it.

load helpers

setup() {
    TASK=$BATS_TEST_TMPDIR/task
    mkdir -p "$TASK"
    printf '{"hello":"world"}' > "$BATS_TEST_TMPDIR/event.json"
}

@test "the CLI serves N events, the runtime answers each, then exits on the 500 and the CLI exits 0" {
    printf 'handler() { printf "seen:"; cat; }\n' > "$TASK/app.sh"
    start_fake 3 "$BATS_TEST_TMPDIR/event.json" --header 'Lambda-Runtime-Trace-Id: Root=1-abc;Sampled=0'
    run_runtime app.handler "$TASK"
    wait_fake
    [ "$RUNTIME_STATUS" -ne 0 ] || fail "the runtime exited 0 after a 500 on /next"
    [ "$FAKE_STATUS" -eq 0 ] || fail "fake exited $FAKE_STATUS: $(cat "$FAKE_ERR")"
    assert_equal "$(count_records '.method == "GET" and .status == 200')" 3
    assert_equal "$(count_records '.method == "GET" and .status == 500')" 1
    assert_equal "$(count_records '(.path | endswith("/response")) and .status == 202 and .body_length == 22')" 3
    assert_equal "$(count_records '.path | endswith("/error")')" 0
    # Every request id answered is one that was served, once.
    assert_equal "$(jq -r 'select(.method == "POST") | .request_id' "$FAKE_RECORD" | sort -u | wc -l | tr -d ' ')" 3
    # Timestamps are wall-clock epoch microseconds, start before end.
    assert_equal "$(count_records '.t_start_us > 1600000000000000 and .t_start_us <= .t_end_us')" 7
    # The runtime writes nothing to stdout and logs the 500 with its prefix.
    [ ! -s "$RUNTIME_OUT" ] || fail "runtime stdout: $(cat "$RUNTIME_OUT")"
    run grep -E '^java-shell-runtime: .*500' "$RUNTIME_ERR"
    assert_success
}

@test "a failing handler makes the CLI exit 1 and say which invocation failed" {
    printf 'echo "Oops: handler failed" >&2\nexit 3\n' > "$TASK/fail"
    start_fake 1 "$BATS_TEST_TMPDIR/event.json"
    run_runtime fail "$TASK"
    wait_fake
    assert_equal "$FAKE_STATUS" 1
    run grep -E '^fake-runtime-api: invocation .* ERROR .*Oops' "$FAKE_ERR"
    assert_success
    assert_equal "$(count_records '.path | endswith("/error")')" 1
}

@test "bootstrap runs through its own shebang line when /opt/jre is the JDK (bwrap sandbox)" {
    command -v bwrap > /dev/null || fail "bubblewrap is needed"
    printf 'handler() { printf ok; }\n' > "$TASK/app.sh"
    start_fake 2 "$BATS_TEST_TMPDIR/event.json"
    run_runtime app.handler "$TASK" bwrap --dev-bind / / --tmpfs /opt --ro-bind "$JAVA_HOME" /opt/jre \
        --chdir "$ROOT" -- ./bootstrap
    wait_fake
    [ "$FAKE_STATUS" -eq 0 ] || fail "fake exited $FAKE_STATUS: $(cat "$FAKE_ERR"); runtime: $(cat "$RUNTIME_ERR")"
    assert_equal "$(count_records '(.path | endswith("/response")) and .body_length == 2')" 2
}

@test "the CLI rejects bad usage with status 2" {
    run "$JAVA" "$ROOT/spec/support/FakeRuntimeApi.java" --count 1
    assert_equal "$status" 2
    assert_output --partial 'usage:'
}
