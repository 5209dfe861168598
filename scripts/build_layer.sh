#!/bin/sh
# build_layer.sh (make layer): builds dist/java-shell-runtime-<arch>-<version>.zip and its .sha256.
#
# The zip is the Lambda layer (unpacked by Lambda at /opt): bootstrap, jre/ (a jlink image of JDK 25 with an
# AOT cache trained on the real bootstrap), bin/jq, bin/aws + aws-cli/ (AWS CLI v2), lib/ when a bundled
# program needs shared libraries. docs/layer.md explains every step and measurement.
#
# Two kinds of layer. A publishable layer (dist/java-shell-runtime-<arch>-<version>.zip) is made from the official
# downloads or from explicit inputs, and every bundled program must run on Amazon Linux 2023 (glibc 2.34). A local
# layer (dist/java-shell-runtime-<arch>-<version>-local.zip, zip comment "java-shell-runtime LOCAL layer") is made
# from this machine's jq, without the AWS CLI, with the glibc limit lifted to this machine's: it runs in the local
# Lambda and the tests' sandbox here, never on Lambda, and scripts/publish_layer.sh refuses it. LAYER_KIND chooses:
#   LAYER_KIND=auto    (default) publishable; when the downloads are impossible (no curl, offline) and no explicit
#                      input replaces them, a local layer instead, said on stderr
#   LAYER_KIND=publish publishable or nothing: a failed download fails the build
#   LAYER_KIND=local   a local layer (JQ and AWS_CLI_ZIP still apply when given)
#
# Inputs (environment variables; all optional except a JDK 25):
#   JAVA_HOME          JDK 25 that runs the build (the Makefile sets it with scripts/find_jdk.sh)
#   TARGET_JAVA_HOME   JDK 25 of the target architecture (default: JAVA_HOME). Its bin/java and bin/jlink run
#                      here, under qemu-user (binfmt_misc) when the architecture differs; when it has jmods/,
#                      the host jlink links from those instead.
#   TARGET_JDK         a JDK 25 .tar.gz for the target architecture, unpacked and used as TARGET_JAVA_HOME
#   JQ=/path           a local jq binary instead of the official release download (JQ_VERSION, default 1.8.1)
#   AWS_CLI=none       leave the AWS CLI out (a slim layer)
#   AWS_CLI_ZIP=/path  a local AWS CLI v2 installer zip instead of the download; AWS_CLI_SIG=/path verifies it
#                      against layer/aws-cli-team.asc (without it a local zip is trusted as given)
#   AWS_CLI_VERSION    installer version to download (default: the latest; pin it for reproducible builds)
#   BOOTSTRAP=/path    the bootstrap file to ship (default: ./bootstrap, made by `make bootstrap`)
#   AOT_CACHE=/path    use this AOT cache instead of training one (to reproduce a released zip bit for bit)
#   SOURCE_DATE_EPOCH  timestamp of every zip entry (default: the commit time of HEAD)
#   LAYER_GLIBC_MAX    newest glibc symbol version a bundled binary may need (default 2.34, Amazon Linux 2023;
#                      a local layer: this machine's). A limit above 2.34 makes the layer a local one.
#   LAYER_RESERVE_MB   room kept for the function's own code under Lambda's 250 MiB unzipped limit (default 50)
#   LAYER_VERSION      overrides the version (default: the git tag vX.Y.Z at HEAD, else the VERSION file)
#   LAYER_TRAIN_COUNT  invocations of the AOT training run (default 40)
#   LAYER_JLINK_COMPRESS  jlink --compress level (default zip-0, precompiled zip-6: measured in docs/layer.md)
#   LAUNCH             source (default): bootstrap runs through the JDK's source launcher (JEP 330), which
#                      compiles it at every start. precompiled: java-shell-runtime-precompiled-<arch>-<version>.zip,
#                      whose bootstrap is the same source text with a first line that runs the classes javac
#                      compiled from that text at build time (jre/lib/bootstrap.jar); no compiler in its JRE.
# Output: dist/ (DIST), work files under build/layer/<arch>/ or build/layer/precompiled-<arch>/ (BUILD). Progress goes
# to stderr; stdout is one line, the path of the zip.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
# shellcheck disable=SC2034 # used by scripts/lib/layer.sh
layer_me=layer layer_steps=10
# shellcheck source=scripts/lib/layer.sh disable=SC1091
. scripts/lib/layer.sh

lambda_limit=262144000 # "Unzipped size must be smaller than 262144000 bytes" (function + all layers)
lambda_glibc=2.34 # Amazon Linux 2023, provided.al2023
host_glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{ print $2 }')
kind_asked=${LAYER_KIND:-auto}
case $kind_asked in
    auto | publish) kind=publish ;;
    local) kind=local ;;
    *) die "LAYER_KIND=$kind_asked: use auto (the default), publish or local" ;;
esac
glibc_max=${LAYER_GLIBC_MAX:-$lambda_glibc}
if [ "$kind" = local ] && [ -z "${LAYER_GLIBC_MAX:-}" ]; then glibc_max=${host_glibc:-$lambda_glibc}; fi
if version_gt "$glibc_max" "$lambda_glibc"; then
    [ "$kind_asked" != publish ] || die "LAYER_GLIBC_MAX=$glibc_max is above Lambda's $lambda_glibc: LAYER_KIND=publish cannot lift it"
    kind=local
