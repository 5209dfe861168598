#!/usr/bin/env bats
# The precompiled variant (LAUNCH=precompiled): the same bootstrap text as the JEP 330 layer under another first
# line, and a jar that is exactly what javac makes of that text, so reading bootstrap is still reading the
# runtime. Its sandbox conformance runs in run-in-sandbox.bats and isolation.bats (spec/layer/run.sh runs them
# for both variants).

load helpers

@test "precompiled: the build succeeded; dist has java-shell-runtime-precompiled-<arch>-<version>.zip and its .sha256" {
    run cat "$LT/build-precompiled.status"
    assert_output 0
    zip=$(the_zip precompiled)
    version=$(tr -d ' \n' < "$ROOT/VERSION")
    case $(uname -m) in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; esac
    suffix=''
    layer_is_local && suffix=-local
    assert_equal "$(basename "$zip")" "java-shell-runtime-precompiled-$arch-$version$suffix.zip"
    run sh -c "cd '$LT/dist' && sha256sum -c '$(basename "$zip").sha256'"
    assert_success
    run cat "$LT/build-precompiled.log"
    assert_line --regexp '^layer:   jre/lib/bootstrap.jar = javac --release 21 of bootstrap.s text, byte for byte \([0-9]+ classes\)$'
}

@test "precompiled: bootstrap is the JEP 330 layer's bootstrap with another first line" {
    pre=$(unpack_layer pre precompiled)
    src=$(unpack_layer src source)
    run head -n 1 "$pre/bootstrap"
    assert_output '#!/opt/jre/bin/java @/opt/jre/lib/bootstrap.args'
    run diff <(sed 1d "$src/bootstrap") <(sed 1d "$pre/bootstrap")
    assert_success
    # The argfile: the JEP 330 shebang's JVM flags (not its --source and -cp), then the jar and the class.
    flags=$(head -n 1 "$src/bootstrap" | sed 's|^#![^ ]* --source 21 ||; s| -cp [^ ]*||' | tr ' ' '\n')
    run cat "$pre/jre/lib/bootstrap.args"
    assert_output "$(printf '%s\n-cp\n/opt/jre/lib/bootstrap.jar\nBootstrap' "$flags")"
}

@test "precompiled: bootstrap.jar holds exactly the classes javac --release 21 compiles from bootstrap's text" {
    pre=$(unpack_layer jar precompiled)
    d=$BATS_TEST_TMPDIR
    # The text as the source launcher sees it: the first line blanked, so line numbers are bootstrap's.
    mkdir -p "$d/src" "$d/jar"
    { echo; sed 1d "$pre/bootstrap"; } > "$d/src/Bootstrap.java"
    "$JAVA_HOME/bin/javac" --release 21 -d "$d/classes" "$d/src/Bootstrap.java"
    (cd "$d/jar" && unzip -q "$pre/jre/lib/bootstrap.jar")
    run diff -r "$d/classes" "$d/jar"
    assert_success
    assert_output ''
    assert [ "$(find "$d/jar" -name '*.class' | wc -l)" -gt 5 ]
    # The comparison can fail: the same text one line lower (the first line deleted instead of blanked, say)
    # gives other class bytes, through the line numbers they carry.
    mkdir -p "$d/changed"
    { echo; cat "$d/src/Bootstrap.java"; } > "$d/changed/Bootstrap.java"
    "$JAVA_HOME/bin/javac" --release 21 -d "$d/changed-classes" "$d/changed/Bootstrap.java"
    run diff -r -q "$d/changed-classes" "$d/jar"
    assert_failure
}

@test "precompiled: the jar is reproducible: entries sorted, every timestamp SOURCE_DATE_EPOCH, no extra fields" {
    zip=$(the_zip precompiled)
    unzip -p "$zip" jre/lib/bootstrap.jar > "$BATS_TEST_TMPDIR/bootstrap.jar"
    run sh -c "unzip -Z1 '$BATS_TEST_TMPDIR/bootstrap.jar'"
    assert_equal "$output" "$(printf '%s\n' "$output" | LC_ALL=C sort)"
    # One timestamp, the one of every entry of the layer zip (both written for SOURCE_DATE_EPOCH).
    run sh -c "zipinfo -T -l '$BATS_TEST_TMPDIR/bootstrap.jar' | awk '/^-/ { print \$8 }' | sort -u"
    assert_output "$(zipinfo -T -l "$zip" bootstrap | awk '/^-/ { print $8 }')"
    run sh -c "zipinfo -v '$BATS_TEST_TMPDIR/bootstrap.jar' | grep -c 'length of extra field: *[1-9]'"
    assert_output 0
}

@test "precompiled: the JRE is java.base alone: no compiler, no ct.sym" {
    pre=$(unpack_layer modules precompiled)
    run sh -c "'$pre/jre/bin/java' --list-modules | sed 's/@.*//'"
    assert_output java.base
    assert [ ! -e "$pre/jre/lib/ct.sym" ]
    assert [ -s "$pre/jre/lib/bootstrap.aot" ]
}
