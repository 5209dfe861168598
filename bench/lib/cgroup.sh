# shellcheck shell=sh disable=SC2034
# CPU-quota cgroup helpers for bench/run.sh (sourced). cgroup v1 (cpu + cpuacct controllers) or v2 (cpu.max).
# One cgroup per benchmark run; a share is a CFS quota as a percentage of ONE core.
#   cg_detect               sets CG_MODE to v1, v2 or none, and CG_WHY to a sentence explaining it
#   cg_create NAME          creates the cgroup(s); sets CG_PROCS (files a pid must be written to) and CG_LIST
#   cg_set_share PCT        100 = one full core, 28.9 = 512 MB Lambda, 7.2 = 128 MB Lambda; none = no quota
#   cg_set_memory MB        memory limit (as Lambda's function memory; the JVM sizes its heap from it); none
#                           CG_MEMORY is empty when no memory controller is writable (then no limit is set)
#   cg_usage_us             cumulative CPU time of everything that ever ran in the group, microseconds
#   cg_pids                 pids currently in the group, one per line
#   cg_destroy              removes the group (it must be empty)
# Overrides: BENCH_CGROUP_V1_ROOT (default /sys/fs/cgroup), BENCH_CGROUP2_ROOT (default: /sys/fs/cgroup when it
# is a cgroup2 mount with the cpu controller), BENCH_CFS_PERIOD_US (default 100000, the kernel's and Docker's).

CG_V1_ROOT=${BENCH_CGROUP_V1_ROOT:-/sys/fs/cgroup}
CG_PERIOD=${BENCH_CFS_PERIOD_US:-100000}
CG_MODE=none CG_WHY='' CG_CPU='' CG_ACCT='' CG_PROCS='' CG_LIST='' CG_MEMORY='' CG_MEM=''

_cg_writable_dir() { # can we create a child cgroup here?
    [ -d "$1" ] || return 1
    _p=$1/jsr-bench-probe-$$
    mkdir "$_p" 2>/dev/null || return 1
    rmdir "$_p"
}

cg_detect() {
    # v1: a cpu hierarchy with CFS quota, and a cpuacct one (often the same mount, "cpu,cpuacct").
    _cpu='' _acct=''
    for d in "$CG_V1_ROOT/cpu" "$CG_V1_ROOT/cpu,cpuacct"; do
        [ -f "$d/cpu.cfs_quota_us" ] && { _cpu=$d; break; }
    done
    for d in "$CG_V1_ROOT/cpuacct" "$CG_V1_ROOT/cpu,cpuacct" "$CG_V1_ROOT/cpu"; do
        [ -f "$d/cpuacct.usage" ] && { _acct=$d; break; }
    done
    if [ -n "$_cpu" ] && [ -n "$_acct" ] && _cg_writable_dir "$_cpu" && _cg_writable_dir "$_acct"; then
        CG_MODE=v1 CG_WHY="cgroup v1: CFS quota in $_cpu, CPU time from $_acct"
        _mem=$CG_V1_ROOT/memory
        if [ -f "$_mem/memory.limit_in_bytes" ] && _cg_writable_dir "$_mem"; then
            CG_MEMORY=$_mem CG_WHY="$CG_WHY, memory limit in $_mem"
        else
            CG_WHY="$CG_WHY, no memory limit ($_mem not writable)"
        fi
        return 0
    fi
    # v2: a cgroup2 mount whose root offers the cpu controller to its children.
    _v2=${BENCH_CGROUP2_ROOT:-$CG_V1_ROOT}
    if [ -f "$_v2/cgroup.controllers" ] && grep -qw cpu "$_v2/cgroup.controllers" 2>/dev/null; then
        grep -qw cpu "$_v2/cgroup.subtree_control" 2>/dev/null ||
            echo +cpu > "$_v2/cgroup.subtree_control" 2>/dev/null || :
        if grep -qw cpu "$_v2/cgroup.subtree_control" 2>/dev/null && _cg_writable_dir "$_v2"; then
            CG_MODE=v2 CG_WHY="cgroup v2: cpu.max and cpu.stat under $_v2"
            CG_V2_ROOT=$_v2
            grep -qw memory "$_v2/cgroup.subtree_control" 2>/dev/null ||
                echo +memory > "$_v2/cgroup.subtree_control" 2>/dev/null || :
            if grep -qw memory "$_v2/cgroup.subtree_control" 2>/dev/null; then
                CG_MEMORY=$_v2 CG_WHY="$CG_WHY, memory.max"
            else
                CG_WHY="$CG_WHY, no memory limit (memory controller not enabled)"
            fi
            return 0
        fi
    fi
    CG_MODE=none
    CG_WHY="no writable cgroup with a CPU quota (v1 $CG_V1_ROOT/cpu not writable, no v2 cpu controller at $_v2): CPU shares below 100% are skipped, CPU time comes from the shell's times (10 ms ticks)"
    return 1
}

