#!/bin/sh
# bench/compare-revisions.sh REV... : warm cost per invocation of `bootstrap` at several git revisions, side by side.
#
# For each revision: its bootstrap runs (JDK 25 source launcher, the shebang's flags minus the AOT cache) against the
# fake Runtime API's CLI serving BENCH_REV_COUNT (default 2000) invocations of bench/function/bench.sh; the figure is
# the mean wall time of one invocation over the second half of the run (JIT warm), from the fake's own records.
# Rounds alternate revisions so a noisy machine hurts them alike. Used to show that a change did not slow the
# single-invocation path.
set -eu
cd "$(dirname "$0")/.."
: "${JAVA_HOME:?JAVA_HOME must point to a JDK 25 (the Makefile sets it)}"
[ "$#" -gt 0 ] || { echo "usage: bench/compare-revisions.sh REV..." >&2; exit 2; }
count=${BENCH_REV_COUNT:-2000}
rounds=${BENCH_REV_ROUNDS:-3}
work=build/bench/revisions
rm -rf "$work"
mkdir -p "$work/fake" "$work/task"
"$JAVA_HOME/bin/javac" -d "$work/fake" spec/support/FakeRuntimeApi.java
cp bench/function/bench.sh "$work/task/"
printf '{"hello":"world"}' > "$work/event.json"
for rev in "$@"; do
    git show "$rev:bootstrap" > "$work/bootstrap-$rev"
done

measure() { # $1 = revision; prints the mean ms per warm invocation
    rm -f "$work/port" "$work/record.jsonl"
    mkfifo "$work/port"
    "$JAVA_HOME/bin/java" -cp "$work/fake" FakeRuntimeApi --port-file "$work/port" --event "$work/event.json" \
        --count "$count" --record "$work/record.jsonl" >/dev/null 2>&1 &
    fake=$!
    read -r port < "$work/port"
    AWS_LAMBDA_RUNTIME_API=127.0.0.1:$port _HANDLER=bench.handler LAMBDA_TASK_ROOT="$(pwd)/$work/task" \
        "$JAVA_HOME/bin/java" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData --source 21 "$work/bootstrap-$1" 2>/dev/null || true
    wait "$fake" || true
    jq -rs --argjson n "$count" '
        [.[] | select(.path | endswith("/next")) | .t_start_us] | sort as $t
        | ($t[$n] - $t[($n / 2 | floor)]) / (($n - ($n / 2 | floor)) * 1000) | . * 1000 | round / 1000' "$work/record.jsonl"
}

printf '%-12s %-8s %s\n' revision round 'ms per warm invocation'
r=1
while [ "$r" -le "$rounds" ]; do
    for rev in "$@"; do
        printf '%-12s %-8s %s\n' "$rev" "$r" "$(measure "$rev")"
    done
    r=$((r + 1))
done
