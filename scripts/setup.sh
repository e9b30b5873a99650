#!/bin/sh
# Brings a fresh clone to a runnable state: installs npm dependencies (when package-lock.json is
# newer than the installed tree) and builds dist/. Later stages add the servers the tests need.
set -eu
cd "$(dirname "$0")/.."

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund
fi

# `npm ci` runs `prepare` (the build); rebuild when a source file is newer than the last build.
if [ ! -f dist/cli/flowtally.js ] || [ -n "$(find cli collector config schema store bench aggregator query -name '*.ts' -newer dist/cli/flowtally.js 2>/dev/null | head -n 1)" ]; then
  echo "setup: build" >&2
  npx tsc -p tsconfig.build.json
fi