fi
# host_jq: this machine's jq, the file itself (is_elf refuses a link).
host_jq() { _hj=$(command -v jq) && readlink -f "$_hj"; }
# download URL FILE: curl, retried on transient errors, but not when the host cannot even be resolved or reached
# (curl 6, 7: offline), which its retries would only delay by seconds.
download() {
    _dl=0
    curl -fsSL -o "$2" "$1" || _dl=$?
    case $_dl in
        0) return 0 ;;
        6 | 7) return "$_dl" ;;
    esac
    curl -fsSL --retry 3 -o "$2" "$1"
}
# go_local WHY: the rest of the build makes a local layer (auto only), and says so on stderr.
go_local() {
    kind=local
    [ -n "${LAYER_GLIBC_MAX:-}" ] || glibc_max=${host_glibc:-$lambda_glibc}
    say "LOCAL layer: $1: this layer is for this machine only (glibc limit $glibc_max, publish_layer.sh refuses it)"
}
reserve_mb=${LAYER_RESERVE_MB:-50}
case $reserve_mb in '' | *[!0-9]*) die "LAYER_RESERVE_MB must be a whole number of MiB" ;; esac
layer_limit=$((lambda_limit - reserve_mb * 1048576))
jq_version=${JQ_VERSION:-1.8.1}
train_count=${LAYER_TRAIN_COUNT:-40}
dist=${DIST:-$root/dist}
build_root=${BUILD:-$root/build}
case $build_root in /*) ;; *) build_root=$root/$build_root ;; esac
case $dist in /*) ;; *) dist=$root/$dist ;; esac

# --------------------------------------------------------------------------------------------------------
step "checking tools and inputs"
: "${JAVA_HOME:?set JAVA_HOME to a JDK 25 (make sets it with scripts/find_jdk.sh)}"
if [ ! -x "$JAVA_HOME/bin/java" ] || [ ! -x "$JAVA_HOME/bin/javac" ]; then die "JAVA_HOME=$JAVA_HOME has no bin/java and bin/javac"; fi
need_tool zip "install zip (Debian/Ubuntu: apt-get install zip)"
need_tool unzip "install unzip (Debian/Ubuntu: apt-get install unzip)"
need_tool objdump "install binutils (checks the glibc versions bundled programs need)"
need_tool sha256sum "install coreutils"
launch=${LAUNCH:-source}
case $launch in
    source | precompiled) ;;
    *) die "LAUNCH=$launch: use LAUNCH=source (the default, JEP 330) or LAUNCH=precompiled" ;;
esac
bootstrap=${BOOTSTRAP:-$root/bootstrap}
[ -f "$bootstrap" ] || die "$bootstrap is missing: run 'make bootstrap' (it is generated from Bootstrap.java and layer/jvm-flags)"
[ -f spec/support/FakeRuntimeApi.java ] || die "spec/support/FakeRuntimeApi.java is missing (the AOT training talks to it)"

if [ -n "${TARGET_JDK:-}" ]; then
    [ -f "$TARGET_JDK" ] || die "TARGET_JDK=$TARGET_JDK: no such file"
    target_home=$build_root/layer/target-jdk
    rm -rf "$target_home" && mkdir -p "$target_home"
    say "unpacking $TARGET_JDK"
    tar -xzf "$TARGET_JDK" -C "$target_home" --strip-components=1 || die "cannot unpack TARGET_JDK=$TARGET_JDK"
    [ -d "$target_home/Contents/Home" ] && target_home=$target_home/Contents/Home
else
    target_home=${TARGET_JAVA_HOME:-$JAVA_HOME}
fi
[ -f "$target_home/release" ] || die "$target_home is not a JDK (no release file)"
target_version=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$target_home/release")
[ "$target_version" = 25 ] || die "the target JDK $target_home is JDK '$target_version', not 25"
host_version=$(sed -n 's/^JAVA_VERSION="\([^"]*\)".*/\1/p' "$JAVA_HOME/release")
case $(sed -n 's/^OS_ARCH="\(.*\)"/\1/p' "$target_home/release") in
    x86_64 | amd64) arch=amd64 gnu_arch=x86_64 obj_arch=i386:x86-64 ;;
    aarch64 | arm64) arch=arm64 gnu_arch=aarch64 obj_arch=aarch64 ;;
    *) die "unsupported target architecture in $target_home/release (Lambda has x86_64 and arm64)" ;;
esac
case $(uname -m) in
    x86_64 | amd64) host_arch=amd64 ;;
    aarch64 | arm64) host_arch=arm64 ;;
    *) host_arch=$(uname -m) ;;
esac
# Can this machine run the target's programs (natively, or through a qemu-user binfmt_misc handler)?
"$target_home/bin/java" -version >/dev/null 2>&1 ||
    die "cannot run $target_home/bin/java on this $host_arch machine. For a $arch layer install qemu-user with
  binfmt_misc (Debian/Ubuntu: apt-get install qemu-user-static binfmt-support; in a container:
  docker run --privileged --rm tonistiigi/binfmt --install $gnu_arch) and, if the JDK's loader is missing,
  the target libc (apt-get install libc6-$arch-cross; export QEMU_LD_PREFIX=/usr/$gnu_arch-linux-gnu)"
if [ "$arch" != "$host_arch" ]; then
    say "target $arch on a $host_arch host: the target JDK runs under qemu-user (slow but the same result)"
fi

if [ -n "${LAYER_VERSION:-}" ]; then
    version=$LAYER_VERSION
elif tag=$(git describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null); then
    version=${tag#v}
elif [ -f VERSION ]; then
    version=$(tr -d ' \n' < VERSION)
else
    die "no version: tag HEAD vX.Y.Z, write VERSION, or set LAYER_VERSION"
fi
case $version in '' | *[!0-9A-Za-z.+-]*) die "bad version '$version'" ;; esac
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null) || die "set SOURCE_DATE_EPOCH (no git commit to take it from)"
fi
case $SOURCE_DATE_EPOCH in '' | *[!0-9]*) die "SOURCE_DATE_EPOCH must be seconds since 1970" ;; esac
# DOS timestamps in zips start in 1980.
[ "$SOURCE_DATE_EPOCH" -ge 315532800 ] || SOURCE_DATE_EPOCH=315532800

