#!/bin/bash
# hello: function mode (handler setting "function.handler").
# The runtime loads this file once, at init, then calls `handler` for each invocation:
# the event arrives on stdin, whatever the function prints on stdout is the response,
# and anything on stderr goes to the logs.
handler() {
    event=$(cat)
    name=$(printf '%s' "$event" | jq -r '.name // "world"')
    echo "greeting $name (request $LAMBDA_RUNTIME_AWS_REQUEST_ID)" >&2
    jq -cn --arg name "$name" '{message: ("Hello, " + $name + "!")}'
}
