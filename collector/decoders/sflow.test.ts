/**
 * The sFlow v5 decoder against independent references, capture by capture:
 *
 * - totals: the records and packets that sfcapd/nfdump give (EXPECTED.md "flows/sflow"), and
 *   IP-layer bytes × rate from tshark's own decode of each sampled header
 *   (test/fixtures/flows/sflow/expected/tshark-flow-samples.json, made by the .py beside it).
 *   sfcapd/nfdump's bytes are frame length × rate and sfacctd's are the unscaled frame length:
 *   both count the link header and FCS that NetFlow octet counts (and flowtally) do not, so
 *   they differ from ours by exactly (frame length − IP length) × rate; the test checks that.
 * - per record: addresses, ports, protocol, tcp flags, dscp, interfaces and rate, vs tshark;
 * - counter samples: ifIndex, speed and octet counters vs tcpdump's and telegraf's expected
 *   output;
 * - NetFlow v5 on the sFlow port, the tcpdump crash capture, every datagram truncated at every
 *   length, and 20 000 mutated datagrams: counted, never thrown.
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FlowBatch, samplingSourceNames } from "../../schema/flow-record.js";
import { createRng, MAX_DATAGRAM, mutateDatagram } from "../../test/fuzz/mutate.js";
import { captureDatagrams } from "../../test/support/decode-capture.js";
import { readFlowRecord } from "./flow-record-view.js";
import { createSflowDecoder, SFLOW_V5_RECORD_VERSION, type SflowDecoder } from "./sflow.js";
import { InterfaceCounterBatch } from "./sflow-records.js";

const dir = new URL("../../test/fixtures/flows/sflow/", import.meta.url);
const path = (file: string) => new URL(file, dir).pathname;

interface TsharkSample {
  frame: number;
  agent: string;
  subAgent: number;
  rate: number;
  input: [number, number];
  output: [number, number];
  headerProtocol?: number;
  frameLength?: number;
  packet?: {
    version: 4 | 6;
    ipLength: number;
    src: string;
    dst: string;
    protocol: number;
    dscp: number;
    srcPort: number;
    dstPort: number;
    tcpFlags: number;
  } | null;
  ipv4Record?: { length: number; src: string; dst: string };
}
const tshark: { tool: string; captures: Record<string, TsharkSample[]> } = JSON.parse(
  readFileSync(path("expected/tshark-flow-samples.json"), "utf8"),
);

interface Decoded {
  decoder: SflowDecoder;
  batch: FlowBatch;
  counters: InterfaceCounterBatch;
  datagrams: number;
}

function decodeSflow(file: string): Decoded {
  const decoder = createSflowDecoder();
  const batch = new FlowBatch(64);
  const counters = new InterfaceCounterBatch();
  let datagrams = 0;
  for (const d of captureDatagrams(path(file))) {
    datagrams++;
    decoder.decode(d.payload, d.exporter, d.timeMs, batch, counters);
  }
  return { decoder, batch, counters, datagrams };
}

function sums(batch: FlowBatch) {
  let bytes = 0;
  let packets = 0;
  for (let i = 0; i < batch.length; i++) {
    bytes += batch.bytes[i]!;
    packets += batch.packets[i]!;
  }
  return { records: batch.length, packets, bytes };
}

/**
 * EXPECTED.md "flows/sflow": sfcapd+nfdump (renormalised: packets = rate, bytes = frame length ×
 * rate) and sfacctd (one packet and the frame length per sample, unscaled).
 */
const references: Record<
  string,
  { nfdump: [number, number, number]; sfacctd: [number, number, number]; why?: string }