# The shebang decides the JRE's job: its interpreter must be /opt/jre/bin/java, its --source release says
# which part of lib/ct.sym javac needs, and an -XX:AOTCache=/opt/... flag says where the cache goes.
interp=$(shebang_interpreter "$bootstrap")
[ "$interp" = /opt/jre/bin/java ] || die "bootstrap's shebang runs '$interp', not /opt/jre/bin/java (the layer's JRE)"
shebang_len=$(head -n 1 "$bootstrap" | wc -c)
[ "$shebang_len" -le 255 ] || die "bootstrap's first line is $shebang_len bytes: Linux reads at most 255 of it (BINPRM_BUF_SIZE)"
release=$(shebang_release "$bootstrap")
[ -n "$release" ] || die "bootstrap's shebang has no '--source N'"
jvm_args=$(shebang_args "$bootstrap" | sed 's/^--source[[:space:]]*[0-9]*[[:space:]]*//')
# shellcheck disable=SC2086 # one flag per line
aot_path=$(printf '%s\n' $jvm_args | sed -n 's/^-XX:AOTCache=//p' | tail -n 1)
case $aot_path in
    '') ;;
    /opt/*) ;;
    *) die "bootstrap's -XX:AOTCache=$aot_path is not under /opt (where Lambda unpacks the layer)" ;;
esac

# Inputs of jq and the AWS CLI (checked now, so that a bad input fails before the slow steps).
# A local layer takes this machine's jq unless JQ says otherwise; auto falls back to it without curl.
if [ -z "${JQ:-}" ] && [ "$kind_asked" = auto ] && ! command -v curl >/dev/null 2>&1; then
    go_local "no curl to download jq and the AWS CLI"
fi
if [ -z "${JQ:-}" ] && [ "$kind" = local ]; then
    JQ=$(host_jq) || die "a local layer takes this machine's jq, and there is none (apt-get install jq, or JQ=/path)"
    jq_fallback=yes
fi
if [ -n "${JQ:-}" ]; then
    [ -f "$JQ" ] || die "JQ=$JQ: no such file"
    [ -x "$JQ" ] || die "JQ=$JQ is not executable"
    is_elf "$JQ" || die "JQ=$JQ is not an ELF program"
else
    need_tool curl "needed to download jq (or give a local binary with JQ=/path)"
fi
aws_cli=${AWS_CLI:-}
# A local layer leaves the CLI out unless an installer zip is given.
[ -n "$aws_cli" ] || [ "$kind" != local ] || [ -n "${AWS_CLI_ZIP:-}" ] || aws_cli=none
case $aws_cli in
    '' | yes) aws_cli=yes ;;
    none | no) aws_cli=none ;;
    *) die "AWS_CLI=$aws_cli: use AWS_CLI=none to leave the CLI out, or AWS_CLI_ZIP=/path for a local installer" ;;
esac
if [ "$aws_cli" = yes ]; then
    if [ -n "${AWS_CLI_ZIP:-}" ]; then
        [ -f "$AWS_CLI_ZIP" ] || die "AWS_CLI_ZIP=$AWS_CLI_ZIP: no such file"
        unzip -tq "$AWS_CLI_ZIP" >/dev/null 2>&1 || die "AWS_CLI_ZIP=$AWS_CLI_ZIP is not a readable zip"
        unzip -l "$AWS_CLI_ZIP" aws/install aws/dist/aws >/dev/null 2>&1 ||
            die "AWS_CLI_ZIP=$AWS_CLI_ZIP is not the AWS CLI v2 installer (no aws/install and aws/dist/aws in it)"
        if [ -n "${AWS_CLI_SIG:-}" ]; then
            [ -f "$AWS_CLI_SIG" ] || die "AWS_CLI_SIG=$AWS_CLI_SIG: no such file"
            need_tool gpg "needed to verify AWS_CLI_SIG (apt-get install gnupg)"
        fi
    elif [ "$kind_asked" = auto ] && ! command -v curl >/dev/null 2>&1; then
        go_local "no curl to download the AWS CLI"
        aws_cli=none
    else
        need_tool curl "needed to download the AWS CLI (or AWS_CLI_ZIP=/path, or AWS_CLI=none)"
        need_tool gpg "needed to verify the AWS CLI installer's signature (apt-get install gnupg)"
    fi
fi
if [ -n "${AOT_CACHE:-}" ]; then
    [ -f "$AOT_CACHE" ] || die "AOT_CACHE=$AOT_CACHE: no such file"
    [ -n "$aot_path" ] || die "AOT_CACHE is set but bootstrap's shebang has no -XX:AOTCache=/opt/... flag"
fi

# check_elf_files PATH...: every ELF file under PATH is for the target and needs no glibc newer than glibc_max.
check_elf_files() {
    elf_checked=0
    _bad=''
    # Programs and shared objects: executable files and *.so* (a data file is never loaded as code).
    for _f in $(find "$@" -type f \( -perm /111 -o -name '*.so' -o -name '*.so.*' \) | LC_ALL=C sort); do
        is_elf "$_f" || continue
        elf_checked=$((elf_checked + 1))
        _rel=${_f#"$stage"/}
        _m=$(elf_machine "$_f")
        [ "$_m" = "$obj_arch" ] || _bad="$_bad
  $_rel is for $_m, not $arch"
        _g=$(elf_glibc_max "$_f")
        if [ -n "$_g" ] && version_gt "$_g" "$glibc_max"; then
            _syms=$(objdump -T "$_f" | awk -v v="GLIBC_$_g" '/\*UND\*/ && index($0, "(" v ")") { print $NF }' | tr '\n' ' ')
            _bad="$_bad
  $_rel needs GLIBC_$_g (${_syms% }): the limit is glibc $glibc_max$([ "$kind" = local ] || echo ' (provided.al2023)')"
        fi
    done
    [ -z "$_bad" ] || die "bundled programs that would not run on Lambda:$_bad
  (jq: use the official static release, the default; for a layer that stays on this machine: make layer-local)"
}

if [ "$launch" = precompiled ]; then
    name=java-shell-runtime-precompiled-$arch-$version
    work=$build_root/layer/precompiled-$arch
else
    name=java-shell-runtime-$arch-$version
    work=$build_root/layer/$arch
