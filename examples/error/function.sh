#!/bin/bash
# error: how a failing handler becomes Lambda's error response.
# Handler setting: function.handler
#
# A handler fails by returning a non-zero status. The runtime then reports an error to Lambda, and the
# caller gets {"errorMessage", "errorType", "stackTrace"} (with X-Amz-Function-Error: Unhandled):
# - if the last non-blank line the handler wrote to stderr reads "Type: message" (Type made of letters,
#   digits, "_" and ".", starting with a letter), errorType is Type and errorMessage is message;
# - otherwise errorType is HandlerFailed and errorMessage is that last line (or, with no stderr, what
#   happened, e.g. the status the handler returned);
# - stackTrace holds the last stderr lines.

handler() {
    event=$(cat)
    amount=$(jq -r '.amount // empty' <<<"$event")
    if [ -z "$amount" ]; then
        echo "checking the order failed" >&2
        echo "the event has no amount" >&2
        return 2                        # no "Type: message" line: errorType is HandlerFailed
    fi
    if ! jq -e --argjson a "$amount" -n '$a > 0' >/dev/null 2>&1; then
        echo "ValidationError: amount must be a positive number, got $amount" >&2
        return 1                        # errorType ValidationError, errorMessage "amount must be ..."
    fi
    jq -cn --argjson a "$amount" '{accepted: $a}'
}
