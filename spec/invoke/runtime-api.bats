#!/usr/bin/env bats
# The Runtime API the local Lambda serves must be as strict as Lambda's: our runtime never breaks the contract,
# so these specs drive the API with curl and raw HTTP from a scripted runtime that breaks it on purpose, and check
# the status codes and what the caller of the invoke gets. (The runtime here is a bash script run directly,
# without the layer: the subject is the local Lambda's API, not our runtime.)

load helpers

setup() {
    classes="$ROOT/build/local/classes"
    if [ ! -f "$classes/LocalLambda.class" ] || [ -n "$(find "$ROOT/local/LocalLambda.java" -newer "$classes/LocalLambda.class")" ]; then
        mkdir -p "$classes"
        "$JAVA_HOME/bin/javac" --release 21 -d "$classes" "$ROOT/local/LocalLambda.java"
    fi
    WORK=$(function_dir work)
    cat >"$WORK/runtime.sh" <<'EOF'
#!/bin/bash
# A runtime that misbehaves on request: the event names what to do. Results go to $WORK/results.
api=http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime
r=$WORK/results
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
# raw REQUEST-TEXT: sends bytes as they are on a new connection, prints the status code of the answer (or "closed").
raw() {
    exec 5<>"/dev/tcp/${AWS_LAMBDA_RUNTIME_API%:*}/${AWS_LAMBDA_RUNTIME_API#*:}"
    printf '%b' "$1" >&5
    [ "${2:-}" = half ] && exec 5>&-
    read -r _ status _ <&5 || status=closed
    exec 5>&- 5<&-
    echo "$status"
}
echo "response-before-next $(code -d x "$api/invocation/none/response")" >>"$r"
[ -e "$WORK/init-error" ] && {
    echo "init-error $(code -H 'Lambda-Runtime-Function-Error-Type: Runtime.Broken' \
        -d '{"errorMessage":"cannot start","errorType":"Runtime.Broken"}' "$api/init/error")" >>"$r"
    echo "next-after-init-error $(code "$api/invocation/next")" >>"$r"
    exit 1
}
while :; do
    curl -sS -D "$WORK/h" -o "$WORK/event" "$api/invocation/next" || exit 3
    id=$(sed -n 's/^lambda-runtime-aws-request-id: *//Ip' "$WORK/h" | tr -d '\r')
    path=/2018-06-01/runtime/invocation/$id
    case $(tr -d '"' <"$WORK/event") in
        checks)
            echo "wrong-id $(code -d x "$api/invocation/not-$id/response")" >>"$r"
            echo "next-while-owed $(code "$api/invocation/next")" >>"$r"
            echo "init-error-after-init $(code -d '{}' "$api/init/error")" >>"$r"
            echo "get-response $(code "$api/invocation/$id/response")" >>"$r"
            echo "chunked $(code -H 'Transfer-Encoding: chunked' -d 'chunked ok' "$api/invocation/$id/response")" >>"$r"
            echo "second-response $(code -d x "$api/invocation/$id/response")" >>"$r"
            echo "error-after-response $(code -d '{}' "$api/invocation/$id/error")" >>"$r" ;;
        report)
            curl -sS --data-binary "@$r" "$api/invocation/$id/response" >/dev/null ;;
        bad-mode)
            echo "bad-mode $(code -H 'Lambda-Runtime-Function-Response-Mode: buffered' -d x "$api/invocation/$id/response")" >>"$r" ;;
        oversize)
            echo "oversize $(head -c 6291557 /dev/zero | code -H 'Transfer-Encoding: chunked' --data-binary @- "$api/invocation/$id/response")" >>"$r" ;;
        truncated)
            echo "truncated $(raw "POST $path/response HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part" half)" >>"$r" ;;
        truncated-chunked)
            echo "truncated-chunked $(raw "POST $path/response HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n" half)" >>"$r" ;;
        stream-error)
            body=$(printf '{"errorMessage":"failed after the first byte","errorType":"StreamBroke"}' | base64 -w0)
            echo "stream-error $(raw "POST $path/response HTTP/1.1\r\nHost: x\r\nLambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\nTrailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\r\n5\r\nhello\r\n0\r\nLambda-Runtime-Function-Error-Type: Runtime.StreamError\r\nLambda-Runtime-Function-Error-Body: $body\r\n\r\n")" >>"$r" ;;
        function-error)
            echo "error $(code -H 'Lambda-Runtime-Function-Error-Type: Function.Oops' -H 'Content-Type: application/vnd.aws.lambda.error+json' \
                -d '{"errorMessage":"oops","errorType":"Oops","stackTrace":[]}' "$api/invocation/$id/error")" >>"$r" ;;
        exit)
            exit 7 ;;
        answer-then-exit)
            curl -sS -d answered "$api/invocation/$id/response" >/dev/null
            exit 5 ;;
        answer-then-wait)
            curl -sS -d answered "$api/invocation/$id/response" >/dev/null
            read -r word <"$WORK/gate"
            echo "runtime work after the answer: $word" >&2 ;;
        *)
            curl -sS --data-binary "@$WORK/event" "$api/invocation/$id/response" >/dev/null ;;
    esac
