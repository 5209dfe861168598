#!/usr/bin/env bats
# The benchmark's own tests (make test-bench): the sh + curl baseline honours the handler contract against
# the fake Runtime API, the metrics are computed as documented, and a tiny run of the benchmark
# (BENCH_QUICK=1) works end to end. No timing is asserted: the figures are the benchmark's business.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

setup_file() {
    cd "$BATS_TEST_DIRNAME/../.."
    : "${JAVA_HOME:=$(scripts/find_jdk.sh)}"
    export JAVA_HOME
    export FAKE_CLASSES="$BATS_FILE_TMPDIR/fake"
    mkdir -p "$FAKE_CLASSES"
    "$JAVA_HOME/bin/javac" --release 21 -d "$FAKE_CLASSES" spec/support/FakeRuntimeApi.java
}

setup() {
    cd "$BATS_TEST_DIRNAME/../.."
    ROOT=$PWD
    W=$BATS_TEST_TMPDIR
    printf '{"hello":"world"}' > "$W/event.json"
}

# fake COUNT: starts the fake Runtime API on loopback (background; FAKE_PID, PORT), recording to $W/record.jsonl.
fake() {
    "$JAVA_HOME/bin/java" -cp "$FAKE_CLASSES" FakeRuntimeApi --port-file "$W/port" --event "$W/event.json" \
        --count "$1" --record "$W/record.jsonl" --timeout 60 > "$W/fake.out" 2>&1 &
    FAKE_PID=$!
    local i=0
    while [ ! -s "$W/port" ] && [ "$i" -lt 1500 ]; do sleep 0.02; i=$((i + 1)); done
    read -r PORT < "$W/port"
}

# baseline TASK HANDLER: runs the baseline (to completion: the fake ends it with a 500) with that function.
baseline() {
    run env -i PATH=/usr/bin:/bin AWS_LAMBDA_RUNTIME_API="127.0.0.1:$PORT" _HANDLER="$2" LAMBDA_TASK_ROOT="$1" \
        TMPDIR="$W" timeout 60 bench/baseline/bootstrap
}

# fake_wait: waits for the fake (it exits by itself after the refused /next); its exit status in FAKE_RC.
fake_wait() { FAKE_RC=0; wait "$FAKE_PID" || FAKE_RC=$?; }
requests() { jq -r "select($1) | .path" "$W/record.jsonl" | wc -l; }

@test "the baseline and the benchmark scripts are POSIX sh and shellcheck-clean" {
    for f in bench/baseline/bootstrap bench/run.sh bench/report.sh bench/coldstart.sh bench/compile-share.sh spec/bench/run.sh; do
        assert_equal "$(head -n 1 "$f")" '#!/bin/sh'
    done
    run shellcheck -x bench/baseline/bootstrap bench/run.sh bench/report.sh bench/coldstart.sh bench/compile-share.sh \
        bench/lib/cgroup.sh bench/function/bench.sh spec/bench/run.sh
    assert_success
}

@test "baseline: function mode serves every invocation and exits when /next answers 500" {
    fake 3
    baseline "$ROOT/bench/function" bench.handler
    assert_failure 1
    fake_wait
    assert_equal "$FAKE_RC" 0
    assert_equal "$(requests '.method == "GET" and (.path | endswith("/invocation/next"))')" 4
    assert_equal "$(requests '.method == "POST" and (.path | endswith("/response")) and .status == 202')" 3
    assert_equal "$(jq -r 'select(.path | endswith("/response")) | .body_length' "$W/record.jsonl" | sort -u)" \
        "$(printf '{"statusCode":200,"body":"ok"}' | wc -c)"
}

