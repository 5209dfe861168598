# shellcheck shell=sh disable=SC2154 # root, run_limit, out, JAVA: set by the script that sources this
# Running one runtime once against the fake Runtime API, measured (sourced by bench/run.sh and
# bench/coldstart.sh, after bench/lib/cgroup.sh and cg_detect/cg_create).
#
#   harness_init OUT          compiles the fake once, writes OUT/event.json; runs go under OUT/runs
#   rt_layer NAME DIR         runtime NAME = DIR mounted at /opt in scripts/sandbox.sh, started as /opt/bootstrap
#   rt_host NAME CMD...       runtime NAME = CMD run on the host (LAMBDA_TASK_ROOT=bench/function)
#   run_one RT SHARE KIND REP COUNT
#                             one run; COUNT invocations (0: the first /next is refused; "none": no fake,
#                             for programs that do not talk to the API); KIND mem (and warm when
#                             sample_warm=1) samples RSS. memory_mb (if set) is recorded as the limit.
#                             Appends one JSON object (bench/lib/metrics.jq) to OUT/results.jsonl;
#                             returns 1 when the run did not do what was expected.
# Needs: root (the repository), say, die, now_us, JAVA, run_limit.

harness_init() {
    out=$1
    mkdir -p "$out/runs"
    : > "$out/results.jsonl"
    fake_src=spec/support/FakeRuntimeApi.java
    if [ -n "${BENCH_FAKE:-}" ]; then
        fake_cmd=$BENCH_FAKE
    else
        [ -f "$fake_src" ] || die "$fake_src is missing (the fake Runtime API the benchmark talks to)"
        # Compiled once per version of the source, into a directory named by its hash; several benchmark runs
        # (make test runs one too) may share the work tree, so the directory appears atomically.
        fake_cls=build/bench/fake-$(sha256sum "$fake_src" | cut -c1-16)
        if [ ! -f "$fake_cls/FakeRuntimeApi.class" ]; then
            mkdir -p build/bench
            _tmp=$(mktemp -d build/bench/fake.tmp.XXXXXX)
            "$JAVA_HOME/bin/javac" --release 21 -d "$_tmp" "$fake_src" || die "cannot compile $fake_src"
            mv -T "$_tmp" "$fake_cls" 2>/dev/null || rm -rf "$_tmp" # another run was first
        fi
        # The fake runs outside the CPU limit; C1 only, so that it needs little CPU to get fast.
        fake_cmd="$JAVA -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp $root/$fake_cls FakeRuntimeApi"
    fi
    printf '{"key1":"value1","key2":"value2","key3":"value3"}' > "$out/event.json"
}

rt_layer() { eval "RT_$1_layer=\$2 RT_$1_cmd="; }
rt_host() {
    _n=$1; shift
    _q=''
    for _a in "$@"; do _q="$_q '$(printf '%s' "$_a" | sed "s/'/'\\\\''/g")'"; done
    eval "RT_${_n}_layer= RT_${_n}_cmd=\$_q"
}

# The launcher: a tiny sh that reports its pid, waits until the driver has moved it into the cgroup, takes
# the start time and execs the runtime (so the runtime keeps its pid, and sandbox set-up is not counted).
# Without a cgroup it does not exec, so that `times` can report the CPU time of the runtime's whole tree.
# shellcheck disable=SC2016 # expanded by the launcher shell
launcher='d=$1; shift; echo $$ > "$d/pid"; read -r _ < "$d/go"; date +%s%6N > "$d/t0"
if [ -e "$d/noexec" ]; then "$@"; rc=$?; times > "$d/times"; exit $rc; fi
exec "$@"'

# start_runtime RT DIR PORT: starts the launcher in the background; sets lpid.
start_runtime() {
    _env_api=AWS_LAMBDA_RUNTIME_API=127.0.0.1:$3 _dir=$2
    eval "_layer=\${RT_$1_layer-} _cmd=\${RT_$1_cmd-}"
    if [ -n "$_layer" ]; then
        timeout -k 5 "$run_limit" scripts/sandbox.sh --layer "$_layer" --task bench/function --tmp "$_dir" \
            --env "$_env_api" --env _HANDLER=bench.handler -- /bin/sh -c "$launcher" launcher /tmp /opt/bootstrap \
            > "$_dir/stdout" 2> "$_dir/stderr" < /dev/null &
    elif [ -n "$_cmd" ]; then
        eval "set -- $_cmd"
        timeout -k 5 "$run_limit" env "$_env_api" _HANDLER=bench.handler LAMBDA_TASK_ROOT="$root/bench/function" \
            /bin/sh -c "$launcher" launcher "$_dir" "$@" > "$_dir/stdout" 2> "$_dir/stderr" < /dev/null &
    else
        die "no runtime called $1"
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
            _kids=''
            read -r _kids 2>/dev/null < "$_c" || : # no newline at its end: read fails but fills _kids
            [ -z "$_kids" ] || _todo="$_todo $_kids"
        done
    done
}

# host_pid ROOT NSPID: the process under ROOT whose pid in its own (innermost) pid namespace is NSPID.
host_pid() {
    for _hp in $(tree_pids "$1"); do
        _ns=''
        while read -r _key _val; do
            [ "$_key" = NSpid: ] && { _ns=$_val; break; }
        done 2>/dev/null < "/proc/$_hp/status" || :
        [ -n "$_ns" ] || continue
        [ "${_ns##*[!0-9]}" = "$2" ] || continue
        echo "$_hp"
        return 0
    done
}

