#!/usr/bin/env bats
# bootstrap is generated from Bootstrap.java (one shebang line, then the source byte for byte), committed, and
# committed executable: users copy it as it is.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

setup() {
    cd "$BATS_TEST_DIRNAME/../.." || exit 1
}

@test "bootstrap minus its first line is Bootstrap.java, byte for byte" {
    [ -f bootstrap ] && [ -f Bootstrap.java ]
    tail -n +2 bootstrap > "$BATS_TEST_TMPDIR/body"
    run cmp "$BATS_TEST_TMPDIR/body" Bootstrap.java
    assert_success
}

@test "the committed bootstrap matches the committed Bootstrap.java" {
    git show HEAD:bootstrap | tail -n +2 > "$BATS_TEST_TMPDIR/body"
    git show HEAD:Bootstrap.java > "$BATS_TEST_TMPDIR/source"
    run cmp "$BATS_TEST_TMPDIR/body" "$BATS_TEST_TMPDIR/source"
    assert_success
}

@test "the first line runs /opt/jre/bin/java in source mode for language level 21" {
    for first in "$(head -n 1 bootstrap)" "$(git show HEAD:bootstrap | head -n 1)"; do
        case $first in
            '#!/opt/jre/bin/java --source 21' | '#!/opt/jre/bin/java --source 21 '*) ;;
            *) fail "first line is '$first'" ;;
        esac
    done
}

@test "git records bootstrap as an executable file (mode 100755)" {
    run git ls-files -s bootstrap
    assert_success
    assert_output --regexp '^100755 [0-9a-f]+ 0	bootstrap$'
    run git ls-tree HEAD bootstrap
    assert_output --regexp '^100755 blob [0-9a-f]+	bootstrap$'
    [ -x bootstrap ]
}

@test "Bootstrap.java needs nothing beyond the JDK and has no package" {
    run grep -E '^import ' Bootstrap.java
    assert_success
    run sh -c "grep -E '^import ' Bootstrap.java | grep -vE '^import (static )?java\\.'"
    assert_failure
    run grep -E '^package ' Bootstrap.java
    assert_failure
}

@test "the shell scripts of the tests pass shellcheck" {
    run shellcheck spec/support/*.sh spec/runtime/helpers.bash spec/fixtures/dispatch.sh spec/fixtures/probe.sh \
        spec/fixtures/posix_fn.sh spec/fixtures/held_command.sh spec/fixtures/file_exec spec/fixtures/file_plain
    assert_success
}
