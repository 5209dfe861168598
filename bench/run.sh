#!/bin/sh
# bench/run.sh: the benchmark behind `make bench` (issues 5 and 10). Runs both variants of java-shell-runtime
# (the JEP 330 layer and the precompiled layer, each /opt/bootstrap through its shebang, in scripts/sandbox.sh)
# and the sh + curl baseline (bench/baseline, in the same sandbox) side by side, interleaved, against the fake
# Runtime API, at CPU shares of one core set by a cgroup quota, and writes a report with a table and a
# gnuplot chart.
#
# Environment (all optional):
#   BENCH_QUICK=1         tiny run to check that the benchmark works; writes build/bench/quick/, never docs/
#   BENCH_OUT=DIR         where runs and the report go (default build/bench/full or build/bench/quick)
#   BENCH_DOC=FILE        the report (default docs/benchmarks.md; BENCH_OUT/benchmarks.md when quick)
#   BENCH_SHARES="..."    CPU shares in percent of one core (default "all 100 28.9 7.2"; all = every core of
#                         the machine, no quota: the "full CPU" of issue 5's targets)
#   BENCH_INVOCATIONS=N   invocations per warm run (default 500; quick 20)
#   BENCH_INIT_RUNS=N     runs per runtime at >= 100% with 0 invocations (init CPU)  default 3, quick 1
#   BENCH_COLD_RUNS=N     runs per runtime at >= 100% with 1 invocation              default 3, quick 1
#   BENCH_WARM_RUNS=N     runs per runtime at >= 100% with N invocations             default 3, quick 1
#   BENCH_LOW_INIT_RUNS=N, BENCH_LOW_COLD_RUNS=N  the same at the lower shares   default 1 and 2, quick 0
#                         (and 1 warm run there: every run also yields init and first-invocation figures)
#   BENCH_BASELINE_FULL=1 the baseline runs N invocations at every share too (default: N x share, >= 50)
#                         and as many warm runs as ours (default: one; its cost per invocation does not vary)
#   BENCH_RUNTIME=layer   how our runtime is started: layer (default: dist/*.zip in the sandbox) or source
#                         ($JAVA_HOME/bin/java --source 21 bootstrap, no sandbox, for development)
#   BENCH_LAYER_ZIP=FILE  the JEP 330 layer to measure (default: the newest dist/*.zip but the precompiled ones)
#   BENCH_PRECOMPILED_ZIP=FILE  the precompiled layer (default: the newest dist/*-precompiled-*.zip)
#   BENCH_RUNTIMES="java precompiled sh"  which runtimes to run: java = the JEP 330 layer, precompiled, sh =
#                         the baseline (default all three; "java sh" with BENCH_RUNTIME=source)
#   BENCH_FAKE="CMD"      command that starts the fake Runtime API (default: spec/support/FakeRuntimeApi.java,
#                         compiled once into build/bench/fake-<hash of the source>)
#   BENCH_CFS_PERIOD_US, BENCH_CGROUP_V1_ROOT, BENCH_CGROUP2_ROOT: see bench/lib/cgroup.sh
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
# shellcheck source=bench/lib/cgroup.sh
. bench/lib/cgroup.sh
# shellcheck source=bench/lib/harness.sh
. bench/lib/harness.sh

: "${JAVA_HOME:?JAVA_HOME must point to a JDK 25 (the Makefile sets it)}"
JAVA=$JAVA_HOME/bin/java
quick=${BENCH_QUICK:-0}
if [ "$quick" = 1 ]; then
    out=${BENCH_OUT:-build/bench/quick} doc=${BENCH_DOC:-$out/benchmarks.md}
    n=${BENCH_INVOCATIONS:-20} init_runs=${BENCH_INIT_RUNS:-1} cold_runs=${BENCH_COLD_RUNS:-1}
    warm_runs=${BENCH_WARM_RUNS:-1} low_init_runs=${BENCH_LOW_INIT_RUNS:-0} low_cold_runs=${BENCH_LOW_COLD_RUNS:-0}
else
    out=${BENCH_OUT:-build/bench/full} doc=${BENCH_DOC:-docs/benchmarks.md}
    n=${BENCH_INVOCATIONS:-500} init_runs=${BENCH_INIT_RUNS:-3} cold_runs=${BENCH_COLD_RUNS:-3}
    warm_runs=${BENCH_WARM_RUNS:-3} low_init_runs=${BENCH_LOW_INIT_RUNS:-1} low_cold_runs=${BENCH_LOW_COLD_RUNS:-2}
