#!/usr/bin/env bats
# The repository stands alone: its docs, code and tests cite nothing outside it (a user has only the clone), and the
# Runtime API contract it implements is written down in it, in docs/runtime-api.md.

load helpers

# tracked_files: the files of the repository (git's list in a clone, else everything but build output).
tracked_files() {
    if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git -C "$ROOT" ls-files
    else
        (cd "$ROOT" && find . -type f ! -path './.git/*' ! -path './build/*' ! -path './dist/*' | sed 's|^\./||')
    fi
}

@test "docs/runtime-api.md states the Runtime API contract, and README.md and docs/runtime.md link to it" {
    f="$ROOT/docs/runtime-api.md"
    [ -s "$f" ]
    for part in /runtime/invocation/next '/response' '/error' /runtime/init/error Lambda-Runtime-Deadline-Ms \
        Lambda-Runtime-Function-Error-Type Lambda-Runtime-Function-Response-Mode 6,291,556 AWS_LAMBDA_MAX_CONCURRENCY \
        AWS_LAMBDA_LOG_FORMAT '8 NUL bytes' 413 500; do
        grep -qF -- "$part" "$f" || { echo "docs/runtime-api.md does not mention $part" >&2; return 1; }
    done
    grep -qF '](docs/runtime-api.md' "$ROOT/README.md"
    grep -qF '](runtime-api.md' "$ROOT/docs/runtime.md"
}

@test "no file of the repository cites a path outside it" {
    # Built from pieces, so that this file does not match itself.
    w=work
    n=notes
    run sh -c 'cd "$1" && shift && grep -nIE -- "$0" "$@"' "(/$w/|\.\./shared/|runtime-api-$n)" "$ROOT" \
        $(tracked_files)
    assert_output ''
}

@test "every relative link in the Markdown files resolves to a file inside the repository" {
    root=$(cd "$ROOT" && pwd -P)
    bad=''
    for md in $(tracked_files | grep '\.md$'); do
        dir=$(dirname "$ROOT/$md")
        # Link targets: ](target) outside code spans, without a scheme or a pure #anchor.
        for target in $(sed 's/`[^`]*`//g' "$ROOT/$md" | grep -oE '\]\([^)#[:space:]][^)[:space:]]*\)' |
            sed 's/^](//; s/)$//; s/#.*//' | grep -vE '^[a-z]+:'); do
            resolved=$(cd "$dir" && realpath -m -- "$target")
            case $resolved in
                "$root"/* | "$root") [ -e "$resolved" ] || bad="$bad $md:$target(missing)" ;;
                *) bad="$bad $md:$target(outside)" ;;
            esac
        done
    done
    assert_equal "$bad" ''
}
