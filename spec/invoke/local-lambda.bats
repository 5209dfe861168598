#!/usr/bin/env bats
# The local Lambda end to end: scripts/invoke.sh runs the built layer's /opt/bootstrap in the sandbox, and the
# invoke endpoint must answer as Lambda and AWS's emulator do.

load helpers

teardown() {
    stop_server
}

# A function-mode handler that reports what it sees, so the tests can check what reaches it.
write_probe() {
    local d
    d=$(function_dir probe)
    cat >"$d/function.sh" <<'EOF'
handler() {
    event=$(cat)
    v() { if [ -n "${!1+set}" ]; then printf '%s' "${!1}"; else printf '<unset>'; fi; }
    touch /var/task/x 2>/dev/null && task=writable || task=read-only
    touch /opt/x 2>/dev/null && opt=writable || opt=read-only
    echo hi >"/tmp/probe-$LAMBDA_RUNTIME_AWS_REQUEST_ID" && tmp=writable || tmp=read-only
    jq -cn --arg event "$event" --arg uid "$(id -u)" --arg task "$task" --arg opt "$opt" --arg tmp "$tmp" \
        --arg request "$(v LAMBDA_RUNTIME_AWS_REQUEST_ID)" --arg deadline "$(v LAMBDA_RUNTIME_DEADLINE_MS)" \
        --arg arn "$(v LAMBDA_RUNTIME_INVOKED_FUNCTION_ARN)" --arg trace "$(v LAMBDA_RUNTIME_TRACE_ID)" \
        --arg xtrace "$(v _X_AMZN_TRACE_ID)" --arg context "$(v LAMBDA_RUNTIME_CLIENT_CONTEXT)" \
        --arg cognito "$(v LAMBDA_RUNTIME_COGNITO_IDENTITY)" --arg tenant "$(v LAMBDA_RUNTIME_AWS_TENANT_ID)" \
        --arg name "$(v AWS_LAMBDA_FUNCTION_NAME)" --arg memory "$(v AWS_LAMBDA_FUNCTION_MEMORY_SIZE)" \
        --arg version "$(v AWS_LAMBDA_FUNCTION_VERSION)" --arg region "$(v AWS_REGION)" \
        --arg group "$(v AWS_LAMBDA_LOG_GROUP_NAME)" --arg stream "$(v AWS_LAMBDA_LOG_STREAM_NAME)" \
        --arg custom "$(v MY_SETTING)" --arg root "$(v LAMBDA_TASK_ROOT)" --arg pwd "$PWD" \
        --arg cgroup "$(grep -E '^[0-9]+:memory:' /proc/self/cgroup | cut -d: -f3)" \
        '$ARGS.named'
}
EOF
    printf '%s\n' "$d"
}

@test "one-shot: the response on stdout byte for byte, START, END and REPORT with Init Duration on stderr" {
    invoke_once --function "$ROOT/examples/hello" --handler function.handler --event "$ROOT/examples/hello/event.json"
    assert_equal "$status" 0
    cmp "$RESPONSE" "$ROOT/examples/hello/response.json"
    run grep -E '^START RequestId: [0-9a-f-]{36} Version: \$LATEST$' "$LOGS"
    assert_success
    id=$(sed -n 's/^START RequestId: \([^ ]*\).*/\1/p' "$LOGS")
    run grep -c "^END RequestId: $id\$" "$LOGS"
    assert_output 1
    run report_lines "$LOGS"
    assert_output --regexp "^REPORT RequestId: $id	Duration: [0-9]+\.[0-9]{2} ms	Billed Duration: [0-9]+ ms	Memory Size: 128 MB	Max Memory Used: [0-9]+ MB	Init Duration: [0-9]+\.[0-9]{2} ms	\$"
    # The function's log line comes between START and END.
    run sed -n "/^START RequestId: $id/,/^END RequestId: $id/p" "$LOGS"
    assert_output --partial "greeting Lambda (request $id)"
}

@test "one-shot: Max Memory Used is measured and Billed Duration includes init on a cold start" {
    invoke_once --function "$ROOT/examples/hello" --handler function.handler --event "$ROOT/examples/hello/event.json"
    assert_equal "$status" 0
    line=$(report_lines "$LOGS")
    used=$(printf '%s' "$line" | sed -n 's/.*Max Memory Used: \([0-9]*\) MB.*/\1/p')
    # A JVM and a bash: certainly more than 16 MB, and (unlimited here) not absurd.
    [ "$used" -gt 16 ] && [ "$used" -lt 2048 ]
    duration=$(printf '%s' "$line" | sed -n 's/.*	Duration: \([0-9.]*\) ms.*/\1/p')
    init=$(printf '%s' "$line" | sed -n 's/.*Init Duration: \([0-9.]*\) ms.*/\1/p')
    billed=$(printf '%s' "$line" | sed -n 's/.*Billed Duration: \([0-9]*\) ms.*/\1/p')
    run awk -v d="$duration" -v i="$init" -v b="$billed" 'BEGIN { c = d + i; e = int(c); if (e < c) e++; exit !(b == e) }'
    assert_success
}

