#!/usr/bin/env bats
# Nothing in the function's code (/var/task) or in another layer's files under /opt may change how the runtime
# is compiled or which classes it runs. The source launcher would otherwise put the working directory
# (/var/task) on javac's and the program's class path: a Bootstrap.class there, or a META-INF/services entry,
# would be used. The shebang's -cp /proc/none (a path no one can create) and, in the precompiled layer,
# -cp /opt/jre/lib/bootstrap.jar close that. spec/layer/run.sh runs this file for both variants.

load helpers

setup_file() {
    # Hostile fixtures: a Bootstrap that reports itself and exits 3, an Evil class that reports being loaded,
    # and service entries naming Evil for services the JDK and javac look up.
    export HOSTILE_SRC HOSTILE_TASK HOSTILE_LAYER
    HOSTILE_SRC=$(scratch hostile-src)
    cat > "$HOSTILE_SRC/Bootstrap.java" <<'EOF'
public class Bootstrap {
    public static void main(String[] args) throws Exception {
        System.err.println("HOSTILE: the function's own Bootstrap ran");
        java.nio.file.Files.writeString(java.nio.file.Path.of("/tmp/hostile-bootstrap"), "ran");
        System.exit(3);
    }
}
EOF
    cat > "$HOSTILE_SRC/Evil.java" <<'EOF'
public class Evil {
    static {
        System.err.println("HOSTILE: Evil loaded");
        try {
            java.nio.file.Files.writeString(java.nio.file.Path.of("/tmp/hostile-evil"), "loaded");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
EOF
    "$JAVA_HOME/bin/javac" --release 21 -d "$HOSTILE_SRC/classes" "$HOSTILE_SRC/Bootstrap.java" "$HOSTILE_SRC/Evil.java"
    HOSTILE_TASK=$(task_dir hostile-task function.sh)
    HOSTILE_LAYER=$(unpack_layer hostile-layer)
    local d s
    for d in "$HOSTILE_TASK" "$HOSTILE_LAYER"; do
        cp "$HOSTILE_SRC"/classes/*.class "$HOSTILE_SRC"/*.java "$d/"
        mkdir -p "$d/META-INF/services"
        for s in java.nio.file.spi.FileSystemProvider java.nio.charset.spi.CharsetProvider \
            java.net.spi.InetAddressResolverProvider 'java.lang.System$LoggerFinder' \
            java.nio.channels.spi.SelectorProvider java.time.zone.ZoneRulesProvider \
            javax.annotation.processing.Processor com.sun.source.util.Plugin javax.tools.JavaCompiler; do
            echo Evil > "$d/META-INF/services/$s"
        done
        chmod -R a+rX "$d"
    done
}

@test "a Bootstrap.class, Bootstrap.java, Evil.class and META-INF/services entries in /var/task and in /opt change nothing" {
    tmp=$(scratch tmp)
    chmod 1777 "$tmp"
    start_fake 2
    run_layer "$HOSTILE_LAYER" "$HOSTILE_TASK" function.handler --tmp "$tmp" \
        --env "JDK_JAVA_OPTIONS=-Xlog:class+load=info:file=/tmp/classes.log"
    stop_fake
    run answers response
    assert_equal "$(echo "$output" | wc -l)" 2
    run noise "$OUT" "$ERR"
    assert_output ''
    assert [ ! -e "$tmp/hostile-bootstrap" ]
    assert [ ! -e "$tmp/hostile-evil" ]
    # No class came from the function's directory or from a file of another layer.
    run grep -e 'Evil' -e 'file:/var/task' "$tmp/classes.log"
    assert_output ''
    run sh -c "grep -o 'source: file:/opt/[^ ]*' '$tmp/classes.log' | sort -u | grep -v -x -e 'source: file:/opt/bootstrap' -e 'source: file:/opt/jre/lib/bootstrap.jar'"
    assert_output ''
    run grep -c '\] Bootstrap source: ' "$tmp/classes.log"
    assert_output 1
}

@test "control: the fixtures do bite when /var/task is on the class path (the launcher's default)" {
    # The layer's own command line, with the working directory /var/task as class path (-cp .), as java
    # would have it without the shebang's -cp.
    if [ "$LAYER_VARIANT" = precompiled ]; then
        # Without the AOT cache, which would serve its own copy of Bootstrap whatever the class path says.
        args="-XX:AOTMode=off $(sed -e '/^\/opt\/jre\/lib\/bootstrap.jar$/s|.*|.:/opt/jre/lib/bootstrap.jar|' "$HOSTILE_LAYER/jre/lib/bootstrap.args" | tr '\n' ' ')"
    else
        args="$(head -n 1 "$HOSTILE_LAYER/bootstrap" | sed 's|^#![^ ]* ||; s|-cp /proc/none|-cp .|') /opt/bootstrap"
    fi
    tmp=$(scratch tmp)
    chmod 1777 "$tmp"
    start_fake 2
    ERR=$tmp/stderr
    # shellcheck disable=SC2086 # the command line's words
    run timeout "$LIMIT" "$SANDBOX" --layer "$HOSTILE_LAYER" --task "$HOSTILE_TASK" --hide /usr/bin/jq --tmp "$tmp" \
        --env "AWS_LAMBDA_RUNTIME_API=127.0.0.1:$PORT" --env _HANDLER=function.handler \
        -- /bin/sh -c 'exec /opt/jre/bin/java "$@" 2>/tmp/stderr' java $args
    stop_fake kill
    assert_failure
    run answers response
    assert_output ''
    run cat "$ERR"
    if [ "$LAYER_VARIANT" = precompiled ]; then
        # The class path is searched in order: the function's Bootstrap.class wins.
        assert_output --partial 'HOSTILE: the function'
    else
        # javac looks up file system providers through the class path, and stumbles on the function's entry.
        assert_output --partial 'Evil not a subtype'
    fi
}
