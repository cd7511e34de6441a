#!/usr/bin/env bash
# The tasks page's checks, run by test.sh: installs what they need (Debian's
# chromium, the pinned npm packages), proves the committed bundle dist/ is what
# `npm run build` makes from src/ and the generated client, typechecks src/
# (tsc --strict), and runs the browser tests (tests/page.test.mjs, and
# tests/admin.test.mjs for wirecall's admin page).
# Needs target/debug/tasks and the built generated client
# target/clients/ts/tasks-client (tests/sdk/clients.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "examples/tasks/web/check.sh: chromium is missing; install Debian's chromium package (as root)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

npm ci --loglevel=error --no-audit --no-fund >/dev/null
npm run --silent build
if ! git diff --quiet --exit-code -- dist; then
  git --no-pager diff --stat -- dist
  echo "examples/tasks/web/check.sh: dist/ is stale; run npm run build there and commit dist/" >&2
  exit 1
fi
npx --no-install tsc -p . --noEmit
node --test tests/page.test.mjs tests/admin.test.mjs