@test "baseline: the event arrives on stdin and the request id and trace id in the environment" {
    mkdir -p "$W/task"
    cat > "$W/task/fn.sh" <<'SH'
echo_event() { printf '%s|' "$_X_AMZN_TRACE_ID"; cat; }
SH
    "$JAVA_HOME/bin/java" -cp "$FAKE_CLASSES" FakeRuntimeApi --port-file "$W/port" --event "$W/event.json" \
        --count 1 --record "$W/record.jsonl" --timeout 60 --header 'Lambda-Runtime-Trace-Id: Root=1-abc;Sampled=1' \
        > "$W/fake.out" 2>&1 &
    FAKE_PID=$!
    local i=0
    while [ ! -s "$W/port" ] && [ "$i" -lt 1500 ]; do sleep 0.02; i=$((i + 1)); done
    read -r PORT < "$W/port"
    baseline "$W/task" fn.echo_event
    fake_wait
    assert_equal "$FAKE_RC" 0
    # The CLI fake records the body's length, not the body: trace id + | + event.
    expected=$(printf 'Root=1-abc;Sampled=1|{"hello":"world"}' | wc -c)
    assert_equal "$(jq -r 'select(.path | endswith("/response")) | .body_length' "$W/record.jsonl")" "$expected"
}

@test "baseline: a failing handler is reported on /error and the loop goes on" {
    mkdir -p "$W/task"
    printf 'fail() { echo oops >&2; return 3; }\n' > "$W/task/bad.sh"
    fake 2
    baseline "$W/task" bad.fail
    assert_failure 1
    fake_wait
    assert_equal "$FAKE_RC" 1 # the fake exits 1 when an invocation got /error
    assert_equal "$(requests '.method == "POST" and (.path | endswith("/error")) and .status == 202')" 2
    assert_output --partial oops
}

@test "baseline: a missing handler file is reported on /init/error" {
    fake 1
    baseline "$W" nothere.handler
    assert_failure 1
    assert_output --partial 'no handler file'
    fake_wait
    assert_equal "$(requests '.path | endswith("/runtime/init/error")')" 1
}

@test "baseline: a _HANDLER without a dot runs that executable per invocation" {
    mkdir -p "$W/task"
    printf '#!/bin/sh\ncat\n' > "$W/task/echo"
    chmod 755 "$W/task/echo"
    fake 2
    baseline "$W/task" echo
    fake_wait
    assert_equal "$FAKE_RC" 0
    assert_equal "$(jq -r 'select(.path | endswith("/response")) | .body_length' "$W/record.jsonl" | sort -u)" \
        "$(wc -c < "$W/event.json")"
}

@test "metrics: init, first invocation, warm cycles and steady RSS come from the fake's record as documented" {
    # start at t=1000; next#1 arrives 1200 (init 200), answered 1210; response 1250 (first 40);
    # next#2 1300, next#3 1400, next#4 (refused) 1600: warm cycles 100 and 200, mean 150;
    # time inside the fake per warm cycle: 1 + 2 and 1 + 3 us, median 3.5.
    {
        echo '{"method":"GET","path":"/2018-06-01/runtime/invocation/next","status":200,"t_start_us":1200,"t_end_us":1210}'
        echo '{"method":"POST","path":"/2018-06-01/runtime/invocation/a/response","status":202,"t_start_us":1250,"t_end_us":1255}'
        echo '{"method":"GET","path":"/2018-06-01/runtime/invocation/next","status":200,"t_start_us":1300,"t_end_us":1301}'
        echo '{"method":"POST","path":"/2018-06-01/runtime/invocation/b/response","status":202,"t_start_us":1350,"t_end_us":1352}'
        echo '{"method":"GET","path":"/2018-06-01/runtime/invocation/next","status":200,"t_start_us":1400,"t_end_us":1401}'
        echo '{"method":"POST","path":"/2018-06-01/runtime/invocation/c/response","status":202,"t_start_us":1500,"t_end_us":1503}'
        echo '{"method":"GET","path":"/2018-06-01/runtime/invocation/next","status":500,"t_start_us":1600,"t_end_us":1601}'
    } > "$W/record.jsonl"
    printf '{"t":1100,"rss":900,"n":1,"hwm":900}\n{"t":1450,"rss":500,"n":2,"hwm":950}\n{"t":1700,"rss":100,"n":1,"hwm":950}\n' \
        > "$W/samples.jsonl"
    run jq -c -s --arg t0 1000 --arg count 3 --slurpfile samples "$W/samples.jsonl" \
        --argjson meta '{"runtime":"sh","share":100,"kind":"warm","rep":1,"cpu_us":5,"rc":1,"fake_rc":0}' \
        -f bench/lib/metrics.jq "$W/record.jsonl"
    assert_success
    m=$output
    assert_equal "$(echo "$m" | jq -c '[.ok, .init_us, .first_us, .responses, .nexts]')" '[true,200,40,3,4]'
    assert_equal "$(echo "$m" | jq -c '[.warm.cycles, .warm.mean_us, .warm.median_us, .warm.fake_median_us]')" '[2,150,150,3.5]'
    assert_equal "$(echo "$m" | jq -c '[.mem.peak_rss_kib, .mem.steady_rss_kib, .mem.largest_hwm_kib]')" '[900,500,950]'
}

