#!/bin/sh
# bench/run.sh: the benchmark behind `make bench` (issue 5). Runs java-shell-runtime (from the built layer,
# /opt/bootstrap through its shebang, in scripts/sandbox.sh) and the sh + curl baseline (bench/baseline,
# in the same sandbox) side by side against the fake Runtime API, at CPU shares of one core set by a cgroup
# quota, and writes a report with a table and a gnuplot chart.
#
# Environment (all optional):
#   BENCH_QUICK=1         tiny run to check that the benchmark works; writes build/bench/quick/, never docs/
#   BENCH_OUT=DIR         where runs and the report go (default build/bench/full or build/bench/quick)
#   BENCH_DOC=FILE        the report (default docs/benchmarks.md; BENCH_OUT/benchmarks.md when quick)
#   BENCH_SHARES="..."    CPU shares in percent of one core (default "100 28.9 7.2")
#   BENCH_INVOCATIONS=N   invocations per warm run (default 500; quick 20)
#   BENCH_INIT_RUNS=N     runs per runtime and share with 0 invocations (init CPU)      default 3, quick 1
#   BENCH_COLD_RUNS=N     runs per runtime and share with 1 invocation (first invocation) default 3, quick 1
#   BENCH_WARM_RUNS=N     warm runs per runtime at 100% (1 at the lower shares)          default 3, quick 1
#   BENCH_BASELINE_FULL=1 the baseline runs N invocations at every share too (default: N x share, >= 50)
#   BENCH_RUNTIME=layer   how our runtime is started: layer (default: dist/*.zip in the sandbox) or source
#                         ($JAVA_HOME/bin/java --source 21 bootstrap, no sandbox, for development)
#   BENCH_RUNTIMES="java sh"  which runtimes to run (development)
#   BENCH_FAKE="CMD"      command that starts the fake Runtime API (default: spec/support/FakeRuntimeApi.java,
#                         compiled once into build/bench/fake)
#   BENCH_CFS_PERIOD_US, BENCH_CGROUP_V1_ROOT, BENCH_CGROUP2_ROOT: see bench/lib/cgroup.sh
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
# shellcheck source=bench/lib/cgroup.sh
. bench/lib/cgroup.sh

: "${JAVA_HOME:?JAVA_HOME must point to a JDK 25 (the Makefile sets it)}"
JAVA=$JAVA_HOME/bin/java
quick=${BENCH_QUICK:-0}
if [ "$quick" = 1 ]; then
    out=${BENCH_OUT:-build/bench/quick} doc=${BENCH_DOC:-$out/benchmarks.md}
    n=${BENCH_INVOCATIONS:-20} init_runs=${BENCH_INIT_RUNS:-1} cold_runs=${BENCH_COLD_RUNS:-1}
    warm_runs=${BENCH_WARM_RUNS:-1}
else
    out=${BENCH_OUT:-build/bench/full} doc=${BENCH_DOC:-docs/benchmarks.md}
    n=${BENCH_INVOCATIONS:-500} init_runs=${BENCH_INIT_RUNS:-3} cold_runs=${BENCH_COLD_RUNS:-3}
    warm_runs=${BENCH_WARM_RUNS:-3}
fi
shares=${BENCH_SHARES:-100 28.9 7.2}
mode=${BENCH_RUNTIME:-layer}
runtimes=${BENCH_RUNTIMES:-java sh}
run_limit=900 # seconds any one run may take before it is killed (bounded, never expected)

say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
now_us() { date +%s%6N; }

for tool in jq gnuplot curl timeout unzip zip; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is needed (Debian: apt-get install $tool)"
done
case $n in '' | *[!0-9]*) die "BENCH_INVOCATIONS=$n is not a number" ;; esac
[ "$n" -ge 3 ] || die "BENCH_INVOCATIONS must be at least 3 (warm cycles need invocations 2..N)"

rm -rf "$out"
mkdir -p "$out/runs" "$out/layers"
started=$(now_us)

# --- the fake Runtime API -----------------------------------------------------------------------------
fake_src=spec/support/FakeRuntimeApi.java
if [ -n "${BENCH_FAKE:-}" ]; then
    fake_cmd=$BENCH_FAKE