fi
stage=$work/root
rm -rf "$work"
mkdir -p "$stage/bin" "$work/tmp" "$dist"
say "building $name: target $arch (JDK $(sed -n 's/^JAVA_RUNTIME_VERSION="\(.*\)"/\1/p' "$target_home/release")), host JDK $host_version"
say "shebang: $(head -n 1 "$bootstrap")"
[ "$launch" = source ] || say "launch: precompiled (the bootstrap's source compiled here, run from jre/lib/bootstrap.jar)"

# --------------------------------------------------------------------------------------------------------
step "bootstrap"
# The runtime's source text with its first line blanked: what the source launcher compiles (it ignores a
# first line that starts with #!), and what the precompiled layer's jar is compiled from. Blank, not deleted,
# so that line numbers in stack traces are those of /opt/bootstrap in both variants.
# The options the source launcher gives javac besides --release (jdk.compiler's RelevantJavacOptions).
source_launcher_javac='-proc:none -implicit:none -Xprefer:source -Xdiags:verbose -Xlint:deprecation -Xlint:unchecked -Xlint:-options'
main_class=$(sed -n 's/^\(public \|final \|abstract \|sealed \)*\(class\|record\|enum\|interface\) \([A-Za-z_$][A-Za-z0-9_$]*\).*/\3/p' "$bootstrap" | head -n 1)
[ -n "$main_class" ] || die "bootstrap declares no top-level class at the start of a line"
src_dir=$work/src
mkdir -p "$src_dir"
{ echo; sed 1d "$bootstrap"; } > "$src_dir/$main_class.java"
if [ "$launch" = source ]; then
    cp "$bootstrap" "$stage/bootstrap"
else
    # The same text under a first line that runs the compiled class. The kernel passes the argfile as one
    # argument and appends the script's path, which the java launcher hands to main as args[0] (the runtime
    # reads no arguments). The argfile holds the shebang's JVM flags, minus the source launcher's own options.
    # shellcheck disable=SC2086 # one flag per word
    set -- $jvm_args
    : > "$work/bootstrap.args"
    while [ $# -gt 0 ]; do
        case $1 in
            -cp | -classpath | --class-path) shift ;;
            -cp=* | --class-path=*) ;;
            *) printf '%s\n' "$1" >> "$work/bootstrap.args" ;;
        esac
        shift
    done
    printf -- '-cp\n/opt/jre/lib/bootstrap.jar\n%s\n' "$main_class" >> "$work/bootstrap.args"
    { echo '#!/opt/jre/bin/java @/opt/jre/lib/bootstrap.args'; sed 1d "$bootstrap"; } > "$stage/bootstrap"
    say "  first line: $(head -n 1 "$stage/bootstrap"); jre/lib/bootstrap.args: $(tr '\n' ' ' < "$work/bootstrap.args")"
fi
chmod 755 "$stage/bootstrap"
say "  bootstrap: $(human "$(bytes_of "$stage/bootstrap")")"
if [ "$launch" = precompiled ]; then
    # Reproducible: javac's output for this text is fixed; the jar's entries are sorted, dated SOURCE_DATE_EPOCH.
    mkdir -p "$work/classes"
    "$JAVA_HOME/bin/javac" --release "$release" -d "$work/classes" "$src_dir/$main_class.java" > "$work/javac.log" 2>&1 ||
        { cat "$work/javac.log" >&2; die "javac --release $release cannot compile the bootstrap's source"; }
    zip_tree "$work/classes" "$work/bootstrap.jar" "$SOURCE_DATE_EPOCH"
    say "  compiled with $("$JAVA_HOME/bin/javac" -version 2>&1) --release $release: $(find "$work/classes" -name '*.class' | wc -l) classes, bootstrap.jar $(human "$(bytes_of "$work/bootstrap.jar")")"
fi

# --------------------------------------------------------------------------------------------------------
step "jq"
if [ -z "${JQ:-}" ]; then
    url=https://github.com/jqlang/jq/releases/download/jq-$jq_version
    say "  downloading $url/jq-linux-$arch and its published sha256sum.txt"
    if download "$url/jq-linux-$arch" "$work/tmp/jq-linux-$arch"; then
        curl -fsSL --retry 3 -o "$work/tmp/jq.sha256sum.txt" "$url/sha256sum.txt" || die "download of jq's sha256sum.txt failed"
        grep "  jq-linux-$arch\$" "$work/tmp/jq.sha256sum.txt" > "$work/tmp/jq.sha256" || die "jq's sha256sum.txt lists no jq-linux-$arch"
        (cd "$work/tmp" && sha256sum -c --quiet jq.sha256) || die "jq-linux-$arch does not match its published checksum"
        say "  verified sha256 $(cut -d' ' -f1 "$work/tmp/jq.sha256")"
        cp "$work/tmp/jq-linux-$arch" "$stage/bin/jq"
    elif [ "$kind_asked" = auto ]; then
        # Offline: this machine's jq is the one input left, and the CLI's download would fail the same way.
        go_local "jq cannot be downloaded (offline?)"
        JQ=$(host_jq) || die "jq cannot be downloaded and this machine has no jq (apt-get install jq, or JQ=/path)"
        is_elf "$JQ" || die "this machine's jq ($JQ) is not an ELF program"
        jq_fallback=yes
        [ -n "${AWS_CLI_ZIP:-}" ] || aws_cli=none
    else
        die "download of jq-linux-$arch failed (offline? give JQ=/path, or make layer-local for this machine only)"
    fi
fi
if [ -n "${JQ:-}" ]; then
    cp "$JQ" "$stage/bin/jq"
    if [ -n "${jq_fallback:-}" ]; then say "  this machine's jq, $JQ (a local layer)"; else say "  local input JQ=$JQ"; fi
