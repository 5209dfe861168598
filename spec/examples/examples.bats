#!/usr/bin/env bats
# Every example under examples/ runs with the built layer in the sandbox and gives its documented response:
# for each event<suffix>.json, response<suffix>.json is the expected body. An expected body with an errorType is
# a function error: the caller must get X-Amz-Function-Error: Unhandled and that errorType and errorMessage
# (the stackTrace, the last stderr lines, is not compared). Any other expected body must match byte for byte.

load ../invoke/helpers

teardown() {
    stop_server
}

# check_example NAME HANDLER: all of the example's events on one warm local Lambda.
check_example() {
    local dir="$ROOT/examples/$1" event expected suffix n=0
    start_server --function "$dir" --handler "$2"
    for event in "$dir"/event*.json; do
        suffix=${event##*/event}
        expected="$dir/response$suffix"
        [ -f "$expected" ] || { echo "$event has no $expected" >&2; return 1; }
        post "$event"
        assert_equal "$HTTP_CODE" 200
        if jq -e 'has("errorType")' "$expected" >/dev/null; then
            assert_equal "$(header X-Amz-Function-Error)" Unhandled
            assert_equal "$(jq -c '{errorType, errorMessage}' "$RESPONSE")" "$(jq -c '{errorType, errorMessage}' "$expected")"
        else
            assert_equal "$(header X-Amz-Function-Error)" ""
            cmp "$RESPONSE" "$expected"
        fi
        n=$((n + 1))
    done
    [ "$n" -gt 0 ]
    # One environment served them all.
    settle
    assert_equal "$(count_init "$SERVER_LOG")" 1
}

# layer_has PATH: whether the layer the specs run (INVOKE_LAYER, else dist/'s zip) contains PATH.
layer_has() {
    local layer=${INVOKE_LAYER:-} z
    if [ -z "$layer" ]; then
        for z in "$ROOT"/dist/*.zip; do
            [ -f "$z" ] && layer=$z && break
        done
    fi
    if [ -d "$layer" ]; then
        [ -e "$layer/$1" ]
    else
        unzip -Z1 "$layer" | grep -qx "$1"
    fi
}

@test "every example has a handler, an event and an expected response, and every event has its response" {
    for d in "$ROOT"/examples/*/; do
        name=$(basename "$d")
        ls "$d"event*.json >/dev/null
        [ -f "$d/function.sh" ] || [ -f "$d/handler.sh" ] || { echo "$name: no handler" >&2; return 1; }
        [ "$name" = aws-cli ] || [ -f "$d/response.json" ] || { echo "$name: no response.json" >&2; return 1; }
        for f in "$d"event*.json "$d"response*.json; do
            [ -e "$f" ] || continue
            jq -e . "$f" >/dev/null || { echo "$f is not JSON" >&2; return 1; }
        done
    done
    run shellcheck "$ROOT"/examples/*/*.sh
    assert_success
}

@test "hello: function mode reads the event with jq and returns JSON" {
    check_example hello function.handler
    run grep -c '^greeting Lambda (request ' "$SERVER_LOG"
    assert_output 1
}

@test "api-gateway: status codes, headers, a base64 request body and a base64 binary response" {
    check_example api-gateway function.handler
    post "$ROOT/examples/api-gateway/event-pixel.json"
    assert_equal "$(jq -r .isBase64Encoded <<<"$output")" true
    assert_equal "$(jq -r .body <<<"$output" | base64 -d | head -c 4 | od -An -tx1 | tr -d ' ')" 89504e47
    post "$ROOT/examples/api-gateway/event-missing.json"
    assert_equal "$(jq -r .statusCode <<<"$output")" 404
    post "$ROOT/examples/api-gateway/event-echo.json"
    assert_equal "$(jq -r .body <<<"$output")" "héllo, wörld"
}

@test "warm-state: the set-up runs once; the counter shows the warm invocations" {
    check_example warm-state function.handler
    post "$ROOT/examples/warm-state/event.json"
    assert_equal "$(jq -c '[.invocation, .coldStart]' <<<"$output")" '[2,false]'
    post "$ROOT/examples/warm-state/event.json"
    assert_equal "$(jq -c '[.invocation, .coldStart]' <<<"$output")" '[3,false]'
    run grep -c '^warm-state: set-up loaded 3 products in [0-9]* ms$' "$SERVER_LOG"
    assert_output 1
}

@test "bash-file: file mode runs the executable #!/bin/bash handler as a new process each time" {
    run git -C "$ROOT" ls-files -s examples/bash-file/handler.sh
    assert_output --regexp '^100755 '
    check_example bash-file handler.sh
    post "$ROOT/examples/bash-file/event.json"
    cmp "$RESPONSE" "$ROOT/examples/bash-file/response.json"
    run sh -c "sed -n 's/^handler.sh (pid \\([0-9]*\\)) counted .*/\\1/p' '$SERVER_LOG' | sort -u | wc -l"
    assert_output 2
}

@test "error: errorType and errorMessage come from the last stderr line, else HandlerFailed" {
    check_example error function.handler
    post "$ROOT/examples/error/event-no-amount.json"
    run jq -r '.stackTrace[]' <<<"$output"
    assert_line 'checking the order failed'
    assert_line 'the event has no amount'
}

@test "aws-cli: the layer's AWS CLI answers --version from the handler" {
    layer_has bin/aws || skip "the layer was built without the AWS CLI (AWS_CLI=none: no installer offline), so /opt/bin/aws is absent"
    start_server --function "$ROOT/examples/aws-cli" --handler function.handler
    post "$ROOT/examples/aws-cli/event-version.json"
    assert_equal "$HTTP_CODE" 200
    assert_equal "$(header X-Amz-Function-Error)" ""
    run jq -r .version <<<"$output"
    assert_output --regexp '^aws-cli/2\.'
}

@test "aws-cli: the handler lists buckets from a local AWS endpoint when one is available" {
    layer_has bin/aws || skip "the layer was built without the AWS CLI (AWS_CLI=none: no installer offline), so /opt/bin/aws is absent"
    [ -n "${AWS_ENDPOINT_URL:-}" ] || skip "no local AWS endpoint: set AWS_ENDPOINT_URL (e.g. a local S3 on 127.0.0.1) and credentials to run this"
    case $AWS_ENDPOINT_URL in
        http://127.0.0.1:* | http://localhost:*) ;;
        *) skip "AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL is not on loopback: these specs only talk to loopback" ;;
    esac
    start_server --function "$ROOT/examples/aws-cli" --handler function.handler --env "AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL"
    post "$ROOT/examples/aws-cli/event.json"
    assert_equal "$HTTP_CODE" 200
    assert_equal "$(header X-Amz-Function-Error)" ""
    assert_equal "$(jq -r '.buckets | type' <<<"$output")" array
}

@test "aws-cli: without the CLI in the layer the handler fails with a clear message" {
    ! layer_has bin/aws || skip "the layer has the AWS CLI: the version spec covers it"
    start_server --function "$ROOT/examples/aws-cli" --handler function.handler
    post "$ROOT/examples/aws-cli/event-version.json"
    assert_equal "$HTTP_CODE" 200
    assert_equal "$(header X-Amz-Function-Error)" Unhandled
    assert_equal "$(jq -r .errorType <<<"$output")" AwsCliMissing
}
