#!/bin/sh
# bench/compile-share.sh [RUNS]: how much of the cold start is javac compiling Bootstrap.java.
# Not part of `make bench`; docs/layer.md quotes its output. Runs with the layer's own JRE, flags and AOT cache
# (from the newest dist/*.zip, or LAYER_ZIP=path), outside the sandbox, each launch run to exit:
#   empty         a source file whose main does nothing: the source launcher's floor
#   compile-only  Bootstrap.java with `if (args.length == 0) return;` as main's first line: javac's work on this
#                 file plus that floor (the shebang passes no arguments, so main returns at once)
# and once, for compile-only, -XX:+CITime: how much of that is the C1 JIT compiling javac's own methods.
# Prints a markdown table of medians (CPU = user + system time of the JVM, from /usr/bin/time).
# EXTRA_JVM_FLAGS='-XX:CompileThresholdScaling=4' adds flags after the shebang's, to try one.
set -eu
cd "$(dirname "$0")/.."
runs=${1:-7}
die() { printf 'compile-share: error: %s\n' "$*" >&2; exit 1; }
[ -x /usr/bin/time ] || die "needs /usr/bin/time (Debian package: time)"
# shellcheck disable=SC2012,SC2010 # newest JEP 330 zip first; the names have no spaces
zip=${LAYER_ZIP:-$(ls -t dist/*.zip build/layer-test/dist/*.zip 2>/dev/null | grep -v -e -precompiled- | head -n 1)}
[ -f "$zip" ] || die "no layer zip: run make layer (or make layer-local), or set LAYER_ZIP"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/opt" "$work/empty" "$work/compile-only"
unzip -q "$zip" -d "$work/opt"
java=$work/opt/jre/bin/java
# The shebang's flags, with the cache where the layer was unpacked.
flags="$(sed "s|/opt/|$work/opt/|g" layer/jvm-flags | tr '\n' ' ')${EXTRA_JVM_FLAGS:-}"
printf 'public class Empty {\n    public static void main(String[] args) {\n    }\n}\n' > "$work/empty/Empty.java"
sed 's/^\(    public static void main(String\[\] args) {\)$/\1 if (args.length == 0) return;/' Bootstrap.java \
    > "$work/compile-only/Bootstrap.java"
grep -q 'if (args.length == 0) return;' "$work/compile-only/Bootstrap.java" || die "Bootstrap.java has no main line to patch"

# measure FILE: RUNS launches; prints "wall_ms cpu_ms" medians.
measure() {
    _i=0
    while [ "$_i" -lt "$runs" ]; do
        # shellcheck disable=SC2086 # $flags is a list of JVM flags
        /usr/bin/time -f '%e %U %S' "$java" --source 21 $flags "$1" 2>&1 >/dev/null | tail -n 1
        _i=$((_i + 1))
    done | awk '{ print $1 * 1000, ($2 + $3) * 1000 }' > "$work/times"
    printf '%s %s\n' "$(cut -d' ' -f1 "$work/times" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')" \
        "$(cut -d' ' -f2 "$work/times" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')"
}

empty=$(measure "$work/empty/Empty.java")
full=$(measure "$work/compile-only/Bootstrap.java")
# shellcheck disable=SC2086
c1=$("$java" --source 21 $flags -XX:+CITime "$work/compile-only/Bootstrap.java" 2>&1 |
    sed -n 's/^ *C1 {speed: [^;]*; standard: *\([0-9.]*\) s, [0-9]* bytes, \([0-9]*\) methods.*/\1 s for \2 methods/p')

echo "Layer: $zip; $runs runs each; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)."
echo "JVM flags: $(tr '\n' ' ' < layer/jvm-flags)${EXTRA_JVM_FLAGS:-}"
echo
echo "| launch (to exit) | wall, median | CPU, median |"
echo "|---|---|---|"
echo "| empty source file | ${empty% *} ms | ${empty#* } ms |"
echo "| Bootstrap.java, compile only | ${full% *} ms | ${full#* } ms |"
echo "| difference: javac's work on Bootstrap.java ($(wc -l < Bootstrap.java) lines) | $((${full% *} - ${empty% *})) ms | $((${full#* } - ${empty#* })) ms |"
echo
echo "C1 JIT compiling (mostly javac's methods) in the compile-only launch (-XX:+CITime): ${c1:-not reported}."
