#!/bin/sh
# invoke.sh: run a function locally, the way Lambda runs it, with this project's layer and without Docker.
#
# Usage:
#   scripts/invoke.sh --function DIR --handler HANDLER --event FILE [OPTION]...   one invoke; response on stdout
#   scripts/invoke.sh --function DIR --handler HANDLER --serve [OPTION]...        a warm function for curl
#
#   --function DIR     the function's code (what you would zip and upload), mounted at /var/task
#   --handler HANDLER  the handler setting, e.g. function.handler (function mode) or handler.sh (file mode)
#   --event FILE       invoke once with this event (- reads stdin); exit status 1 on a function error
#   --serve            answer POST http://127.0.0.1:PORT/2015-03-31/functions/function/invocations until Ctrl-C
#   --layer ZIP|DIR    the layer to run (default: $INVOKE_LAYER, else the newest zip `make layer` left in dist/
#                      for this machine's architecture)
#   --no-sandbox       run ./bootstrap with the host JDK instead of the layer in the sandbox (not Lambda-like:
#                      for machines without bubblewrap, or to try runtime changes without rebuilding the layer)
#   Every other option goes to the local Lambda: --timeout S, --memory MB, --port N, --env NAME=VALUE,
#   --function-name NAME, --region R, --trace-id V, --client-context BASE64, ... (see --help).
#
# The local Lambda prints START, END and REPORT lines and the function's logs on stderr. docs/local-invoke.md
# has the details. Needs JAVA_HOME (a JDK 25; scripts/find_jdk.sh finds one), bubblewrap and unzip.
set -eu

me=invoke
die() { printf '%s: %s\n' "$me" "$*" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)

function='' handler='' layer=${INVOKE_LAYER:-} sandbox=yes mode=''
# Options for LocalLambda, kept as positional parameters in a string-safe way: collect them in a file.
args=$(mktemp "${TMPDIR:-/tmp}/invoke-args.XXXXXX")
trap 'rm -f "$args"' EXIT
keep() { printf '%s\n' "$1" >>"$args"; }
while [ $# -gt 0 ]; do
    case $1 in
        --function) [ $# -ge 2 ] || die "--function needs a directory"; function=$2; shift 2 ;;
        --handler) [ $# -ge 2 ] || die "--handler needs a value"; handler=$2; shift 2 ;;
        --layer) [ $# -ge 2 ] || die "--layer needs a zip or a directory"; layer=$2; shift 2 ;;
        --no-sandbox) sandbox=no; shift ;;
        --serve) mode=serve; keep --serve; shift ;;
        --event) [ $# -ge 2 ] || die "--event needs a file"; mode=event; keep --event; keep "$2"; shift 2 ;;
        --help | -h) sed -n '2,/^set -eu/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        *)
            case $1 in *'
'*) die "arguments cannot contain line breaks" ;; esac
            keep "$1"; shift ;;
    esac
done
[ -n "$function" ] || die "--function DIR is required (e.g. --function examples/hello)"
[ -n "$handler" ] || die "--handler is required (e.g. --handler function.handler)"
[ -n "$mode" ] || die "give --event FILE (one invoke) or --serve"
[ -d "$function" ] || die "--function $function: not a directory"

JAVA_HOME=$("$root/scripts/find_jdk.sh") || die "no JDK 25 found: set JAVA_HOME to a JDK 25 home"
export JAVA_HOME

# The local Lambda, compiled once into build/local/classes (recompiled when its source changes).
src="$root/local/LocalLambda.java"
classes="$root/build/local/classes"
# newer A B: A was modified after B (find -newer: test -nt is not POSIX).
newer() { [ -n "$(find "$1" -prune -newer "$2" 2>/dev/null)" ]; }
if [ ! -f "$classes/LocalLambda.class" ] || newer "$src" "$classes/LocalLambda.class"; then
    mkdir -p "$root/build/local"
    tmp=$(mktemp -d "$root/build/local/classes.XXXXXX")
    "$JAVA_HOME/bin/javac" --release 21 -d "$tmp" "$src" || { rm -rf "$tmp"; die "cannot compile $src"; }
    rm -rf "$classes"
    mv "$tmp" "$classes"
