#!/usr/bin/env bats
# The built layer, unzipped and mounted at /opt the way Lambda does it, runs handlers: /opt/bootstrap starts
# through its own shebang with /opt/jre, uses the AOT cache, and serves events from the fake Runtime API.
# spec/layer/run.sh runs this file for both variants (LAYER_VARIANT=source, then precompiled).

load helpers

setup_file() {
    # One unpacked copy shared by the read-only runs (each test that changes the layer unpacks its own).
    export LAYER
    LAYER=$(unpack_layer shared) || return 1
}

expected_function_response() { printf '%s' '{"n":42,"name":"layer","mode":"function"}'; }

@test "function mode: /opt/bootstrap starts through its shebang with /opt/jre and answers every event (jq from /opt/bin)" {
    task=$(task_dir fn function.sh)
    start_fake 3
    run_layer "$LAYER" "$task" function.handler
    stop_fake
    expected=$(expected_function_response)
    # Three answers, each the handler's output byte for byte (202 from the fake, length of the expected JSON).
    run answers response
    assert_output "$(printf '202 %s\n202 %s\n202 %s' "${#expected}" "${#expected}" "${#expected}")"
    run answers error
    assert_output ''
    run cat "$ERR"
    assert_line "fixture: response $expected"
    if [ "$LAYER_VARIANT" = precompiled ]; then
        # The kernel appends the script's path; the java launcher passes it to main, which ignores it.
        assert_line 'fixture: runtime exe=/opt/jre/bin/java cmdline=/opt/jre/bin/java @/opt/jre/lib/bootstrap.args /opt/bootstrap '
    else
        assert_line --regexp '^fixture: runtime exe=/opt/jre/bin/java cmdline=/opt/jre/bin/java --source 21 .* /opt/bootstrap $'
    fi
    assert_line --regexp '^fixture: uid=993 jq=/opt/bin/jq jq-'
}

@test "file mode: an executable handler file runs per event, with jq from /opt/bin and /opt/lib" {
    task=$(task_dir file file-handler.sh)
    start_fake 2
    run_layer "$LAYER" "$task" file-handler.sh
    stop_fake
    expected='{"n":82,"name":"layer","mode":"file"}'
    run answers response
    assert_output "$(printf '202 %s\n202 %s' "${#expected}" "${#expected}")"
    run grep -c "^fixture: response $expected\$" "$ERR"
    assert_output 2
}

@test "the AOT cache is used: -XX:AOTMode=on starts, and the classes that start the runtime come from the cache" {
    task=$(task_dir fn function.sh)
    tmp=$(scratch tmp)
    chmod 1777 "$tmp"
    start_fake 1
    # AOTMode=on makes the JVM refuse to start when it cannot map the cache.
    run_layer "$LAYER" "$task" function.handler --tmp "$tmp" \
        --env "JDK_JAVA_OPTIONS=-XX:AOTMode=on -Xlog:class+load=info:file=/tmp/classes.log"
    stop_fake
    run answers response
    assert_output "202 $(expected_function_response | wc -c)"
    if [ "$LAYER_VARIANT" = precompiled ]; then
        # No compiler at all; the runtime's own classes, from jre/lib/bootstrap.jar, come from the cache.
        run grep -c 'com.sun.tools.javac' "$tmp/classes.log"
        assert_output 0
        run grep -c '^.*\] Bootstrap source: shared objects file' "$tmp/classes.log"
        assert_output 1
    else
        # The source launcher's compiler is what the cache saves: its classes must come from there.
        run grep -c 'com.sun.tools.javac.* source: shared objects file' "$tmp/classes.log"
        assert [ "$output" -gt 1000 ]
    fi
    # Bootstrap's own classes too (for the source launcher: their bytes are the same at every start).
    run grep -c '\] Bootstrap\$[A-Za-z]* source: shared objects file' "$tmp/classes.log"
    assert [ "$output" -gt 5 ]
    run grep -c 'source: jrt:/' "$tmp/classes.log"
    echo "# classes loaded from the image instead of the cache: $output" >&3
}

@test "the AOT check can fail: a cache made by another JVM for another program is refused under -XX:AOTMode=on" {
    layer=$(unpack_layer other-cache)
    "$JAVA_HOME/bin/java" -XX:AOTCacheOutput="$BATS_TEST_TMPDIR/hello.aot" \
        --source 21 "$FIXTURES/Hello.java" >/dev/null 2>&1
    cp "$BATS_TEST_TMPDIR/hello.aot" "$layer/jre/lib/bootstrap.aot"
    task=$(task_dir fn function.sh)
    start_fake 1
    run_layer "$layer" "$task" function.handler --env "JDK_JAVA_OPTIONS=-XX:AOTMode=on"
    stop_fake kill
    assert_failure
    # The JVM never started the runtime: not one request reached the fake.
    run cat "$RECORD"
    assert_output ''
}

@test "a stale AOT cache (another JVM's) is ignored without a word: the runtime serves events" {
    layer=$(unpack_layer stale)
    "$JAVA_HOME/bin/java" -XX:AOTCacheOutput="$BATS_TEST_TMPDIR/hello.aot" --source 21 "$FIXTURES/Hello.java" >/dev/null 2>&1
    cp "$BATS_TEST_TMPDIR/hello.aot" "$layer/jre/lib/bootstrap.aot"
    task=$(task_dir fn function.sh)
    start_fake 2
    run_layer "$layer" "$task" function.handler
    stop_fake
    run answers response
    assert_equal "$(echo "$output" | wc -l)" 2
    run noise "$OUT" "$ERR"
    assert_output ''
}

@test "a damaged AOT cache (truncated) is ignored without a word: the runtime serves events" {
    layer=$(unpack_layer truncated)
    head -c 1000000 "$LAYER/jre/lib/bootstrap.aot" > "$layer/jre/lib/bootstrap.aot"
    task=$(task_dir fn function.sh)
    start_fake 2
    run_layer "$layer" "$task" function.handler
    stop_fake
    run answers response
    assert_equal "$(echo "$output" | wc -l)" 2
    run noise "$OUT" "$ERR"
    assert_output ''
}

@test "a missing AOT cache is ignored without a word: the runtime serves events" {
    layer=$(unpack_layer missing)
    rm "$layer/jre/lib/bootstrap.aot"
    task=$(task_dir fn function.sh)
    start_fake 2
    run_layer "$layer" "$task" function.handler
    stop_fake
    run answers response
    assert_equal "$(echo "$output" | wc -l)" 2
    run noise "$OUT" "$ERR"
    assert_output ''
}

@test "a healthy run prints nothing but the runtime's and the handler's lines" {
    task=$(task_dir fn function.sh)
    start_fake 2
    run_layer "$LAYER" "$task" function.handler
    stop_fake
    run answers response
    assert_equal "$(echo "$output" | wc -l)" 2
    run noise "$OUT" "$ERR"
    assert_output ''
}

@test "the AOT cache does not depend on where the layer is: unpacked elsewhere, -XX:AOTMode=on still maps it" {
    layer=$(unpack_layer elsewhere)
    # The shebang's flags (precompiled: its argfile's), with this directory instead of /opt.
    if [ "$LAYER_VARIANT" = precompiled ]; then
        flags=$(sed 's|/opt/|'"$layer"'/|g' "$layer/jre/lib/bootstrap.args" | tr '\n' ' ')
        program=$layer/bootstrap
        loaded='\] Bootstrap source: shared objects file'
        expected=1
    else
        flags=$(head -n 1 "$layer/bootstrap" | sed 's|^#![^ ]* --source 21 ||; s|/opt/|'"$layer"'/|g')
        program="--source 21 $layer/bootstrap"
        loaded='com.sun.tools.javac.* source: shared objects file'
        expected=1000
    fi
    task=$(task_dir fn function.sh)
    start_fake 1
    # shellcheck disable=SC2086 # flags are separate words
    run timeout "$LIMIT" env -i PATH="/usr/bin:/bin:$layer/bin" LD_LIBRARY_PATH="$layer/lib" \
        AWS_LAMBDA_RUNTIME_API="127.0.0.1:$PORT" _HANDLER=function.handler LAMBDA_TASK_ROOT="$task" \
        "$layer/jre/bin/java" -XX:AOTMode=on -Xlog:class+load=info:file="$BATS_TEST_TMPDIR/classes.log" $flags $program
    stop_fake
    run answers response
    assert_output "202 $(expected_function_response | wc -c)"
    run grep -c "$loaded" "$BATS_TEST_TMPDIR/classes.log"
    assert [ "$output" -ge "$expected" ]
}

@test "ct.sym: JEP 330, cut to the signatures javac reads and still needed; precompiled, no ct.sym and no compiler" {
    zip=$(the_zip)
    if [ "$LAYER_VARIANT" = precompiled ]; then
        # Nothing is compiled at start: no compiler, no ct.sym, and the source launcher is gone.
        run unzip -Z1 "$zip" jre/lib/ct.sym
        assert_failure
        layer=$(unpack_layer no-compiler)
        run "$layer/jre/bin/java" --source 21 "$FIXTURES/Hello.java"
        assert_failure
        assert_output --partial 'jdk.compiler'
        return
    fi
    # Only directories whose names contain L (release 21) are left.
    run sh -c "unzip -p '$zip' jre/lib/ct.sym > '$BATS_TEST_TMPDIR/ct.sym' && unzip -Z1 '$BATS_TEST_TMPDIR/ct.sym' | cut -d/ -f1 | sort -u | grep -v L"
    assert_output ''
    # Of those, the signatures javac reads to compile bootstrap (-verbose) and every module-info.sig.
    sed 1d "$(unpack_layer ctsym-read)/bootstrap" > "$BATS_TEST_TMPDIR/Bootstrap.java"
    "$JAVA_HOME/bin/javac" --release 21 -verbose -proc:none -implicit:none -d "$BATS_TEST_TMPDIR/classes" \
        "$BATS_TEST_TMPDIR/Bootstrap.java" 2>&1 | sed -n 's|^\[loading /\([^/]*L[^/]*/.*\.sig\)\]$|\1|p' | sort -u \
        > "$BATS_TEST_TMPDIR/read.txt"
    unzip -Z1 "$BATS_TEST_TMPDIR/ct.sym" | grep '\.sig$' | sort -u > "$BATS_TEST_TMPDIR/kept.txt"
    # Every entry read is kept; every entry kept was read, or is a module-info.sig.
    run comm -23 "$BATS_TEST_TMPDIR/read.txt" "$BATS_TEST_TMPDIR/kept.txt"
    assert_output ''
    run sh -c "comm -13 '$BATS_TEST_TMPDIR/read.txt' '$BATS_TEST_TMPDIR/kept.txt' | grep -v '/module-info\.sig\$'"
    assert_output ''
    assert [ "$(wc -l < "$BATS_TEST_TMPDIR/kept.txt")" -gt 20 ]
    # Without ct.sym at all, the source launcher refuses --source 21 (so the trimmed file is what keeps it working).
    layer=$(unpack_layer no-ctsym)
    rm "$layer/jre/lib/ct.sym"
    run "$layer/jre/bin/java" --source 21 "$FIXTURES/Hello.java"
    assert_failure
    assert_output --partial 'release version 21 not supported'
}