else
    [ -f "$fake_src" ] || die "$fake_src is missing (the fake Runtime API the benchmark talks to)"
    fake_cls=build/bench/fake
    if [ ! -d "$fake_cls" ] || [ -n "$(find "$fake_src" -newer "$fake_cls" 2>/dev/null)" ]; then
        rm -rf "$fake_cls" && mkdir -p "$fake_cls"
        "$JAVA_HOME/bin/javac" --release 21 -d "$fake_cls" "$fake_src" || die "cannot compile $fake_src"
    fi
    fake_cmd="$JAVA -XX:TieredStopAtLevel=1 -cp $root/$fake_cls FakeRuntimeApi"
fi
printf '{"key1":"value1","key2":"value2","key3":"value3"}' > "$out/event.json"

# --- the two runtimes ---------------------------------------------------------------------------------
sandbox=''
layer_zip=''
case $mode in
layer)
    [ -x scripts/sandbox.sh ] || die "scripts/sandbox.sh is missing (BENCH_RUNTIME=source runs without the layer)"
    sandbox=scripts/sandbox.sh
    # shellcheck disable=SC2012 # names come from our own build
    layer_zip=$(ls -t dist/*.zip 2>/dev/null | head -n 1)
    [ -n "$layer_zip" ] || die "no dist/*.zip: run make layer first (make bench does)"
    mkdir -p "$out/layers/java"
    unzip -q "$layer_zip" -d "$out/layers/java"
    [ -x "$out/layers/java/bootstrap" ] || die "$layer_zip has no executable bootstrap at its root"
    ;;
source)
    [ -f bootstrap ] || die "no ./bootstrap: run make bootstrap"
    ;;
*) die "BENCH_RUNTIME=$mode: expected layer or source" ;;
esac
mkdir -p "$out/layers/sh"
cp bench/baseline/bootstrap "$out/layers/sh/bootstrap"
chmod 755 "$out/layers/sh/bootstrap"
(cd "$out/layers/sh" && zip -q -X ../sh.zip bootstrap)
[ -z "$layer_zip" ] || cp "$layer_zip" "$out/layers/java.zip"
chmod -R a+rX "$out/layers"

# The launcher: a tiny sh that reports its pid, waits until the driver has moved it into the cgroup, takes
# the start time and execs the runtime (so the runtime keeps its pid, and sandbox set-up is not counted).
# Without a cgroup it does not exec, so that `times` can report the CPU time of the runtime's whole tree.
# shellcheck disable=SC2016 # expanded by the launcher shell
launcher='d=$1; shift; echo $$ > "$d/pid"; read -r _ < "$d/go"; date +%s%6N > "$d/t0"
if [ -e "$d/noexec" ]; then "$@"; rc=$?; times > "$d/times"; exit $rc; fi
exec "$@"'

# start_runtime RT DIR PORT: starts the launcher in the background; sets lpid.
start_runtime() {
    _env_api=AWS_LAMBDA_RUNTIME_API=127.0.0.1:$3
    if [ -n "$sandbox" ]; then
        timeout -k 5 "$run_limit" "$sandbox" --layer "$out/layers/$1" --task bench/function --tmp "$2" \
            --env "$_env_api" --env _HANDLER=bench.handler -- /bin/sh -c "$launcher" launcher /tmp /opt/bootstrap \
            > "$2/stdout" 2> "$2/stderr" < /dev/null &
    elif [ "$1" = java ]; then
        # shellcheck disable=SC2046 # one flag per word, as in the shebang
        timeout -k 5 "$run_limit" env "$_env_api" _HANDLER=bench.handler LAMBDA_TASK_ROOT="$root/bench/function" \
            /bin/sh -c "$launcher" launcher "$2" "$JAVA" $(cat layer/jvm-flags) --source 21 "$root/bootstrap" \
            > "$2/stdout" 2> "$2/stderr" < /dev/null &
    else
        timeout -k 5 "$run_limit" env "$_env_api" _HANDLER=bench.handler LAMBDA_TASK_ROOT="$root/bench/function" \
            /bin/sh -c "$launcher" launcher "$2" "$root/bench/baseline/bootstrap" \
            > "$2/stdout" 2> "$2/stderr" < /dev/null &
    fi
    lpid=$!
}

# wait_file FILE SECONDS: bounded wait for FILE to exist and be non-empty.
wait_file() {
    _i=0 _max=$(($2 * 50))
    while [ ! -s "$1" ]; do
        _i=$((_i + 1))
        [ "$_i" -le "$_max" ] || return 1
        sleep 0.02
    done
}

# tree_pids PID: PID and its descendants (no cgroup), from /proc/PID/task/*/children.
tree_pids() {
    _todo=$1
    while [ -n "$_todo" ]; do
        # shellcheck disable=SC2086 # a list of pids
        set -- $_todo
        _p=$1; shift; _todo=$*
        echo "$_p"
        for _c in /proc/"$_p"/task/*/children; do
            [ -r "$_c" ] || continue
            read -r _kids < "$_c" 2>/dev/null || _kids=''
            [ -z "$_kids" ] || _todo="$_todo $_kids"
        done
    done
}

# sample_mem PID FILE: until the launcher exits, every 20 ms, the summed RSS of the runtime's process tree.
# Uses only shell builtins besides sleep, so the sampler itself disturbs little.
page_kib=$(($(getconf PAGESIZE) / 1024))
sample_mem() {
    _up_off=$(($(now_us) - $(awk '{ printf "%d", $1 * 1000000 }' /proc/uptime)))
    _k=0
    while kill -0 "$lpid" 2>/dev/null && [ "$_k" -lt $((run_limit * 50)) ]; do
        _k=$((_k + 1))
        read -r _up _ < /proc/uptime
        _sum=0 _np=0 _hwm=0
        if [ "$CG_MODE" != none ]; then
            _pids=''
            while read -r _p; do _pids="$_pids $_p"; done < "$CG_LIST"
        else
            _pids=$(tree_pids "$1")
        fi
        for _p in $_pids; do
            read -r _ _res _ < "/proc/$_p/statm" 2>/dev/null || continue
            _sum=$((_sum + _res * page_kib)) _np=$((_np + 1))
        done
        if [ -r "/proc/$1/status" ]; then
            while read -r _key _val _; do
                [ "$_key" = VmHWM: ] && { _hwm=$_val; break; }
            done < "/proc/$1/status" 2>/dev/null || :
        fi
        _cs=${_up#*.} && _cs=${_cs#0} # centiseconds, without a leading 0 (octal)
        _t=$((${_up%.*} * 1000000 + _cs * 10000 + _up_off))
        printf '{"t":%s,"rss":%s,"n":%s,"hwm":%s}\n' "$_t" "$_sum" "$_np" "$_hwm" >> "$2"
        sleep 0.02
    done
}

# run_one RT SHARE KIND REP COUNT: one run of one runtime; appends its metrics to results.jsonl.
run_one() {
    _rt=$1 _share=$2 _kind=$3 _rep=$4 _count=$5
    _d=$root/$out/runs/$_share/$_rt-$_kind-$_rep
    mkdir -p "$_d"
    chmod 1777 "$_d"
    mkfifo -m 666 "$_d/go"
    [ "$CG_MODE" != none ] || : > "$_d/noexec"
    # The fake runs outside the cgroup: only the runtime under test is limited and accounted.
    # shellcheck disable=SC2086 # fake_cmd is a command line
    timeout -k 5 "$run_limit" $fake_cmd --port-file "$_d/port" --event "$root/$out/event.json" \
        --count "$_count" --record "$_d/record.jsonl" --timeout "$run_limit" > "$_d/fake.out" 2>&1 < /dev/null &
    _fpid=$!
    wait_file "$_d/port" 60 || { kill "$_fpid" 2>/dev/null; die "the fake did not write $_d/port (see $_d/fake.out)"; }
    read -r _port < "$_d/port"
    start_runtime "$_rt" "$_d" "$_port"
    if ! wait_file "$_d/pid" 60; then
        kill "$lpid" "$_fpid" 2>/dev/null || :
        die "the launcher did not start (see $_d/stderr)"
    fi
    read -r _pid < "$_d/pid"
    if [ "$CG_MODE" != none ]; then
        for _f in $CG_PROCS; do echo "$_pid" > "$_f"; done
        _u0=$(cg_usage_us)
    fi
    # shellcheck disable=SC2016
    timeout 30 sh -c 'echo go > "$1"' release "$_d/go" || die "could not release the launcher"
    [ "$_kind" != mem ] || sample_mem "$_pid" "$_d/samples.jsonl"
    _rc=0
    wait "$lpid" || _rc=$?
    _cpu=null
    if [ "$CG_MODE" != none ]; then
        _cpu=$(($(cg_usage_us) - _u0))
        # Nothing may outlive the runtime: a leftover would be charged to the next run.
        _left=$(cg_pids)
        if [ -n "$_left" ]; then
            say "$_rt left processes behind ($(echo "$_left" | tr '\n' ' ')): killing them"
            # shellcheck disable=SC2086
            kill -9 $_left 2>/dev/null || :
        fi
    elif [ -s "$_d/times" ]; then
        _cpu=$(awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] } printf "%d", s * 1000000 }' "$_d/times")
    fi
    # The fake answers /next with 500 after COUNT invocations; give it a moment to finish, then stop it.
    _i=0
    while kill -0 "$_fpid" 2>/dev/null && [ "$_i" -lt 250 ]; do sleep 0.02; _i=$((_i + 1)); done
    kill "$_fpid" 2>/dev/null || :
    _frc=0
    wait "$_fpid" 2>/dev/null || _frc=$?
    [ -f "$_d/samples.jsonl" ] || : > "$_d/samples.jsonl"
    [ -f "$_d/record.jsonl" ] || : > "$_d/record.jsonl"
    [ -s "$_d/t0" ] || echo 0 > "$_d/t0"
    read -r _t0 < "$_d/t0"
    jq -c -s --arg t0 "$_t0" --arg count "$_count" --slurpfile samples "$_d/samples.jsonl" \
        --argjson meta "{\"runtime\":\"$_rt\",\"share\":$_share,\"kind\":\"$_kind\",\"rep\":$_rep,\"cpu_us\":$_cpu,\"rc\":$_rc,\"fake_rc\":$_frc}" \
        -f bench/lib/metrics.jq "$_d/record.jsonl" > "$_d/metrics.json"
    cat "$_d/metrics.json" >> "$out/results.jsonl"
    if [ "$(jq -r .ok "$_d/metrics.json")" != true ]; then
        say "$_rt $_kind run at $_share% did not complete its $_count invocations (exit $_rc, fake exit $_frc; see $_d/stderr and $_d/fake.out)"
        return 1
    fi
    say "$(jq -r '"\(.runtime) \(.kind)#\(.rep) at \(.share)%: init \(.init_us / 1000 | floor) ms, first \(if .first_us then (.first_us / 1000 * 10 | floor / 10 | tostring) + " ms" else "-" end), warm \(if .warm then (.warm.mean_us / 1000 * 100 | floor / 100 | tostring) + " ms/inv" else "-" end), CPU \(if .cpu_us then (.cpu_us / 1000 | floor | tostring) + " ms" else "?" end)"' "$_d/metrics.json")"
}

# warm_count RT SHARE: invocations of a warm run. The baseline's cost per invocation is the same from the
# first to the last (no JIT), and at low shares each one takes a large part of a second, so below 100% it
# runs N x share, at least 50 (BENCH_BASELINE_FULL=1: always N). Ours always runs N.
warm_count() {
    if [ "$1" = sh ] && [ "$2" != 100 ] && [ "${BENCH_BASELINE_FULL:-0}" != 1 ]; then
        awk -v n="$n" -v s="$2" 'BEGIN { c = int(n * s / 100 + 0.5); if (c < 50) c = 50; if (c > n) c = n; print c }'
    else
        echo "$n"
    fi
}

# --- the runs -----------------------------------------------------------------------------------------
failures=0
: > "$out/results.jsonl"
if cg_detect; then
    say "$CG_WHY"
    cg_create "jsr-bench-$$"
    trap 'cg_destroy' EXIT
else
    say "$CG_WHY"
    only_full=''
    for s in $shares; do [ "$s" = 100 ] && only_full=100; done
    shares=$only_full
    [ -n "$shares" ] || die "no cgroup CPU quota available and 100 is not among BENCH_SHARES: nothing to run"
fi
[ "$CG_MODE" = none ] || cg_set_share 100
say "warming the page cache (runs not counted)"
for rt in $runtimes; do
    run_one "$rt" 100 warmup 1 1 || failures=$((failures + 1))
done
sed -i '/"kind":"warmup"/d' "$out/results.jsonl"

for share in $shares; do
    [ "$CG_MODE" = none ] || cg_set_share "$share"
    w=1
    [ "$share" != 100 ] || w=$warm_runs
    say "CPU share $share% of one core: $init_runs init, $cold_runs cold and $w warm runs of $n invocations per runtime"
    i=1
    while [ "$i" -le "$init_runs" ] || [ "$i" -le "$cold_runs" ] || [ "$i" -le "$w" ]; do
        for rt in $runtimes; do # interleaved, so that both see the same machine
            [ "$i" -gt "$init_runs" ] || run_one "$rt" "$share" init "$i" 0 || failures=$((failures + 1))
            [ "$i" -gt "$cold_runs" ] || run_one "$rt" "$share" cold "$i" 1 || failures=$((failures + 1))
            [ "$i" -gt "$w" ] || run_one "$rt" "$share" warm "$i" "$(warm_count "$rt" "$share")" || failures=$((failures + 1))
        done
        i=$((i + 1))
    done
done
# Memory: one sampled run per runtime at a full core (the share changes timing, not memory).
[ "$CG_MODE" = none ] || cg_set_share 100
for rt in $runtimes; do
    run_one "$rt" 100 mem 1 "$n" || failures=$((failures + 1))
done

# --- the report ---------------------------------------------------------------------------------------
sizes() { # ZIP -> "unzipped zipped" bytes
    printf '%s %s\n' "$(unzip -l "$1" | awk 'END { print $1 }')" "$(wc -c < "$1")"
}
{
    printf '{"java":'
    if [ -n "$layer_zip" ]; then
        # shellcheck disable=SC2046 # two numbers
        set -- $(sizes "$layer_zip")
        jre=$(unzip -l "$layer_zip" | awk '$4 ~ /^jre\// && $4 !~ /\.(aot|jsa)$/ { s += $1 } END { print s + 0 }')
        aot=$(unzip -l "$layer_zip" | awk '$4 ~ /\.(aot|jsa)$/ { s += $1 } END { print s + 0 }')
        printf '{"zip":"%s","unzipped":%s,"zipped":%s,"jre":%s,"aot":%s}' "$layer_zip" "$1" "$2" "$jre" "$aot"
    else
        printf 'null'
    fi
    # shellcheck disable=SC2046 # two numbers
    set -- $(sizes "$out/layers/sh.zip")
    printf ',"sh":{"zip":"bench/baseline/bootstrap","unzipped":%s,"zipped":%s}}\n' "$1" "$2"
} > "$out/sizes.json"

finished=$(now_us)
cmd="make bench"
[ "$quick" != 1 ] || cmd="BENCH_QUICK=1 make bench"
for v in BENCH_SHARES BENCH_INVOCATIONS BENCH_INIT_RUNS BENCH_COLD_RUNS BENCH_WARM_RUNS BENCH_RUNTIME; do
    eval "val=\${$v:-}"
    # shellcheck disable=SC2154 # set by the eval
    [ -z "$val" ] || cmd="$v='$val' $cmd"
done
BENCH_CMD=$cmd BENCH_SECONDS=$(((finished - started) / 1000000)) BENCH_N=$n BENCH_MODE=$mode \
    BENCH_CG="$CG_WHY" BENCH_PERIOD=$CG_PERIOD BENCH_FAILURES=$failures \
    bench/report.sh "$out" "$doc"
say "report: $doc (runs and raw records under $out)"
[ "$failures" -eq 0 ] || die "$failures run(s) failed"
