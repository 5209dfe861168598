#!/usr/bin/env bats
# The documentation is tested: every command a reader is shown in README.md, docs/local-invoke.md,
# examples/README.md and docs/layer.md is run here as a reader would run it: from the repository, in a shell whose
# `java` is not a JDK 25 (a JDK 17 when there is one, as on Debian 12) and without JAVA_HOME, so each command must
# find a JDK 25 itself. A ```json block right after a command block is that command's expected stdout, byte for
# byte (so stdout holds the response alone, even from make); an error response means exit status 1. Code listings
# use ```bash and must match the example they come from. A command line this file does not know fails the spec, so
# nothing can be added to the docs without a test. `make test-invoke` has just built the layer, and make rebuilds
# it only when something changed, so the documented make commands run as written. Where a command would take
# minutes or needs what this machine lacks (a new build, an upload, another architecture) the spec says what it
# checks instead.

load helpers

# READER_BIN: a directory put first on the reader's PATH, with `java` a JDK 17 when this machine has one.
setup_file() {
    READER_BIN=$BATS_FILE_TMPDIR/reader-bin
    mkdir -p "$READER_BIN"
    local j
    for j in /usr/lib/jvm/*17*/bin/java; do
        if [ -x "$j" ]; then ln -sf "$j" "$READER_BIN/java"; break; fi
    done
    export READER_BIN
}

# reader LINE: LINE run by sh from the repository as a reader would: PATH's java not a JDK 25, no JAVA_HOME,
# none of the test's own variables (the layer the suite uses, make's).
reader() {
    (cd "$ROOT" && env -u JAVA_HOME -u INVOKE_LAYER -u MAKEFLAGS -u MAKELEVEL -u MFLAGS PATH="$READER_BIN:$PATH" sh -c "$1")
}

teardown() {
    stop_doc_server
}

