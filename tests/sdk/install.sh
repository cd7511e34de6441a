#!/usr/bin/env bash
# Installs what the SDK end-to-end suites need (see run.sh):
#   - a Python venv at <repo>/.venv-sdk with tests/sdk/python/requirements.txt (exact pins)
#   - tests/sdk/node/node_modules from the committed package-lock.json (npm ci)
#   - the Go modules of tests/sdk/go (go.mod / go.sum) in the module cache
#   - the Maven artifacts of tests/sdk/java (pom.xml pins them) in ~/.m2
# Idempotent, quiet on success, stops with an error message on the first failure.
set -euo pipefail

SDK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SDK/../.." && pwd)"
VENV="$ROOT/.venv-sdk"

fail() { echo "tests/sdk/install.sh: $*" >&2; exit 1; }
trap 'fail "failed at line $LINENO: $BASH_COMMAND"' ERR

for tool in python3 npm go mvn; do
  command -v "$tool" >/dev/null || fail "$tool is not installed"
done

# Python: (re)create the venv when it is missing or broken, then install the pins.
if ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
  -r "$SDK/python/requirements.txt"

# Node: exactly what package-lock.json says.
(cd "$SDK/node" && npm ci --loglevel=error --no-audit --no-fund >/dev/null)

# Go: the modules go.sum pins.
(cd "$SDK/go" && go mod download)

# Java: centrifuge-java, JUnit and the Maven plugins, at the versions pom.xml names.
(cd "$SDK/java" && mvn -B -q dependency:resolve dependency:resolve-plugins >/dev/null)
