#!/bin/sh
# shellcheck disable=SC2317 # functions called only from traps look unreachable to shellcheck
# sandbox.sh: run a command the way Lambda runs a provided.al2023 runtime, using bubblewrap (bwrap).
#
# Usage:
#   scripts/sandbox.sh [--layer DIR] [--task DIR] [--env NAME=VALUE]... [--uid N] [--gid N]
#                      [--tmp DIR] [--ro-bind SRC DEST]... [--hide PATH]... [--cwd DIR] -- COMMAND [ARG]...
#
#   --layer DIR        mounted read-only at /opt (the unzipped layer); default: an empty /opt
#   --task DIR         mounted read-only at /var/task (the unzipped function); default: an empty /var/task
#   --env NAME=VALUE   set or override one environment variable (repeatable; later wins)
#   --uid N, --gid N   identity of COMMAND (default 993:993, Lambda's sbx_user1051); must not be 0
#   --tmp DIR          use the host directory DIR (writable) as /tmp instead of a private 512 MiB tmpfs,
#                      for callers that want to look at what the function left there
#   --ro-bind SRC DEST extra read-only mount (repeatable), e.g. --ro-bind build/runtime /var/runtime
#   --hide PATH        make a host file or directory invisible inside (repeatable): the root is this machine's,
#                      not Amazon Linux's, so e.g. --hide /usr/bin/jq makes the layer's /opt/bin/jq the one
#                      found on PATH, as on Lambda (where the OS has no jq)
#   --cwd DIR          working directory inside the sandbox (default /var/task, as on Lambda)
#   --help             print this text
#
# What the sandbox looks like:
#   - the host's root file system read-only, with /var replaced by a read-only tmpfs holding only
#     /var/task and /var/runtime (so nothing of the host's /var leaks in), the layer at /opt,
#     a private /tmp (mode 1777), and fresh /proc and /dev;
#   - a non-root uid/gid with no capabilities and no_new_privs; files owned by root appear with their
#     real modes, so a layer file that is not world-readable fails here as it would on Lambda;
#   - the host network (127.0.0.1 reaches a fake Runtime API started outside the sandbox);
#   - a clean Lambda-like environment: PATH, LD_LIBRARY_PATH, LAMBDA_TASK_ROOT, LAMBDA_RUNTIME_DIR, TZ,
#     LANG, AWS_REGION, AWS_DEFAULT_REGION, AWS_LAMBDA_FUNCTION_NAME/VERSION/MEMORY_SIZE, log group/stream,
#     AWS_LAMBDA_INITIALIZATION_TYPE; nothing else from the caller's environment. Set
#     AWS_LAMBDA_RUNTIME_API and _HANDLER with --env.
#
# Exec semantics: stdin, stdout and stderr are COMMAND's. The exit status is COMMAND's (128+N when it was
# killed by signal N, as a shell reports it). HUP, INT, QUIT, TERM, USR1 and USR2 sent to this script are
# forwarded to COMMAND (COMMAND runs in its own session, so a terminal's Ctrl-C reaches it once, through
# this script). When this script dies (even by SIGKILL) COMMAND is killed too (bwrap --die-with-parent).
#
# Exit status 125 means the sandbox itself could not be set up (usage error, bwrap missing, bad directory).
#
# How: bwrap always runs unprivileged, in new user, pid and ipc namespaces; the user namespace maps --uid and
# --gid onto the same host ids, so files owned by anyone else (root, the caller) are seen through their
# "other" permission bits, as on Lambda. When the caller is root, setpriv (util-linux) first drops to
# --uid/--gid. This needs unprivileged user namespaces (Debian: on by default; Ubuntu 24.04: run
# `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0` first) and the --layer/--task directories and
# their parents must be searchable by --uid. When the caller is not root, bwrap maps --uid onto the caller's
# own uid instead (files the caller owns then look owned by --uid and their owner bits apply).
# Processes the command leaves behind die with the sandbox (pid namespace).
set -eu