done
EOF
    chmod 755 "$WORK/runtime.sh"
}

teardown() {
    stop_server
}

# start_scripted [ARGS...]: the local Lambda in server mode, running runtime.sh directly.
start_scripted() {
    SERVER_LOG="$BATS_TEST_TMPDIR/server.log"
    local fifo="$BATS_TEST_TMPDIR/url.fifo"
    mkfifo "$fifo"
    "$JAVA_HOME/bin/java" -cp "$ROOT/build/local/classes" LocalLambda --serve --port 0 --task "$WORK" \
        --handler none --env "WORK=$WORK" "$@" -- "$WORK/runtime.sh" >"$fifo" 2>"$SERVER_LOG" 3>&- &
    SERVER_PID=$!
    IFS= read -r URL <"$fifo" || true
    [ -n "$URL" ] || { cat "$SERVER_LOG" >&2; return 1; }
}

# invoke WORD: invokes with the event "WORD" (a JSON string: the invoke endpoint takes JSON only, as Lambda's).
invoke() {
    printf '"%s"' "$1" >"$BATS_TEST_TMPDIR/event"
    post "$BATS_TEST_TMPDIR/event"
}

@test "request ids, one answer per invocation and the state machine are enforced (400, 403, 405)" {
    start_scripted
    invoke checks
    assert_equal "$HTTP_CODE" 200
    assert_equal "$output" "chunked ok"
    invoke report
    assert_equal "$output" "response-before-next 403
wrong-id 400
next-while-owed 403
init-error-after-init 403
get-response 405
chunked 202
second-response 403
error-after-response 403"
}

@test "a response over 6291556 bytes gets 413, the caller gets Function.ResponseSizeTooLarge, the runtime goes on" {
    start_scripted
    invoke oversize
    assert_equal "$HTTP_CODE" 200
    assert_equal "$(header X-Amz-Function-Error)" Unhandled
    assert_equal "$(jq -r .errorType <<<"$output")" Function.ResponseSizeTooLarge
    invoke report
    assert_line 'oversize 413'
    assert_equal "$(count_init "$SERVER_LOG")" 1
}

@test "a response mode other than streaming is 400 and fails the invocation with Runtime.InvalidResponseModeHeader" {
    start_scripted
    invoke bad-mode
    assert_equal "$(header X-Amz-Function-Error)" Unhandled
    assert_equal "$(jq -r .errorType <<<"$output")" Runtime.InvalidResponseModeHeader
    invoke report
    assert_line 'bad-mode 400'
}

