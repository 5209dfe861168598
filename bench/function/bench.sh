# Trivial function-mode handler for `make bench` (_HANDLER=bench.handler): builtins only, so what the
# benchmark measures is the runtime's own cost per invocation, not the handler's.
# shellcheck shell=sh
handler() {
    printf '{"statusCode":200,"body":"ok"}'
}