@test "one-shot: a function error exits 1 with Lambda's error JSON on stdout" {
    invoke_once --function "$ROOT/examples/error" --handler function.handler --event "$ROOT/examples/error/event.json"
    assert_equal "$status" 1
    assert_equal "$(jq -r .errorType <<<"$output")" ValidationError
    assert_equal "$(jq -r .errorMessage <<<"$output")" "amount must be a positive number, got -5"
    assert_equal "$(jq -r '.stackTrace | type' <<<"$output")" array
}

@test "server: success, then a function error answered 200 with X-Amz-Function-Error: Unhandled" {
    start_server --function "$ROOT/examples/error" --handler function.handler
    post "$ROOT/examples/error/event-valid.json"
    assert_equal "$HTTP_CODE" 200
    assert_equal "$(header X-Amz-Function-Error)" ""
    cmp "$RESPONSE" "$ROOT/examples/error/response-valid.json"
    post "$ROOT/examples/error/event.json"
    assert_equal "$HTTP_CODE" 200
    assert_equal "$(header X-Amz-Function-Error)" Unhandled
    assert_equal "$(jq -r .errorType <<<"$output")" ValidationError
    # A function error does not end the environment: one init for both invokes.
    settle
    assert_equal "$(count_init "$SERVER_LOG")" 1
    assert_equal "$(report_lines "$SERVER_LOG" | wc -l)" 2
}

@test "server: the second invoke is warm: no new init, and the handler's state persists" {
    start_server --function "$ROOT/examples/warm-state" --handler function.handler
    post "$ROOT/examples/warm-state/event.json"
    assert_equal "$HTTP_CODE" 200
    assert_equal "$(jq -c '[.invocation, .coldStart]' <<<"$output")" '[1,true]'
    post "$ROOT/examples/warm-state/event.json"
    assert_equal "$HTTP_CODE" 200
    assert_equal "$(jq -c '[.invocation, .coldStart]' <<<"$output")" '[2,false]'
    settle
    run report_lines "$SERVER_LOG"
    assert_equal "${#lines[@]}" 2
    assert_line --index 0 --partial 'Init Duration: '
    refute_line --index 1 --partial 'Init Duration'
    run grep -c '^warm-state: set-up loaded 3 products' "$SERVER_LOG"
    assert_output 1
}

@test "server: an init error answers every invoke (502, new init each time) until the function is fixed" {
    d=$(function_dir broken)
    printf 'not_the_handler() { echo; }\n' >"$d/function.sh"
    printf '{}' >"$BATS_TEST_TMPDIR/event.json"
    start_server --function "$d" --handler function.handler
    for attempt in 1 2; do
        post "$BATS_TEST_TMPDIR/event.json"
        assert_equal "$HTTP_CODE" 502
        assert_equal "$(header X-Amz-Function-Error)" Unhandled
        run jq -r .errorType <<<"$output"
        assert_output --regexp '^Runtime\.(HandlerNotFound|InvalidHandler|HandlerLoadError)$'
    done
    assert_equal "$(grep -c 'INIT_REPORT Init Duration: .*Phase: init	Status: error	Error Type: Runtime\.' "$SERVER_LOG")" 2
    printf 'handler() { echo fixed; }\n' >"$d/function.sh"
    post "$BATS_TEST_TMPDIR/event.json"
    assert_equal "$HTTP_CODE" 200
    assert_equal "$output" fixed
    settle
    assert_equal "$(report_lines "$SERVER_LOG" | tail -n 1 | grep -c 'Init Duration: ')" 1
}

