# Shared helpers for the local Lambda's specs (spec/invoke) and the examples' specs (spec/examples).
# The function under test always runs for real: the built layer's /opt/bootstrap in scripts/sandbox.sh,
# started by scripts/invoke.sh. INVOKE_LAYER may name another unpacked layer or zip (default: dist/).

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
export ROOT
: "${JAVA_HOME:=$("$ROOT/scripts/find_jdk.sh")}"
export JAVA_HOME
INVOKE="$ROOT/scripts/invoke.sh"

# Init is limited to 10 s on Lambda; a JVM cold start on this shared 2-core machine can come close under load,
# and init timing is not what most tests are about, so they allow more (the init-timeout spec sets its own).
SLOW_INIT=(--init-timeout 120)

# function_dir NAME: a fresh function directory that the sandbox can mount and its non-root user read
# (bats makes its temporary directories private; Lambda's user needs to get through them).
function_dir() {
    local d="$BATS_TEST_TMPDIR/fn-$1" p
    mkdir -p "$d"
    chmod 755 "$d"
    p=$BATS_TEST_TMPDIR
    while [ "${#p}" -ge "${#BATS_RUN_TMPDIR}" ]; do
        chmod o+x "$p"
        p=$(dirname "$p")
    done
    printf '%s\n' "$d"
}

# invoke_once ARGS...: one-shot invoke through scripts/invoke.sh; sets $status, $output (the response),
# $RESPONSE (a file with the response, byte for byte) and $LOGS (a file with what it printed on stderr).
invoke_once() {
    RESPONSE="$BATS_TEST_TMPDIR/response-$RANDOM"
    LOGS="$BATS_TEST_TMPDIR/invoke-$RANDOM.log"
    status=0
    "$INVOKE" "${SLOW_INIT[@]}" "$@" >"$RESPONSE" 2>"$LOGS" 3>&- || status=$?
    output=$(cat "$RESPONSE")
}

# start_server ARGS...: the local Lambda in server mode on a free port; sets URL, SERVER_PID, SERVER_LOG.
# The endpoint's URL is the first line it prints, read through a FIFO: reading it waits until it listens.
start_server() {
    SERVER_LOG="$BATS_TEST_TMPDIR/server-$RANDOM.log"
    local fifo="$BATS_TEST_TMPDIR/url-$RANDOM.fifo"
    mkfifo "$fifo"
    "$INVOKE" "${SLOW_INIT[@]}" --serve --port 0 "$@" >"$fifo" 2>"$SERVER_LOG" 3>&- &
    SERVER_PID=$!
    URL=''
    IFS= read -r URL <"$fifo" || true
    rm -f "$fifo"
    if [ -z "$URL" ]; then
        cat "$SERVER_LOG" >&2
        echo "the local Lambda did not start" >&2
        return 1
    fi
}

# stop_server: SIGTERM (its shutdown kills the runtime), then wait for it to exit.
stop_server() {
    if [ -n "${SERVER_PID:-}" ]; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=''
    fi
}

# post EVENT-FILE [CURL-ARGS...]: POST the event to $URL; sets $HTTP_CODE, $output (the body), $RESPONSE (a
# file with the body, byte for byte) and $HEADERS (a file with the response headers).
post() {
    local event=$1
    shift
    HEADERS="$BATS_TEST_TMPDIR/headers-$RANDOM"
    RESPONSE="$BATS_TEST_TMPDIR/body-$RANDOM"
    HTTP_CODE=$(curl -sS -o "$RESPONSE" -D "$HEADERS" -w '%{http_code}' --data-binary "@$event" "$@" "$URL")
    output=$(cat "$RESPONSE")
    lines=()
    [ -z "$output" ] || mapfile -t lines <<<"$output"
}

# settle: waits until every invocation sent to $URL so far has ended, END and REPORT printed. The caller gets its
# answer as soon as the runtime posts it, but the invocation ends at the runtime's next /next; the local Lambda
# answers a DryRun in its turn, after the invocations queued before it.
settle() {
    [ "$(curl -sS -o /dev/null -w '%{http_code}' -H 'X-Amz-Invocation-Type: DryRun' -d '{}' "$URL")" = 204 ]
}

# header NAME: the value of response header NAME from the last post (empty when absent).
header() {
    sed -n "s/^$1: *//Ip" "$HEADERS" | tr -d '\r'
}

# report_lines FILE: the REPORT lines so far.
report_lines() {
    grep '^REPORT RequestId: ' "$1" || true
}

# count_init FILE: how many REPORT lines carry an Init Duration (cold starts).
count_init() {
    report_lines "$1" | grep -c 'Init Duration: ' || true
}

# cgroups_writable: whether the local Lambda can enforce --memory on this machine.
cgroups_writable() {
    [ -w /sys/fs/cgroup/memory ] || [ -w /sys/fs/cgroup/cgroup.subtree_control ]
}