cg_create() {
    case $CG_MODE in
    v1)
        CG_CPU=$_cpu/$1 CG_ACCT=$_acct/$1
        mkdir -p "$CG_CPU" "$CG_ACCT"
        CG_PROCS="$CG_CPU/cgroup.procs"
        [ "$CG_ACCT" = "$CG_CPU" ] || CG_PROCS="$CG_PROCS $CG_ACCT/cgroup.procs"
        CG_LIST=$CG_ACCT/cgroup.procs
        if [ -n "$CG_MEMORY" ]; then
            CG_MEM=$CG_MEMORY/$1
            mkdir -p "$CG_MEM"
            CG_PROCS="$CG_PROCS $CG_MEM/cgroup.procs"
        fi
        ;;
    v2)
        CG_CPU=$CG_V2_ROOT/$1 CG_ACCT=$CG_CPU
        mkdir -p "$CG_CPU"
        CG_PROCS=$CG_CPU/cgroup.procs CG_LIST=$CG_PROCS
        [ -z "$CG_MEMORY" ] || CG_MEM=$CG_CPU
        ;;
    *) return 1 ;;
    esac
}

cg_set_share() {
    case $1 in
    none | unlimited) _q=-1 ;;
    *) _q=$(awk -v p="$1" -v per="$CG_PERIOD" 'BEGIN { printf "%d", p * per / 100 + 0.5 }') ;;
    esac
    case $CG_MODE in
    v1)
        echo "$CG_PERIOD" > "$CG_CPU/cpu.cfs_period_us"
        echo "$_q" > "$CG_CPU/cpu.cfs_quota_us"
        ;;
    v2)
        if [ "$_q" = -1 ]; then echo "max $CG_PERIOD" > "$CG_CPU/cpu.max"
        else echo "$_q $CG_PERIOD" > "$CG_CPU/cpu.max"; fi
        ;;
    esac
}

cg_set_memory() {
    [ -n "$CG_MEM" ] || return 0
    case $CG_MODE in
    v1)
        # Pages charged by earlier runs stay charged to the group; drop them so a lower limit can be set.
        echo 0 > "$CG_MEM/memory.force_empty" 2>/dev/null || :
        if [ "$1" = none ]; then echo -1 > "$CG_MEM/memory.limit_in_bytes"
        else echo $(($1 * 1048576)) > "$CG_MEM/memory.limit_in_bytes"; fi
        ;;
    v2)
        if [ "$1" = none ]; then echo max > "$CG_MEM/memory.max"
        else echo $(($1 * 1048576)) > "$CG_MEM/memory.max"; fi
        ;;
    esac
}

# cg_oom_kills: how many processes of the group the kernel killed for memory so far (0 if unknown).
cg_oom_kills() {
    [ -n "$CG_MEM" ] || { echo 0; return 0; }
    _f=$CG_MEM/memory.oom_control
    [ "$CG_MODE" = v1 ] || _f=$CG_MEM/memory.events
    while read -r _k _v; do [ "$_k" = oom_kill ] && { echo "$_v"; return 0; }; done < "$_f" 2>/dev/null || :
    echo 0
}

cg_usage_us() {
    case $CG_MODE in
    v1) read -r _ns < "$CG_ACCT/cpuacct.usage" && echo $((_ns / 1000)) ;;
    v2) while read -r _k _v; do [ "$_k" = usage_usec ] && echo "$_v" && return 0; done < "$CG_CPU/cpu.stat" ;;
    esac
}

cg_pids() { cat "$CG_LIST"; }

cg_destroy() {
    [ -n "$CG_CPU" ] || return 0
    rmdir "$CG_CPU" 2>/dev/null || :
    [ "$CG_ACCT" = "$CG_CPU" ] || rmdir "$CG_ACCT" 2>/dev/null || :
    [ -z "$CG_MEM" ] || [ "$CG_MEM" = "$CG_CPU" ] || rmdir "$CG_MEM" 2>/dev/null || :
    CG_CPU='' CG_ACCT='' CG_MEM=''
}
