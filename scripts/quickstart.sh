#!/bin/sh
# Quick start, command one. Until the collector pipeline lands, this decodes bundled real flow
# exports (softflowd and pmacct exporting the same packet capture, a sampling Juniper router, a
# v9 exporter with two samplers) and prints what flowtally found in each.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
flows=test/fixtures/flows
show() {
  printf '\n=== %s\n' "$1"
  shift
  node dist/cli/flowtally.js decode "$@"
}
show "softflowd exporting nDPI's netflix.pcap as NetFlow v9" \
  "$flows/exported-from-packets/softflowd-v9__ndpi__netflix.pcap"
show "pmacct exporting the same capture as IPFIX" \
  "$flows/exported-from-packets/pmacctd-nfprobe-v10__ndpi__netflix.pcap"
show "a Juniper MX80 sampling 1:1000 (NetFlow v5 header) - bytes are scaled up" \
  "$flows/netflow-v5/logstash__nf5-juniper-mx80.pcap"
show "a v9 exporter with two samplers (1:4000, 1:2000) announced in options data" \
  "$flows/netflow-v9/akvorado__multiplesamplingrates__combined.pcap"