# uptime_us: /proc/uptime in microseconds (10 ms resolution), with builtins only.
uptime_us() {
    read -r _up _ < /proc/uptime
    _cs=${_up#*.} && _cs=${_cs#0} # centiseconds, without a leading 0 (octal)
    echo $((${_up%.*} * 1000000 + _cs * 10000))
}

# sample_mem PID FILE: until the launcher exits, every 20 ms, the summed RSS of the runtime's process tree
# and the largest VmHWM (peak RSS) of any one of its processes. Uses only shell builtins besides sleep, so the
# sampler itself disturbs little. Times are epoch microseconds, from /proc/uptime plus an offset.
page_kib=$(($(getconf PAGESIZE) / 1024))
sample_mem() {
    _up_off=$(($(now_us) - $(uptime_us)))
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
            read -r _ _res _ 2>/dev/null < "/proc/$_p/statm" || continue
            _sum=$((_sum + _res * page_kib)) _np=$((_np + 1))
            while read -r _key _val _; do
                [ "$_key" = VmHWM: ] && { [ "$_val" -le "$_hwm" ] || _hwm=$_val; break; }
            done 2>/dev/null < "/proc/$_p/status" || :
        done
        _cs=${_up#*.} && _cs=${_cs#0}
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
    _fpid='' _port=1
    if [ "$_count" != none ]; then
        # The fake runs outside the cgroup: only the runtime under test is limited and accounted.
        # shellcheck disable=SC2086 # fake_cmd is a command line
        timeout -k 5 "$run_limit" $fake_cmd --port-file "$_d/port" --event "$root/$out/event.json" \
            --count "$_count" --record "$_d/record.jsonl" --timeout "$run_limit" > "$_d/fake.out" 2>&1 < /dev/null &
        _fpid=$!
        wait_file "$_d/port" 60 || { kill "$_fpid" 2>/dev/null; die "the fake did not write $_d/port (see $_d/fake.out)"; }
        read -r _port < "$_d/port"
    fi
    start_runtime "$_rt" "$_d" "$_port"
    if ! wait_file "$_d/pid" 60; then
        kill "$lpid" ${_fpid:+"$_fpid"} 2>/dev/null || :
        die "the launcher did not start (see $_d/stderr)"
    fi
    read -r _nspid < "$_d/pid"
    # In the sandbox the launcher sees its pid in bwrap's pid namespace; find its host pid under ours.
    _pid=$(host_pid "$lpid" "$_nspid")
    if [ -z "$_pid" ]; then
        kill "$lpid" ${_fpid:+"$_fpid"} 2>/dev/null || :
        die "cannot find the launcher (pid $_nspid in its namespace) among the processes of $lpid"
    fi
    _oom0=0
    if [ "$CG_MODE" != none ]; then
        for _f in $CG_PROCS; do echo "$_pid" > "$_f"; done
        _u0=$(cg_usage_us)
        _oom0=$(cg_oom_kills)
    fi
    # shellcheck disable=SC2016
    timeout 30 sh -c 'echo go > "$1"' release "$_d/go" || die "could not release the launcher"
    if [ "$_kind" = mem ] || { [ "$_kind" = warm ] && [ "${sample_warm:-0}" = 1 ]; }; then
        sample_mem "$_pid" "$_d/samples.jsonl"
    fi
    _rc=0
    wait "$lpid" || _rc=$?
    _t_exit=$(now_us)
    _cpu=null _oom=0
    if [ "$CG_MODE" != none ]; then
        _cpu=$(($(cg_usage_us) - _u0))
        _oom=$(($(cg_oom_kills) - _oom0))
        [ "$_oom" -eq 0 ] || say "$_rt $_kind run at $_share%: the kernel killed $_oom process(es) for exceeding the memory limit"
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
    _frc=0
    if [ -n "$_fpid" ]; then
        _i=0
        while kill -0 "$_fpid" 2>/dev/null && [ "$_i" -lt 250 ]; do sleep 0.02; _i=$((_i + 1)); done
        kill "$_fpid" 2>/dev/null || :
        wait "$_fpid" 2>/dev/null || _frc=$?
    fi
    [ -f "$_d/samples.jsonl" ] || : > "$_d/samples.jsonl"
    [ -f "$_d/record.jsonl" ] || : > "$_d/record.jsonl"
    [ -s "$_d/t0" ] || echo 0 > "$_d/t0"
    read -r _t0 < "$_d/t0"
    jq -c -s --arg t0 "$_t0" --arg count "$_count" --slurpfile samples "$_d/samples.jsonl" \
        --argjson meta "{\"runtime\":\"$_rt\",\"share\":$_share,\"kind\":\"$_kind\",\"rep\":$_rep,\"cpu_us\":$_cpu,\"rc\":$_rc,\"fake_rc\":$_frc,\"oom_kills\":$_oom,\"memory_mb\":${memory_mb:-null},\"exit_us\":$((_t_exit - _t0))}" \
        -f bench/lib/metrics.jq "$_d/record.jsonl" > "$_d/metrics.json"
    cat "$_d/metrics.json" >> "$out/results.jsonl"
    if [ "$(jq -r .ok "$_d/metrics.json")" != true ]; then
        say "$_rt $_kind run at $_share% did not complete its $_count invocations (exit $_rc, fake exit $_frc; see $_d/stderr and $_d/fake.out)"
        return 1
    fi
    say "$(jq -r 'def ms: if . == null then "-" else (. / 100 | floor) / 10 | tostring end;
        "\(.runtime) \(.kind)#\(.rep) at \(.share)%: init \(.init_us | ms) ms, first \(.first_us | ms) ms, warm \(.warm.mean_us | ms) ms/inv, CPU \(.cpu_us | ms) ms, exit after \(.exit_us | ms) ms"' "$_d/metrics.json")"
}

