#!/bin/sh
# bench/coldstart.sh (make bench-coldstart): what java-shell-runtime's cold start spends its time on.
# Not part of `make bench`; it informs the work on Bootstrap.java and the layer. Writes OUT/coldstart.md.
#
#  A. init (start -> first /next, and CPU from start to exit when that /next is refused) of Bootstrap.java
#     launched in different ways: as shipped in the layer, by the source launcher with and without JVM flags,
#     AOT cache, CDS; compiled ahead by javac; and the same for MinimalNext.java, a 30-line source file that
#     only sends one GET /next: the floor under any JEP 330 runtime.
#  B. first-use cost of Java features in a source-launched class (lambda, invokedynamic string concatenation,
#     record toString, pattern switch, String.format, ProcessBuilder, Files.createTempDirectory, HttpClient):
#     a trivial program with one feature, run to exit, with no cache and with an AOT cache trained on itself.
#  C. class loading: how many classes each launch loads and where from (-Xlog:class+load), and the JVM's
#     own start-up phases (-Xlog:startuptime).
#
# Environment: BENCH_COLDSTART_RUNS (runs per variant, default 3; BENCH_QUICK=1: 1),
# BENCH_COLDSTART_OUT (default build/bench/coldstart), BENCH_COLDSTART_GROUPS (default "A B C").
# Runs at a full core (cgroup quota 100% when available, for the CPU figures), JDK = $JAVA_HOME.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
# shellcheck source=bench/lib/cgroup.sh
. bench/lib/cgroup.sh
# shellcheck source=bench/lib/harness.sh
. bench/lib/harness.sh

: "${JAVA_HOME:?JAVA_HOME must point to a JDK 25 (the Makefile sets it)}"
JAVA=$JAVA_HOME/bin/java
if [ "${BENCH_QUICK:-0}" = 1 ]; then reps=${BENCH_COLDSTART_RUNS:-1}; else reps=${BENCH_COLDSTART_RUNS:-3}; fi
out=${BENCH_COLDSTART_OUT:-build/bench/coldstart}
groups=${BENCH_COLDSTART_GROUPS:-A B C}
run_limit=300
say() { printf 'coldstart: %s\n' "$*" >&2; }
die() { printf 'coldstart: error: %s\n' "$*" >&2; exit 1; }
now_us() { date +%s%6N; }

if [ -d "$out" ] && [ -n "$(ls -A "$out")" ] && [ ! -f "$out/results.jsonl" ]; then
    die "BENCH_COLDSTART_OUT=$out exists and is not a cold-start output (no results.jsonl): not deleting it"
fi
rm -rf "$out"
mkdir -p "$out/src" "$out/cls" "$out/aot" "$out/logs"
harness_init "$out"
out_abs=$root/$out
if cg_detect; then
    cg_create "jsr-coldstart-$$"
    trap 'cg_destroy' EXIT
    cg_set_share 100
fi
say "$CG_WHY"

cp Bootstrap.java bench/coldstart/MinimalNext.java "$out/src/"
"$JAVA_HOME/bin/javac" --release 21 -d "$out/cls" "$out/src/Bootstrap.java" "$out/src/MinimalNext.java"
# A jar, not a directory: the AOT cache refuses class path directories.
"$JAVA_HOME/bin/jar" --create --file "$out/compiled.jar" -C "$out/cls" .
cfg="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC" # flags the AOT variants use in training and in use
failures=0

# variant NAME KIND COUNT DESCRIPTION -- CMD...: measured reps times (KIND init: count 0; exit: no fake).
variant() {
    _name=$1 _kind=$2 _count=$3 _desc=$4
    shift 5
    rt_host "$_name" "$@"
    printf '%s\t%s\t%s\n' "$_name" "$_kind" "$_desc" >> "$out/variants.tsv"
    v_i=1 # not _i: run_one uses that name
    while [ "$v_i" -le "$reps" ]; do
        run_one "$_name" 100 "$_kind" "$v_i" "$_count" || failures=$((failures + 1))
        v_i=$((v_i + 1))
    done
}

