#!/bin/sh
# Quick start, command one: starts `flowtally run` on the embedded store with config/demo.yaml,
# feeds it real NetFlow v9 exports (pmacctd exporting four ordinary packet captures) over UDP on
# loopback with `flowtally send --retime-to now-2m` (moved to end two minutes ago: the console's
# "last …" periods end with the last whole minute, and show them at once), stops it (every open
# interval is written on stop), and prints the operator overview. Then it adds two demo users (an
# operator and a customer, random passwords), starts `flowtally run` again on that data and
# prints the console's and the portal's addresses with the logins; Ctrl-C stops it.
# FT_QUICKSTART_SERVE=0 stops after the overview instead.
#
# Ports: the demo's run listens on ports the kernel picks (port 0), and the ports come from its
# own log lines, so neither another program on a fixed port nor one answering on it can get into
# the demo. Its config is config/demo.yaml with only the two addresses changed, written to
# .flowtally/ (so its dataDir, ".", is .flowtally/ too, where config/demo.yaml keeps its files).
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
mkdir -p .flowtally
rm -f .flowtally/demo.duckdb .flowtally/demo.duckdb.wal .flowtally/demo-decoder-state.json \
  .flowtally/registry.duckdb .flowtally/registry.duckdb.wal
CONFIG=.flowtally/demo-run.yaml
LOG=.flowtally/demo-run.log
sed -e 's#^dataDir: .*#dataDir: .#' \
  -e 's#listen: "127.0.0.1:20555"#listen: "127.0.0.1:0"#' \
  -e 's#listen: "127.0.0.1:18080"#listen: "127.0.0.1:0"#' config/demo.yaml >"$CONFIG"

# The log goes to a file: the demo's exporter sends no sampling rate and this box may cap the
# receive buffer; `flowtally run` logs both as warnings, which are for operators, not a first look.
node dist/cli/flowtally.js run --config "$CONFIG" 2>"$LOG" &
RUN=$!
trap 'kill $RUN 2>/dev/null || true' EXIT INT TERM
# The port of a log line of this process ("query API listening", "listening for NetFlow ...").
port_of() {
  node -e '
    const line = require("fs").readFileSync(process.argv[1], "utf8").split("\n")
      .find((l) => l.includes(`"msg":"${process.argv[2]}"`));
    if (line === undefined) process.exit(1);
    process.stdout.write(String(JSON.parse(line).port));' "$LOG" "$1" 2>/dev/null
}
i=0
until API_PORT=$(port_of "query API listening"); do
  i=$((i + 1))
  if [ $i -gt 100 ] || ! kill -0 $RUN 2>/dev/null; then
    echo "quickstart: flowtally run did not start:" >&2
    cat "$LOG" >&2
    exit 1
  fi
  sleep 0.1
done
UDP_PORT=$(port_of "listening for NetFlow v5/v9 and IPFIX")
echo "flowtally is running (UDP 127.0.0.1:$UDP_PORT, API http://127.0.0.1:$API_PORT); sending exports:"
E=test/fixtures/flows/exported-from-packets
for c in tcpreplay__test ndpi__netflix ndpi__http_ipv6 ndpi__1kxun; do
  node dist/cli/flowtally.js send --retime-to now-2m --to "127.0.0.1:$UDP_PORT" "$E/pmacctd-nfprobe-v9__$c.pcap"
done
kill -TERM $RUN
wait $RUN
trap - EXIT INT TERM

# The last 24 hours, as an operator would ask: the exports were retimed to end two minutes ago,
# so the average rates are over a day (a few records of the captures carry exporter times years
# earlier; `--from 2000-01-01T00:00:00Z` shows them too, at rates over the whole span).
printf '\nOperator overview, the last 24 hours (bytes in = download, out = upload):\n'
node dist/cli/flowtally.js query overview --config config/demo.yaml --from now-24h
if [ "${FT_QUICKSTART_SERVE:-1}" = 0 ]; then
  printf '\nRun it yourself: node dist/cli/flowtally.js run --config config/demo.yaml\n'
  exit 0
fi

# Two demo users in the demo's account database (.flowtally/registry.duckdb), random passwords.
password() { node -e 'process.stdout.write(require("crypto").randomBytes(12).toString("base64url"))'; }
OPERATOR_PASSWORD=$(password)
CUSTOMER_PASSWORD=$(password)
printf '%s\n' "$OPERATOR_PASSWORD" | node dist/cli/flowtally.js users add demo \
  --config "$CONFIG" --role operator --password-stdin >/dev/null
printf '%s\n' "$CUSTOMER_PASSWORD" | node dist/cli/flowtally.js users add office-user \
  --config "$CONFIG" --role customer --customer office --password-stdin >/dev/null

# The same data, served: the console and the portal are pages of the API's address.
: >"$LOG"
node dist/cli/flowtally.js run --config "$CONFIG" 2>"$LOG" &
RUN=$!
trap 'kill $RUN 2>/dev/null || true' EXIT
trap 'kill $RUN 2>/dev/null || true; exit 0' INT TERM
i=0
until API_PORT=$(port_of "query API listening"); do
  i=$((i + 1))
  if [ $i -gt 100 ] || ! kill -0 $RUN 2>/dev/null; then
    echo "quickstart: flowtally run did not start:" >&2
    cat "$LOG" >&2
    exit 1
  fi
  sleep 0.1
done
URL="http://127.0.0.1:$API_PORT"
printf '\nflowtally is serving the demo data (log: %s; Ctrl-C stops it):\n' "$LOG"
printf '  operator console:  %s/console   user demo, password %s\n' "$URL" "$OPERATOR_PASSWORD"
printf '  customer portal:   %s/portal    user office-user, password %s\n' "$URL" "$CUSTOMER_PASSWORD"
printf '  API:               curl -H "Authorization: Bearer demo-token-change-me-0123456789" "%s/api/v1/overview?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z"\n' "$URL"
wait $RUN