@test "a truncated body (Content-Length or chunked) fails the invocation with Runtime.TruncatedResponse" {
    start_scripted
    invoke truncated
    assert_equal "$(jq -r .errorType <<<"$output")" Runtime.TruncatedResponse
    invoke truncated-chunked
    assert_equal "$(jq -r .errorType <<<"$output")" Runtime.TruncatedResponse
    run report_lines "$SERVER_LOG"
    assert_line --index 0 --partial 'Status: error	Error Type: Runtime.TruncatedResponse'
}

@test "a streamed response that fails after its first byte reports the error from its trailers" {
    start_scripted
    invoke stream-error
    assert_equal "$HTTP_CODE" 200
    assert_equal "$(header X-Amz-Function-Error)" Unhandled
    assert_equal "$output" '{"errorMessage":"failed after the first byte","errorType":"StreamBroke"}'
    invoke report
    assert_line 'stream-error 202'
}

@test "/error: the caller gets the posted error JSON unchanged" {
    start_scripted
    invoke function-error
    assert_equal "$HTTP_CODE" 200
    assert_equal "$(header X-Amz-Function-Error)" Unhandled
    assert_equal "$output" '{"errorMessage":"oops","errorType":"Oops","stackTrace":[]}'
}

@test "a runtime that exits during an invoke gives Runtime.ExitError, and the next invoke starts it again" {
    start_scripted
    invoke exit
    assert_equal "$HTTP_CODE" 200
    assert_equal "$(header X-Amz-Function-Error)" Unhandled
    assert_equal "$(jq -r .errorType <<<"$output")" Runtime.ExitError
    run jq -r .errorMessage <<<"$output"
    assert_output --regexp '^RequestId: [0-9a-f-]{36} Error: Runtime exited with error: exit status 7$'
    invoke echo-me
    assert_equal "$output" '"echo-me"'
    settle
    # Both invokes were cold starts: the first one's runtime died.
    assert_equal "$(count_init "$SERVER_LOG")" 2
    assert_equal "$(grep -c 'Status: error	Error Type: Runtime.ExitError' "$SERVER_LOG")" 1
}

@test "/runtime/init/error: 202, the caller gets that error with 502, and /next afterwards is 403" {
    : >"$WORK/init-error"
    start_scripted
    invoke anything
    assert_equal "$HTTP_CODE" 502
    assert_equal "$(header X-Amz-Function-Error)" Unhandled
    assert_equal "$output" '{"errorMessage":"cannot start","errorType":"Runtime.Broken"}'
    rm "$WORK/init-error"
    invoke report
    assert_line 'init-error 202'
    assert_line 'next-after-init-error 403'
}

@test "the caller is answered when the runtime posts; the invocation (END, REPORT) ends at the runtime's next /next" {
    mkfifo "$WORK/gate"
    start_scripted
    invoke answer-then-wait
    assert_equal "$HTTP_CODE" 200
    assert_equal "$output" answered
    id=$(header X-Amzn-RequestId)
    # The runtime is still held at the gate, so it has not asked for the next invocation: no END yet.
    run grep -c "^END RequestId: $id" "$SERVER_LOG"
    assert_output 0
    timeout 60 sh -c 'echo open >"$1"' gate "$WORK/gate"
    settle
    work=$(grep -n 'runtime work after the answer: open' "$SERVER_LOG" | cut -d: -f1)
    end=$(grep -n "^END RequestId: $id" "$SERVER_LOG" | cut -d: -f1)
    [ -n "$work" ] && [ -n "$end" ] && [ "$work" -lt "$end" ]
}

@test "a runtime that exits after answering: the caller has the answer, the invocation ends there, the next one is cold" {
    start_scripted
    invoke answer-then-exit
    assert_equal "$HTTP_CODE" 200
    assert_equal "$output" answered
    assert_equal "$(header X-Amz-Function-Error)" ''
    invoke echo-me
    assert_equal "$output" '"echo-me"'
    settle
    assert_equal "$(count_init "$SERVER_LOG")" 2
    run grep -c 'local-lambda: the runtime exited after answering .*exit status 5; the next invoke is a cold start' "$SERVER_LOG"
    assert_output 1
}
