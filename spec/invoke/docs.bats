#!/usr/bin/env bats
# The documentation is tested: every command a reader is shown in README.md, docs/local-invoke.md and
# examples/README.md is run here (or, for `make`, `make test` and `make bench`, checked to be what CI and the other
# suites run), and a ```json block right after a command block is that command's expected stdout. Code listings use
# ```bash and must match the example they come from. A command line this file does not know fails the spec, so
# nothing can be added to the docs without a test. `make test-invoke` has just built the layer, so the documented
# make commands run with `-o layer` (use that layer, do not build it again for each of them).

load helpers

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

# no_layer_rebuild LINE: LINE with `make ` run as `make -o layer `.
no_layer_rebuild() {
    case $1 in
        'make '*) printf 'make -o layer %s' "${1#make }" ;;
        *) printf '%s' "$1" ;;
    esac
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
    (cd "$ROOT" && exec setsid sh -c "exec $(no_layer_rebuild "$1") INVOKE_PORT=0 INVOKE_ARGS='${SLOW_INIT[*]}'") \
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
                        'make invoke-serve '*)
                            start_doc_server "$line"
                            kind='' ;;
                        'make invoke '* | 'scripts/invoke.sh '*)
                            status_=0
                            (cd "$ROOT" && sh -c "$(no_layer_rebuild "$line")") >"$out" 2>"$BATS_TEST_TMPDIR/err" || status_=$?
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
                            # `make` ends with the hello example invoked locally (its part here: invoke-example).
                            run make -s -C "$ROOT" -o layer invoke-example
                            assert_success
                            assert_line 'Response: {"message":"Hello, Lambda!"}'
                            kind='' ;;
                        'make test')
                            # CI runs exactly this command (.ci/run).
                            grep -Eq '(^|[ ;{])make test( |;|$)' "$ROOT/.ci/run"
                            kind='' ;;
                        'make bench')
                            # spec/bench runs it on a tiny run; here: the target exists.
                            make -s -C "$ROOT" -n bench >/dev/null
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
                        [ "$status_" -ne 0 ] || { echo "$1: expected a failure, got status 0" >&2; return 1; }
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
