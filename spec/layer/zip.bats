#!/usr/bin/env bats
# The zip `make layer` built (spec/layer/run.sh copies it; offline, a local layer from Debian's jq without the
# AWS CLI): the build's report, the layout Lambda expects at /opt, modes, links, size, and reproducibility.

load helpers

@test "the build succeeded and reported each step with sizes, then the unzipped and zipped size" {
    run cat "$LT/build.status"
    assert_output 0
    run cat "$LT/build.log"
    for n in 1 2 3 4 5 6 7 8 9 10; do assert_line --regexp "^layer: \[$n/10\] "; done
    assert_line --regexp '^layer:   JRE: [0-9.]+ MiB \([0-9,]+ bytes\), [0-9]+ ELF files checked$'
    assert_line --regexp '^layer:   AOT cache /opt/jre/lib/bootstrap.aot: [0-9.]+ MiB'
    assert_line --regexp '^layer:   unzipped [0-9.]+ MiB \([0-9,]+ bytes\), zipped [0-9.]+ MiB \([0-9,]+ bytes\)$'
}

@test "dist has java-shell-runtime-<arch>-<version>[-local].zip and a .sha256 that sha256sum -c accepts" {
    zip=$(the_zip)
    version=$(tr -d ' \n' < "$ROOT/VERSION")
    case $(uname -m) in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; esac
    if layer_is_local; then suffix=-local; else suffix=''; fi
    assert_equal "$(basename "$zip")" "java-shell-runtime-$arch-$version$suffix.zip"
    run sh -c "cd '$LT/dist' && sha256sum -c '$(basename "$zip").sha256'"
    assert_success
    assert_output "$(basename "$zip"): OK"
}

@test "zip layout: bootstrap, jre/, bin/jq, lib/ or the AWS CLI at the root (no opt/ prefix), the AOT cache" {
    zip=$(the_zip)
    run sh -c "unzip -Z1 '$zip' | cut -d/ -f1 | sort -u"
    # A local layer: Debian's jq with its libraries, no CLI. A publishable one: the static jq and the CLI.
    if layer_is_local; then assert_output "$(printf 'bin\nbootstrap\njre\nlib')"; else assert_output "$(printf 'aws-cli\nbin\nbootstrap\njre')"; fi
    run unzip -Z1 "$zip"
    assert_line bootstrap
    assert_line bin/jq
    assert_line jre/bin/java
    assert_line jre/lib/modules
    assert_line jre/lib/bootstrap.aot
    assert_line jre/lib/ct.sym
    if layer_is_local; then
        assert_line lib/libjq.so.1
        refute_line --regexp '^aws-cli'
        refute_line bin/aws
    else
        assert_line bin/aws
    fi
    # Only what runs the bootstrap: no other launcher, no header files, no man pages.
    refute_line jre/bin/javac
    refute_line --regexp '^jre/include/'
    refute_line --regexp '^jre/man/'
    # The legal notices the JDK's licence asks for stay.
    assert_line --regexp '^jre/legal/java.base/'
}

@test "the JRE holds only the modules the source launcher needs" {
    layer=$(unpack_layer modules)
    run "$layer/jre/bin/java" --list-modules
    assert_success
    run sh -c "'$layer/jre/bin/java' --list-modules | sed 's/@.*//'"
    assert_output "$(printf 'java.base\njava.compiler\njdk.compiler\njdk.internal.opt\njdk.zipfs')"
}

@test "modes: directories and programs 755, everything else 644, so Lambda's non-root user can use them" {
    zip=$(the_zip)
    # zipinfo: mode in column 1, name last. No entry may be writable by group/others or unreadable;
    # symbolic links (jlink's shared legal notices) have no modes of their own.
    run sh -c "zipinfo '$zip' | awk '\$1 ~ /^[-dl][-r]/ { print \$1, \$NF }' | grep -v -e '^drwxr-xr-x ' -e '^-rwxr-xr-x ' -e '^-rw-r--r-- ' -e '^lrwxrwxrwx '"
    assert_output ''
    run sh -c "zipinfo '$zip' | awk '\$1 ~ /^-rwx/ { print \$NF }' | grep -v '^aws-cli/' | sort"
    assert_output "$(printf 'bin/jq\nbootstrap\njre/bin/java\njre/lib/jspawnhelper')"
}

@test "no entry carries a build path, a uid/gid or a timestamp other than SOURCE_DATE_EPOCH" {
    zip=$(the_zip)
    layer=$(unpack_layer paths)
    run grep -rl -e "$ROOT" -e "$LT" "$layer"
    assert_output ''
    # -X: no extra fields at all (zipinfo -v shows "There is no extra field" or a length of 0 for each entry).
    run sh -c "zipinfo -v '$zip' | grep -c 'length of extra field: *[1-9]'"
    assert_output 0
    run sh -c "zipinfo -T '$zip' | awk '\$1 ~ /^[-dl][-r]/ { print \$7 }' | sort -u | wc -l"
    assert_output 1
}