@test "quick benchmark: both layers and the baseline at every CPU share, report and chart under build/, docs/ untouched" {
    before=$(cat docs/benchmarks.md 2>/dev/null | sha256sum)
    # Under build/, but private to this test: someone else may be running the benchmark in this work tree.
    out=build/bench/test-quick.$$
    run env BENCH_QUICK=1 BENCH_OUT="$out" bench/run.sh
    echo "$output"
    assert_success
    assert_equal "$(cat docs/benchmarks.md 2>/dev/null | sha256sum)" "$before"
    [ -s "$out/benchmarks.md" ]
    # A PNG: the 8-byte signature.
    assert_equal "$(head -c 8 "$out/benchmarks.png" | od -An -tx1 | tr -d ' \n')" 89504e470d0a1a0a
    # Every run completed its invocations; each runtime ran at each share the machine allows.
    assert_equal "$(jq -s 'map(select(.ok | not)) | length' "$out/results.jsonl")" 0
    all=$(($(nproc) * 100)) # "all": every core, no quota
    if echo "$output" | grep -q 'no writable cgroup'; then shares=$all; else shares="7.2 28.9 100 $all"; fi
    for rt in java precompiled sh; do
        assert_equal "$(jq -r -s --arg rt "$rt" '[.[] | select(.runtime == $rt) | .share] | unique | map(tostring) | join(" ")' "$out/results.jsonl")" "$shares"
    done
    # The precompiled runtime is the precompiled layer: its bootstrap does not start the source launcher.
    [ -f "$out/layers/precompiled.zip" ]
    case $(head -n 1 "$out/layers/precompiled/bootstrap") in *--source*) false ;; esac
    case $(head -n 1 "$out/layers/java/bootstrap") in *--source*) ;; *) false ;; esac
    # Every figure the issue asks for is in the report.
    for heading in '## Both layers and the baseline' '## Timing' '## Memory' '## Layer size' '## Machine' '## How it is measured'; do
        grep -qF "$heading" "$out/benchmarks.md"
    done
    grep -qF 'BENCH_QUICK=1 make bench' "$out/benchmarks.md"
    for share in $shares; do
        label="$share%"
        [ "$share" != "$all" ] || label="all $(nproc) cores"
        for name in 'JEP 330 layer' 'precompiled layer' 'sh + curl baseline'; do
            grep -q "^| $label | $name | [0-9]" "$out/benchmarks.md"
        done
        # The one table compares the three: a figure in each runtime's column, and both layers against sh + curl.
        grep -q "^| warm cost per invocation at $label | [0-9][^|]* ms | [^|]* | [0-9][^|]* ms | [^|]* | [0-9][^|]* ms |$" "$out/benchmarks.md"
        grep -q "^| warm cost against sh + curl at $label | [0-9.]*x [a-z]* | [^|]* | [0-9.]*x [a-z]* | [^|]* | 1 |$" "$out/benchmarks.md"
    done
    grep -q '^| init: start -> first `/next`, [^|]* | [0-9][^|]* ms | [^|]* | [0-9][^|]* ms | [^|]* | [0-9][^|]* ms |$' "$out/benchmarks.md"
    # The chart's data: a median for every runtime at every share (init, then warm; NaN = missing).
    assert_equal "$(awk -F '\t' 'NF != 7 || /NaN/' "$out/chart.dat")" ''
    assert_equal "$(wc -l < "$out/chart.dat")" "$(echo "$shares" | wc -w)"
    # With a cgroup, each share comes with Lambda's memory for it (1,769 MB per core).
    if [ "$shares" != "$all" ]; then
        assert_equal "$(jq -r -s '[.[] | select(.share == 7.2) | .memory_mb] | unique | map(tostring) | join(" ")' "$out/results.jsonl")" 128
        assert_equal "$(jq -r -s '[.[] | select(.share == 100) | .memory_mb] | unique | map(tostring) | join(" ")' "$out/results.jsonl")" 1769
    fi
    # CPU time and memory were measured, not left empty.
    assert_equal "$(jq -s '[.[] | select(.cpu_us == null or .cpu_us <= 0)] | length' "$out/results.jsonl")" 0
    assert_equal "$(jq -s '[.[] | select(.kind == "mem" and .mem.steady_rss_kib > 0)] | length' "$out/results.jsonl")" 3
    grep -qF '## Memory' "$out/benchmarks.md"
    refute_output --partial 'cannot open'
    rm -rf "$out"
}