@test "server: a response of 6291556 bytes passes; one byte more is Function.ResponseSizeTooLarge, and the runtime lives on" {
    d=$(function_dir big)
    cat >"$d/function.sh" <<'EOF'
handler() { head -c "$(cat)" /dev/zero | tr '\0' a; }
EOF
    printf 6291556 >"$BATS_TEST_TMPDIR/limit"
    printf 6291557 >"$BATS_TEST_TMPDIR/over"
    start_server --function "$d" --handler function.handler
    post "$BATS_TEST_TMPDIR/limit"
    assert_equal "$HTTP_CODE" 200
    assert_equal "$(wc -c <"$RESPONSE")" 6291556
    post "$BATS_TEST_TMPDIR/over"
    assert_equal "$HTTP_CODE" 200
    assert_equal "$(header X-Amz-Function-Error)" Unhandled
    assert_equal "$(jq -r .errorType <<<"$output")" Function.ResponseSizeTooLarge
    assert_equal "$(jq -r .errorMessage <<<"$output")" \
        "Response payload size (6291557 bytes) exceeded maximum allowed payload size (6291556 bytes)."
    post "$BATS_TEST_TMPDIR/limit"
    assert_equal "$HTTP_CODE" 200
    assert_equal "$(count_init "$SERVER_LOG")" 1
}

@test "server: a timeout kills the runtime and its children, answers Task timed out, and the next invoke starts a new runtime" {
    d=$(function_dir slow)
    # The marker numbers make this test's processes findable; one child also ignores SIGTERM.
    cat >"$d/function.sh" <<'EOF'
handler() {
    if [ "$(cat)" = '"slow"' ]; then
        sleep 31415926 &
        sh -c 'trap "" TERM; exec sleep 31415927' &
        echo "started children" >&2
        wait
    fi
    echo done
}
EOF
    printf '"slow"' >"$BATS_TEST_TMPDIR/slow.event"
    printf '"quick"' >"$BATS_TEST_TMPDIR/quick.event"
    start_server --function "$d" --handler function.handler --timeout 1
    post "$BATS_TEST_TMPDIR/slow.event"
    assert_equal "$HTTP_CODE" 200
    assert_equal "$(header X-Amz-Function-Error)" Unhandled
    assert_equal "$(jq -r .errorType <<<"$output")" Sandbox.Timedout
    run jq -r .errorMessage <<<"$output"
    assert_output --regexp '^RequestId: [0-9a-f-]{36} Error: Task timed out after 1\.00 seconds$'
    # The answer comes after every process of that environment is gone.
    run pgrep -f 'sleep 3141592[67]'
    assert_failure
    run grep -E '^[0-9TZ:.-]+ [0-9a-f-]{36} Task timed out after 1\.00 seconds$' "$SERVER_LOG"
    assert_success
    run report_lines "$SERVER_LOG"
    assert_output --regexp 'Duration: 1000\.00 ms	Billed Duration: [0-9]+ ms	.*	Status: timeout	$'
    post "$BATS_TEST_TMPDIR/quick.event"
    assert_equal "$HTTP_CODE" 200
    assert_equal "$output" done
    settle
    assert_equal "$(count_init "$SERVER_LOG")" 2
}

@test "the default timeout is 3 seconds, as Lambda's" {
    d=$(function_dir sleepy)
    printf 'handler() { sleep 31415928; }\n' >"$d/function.sh"
    printf '{}' >"$BATS_TEST_TMPDIR/event.json"
    invoke_once --function "$d" --handler function.handler --event "$BATS_TEST_TMPDIR/event.json"
    assert_equal "$status" 1
    assert_equal "$(jq -r .errorMessage <<<"$output" | sed 's/.*Error: //')" "Task timed out after 3.00 seconds"
    run pgrep -f 'sleep 31415928'
    assert_failure
}

@test "init slower than --init-timeout is reported and retried inside the invoke, as Lambda does" {
    d=$(function_dir slow-init)
    cat >"$d/function.sh" <<'EOF'
sleep 4 # slow top-level set-up
handler() { echo ready; }
EOF
    printf '{}' >"$BATS_TEST_TMPDIR/event.json"
    invoke_once --function "$d" --handler function.handler --event "$BATS_TEST_TMPDIR/event.json" \
        --init-timeout 2 --timeout 120
    assert_equal "$status" 0
    assert_equal "$output" ready
    run grep -c 'INIT_REPORT Init Duration: [0-9.]* ms	Phase: init	Status: timeout' "$LOGS"
    assert_output 1
    # The retried init is part of the invoke (suppressed init): no Init Duration in REPORT.
    run report_lines "$LOGS"
    refute_output --partial 'Init Duration'
}

