#!/usr/bin/env bash
# Runs the SDK end-to-end suites (centrifuge-python and the cent HTTP API client, centrifuge-js
# and cent.js, centrifuge-go, centrifuge-java) against the sdk-fixture binary in $WIRECALL_FIXTURE (default:
# target/debug/sdk-fixture).
# Each suite starts and stops its own fixture processes. Install the dependencies
# first with tests/sdk/install.sh. Exits non-zero if any suite fails.
set -uo pipefail

SDK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SDK/../.." && pwd)"
export WIRECALL_FIXTURE="${WIRECALL_FIXTURE:-$ROOT/target/debug/sdk-fixture}"

if [ ! -x "$WIRECALL_FIXTURE" ]; then
  echo "tests/sdk/run.sh: no executable fixture at $WIRECALL_FIXTURE (build it, or set WIRECALL_FIXTURE)" >&2
  exit 2
fi
if [ ! -x "$ROOT/.venv-sdk/bin/python" ] || [ ! -d "$SDK/node/node_modules" ]; then
  echo "tests/sdk/run.sh: dependencies missing; run tests/sdk/install.sh first" >&2
  exit 2
fi
if [ ! -d "$ROOT/target/clients/ts/fixture-client/dist" ]; then
  echo "tests/sdk/run.sh: generated clients missing; run tests/sdk/clients.sh first" >&2
  exit 2
fi

failed=()

echo "=== centrifuge-python and cent, the HTTP API client (pytest) ==="
# Collects every test_*.py there: test_centrifuge_python.py, test_cent_api.py,
# test_messaging.py, test_generated_models.py, test_generated_client.py and
# test_tasks_example.py (the tasks example's server, $WIRECALL_TASKS or target/debug/tasks).
(cd "$SDK/python" && "$ROOT/.venv-sdk/bin/python" -m pytest -q) || failed+=(python)

echo "=== centrifuge-js (SDK and messaging) and cent.js, the HTTP API client (node --test) ==="
(cd "$SDK/node" && node --test sdk.test.mjs cent.test.mjs messaging.test.mjs generated.test.mjs cluster.test.mjs specs.test.mjs publisher.test.mjs) || failed+=(node)

echo "=== generated TypeScript types (tsc --strict) ==="
(cd "$SDK/node" && npx --no-install tsc -p tsconfig.golden.json && echo "tsc: rpc-core/tests/golden/types.ts typechecks") || failed+=(tsc)

echo "=== generated Python models (ruff, mypy --strict) ==="
(cd "$ROOT/rpc-core/tests/golden" && "$ROOT/.venv-sdk/bin/ruff" check --no-cache models.py \
    && "$ROOT/.venv-sdk/bin/mypy" --strict --no-incremental --cache-dir=/dev/null models.py) || failed+=(python-models)

echo "=== generated Python clients (ruff, mypy --strict) ==="
(cd "$ROOT/target/clients/py" && "$ROOT/.venv-sdk/bin/ruff" check --no-cache fixture_client tasks_client \
    && "$ROOT/.venv-sdk/bin/mypy" --strict --no-incremental --cache-dir=/dev/null fixture_client \
    && "$ROOT/.venv-sdk/bin/mypy" --strict --no-incremental --cache-dir=/dev/null tasks_client) \
    || failed+=(python-clients)

echo "=== generated Go clients (gofmt -l, go vet) ==="
# Checked in copies, tidied as their README says (go mod tidy writes go.sum), so the
# committed example clients stay as generated. The stress model is wirecall-core's Go
# emitter test model: awkward names, every Go form, and 400 generated doc comments.
GO_CHECKS="$ROOT/target/clients/go-checks"
rm -rf "$GO_CHECKS" && mkdir -p "$GO_CHECKS"
cp -r "$ROOT/target/clients/fixture/go" "$GO_CHECKS/fixture"
cp -r "$ROOT/examples/tasks/clients/generated/go" "$GO_CHECKS/tasks"
WIRECALL_GO_DUMP="$GO_CHECKS/stress-out" cargo test -q --locked -p wirecall-core --features export --lib export::go::stress >/dev/null \
  && mv "$GO_CHECKS/stress-out/go" "$GO_CHECKS/stress" || failed+=(go-stress-model)
for dir in "$GO_CHECKS"/fixture "$GO_CHECKS"/tasks "$GO_CHECKS"/stress; do
  (cd "$dir" && unformatted=$(gofmt -l .) && [ -z "$unformatted" ] && go mod tidy >/dev/null 2>&1 \
      && go vet ./... && echo "gofmt, go vet: $(basename "$dir") is clean") \
      || { echo "gofmt -l in $dir: ${unformatted:-}"; failed+=(go-clients); }
done

echo "=== the tasks example's backends (ruff, mypy --strict, gofmt -l, go vet) ==="
# A Python script and a Go program that publish to the tasks page with the generated
# publishers (its browser test runs them).
BACKENDS="$ROOT/examples/tasks/backends"
(cd "$BACKENDS" && "$ROOT/.venv-sdk/bin/ruff" check --no-cache notify.py \
    && MYPYPATH="$ROOT/target/clients/py" "$ROOT/.venv-sdk/bin/mypy" --strict --no-incremental \
      --cache-dir=/dev/null notify.py) || failed+=(backends-python)
(cd "$BACKENDS/progress" && unformatted=$(gofmt -l .) && [ -z "$unformatted" ] && go vet ./... \
    && echo "gofmt, go vet: examples/tasks/backends/progress is clean") \
    || { echo "gofmt -l: ${unformatted:-}"; failed+=(backends-go); }

echo "=== centrifuge-go (go test) ==="
# -count=1: the fixture binary is not part of go's test cache key.
(cd "$SDK/go" && go test -count=1 -v ./...) || failed+=(go)

echo "=== centrifuge-java, Protobuf only (mvn test) ==="
(cd "$SDK/java" && mvn -B -q test && grep -h "Tests run" target/surefire-reports/*.txt) || failed+=(java)

if [ ${#failed[@]} -gt 0 ]; then
  echo "tests/sdk/run.sh: FAILED suites: ${failed[*]}" >&2
  exit 1
fi
echo "tests/sdk/run.sh: all SDK suites passed"
