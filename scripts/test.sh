#!/bin/sh
# The whole test suite, as CI runs it: setup, lint + format check, type check, tests.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh --test
echo "test: biome" >&2
npx biome check .
echo "test: tsc" >&2
npx tsc -p tsconfig.json --noEmit
echo "test: vitest" >&2
npx vitest run "$@"
