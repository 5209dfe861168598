# shellcheck shell=bash disable=SC2034
# (SC2034: the variables set here are read by the .bats files that load this one.)
# Helpers for the runtime's bats specs: the fake Runtime API's CLI and the runtime, run as users and the
# benchmark run them. Waiting is done on a FIFO and on process exit, never by sleeping.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
JAVA=${JAVA_HOME:?JAVA_HOME must be set}/bin/java

# start_fake COUNT EVENT_FILE [extra CLI args...]: starts the fake's CLI in the background; sets FAKE_PID,
# FAKE_PORT (empty if it died first), FAKE_RECORD (its JSONL record) and FAKE_ERR (its stderr).
start_fake() {
    local count=$1 event=$2
    shift 2
    local fifo=$BATS_TEST_TMPDIR/port
    FAKE_RECORD=$BATS_TEST_TMPDIR/record.jsonl
    FAKE_ERR=$BATS_TEST_TMPDIR/fake.stderr
    rm -f "$fifo"
    mkfifo "$fifo"
    {
        "$JAVA" "$ROOT/spec/support/FakeRuntimeApi.java" --port-file "$fifo" --event "$event" --count "$count" \
            --record "$FAKE_RECORD" --timeout 300 "$@" 2> "$FAKE_ERR"
        rc=$?
        # If the fake died before writing its port, this open releases the reader (it reads nothing).
        : 1<> "$fifo"
        exit "$rc"
    } &
    FAKE_PID=$!
    read -r FAKE_PORT < "$fifo" || true
    [ -n "$FAKE_PORT" ] || fail "the fake Runtime API did not start: $(cat "$FAKE_ERR")"
}

# run_runtime HANDLER TASK_ROOT [command...]: runs the runtime (default: java --source 21 bootstrap) against
# the fake until it exits; status in RUNTIME_STATUS, output in RUNTIME_OUT / RUNTIME_ERR files.
run_runtime() {
    local handler=$1 root=$2
    shift 2
    [ $# -gt 0 ] || set -- "$JAVA" --source 21 "$ROOT/bootstrap"
    RUNTIME_OUT=$BATS_TEST_TMPDIR/runtime.stdout
    RUNTIME_ERR=$BATS_TEST_TMPDIR/runtime.stderr
    RUNTIME_STATUS=0
    env -i PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 AWS_LAMBDA_RUNTIME_API="127.0.0.1:$FAKE_PORT" \
        _HANDLER="$handler" LAMBDA_TASK_ROOT="$root" "$@" > "$RUNTIME_OUT" 2> "$RUNTIME_ERR" || RUNTIME_STATUS=$?
}

# wait_fake: waits for the fake's CLI to exit; its status in FAKE_STATUS.
wait_fake() {
    FAKE_STATUS=0
    wait "$FAKE_PID" || FAKE_STATUS=$?
}

# count_records JQ_FILTER: how many recorded requests match.
count_records() {
    jq -c "select($1)" "$FAKE_RECORD" | wc -l | tr -d ' '
}