fi

# Lambda's runtime user is not the files' owner: code it cannot read fails there, so say it here.
unreadable=$(find "$function" ! -perm -o=r -print 2>/dev/null | head -n 3)
[ -z "$unreadable" ] || printf '%s: warning: not readable by others, so not by the Lambda runtime user: %s\n' \
    "$me" "$(echo "$unreadable" | tr '\n' ' ')" >&2

# bwrap mounts the code as an unprivileged user would reach it: every directory above it must be searchable.
searchable() {
    p=$(cd "$1" && pwd)
    while [ "$p" != / ]; do
        p=$(dirname "$p")
        [ -n "$(find "$p" -maxdepth 0 -perm -o=x)" ] ||
            die "$1: its parent $p is not searchable by others, so the sandbox cannot mount it (chmod o+x $p)"
    done
}

if [ "$sandbox" = no ]; then
    [ -f "$root/bootstrap" ] || die "no ./bootstrap: run 'make bootstrap' first"
    set -- --task "$function" --handler "$handler"
    while IFS= read -r a; do set -- "$@" "$a"; done <"$args"
    set -- "$@" -- "$JAVA_HOME/bin/java" --source 21 "$root/bootstrap"
    rm -f "$args"
    exec "$JAVA_HOME/bin/java" -cp "$classes" LocalLambda "$@"
fi

command -v bwrap >/dev/null 2>&1 || die "bwrap (bubblewrap) is not installed, so the function cannot run in the
  Lambda-like sandbox (read-only root, /opt, /var/task, private /tmp, non-root user). Install it
  (Debian/Ubuntu: apt-get install bubblewrap; Fedora/Amazon Linux: dnf install bubblewrap), or pass
  --no-sandbox to run ./bootstrap with the host JDK (not what Lambda runs)."

# The layer: a directory as is, or a zip unpacked once under build/invoke/ (again when the zip changes).
if [ -z "$layer" ]; then
    case $(uname -m) in
        x86_64 | amd64) arch=x86_64 alt=amd64 ;;
        aarch64 | arm64) arch=arm64 alt=aarch64 ;;
        *) arch=$(uname -m) alt=$arch ;;
    esac
    # The newest zip for this architecture (a local and a publishable one may both be there).
    other=''
    for z in "$root"/dist/*.zip; do
        [ -f "$z" ] || continue
        case ${z##*/} in
            *"$arch"* | *"$alt"*) if [ -z "$layer" ] || newer "$z" "$layer"; then layer=$z; fi ;;
            *) [ -n "$other" ] || other=$z ;;
        esac
    done
    [ -n "$layer" ] || layer=$other
    [ -n "$layer" ] || die "no layer zip in dist/: run 'make layer' first (or pass --layer, or --no-sandbox)"
fi
if [ -f "$layer" ]; then
    name=$(basename "$layer" .zip)
    dir="$root/build/invoke/layer-$name"
    if [ ! -f "$dir.stamp" ] || newer "$layer" "$dir.stamp"; then
        command -v unzip >/dev/null 2>&1 || die "unzip is not installed (apt-get install unzip)"
        mkdir -p "$root/build/invoke"
        tmp=$(mktemp -d "$root/build/invoke/unzip.XXXXXX")
        unzip -q "$layer" -d "$tmp" || { rm -rf "$tmp"; die "cannot unzip $layer"; }
        chmod 755 "$tmp" # mktemp made it private; it becomes /opt, which everyone may read
        rm -rf "$dir"
        mv "$tmp" "$dir"
        : >"$dir.stamp"
    fi
    layer=$dir
fi
[ -d "$layer" ] || die "--layer $layer: neither a zip nor a directory"
searchable "$function"
searchable "$layer"

set -- --task "$function" --handler "$handler" --layer "$layer" --sandbox "$root/scripts/sandbox.sh"
while IFS= read -r a; do set -- "$@" "$a"; done <"$args"
rm -f "$args"
exec "$JAVA_HOME/bin/java" -cp "$classes" LocalLambda "$@"
