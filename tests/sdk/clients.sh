#!/usr/bin/env bash
# Generates the clients the generated-client suites use and installs each one the way
# its README says:
#   target/clients/fixture/   fixture-clients: the fixture server's methods (test.*,
#                             types.*), every type feature of the exporter
#   target/clients/py/fixture_client   the Python package, requirements installed in .venv-sdk
#   target/clients/ts/fixture-client   the TypeScript package: npm install, npm run build
# The Go client is used in place (tests/sdk/go/go.mod replaces its module path with it).
# Needs install.sh first and $WSRPC_FIXTURE_CLIENTS (default target/debug/fixture-clients).
set -euo pipefail

SDK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SDK/../.." && pwd)"
GENERATOR="${WSRPC_FIXTURE_CLIENTS:-$ROOT/target/debug/fixture-clients}"
OUT="$ROOT/target/clients"

fail() { echo "tests/sdk/clients.sh: $*" >&2; exit 1; }
trap 'fail "failed at line $LINENO: $BASH_COMMAND"' ERR

[ -x "$GENERATOR" ] || fail "no executable generator at $GENERATOR (cargo build -p wsrpc-tests --bins)"
"$GENERATOR" "$OUT/fixture" >/dev/null

# Python: copied in as a package, its requirements installed.
rm -rf "$OUT/py" && mkdir -p "$OUT/py"
cp -r "$OUT/fixture/python" "$OUT/py/fixture_client"
"$ROOT/.venv-sdk/bin/python" -m pip install --quiet --disable-pip-version-check \
  -r "$OUT/py/fixture_client/requirements.txt"

# TypeScript: npm install, npm run build (tsc --strict, as the package's tsconfig says).
rm -rf "$OUT/ts" && mkdir -p "$OUT/ts"
cp -r "$OUT/fixture/typescript" "$OUT/ts/fixture-client"
(cd "$OUT/ts/fixture-client" \
  && npm install --prefer-offline --loglevel=error --no-audit --no-fund >/dev/null \
  && npm run --silent build)