fi
chmod 755 "$stage/bin/jq"
# Shared libraries jq needs beyond glibc go to lib/ (on Lambda's LD_LIBRARY_PATH as /opt/lib).
lib_dirs="${LAYER_LIB_DIRS:-/lib/$gnu_arch-linux-gnu /usr/lib/$gnu_arch-linux-gnu /usr/$gnu_arch-linux-gnu/lib /lib64 /usr/lib64}"
bundle_libs() { # bundle_libs ELF: copies its non-glibc NEEDED libraries (and theirs) into lib/
    for _lib in $(elf_needed "$1"); do
        is_system_lib "$_lib" && continue
        [ -f "$stage/lib/$_lib" ] && continue
        _found=''
        for _d in $lib_dirs; do
            if [ -f "$_d/$_lib" ] && [ "$(elf_machine "$_d/$_lib")" = "$obj_arch" ]; then _found=$_d/$_lib; break; fi
        done
        [ -n "$_found" ] || die "${1#"$stage"/} needs $_lib, which is not in $lib_dirs (set LAYER_LIB_DIRS)"
        mkdir -p "$stage/lib"
        cp -L "$_found" "$stage/lib/$_lib"
        chmod 644 "$stage/lib/$_lib"
        say "  bundled lib/$_lib from $_found ($(human "$(bytes_of "$stage/lib/$_lib")"))"
        bundle_libs "$stage/lib/$_lib"
    done
}
bundle_libs "$stage/bin/jq"
if [ -d "$stage/lib" ]; then check_elf_files "$stage/bin/jq" "$stage/lib"; else check_elf_files "$stage/bin/jq"; fi
if [ "$arch" = "$host_arch" ]; then
    jqv=$(LD_LIBRARY_PATH="$stage/lib" "$stage/bin/jq" --version 2>&1) || die "bin/jq does not run: $jqv"
    say "  $jqv: $(human "$(bytes_of "$stage/bin/jq")")"
fi

# --------------------------------------------------------------------------------------------------------
step "AWS CLI v2"
if [ "$aws_cli" = none ]; then
    case ${AWS_CLI:-} in
        none | no) say "  AWS_CLI=$AWS_CLI: left out" ;;
        *) say "  left out: a local layer has no AWS CLI unless AWS_CLI_ZIP names an installer" ;;
    esac
else
    cli_arch=$gnu_arch
    if [ -n "${AWS_CLI_ZIP:-}" ]; then
        cli_zip=$AWS_CLI_ZIP
        cli_sig=${AWS_CLI_SIG:-}
        say "  local input AWS_CLI_ZIP=$cli_zip"
    else
        cli_file=awscli-exe-linux-$cli_arch${AWS_CLI_VERSION:+-$AWS_CLI_VERSION}.zip
        say "  downloading https://awscli.amazonaws.com/$cli_file and its signature"
        if download "https://awscli.amazonaws.com/$cli_file" "$work/tmp/$cli_file"; then
            curl -fsSL --retry 3 -o "$work/tmp/$cli_file.sig" "https://awscli.amazonaws.com/$cli_file.sig" || die "download of $cli_file.sig failed"
            cli_zip=$work/tmp/$cli_file
            cli_sig=$work/tmp/$cli_file.sig
        elif [ "$kind_asked" = auto ]; then
            go_local "the AWS CLI cannot be downloaded (offline?): left out"
            aws_cli=none
        else
            die "download of $cli_file failed (offline? AWS_CLI_ZIP=/path or AWS_CLI=none)"
        fi
    fi
fi
if [ "$aws_cli" != none ]; then
    if [ -n "$cli_sig" ]; then
        gnupg=$work/tmp/gnupg
        mkdir -m 700 "$gnupg"
        gpg --homedir "$gnupg" --batch --quiet --import layer/aws-cli-team.asc 2>"$work/gpg.log" || die "cannot import layer/aws-cli-team.asc"
        gpg --homedir "$gnupg" --batch --status-fd 1 --verify "$cli_sig" "$cli_zip" > "$work/gpg.status" 2>>"$work/gpg.log" || :
        grep -q '^\[GNUPG:\] VALIDSIG FB5DB77FD5C118B80511ADA8A6310ACC4672475C ' "$work/gpg.status" ||
            { cat "$work/gpg.log" >&2; die "the AWS CLI installer's signature is not a valid signature of the AWS CLI Team key (FB5DB77F...4672475C)"; }
        say "  signature verified: AWS CLI Team <aws-cli@amazon.com>, FB5D B77F D5C1 18B8 0511 ADA8 A631 0ACC 4672 475C"
    else
        say "  no AWS_CLI_SIG: the local installer zip is not verified"
    fi
    unzip -q "$cli_zip" -d "$work/tmp/cli" || die "cannot unzip $cli_zip"
    [ "$(elf_machine "$work/tmp/cli/aws/dist/aws")" = "$obj_arch" ] || die "the AWS CLI installer is not for $arch"
    # The installer's documented interface: install -i INSTALL_DIR -b BIN_DIR. It runs dist/aws --version.
    sh "$work/tmp/cli/aws/install" -i "$stage/aws-cli" -b "$stage/bin" > "$work/aws-install.log" 2>&1 ||
        { cat "$work/aws-install.log" >&2; die "aws/install failed"; }
    cli_version=$(find "$stage/aws-cli/v2" -mindepth 1 -maxdepth 1 -type d ! -name current -exec basename {} \; | head -n 1)
    [ -n "$cli_version" ] || die "aws/install left no aws-cli/v2/<version>"
    [ -d "$stage/aws-cli/v2/$cli_version/dist" ] || die "aws/install left no aws-cli/v2/$cli_version/dist"
    # Its links are absolute (the build directory): make them relative, so they resolve under /opt.
    rm -f "$stage/aws-cli/v2/current" "$stage/bin/aws" "$stage/bin/aws_completer"
    ln -s "$cli_version" "$stage/aws-cli/v2/current"
    ln -s ../aws-cli/v2/current/bin/aws "$stage/bin/aws"
    check_elf_files "$stage/aws-cli"
    say "  $elf_checked ELF files checked"
    cli_before=$(bytes_of "$stage/aws-cli")
    # Safe to remove: shell completion (aws_completer and its index) and the examples of `aws help`.
    # Everything a command needs (botocore data, the bundled Python, docutils for help) stays.
    v2=$stage/aws-cli/v2/$cli_version
    rm -rf "$v2/bin/aws_completer" "$v2/dist/aws_completer" "$v2/dist/awscli/data/ac.index" "$v2/dist/awscli/examples"
    say "  installed aws-cli $cli_version: $(human "$cli_before"), $(human "$((cli_before - $(bytes_of "$stage/aws-cli")))") of completion and examples removed"
    if [ "$arch" = "$host_arch" ]; then
        awsv=$("$stage/bin/aws" --version 2>&1) || die "bin/aws does not run: $awsv"
        say "  $awsv"
    fi