@test "links: every symbolic link is relative and resolves inside the layer (check_links)" {
    . "$ROOT/scripts/lib/layer.sh"
    layer=$(unpack_layer links)
    run check_links "$layer"
    assert_success
    # The check itself fails on each kind of bad link.
    d=$(scratch badlinks)
    mkdir -p "$d/bin" "$d/aws-cli/v2/2.0.0/bin"
    touch "$d/aws-cli/v2/2.0.0/bin/aws"
    ln -s 2.0.0 "$d/aws-cli/v2/current"
    ln -s ../aws-cli/v2/current/bin/aws "$d/bin/aws"
    run check_links "$d"
    assert_success
    ln -s "$d/aws-cli/v2/current/bin/aws" "$d/bin/abs"
    run check_links "$d"
    assert_failure
    assert_output --partial 'bin/abs -> '"$d"'/aws-cli/v2/current/bin/aws is absolute'
    rm "$d/bin/abs"
    ln -s ../missing "$d/bin/dangling"
    run check_links "$d"
    assert_failure
    assert_output --partial 'bin/dangling -> ../missing does not resolve'
    rm "$d/bin/dangling"
    # An escape is refused whether its target exists on the build machine or not, at any checkout depth.
    touch "$d/../outside"
    ln -s ../../outside "$d/bin/escape"
    run check_links "$d"
    assert_failure
    assert_output --partial 'bin/escape -> ../../outside points outside the layer'
    rm "$d/bin/escape"
    ln -s ../../../../../../../../../../../../../../../../../../../../nowhere "$d/bin/escape"
    run check_links "$d"
    assert_failure
    assert_output --partial 'points outside the layer'
}

@test "size: the unzipped layer is under the limit the build enforces (250 MiB less 50 MiB kept for the function)" {
    zip=$(the_zip)
    unzipped=$(zipinfo -t "$zip" | awk '{ print $3 }')
    assert [ "$unzipped" -lt $((262144000 - 50 * 1048576)) ]
    run cat "$LT/build.log"
    assert_line --partial "limit for this layer: 200.0 MiB (209,715,200 bytes)"
}

@test "reproducible: the same inputs (AOT cache included) give the same sha256" {
    zip=$(the_zip)
    # JDK 25's AOT assembly is not byte-for-byte repeatable, so the cache of the first build is an input here.
    cache=$BATS_TEST_TMPDIR/bootstrap.aot
    unzip -p "$zip" jre/lib/bootstrap.aot > "$cache"
    # The same inputs: the jq the zip holds (the libraries it needs come from this machine again), no CLI.
    unzip -l "$zip" bin/aws >/dev/null 2>&1 && skip "the layer has the AWS CLI, whose installer is not kept: make test-layer LAYER_KIND=local checks this"
    unzip -p "$zip" bin/jq > "$BATS_TEST_TMPDIR/jq" && chmod 755 "$BATS_TEST_TMPDIR/jq"
    if layer_is_local; then kind=local; else kind=publish; fi
    run env LAYER_KIND=$kind JQ="$BATS_TEST_TMPDIR/jq" AWS_CLI=none AOT_CACHE="$cache" \
        DIST="$BATS_TEST_TMPDIR/dist" BUILD="$BATS_TEST_TMPDIR/build" "$ROOT/scripts/build_layer.sh"
    assert_success
    assert_equal "$(cut -d' ' -f1 "$BATS_TEST_TMPDIR/dist/$(basename "$zip").sha256")" "$(cut -d' ' -f1 "$zip.sha256")"
}

@test "the build says which kind of layer it made: a local one in its name, zip comment and report" {
    zip=$(the_zip)
    run cat "$LT/build.log"
    if layer_is_local; then
        assert_line --regexp '^layer: LOCAL layer: .*: this layer is for this machine only \(glibc limit [0-9.]+, publish_layer.sh refuses it\)$'
        assert_line 'layer:   a LOCAL layer: for the local Lambda and the tests on this machine, not for Lambda (see docs/layer.md)'
        host_glibc=$(getconf GNU_LIBC_VERSION | awk '{ print $2 }')
        assert_line --regexp "^layer: \[7/10\] checks: the runtime's classes, architecture, glibc <= $host_glibc, links, modes$"
        run unzip -z "$zip"
        assert_line "java-shell-runtime LOCAL layer: built for this machine (glibc <= $host_glibc), not for Lambda"
    else
        refute_line --partial 'LOCAL layer'
        assert_line 'layer:   a publishable layer: every bundled program needs at most glibc 2.34 (provided.al2023)'
        assert_line --regexp '^layer: \[7/10\] checks: the runtime.s classes, architecture, glibc <= 2\.34, links, modes$'
        run unzip -z "$zip"
        refute_output --partial LOCAL
    fi
}
