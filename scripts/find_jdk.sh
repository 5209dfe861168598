#!/bin/sh
# Prints the JDK 25 home the build uses: $JAVA_HOME when it is a JDK 25, else the first JDK 25 found
# in the usual places. The build never guesses silently: it fails with a message when none is found.
set -eu

is_jdk25() {
    [ -x "$1/bin/java" ] && [ -x "$1/bin/jlink" ] || return 1
    v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release" 2>/dev/null)
    [ "$v" = 25 ]
}

if [ -n "${JAVA_HOME:-}" ]; then
    if is_jdk25 "$JAVA_HOME"; then printf '%s\n' "$JAVA_HOME"; exit 0; fi
    echo "find_jdk: JAVA_HOME=$JAVA_HOME is not a JDK 25 (need bin/java, bin/jlink and JAVA_VERSION=\"25...\" in release)" >&2
    exit 1
fi
for d in /usr/lib/jvm/*25* /usr/lib/jvm/* /opt/java/* /opt/jdk*; do
    if is_jdk25 "$d"; then printf '%s\n' "$d"; exit 0; fi
done
echo "find_jdk: no JDK 25 found: set JAVA_HOME to one" >&2
exit 1
