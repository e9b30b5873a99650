#!/bin/sh
# Quick start, command one: replays a bundled real NetFlow v9 export (pmacctd exporting
# tcpreplay's test.pcap) through the whole single-box pipeline into the embedded store, then
# prints the operator overview. The live collector (`flowtally run`) is being built.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
rm -f .flowtally/demo.duckdb .flowtally/demo.duckdb.wal .flowtally/demo-decoder-state.json
node dist/cli/flowtally.js replay --config config/demo.yaml \
  test/fixtures/flows/exported-from-packets/pmacctd-nfprobe-v9__tcpreplay__test.pcap
printf '\nOperator overview (bytes in = download, out = upload):\n'
node dist/cli/flowtally.js query overview --config config/demo.yaml \
  --from 2000-01-01T00:00:00Z --to 2100-01-01T00:00:00Z
