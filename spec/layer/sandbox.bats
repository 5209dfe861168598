#!/usr/bin/env bats
# scripts/sandbox.sh, the Lambda-like sandbox other parts of the project run the runtime in: what the
# command sees, and its exec semantics (status, stdin, signals).

load helpers

@test "the command runs as uid 993 with no capabilities, in /var/task, with Lambda's environment only" {
    task=$(task_dir env function.sh)
    run env SECRET_FROM_CALLER=1 "$SANDBOX" --task "$task" --env FOO='a b'"'"'c' -- sh -c \
        'id -u; id -g; pwd; grep -E "^CapEff" /proc/self/status; env | sort'
    assert_success
    assert_line --index 0 993
    assert_line --index 1 993
    assert_line --index 2 /var/task
    assert_line --regexp '^CapEff:[[:space:]]+0+$'
    assert_line 'PATH=/usr/local/bin:/usr/bin/:/bin:/opt/bin'
    assert_line 'LD_LIBRARY_PATH=/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib'
    assert_line 'LAMBDA_TASK_ROOT=/var/task'
    assert_line 'LAMBDA_RUNTIME_DIR=/var/runtime'
    assert_line 'TZ=:UTC'
    assert_line 'LANG=en_US.UTF-8'
    assert_line 'AWS_REGION=us-east-1'
    assert_line "FOO=a b'c"
    refute_line --partial SECRET_FROM_CALLER
}

@test "/opt and /var/task are read-only, /tmp is private and writable, the root is read-only" {
    layer=$(scratch layer)
    task=$(task_dir ro function.sh)
    touch "$layer/marker"
    run "$SANDBOX" --layer "$layer" --task "$task" -- sh -c '
        ls /opt; ls /var/task
        touch /opt/x 2>/dev/null && echo "opt writable"
        touch /var/task/x 2>/dev/null && echo "task writable"
        touch /usr/x 2>/dev/null && echo "root writable"
        touch /tmp/x && echo "tmp writable"; ls -ld /tmp | cut -c1-10'
    assert_success
    assert_output "$(printf 'marker\nfunction.sh\ntmp writable\ndrwxrwxrwt')"
}

@test "root-owned files are seen through their 'other' permission bits, as on Lambda" {
    layer=$(scratch modes)
    printf 'secret' > "$layer/private"
    chmod 600 "$layer/private"
    printf 'public' > "$layer/public"
    chmod 644 "$layer/public"
    run "$SANDBOX" --layer "$layer" -- sh -c 'cat /opt/public; cat /opt/private 2>/dev/null || echo " denied"'
    assert_output 'public denied'
}

@test "the exit status and stdin are the command's; 125 when the sandbox cannot be set up" {
    run "$SANDBOX" -- sh -c 'exit 7'
    assert_equal "$status" 7
    run sh -c "printf 'through stdin' | '$SANDBOX' -- cat"
    assert_output 'through stdin'
    run "$SANDBOX" --task /nonexistent -- true
    assert_equal "$status" 125
    assert_output --partial '/nonexistent: not a directory'
    run "$SANDBOX" --uid 0 -- true
    assert_equal "$status" 125
    run "$SANDBOX" -- 
    assert_equal "$status" 125
    assert_output --partial 'no command given'
}

@test "a clear error when bwrap is missing" {
    run env PATH=/nonexistent /bin/sh "$SANDBOX" -- true
    assert_equal "$status" 125
    assert_output --partial 'bwrap not found: install bubblewrap'
}

@test "SIGTERM sent to sandbox.sh reaches the command, whose status comes back" {
    tmp=$(scratch sigtmp)
    chmod 1777 "$tmp"
    mkfifo "$tmp/ready" "$tmp/never"
    chmod 666 "$tmp/ready" "$tmp/never"
    # The command says it is ready through a FIFO, then blocks on another one until the signal arrives.
    "$SANDBOX" --tmp "$tmp" -- sh -c 'trap "echo got TERM; exit 42" TERM; echo ready > /tmp/ready; read -r x < /tmp/never' \
        > "$tmp/out" 3>&- &
    pid=$!
    read -r line < "$tmp/ready"
    assert_equal "$line" ready
    kill -TERM "$pid"
    rc=0
    wait "$pid" || rc=$?
    assert_equal "$rc" 42
    run cat "$tmp/out"
    assert_output 'got TERM'
}

@test "when sandbox.sh is killed, the command and everything it started die with it" {
    tmp=$(scratch killtmp)
    chmod 1777 "$tmp"
    mkfifo "$tmp/ready" "$tmp/never" "$tmp/out"
    chmod 666 "$tmp/ready" "$tmp/never"
    # Everything in the sandbox holds the write end of the FIFO "out" (their stdout): reading it reaches end
    # of file only when every one of them is gone. No clock involved.
    "$SANDBOX" --tmp "$tmp" -- sh -c 'read -r x < /tmp/never & echo ready > /tmp/ready; wait' > "$tmp/out" 3>&- &
    pid=$!
    exec 4< "$tmp/out"
    read -r line < "$tmp/ready"
    assert_equal "$line" ready
    kill -KILL "$pid"
    wait "$pid" || true
    run timeout "$LIMIT" cat <&4
    exec 4<&-
    assert_success
}

@test "--hide makes a host file invisible, so the layer's program is the one found on PATH" {
    layer=$(scratch hide)
    mkdir "$layer/bin"
    printf '#!/bin/sh\necho from-the-layer\n' > "$layer/bin/jq"
    chmod 755 "$layer/bin/jq"
    run "$SANDBOX" --layer "$layer" -- sh -c 'command -v jq'
    assert_output /usr/bin//jq # Lambda's PATH has /usr/bin/ with a slash
    run "$SANDBOX" --layer "$layer" --hide /usr/bin/jq -- sh -c 'command -v jq; jq'
    assert_output "$(printf '/opt/bin/jq\nfrom-the-layer')"
}
