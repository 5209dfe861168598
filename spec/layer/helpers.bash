# Shared helpers of spec/layer. The layer under test is the zip spec/layer/run.sh copied (LAYER_TEST_DIR);
# it always runs for real: /opt/bootstrap through its shebang with the layer's JRE, in scripts/sandbox.sh,
# against the fake Runtime API (spec/support/FakeRuntimeApi.java) on 127.0.0.1.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
: "${JAVA_HOME:=$("$ROOT/scripts/find_jdk.sh")}"
export JAVA_HOME
LT=${LAYER_TEST_DIR:-$ROOT/build/layer-test}
FIXTURES=$BATS_TEST_DIRNAME/fixtures
SANDBOX=$ROOT/scripts/sandbox.sh
# A safety net against a hung run, never a timing assertion.
LIMIT=300

# Which of the two layers the variant-neutral specs run against: source (JEP 330, the default) or
# precompiled. spec/layer/run.sh runs the sandbox specs once for each.
LAYER_VARIANT=${LAYER_VARIANT:-source}

# the_zip [VARIANT]: the test layer's zip of VARIANT (default LAYER_VARIANT); fails the test when the build did
# not make one.
the_zip() {
    local z variant=${1:-$LAYER_VARIANT} log=$LT/build.log
    if [ "$variant" = precompiled ]; then
        z=$(find "$LT/dist" -maxdepth 1 -name 'java-shell-runtime-precompiled-*.zip' 2>/dev/null | head -n 1)
        log=$LT/build-precompiled.log
    else
        z=$(find "$LT/dist" -maxdepth 1 -name 'java-shell-runtime-*.zip' ! -name 'java-shell-runtime-precompiled-*' 2>/dev/null | head -n 1)
    fi
    if [ -z "$z" ]; then
        echo "no $variant test layer zip: the build failed, see $log" >&2
        tail -n 20 "$log" >&2
        return 1
    fi
    printf '%s\n' "$z"
}

# layer_is_local: the layer under test is a local one (this machine's jq, glibc limit lifted; not for Lambda).
layer_is_local() {
    case $(the_zip) in *-local.zip) return 0 ;; esac
    return 1
}

# scratch NAME: a fresh directory the sandbox's uid (993) can read, under build/ (bats' own temporary
# directories are private to root).
scratch() {
    local d="$LT/scratch/$BATS_TEST_NUMBER-$1"
    rm -rf "$d"
    mkdir -p "$d"
    chmod 755 "$LT/scratch" "$d"
    printf '%s\n' "$d"
}

# unpack_layer NAME [VARIANT]: unzips the test layer into a fresh scratch directory; prints its path.
unpack_layer() {
    local d zip
    zip=$(the_zip "${2:-}") || return 1
    d=$(scratch "$1")
    unzip -q "$zip" -d "$d" || return 1
    printf '%s\n' "$d"
}

# task_dir NAME FILE...: a function directory holding the given fixtures (modes kept).
task_dir() {
    local d f
    d=$(scratch "$1")
    shift
    for f in "$@"; do cp -p "$FIXTURES/$f" "$d/"; done
    printf '%s\n' "$d"
}

# start_fake COUNT: the fake Runtime API serving fixtures/event.json COUNT times (then 500, so the runtime
# exits); sets PORT, FAKE_PID, RECORD (its JSON-lines log of every request) and FAKE_LOG.
start_fake() {
    local dir
    dir=$(scratch "fake-$RANDOM")
    RECORD=$dir/record.jsonl
    FAKE_LOG=$dir/fake.log
    mkfifo "$dir/port"
    timeout "$LIMIT" "$JAVA_HOME/bin/java" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$LT/fake" FakeRuntimeApi \
        --port-file "$dir/port" --event "$FIXTURES/event.json" --count "$1" --record "$RECORD" \
        --timeout "$LIMIT" >"$FAKE_LOG" 2>&1 3>&- &
    FAKE_PID=$!
    PORT=''
    read -r PORT <"$dir/port" || true
    [ -n "$PORT" ] || { cat "$FAKE_LOG" >&2; echo "the fake Runtime API did not start" >&2; return 1; }
}

# stop_fake: waits for the fake to finish (it exits after the refused /next), or stops it when the
# runtime never came (KILL=1).
stop_fake() {
    if [ "${1:-}" = kill ]; then kill "$FAKE_PID" 2>/dev/null || true; fi
    wait "$FAKE_PID" 2>/dev/null || true
}

# run_layer LAYER TASK HANDLER [SANDBOX-OPTION]...: /opt/bootstrap in the sandbox with LAYER at /opt and TASK
# at /var/task, against the fake on PORT. Sets status, OUT (stdout file), ERR (stderr file) and output
# (stdout and stderr, in that order).
run_layer() {
    local layer=$1 task=$2 handler=$3
    shift 3
    OUT=$(scratch "out-$RANDOM")/stdout
    ERR=${OUT%/stdout}/stderr
    status=0
    # This machine's root is Debian's, which has a jq; Amazon Linux has none, so the layer's must be found.
    timeout "$LIMIT" "$SANDBOX" --layer "$layer" --task "$task" --hide /usr/bin/jq \
        --env "AWS_LAMBDA_RUNTIME_API=127.0.0.1:$PORT" --env "_HANDLER=$handler" "$@" \
        -- /opt/bootstrap >"$OUT" 2>"$ERR" 3>&- || status=$?
    output=$(cat "$OUT" "$ERR")
}

# answers KIND: the record's POSTs to /response (KIND=response) or /error, as "status body_length" lines.
answers() {
    jq -r --arg k "/$1" 'select(.method == "POST" and (.path | endswith($k))) | "\(.status) \(.body_length)"' "$RECORD"
}

# noise FILE...: lines that are neither the runtime's own ("java-shell-runtime: ") nor our fixtures'
# ("fixture: ") nor the JDK_JAVA_OPTIONS notice a test asked for.
noise() {
    cat "$@" | grep -v -e '^java-shell-runtime: ' -e '^fixture: ' -e '^NOTE: Picked up JDK_JAVA_OPTIONS' || true
}
