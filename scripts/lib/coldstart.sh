#!/bin/sh
# coldstart.sh [LAYER] [RUNS]: cold-start figures of a layer, as docs/layer.md reports them. LAYER is an unpacked
# layer directory or a layer zip (default: the newest dist/*.zip, which make layer built); RUNS defaults to 5.
# `coldstart.sh 9`: the built layer, 9 runs.
#
# Each run starts /opt/bootstrap (through its shebang) in scripts/sandbox.sh with LAYER at /opt and
# layer/training at /var/task (_HANDLER=function.handler), against the fake Runtime API serving one event.
# A tiny sh inside the sandbox takes the start time and execs /opt/bootstrap, so sandbox set-up is not
# counted. Printed per run and as medians, in milliseconds:
#   init   start -> the first GET /next reaches the fake (what Lambda bills as Init)
#   first  start -> the first response is posted (init + the first invocation)
# Environment: JAVA_HOME (a JDK 25 runs the fake; default: the one scripts/find_jdk.sh finds), COLDSTART_WORK
# (default build/coldstart).
# This is a measurement, not a test: it asserts nothing but that each run answered.
set -eu
cd "$(dirname "$0")/../.."
root=$(pwd)
case ${1:-} in
    '' | *[!0-9]*) layer=${1:-} runs=${2:-5} ;;
    *) layer='' runs=$1 ;;
esac
JAVA_HOME=$(scripts/find_jdk.sh) || { echo "coldstart: needs a JDK 25: set JAVA_HOME to one" >&2; exit 1; }
export JAVA_HOME
work=${COLDSTART_WORK:-$root/build/coldstart}
mkdir -p "$work"
chmod 755 "$work"
if [ -z "$layer" ]; then
    # shellcheck disable=SC2012 # newest first; the zips' names have no spaces
    layer=$(ls -t dist/*.zip 2>/dev/null | head -n 1)
    [ -n "$layer" ] || { echo "coldstart: no dist/*.zip: run make layer first, or give LAYER" >&2; exit 1; }
fi
if [ -f "$layer" ]; then
    rm -rf "$work/layer"
    mkdir -p "$work/layer"
    unzip -q "$layer" -d "$work/layer" || { echo "coldstart: cannot unzip $layer" >&2; exit 1; }
    chmod 755 "$work/layer"
    echo "coldstart: $layer, $runs run(s)"
    layer=$work/layer
fi
[ -d "$layer" ] || { echo "coldstart: $layer is neither a layer directory nor a zip" >&2; exit 1; }
fake_cls=$work/fake
if [ ! -f "$fake_cls/FakeRuntimeApi.class" ] || [ -n "$(find spec/support/FakeRuntimeApi.java -newer "$fake_cls/FakeRuntimeApi.class")" ]; then
    rm -rf "$fake_cls"
    "$JAVA_HOME/bin/javac" -nowarn --release 21 -d "$fake_cls" spec/support/FakeRuntimeApi.java
fi
hide=''
[ -e /usr/bin/jq ] && hide='--hide /usr/bin/jq'

i=0
: > "$work/results.txt"
while [ "$i" -lt "$runs" ]; do
    i=$((i + 1))
    d=$work/run-$i
    rm -rf "$d"
    mkdir -p "$d"
    chmod 1777 "$d"
    mkfifo "$d/port"
    "$JAVA_HOME/bin/java" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$fake_cls" FakeRuntimeApi \
        --port-file "$d/port" --event layer/training/event.json --count 1 --record "$d/record.jsonl" \
        --timeout 300 > "$d/fake.log" 2>&1 &
    fake=$!
    read -r port < "$d/port"
    # shellcheck disable=SC2016,SC2086 # $0 is expanded by the sandbox's sh; $hide is two words or none
    timeout 300 scripts/sandbox.sh --layer "$layer" --task layer/training --tmp "$d" $hide \
        --env "AWS_LAMBDA_RUNTIME_API=127.0.0.1:$port" --env _HANDLER=function.handler \
        -- /bin/sh -c 'date +%s%6N > /tmp/t0; exec /opt/bootstrap' > "$d/out" 2> "$d/err" || :
    wait "$fake" || :
    t0=$(cat "$d/t0")
    next=$(jq -r 'select(.method == "GET") | .t_start_us' "$d/record.jsonl" | head -n 1)
    resp=$(jq -r 'select(.method == "POST" and (.path | endswith("/response"))) | .t_end_us' "$d/record.jsonl" | head -n 1)
    if [ -z "$next" ] || [ -z "$resp" ]; then
        cat "$d/err" >&2
        echo "coldstart: run $i did not answer the event" >&2
        exit 1
    fi
    init=$(((next - t0) / 1000))
    first=$(((resp - t0) / 1000))
    printf 'run %d: init %d ms, first response %d ms\n' "$i" "$init" "$first"
    printf '%s %s\n' "$init" "$first" >> "$work/results.txt"
done
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
printf 'median of %d: init %s ms, first response %s ms (load average: %s)\n' "$runs" \
    "$(cut -d' ' -f1 "$work/results.txt" | median)" "$(cut -d' ' -f2 "$work/results.txt" | median)" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