@test "headers reach the handler: X-Amzn-Trace-Id, X-Amz-Client-Context (base64), X-Amz-Cognito-Identity, X-Amz-Tenant-Id" {
    d=$(write_probe)
    printf '{"n":1}' >"$BATS_TEST_TMPDIR/event.json"
    start_server --function "$d" --handler function.handler --function-name probe-fn
    trace='Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1'
    context='{"custom":{"user":"ada"},"env":{"locale":"en-GB"}}'
    post "$BATS_TEST_TMPDIR/event.json" -H "X-Amzn-Trace-Id: $trace" \
        -H "X-Amz-Client-Context: $(printf '%s' "$context" | base64 -w0)" \
        -H 'X-Amz-Cognito-Identity: {"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"}' \
        -H 'X-Amz-Tenant-Id: tenant-42' -H 'X-Amzn-RequestId: 11111111-2222-3333-4444-555555555555'
    assert_equal "$HTTP_CODE" 200
    assert_equal "$(jq -r .event <<<"$output")" '{"n":1}'
    assert_equal "$(jq -r .trace <<<"$output")" "$trace"
    assert_equal "$(jq -r .xtrace <<<"$output")" "$trace"
    assert_equal "$(jq -r .context <<<"$output")" "$context"
    assert_equal "$(jq -r .cognito <<<"$output")" '{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"}'
    assert_equal "$(jq -r .tenant <<<"$output")" tenant-42
    assert_equal "$(jq -r .request <<<"$output")" 11111111-2222-3333-4444-555555555555
    assert_equal "$(header X-Amzn-RequestId)" 11111111-2222-3333-4444-555555555555
    assert_equal "$(jq -r .arn <<<"$output")" arn:aws:lambda:us-east-1:012345678912:function:probe-fn
    deadline=$(jq -r .deadline <<<"$output")
    now=$(date +%s%3N)
    # The deadline is the invoke's start plus the 3 s timeout: in the future, at most 3 s away.
    [ "$deadline" -gt $((now - 3000)) ] && [ "$deadline" -le $((now + 3000)) ]
    # The next invoke without those headers: the variables are unset again.
    post "$BATS_TEST_TMPDIR/event.json"
    assert_equal "$(jq -c '[.trace, .xtrace, .context, .cognito, .tenant]' <<<"$output")" \
        '["<unset>","<unset>","<unset>","<unset>","<unset>"]'
}

@test "one-shot: --trace-id and --client-context carry the same values as the headers" {
    d=$(write_probe)
    printf '{}' >"$BATS_TEST_TMPDIR/event.json"
    invoke_once --function "$d" --handler function.handler --event "$BATS_TEST_TMPDIR/event.json" \
        --trace-id 'Root=1-00000000-000000000000000000000001' --client-context "$(printf '{"a":1}' | base64 -w0)"
    assert_equal "$status" 0
    assert_equal "$(jq -c '[.trace, .context]' <<<"$output")" '["Root=1-00000000-000000000000000000000001","{\"a\":1}"]'
}

@test "the function runs in the Lambda-like sandbox: non-root, read-only code and layer, private /tmp, Lambda's environment" {
    d=$(write_probe)
    printf '{}' >"$BATS_TEST_TMPDIR/event.json"
    invoke_once --function "$d" --handler function.handler --event "$BATS_TEST_TMPDIR/event.json" \
        --env MY_SETTING=on --region eu-west-1
    assert_equal "$status" 0
    [ "$(jq -r .uid <<<"$output")" -ne 0 ]
    assert_equal "$(jq -c '[.task, .opt, .tmp]' <<<"$output")" '["read-only","read-only","writable"]'
    assert_equal "$(jq -c '[.root, .pwd]' <<<"$output")" '["/var/task","/var/task"]'
    assert_equal "$(jq -c '[.name, .memory, .version, .region, .group, .custom]' <<<"$output")" \
        '["fn-probe","128","$LATEST","eu-west-1","/aws/lambda/fn-probe","on"]'
    # Its /tmp was private: the file it wrote there is not on the host.
    id=$(jq -r .request <<<"$output")
    [ ! -e "/tmp/probe-$id" ]
    run jq -r .stream <<<"$output"
    assert_output --regexp '^[0-9]{4}/[0-9]{2}/[0-9]{2}/\[\$LATEST\][0-9a-f]{32}$'
}

