#!/bin/sh
# bench/memory.sh [NAME=LAYER ...]: what the runtime's memory is made of, per layer (an unpacked layer or a zip).
#
# Runs examples/hello's handler in scripts/sandbox.sh with LAYER at /opt against the fake Runtime API (one
# event), with Native Memory Tracking on (JDK_JAVA_OPTIONS: -XX:NativeMemoryTracking=summary,
# -XX:+PrintNMTStatistics, printed at exit). While it handles the event, a wrapper of the handler copies the
# runtime's /proc/<java>/smaps to /tmp, so the resident set is seen from the kernel's side, by mapping:
# libjvm.so, the AOT cache, the Java heap, other anonymous memory (malloc, metaspace, code cache, stacks) and
# other files. Prints one table per layer (KiB). NMT's own overhead is in the anonymous figures (a few hundred
# KiB). -XX:MaxRAM=128m sizes the JVM as a 128 MB Lambda function (whose memory is all the JVM sees).
# Max Memory Used as Lambda reports it comes from scripts/invoke.sh --memory 128 (docs/layer.md).
# Environment: JAVA_HOME (JDK 25, runs the fake), BENCH_MEMORY_OUT (default build/bench/memory),
# BENCH_MEMORY_FLAGS (extra JVM flags to try, appended to JDK_JAVA_OPTIONS).
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
JAVA_HOME=$(scripts/find_jdk.sh) || { echo "memory: needs a JDK 25: set JAVA_HOME to one" >&2; exit 1; }
export JAVA_HOME
out=${BENCH_MEMORY_OUT:-build/bench/memory}
die() { printf 'memory: error: %s\n' "$*" >&2; exit 1; }
[ $# -ge 1 ] || die "usage: bench/memory.sh NAME=LAYER_DIR_OR_ZIP ..."
rm -rf "$out"
mkdir -p "$out"
chmod 755 "$out"
case $out in /*) ;; *) out=$root/$out ;; esac
"$JAVA_HOME/bin/javac" -nowarn --release 21 -d "$out/fake" spec/support/FakeRuntimeApi.java

# The function: examples/hello, plus a snapshot of the runtime's memory map taken while it handles the event.
mkdir -p "$out/task"
cp examples/hello/function.sh "$out/task/hello.sh"
cat > "$out/task/function.sh" <<'EOF'
#!/bin/bash
. "$LAMBDA_TASK_ROOT/hello.sh"
eval "hello_$(declare -f handler)"
handler() {
    local p=$$
    while [ "$p" -gt 1 ]; do
        case $(readlink "/proc/$p/exe") in */bin/java) cp "/proc/$p/smaps" /tmp/smaps.txt; break ;; esac
        p=$(awk '/^PPid:/ { print $2 }' "/proc/$p/status")
    done
    hello_handler
}
EOF
chmod -R a+rX "$out/task"

for spec in "$@"; do
    n=${spec%%=*} l=${spec#*=}
    d=$out/$n
    mkdir -p "$d/tmp"
    chmod 1777 "$d/tmp"
    if [ -f "$l" ]; then
        mkdir -p "$d/layer" && unzip -q "$l" -d "$d/layer" && chmod 755 "$d/layer"
        l=$d/layer
    fi
    mkfifo "$d/port"
    "$JAVA_HOME/bin/java" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$out/fake" FakeRuntimeApi \
        --port-file "$d/port" --event examples/hello/event.json --count 1 --record "$d/record.jsonl" \
        --timeout 300 > "$d/fake.log" 2>&1 &
    fake=$!
    read -r port < "$d/port"
    timeout 300 scripts/sandbox.sh --layer "$l" --task "$out/task" --tmp "$d/tmp" --hide /usr/bin/jq \
        --env "AWS_LAMBDA_RUNTIME_API=127.0.0.1:$port" --env _HANDLER=function.handler \
        --env AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128 \
        --env "JDK_JAVA_OPTIONS=-XX:MaxRAM=128m -XX:NativeMemoryTracking=summary -XX:+UnlockDiagnosticVMOptions -XX:+PrintNMTStatistics${BENCH_MEMORY_FLAGS:+ $BENCH_MEMORY_FLAGS}" \
        -- /opt/bootstrap > "$d/stdout" 2> "$d/stderr" || :
    wait "$fake" || :
    [ -s "$d/tmp/smaps.txt" ] || { cat "$d/stderr" >&2; die "$n: the handler took no snapshot of the runtime's memory map"; }
    echo "== $n ($l)"
    awk '
        /^[0-9a-f]+-[0-9a-f]+ / { name = (NF >= 6) ? $6 : "[anon]"; next }
        /^Rss:/ {
            k = "other files"
            if (name ~ /libjvm\.so$/) k = "libjvm.so"
            else if (name ~ /\.aot$/) k = "AOT cache (mapped)"
            else if (name == "[anon]" || name == "[heap]") k = "anonymous (heap, metaspace, code, malloc, stacks)"
            else if (name ~ /\/lib\/modules$/) k = "lib/modules"
            else if (name ~ /\.so/) k = "other shared libraries"
            else if (name == "[stack]") k = "anonymous (heap, metaspace, code, malloc, stacks)"
            rss[k] += $2; total += $2
        }
        END {
            for (k in rss) printf "  smaps Rss %-52s %7d KiB\n", k, rss[k]
            printf "  smaps Rss %-52s %7d KiB\n", "TOTAL (java process)", total
        }' "$d/tmp/smaps.txt" | sort -t'|' -k1,1
    # NMT's summary (bytes): committed KiB per category.
    sed -n 's/^- *\([A-Za-z][A-Za-z ]*[a-z]\) (reserved=\([0-9]*\), committed=\([0-9]*\)).*/  NMT committed \1|\3/p; s/^Total: reserved=\([0-9]*\), committed=\([0-9]*\).*/  NMT committed TOTAL|\2/p' \
        "$d/stdout" | awk -F'|' '{ printf "%-63s %7d KiB\n", $1, $2 / 1024 }'
done