fi

# --------------------------------------------------------------------------------------------------------
# The source launcher needs jdk.compiler, which requires java.compiler, jdk.internal.opt and jdk.zipfs.
# The precompiled runtime needs only the modules its classes use (jdeps; java.base today).
if [ "$launch" = source ]; then
    modules=java.base,jdk.compiler
else
    modules=$("$JAVA_HOME/bin/jdeps" --print-module-deps --ignore-missing-deps "$work/bootstrap.jar" 2>"$work/jdeps.log") ||
        { cat "$work/jdeps.log" >&2; die "jdeps cannot list the modules bootstrap.jar needs"; }
    [ -n "$modules" ] || modules=java.base
fi
step "JRE: jlink --add-modules $modules"
if [ -d "$target_home/jmods" ]; then
    jlink="$JAVA_HOME/bin/jlink --module-path $target_home/jmods"
else
    jlink="$target_home/bin/jlink" # a JDK without jmods links from its own run-time image (JEP 493)
fi
# --compress=zip-0 by default: javac's classes that do not come from the AOT cache load slower compressed. The
# precompiled runtime takes nearly every class from the cache, so there zip-6 halves lib/modules at no measured
# cost. docs/layer.md has the measurements.
if [ "$launch" = precompiled ]; then compress=${LAYER_JLINK_COMPRESS:-zip-6}; else compress=${LAYER_JLINK_COMPRESS:-zip-0}; fi
# shellcheck disable=SC2086 # $jlink is a command and its options
$jlink --add-modules "$modules" --output "$stage/jre" \
    --strip-debug --no-header-files --no-man-pages --compress="$compress" --dedup-legal-notices=error-if-not-same-content \
    > "$work/jlink.log" 2>&1 || { cat "$work/jlink.log" >&2; die "jlink failed"; }
say "  linked: $("$stage/jre/bin/java" --list-modules | sed 's/@.*//' | tr '\n' ' ')"
say "  jlink image: $(human "$(bytes_of "$stage/jre")")"

# Drops, each one proven by spec/layer (the bootstrap runs in the sandbox without them).
drop() { # drop PATH WHY
    if [ -e "$stage/jre/$1" ] || [ -L "$stage/jre/$1" ]; then
        _b=$(bytes_of "$stage/jre/$1")
        rm -rf "${stage:?}/jre/$1"
        say "  dropped jre/$1 ($(human "$_b")): $2"
    fi
}
for f in "$stage"/jre/bin/*; do
    [ "${f##*/}" = java ] || drop "bin/${f##*/}" "only bin/java runs"
done
drop lib/jrt-fs.jar "lets other JDKs read this image; this JRE reads itself through java.base"
drop lib/classlist "input to -Xshare:dump only; the AOT cache replaces the default CDS archive"
drop lib/server/classes.jsa "the default CDS archive; the AOT cache replaces it"
drop lib/server/classes_nocoops.jsa "the default CDS archive; the AOT cache replaces it"
drop lib/libjsig.so "signal chaining for JNI code; nothing here loads it"
drop lib/server/libjsig.so "signal chaining for JNI code; nothing here loads it"
drop lib/jexec "runs jars as programs through binfmt_misc; unused"
drop lib/security/public_suffix_list.dat "HTTP cookie domain checks; the runtime speaks plain sockets"
# ct.sym: javac needs the signatures of the --source release only, unless that is the JDK's own release.
ctsym=$stage/jre/lib/ct.sym
if [ -f "$ctsym" ]; then
    if [ "$release" -ge "$target_version" ]; then
        drop lib/ct.sym "--source $release is this JDK's own release: javac reads the image itself"
    else
        # Entries are grouped in directories named by the releases they belong to, one character each:
        # 8, 9, A (10), B (11) ... So release 21 is L and "BCDEFGHIJKL" holds files shared by 11..21.
        letter=$(printf '%s' 0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ | cut -c "$((release + 1))")
        before=$(bytes_of "$ctsym")
        mkdir "$work/ct"
        (cd "$work/ct" && unzip -q "$ctsym") || die "cannot unpack lib/ct.sym"
        for d in "$work"/ct/*; do
            case ${d##*/} in
                *"$letter"*) ;;
                *) rm -rf "$d" ;;
            esac
        done
        [ -n "$(find "$work/ct" -mindepth 1 -maxdepth 1)" ] || die "lib/ct.sym has no entries for release $release"
        # Of those, only what javac reads to compile this bootstrap: it opens the file at every start, and
        # a smaller one is quicker to open. Regenerated at every build from javac's own account (-verbose
        # lists every .sig it loads, as /L/<module>/<path>) of compiling the shipped text with this JRE and
        # the source launcher's options, so a class the file starts to use is kept automatically; every
        # module-info.sig stays (javac reads them all to build the module graph). The training run and the
        # check at the end compile the bootstrap against the trimmed file.
        # shellcheck disable=SC2086 # the source launcher's options, one word each
        "$stage/jre/bin/java" -m jdk.compiler/com.sun.tools.javac.Main --release "$release" -verbose $source_launcher_javac \
            -d "$work/ct-classes" "$src_dir/$main_class.java" > "$work/ct-javac.log" 2>&1 ||
            { cat "$work/ct-javac.log" >&2; die "the layer's javac cannot compile the bootstrap (to list what it reads of ct.sym)"; }
        sed -n "s|^\[loading /\([^/]*${letter}[^/]*/.*\.sig\)\]\$|\1|p" "$work/ct-javac.log" | LC_ALL=C sort -u > "$work/ct-read.txt"
        [ -s "$work/ct-read.txt" ] || die "javac -verbose listed no ct.sym entries it read (see $work/ct-javac.log)"
        (cd "$work/ct" && find . -type f | sed 's|^\./||' | LC_ALL=C sort) |
            awk 'NR == FNR { keep[$0] = 1; next } !($0 in keep) && $0 !~ /\/module-info\.sig$/' \
                "$work/ct-read.txt" - > "$work/ct-drop.txt"
        (cd "$work/ct" && tr '\n' '\0' < "$work/ct-drop.txt" | xargs -0 rm -f)
        find "$work/ct" -depth -type d -empty -delete
        kept=$(find "$work/ct" -type f | wc -l)
        missing=$(while read -r e; do [ -f "$work/ct/$e" ] || echo "$e"; done < "$work/ct-read.txt")
        [ -z "$missing" ] || die "ct.sym entries javac read are missing from the trimmed file: $missing"
        zip_tree "$work/ct" "$ctsym.new" "$SOURCE_DATE_EPOCH"
        mv "$ctsym.new" "$ctsym"
        rm -rf "$work/ct" "$work/ct-classes"
        say "  trimmed jre/lib/ct.sym to what javac reads for the bootstrap at --release $release ($(wc -l < "$work/ct-read.txt") entries read, $kept kept with every module-info.sig): $(human "$before") -> $(human "$(bytes_of "$ctsym")")"
    fi