me=sandbox.sh
die() { printf '%s: %s\n' "$me" "$*" >&2; exit 125; }
usage() { sed -n '3,/^set -eu/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

# q WORD: WORD quoted for eval.
q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

layer='' task='' tmpdir='' cwd=/var/task uid=993 gid=993
envargs='' bindargs='' hideargs=''
while [ $# -gt 0 ]; do
    case $1 in
        --layer) [ $# -ge 2 ] || die "--layer needs a directory"; layer=$2; shift 2 ;;
        --task) [ $# -ge 2 ] || die "--task needs a directory"; task=$2; shift 2 ;;
        --tmp) [ $# -ge 2 ] || die "--tmp needs a directory"; tmpdir=$2; shift 2 ;;
        --cwd) [ $# -ge 2 ] || die "--cwd needs a directory"; cwd=$2; shift 2 ;;
        --uid) [ $# -ge 2 ] || die "--uid needs a number"; uid=$2; shift 2 ;;
        --gid) [ $# -ge 2 ] || die "--gid needs a number"; gid=$2; shift 2 ;;
        --env)
            [ $# -ge 2 ] || die "--env needs NAME=VALUE"
            case $2 in
                *=*) ;;
                *) die "--env $2: expected NAME=VALUE" ;;
            esac
            name=${2%%=*} value=${2#*=}
            case $name in
                '' | [0-9]* | *[!A-Za-z0-9_]*) die "--env $2: '$name' is not a valid variable name" ;;
            esac
            envargs="$envargs --setenv $(q "$name") $(q "$value")"
            shift 2 ;;
        --ro-bind)
            [ $# -ge 3 ] || die "--ro-bind needs SRC and DEST"
            [ -e "$2" ] || die "--ro-bind $2: no such file or directory"
            bindargs="$bindargs --ro-bind $(q "$2") $(q "$3")"
            shift 3 ;;
        --hide)
            [ $# -ge 2 ] || die "--hide needs a path"
            case $2 in /*) ;; *) die "--hide $2: give an absolute path" ;; esac
            if [ -d "$2" ]; then
                hideargs="$hideargs --perms 0755 --tmpfs $(q "$2") --remount-ro $(q "$2")"
            elif [ -e "$2" ]; then
                hideargs="$hideargs --ro-bind /dev/null $(q "$2")"
            fi
            shift 2 ;;
        --help | -h) usage; exit 0 ;;
        --) shift; break ;;
        *) die "unknown option '$1' (see --help; put the command after --)" ;;
    esac
done
[ $# -gt 0 ] || die "no command given (usage: $me [OPTIONS] -- COMMAND [ARG]...)"
for n in "$uid" "$gid"; do
    case $n in '' | *[!0-9]*) die "--uid/--gid must be a number, got '$n'" ;; esac
done
[ "$uid" -ne 0 ] || die "--uid 0: Lambda never runs the runtime as root"
command -v bwrap >/dev/null 2>&1 ||
    die "bwrap not found: install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Amazon Linux/Fedora: dnf install bubblewrap)"
for d in "$layer" "$task" "$tmpdir"; do
    [ -z "$d" ] || [ -d "$d" ] || die "$d: not a directory"
done

# Mounts. Order matters: /var is a tmpfs so /var/task can be created in it, then it is made read-only.
mounts="--ro-bind / / --tmpfs /var --dir /var/runtime --dir /var/task"
[ -z "$task" ] || mounts="$mounts --ro-bind $(q "$task") /var/task"
mounts="$mounts --remount-ro /var"
if [ -n "$layer" ]; then
    mounts="$mounts --ro-bind $(q "$layer") /opt"
else
    mounts="$mounts --perms 0755 --tmpfs /opt --remount-ro /opt"
fi
if [ -n "$tmpdir" ]; then
    mounts="$mounts --bind $(q "$tmpdir") /tmp"
else
    mounts="$mounts --perms 1777 --size 536870912 --tmpfs /tmp"
fi
mounts="$mounts --proc /proc --dev /dev$bindargs$hideargs"

# The Lambda environment (docs/runtime-api.md); --env values come after, so they override.
fn=sandbox-function
lambdaenv="--clearenv"
for kv in \
    PATH=/usr/local/bin:/usr/bin/:/bin:/opt/bin \
    LD_LIBRARY_PATH=/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib \
    LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime TZ=:UTC LANG=en_US.UTF-8 \
    AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
    AWS_LAMBDA_FUNCTION_NAME=$fn "AWS_LAMBDA_FUNCTION_VERSION=\$LATEST" AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512 \
    AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/$fn "AWS_LAMBDA_LOG_STREAM_NAME=2025/01/01/[\$LATEST]0123456789abcdef" \
    AWS_LAMBDA_INITIALIZATION_TYPE=on-demand; do
    lambdaenv="$lambdaenv --setenv $(q "${kv%%=*}") $(q "${kv#*=}")"
done

# Signals: the bwrap monitor process ignores HUP/TERM (and, as part of an asynchronous list, INT/QUIT) so
# that a signal sent to our process group cannot kill it and take COMMAND down with SIGKILL; COMMAND gets
# the default dispositions back from env --default-signal (GNU coreutils >= 8.31) and receives the
# signals we forward.
sigreset="env --default-signal=HUP,INT,QUIT,TERM,USR1,USR2"
$sigreset true 2>/dev/null || die "needs GNU env with --default-signal (coreutils 8.31 or newer)"
# bwrap always runs unprivileged, in a user namespace that maps uid/gid onto themselves. As root we first
# become that uid with setpriv, so root-owned files are seen through their "other" permission bits.
drop=''
if [ "$(id -u)" -eq 0 ]; then
    command -v setpriv >/dev/null 2>&1 || die "setpriv (util-linux) not found: needed to drop root"
    drop="setpriv --reuid=$uid --regid=$gid --clear-groups --inh-caps=-all"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/sandbox.XXXXXX") || die "cannot create a temporary directory"
status="$work/status"
: >"$status"
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

eval "set -- $drop bwrap --unshare-user --uid $uid --gid $gid --unshare-pid --unshare-ipc --die-with-parent \
    --new-session $mounts --chdir $(q "$cwd") $lambdaenv $envargs --json-status-fd 3 -- $sigreset \"\$@\""

# bwrap reports the host pid of the sandbox's pid 1 (bwrap's reaper); COMMAND is its only child.
child_pid() { sed -n 's/.*"child-pid"[^0-9]*\([0-9][0-9]*\).*/\1/p' "$status" | head -n 1; }
command_pid() {
    init=$(child_pid)
    [ -n "$init" ] || return 0
    if [ -r "/proc/$init/task/$init/children" ]; then
        # shellcheck disable=SC2046 # split the pid list into words
        set -- $(cat "/proc/$init/task/$init/children")
        printf '%s\n' "${1:-}"
    else
        pgrep -P "$init" | head -n 1
    fi
}
exit_code() { sed -n 's/.*"exit-code"[^0-9]*\([0-9][0-9]*\).*/\1/p' "$status" | head -n 1; }
forward() {
    pid=$(command_pid)
    if [ -n "$pid" ]; then
        kill -s "$1" "$pid" 2>/dev/null || :
    else
        kill -s KILL "$bpid" 2>/dev/null || : # still setting up: stop everything
    fi
}

exec 4<&0 # an asynchronous list would otherwise get /dev/null as stdin
(
    trap '' HUP TERM
    exec "$@" 0<&4 4<&- 3>"$status"
) &
bpid=$!
exec 4<&-
for s in HUP INT QUIT TERM USR1 USR2; do
    # shellcheck disable=SC2064 # $s is meant to be expanded now
    trap "forward $s" "$s"
done

rc=0
wait "$bpid" || rc=$?
# A forwarded signal interrupts wait; wait again until bwrap has reported COMMAND's exit status.
while [ -z "$(exit_code)" ] && kill -0 "$bpid" 2>/dev/null; do
    rc=0
    wait "$bpid" || rc=$?
done
code=$(exit_code)
if [ -z "$(child_pid)" ]; then
    die "bwrap could not set up the sandbox (status $rc; its message is above)"
fi
exit "${code:-$rc}"
