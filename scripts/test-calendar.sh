#!/bin/sh
# The calendar check: tests run on a clock moved years ahead (libfaketime, Debian's faketime), so
# that a fixture date meeting the real clock (a default `to = now`, retention pruning, a "late
# data" or maxFuture window, an expiry) fails here, not on the day the fixtures' age reaches it.
# The servers the tests start keep the machine's clock (bench/servers.ts); what must hold for them
# at any date is checked by the store suites' fixture dates (test/support/store-conformance.ts).
#
#   sh scripts/test-calendar.sh           the whole suite at +3 and +25 years (~3 min each)
#   sh scripts/test-calendar.sh --quick   the files that store and query dated series, at +25 years
#                                         (part of `npm test`)
# FLOWTALLY_CALENDAR_OFFSETS="+1y +40y" chooses the offsets (faketime's -f syntax).
set -eu
cd "$(dirname "$0")/.."
command -v faketime >/dev/null 2>&1 || {
  echo "test-calendar: faketime not found: install Debian's faketime (sh scripts/setup.sh --test does it as root)" >&2
  exit 1
}

quick=""
if [ "${1:-}" = "--quick" ]; then
  quick=1
  shift
fi
if [ -n "$quick" ]; then
  offsets="${FLOWTALLY_CALENDAR_OFFSETS:-+25y}"
else
  offsets="${FLOWTALLY_CALENDAR_OFFSETS:-+3y +25y}"
fi

# The faked clock must reach node, or the check proves nothing.
for off in $offsets; do
  year_now="$(date -u +%Y)"
  year_faked="$(faketime -f "$off" node -e 'process.stdout.write(String(new Date().getUTCFullYear()))')"
  if [ "$year_faked" = "$year_now" ]; then
    echo "test-calendar: faketime $off did not move node's clock (still $year_now)" >&2
    exit 1
  fi
  echo "test: vitest on a clock moved $off (node sees $year_faked)" >&2
  if [ -n "$quick" ]; then
    faketime -f "$off" npx vitest run store query aggregator cli "$@"
  else
    # Left out: tests that compare the kernel's packet timestamps (which libfaketime cannot move)
    # with the process clock, and the load tests (run alone by npm test).
    faketime -f "$off" npx vitest run --exclude 'test/load/**' \
      --exclude collector/capture-input.test.ts --exclude test/e2e/live-exporters.test.ts \
      --exclude test/e2e/live-capture.test.ts "$@"
  fi
done
