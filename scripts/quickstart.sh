#!/bin/sh
# Quick start, command one: starts `flowtally run` on the embedded store with config/demo.yaml,
# feeds it real NetFlow v9 exports (pmacctd exporting four ordinary packet captures) over UDP on
# loopback with `flowtally send`, stops it (every open interval is written on stop), and prints
# the operator overview.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
mkdir -p .flowtally
rm -f .flowtally/demo.duckdb .flowtally/demo.duckdb.wal .flowtally/demo-decoder-state.json

# --log-level error: the demo's exporter sends no sampling rate and this box may cap the receive
# buffer; `flowtally run` logs both as warnings, which are for operators, not for a first look.
node dist/cli/flowtally.js run --config config/demo.yaml --log-level error &
RUN=$!
trap 'kill $RUN 2>/dev/null || true' EXIT INT TERM
# Wait for the query API (it starts after the UDP input).
i=0
until node -e "fetch('http://127.0.0.1:18080/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"; do
  i=$((i + 1))
  if [ $i -gt 100 ] || ! kill -0 $RUN 2>/dev/null; then echo "quickstart: flowtally run did not start" >&2; exit 1; fi
  sleep 0.1
done
echo "flowtally is running (UDP 127.0.0.1:20555, API http://127.0.0.1:18080); sending exports:"
E=test/fixtures/flows/exported-from-packets
for c in tcpreplay__test ndpi__netflix ndpi__http_ipv6 ndpi__1kxun; do
  node dist/cli/flowtally.js send --to 127.0.0.1:20555 "$E/pmacctd-nfprobe-v9__$c.pcap"
done
kill -TERM $RUN
wait $RUN
trap - EXIT INT TERM

printf '\nOperator overview (bytes in = download, out = upload):\n'
node dist/cli/flowtally.js query overview --config config/demo.yaml \
  --from 2000-01-01T00:00:00Z --to 2100-01-01T00:00:00Z
printf '\nRun it yourself: node dist/cli/flowtally.js run --config config/demo.yaml\n'
printf 'and ask the API: curl -H "Authorization: Bearer demo-token-change-me-0123456789" "http://127.0.0.1:18080/api/v1/overview?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z"\n'
