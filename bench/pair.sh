#!/bin/sh
# bench/pair.sh [-n ROUNDS] NAME=LAYER ...: paired, interleaved cold starts of unpacked layers (or layer zips).
#
# The machine is shared: load alone moves CPU time by 15-20%, so variants are compared run against run.
# Each round starts every variant once, in an order that rotates from round to round; each run starts
# /opt/bootstrap from LAYER in scripts/sandbox.sh (bench/lib/harness.sh: the launcher is moved into a cgroup
# and released, so sandbox set-up is not counted) against the fake Runtime API, which refuses the first
# /next (the runtime then exits). Per variant it prints the median, min and max of
#   init   start -> the first GET /next reaches the fake (Lambda's Init)
#   cpu    CPU time of the runtime's whole process tree, start -> exit after the refused /next
# and, for every variant after the first, the median of its per-round differences to the first and in how
# many rounds it was cheaper. A layer zip is unpacked under OUT first.
# Environment: JAVA_HOME (JDK 25: runs the fake), BENCH_PAIR_OUT (default build/bench/pair), BENCH_PAIR_SHARE
# (CPU quota in % of one core, e.g. 7.2 as a 128 MB Lambda function gets; default none: all cores).
# Needs a writable cgroup (bench/lib/cgroup.sh) for the CPU figures; without one cpu is shown as null.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
# shellcheck source=bench/lib/cgroup.sh
. bench/lib/cgroup.sh
# shellcheck source=bench/lib/harness.sh
. bench/lib/harness.sh
say() { printf 'pair: %s\n' "$*" >&2; }
die() { printf 'pair: error: %s\n' "$*" >&2; exit 1; }
now_us() { date +%s%6N; }
JAVA_HOME=$(scripts/find_jdk.sh) || { echo "pair: needs a JDK 25: set JAVA_HOME to one" >&2; exit 1; }
export JAVA_HOME
# shellcheck disable=SC2034 # JAVA and run_limit are read by bench/lib/harness.sh
JAVA=$JAVA_HOME/bin/java
run_limit=300

rounds=9
if [ "${1:-}" = -n ]; then rounds=${2:?-n needs a number}; shift 2; fi
case $rounds in '' | *[!0-9]*) die "ROUNDS must be a number" ;; esac
[ $# -ge 1 ] || die "usage: bench/pair.sh [-n ROUNDS] NAME=LAYER_DIR_OR_ZIP ..."
out=${BENCH_PAIR_OUT:-build/bench/pair}
rm -rf "$out"
mkdir -p "$out/layers"
harness_init "$out"
if cg_detect; then
    cg_create "jsr-pair-$$"
    trap 'cg_destroy' EXIT
    cg_set_share "${BENCH_PAIR_SHARE:-none}"
else
    say "$CG_WHY"
    [ -z "${BENCH_PAIR_SHARE:-}" ] || die "BENCH_PAIR_SHARE needs a writable cgroup"
fi

names=''
for spec in "$@"; do
    n=${spec%%=*} l=${spec#*=}
    case $n in '' | *[!A-Za-z0-9_]*) die "bad variant name '$n' (letters, digits, _)" ;; esac
    [ "$n" != "$spec" ] || die "give NAME=LAYER, not '$spec'"
    if [ -f "$l" ]; then
        mkdir -p "$out/layers/$n"
        unzip -q "$l" -d "$out/layers/$n" || die "cannot unzip $l"
        l=$out/layers/$n
    fi
    [ -x "$l/bootstrap" ] || die "$l has no executable bootstrap"
    chmod 755 "$l"
    case $l in /*) ;; *) l=$root/$l ;; esac
    rt_layer "$n" "$l"
    names="$names $n"
done
# shellcheck disable=SC2086
set -- $names
count=$#

failures=0 r=1
while [ "$r" -le "$rounds" ]; do
    # Rotate: round r starts with variant ((r-1) mod count).
    k=0
    while [ "$k" -lt "$count" ]; do
        i=$(((r - 1 + k) % count + 1))
        eval "n=\${$i}"
        run_one "$n" 100 init "$r" 0 || failures=$((failures + 1))
        k=$((k + 1))
    done
    r=$((r + 1))
done

first=$1
printf 'pair: %s rounds, CPU share %s, %s; load average now %s\n' "$rounds" "${BENCH_PAIR_SHARE:-none}" \
    "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(cut -d' ' -f1-3 /proc/loadavg)"
jq -r -s --arg first "$first" --arg order "$*" '
    def median: sort | length as $n | if $n == 0 then null elif $n % 2 == 1 then .[($n - 1) / 2]
        else (.[$n / 2 - 1] + .[$n / 2]) / 2 end;
    def ms: if . == null then "null" else (. / 1000 | round | tostring) end;
    def stats(f): [.[] | f | select(. != null)] | "\(median | ms) (\(min | ms)-\(max | ms))";
    ($order | split(" ")) as $names
    | (map(select(.kind == "init")) | group_by(.runtime) | map({key: .[0].runtime, value: .}) | from_entries) as $by
    | ($by[$first] | map({key: (.rep | tostring), value: .}) | from_entries) as $base
    | "variant | init ms median (min-max) | cpu ms median (min-max) | init diff vs \($first) | cpu diff vs \($first), rounds cheaper",
      "---|---|---|---|---",
      ($names[] as $n | $by[$n] as $runs
       | [$runs[] | select(.init_us != null and $base[.rep | tostring].init_us != null)] as $paired
       | ([$paired[] | .init_us - $base[.rep | tostring].init_us] | median | ms) as $di
       | [$paired[] | select(.cpu_us != null) | .cpu_us - $base[.rep | tostring].cpu_us] as $dc
       | "\($n) | \($runs | stats(.init_us)) | \($runs | stats(.cpu_us)) | "
         + (if $n == $first then "- | -" else
            "\($di) | \($dc | median | ms) (\([$dc[] | select(. < 0)] | length)/\($dc | length) cheaper)" end))
' "$out/results.jsonl"
[ "$failures" -eq 0 ] || die "$failures run(s) failed (see $out/runs)"