> = {
  "akvorado__data-1140.pcap": { nfdump: [5, 5120, 5178368], sfacctd: [5, 5, 5057] },
  "akvorado__data-discard-interface.pcap": { nfdump: [1, 1024, 1554432], sfacctd: [1, 1, 1518] },
  "akvorado__data-encap-vxlan.pcap": {
    nfdump: [1, 1, 172],
    sfacctd: [1, 1, 172],
    why: "VXLAN: the packet parser reports the inner packet (one level of decapsulation) as the flow, so addresses and IP length are the inner packet's; tshark, sfacctd and nfdump stop at the outer header",
  },
  "akvorado__data-icmpv4.pcap": { nfdump: [1, 1, 102], sfacctd: [1, 1, 102] },
  "akvorado__data-icmpv6.pcap": { nfdump: [1, 1, 90], sfacctd: [1, 1, 90] },
  "akvorado__data-local-interface.pcap": { nfdump: [1, 1024, 1554432], sfacctd: [1, 1, 1518] },
  "akvorado__data-multiple-interfaces.pcap": {
    nfdump: [1, 1024, 1554432],
    sfacctd: [1, 1, 1518],
  },
  "akvorado__data-qinq.pcap": {
    nfdump: [1, 4096, 434176],
    sfacctd: [0, 0, 0],
    why: "QinQ (two 802.1Q tags): sfacctd accounts nothing; nfdump, tshark and flowtally find the IPv4 packet under both tags",
  },
  "akvorado__data-sflow-expanded-sample.pcap": {
    nfdump: [1, 1000, 126000],
    sfacctd: [1, 1, 126],
  },
  "akvorado__data-sflow-ipv4-data.pcap": {
    nfdump: [1, 256, 344064],
    sfacctd: [1, 1, 1344],
    why: "the sample also has a sampled-IPv4 record (length 1344): sfacctd and nfdump take that length, which is the IP length, so here all three agree on bytes",
  },
  "akvorado__data-sflow-raw-ipv4.pcap": { nfdump: [2, 2, 100], sfacctd: [2, 2, 100] },
  "ndpi__sflow.pcap": { nfdump: [1, 2048, 167936], sfacctd: [1, 1, 82] },
  "tcpdump__sflow-print-v6.pcap": { nfdump: [13, 13, 1454], sfacctd: [13, 13, 1454] },
  "tcpdump__sflow_expanded.pcap": { nfdump: [1, 1000, 126000], sfacctd: [1, 1, 126] },
  "tcpdump__sflow_multiple_counter_30_pdus.pcap": { nfdump: [0, 0, 0], sfacctd: [0, 0, 0] },
  "tcpdump__sflow_print-segv.pcap": { nfdump: [0, 0, 0], sfacctd: [0, 0, 0] },
  "telegraf__sflow_issue_15375.pcap": { nfdump: [0, 0, 0], sfacctd: [0, 0, 0] },
  "telegraf__sflow_issue_15918.pcap": { nfdump: [6, 1200, 570400], sfacctd: [6, 6, 2852] },
  "telegraf__sflow_issue_18876.pcap": { nfdump: [0, 0, 0], sfacctd: [0, 0, 0] },
  "telegraf__sflow_v5_example.pcap": { nfdump: [0, 0, 0], sfacctd: [0, 0, 0] },
};

const captures = readdirSync(dir)
  .filter((f) => f.endsWith(".pcap"))
  .sort();

describe("sFlow totals: records and packets as sfcapd/nfdump, bytes = tshark IP length × rate", () => {
  it("covers every sFlow capture", () => {
    expect(captures.length).toBe(20);
    expect(Object.keys(references).sort()).toEqual(captures);
    expect(Object.keys(tshark.captures).sort()).toEqual(captures);
  });

  for (const file of captures) {
    it(file, () => {
      const { batch, decoder } = decodeSflow(file);
      const t = sums(batch);
      const ref = references[file]!;
      const samples = tshark.captures[file]!;
      // Records and packets: one row per flow sample, 1 packet × rate (nfdump's figures).
      expect([t.records, t.packets]).toEqual([ref.nfdump[0], ref.nfdump[1]]);
      expect(decoder.problems["internal-error"]).toBe(0);
      if (file === "akvorado__data-encap-vxlan.pcap") {
        // Inner packet (see `why`): outer IP 154 − outer IPv4/UDP/VXLAN/Ethernet 50 bytes.
        expect(t.bytes).toBe(104);
        return;
      }
      // Bytes: IP-layer length × rate, from tshark's decode of the same sampled headers.
      const ipBytes = samples.reduce((s, x) => s + x.packet!.ipLength * x.rate, 0);
      expect(t.bytes).toBe(ipBytes);
      // Against nfdump: the difference is exactly the link header + FCS of each frame, × rate,
      // except where nfdump took the sampled-IPv4 record's IP length too.
      const l2 = samples.reduce(
        (s, x) => s + (x.ipv4Record ? 0 : (x.frameLength! - x.packet!.ipLength) * x.rate),
        0,
      );
      expect(t.bytes).toBe(ref.nfdump[2] - l2);
      if (ref.sfacctd[0] === ref.nfdump[0]) {
        // sfacctd: the same records, unscaled.
        const unscaled = samples.reduce(
          (s, x) => s + (x.ipv4Record ? x.ipv4Record.length : x.frameLength!),
          0,
        );
        expect(unscaled).toBe(ref.sfacctd[2]);
      }
    });
  }
});

