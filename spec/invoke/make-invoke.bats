#!/usr/bin/env bats
# make invoke as a script would use it: a repeated invoke builds nothing (the layer is rebuilt only when something
# it is made from changed), stdout holds the response alone even while make builds, and the exit status is
# scripts/invoke.sh's: 0, 1 for a function error, 2 when no invoke could be made. `make test-invoke` has built the
# layer for the current inputs just before.

load helpers

# make_invoke ARGS...: `make invoke ARGS` from the repository, as a reader runs it (not as a sub-make of make
# test); sets status, $OUT (its stdout, byte for byte) and $ERR (its stderr).
make_invoke() {
    OUT=$BATS_TEST_TMPDIR/make-$RANDOM.out
    ERR=${OUT%.out}.err
    status=0
    (cd "$ROOT" && env -u INVOKE_LAYER make invoke "$@" INVOKE_ARGS="${SLOW_INIT[*]}") >"$OUT" 2>"$ERR" 3>&- || status=$?
}

# layer_stamp: the file make keeps for the layer built from the current inputs (its mtime: when that build ended).
layer_stamp() {
    (cd "$ROOT" && make -s -p -q layer 2>/dev/null | sed -n 's/^layer_built := //p' | head -n 1)
}

@test "a repeated make invoke builds nothing, and touching Bootstrap.java without changing it rebuilds nothing" {
    make_invoke FUNCTION=examples/hello HANDLER=function.handler EVENT=examples/hello/event.json
    assert_equal "$status" 0
    stamp=$ROOT/$(layer_stamp)
    [ -f "$stamp" ] || fail "no layer stamp after make invoke: $stamp"
    before=$(stat -c %Y.%y "$stamp" "$ROOT/bootstrap")
    # Bootstrap.java newer than bootstrap: make regenerates bootstrap, which keeps its bytes and its mtime.
    touch -r "$ROOT/Bootstrap.java" "$BATS_TEST_TMPDIR/Bootstrap.java.mtime"
    touch "$ROOT/Bootstrap.java"
    make_invoke FUNCTION=examples/hello HANDLER=function.handler EVENT=examples/hello/event.json
    assert_equal "$status" 0
    cmp "$OUT" "$ROOT/examples/hello/response.json"
    run grep -c 'make: building the layer' "$ERR"
    assert_output 0
    run grep -c '^layer: \[' "$ERR"
    assert_output 0
    assert_equal "$(stat -c %Y.%y "$stamp" "$ROOT/bootstrap")" "$before"
    # Its old mtime back (its bytes never changed), so that later make runs have nothing to regenerate.
    touch -r "$BATS_TEST_TMPDIR/Bootstrap.java.mtime" "$ROOT/Bootstrap.java"
}

@test "make invoke's stdout is the response alone, also while make builds (its progress goes to stderr)" {
    # Something for make to build on the way: the local Lambda's classes (a compile of a few seconds).
    touch "$ROOT/local/LocalLambda.java"
    make_invoke FUNCTION=examples/hello HANDLER=function.handler EVENT=examples/hello/event.json
    assert_equal "$status" 0
    cmp "$OUT" "$ROOT/examples/hello/response.json"
    grep -q 'compiling local/LocalLambda.java' "$ERR"
    grep -q '^START RequestId: ' "$ERR"
    # The layer's own report is progress too: scripts/build_layer.sh prints it on stderr, and stdout is the zip.
    run grep -n 'printf .%s\\n. "\$dist/\$name.zip"' "$ROOT/scripts/build_layer.sh"
    assert_success
    run grep -n '^say() {.*>&2; }$' "$ROOT/scripts/lib/layer.sh"
    assert_success
}

@test "exit status 1 for a function error, from make invoke and from scripts/invoke.sh alike" {
    make_invoke FUNCTION=examples/error HANDLER=function.handler EVENT=examples/error/event.json
    assert_equal "$status" 1
    assert_equal "$(jq -r .errorType "$OUT")" ValidationError
    run grep -c '\*\*\*' "$ERR"
    assert_output 0
    status=0
    (cd "$ROOT" && env -u INVOKE_LAYER scripts/invoke.sh "${SLOW_INIT[@]}" --function examples/error --handler function.handler \
        --event examples/error/event.json) >"$BATS_TEST_TMPDIR/direct.out" 2>/dev/null 3>&- || status=$?
    assert_equal "$status" 1
    cmp "$OUT" "$BATS_TEST_TMPDIR/direct.out"
    # (Success is 0: the specs above.)
}

@test "exit status 2 when no invoke could be made: make's usage errors, and invoke.sh's" {
    make_invoke FUNCTION=examples/hello HANDLER=function.handler
    assert_equal "$status" 2
    grep -q 'set EVENT' "$ERR"
    make_invoke FUNCTION=examples/nonexistent HANDLER=function.handler EVENT=examples/hello/event.json
    assert_equal "$status" 2
    grep -q 'not a directory' "$ERR"
    grep -q 'scripts/invoke.sh exited with status 2' "$ERR"
    assert_equal "$(wc -c <"$OUT")" 0
}

@test "make test's suites share one layer: at most one build of it, and every suite takes the same zip" {
    # (The precompiled variant is another artifact: test-bench makes it through make, spec/layer from this layer's
    # bootstrap; this checks the JEP 330 layer, which every suite shares.)
    run env -u INVOKE_LAYER make -C "$ROOT" --no-print-directory -n test-invoke test-layer test-bench BENCH_RUNTIMES='java sh'
    assert_success
    # (Under -n make cannot tell whether bootstrap's bytes would change, so it may plan the one build.)
    assert [ "$(printf '%s\n' "$output" | grep -c 'scripts/build_layer.sh 2>&1')" -le 1 ]
    invoke=$(printf '%s\n' "$output" | sed -n 's|^INVOKE_LAYER="\$(cat \(build/layer-stamps/[0-9]*/built\))" spec/invoke/run.sh.*|\1|p')
    layer=$(printf '%s\n' "$output" | sed -n 's|^LAYER_ZIP="\$(cat \(build/layer-stamps/[0-9]*/built\))" .*spec/layer/run.sh.*|\1|p')
    [ -n "$invoke" ] || fail "test-invoke does not take the built layer: $output"
    assert_equal "$layer" "$invoke"
    # The benchmark measures that zip too, and spec/layer builds no JEP 330 layer of its own (only the precompiled
    # variant, from that zip's bootstrap).
    run grep -n 'BENCH_LAYER_ZIP = .*layer_built' "$ROOT/mk/bench.mk"
    assert_success
    run sh -c "grep -v '^ *#' '$ROOT/spec/layer/run.sh' | grep 'build_layer.sh'"
    assert_success
    assert_equal "${#lines[@]}" 1
    assert_line --regexp '^LAUNCH=precompiled .*scripts/build_layer\.sh'
}
