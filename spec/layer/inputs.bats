#!/usr/bin/env bats
# scripts/build_layer.sh fails early, with a clear message, on a missing or bad input or tool, and refuses
# programs that would not run on Amazon Linux 2023 in a publishable layer. None of these builds gets as far as
# jlink, except the offline fallback's, which stops at the size check.

load helpers

# build ENV...: runs the build with explicit local inputs plus ENV, into this test's temporary directory.
# Explicit inputs make a publishable layer, checked against Lambda's glibc whatever the caller's environment says.
build() {
    run env -u LAYER_GLIBC_MAX -u LAYER_KIND JQ=/usr/bin/jq AWS_CLI=none DIST="$BATS_TEST_TMPDIR/dist" BUILD="$BATS_TEST_TMPDIR/build" "$@" \
        "$ROOT/scripts/build_layer.sh"
}

refute_slow_steps() {
    refute_output --partial '] JRE: jlink'
    run find "$BATS_TEST_TMPDIR" -path '*/dist/*.zip'
    assert_output ''
}

@test "JQ naming a missing file" {
    build JQ=/nonexistent/jq
    assert_failure
    assert_output --partial 'layer: error: JQ=/nonexistent/jq: no such file'
    refute_slow_steps
}

@test "JQ naming something that is not a program" {
    build JQ="$ROOT/VERSION"
    assert_failure
    assert_output --partial "is not executable"
    chmod 755 "$BATS_TEST_TMPDIR" && cp "$ROOT/VERSION" "$BATS_TEST_TMPDIR/notelf" && chmod 755 "$BATS_TEST_TMPDIR/notelf"
    build JQ="$BATS_TEST_TMPDIR/notelf"
    assert_failure
    assert_output --partial "is not an ELF program"
    refute_slow_steps
}

@test "Debian's jq needs a glibc newer than 2.34 (libjq: hypot, arc4random): refused for Amazon Linux 2023" {
    build
    assert_failure
    # The newest version it names depends on Debian's libjq1 update (2.35 hypot, 2.36 arc4random).
    assert_output --regexp 'lib/libjq\.so\.1 needs GLIBC_2\.3[5-9] \([a-z0-9 ]+\): the limit is glibc 2\.34 \(provided\.al2023\)'
    # The message names the way to a layer for this machine.
    assert_output --partial 'for a layer that stays on this machine: make layer-local'
    refute_slow_steps
    # LAYER_KIND=publish cannot be talked round by a raised limit.
    build LAYER_KIND=publish LAYER_GLIBC_MAX=2.99
    assert_failure
    assert_output --partial 'LAYER_GLIBC_MAX=2.99 is above Lambda'"'"'s 2.34: LAYER_KIND=publish cannot lift it'
}

@test "LAYER_KIND=publish never falls back: a failed download fails the build, naming the ways out" {
    # An unreachable proxy makes the real curl fail as it does offline, on any machine.
    run env -u JQ -u LAYER_GLIBC_MAX LAYER_KIND=publish AWS_CLI=none https_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 \
        DIST="$BATS_TEST_TMPDIR/dist" BUILD="$BATS_TEST_TMPDIR/build" "$ROOT/scripts/build_layer.sh"
    assert_failure
    assert_output --partial 'layer: error: download of jq-linux-'
    assert_output --partial 'give JQ=/path, or make layer-local for this machine only'
    refute_output --partial 'LOCAL layer'
    refute_slow_steps
}

@test "LAYER_KIND must be auto, publish or local" {
    build LAYER_KIND=release
    assert_failure
    assert_output --partial 'LAYER_KIND=release: use auto (the default), publish or local'
}

@test "the plain build, where the downloads fail (offline), falls back to this machine's jq and says it is a local layer; the size limit" {
    command -v jq >/dev/null || skip "this machine has no jq to fall back to"
    # AOT_CACHE skips the training and LAYER_RESERVE_MB=240 stops the build at the size check, which this test
    # checks too: what matters is what the build chose and said before that, not a second full build.
    zip=$(the_zip)
    unzip -p "$zip" jre/lib/bootstrap.aot > "$BATS_TEST_TMPDIR/bootstrap.aot"
    run env -u JQ -u AWS_CLI -u LAYER_KIND -u LAYER_GLIBC_MAX https_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 \
        AOT_CACHE="$BATS_TEST_TMPDIR/bootstrap.aot" LAYER_RESERVE_MB=240 \
        DIST="$BATS_TEST_TMPDIR/dist" BUILD="$BATS_TEST_TMPDIR/build" "$ROOT/scripts/build_layer.sh"
    host_glibc=$(getconf GNU_LIBC_VERSION | awk '{ print $2 }')
    assert_output --partial "layer: LOCAL layer: jq cannot be downloaded (offline?): this layer is for this machine only (glibc limit $host_glibc"
    assert_output --partial "layer:   this machine's jq, $(command -v jq) (a local layer)"
    assert_output --partial 'layer:   left out: a local layer has no AWS CLI unless AWS_CLI_ZIP names an installer'
    assert_output --partial "checks: the runtime's classes, architecture, glibc <= $host_glibc, links, modes"
    # It got past the glibc check that refuses the same jq for a publishable layer, to the size check, which
    # fails when the layer would leave the function less than LAYER_RESERVE_MB, and leaves no zip.
    assert_failure
    assert_output --partial 'layer: error: the layer unzips to'
    assert_output --partial 'Leave the AWS CLI out (AWS_CLI=none) or lower LAYER_RESERVE_MB'
    run ls "$BATS_TEST_TMPDIR/dist"
    assert_output ''
}

