#!/usr/bin/env bats
# Where the local Lambda must answer as Lambda's Invoke API does, not as AWS's emulator: payloads that are not JSON,
# invocation types (Event, DryRun), when an invocation ends (the runtime's next /next), the init retried after an
# init timeout, and HTTP details. Each spec runs the built layer in the sandbox through scripts/invoke.sh.

load helpers

teardown() {
    stop_server
}

# echo_function: a function that logs the event it got and answers it unchanged.
echo_function() {
    local d
    d=$(function_dir echo)
    cat >"$d/function.sh" <<'EOF'
handler() {
    event=$(cat)
    echo "handling $event" >&2
    printf '%s' "$event"
}
EOF
    printf '%s\n' "$d"
}

# line_of PATTERN FILE: the number of the first line of FILE matching the fixed string PATTERN (empty if none).
line_of() {
    grep -nF -- "$1" "$2" | head -n 1 | cut -d: -f1
}

# last_line_of PATTERN FILE: the number of the last line of FILE matching the fixed string PATTERN.
last_line_of() {
    grep -nF -- "$1" "$2" | tail -n 1 | cut -d: -f1
}

# duration_of ID FILE: the Duration (ms, integer part) of request ID's REPORT line.
duration_of() {
    grep "^REPORT RequestId: $1	" "$2" | sed -n 's/.*	Duration: \([0-9]*\)\.[0-9]* ms.*/\1/p'
}

@test "a payload that is not JSON is refused with 400 InvalidRequestContentException; the function does not run" {
    d=$(echo_function)
    start_server --function "$d" --handler function.handler
    for bad in 'hello' '{"a":1,}' "{'a':1}" '{"a":1} trailing' '[1,2'; do
        printf '%s' "$bad" >"$BATS_TEST_TMPDIR/bad"
        post "$BATS_TEST_TMPDIR/bad"
        assert_equal "$HTTP_CODE" 400
        assert_equal "$(header X-Amzn-ErrorType)" InvalidRequestContentException
        assert_equal "$(jq -r .__type <<<"$output")" InvalidRequestContentException
        run jq -r .message <<<"$output"
        assert_output --regexp '^Could not parse request body into json: .+ at line 1, column [0-9]+$'
    done
    printf '"a\377b"' >"$BATS_TEST_TMPDIR/latin1"
    post "$BATS_TEST_TMPDIR/latin1"
    assert_equal "$HTTP_CODE" 400
    # Not one of them reached the runtime.
    assert_equal "$(report_lines "$SERVER_LOG")" ''
    # Any JSON value is a valid payload, not only objects.
    for good in '{"a":[1,-2.5e3,true,null]}' '"just a string"' '42' ' [ ] '; do
        printf '%s' "$good" >"$BATS_TEST_TMPDIR/good"
        post "$BATS_TEST_TMPDIR/good"
        assert_equal "$HTTP_CODE" 200
        assert_equal "$output" "$good"
    done
}

@test "one-shot: an event file that is not JSON stops with status 2 and a clear message, before the function starts" {
    d=$(echo_function)
    printf 'name=ada\n' >"$BATS_TEST_TMPDIR/event.txt"
    invoke_once --function "$d" --handler function.handler --event "$BATS_TEST_TMPDIR/event.txt"
    assert_equal "$status" 2
    assert_equal "$output" ''
    run cat "$LOGS"
    assert_output --partial "local-lambda: the event $BATS_TEST_TMPDIR/event.txt is not JSON, which Lambda refuses (InvalidRequestContentException): Could not parse request body into json: Unexpected character ('n' (code 110))"
    refute_output --partial 'START RequestId'
}

@test "an empty payload is accepted, and the handler gets {} as from Lambda" {
    d=$(echo_function)
    : >"$BATS_TEST_TMPDIR/empty"
    invoke_once --function "$d" --handler function.handler --event "$BATS_TEST_TMPDIR/empty"
    assert_equal "$status" 0
    assert_equal "$output" '{}'
    start_server --function "$d" --handler function.handler
    post "$BATS_TEST_TMPDIR/empty"
    assert_equal "$HTTP_CODE" 200
    assert_equal "$output" '{}'
}

