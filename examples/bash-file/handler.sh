#!/bin/bash
# bash-file: file mode (handler setting "handler.sh", a file name without a function).
# This file is run as a new process for every invocation: executable files run directly, so the
# #!/bin/bash line above picks bash (a file without the executable bit would run with /bin/sh).
# Nothing survives between invocations except what is written to /tmp.
# The event is on stdin, the response is what this prints on stdout, stderr goes to the logs.
set -euo pipefail

event=$(cat)
text=$(jq -r '.text' <<<"$event")

# Bash features: arrays, case conversion, [[ ]], associative arrays.
read -r -a words <<<"$text"
declare -A seen=()
longest=''
for w in "${words[@]}"; do
    seen[${w,,}]=1
    [[ ${#w} -gt ${#longest} ]] && longest=$w
done

echo "handler.sh (pid $$) counted ${#words[@]} words for request $LAMBDA_RUNTIME_AWS_REQUEST_ID" >&2
jq -cn --arg upper "${text^^}" --argjson words "${#words[@]}" --argjson distinct "${#seen[@]}" \
    --arg longest "$longest" '{upper: $upper, words: $words, distinct: $distinct, longest: $longest}'