# train NAME COUNT -- CMD...: one run with -XX:AOTCacheOutput (JDK 25 one-step training) before CMD.
train() {
    _name=$1 _count=$2
    shift 3
    rm -f "$out_abs/aot/$_name.aot"
    rt_host "train_$_name" "$JAVA" "-XX:AOTCacheOutput=$out_abs/aot/$_name.aot" "$@"
    run_one "train_$_name" 100 train 1 "$_count" || failures=$((failures + 1))
    [ -s "$out_abs/aot/$_name.aot" ] || say "training $_name wrote no AOT cache (see $out/runs/100/train_$_name-train-1)"
}

: > "$out/variants.tsv"
src=$out_abs/src cls=$out_abs/compiled.jar
# shellcheck disable=SC2086 # $cfg is a list of flags
case " $groups " in *" A "*)
    say "A: init of Bootstrap.java and of MinimalNext.java, launched in different ways ($reps runs each)"
    # shellcheck disable=SC2012,SC2010
    zip=$(ls -t dist/*.zip 2>/dev/null | grep -v -e -precompiled- | head -n 1)
    if [ -n "$zip" ] && [ -x scripts/sandbox.sh ]; then
        mkdir -p "$out/layer" && unzip -q "$zip" -d "$out/layer" && chmod -R a+rX "$out/layer"
        rt_layer shipped "$out_abs/layer"
        printf 'shipped\tinit\tas shipped: /opt/bootstrap from %s in scripts/sandbox.sh (its shebang: %s)\n' \
            "$zip" "$(head -n 1 "$out/layer/bootstrap")" >> "$out/variants.tsv"
        i=1
        while [ "$i" -le "$reps" ]; do run_one shipped 100 init "$i" 0 || failures=$((failures + 1)); i=$((i + 1)); done
    else
        say "no dist/*.zip or scripts/sandbox.sh: the as-shipped variant is skipped"
    fi
    variant src_plain init 0 'source launcher, JDK, no flags' -- "$JAVA" --source 21 "$src/Bootstrap.java"
    variant src_c1 init 0 "source launcher, $cfg" -- "$JAVA" $cfg --source 21 "$src/Bootstrap.java"
    variant src_xint init 0 'source launcher, -Xint (no JIT at all)' -- "$JAVA" -Xint --source 21 "$src/Bootstrap.java"
    variant src_noshare init 0 'source launcher, -Xshare:off (no CDS: what the default CDS archive saves)' -- \
        "$JAVA" -Xshare:off --source 21 "$src/Bootstrap.java"
    train src_aot 20 -- $cfg --source 21 "$src/Bootstrap.java"
    variant src_aot init 0 "source launcher, $cfg, AOT cache trained on 20 invocations" -- \
        "$JAVA" $cfg "-XX:AOTCache=$out_abs/aot/src_aot.aot" --source 21 "$src/Bootstrap.java"
    variant cls_plain init 0 'compiled ahead (javac), JDK, no flags: what the source launcher costs' -- \
        "$JAVA" -cp "$cls" Bootstrap
    train cls_aot 20 -- $cfg -cp "$cls" Bootstrap
    variant cls_aot init 0 "compiled ahead, $cfg, AOT cache trained on 20 invocations" -- \
        "$JAVA" $cfg "-XX:AOTCache=$out_abs/aot/cls_aot.aot" -cp "$cls" Bootstrap
    variant min_src init 0 'MinimalNext.java (one GET /next), source launcher, no flags' -- \
        "$JAVA" --source 21 "$src/MinimalNext.java"
    train min_aot 0 -- $cfg --source 21 "$src/MinimalNext.java"
    variant min_aot init 0 "MinimalNext.java, source launcher, $cfg, AOT cache trained on itself: the floor" -- \
        "$JAVA" $cfg "-XX:AOTCache=$out_abs/aot/min_aot.aot" --source 21 "$src/MinimalNext.java"
    variant min_cls init 0 'MinimalNext compiled ahead, no flags' -- "$JAVA" -cp "$cls" MinimalNext
    # A design alternative: the shebang runs a three-line source file that calls Bootstrap compiled ahead into a
    # jar on the class path; javac then compiles only the stub. In a directory of its own: since JDK 22 (JEP 458)
    # the launcher compiles other .java files next to the launched one on demand, and would compile Bootstrap.java.
    mkdir -p "$out/src/stub"
    printf 'public class Stub {\n    public static void main(String[] args) throws Exception {\n        Bootstrap.main(args);\n    }\n}\n' \
        > "$out/src/stub/Stub.java"
    train stub_aot 20 -- $cfg -cp "$cls" --source 21 "$src/stub/Stub.java"
    variant stub_aot init 0 "three-line Stub.java calling Bootstrap from a jar (-cp), source launcher, $cfg, AOT cache" -- \
        "$JAVA" $cfg "-XX:AOTCache=$out_abs/aot/stub_aot.aot" -cp "$cls" --source 21 "$src/stub/Stub.java"
    ;;
esac

# Group B: one feature per program. Each body runs once in main; the program then exits.
feature_body() {
    case $1 in
    empty) echo 'System.setProperty("x", "y");' ;;
    lambda) echo 'Runnable r = () -> System.setProperty("x", "y"); r.run();' ;;
    concat) echo 'System.setProperty("x", "a" + args.length + System.nanoTime());' ;;
    record) echo 'System.setProperty("x", new P(args.length, "a").toString());' ;;
    switch) echo 'Object o = args.length > 5 ? (Object) "s" : Integer.valueOf(1);
        String r = switch (o) { case String s -> s; case Integer i -> "i"; default -> "d"; };
        System.setProperty("x", r);' ;;
    format) echo 'System.setProperty("x", String.format("%d-%s", args.length, "a"));' ;;
    process) echo 'new ProcessBuilder("/bin/true").start().waitFor();' ;;
    tempdir) echo 'java.nio.file.Files.delete(java.nio.file.Files.createTempDirectory("coldstart"));' ;;
    httpclient) echo 'java.net.http.HttpClient.newHttpClient();' ;;
    esac
}
features='empty lambda concat record switch format process tempdir httpclient'
case " $groups " in *" B "*)
    say "B: first-use cost of features in a source-launched class ($reps runs each, with and without an AOT cache)"
    for f in $features; do
        mkdir -p "$out/src/$f"
        cat > "$out/src/$f/Feature.java" <<EOF
public class Feature {
    record P(int x, String y) {}
    public static void main(String[] args) throws Exception {
        $(feature_body "$f")
    }
}
EOF
        # shellcheck disable=SC2086 # $cfg: JVM flags
        variant "f_$f" exit none "$f: source launcher, $cfg" -- "$JAVA" $cfg --source 21 "$src/$f/Feature.java"
        # shellcheck disable=SC2086
        train "f_$f" none -- $cfg --source 21 "$src/$f/Feature.java"
        # shellcheck disable=SC2086
        variant "fa_$f" exit none "$f: source launcher, $cfg, AOT cache trained on this program" -- \
            "$JAVA" $cfg "-XX:AOTCache=$out_abs/aot/f_$f.aot" --source 21 "$src/$f/Feature.java"
    done
    ;;
esac

case " $groups " in *" C "*)
    say "C: classes loaded and JVM start-up phases (one run each)"
    logs=$out_abs/logs
    for v in "src_plain|--source 21 $src/Bootstrap.java" "cls_plain|-cp $cls Bootstrap" \
        "min_src|--source 21 $src/MinimalNext.java" \
        "src_aot|$cfg -XX:AOTCache=$out_abs/aot/src_aot.aot --source 21 $src/Bootstrap.java"; do
        n=${v%%|*} args=${v#*|}
        case $args in *AOTCache=*) [ -s "$out/aot/src_aot.aot" ] || continue ;; esac
        # shellcheck disable=SC2086 # a list of arguments
        rt_host "log_$n" "$JAVA" "-Xlog:class+load:file=$logs/$n.classes.log" "-Xlog:startuptime:file=$logs/$n.startup.log" $args
        run_one "log_$n" 100 log 1 0 || failures=$((failures + 1))
    done
    ;;
esac

# --- report -------------------------------------------------------------------------------------------
{
    echo "# Cold start anatomy of java-shell-runtime"
    echo
    echo "Generated by \`bench/coldstart.sh\` ($reps run(s) per variant; median, min-max) on $(date -u '+%Y-%m-%d %H:%M UTC'),"
    echo "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)."
    echo "JDK: $("$JAVA" -version 2>&1 | sed -n 2p). CPU limit: $CG_WHY. Figures are noisy when the machine is shared."
    echo
    jq -r -s -f bench/lib/coldstart-tables.jq "$out/results.jsonl" \
        --rawfile variants "$out/variants.tsv" --arg features "$features"
    if [ -d "$out/logs" ] && [ -n "$(ls "$out/logs")" ]; then
        echo
        echo "## C. Classes loaded before the first \`/next\` is refused and the JVM exits (-Xlog:class+load)"
        echo
        echo "| launch | classes | from the CDS/AOT archive | from lib/modules (jrt) | hidden/lambda forms | compiled in memory or from the class path | top modules read from jrt |"
        echo "|---|---|---|---|---|---|---|"
        for f in "$out"/logs/*.classes.log; do
            [ -s "$f" ] || continue
            n=$(basename "$f" .classes.log)
            awk -v n="$n" '
                { total++ }
                /source: shared objects file/ { cds++; next }
                /source: jrt:\// { jrt++; m = $0; sub(/.*source: jrt:\//, "", m); sub(/\/.*/, "", m); mods[m]++; next }
                /__JVM_LookupDefineClass__|\$\$Lambda|LambdaForm\$|Species_/ { hidden++; next }
                { other++ }
                END {
                    top = ""
                    for (k = 0; k < 3; k++) {
                        best = ""; bc = 0
                        for (m in mods) if (mods[m] > bc) { best = m; bc = mods[m] }
                        if (best != "") { top = top (top == "" ? "" : ", ") best " " bc; delete mods[best] }
                    }
                    printf "| %s | %d | %d | %d | %d | %d | %s |\n", n, total, cds, jrt, hidden, other, top
                }' "$f"
        done
        echo
        echo "JVM start-up phases (-Xlog:startuptime; the JVM's own part, before main):"
        echo
        for f in "$out"/logs/*.startup.log; do
            [ -s "$f" ] || continue
            printf -- '- %s: %s\n' "$(basename "$f" .startup.log)" "$(grep -E 'Initialize module system|Create VM' "$f" |
                sed 's/.*\] //; s/, \([0-9.]*\) secs/ \1 s/' | tr '\n' ';' | sed 's/;$//; s/;/; /g')"
        done
        echo
        echo "Classes from lib/modules that the launch of the compiled-ahead Bootstrap loads, by package (not in the default CDS archive):"
        echo
        if [ -s "$out/logs/cls_plain.classes.log" ]; then
            grep 'source: jrt:/' "$out/logs/cls_plain.classes.log" | sed 's/.*\] //; s/ source.*//' |
                awk -F. '{ NF--; print }' OFS=. | sort | uniq -c | sort -rn | head -n 12 |
                awk '{ printf "- %s: %s\n", $2, $1 }'
        fi
    fi
    echo
    echo "Raw runs: \`$out/runs\`; class-load logs: \`$out/logs\`."
} > "$out/coldstart.md"
say "report: $out/coldstart.md"
[ "$failures" -eq 0 ] || die "$failures run(s) failed"