@test "X-Amz-Invocation-Type: Event answers 202 at once with an empty body; the function runs afterwards, logs and all" {
    d=$(function_dir async)
    # The "wait" event blocks its handler until the test opens the gate: the 202 must come before that.
    mkfifo -m 666 "$d/gate"
    cat >"$d/function.sh" <<'EOF'
handler() {
    event=$(cat)
    if [ "$event" = '"wait"' ]; then
        read -r word <"$LAMBDA_TASK_ROOT/gate"
        echo "async handler passed the gate: $word" >&2
    fi
    printf '%s' "$event"
}
EOF
    printf '"wait"' >"$BATS_TEST_TMPDIR/wait"
    printf '"sync"' >"$BATS_TEST_TMPDIR/sync"
    start_server --function "$d" --handler function.handler
    post "$BATS_TEST_TMPDIR/wait" -H 'X-Amz-Invocation-Type: Event' --max-time 60
    assert_equal "$HTTP_CODE" 202
    assert_equal "$(wc -c <"$RESPONSE")" 0
    async_id=$(header X-Amzn-RequestId)
    [ -n "$async_id" ]
    # Only now may the handler go on (timeout guards against a handler that never opens the gate).
    timeout 120 sh -c 'echo open >"$1"' gate "$d/gate"
    # A synchronous invoke queued after it runs after it, in the same environment.
    post "$BATS_TEST_TMPDIR/sync"
    assert_equal "$HTTP_CODE" 200
    assert_equal "$output" '"sync"'
    sync_id=$(header X-Amzn-RequestId)
    gate=$(line_of 'async handler passed the gate: open' "$SERVER_LOG")
    [ -n "$gate" ]
    [ "$(line_of "START RequestId: $async_id" "$SERVER_LOG")" -lt "$gate" ]
    [ "$gate" -lt "$(line_of "END RequestId: $async_id" "$SERVER_LOG")" ]
    [ "$(line_of "REPORT RequestId: $async_id" "$SERVER_LOG")" -lt "$(line_of "START RequestId: $sync_id" "$SERVER_LOG")" ]
    assert_equal "$(count_init "$SERVER_LOG")" 1
}

@test "an Event payload over 1 MB is 413; DryRun is 204 without running the function; other types are 400" {
    d=$(echo_function)
    start_server --function "$d" --handler function.handler
    { printf '"'; head -c 1048575 /dev/zero | tr '\0' a; printf '"'; } >"$BATS_TEST_TMPDIR/big"
    post "$BATS_TEST_TMPDIR/big" -H 'X-Amz-Invocation-Type: Event'
    assert_equal "$HTTP_CODE" 413
    assert_equal "$(jq -r .__type <<<"$output")" RequestTooLargeException
    post "$BATS_TEST_TMPDIR/big" -H 'X-Amz-Invocation-Type: DryRun'
    assert_equal "$HTTP_CODE" 204
    assert_equal "$(wc -c <"$RESPONSE")" 0
    printf '{}' >"$BATS_TEST_TMPDIR/event"
    post "$BATS_TEST_TMPDIR/event" -H 'X-Amz-Invocation-Type: Sometimes'
    assert_equal "$HTTP_CODE" 400
    assert_equal "$(jq -r .__type <<<"$output")" ValidationException
    # None of them started the function.
    assert_equal "$(report_lines "$SERVER_LOG")" ''
    run grep -c 'START RequestId' "$SERVER_LOG"
    assert_output 0
}