@test "--memory enforces the memory limit and the matching CPU share with cgroups" {
    cgroups_writable || skip "cgroups are not writable here: the local Lambda says so and only measures"
    d=$(write_probe)
    cat >>"$d/function.sh" <<'EOF'
limits() {
    cat >/dev/null
    m=$(grep -E '^[0-9]+:memory:' /proc/self/cgroup | cut -d: -f3)
    c=$(grep -E '^[0-9]+:cpu(,[a-z]+)*:' /proc/self/cgroup | cut -d: -f3)
    printf '%s %s\n' "$(cat "/sys/fs/cgroup/memory$m/memory.limit_in_bytes")" "$(cat "/sys/fs/cgroup/cpu$c/cpu.cfs_quota_us")"
}
EOF
    [ -d /sys/fs/cgroup/memory ] || skip "this check reads cgroup v1 files"
    printf '{}' >"$BATS_TEST_TMPDIR/event.json"
    invoke_once --function "$d" --handler function.limits --event "$BATS_TEST_TMPDIR/event.json" --memory 128
    assert_equal "$status" 0
    # 128 MB, and 128/1769 of a 100 ms period.
    assert_equal "$output" "134217728 7236"
    run report_lines "$LOGS"
    assert_output --partial 'Memory Size: 128 MB'
    run grep 'enforced with cgroup v1: memory limit 128 MB' "$LOGS"
    assert_success
    # No cgroup is left behind by a local Lambda that has exited.
    for cg in $(find /sys/fs/cgroup/memory /sys/fs/cgroup/cpu -maxdepth 3 -name 'local-lambda-*'); do
        owner=$(basename "$cg" | cut -d- -f3)
        if ! kill -0 "$owner" 2>/dev/null; then
            echo "left behind: $cg" >&2
            return 1
        fi
    done
}

@test "invoke endpoint: bad client context is 400, other paths 404, other methods 405" {
    start_server --function "$ROOT/examples/hello" --handler function.handler
    post "$ROOT/examples/hello/event.json" -H 'X-Amz-Client-Context: %%%not base64'
    assert_equal "$HTTP_CODE" 400
    assert_equal "$(jq -r .__type <<<"$output")" InvalidRequestContentException
    run curl -s -o /dev/null -w '%{http_code}' -d '{}' "${URL%/function/invocations}/other/invocations"
    assert_output 404
    run curl -s -o /dev/null -w '%{http_code}' "$URL"
    assert_output 405
    # None of these started the function.
    assert_equal "$(report_lines "$SERVER_LOG")" ''
    post "$ROOT/examples/hello/event.json"
    cmp "$RESPONSE" "$ROOT/examples/hello/response.json"
}

@test "invoke endpoint: an event over 6 MB is refused with 413 before the function sees it" {
    start_server --function "$ROOT/examples/hello" --handler function.handler
    head -c 6291457 /dev/zero >"$BATS_TEST_TMPDIR/big"
    post "$BATS_TEST_TMPDIR/big"
    assert_equal "$HTTP_CODE" 413
    assert_equal "$(jq -r .__type <<<"$output")" RequestTooLargeException
    assert_equal "$(report_lines "$SERVER_LOG")" ''
}

@test "without bubblewrap, invoke.sh says so clearly and how to go on" {
    bin="$BATS_TEST_TMPDIR/bin"
    mkdir -p "$bin"
    for tool in sh dirname cat find head sed tr mktemp rm mkdir mv chmod uname; do
        ln -s "$(command -v "$tool")" "$bin/$tool"
    done
    run env PATH="$bin" "$INVOKE" --function "$ROOT/examples/hello" --handler function.handler \
        --event "$ROOT/examples/hello/event.json"
    assert_equal "$status" 2
    assert_output --partial 'bwrap (bubblewrap) is not installed'
    assert_output --partial 'apt-get install bubblewrap'
    assert_output --partial '--no-sandbox'
}

@test "--no-sandbox runs ./bootstrap with the host JDK, and says it is not the sandbox" {
    d=$(write_probe)
    printf '{}' >"$BATS_TEST_TMPDIR/event.json"
    invoke_once --no-sandbox --function "$d" --handler function.handler --event "$BATS_TEST_TMPDIR/event.json"
    assert_equal "$status" 0
    assert_equal "$(jq -r .root <<<"$output")" "$d"
    assert_equal "$(jq -r .pwd <<<"$output")" "$d"
    run grep -c "runs $JAVA_HOME/bin/java --source 21 $ROOT/bootstrap directly, without a sandbox" "$LOGS"
    assert_output 1
}

@test "without cgroups, --memory is reported as not enforced and Max Memory Used comes from the process tree" {
    invoke_once --function "$ROOT/examples/hello" --handler function.handler --event "$ROOT/examples/hello/event.json" \
        --memory 256 --no-cgroups
    assert_equal "$status" 0
    run grep -c -- '--memory 256: memory and CPU are NOT enforced (cgroups disabled with --no-cgroups)' "$LOGS"
    assert_output 1
    line=$(report_lines "$LOGS")
    [[ $line == *'Memory Size: 256 MB'* ]]
    used=$(printf '%s' "$line" | sed -n 's/.*Max Memory Used: \([0-9]*\) MB.*/\1/p')
    [ "$used" -gt 16 ]
}