fi
ncpu=$(nproc)
all_share=$((ncpu * 100))
shares=''
for s in ${BENCH_SHARES:-all 100 28.9 7.2}; do
    [ "$s" != all ] || s=$all_share
    case $s in '' | *[!0-9.]* | *.*.*) echo "bench: BENCH_SHARES: '$s' is not a percentage" >&2; exit 1 ;; esac
    shares="$shares $s"
done
mode=${BENCH_RUNTIME:-layer}
default_runtimes='java precompiled sh'
[ "$mode" != source ] || default_runtimes='java sh'
runtimes=${BENCH_RUNTIMES:-$default_runtimes}
has_rt() { case " $runtimes " in *" $1 "*) return 0 ;; esac; return 1; }
run_limit=900 # seconds any one run may take before it is killed (bounded, never expected)

say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
now_us() { date +%s%6N; }

for tool in jq gnuplot curl timeout unzip zip; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is needed (Debian: apt-get install $tool)"
done
case $n in '' | *[!0-9]*) die "BENCH_INVOCATIONS=$n is not a number" ;; esac
[ "$n" -ge 3 ] || die "BENCH_INVOCATIONS must be at least 3 (warm cycles need invocations 2..N)"

# OUT is replaced: refuse a directory that is not one of ours.
if [ -d "$out" ] && [ -n "$(ls -A "$out")" ] && [ ! -f "$out/results.jsonl" ]; then
    die "BENCH_OUT=$out exists and is not a benchmark output (no results.jsonl): not deleting it"
fi
rm -rf "$out"
mkdir -p "$out/layers"
started=$(now_us)
harness_init "$out"