@test "an invocation ends at the runtime's next /next: reloading file.sh after an exit comes before END and counts in Duration" {
    d=$(function_dir reload)
    cat >"$d/function.sh" <<'EOF'
echo "loading function.sh" >&2
sleep 1 # a slow set-up: at least 1 s each time the file is loaded
handler() {
    if [ "$(cat)" = '"exit"' ]; then
        exit 3
    fi
    echo fine
}
EOF
    printf '"exit"' >"$BATS_TEST_TMPDIR/exit"
    printf '{}' >"$BATS_TEST_TMPDIR/event"
    start_server --function "$d" --handler function.handler
    post "$BATS_TEST_TMPDIR/exit"
    assert_equal "$HTTP_CODE" 200
    assert_equal "$(header X-Amz-Function-Error)" Unhandled
    first=$(header X-Amzn-RequestId)
    post "$BATS_TEST_TMPDIR/event"
    assert_equal "$output" fine
    second=$(header X-Amzn-RequestId)
    reload=$(last_line_of 'loading function.sh' "$SERVER_LOG")
    [ "$(line_of "START RequestId: $first" "$SERVER_LOG")" -lt "$reload" ]
    [ "$reload" -lt "$(line_of "END RequestId: $first" "$SERVER_LOG")" ]
    [ "$(line_of "REPORT RequestId: $first" "$SERVER_LOG")" -lt "$(line_of "START RequestId: $second" "$SERVER_LOG")" ]
    # The reload slept 1 s inside the first invocation, so its Duration covers it (a lower bound, not a timing).
    [ "$(duration_of "$first" "$SERVER_LOG")" -ge 1000 ]
    # One init: the reload is the runtime's own work inside the invocation, not a new environment.
    assert_equal "$(count_init "$SERVER_LOG")" 1
}

@test "after an init timeout, the retried init is part of the invocation: after START, inside Duration, no Init Duration" {
    d=$(function_dir slow-init)
    cat >"$d/function.sh" <<'EOF'
echo "set-up starts" >&2
sleep 4 # slow top-level set-up
handler() { echo ready; }
EOF
    printf '{}' >"$BATS_TEST_TMPDIR/event.json"
    invoke_once --function "$d" --handler function.handler --event "$BATS_TEST_TMPDIR/event.json" \
        --init-timeout 2 --timeout 120
    assert_equal "$status" 0
    assert_equal "$output" ready
    timeout_line=$(line_of 'Phase: init	Status: timeout' "$LOGS")
    start=$(line_of 'START RequestId: ' "$LOGS")
    [ "$timeout_line" -lt "$start" ]
    [ "$start" -lt "$(last_line_of 'set-up starts' "$LOGS")" ]
    id=$(sed -n 's/^START RequestId: \([^ ]*\).*/\1/p' "$LOGS")
    # The retried init slept 4 s inside the invocation (a lower bound, not a timing).
    [ "$(duration_of "$id" "$LOGS")" -ge 4000 ]
    run report_lines "$LOGS"
    refute_output --partial 'Init Duration'
}

@test "the Date header is IMF-fixdate, with a two-digit day" {
    classes="$ROOT/build/local/classes"
    if [ ! -f "$classes/LocalLambda.class" ] || [ -n "$(find "$ROOT/local/LocalLambda.java" -newer "$classes/LocalLambda.class")" ]; then
        mkdir -p "$classes"
        "$JAVA_HOME/bin/javac" --release 21 -d "$classes" "$ROOT/local/LocalLambda.java"
    fi
    # On the wire, today, whatever the day...
    start_server --function "$ROOT/examples/hello" --handler function.handler
    HEADERS="$BATS_TEST_TMPDIR/headers"
    curl -sS -o /dev/null -D "$HEADERS" -d '{}' "${URL%/function/invocations}/other/invocations"
    run header Date
    assert_output --regexp '^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$'
    # ...and on a day with one digit, whatever today is.
    cat >"$BATS_TEST_TMPDIR/DateOf.java" <<'EOF'
public class DateOf {
    public static void main(String[] args) {
        System.out.println(LocalLambda.httpDate(java.time.Instant.parse(args[0])));
    }
}
EOF
    run "$JAVA_HOME/bin/java" -cp "$classes" "$BATS_TEST_TMPDIR/DateOf.java" 2026-12-01T07:05:09Z
    assert_success
    assert_output 'Tue, 01 Dec 2026 07:05:09 GMT'
}
