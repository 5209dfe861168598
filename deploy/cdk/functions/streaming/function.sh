#!/bin/bash
# streaming: a response streamed through a function URL (RESPONSE_STREAM), used by the CDK example app.
# Handler setting: function.handler, with JAVA_SHELL_RUNTIME_RESPONSE_MODE=streaming (ShellFunction's
# responseStreaming sets both). The first line is the HTTP-integration prelude (status and headers, then 8 NUL
# bytes); each later line reaches the caller as soon as it is written (docs/runtime.md, "Response streaming").

handler() {
    count=$(jq -r '.queryStringParameters.count // "5"')
    case $count in '' | *[!0-9]*) count=5 ;; esac
    [ "$count" -le 20 ] || count=20
    printf '{"statusCode":200,"headers":{"content-type":"text/plain; charset=utf-8"}}\0\0\0\0\0\0\0\0'
    i=1
    while [ "$i" -le "$count" ]; do
        echo "line $i of $count, written at $(date -u +%H:%M:%S.%3N)"
        # Only so that a person with curl -N sees the lines arrive one by one.
        [ "$i" -lt "$count" ] && sleep 0.5
        i=$((i + 1))
    done
}