# --- the runtimes -------------------------------------------------------------------------------------
layer_zip='' pre_zip='' layer_stale=0
mkdir -p "$out/layers/sh"
cp bench/baseline/bootstrap "$out/layers/sh/bootstrap"
chmod 755 "$out/layers/sh/bootstrap"
(cd "$out/layers/sh" && zip -q -X ../sh.zip bootstrap)
case $mode in
layer)
    [ -x scripts/sandbox.sh ] || die "scripts/sandbox.sh is missing (BENCH_RUNTIME=source runs without the layer)"
    # unpack_layer RT ZIP: the layer at OUT/layers/RT. The precompiled bootstrap has a first line of its own
    # and the same source after it, so there only what follows the first line is compared with ./bootstrap.
    unpack_layer() {
        mkdir -p "$out/layers/$1"
        unzip -q "$2" -d "$out/layers/$1"
        [ -x "$out/layers/$1/bootstrap" ] || die "$2 has no executable bootstrap at its root"
        cp "$2" "$out/layers/$1.zip"
        _from=1
        [ "$1" = java ] || _from=2
        tail -n +"$_from" "$out/layers/$1/bootstrap" > "$out/layers/$1.src"
        if [ -f bootstrap ] && ! tail -n +"$_from" bootstrap | cmp -s - "$out/layers/$1.src"; then
            say "warning: the layer's bootstrap differs from ./bootstrap: measuring $2 as built (make layer rebuilds it)"
            layer_stale=1
        fi
        rt_layer "$1" "$out/layers/$1"
    }
    if has_rt java; then
        # shellcheck disable=SC2012,SC2010 # names come from our own build; the JEP 330 layer, not the precompiled one
        layer_zip=${BENCH_LAYER_ZIP:-$(ls -t dist/*.zip 2>/dev/null | grep -v -e -precompiled- | head -n 1)}
        [ -n "$layer_zip" ] || die "no dist/*.zip: run make layer first (make bench does)"
        unpack_layer java "$layer_zip"
    fi
    if has_rt precompiled; then
        # shellcheck disable=SC2012 # names come from our own build
        pre_zip=${BENCH_PRECOMPILED_ZIP:-$(ls -t dist/*-precompiled-*.zip 2>/dev/null | head -n 1)}
        [ -n "$pre_zip" ] || die "no dist/*-precompiled-*.zip: run make layer LAUNCH=precompiled first (make bench does)"
        unpack_layer precompiled "$pre_zip"
    fi
    rt_layer sh "$out/layers/sh"
    ;;
source)
    ! has_rt precompiled || die "BENCH_RUNTIME=source runs ./bootstrap by source: there is no precompiled runtime to run"
    [ -f bootstrap ] || die "no ./bootstrap: run make bootstrap"
    # shellcheck disable=SC2046 # one flag per word, as in the shebang
    rt_host java "$JAVA" $(cat layer/jvm-flags) --source 21 "$root/bootstrap"
    rt_host sh "$root/bench/baseline/bootstrap"
    ;;
*) die "BENCH_RUNTIME=$mode: expected layer or source" ;;
esac
chmod -R a+rX "$out/layers"

# warm_count RT SHARE: invocations of a warm run. The baseline's cost per invocation is the same from the
# first to the last (no JIT), and at low shares each one takes a large part of a second, so below 100% it
# runs N x share, at least 50 (BENCH_BASELINE_FULL=1: always N). Ours always runs N.
below_100() { awk -v s="$1" 'BEGIN { exit !(s < 100) }'; }
# set_share SHARE: the cgroup's CPU quota (all cores or more = no quota) and, as on Lambda, the memory that goes
# with that much CPU: 1,769 MB per core (7.2% -> 128 MB, 28.9% -> 512 MB, 100% -> 1769 MB, 2 cores -> 3538 MB).
# The JVM sizes its heap from that limit, so it matters for the memory figures. Sets memory_mb.
set_share() {
    memory_mb=null
    [ "$CG_MODE" != none ] || return 0
    if awk -v s="$1" -v a="$all_share" 'BEGIN { exit !(s >= a) }'; then cg_set_share none; else cg_set_share "$1"; fi
    if [ -n "$CG_MEM" ]; then
        memory_mb=$(awk -v s="$1" 'BEGIN { printf "%d", s * 17.69 + 0.999 }')
        cg_set_memory "$memory_mb"
    fi
}
# rotate I WORD...: the words, rotated left by I - 1.
rotate() {
    _r=$((($1 - 1) % ($# - 1))); shift
    while [ "$_r" -gt 0 ]; do _w=$1; shift; set -- "$@" "$_w"; _r=$((_r - 1)); done
    echo "$@"
}
warm_count() {
    if [ "$1" = sh ] && below_100 "$2" && [ "${BENCH_BASELINE_FULL:-0}" != 1 ]; then
        awk -v n="$n" -v s="$2" 'BEGIN { c = int(n * s / 100 + 0.5); if (c < 50) c = 50; if (c > n) c = n; print c }'
    else
        echo "$n"
    fi
}

# --- the runs -----------------------------------------------------------------------------------------
failures=0
if cg_detect; then
    say "$CG_WHY"
    cg_create "jsr-bench-$$"
    trap 'cg_destroy' EXIT
else
    say "$CG_WHY"
    say "without a quota only 'all' ($all_share: every core) can be measured"
    shares=$all_share
fi
# Memory and the page-cache warm-up run at one core (every core without a cgroup).
mem_share=100
[ "$CG_MODE" != none ] || mem_share=$all_share
set_share "$mem_share"
say "warming the page cache (runs not counted)"
for rt in $runtimes; do
    run_one "$rt" "$mem_share" warmup 1 1 || failures=$((failures + 1))
done
sed -i '/"kind":"warmup"/d' "$out/results.jsonl"

for share in $shares; do
    set_share "$share"
    # Below one core the runtime cannot use the other core, so the sampler there disturbs nothing: memory
    # is sampled in the warm runs too (the JVM's heap follows the memory limit that goes with the share).
    if below_100 "$share"; then ri=$low_init_runs rc=$low_cold_runs w=1 sample_warm=1
    else ri=$init_runs rc=$cold_runs w=$warm_runs sample_warm=0; fi
    say "CPU share $share% of one core (memory limit ${memory_mb} MB): $ri init, $rc cold and $w warm run(s) per runtime"
    i=1
    while [ "$i" -le "$ri" ] || [ "$i" -le "$rc" ] || [ "$i" -le "$w" ]; do
        # Interleaved, so that all see the same machine, and the order rotates each round, so that none is
        # always the one that runs right after the page cache or the CPU was warmed by another.
        # shellcheck disable=SC2086 # a list of names
        for rt in $(rotate "$i" $runtimes); do
            [ "$i" -gt "$ri" ] || run_one "$rt" "$share" init "$i" 0 || failures=$((failures + 1))
            [ "$i" -gt "$rc" ] || run_one "$rt" "$share" cold "$i" 1 || failures=$((failures + 1))
            # The baseline's warm cost is the same in every run (no JIT, no caches): one warm run is enough.
            [ "$rt" != sh ] || [ "$i" -eq 1 ] || [ "${BENCH_BASELINE_FULL:-0}" = 1 ] || continue
            [ "$i" -gt "$w" ] || run_one "$rt" "$share" warm "$i" "$(warm_count "$rt" "$share")" || failures=$((failures + 1))
        done
        i=$((i + 1))
    done
done
# Memory: one sampled run per runtime at a full core (the share changes timing, not memory).
set_share "$mem_share"
sample_warm=0
for rt in $runtimes; do
    run_one "$rt" "$mem_share" mem 1 "$n" || failures=$((failures + 1))
done

# --- the report ---------------------------------------------------------------------------------------
sizes() { # ZIP -> "unzipped zipped" bytes
    printf '%s %s\n' "$(unzip -l "$1" | awk 'END { print $1 }')" "$(wc -c < "$1")"
}
{
    sep='{'
    for rt in java precompiled; do
        z=$layer_zip
        [ "$rt" = java ] || z=$pre_zip
        printf '%s"%s":' "$sep" "$rt"
        sep=,
        if [ -n "$z" ]; then
            # shellcheck disable=SC2046 # two numbers
            set -- $(sizes "$z")
            jre=$(unzip -l "$z" | awk '$4 ~ /^jre\// && $4 !~ /\.(aot|jsa)$/ { s += $1 } END { print s + 0 }')
            aot=$(unzip -l "$z" | awk '$4 ~ /\.(aot|jsa)$/ { s += $1 } END { print s + 0 }')
            printf '{"zip":"%s","unzipped":%s,"zipped":%s,"jre":%s,"aot":%s}' "$z" "$1" "$2" "$jre" "$aot"
        else
            printf 'null'
        fi
    done
    # shellcheck disable=SC2046 # two numbers
    set -- $(sizes "$out/layers/sh.zip")
    printf ',"sh":{"zip":"bench/baseline/bootstrap","unzipped":%s,"zipped":%s}}\n' "$1" "$2"
} > "$out/sizes.json"

finished=$(now_us)
cmd="make bench"
[ "$quick" != 1 ] || cmd="BENCH_QUICK=1 make bench"
for v in BENCH_LAYER_ZIP BENCH_PRECOMPILED_ZIP BENCH_SHARES BENCH_INVOCATIONS BENCH_INIT_RUNS BENCH_COLD_RUNS BENCH_WARM_RUNS BENCH_LOW_INIT_RUNS \
    BENCH_LOW_COLD_RUNS BENCH_BASELINE_FULL BENCH_RUNTIME BENCH_RUNTIMES; do
    eval "val=\${$v:-}"
    # shellcheck disable=SC2154 # set by the eval
    [ -z "$val" ] || [ "$v=$val" = BENCH_RUNTIME=layer ] || [ "$v=$val" = "BENCH_RUNTIMES=$default_runtimes" ] ||
        cmd="$v='$val' $cmd"
done
# The layer's own inputs, when make passed them (an offline build needs none: it makes a local layer).
for v in JQ AWS_CLI AWS_CLI_ZIP LAYER_KIND LAYER_GLIBC_MAX TARGET_JAVA_HOME TARGET_JDK; do
    eval "val=\${$v:-}"
    [ -z "$val" ] || cmd="$cmd $v=$val"
done
plan="at 100% and more: $init_runs run(s) without invocations, $cold_runs with one invocation and $warm_runs warm run(s) of $n"
plan="$plan invocations; at the lower shares: $low_init_runs, $low_cold_runs and 1 of $n (the baseline's warm runs"
plan="$plan there: N x share, at least 50; and one warm run at every share, as its cost per invocation does"
plan="$plan not change from the first to the last invocation nor from run to run)"
[ "${BENCH_BASELINE_FULL:-0}" != 1 ] || plan="$plan; BENCH_BASELINE_FULL=1: the baseline ran like ours"
# The facts of this run, kept next to its results so that bench/report.sh can render them again.
{
    for kv in "BENCH_NCPU=$ncpu" "BENCH_STALE=$layer_stale" "BENCH_PLAN=$plan" "BENCH_CMD=$cmd" \
        "BENCH_SECONDS=$(((finished - started) / 1000000))" "BENCH_N=$n" "BENCH_MODE=$mode" "BENCH_CG=$CG_WHY" \
        "BENCH_PERIOD=$CG_PERIOD" "BENCH_FAILURES=$failures" "BENCH_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')" \
        "BENCH_COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo '?')" "BENCH_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)" \
        "BENCH_DIRTY=$(git diff --quiet HEAD -- Bootstrap.java bootstrap layer scripts 2>/dev/null && echo 0 || echo 1)"; do
        printf '%s\n' "$kv"
    done
} > "$out/run.env"
bench/report.sh "$out" "$doc"
say "report: $doc (runs and raw records under $out)"
[ "$failures" -eq 0 ] || die "$failures run(s) failed"
