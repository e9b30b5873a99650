/**
 * Golden test: every flow capture in test/fixtures/flows is replayed through a fresh decoder and
 * its record count and byte/packet totals are compared with the reference figures that tshark,
 * nfdump and pmacct produced for the same file (test/fixtures/flows/expected-flows.json, built by
 * ../shared/data/tools/describe_flows.py; see test/fixtures/EXPECTED.md).
 *
 * The default reference is tshark's two-pass decode (`records_total_two_pass`, the sums of
 * cflow.octets / cflow.packets), compared with our totals *before* sampling is applied (tshark
 * does not scale). Where we differ from tshark, the entry in `exceptions` names the tool we agree
 * with instead and says who is right and why.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeCapture, totals } from "../../test/support/decode-capture.js";

interface Expected {
  file: string;
  cflow?: {
    records_total_two_pass: number;
    counter_sums: Record<string, number>;
  };
  pmacct?: { flows: number; packets: number; bytes: number };
  nfdump?: { flows: number; packets: number; bytes: number };
}

interface Reference {
  records: number;
  bytes: number;
  packets: number;
  why: string;
}

const fixtures = new URL("../../test/fixtures/", import.meta.url);
const expected: Expected[] = JSON.parse(
  readFileSync(new URL("flows/expected-flows.json", fixtures), "utf8"),
);

/** Files where tshark is not the reference, with the figure we match and why. */
const exceptions: Record<string, Reference> = {
  "logstash__nf5-invalid-01.pcap": {
    records: 0,
    bytes: 0,
    packets: 0,
    why: "header count 55582 in a 1464-byte datagram: dropped, as pmacct and nfdump do (tshark echoes the count)",
  },
  "logstash__nf5-invalid-02.pcap": {
    records: 0,
    bytes: 0,
    packets: 0,
    why: "header count 163 in a 1464-byte datagram: dropped, as pmacct and nfdump do",
  },
  "logstash__nf9-invalid-01.pcap": {
    records: 2,
    bytes: 194,
    packets: 2,
    why: "the v9 header count (2) covers only the templates; the datagram goes on with an options template, options data and 2 data records. nfdump ignores the count and finds the same 2 flows (2/2/194); tshark and pmacct stop at the count",
  },
  "logstash__nf9-h3c.pcap": {
    records: 16,
    bytes: 8729687,
    packets: 6113,
    why: "template 3281 declares 2-byte IPv4 addresses; tshark 4.0 stops with 'Malformed Packet' after the first record, pmacct and nfdump decode all 16 (same figures as ours)",
  },
  "logstash__nf9-h3c-netstream-with-varstring.pcap": {
    records: 1,
    bytes: 702,
    packets: 9,
    why: "same H3C issue: tshark stops, pmacct and nfdump decode the record",
  },
  "logstash__nf9-cisco-asa.pcap": {
    records: 14,
    bytes: 888,
    packets: 0,
    why: "Cisco ASA NSEL sends bytes in octetTotalCount (IE 85) only; pmacct and nfdump count them (888), tshark sums IE 1 only",
  },
  "logstash__nf9-cisco-asa-2.pcap": {
    records: 19,
    bytes: 130362,
    packets: 0,
    why: "NSEL with initiatorOctets + responderOctets (IE 231/232) only: nfdump adds both (130362) as we do; pmacct reports 0 bytes, which loses the traffic",
  },
  "akvorado__ipfixprobe__combined.pcap": {
    records: 6,
    bytes: 25942,
    packets: 60,
    why: "RFC 5103 biflows: 2 of the 4 records carry reverse counters, which we emit as 2 reversed records; bytes/packets equal tshark and nfdump (pmacct drops the reverse direction: 24268/34)",
  },
  "logstash__ipfix-yaf-basic-with-applabel.pcap": {
    records: 4,
    bytes: 596,
    packets: 10,
    why: "YAF biflows with octetTotalCount (IE 85) and reverse totals: 2 records + 2 reversed; totals equal nfdump's (2/10/596); pmacct keeps the forward direction only (304/6); tshark sums IE 1, absent here",
  },
  "telegraf__ipfix_example.pcap": {
    records: 56,
    bytes: 577437,
    packets: 1070,
    why: "YAF-style export with IE 85/86 and reverse counters: 29 records, 27 of them with a reverse direction; totals equal nfdump's (29/1070/577437)",
  },
  "pmacct__112-IPFIXv10-CISCO-options-map-reassignment__traffic-00.pcap": {
    records: 9,
    bytes: 1197,
    packets: 19,
    why: "the exporter sends from two source ports: templates are keyed by exporter address + domain (as pmacct and nfdump do, both 9/19/1197), tshark keys on the port too and finds no template",
  },
};

describe("golden: every flow capture against tshark / pmacct / nfdump", () => {
  const files = expected.filter((e) => e.cflow !== undefined);
  it("covers the whole corpus", () => {
    expect(files.length).toBeGreaterThanOrEqual(130);
  });

  for (const e of files) {
    const name = e.file.split("/").pop()!;
    it(name, () => {
      const { batch, decoder } = decodeCapture(new URL(e.file, fixtures).pathname);
      const t = totals(batch);
      const ref = exceptions[name] ?? {
        records: e.cflow!.records_total_two_pass,
        bytes: e.cflow!.counter_sums["cflow.octets"] ?? 0,
        packets: e.cflow!.counter_sums["cflow.packets"] ?? 0,
        why: "tshark",
      };
      expect({ records: t.records, bytes: t.rawBytes, packets: t.rawPackets }).toEqual({
        records: ref.records,
        bytes: ref.bytes,
        packets: ref.packets,
      });
      expect(decoder.problems["internal-error"]).toBe(0);
    });
  }
});

describe("golden: sampled totals against nfdump and akvorado", () => {
  it("v5 header sampling interval 1000 (Juniper MX80) scales like nfdump: 31000 packets, 3989000 bytes", () => {
    const { batch } = decodeCapture(
      new URL("flows/netflow-v5/logstash__nf5-juniper-mx80.pcap", fixtures).pathname,
    );
    const t = totals(batch);
    expect([t.packets, t.bytes]).toEqual([31000, 3989000]);
    expect(batch.samplingSource[0]).toBe(1);
  });

  it("v9 options with two samplers (4000 and 2000) apply per record, as akvorado's own test expects", () => {
    // akvorado TestDecodeMultipleSamplingRates: the first flow (ffff::68 -> ffff::1a, 18 packets,
    // 1348 bytes) has rate 4000, the others rate 2000. nfdump (40018 packets) misses sampler 2.
    const { batch } = decodeCapture(
      new URL("flows/netflow-v9/akvorado__multiplesamplingrates__combined.pcap", fixtures).pathname,
    );
    expect(batch.samplingRate[0]).toBe(4000);
    expect([...batch.samplingRate.subarray(1, batch.length)].every((r) => r === 2000)).toBe(true);
    const t = totals(batch);
    expect(t.packets).toBe(18 * 4000 + (38 - 18) * 2000);
    expect(t.bytes).toBe(1348 * 4000 + (14818 - 1348) * 2000);
  });
});