# split_blocks FILE DIR: each fenced block of FILE into DIR/NNN.LANG, in order.
split_blocks() {
    mkdir -p "$2"
    awk -v dir="$2" '
        /^```/ {
            if (inside) { inside = 0; close(f); next }
            lang = substr($0, 4); if (lang == "") lang = "txt"
            n++; f = sprintf("%s/%03d.%s", dir, n, lang); inside = 1; printf "" > f; next
        }
        inside { print > f }
    ' "$1"
}

stop_doc_server() {
    if [ -n "${DOC_SERVER:-}" ]; then
        kill -TERM -- "-$DOC_SERVER" 2>/dev/null || true
        wait "$DOC_SERVER" 2>/dev/null || true
        DOC_SERVER=''
    fi
}

# start_doc_server LINE: a documented `make invoke-serve ...`, on a free port, in its own process group.
start_doc_server() {
    stop_doc_server
    local fifo="$BATS_TEST_TMPDIR/url.fifo"
    rm -f "$fifo"
    mkfifo "$fifo"
    (cd "$ROOT" && exec setsid env -u JAVA_HOME -u INVOKE_LAYER -u MAKEFLAGS -u MAKELEVEL -u MFLAGS PATH="$READER_BIN:$PATH" \
        sh -c "exec $1 INVOKE_PORT=0 INVOKE_ARGS='${SLOW_INIT[*]}'") \
        >"$fifo" 2>"$BATS_TEST_TMPDIR/doc-server.log" 3>&- &
    DOC_SERVER=$!
    local url=''
    IFS= read -r url <"$fifo" || true
    [ -n "$url" ] || { cat "$BATS_TEST_TMPDIR/doc-server.log" >&2; echo "could not start: $1" >&2; return 1; }
    DOC_BASE=${url%%/2015-03-31/*}
}

# check_zip: the function zip the README builds, unzipped, works with the layer.
check_function_zip() {
    local d
    d=$(function_dir from-zip)
    unzip -q "$ROOT/build/hello.zip" -d "$d"
    invoke_once --function "$d" --handler function.handler --event "$ROOT/examples/hello/event.json"
    assert_equal "$status" 0
    cmp "$RESPONSE" "$ROOT/examples/hello/response.json"
}

# check_aws_command LINE: the AWS CLI accepts the documented parameters (it stops at connecting to a closed
# loopback port, after validating them). Needs an `aws` on this machine.
check_aws_command() {
    if ! command -v aws >/dev/null; then
        echo "# not run (no aws here): $1" >&3
        return 0
    fi
    local out zip="$BATS_TEST_TMPDIR/any.zip" line
    # The zips it names may not exist here (versions differ): any zip does for checking parameters.
    (cd "$ROOT/examples/hello" && zip -q -X "$zip" function.sh)
    line=$(printf '%s' "$1" | sed "s|fileb://[^ ]*|fileb://$zip|g")
    out=$(cd "$ROOT" && AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER= AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_DEFAULT_REGION=us-east-1 \
        sh -c "$line --endpoint-url http://127.0.0.1:9 --cli-connect-timeout 1" 2>&1) || true
    case $out in
        *"Could not connect to the endpoint URL"*) ;;
        *) echo "aws rejected: $1: $out" >&2; return 1 ;;
    esac
}

# run_doc FILE: runs every command of FILE and compares the documented outputs.
run_doc() {
    local dir="$BATS_TEST_TMPDIR/blocks" b lang line ran=0 checked=0 out status_ kind
    split_blocks "$ROOT/$1" "$dir"
    out="$BATS_TEST_TMPDIR/out"
    kind=''
    for b in "$dir"/*; do
        lang=${b##*.}
        case $lang in
            sh)
                kind=''
                while IFS= read -r line; do
                    line=$(printf '%s' "$line" | sed 's/  *# .*$//')
                    case $line in
                        '' | '#'*) continue ;;
                        ' '*)
                            continue ;; # the rest of a command continued with a backslash
                        'scripts/invoke.sh --layer <layer> '* | 'bench/pair.sh '* | 'BENCH_PAIR_SHARE='*)
                            # Measurement recipes with placeholders (<layer>, <old zip>, ...): the scripts exist and
                            # run (spec/invoke runs invoke.sh --memory, spec/layer the layers they measure).
                            [ -x "$ROOT/scripts/invoke.sh" ] && [ -x "$ROOT/bench/pair.sh" ]
                            run reader 'bench/pair.sh'
                            assert_failure
                            assert_output --partial 'usage: bench/pair.sh'
                            kind='' ;;
                        'make layer && cd deploy/cdk && npm ci')
                            # make test-cdk runs npm ci and the CDK's tests on the committed lockfile.
                            run reader 'make -n layer'
                            assert_success
                            [ -f "$ROOT/deploy/cdk/package-lock.json" ]
                            kind='' ;;
                        'npx cdk '*)
                            # Needs an AWS account; the CDK's tests synthesize the example app offline (make test-cdk).
                            echo "# not run (needs an AWS account): $line" >&3
                            grep -q '"app"' "$ROOT/deploy/cdk/cdk.json"
                            kind='' ;;
                        'make layer-local && make layer-local LAUNCH=precompiled')
                            run reader 'make -n layer-local LAUNCH=precompiled'
                            assert_success
                            kind='' ;;
                        'make invoke-serve '*)
                            start_doc_server "$line"
                            kind='' ;;
                        'make invoke '* | 'scripts/invoke.sh '*)
                            status_=0
                            reader "$line" >"$out" 2>"$BATS_TEST_TMPDIR/err" || status_=$?
                            kind=invoke ;;
                        'curl '*)
                            [ -n "${DOC_SERVER:-}" ] || { echo "$1: curl before make invoke-serve: $line" >&2; return 1; }
                            status_=0
                            (cd "$ROOT" && sh -c "$(printf '%s' "$line" | sed "s|http://127.0.0.1:9000|$DOC_BASE|g")") \
                                >"$out" || status_=$?
                            assert_equal "$status_" 0
                            kind=invoke ;;
                        *'zip -X -r ../../build/hello.zip'*)
                            (cd "$ROOT" && rm -f build/hello.zip && sh -c "$line" >/dev/null)
                            check_function_zip
                            kind='' ;;
                        'aws lambda '*)
                            check_aws_command "$line"
                            kind='' ;;
                        'sudo apt-get install '*)
                            # CI installs them: every package the docs list is in .ci/run's list.
                            for p in ${line#sudo apt-get install }; do
                                grep -qw -- "$p" "$ROOT/.ci/run" || { echo "$p is not installed by .ci/run" >&2; return 1; }
                            done
                            kind='' ;;
                        'make')
                            # `make` builds what changed (nothing, here) and ends with the hello example invoked locally.
                            run reader make
                            assert_success
                            assert_line 'Response: {"message":"Hello, Lambda!"}'
                            kind='' ;;
                        'make layer')
                            run reader 'make layer'
                            assert_success
                            assert_output --regexp 'make: layer .*/dist/java-shell-runtime-[a-z0-9]+-[^ ]+\.zip \((publishable|a LOCAL layer)'
                            kind='' ;;
                        'make layer LAYER_KIND=publish')
                            # Online it builds; offline it must fail at once on the download, saying so.
                            run reader "$line"
                            [ "$status" -eq 0 ] || assert_output --partial 'layer: error: download of jq-linux-'
                            kind='' ;;
                        'make layer '*/path/to/* | 'make layer TARGET_JDK='*)
                            # A template: the files it names are not here, and the build says so before any slow step.
                            run reader "$line"
                            assert_failure
                            assert_output --regexp 'layer: error: [A-Z_]+=[^ ]+: no such file'
                            kind='' ;;
                        'make layer-local' | 'make -B layer' | 'make layer AWS_CLI_VERSION='*)
                            # Each is a build of a minute or more (spec/layer tests the local build and the inputs):
                            # here, make must find a JDK 25 and know what to run.
                            run reader "make -n ${line#make }"
                            assert_success
                            assert_output --partial 'layer'
                            kind='' ;;
                        'scripts/lib/coldstart.sh '*)
                            # The documented number of runs takes minutes on a loaded machine: one run checks the command.
                            run reader "scripts/lib/coldstart.sh 1"
                            assert_success
                            assert_line --regexp '^median of 1: init [0-9]+ ms, first response [0-9]+ ms'
                            kind='' ;;
                        'apt-get install '*)
                            # The arm64 set-up (qemu, the cross libc): not for this machine (docs/layer.md says so).
                            echo "# not run (another architecture's set-up): $line" >&3
                            kind='' ;;
                        'make test')
                            # CI runs exactly this command (.ci/run).
                            grep -Eq '(^|[ ;{])make test( |;|$)' "$ROOT/.ci/run"
                            kind='' ;;
                        'make bench')
                            # spec/bench runs it on a tiny run; here: the target exists and make finds a JDK 25.
                            reader 'make -s -n bench' >/dev/null
                            kind='' ;;
                        *)
                            echo "$1: a command no spec runs: $line" >&2
                            return 1 ;;
                    esac
                    ran=$((ran + 1))
                done <"$b" ;;
            json)
                if [ "$kind" = invoke ]; then
                    if jq -e 'has("errorType")' "$b" >/dev/null; then
                        # docs/local-invoke.md: 1 for any function error, from make invoke and scripts/invoke.sh.
                        [ "$status_" -eq 1 ] || { echo "$1: expected status 1 for a function error, got $status_" >&2; return 1; }
                        assert_equal "$(jq -c '{errorType, errorMessage}' "$out")" "$(jq -c '{errorType, errorMessage}' "$b")"
                    else
                        assert_equal "$status_" 0
                        assert_equal "$(cat "$out")" "$(cat "$b")"
                    fi
                    checked=$((checked + 1))
                fi
                kind='' ;;
            *) kind='' ;;
        esac
    done
    stop_doc_server
    echo "# $1: $ran commands, $checked outputs checked" >&3
    [ "$ran" -gt 0 ]
}

@test "README.md: every command runs and gives the output shown" {
    run_doc README.md
}

@test "README.md: the handler it shows is the hello example's code" {
    split_blocks "$ROOT/README.md" "$BATS_TEST_TMPDIR/blocks"
    n=0
    for b in "$BATS_TEST_TMPDIR"/blocks/*.bash; do
        while IFS= read -r line; do
            case $line in '' | '#'*) continue ;; esac
            grep -qxF -- "$line" "$ROOT/examples/hello/function.sh" || { echo "not in the example: $line" >&2; return 1; }
            n=$((n + 1))
        done <"$b"
    done
    [ "$n" -gt 3 ]
}

@test "docs/local-invoke.md: every command runs and gives the output shown" {
    run_doc docs/local-invoke.md
}

@test "examples/README.md: every command runs and gives the output shown" {
    run_doc examples/README.md
}

@test "docs/layer.md: every command runs as a reader would (or, for the builds of a minute, make knows it)" {
    run_doc docs/layer.md
}

@test "the reader's shell: java on PATH is not a JDK 25, and JAVA_HOME is unset" {
    run reader 'echo "JAVA_HOME=${JAVA_HOME:-}"; java -version 2>&1 | head -n 1 || true'
    assert_line 'JAVA_HOME='
    refute_output --regexp 'version "25'
    if [ -e "$READER_BIN/java" ]; then assert_output --regexp 'version "17'; fi
}

@test "the docs' commands that need a JDK find it, or say in one line that they need one" {
    # scripts/local-lambda.sh replaces `java local/LocalLambda.java`, which fails where java is 17.
    run reader 'scripts/local-lambda.sh --help'
    assert_success
    assert_line --regexp '^usage: LocalLambda '
    run reader 'scripts/invoke.sh --help'
    assert_success
    # With no JDK 25 to find, one line says what is needed.
    run reader 'JAVA_HOME=/nonexistent scripts/local-lambda.sh --help'
    assert_failure
    assert_output --partial 'needs a JDK 25'
    run reader 'JAVA_HOME=/nonexistent scripts/lib/coldstart.sh 1'
    assert_failure
    assert_output --partial 'needs a JDK 25'
    # No documented command starts the local Lambda with the PATH's java.
    run grep -n 'java local/LocalLambda.java' "$ROOT/README.md" "$ROOT"/docs/*.md "$ROOT/examples/README.md"
    assert_failure
}

@test "make ends with the local invoke of the hello example" {
    run make -s -C "$ROOT" -pn all
    all=$(printf '%s\n' "$output" | sed -n 's/^all: //p' | head -n 1)
    before=$(printf '%s\n' "$output" | sed -n 's/^invoke-example: //p' | head -n 1)
    # Whatever `all` lists after invoke-example must already be built by then (a prerequisite of it).
    after=${all#*invoke-example}
    [ "$after" != "$all" ] || { echo "all does not build invoke-example: $all" >&2; return 1; }
    for t in $after; do
        case " $before " in
            *" $t "*) ;;
            *) echo "make runs $t after the hello invoke (all: $all)" >&2; return 1 ;;
        esac
    done
}
