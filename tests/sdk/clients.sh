#!/usr/bin/env bash
# Generates the clients the generated-client suites use and installs each one the way
# its README says:
#   target/clients/fixture/   fixture-clients: the fixture server's methods (test.*,
#                             types.*), every type feature of the exporter
#   examples/tasks/clients/generated/  the tasks example's clients (committed; written by
#                             tasks-clients' build script)
#   target/clients/py/{fixture,tasks}_client   the Python packages, requirements installed
#                             in .venv-sdk
#   target/clients/ts/{fixture,tasks}-client   the TypeScript packages: npm install,
#                             npm run build
# The Go clients are used in place (tests/sdk/go/go.mod replaces their module paths).
# Needs install.sh first and $WIRECALL_FIXTURE_CLIENTS (default target/debug/fixture-clients).
set -euo pipefail

SDK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SDK/../.." && pwd)"
GENERATOR="${WIRECALL_FIXTURE_CLIENTS:-$ROOT/target/debug/fixture-clients}"
OUT="$ROOT/target/clients"

fail() { echo "tests/sdk/clients.sh: $*" >&2; exit 1; }
trap 'fail "failed at line $LINENO: $BASH_COMMAND"' ERR

[ -x "$GENERATOR" ] || fail "no executable generator at $GENERATOR (cargo build -p wirecall-tests --bins)"
"$GENERATOR" "$OUT/fixture" >/dev/null

TASKS="$ROOT/examples/tasks/clients/generated"
rm -rf "$OUT/py" "$OUT/ts" && mkdir -p "$OUT/py" "$OUT/ts"

# Python: copied in as a package, its requirements installed.
install_python() {
  cp -r "$1/python" "$OUT/py/$2"
  "$ROOT/.venv-sdk/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r "$OUT/py/$2/requirements.txt"
}
install_python "$OUT/fixture" fixture_client
install_python "$TASKS" tasks_client

# TypeScript: npm install, npm run build (tsc --strict, as the package's tsconfig says).
install_typescript() {
  cp -r "$1/typescript" "$OUT/ts/$2"
  (cd "$OUT/ts/$2" \
    && npm install --prefer-offline --loglevel=error --no-audit --no-fund >/dev/null \
    && npm run --silent build)
}
install_typescript "$OUT/fixture" fixture-client
install_typescript "$TASKS" tasks-client
