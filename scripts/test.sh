#!/bin/sh
# The whole test suite, as CI runs it: setup, lint + format check, type check, tests, then the
# load tests on their own.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh --test
echo "test: biome" >&2
npx biome check .
echo "test: tsc" >&2
npx tsc -p tsconfig.json --noEmit
echo "test: vitest" >&2
npx vitest run --exclude 'test/load/**' "$@"
# The tests that store and query dated series again, on a clock 25 years ahead (docs/testing.md).
sh scripts/test-calendar.sh --quick
# Load tests measure loss at a high rate: alone, so other test files don't take the CPU.
echo "test: vitest (load, alone)" >&2
npx vitest run test/load
