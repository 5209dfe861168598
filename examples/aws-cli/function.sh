#!/bin/bash
# aws-cli: a handler that calls AWS with the AWS CLI v2 shipped in the layer (/opt/bin/aws).
# Handler setting: function.handler
#
# On Lambda the CLI finds everything it needs in the environment: the execution role's credentials
# (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) and AWS_REGION. The function's role needs
# the permissions the commands use (here s3:ListAllMyBuckets). Because the runtime sets _X_AMZN_TRACE_ID,
# the CLI forwards the trace header, which keeps Lambda's recursive-loop detection working.
# The layer can be built without the CLI (AWS_CLI=none): then the handler fails with AwsCliMissing.

handler() {
    event=$(cat)
    if ! command -v aws >/dev/null; then
        echo "AwsCliMissing: no aws on PATH: this layer was built without the AWS CLI (AWS_CLI=none)" >&2
        return 1
    fi
    case $(jq -r '.action // "buckets"' <<<"$event") in
        version)
            jq -cn --arg version "$(aws --version 2>&1)" '{version: $version}'
            ;;
        buckets)
            aws s3api list-buckets --query 'Buckets[].Name' --output json | jq -c '{buckets: .}'
            ;;
        *)
            echo "UnknownAction: use \"buckets\" or \"version\"" >&2
            return 1
            ;;
    esac
}
