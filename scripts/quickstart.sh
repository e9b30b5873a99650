#!/bin/sh
# Quick start, command one. Until the collector pipeline lands, this decodes bundled real flow
# exports (softflowd and pmacct exporting the same packet capture as NetFlow v5, v9 and IPFIX)
# and prints what flowtally found.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
node dist/cli/flowtally.js decode \
  test/fixtures/flows/exported-from-packets/softflowd-v5__ndpi__netflix.pcap \
  test/fixtures/flows/exported-from-packets/softflowd-v9__ndpi__netflix.pcap \
  test/fixtures/flows/exported-from-packets/pmacctd-nfprobe-v10__ndpi__netflix.pcap \
  test/fixtures/flows/netflow-v5/logstash__nf5-juniper-mx80.pcap \
  test/fixtures/flows/netflow-v9/akvorado__multiplesamplingrates__combined.pcap