fi
# Native debug symbols: strip them when the host's binutils understand the target's ELF files.
stripped=0
for f in $(find "$stage/jre" -type f -name '*.so' | LC_ALL=C sort) "$stage/jre/bin/java" "$stage/jre/lib/jspawnhelper"; do
    [ -f "$f" ] || continue
    if strip --strip-unneeded "$f" 2>/dev/null; then stripped=$((stripped + 1)); fi
done
say "  stripped native symbols from $stripped files (strip --strip-unneeded)"
check_elf_files "$stage/jre"
say "  JRE: $(human "$(bytes_of "$stage/jre")"), $elf_checked ELF files checked"
if [ "$launch" = precompiled ]; then
    cp "$work/bootstrap.jar" "$work/bootstrap.args" "$stage/jre/lib/"
    say "  added jre/lib/bootstrap.jar and jre/lib/bootstrap.args"
fi

# --------------------------------------------------------------------------------------------------------
step "AOT cache: training run of the real bootstrap against the fake Runtime API"
if [ -z "$aot_path" ]; then
    say "  bootstrap's shebang has no -XX:AOTCache=/opt/... flag (layer/jvm-flags): no AOT cache in this layer"
elif [ -n "${AOT_CACHE:-}" ]; then
    mkdir -p "$(dirname "$stage${aot_path#/opt}")"
    cp "$AOT_CACHE" "$stage${aot_path#/opt}"
    say "  using AOT_CACHE=$AOT_CACHE (not trained)"
else
    cache=$stage${aot_path#/opt}
    mkdir -p "$(dirname "$cache")"
    # The training JVM gets the shebang's flags, except that the cache is written instead of read, and the
    # flags that silence a missing cache are left out so that problems show in this log.
    train_flags=''
    # The precompiled layer's class path is its jar (below), not the shebang's.
    skip=''
    for a in $jvm_args; do
        if [ -n "$skip" ]; then skip=''; continue; fi
        case $launch:$a in
            *:-XX:AOTCache=* | *:-XX:AOTMode=* | *:-Xlog:aot* | *:-Xlog:cds* | *:-Xlog:disable) ;;
            precompiled:-cp | precompiled:-classpath | precompiled:--class-path) skip=1 ;;
            precompiled:--class-path=*) ;;
            *) train_flags="$train_flags $a" ;;
        esac
    done
    if [ "$launch" = source ]; then
        train_program="--source $release $stage/bootstrap"
    else
        # The same class path and main class as bootstrap.args (at the build's path: the cache finds the jar
        # by its name wherever the layer is unpacked), with the layer's own bootstrap as args[0].
        train_program="-cp $stage/jre/lib/bootstrap.jar $main_class $stage/bootstrap"
    fi
    fake_cls=$work/fake
    mkdir -p "$fake_cls"
    "$JAVA_HOME/bin/javac" -nowarn --release 21 -d "$fake_cls" spec/support/FakeRuntimeApi.java 2>"$work/fake-javac.log" ||
        { cat "$work/fake-javac.log" >&2; die "cannot compile spec/support/FakeRuntimeApi.java"; }
    mkfifo "$work/tmp/port"
    "$JAVA_HOME/bin/java" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$fake_cls" FakeRuntimeApi \
        --port-file "$work/tmp/port" --event layer/training/event.json --count "$train_count" \
        --record "$work/training-api.jsonl" --timeout 600 > "$work/training-api.log" 2>&1 &
    fake_pid=$!
    read -r port < "$work/tmp/port" || { kill "$fake_pid" 2>/dev/null; die "the fake Runtime API did not start (see $work/training-api.log)"; }
    say "  $train_count invocations of layer/training/function.sh (function mode, every 5th fails) on 127.0.0.1:$port"
    # shellcheck disable=SC2086 # train_flags are separate words
    (cd layer/training && env -i PATH="/usr/local/bin:/usr/bin:/bin:$stage/bin" LANG=C.UTF-8 TZ=UTC \
        AWS_LAMBDA_RUNTIME_API="127.0.0.1:$port" _HANDLER=function.handler LAMBDA_TASK_ROOT="$root/layer/training" \
        AWS_LAMBDA_FUNCTION_NAME=training AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512 AWS_REGION=us-east-1 \
        "$stage/jre/bin/java" $train_flags -XX:AOTCacheOutput="$cache" $train_program) \
        > "$work/training.log" 2>&1 || : # the runtime exits 1 when the fake refuses the last /next
    wait "$fake_pid" || : # the fake exits 1 because some invocations failed on purpose
    answered=$(grep -c '"path":"[^"]*/\(response\|error\)"' "$work/training-api.jsonl" || :)
    [ "$answered" -eq "$train_count" ] ||
        { tail -n 20 "$work/training.log" >&2; die "the training run answered $answered of $train_count invocations (see $work/training.log)"; }
    [ -s "$cache" ] || { tail -n 20 "$work/training.log" >&2; die "the training run wrote no AOT cache (see $work/training.log)"; }
    say "  trained: $answered invocations answered; flags:$train_flags"
