#!/bin/sh
# Generates bootstrap: one shebang line, then Bootstrap.java byte for byte.
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
mv "$tmp" bootstrap