describe("sFlow records field by field against tshark", () => {
  for (const file of captures) {
    const samples = tshark.captures[file]!;
    if (samples.length === 0) continue;
    it(file, () => {
      const { batch, decoder } = decodeSflow(file);
      expect(batch.length).toBe(samples.length);
      samples.forEach((x, i) => {
        const r = readFlowRecord(batch, i);
        const ifIndex = ([format, value]: [number, number]) =>
          format === 0 && value !== 0x3fffffff ? value : 0;
        expect(r.version).toBe(SFLOW_V5_RECORD_VERSION);
        expect(r.exporter).toBe(x.agent);
        expect(r.domain).toBe(x.subAgent);
        expect([r.inIf, r.outIf]).toEqual([ifIndex(x.input), ifIndex(x.output)]);
        expect([r.samplingRate, r.samplingSource, r.packets]).toEqual([x.rate, "record", x.rate]);
        expect(r.startMs).toBe(r.endMs);
        if (file === "akvorado__data-encap-vxlan.pcap") return;
        const p = x.packet!;
        expect({
          ipVersion: r.ipVersion,
          src: r.srcAddress,
          dst: r.dstAddress,
          protocol: r.protocol,
          srcPort: r.srcPort,
          dstPort: r.dstPort,
          tcpFlags: r.tcpFlags,
          dscp: r.dscp,
          bytes: r.bytes,
        }).toEqual({
          ipVersion: p.version,
          src: p.src,
          dst: p.dst,
          protocol: p.protocol,
          srcPort: p.srcPort,
          dstPort: p.dstPort,
          tcpFlags: p.tcpFlags,
          dscp: p.dscp,
          bytes: p.ipLength * x.rate,
        });
      });
      expect(decoder.problems["sample-not-ip"]).toBe(0);
    });
  }

  it("the clean captures count no problem at all", () => {
    const seen: Record<string, Record<string, number>> = {};
    for (const file of captures) {
      const { decoder } = decodeSflow(file);
      const counted = Object.entries(decoder.problems).filter(([, n]) => n > 0);
      if (counted.length > 0) seen[file] = Object.fromEntries(counted);
    }
    expect(seen).toEqual({
      // 5 NetFlow v5 datagrams on the sFlow port (tcpdump: "sFlow version 327681").
      "tcpdump__sflow_multiple_counter_30_pdus.pcap": { "unknown-version": 5 },
      // Crafted to crash tcpdump: the UDP length (16) leaves 8 bytes of sFlow (tcpdump:
      // "sFlowv5 [length 8 < 28] (invalid)"); the 860 bytes after it are not the datagram's.
      "tcpdump__sflow_print-segv.pcap": { "header-truncated": 1 },
    });
  });

  it("interface encodings: discard, multiple outputs and the device itself give outIf 0", () => {
    // tshark: output format 1 value 1 (discarded, reason 1); format 2 value 7 (7 interfaces);
    // format 0 value 0x3FFFFFFF (the device itself). All with input ifIndex 27.
    for (const file of [
      "akvorado__data-discard-interface.pcap",
      "akvorado__data-multiple-interfaces.pcap",
      "akvorado__data-local-interface.pcap",
    ]) {
      const { batch } = decodeSflow(file);
      expect([batch.inIf[0], batch.outIf[0]], file).toEqual([27, 0]);
    }
  });

  it("VXLAN: the inner packet, one level down", () => {
    const { batch } = decodeSflow("akvorado__data-encap-vxlan.pcap");
    const r = readFlowRecord(batch, 0);
    expect(r.bytes).toBe(104);
    expect(r.srcAddress).not.toBe("192.168.108.40");
  });

  it("the agent address names the exporter, not the UDP source", () => {
    // telegraf's payloads were wrapped in UDP from 127.0.0.1; the agent is 192.168.227.2.
    const { batch } = decodeSflow("telegraf__sflow_issue_15918.pcap");
    expect(batch.exporterNames).toEqual(["192.168.227.2"]);
    expect(samplingSourceNames[batch.samplingSource[0] as 2]).toBe("record");
  });
});