@test "without a writable cgroup the benchmark says so, runs on all cores only and still measures CPU time" {
    out=build/bench/test-nocgroup.$$
    run env BENCH_QUICK=1 BENCH_OUT="$out" BENCH_INVOCATIONS=5 BENCH_CGROUP_V1_ROOT=/nonexistent \
        BENCH_CGROUP2_ROOT=/nonexistent bench/run.sh
    echo "$output"
    assert_success
    assert_output --partial 'no writable cgroup with a CPU quota'
    assert_output --partial "without a quota only 'all'"
    assert_equal "$(jq -r -s '[.[].share] | unique | map(tostring) | join(" ")' "$out/results.jsonl")" "$(($(nproc) * 100))"
    # From the shell's times (10 ms ticks, so a short sh run may show 0), never missing.
    assert_equal "$(jq -s '[.[] | select(.cpu_us == null)] | length' "$out/results.jsonl")" 0
    assert_equal "$(jq -s '[.[] | select(.runtime != "sh" and .cpu_us <= 0)] | length' "$out/results.jsonl")" 0
    assert_equal "$(jq -s '[.[] | select(.kind == "mem" and .mem.steady_rss_kib > 0)] | length' "$out/results.jsonl")" 3
    rm -rf "$out"
}

@test "compile-share: the layer's JRE compiles Bootstrap.java and the script reports the share, with the C1 time" {
    zip=$(ls -t dist/*.zip | grep -v -e -precompiled- | head -n 1)
    run env LAYER_ZIP="$zip" bench/compile-share.sh 1
    echo "$output"
    assert_success
    assert_output --regexp '\| empty source file \| [0-9]+ ms \| [0-9]+ ms \|'
    assert_output --regexp '\| Bootstrap.java, compile only \| [0-9]+ ms \| [0-9]+ ms \|'
    assert_output --regexp "javac's work on Bootstrap.java \\([0-9]+ lines\\) \\| -?[0-9]+ ms"
    assert_output --regexp 'CITime\): [0-9.]+ s for [0-9]+ methods'
    run env LAYER_ZIP=/nonexistent.zip bench/compile-share.sh 1
    assert_failure
    assert_output --partial 'no layer zip'
}
