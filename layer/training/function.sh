#!/bin/bash
# The AOT training workload (scripts/build_layer.sh): function mode, handler "function.handler".
# It exercises what every real invocation makes the runtime do: read the event, log on stderr, answer,
# and, every 5th time, fail with a "Type: message" line so that the error path is trained too.
# Pure shell on purpose: the cache holds the JVM's side, and the training must not depend on jq's version.
count=0
handler() {
    count=$((count + 1))
    event=$(cat)
    echo "training invocation $count (request $LAMBDA_RUNTIME_AWS_REQUEST_ID, ${#event} bytes)" >&2
    if [ $((count % 5)) -eq 0 ]; then
        echo "TrainingError: invocation $count fails on purpose" >&2
        return 1
    fi
    printf '{"count":%d,"echo":%s}\n' "$count" "$event"
}