/** (ifIndex, ifSpeed, in octets, out octets) of each "Generic counter" block of tcpdump -v. */
function tcpdumpCounters(file: string): number[][] {
  const text = readFileSync(path(`expected/${file}`), "utf8");
  const rows: number[][] = [];
  const re =
    /ifindex (\d+), iftype \d+, ifspeed (\d+),[\s\S]*?In octets (\d+),[\s\S]*?Out octets (\d+),/g;
  for (const m of text.matchAll(re))
    rows.push([Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])]);
  return rows;
}

function ourCounters(counters: InterfaceCounterBatch): number[][] {
  return counters.rows
    .slice(0, counters.length)
    .map((c) => [c.ifIndex, c.ifSpeed, c.inOctets, c.outOctets]);
}

describe("sFlow counter samples", () => {
  it("tcpdump__sflow-print-v6.pcap: 48 generic counter records as tcpdump prints them", () => {
    const { counters, decoder } = decodeSflow("tcpdump__sflow-print-v6.pcap");
    const expected = tcpdumpCounters("sflow-print-v6.out");
    expect(expected.length).toBe(48);
    expect(ourCounters(counters)).toEqual(expected);
    expect(counters.exporterNames[counters.rows[0]!.exporterId]).toBe("30::1:1:1");
    expect(decoder.agentStats()[0]).toMatchObject({ counterSamples: 48, flowSamples: 13 });
  });

  it("tcpdump__sflow_multiple_counter_30_pdus.pcap: 142 records, 6 agents; the NetFlow v5 datagrams on 6343 are not sFlow", () => {
    const { counters, decoder, batch, datagrams } = decodeSflow(
      "tcpdump__sflow_multiple_counter_30_pdus.pcap",
    );
    const expected = tcpdumpCounters("sflow_multiple_counter_30_pdus.out");
    expect(expected.length).toBe(142);
    expect(ourCounters(counters)).toEqual(expected);
    // 25 sFlow datagrams and 5 NetFlow v5 (tcpdump: "sFlow version 327681 packet not supported").
    expect(datagrams).toBe(30);
    expect(decoder.problems["unknown-version"]).toBe(5);
    expect(batch.length).toBe(0);
    expect(decoder.exporterNames.length).toBe(6);
    // expected-flows.json (describe_flows.py, tshark): sums over all generic records.
    const sumIn = counters.rows.slice(0, counters.length).reduce((s, c) => s + c.inOctets, 0);
    const sumOut = counters.rows.slice(0, counters.length).reduce((s, c) => s + c.outOctets, 0);
    expect([sumIn, sumOut]).toEqual([163896183007, 328336516752]);
  });

  it("telegraf__sflow_v5_example.pcap: interface 3 as telegraf's expected.out (tshark 4.0 misreads the port-name record before it)", () => {
    const { counters } = decodeSflow("telegraf__sflow_v5_example.pcap");
    const line = readFileSync(path("expected/telegraf__sflow_v5_example.expected.out"), "utf8");
    const field = (name: string) => Number(new RegExp(`[ ,]${name}=(\\d+)u`).exec(line)![1]);
    expect(ourCounters(counters)).toEqual([
      [field("interface"), field("speed"), field("in_bytes"), field("out_bytes")],
    ]);
    expect(counters.rows[0]!).toMatchObject({
      subAgentId: field("agent_subid"),
      inUnicastPackets: field("in_unicast_packets_total"),
      outUnicastPackets: field("out_unicast_packets_total"),
      sequence: field("seq_number"),
    });
  });

  it("ndpi__sflow.pcap and the telegraf counter captures: octet sums as describe_flows.py (tshark)", () => {
    const expected: Record<string, [number, number]> = {
      "ndpi__sflow.pcap": [307727854, 432246829],
      "telegraf__sflow_issue_15918.pcap": [21286022420858, 8929238553590],
      "telegraf__sflow_issue_18876.pcap": [59347538341644, 89572325677612],
    };
    for (const [file, [inSum, outSum]] of Object.entries(expected)) {
      const { counters } = decodeSflow(file);
      const rows = counters.rows.slice(0, counters.length);
      expect(
        [rows.reduce((s, c) => s + c.inOctets, 0), rows.reduce((s, c) => s + c.outOctets, 0)],
        file,
      ).toEqual([inSum, outSum]);
    }
  });
});