fi
[ -z "$aot_path" ] || say "  AOT cache ${aot_path}: $(human "$(bytes_of "$stage${aot_path#/opt}")")"

# --------------------------------------------------------------------------------------------------------
step "checks: the runtime's classes, architecture, glibc <= $glibc_max, links, modes"
# The runtime that ships is the source text that ships: compiled again from bootstrap as it is in the layer.
mkdir -p "$work/check/src"
{ echo; sed 1d "$stage/bootstrap"; } > "$work/check/src/$main_class.java"
if [ "$launch" = source ]; then
    # With the layer's own JRE (its trimmed ct.sym), as the source launcher will at every start.
    # shellcheck disable=SC2086 # the source launcher's options, one word each
    "$stage/jre/bin/java" -m jdk.compiler/com.sun.tools.javac.Main --release "$release" $source_launcher_javac \
        -d "$work/check/classes" "$work/check/src/$main_class.java" > "$work/check/javac.log" 2>&1 ||
        { cat "$work/check/javac.log" >&2; die "the layer's JRE cannot compile its bootstrap (a ct.sym entry missing?)"; }
    say "  the layer's JRE compiles bootstrap at --release $release with its trimmed ct.sym"
else
    # bootstrap.jar holds exactly the classes javac makes of the text in bootstrap, byte for byte.
    "$JAVA_HOME/bin/javac" --release "$release" -d "$work/check/classes" "$work/check/src/$main_class.java" > "$work/check/javac.log" 2>&1 ||
        { cat "$work/check/javac.log" >&2; die "javac cannot compile the layer's bootstrap"; }
    mkdir -p "$work/check/jar"
    (cd "$work/check/jar" && unzip -q "$stage/jre/lib/bootstrap.jar") || die "cannot unzip jre/lib/bootstrap.jar"
    diff -r "$work/check/classes" "$work/check/jar" > "$work/check/diff.txt" 2>&1 ||
        { cat "$work/check/diff.txt" >&2; die "jre/lib/bootstrap.jar is not what javac compiles from the layer's bootstrap"; }
    grep -qx -- "$main_class" "$stage/jre/lib/bootstrap.args" || die "jre/lib/bootstrap.args does not run $main_class"
    say "  jre/lib/bootstrap.jar = javac --release $release of bootstrap's text, byte for byte ($(find "$work/check/jar" -type f | wc -l) classes)"
fi
rm -rf "$work/check"
check_elf_files "$stage"
say "  $elf_checked ELF files: all $arch, none needs glibc newer than $glibc_max"
check_links "$stage"
# Lambda runs the runtime as a non-root user: everything readable, programs executable, nothing writable.
find "$stage" -type d -exec chmod 755 {} +
find "$stage" -type f -perm /111 -exec chmod 755 {} +
find "$stage" -type f ! -perm /111 -exec chmod 644 {} +
say "  links relative and inside the layer; directories and programs 755, other files 644"

# --------------------------------------------------------------------------------------------------------
step "size against Lambda's limit"
unzipped=$(find "$stage" \( -type f -o -type l \) -exec stat -c %s {} + | awk '{ s += $1 } END { print s + 0 }')
say "  unzipped: $(human "$unzipped"); limit for this layer: $(human "$layer_limit") = 250 MiB - LAYER_RESERVE_MB=$reserve_mb for the function"
if [ "$unzipped" -gt "$layer_limit" ]; then
    die "the layer unzips to $(human "$unzipped"), more than $(human "$layer_limit"): the function would have only $(human "$((lambda_limit - unzipped))") left. Leave the AWS CLI out (AWS_CLI=none) or lower LAYER_RESERVE_MB"
fi

# --------------------------------------------------------------------------------------------------------
step "zip (reproducible: entries sorted, mtimes = SOURCE_DATE_EPOCH $SOURCE_DATE_EPOCH, no extra fields)"
# A local layer says so in its name and in the zip's comment (which a rename keeps); publish_layer.sh reads both.
if [ "$kind" = local ]; then name=$name-local; fi
zip_tree "$stage" "$work/$name.zip" "$SOURCE_DATE_EPOCH"
if [ "$kind" = local ]; then
    printf '%s\n' "java-shell-runtime LOCAL layer: built for this machine (glibc <= $glibc_max), not for Lambda" |
        zip -q -z "$work/$name.zip" || die "cannot write the zip comment"
fi
mv "$work/$name.zip" "$dist/$name.zip"
(cd "$dist" && sha256sum "$name.zip" > "$name.zip.sha256")
totals=$(zipinfo -t "$dist/$name.zip")
say "  $totals"

# --------------------------------------------------------------------------------------------------------
step "done"
say "  $dist/$name.zip"
if [ "$kind" = local ]; then
    say "  a LOCAL layer: for the local Lambda and the tests on this machine, not for Lambda (see docs/layer.md)"
else
    say "  a publishable layer: every bundled program needs at most glibc $lambda_glibc (provided.al2023)"
fi
say "  sha256 $(cut -d' ' -f1 "$dist/$name.zip.sha256")"
say "  unzipped $(human "$unzipped"), zipped $(human "$(stat -c %s "$dist/$name.zip")")"
rm -rf "$work/tmp"
# The one line on stdout: the zip's path, for make (mk/layer.mk) and scripts.
printf '%s\n' "$dist/$name.zip"