@test "AWS_CLI_ZIP naming a missing file" {
    build AWS_CLI= AWS_CLI_ZIP=/nonexistent/awscliv2.zip
    assert_failure
    assert_output --partial 'layer: error: AWS_CLI_ZIP=/nonexistent/awscliv2.zip: no such file'
    refute_slow_steps
}

@test "AWS_CLI_ZIP that is not a zip" {
    build AWS_CLI= AWS_CLI_ZIP="$ROOT/VERSION"
    assert_failure
    assert_output --partial 'is not a readable zip'
    refute_slow_steps
}

@test "AWS_CLI_ZIP that is a zip but not the AWS CLI installer" {
    (cd "$FIXTURES" && zip -q "$BATS_TEST_TMPDIR/other.zip" event.json)
    build AWS_CLI= AWS_CLI_ZIP="$BATS_TEST_TMPDIR/other.zip"
    assert_failure
    assert_output --partial 'is not the AWS CLI v2 installer (no aws/install and aws/dist/aws in it)'
    refute_slow_steps
}

@test "AWS_CLI with a value other than none" {
    build AWS_CLI=maybe
    assert_failure
    assert_output --partial 'AWS_CLI=maybe: use AWS_CLI=none'
    refute_slow_steps
}

@test "LAUNCH with a value other than source or precompiled" {
    build LAUNCH=compiled
    assert_failure
    assert_output --partial 'LAUNCH=compiled: use LAUNCH=source (the default, JEP 330) or LAUNCH=precompiled'
    refute_slow_steps
}

@test "downloads need curl: without it, the message names the local override" {
    # A PATH with every tool of /usr/bin and /bin except curl.
    bin=$BATS_TEST_TMPDIR/bin
    mkdir -p "$bin"
    for f in /usr/bin/* /bin/*; do
        case ${f##*/} in curl) continue ;; esac
        [ -e "$bin/${f##*/}" ] || ln -s "$f" "$bin/${f##*/}"
    done
    run env -u JQ PATH="$bin" LAYER_KIND=publish AWS_CLI=none DIST="$BATS_TEST_TMPDIR/dist" BUILD="$BATS_TEST_TMPDIR/build" \
        "$ROOT/scripts/build_layer.sh"
    assert_failure
    assert_output --partial "'curl' not found: needed to download jq (or give a local binary with JQ=/path)"
    # The default (auto) takes this machine's jq instead, and says the layer is local.
    run env -u JQ -u LAYER_KIND PATH="$bin" AWS_CLI=none AOT_CACHE=/nonexistent/bootstrap.aot DIST="$BATS_TEST_TMPDIR/dist" \
        BUILD="$BATS_TEST_TMPDIR/build" "$ROOT/scripts/build_layer.sh"
    assert_output --partial 'layer: LOCAL layer: no curl to download jq and the AWS CLI'
    assert_output --partial "AOT_CACHE=/nonexistent/bootstrap.aot: no such file"
}

@test "a missing tool (zip) is named" {
    bin=$BATS_TEST_TMPDIR/bin
    mkdir -p "$bin"
    for f in /usr/bin/* /bin/*; do
        case ${f##*/} in zip) continue ;; esac
        [ -e "$bin/${f##*/}" ] || ln -s "$f" "$bin/${f##*/}"
    done
    build PATH="$bin"
    assert_failure
    assert_output --partial "'zip' not found: install zip"
}

@test "a target JDK that is not JDK 25, or not a JDK" {
    build TARGET_JAVA_HOME=/nonexistent/jdk
    assert_failure
    assert_output --partial '/nonexistent/jdk is not a JDK (no release file)'
    # A directory that says it is a JDK 17 (what the build reads first).
    jdk17=$BATS_TEST_TMPDIR/jdk-17
    mkdir -p "$jdk17/bin"
    printf 'JAVA_VERSION="17.0.12"\nOS_ARCH="x86_64"\n' > "$jdk17/release"
    build TARGET_JAVA_HOME="$jdk17"
    assert_failure
    assert_output --partial "is JDK '17', not 25"
    build TARGET_JDK=/nonexistent/jdk.tar.gz
    assert_failure
    assert_output --partial 'TARGET_JDK=/nonexistent/jdk.tar.gz: no such file'
}

@test "AOT_CACHE naming a missing file" {
    build AOT_CACHE=/nonexistent/bootstrap.aot
    assert_failure
    assert_output --partial 'AOT_CACHE=/nonexistent/bootstrap.aot: no such file'
    refute_slow_steps
}
