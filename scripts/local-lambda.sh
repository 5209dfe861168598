#!/bin/sh
# local-lambda.sh [ARG]...: runs the local Lambda (local/LocalLambda.java) with a JDK 25, whatever `java` is on
# PATH (its source needs a JDK 21 or newer; scripts/find_jdk.sh finds the JDK 25 the build uses). Arguments go to
# it unchanged: `scripts/local-lambda.sh --help` lists them, and
#   scripts/local-lambda.sh --task DIR --handler H --serve --port 0 -- COMMAND [ARG]...
# runs any runtime command against it without the layer or the sandbox. scripts/invoke.sh runs it with the layer.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
JAVA_HOME=$("$root/scripts/find_jdk.sh") || { echo "local-lambda: needs a JDK 25: set JAVA_HOME to one" >&2; exit 2; }
export JAVA_HOME
exec "$JAVA_HOME/bin/java" "$root/local/LocalLambda.java" "$@"
