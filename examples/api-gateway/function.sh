#!/bin/bash
# api-gateway: a function behind an API Gateway HTTP API or a Lambda function URL (payload format 2.0).
# The event describes the HTTP request; the response is a JSON object that tells API Gateway what to send:
# statusCode, headers, body, and isBase64Encoded=true when body is base64 (binary content such as images).
# Handler setting: function.handler

# A 1x1 transparent PNG, base64: binary bodies travel base64-encoded, with isBase64Encoded set.
PIXEL_PNG_BASE64='iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=='

handler() {
    event=$(cat)
    method=$(jq -r '.requestContext.http.method' <<<"$event")
    path=$(jq -r '.rawPath' <<<"$event")
    echo "$method $path" >&2

    case "$method $path" in
        "GET /hello")
            jq -c '{
                statusCode: 200,
                headers: {"content-type": "application/json"},
                body: ({message: ("Hello, " + (.queryStringParameters.name // "world") + "!")} | tojson),
                isBase64Encoded: false
            }' <<<"$event"
            ;;
        "POST /echo")
            # A request body arrives base64-encoded when it is binary; decode it before use.
            jq -c '{
                statusCode: 200,
                headers: {"content-type": "text/plain; charset=utf-8"},
                body: (if .isBase64Encoded then (.body | @base64d) else .body end),
                isBase64Encoded: false
            }' <<<"$event"
            ;;
        "GET /pixel.png")
            jq -cn --arg png "$PIXEL_PNG_BASE64" '{
                statusCode: 200,
                headers: {"content-type": "image/png", "cache-control": "max-age=86400"},
                body: $png,
                isBase64Encoded: true
            }'
            ;;
        *)
            jq -cn --arg path "$path" '{
                statusCode: 404,
                headers: {"content-type": "application/json"},
                body: ({error: ("no route for " + $path)} | tojson),
                isBase64Encoded: false
            }'
            ;;
    esac
}
