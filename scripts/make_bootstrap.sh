#!/bin/sh
# Generates bootstrap: one shebang line, then Bootstrap.java byte for byte (rewritten only when that changes).
# The JVM flags live here, in one place, so the Makefile, the layer and the tests agree on them.
set -eu
cd "$(dirname "$0")/.."
flags=$(tr '\n' ' ' < layer/jvm-flags | sed 's/ *$//')
tmp=bootstrap.tmp.$$
{
    printf '#!/opt/jre/bin/java --source 21'
    [ -n "$flags" ] && printf ' %s' "$flags"
    printf '\n'
    cat Bootstrap.java
} > "$tmp"
chmod 755 "$tmp"
# Rewritten only when its content changes: its mtime is what make compares the layer's stamp with, so an
# unchanged bootstrap must not make the layer look out of date (a rebuild takes tens of seconds).
if [ -f bootstrap ] && [ -x bootstrap ] && cmp -s "$tmp" bootstrap; then
    rm -f "$tmp"
else
    mv "$tmp" bootstrap
fi