describe("sFlow odd and hostile input", () => {
  it("telegraf__sflow_issue_15375.pcap: a discarded-packet sample is counted and skipped", () => {
    const { decoder, batch } = decodeSflow("telegraf__sflow_issue_15375.pcap");
    expect(batch.length).toBe(0);
    expect(decoder.agentStats()[0]).toMatchObject({ discardSamples: 1, datagrams: 1 });
  });

  it("tcpdump__sflow_print-segv.pcap (made to crash tcpdump) decodes without throwing", () => {
    const { decoder, batch } = decodeSflow("tcpdump__sflow_print-segv.pcap");
    expect(batch.length).toBe(0);
    expect(decoder.problems["internal-error"]).toBe(0);
    const total = Object.values(decoder.problems).reduce((s, n) => s + n, 0);
    expect(total).toBeGreaterThan(0);
    // The UDP length cuts the datagram to 8 bytes; the crafted sFlow that crashed tcpdump is the
    // whole IP payload after the UDP header: decode that too, whole and at every length.
    const file = readFileSync(path("tcpdump__sflow_print-segv.pcap"));
    const start = file.indexOf(Buffer.from([0, 0, 0, 5, 0, 0, 0, 1, 10, 0, 0, 250]));
    expect(start).toBeGreaterThan(0);
    const crafted = file.subarray(start);
    const b = new FlowBatch();
    const counters = new InterfaceCounterBatch();
    for (let n = crafted.length; n >= 0; n--)
      decoder.decode(crafted.subarray(0, n), "10.0.0.250", 0, b, counters);
    expect(decoder.problems["internal-error"]).toBe(0);
  });

  it("datagram sequence numbers: a gap counts lost datagrams per (agent, sub-agent)", () => {
    const [d] = captureDatagrams(path("akvorado__data-sflow-raw-ipv4.pcap"));
    const decoder = createSflowDecoder();
    const b = new FlowBatch();
    const copy = Uint8Array.from(d!.payload);
    const view = new DataView(copy.buffer);
    // v4 agent: version, type, address, sub-agent, then the sequence number at offset 16.
    const seq = view.getUint32(16);
    decoder.decode(copy, "x", 0, b);
    view.setUint32(16, seq + 4);
    decoder.decode(copy, "x", 0, b);
    view.setUint32(16, seq + 2);
    decoder.decode(copy, "x", 0, b);
    // The replays also send the flow samples' sequence numbers back: one reset each time (the
    // first sample goes back; the second is then in order), so 1 + 2 resets and no loss there.
    expect(decoder.agentStats()[0]).toMatchObject({
      datagrams: 3,
      lostDatagrams: 3,
      lostFlowSamples: 0,
      sequenceResets: 3,
    });
  });

  it("a raw header flowtally cannot parse falls back to the sampled IPv4 record", () => {
    const [d] = captureDatagrams(path("akvorado__data-sflow-ipv4-data.pcap"));
    const copy = Buffer.from(d!.payload);
    // Raw packet header record: format 1, length 144, header_protocol 1 → 99.
    const at = copy.indexOf(Buffer.from([0, 0, 0, 1, 0, 0, 0, 144, 0, 0, 0, 1]));
    expect(at).toBeGreaterThan(0);
    copy.writeUInt32BE(99, at + 8);
    const decoder = createSflowDecoder();
    const b = new FlowBatch();
    decoder.decode(copy, d!.exporter, 0, b);
    const r = readFlowRecord(b, 0);
    // tshark's IPv4 data record: length 1344, 50.50.50.50:46622 → 51.51.51.51:58631, UDP.
    expect([r.srcAddress, r.dstAddress, r.srcPort, r.dstPort, r.protocol]).toEqual([
      "50.50.50.50",
      "51.51.51.51",
      46622,
      58631,
      17,
    ]);
    expect(r.bytes).toBe(1344 * 256);
    expect(decoder.problems["header-protocol-unsupported"]).toBe(1);
  });

  it("a sampling override replaces the sample's rate", () => {
    const decoder = createSflowDecoder({ samplingOverrides: { "172.19.64.116": 100 } });
    const b = new FlowBatch();
    for (const d of captureDatagrams(path("akvorado__data-sflow-raw-ipv4.pcap")))
      decoder.decode(d.payload, d.exporter, d.timeMs, b);
    expect([b.samplingRate[0], b.packets[0], b.bytes[0], b.samplingSource[0]]).toEqual([
      100, 100, 3200, 5,
    ]);
  });

  it("sample and record limits bound the work per datagram", () => {
    const datagrams = captureDatagrams(path("akvorado__data-1140.pcap"));
    const decoder = createSflowDecoder({ maxSamplesPerDatagram: 2 });
    const b = new FlowBatch();
    for (const d of datagrams) decoder.decode(d.payload, d.exporter, d.timeMs, b);
    expect(b.length).toBe(2);
    expect(decoder.problems["sample-limit"]).toBe(1);
    // Each sample's first record is the extended switch record: with one record read, no sample
    // reaches its raw header, and none is counted.
    const oneRecord = createSflowDecoder({ maxRecordsPerSample: 1 });
    b.clear();
    for (const d of datagrams) oneRecord.decode(d.payload, d.exporter, d.timeMs, b);
    expect(b.length).toBe(0);
    expect(oneRecord.problems).toMatchObject({ "record-limit": 5, "sample-not-ip": 5 });
  });

  it("every real datagram truncated at every length: counted, never thrown", () => {
    const decoder = createSflowDecoder();
    const b = new FlowBatch();
    const counters = new InterfaceCounterBatch();
    let decodes = 0;
    for (const file of captures) {
      for (const d of captureDatagrams(path(file))) {
        for (let n = 0; n < d.payload.length; n++) {
          decoder.decode(d.payload.subarray(0, n), d.exporter, d.timeMs, b, counters);
          decodes++;
        }
        b.clear();
        counters.clear();
      }
    }
    expect(decodes).toBeGreaterThan(40_000);
    expect(decoder.problems["internal-error"]).toBe(0);
  });

  it("fuzz: 20 000 mutated real datagrams, no throw, bounded output", () => {
    const corpus = captures.flatMap((f) => captureDatagrams(path(f)).map((d) => d.payload));
    const rng = createRng(0x5eed5f10);
    const work = new Uint8Array(MAX_DATAGRAM);
    const decoder = createSflowDecoder({ maxAgents: 64 });
    const b = new FlowBatch();
    const counters = new InterfaceCounterBatch();
    let rows = 0;
    for (let k = 0; k < 20_000; k++) {
      const input = corpus[rng.below(corpus.length)]!;
      const donor = corpus[rng.below(corpus.length)]!;
      const mutant = mutateDatagram(rng, input, donor, work);
      const before = counters.length;
      const n = decoder.decode(mutant, "192.0.2.1", k, b, counters);
      // A row per flow sample / generic counter record, each at least 8 bytes on the wire.
      expect(n + counters.length - before).toBeLessThanOrEqual(mutant.length / 8);
      rows += n;
      for (let i = b.length - n; i < b.length; i++) {
        expect(Number.isFinite(b.bytes[i]!) && b.bytes[i]! >= 0).toBe(true);
        expect(b.samplingRate[i]!).toBeGreaterThanOrEqual(1);
      }
      if (b.length > 256) b.clear();
      if (counters.length > 256) counters.clear();
    }
    expect(decoder.problems["internal-error"]).toBe(0);
    expect(decoder.exporterNames.length).toBeLessThanOrEqual(64);
    expect(rows).toBeGreaterThan(1000);
    expect(decoder.problems["record-truncated"]).toBeGreaterThan(0);
  });
});
