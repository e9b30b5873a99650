/**
 * Decoder behaviour beyond the golden totals: template keying, data held before its template,
 * IPFIX withdrawal/redefinition, options data, variable-length and enterprise fields, latency,
 * sampling policies, sequence numbers and snapshots. Real captures where the corpus has a case;
 * otherwise messages built byte by byte whose content is the ground truth.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FlowBatch, SamplingSource } from "../../schema/flow-record.js";
import { captureDatagrams, decodeCapture, totals } from "../../test/support/decode-capture.js";
import { Bytes, ipfixMessage, record, v9Packet } from "../../test/support/export-builder.js";
import { loadDecoderState, saveDecoderState } from "../decoder-state-file.js";
import { createFlowDecoder, type FlowDecoder } from "./flow-decoder.js";
import { readFlowRecord } from "./flow-record-view.js";

const flows = (name: string) =>
  new URL(`../../test/fixtures/flows/${name}`, import.meta.url).pathname;

function replay(
  decoder: FlowDecoder,
  file: string,
  batch: FlowBatch,
  opts: { exporter?: string; timeMs?: number; rewrite?: (p: Uint8Array) => void } = {},
): void {
  for (const d of captureDatagrams(flows(file))) {
    opts.rewrite?.(d.payload);
    decoder.decode(d.payload, opts.exporter ?? d.exporter, opts.timeMs ?? d.timeMs, batch);
  }
}

/** A plain IPFIX template: addresses, ports, protocol, 8-byte counters, absolute ms times. */
const basicFields = [
  { id: 8, length: 4 },
  { id: 12, length: 4 },
  { id: 7, length: 2 },
  { id: 11, length: 2 },
  { id: 4, length: 1 },
  { id: 1, length: 8 },
  { id: 2, length: 8 },
  { id: 152, length: 8 },
  { id: 153, length: 8 },
];

function basicRecord(
  src: string,
  dst: string,
  bytes: number,
  packets: number,
  t0: number,
): Uint8Array {
  return record((b) =>
    b
      .ipv4(src)
      .ipv4(dst)
      .u16(40000)
      .u16(443)
      .u8(6)
      .u64(bytes)
      .u64(packets)
      .u64(t0)
      .u64(t0 + 5000),
  );
}

const T0 = 1_700_000_000_000;
const header = (sequence = 0, domain = 1) => ({ exportSeconds: T0 / 1000 + 10, sequence, domain });

describe("templates are keyed by exporter, domain and template id", () => {
  it("two real exporters using template 1024 with different layouts both decode", () => {
    // softflowd and pmacctd both export tcpreplay's test.pcap as NetFlow v9 with template 1024
    // in domain 0, with different field layouts. Their datagrams are interleaved one by one.
    const a = "exported-from-packets/softflowd-v9__tcpreplay__test.pcap";
    const p = "exported-from-packets/pmacctd-nfprobe-v9__tcpreplay__test.pcap";
    const alone = (file: string) => {
      const b = new FlowBatch();
      replay(createFlowDecoder(), file, b);
      return totals(b);
    };
    const soft = alone(a);
    const pm = alone(p);
    expect([soft.records, soft.bytes, pm.records, pm.bytes]).toEqual([45, 63620, 45, 63677]);

    const interleave = (softExporter: string, pmExporter: string) => {
      const decoder = createFlowDecoder();
      const b = new FlowBatch();
      const xs = captureDatagrams(flows(a));
      const ys = captureDatagrams(flows(p));
      for (let k = 0; k < Math.max(xs.length, ys.length); k++) {
        const x = xs[k];
        const y = ys[k];
        if (x !== undefined) decoder.decode(x.payload, softExporter, 0, b);
        if (y !== undefined) decoder.decode(y.payload, pmExporter, 0, b);
      }
      return totals(b);
    };
    const both = interleave("192.0.2.1", "192.0.2.2");
    expect([both.records, both.bytes, both.packets]).toEqual([
      soft.records + pm.records,
      soft.bytes + pm.bytes,
      soft.packets + pm.packets,
    ]);
    // The control: from one address, each exporter's template replaces the other's and the
    // totals go wrong, which is what keying on the template id alone would do.
    const sameKey = interleave("192.0.2.1", "192.0.2.1");
    expect([sameKey.records, sameKey.bytes]).not.toEqual([both.records, both.bytes]);
  });

  it("v9 and IPFIX from one address keep separate templates (softflowd v9 + pmacctd IPFIX, both 1024)", () => {
    const decoder = createFlowDecoder();
    const b = new FlowBatch();
    const xs = captureDatagrams(flows("exported-from-packets/softflowd-v9__tcpreplay__test.pcap"));
    const ys = captureDatagrams(
      flows("exported-from-packets/pmacctd-nfprobe-v10__tcpreplay__test.pcap"),
    );
    for (let k = 0; k < Math.max(xs.length, ys.length); k++) {
      if (xs[k] !== undefined) decoder.decode(xs[k]!.payload, "192.0.2.1", 0, b);
      if (ys[k] !== undefined) decoder.decode(ys[k]!.payload, "192.0.2.1", 0, b);
    }
    // tshark: softflowd v9 45 records / 63620 bytes, pmacctd IPFIX 45 / 63677.
    expect([totals(b).records, totals(b).bytes]).toEqual([90, 63620 + 63677]);
  });

  it("the same template id in two observation domains of one exporter stays apart", () => {
    const decoder = createFlowDecoder();
    const b = new FlowBatch();
    const narrow = [
      { id: 8, length: 4 },
      { id: 12, length: 4 },
      { id: 2, length: 4 },
      { id: 1, length: 4 },
    ];
    decoder.decode(
      ipfixMessage(header(0, 1), [{ kind: "template", id: 300, fields: basicFields }]),
      "192.0.2.1",
      T0,
      b,
    );
    decoder.decode(
      ipfixMessage(header(0, 2), [{ kind: "template", id: 300, fields: narrow }]),
      "192.0.2.1",
      T0,
      b,
    );
    decoder.decode(
      ipfixMessage(header(1, 1), [
        { kind: "data", id: 300, records: [basicRecord("10.0.0.1", "10.0.0.2", 1500, 3, T0)] },
      ]),
      "192.0.2.1",
      T0,
      b,
    );
    decoder.decode(
      ipfixMessage(header(1, 2), [
        {
          kind: "data",
          id: 300,
          records: [record((r) => r.ipv4("10.9.0.1").ipv4("10.9.0.2").u32(7).u32(700))],
        },
      ]),
      "192.0.2.1",
      T0,
      b,
    );
    expect(b.length).toBe(2);
    const [a, z] = [readFlowRecord(b, 0), readFlowRecord(b, 1)];
    expect([a.domain, a.srcAddress, a.bytes, a.packets, a.dstPort]).toEqual([
      1,
      "10.0.0.1",
      1500,
      3,
      443,
    ]);
    expect([z.domain, z.srcAddress, z.bytes, z.packets]).toEqual([2, "10.9.0.1", 700, 7]);
  });
});

describe("data that arrives before its template is held", () => {
  it("decodes akvorado's data set once the template follows (4 records, 5848 bytes)", () => {
    // The two files were captured 62 s apart, more than the default hold time: replay them 1 s
    // apart here (the expiry is the next test).
    const decoder = createFlowDecoder();
    const b = new FlowBatch();
    replay(decoder, "netflow-v9/akvorado__data.pcap", b, { timeMs: 1_000_000 });
    expect(b.length).toBe(0);
    expect(decoder.heldSets().count).toBe(1);
    expect(decoder.problems["data-held"]).toBe(1);
    replay(decoder, "netflow-v9/akvorado__template.pcap", b, { timeMs: 1_001_000 });
    expect([b.length, totals(b).bytes]).toEqual([4, 5848]);
    expect(decoder.heldSets()).toEqual({ count: 0, bytes: 0 });
  });

  it("held data past maxAge is dropped and counted, not decoded with a later template", () => {
    const decoder = createFlowDecoder({ held: { maxAgeMs: 60_000 } });
    const b = new FlowBatch();
    replay(decoder, "netflow-v9/akvorado__data.pcap", b, { timeMs: 1_000_000 });
    replay(decoder, "netflow-v9/akvorado__template.pcap", b, { timeMs: 1_000_000 + 60_001 });
    expect(b.length).toBe(0);
    expect(decoder.problems["held-expired"]).toBe(1);
  });

  it("held data is bounded in count and bytes: ndpi's 23 template-less sets with room for 5", () => {
    const decoder = createFlowDecoder({ held: { maxSets: 5 } });
    const b = new FlowBatch();
    replay(decoder, "netflow-v9/ndpi__netflowv9.pcap", b);
    expect(decoder.heldSets().count).toBe(5);
    expect(decoder.problems["held-overflow"]).toBe(23 - 5);

    const byBytes = createFlowDecoder({ held: { maxBytes: 2000 } });
    replay(byBytes, "netflow-v9/ndpi__netflowv9.pcap", b);
    expect(byBytes.heldSets().bytes).toBeLessThanOrEqual(2000);
    expect(byBytes.heldSets().count + byBytes.problems["held-overflow"]).toBe(23);
  });

  it("the netscaler capture with data before templates decodes all 3 records (tshark -2 finds 3)", () => {
    const { batch } = decodeCapture(
      flows("ipfix/logstash__ipfix_netscaler_varlen__data-before-template.pcap"),
    );
    expect([batch.length, totals(batch).bytes, totals(batch).packets]).toEqual([3, 3106, 5]);
  });
});

describe("IPFIX template lifecycle", () => {
  const data = (seq: number) =>
    ipfixMessage(header(seq), [
      { kind: "data", id: 256, records: [basicRecord("10.0.0.1", "10.0.0.2", 100, 1, T0)] },
    ]);

  it("a withdrawn template no longer decodes; its data is held until it is defined again", () => {
    const decoder = createFlowDecoder();
    const b = new FlowBatch();
    decoder.decode(
      ipfixMessage(header(0), [{ kind: "template", id: 256, fields: basicFields }]),
      "192.0.2.1",
      T0,
      b,
    );
    decoder.decode(data(0), "192.0.2.1", T0, b);
    expect(b.length).toBe(1);
    decoder.decode(ipfixMessage(header(1), [{ kind: "withdraw", id: 256 }]), "192.0.2.1", T0, b);
    decoder.decode(data(1), "192.0.2.1", T0, b);
    expect(b.length).toBe(1);
    expect(decoder.problems["data-held"]).toBe(1);
    expect(decoder.exporterStats()[0]).toMatchObject({ templatesWithdrawn: 1, templates: 0 });
    decoder.decode(
      ipfixMessage(header(1), [{ kind: "template", id: 256, fields: basicFields }]),
      "192.0.2.1",
      T0,
      b,
    );
    expect(b.length).toBe(2);
  });

  it("withdrawing all data templates (id 2) keeps options templates", () => {
    const decoder = createFlowDecoder();
    const b = new FlowBatch();
    decoder.decode(
      ipfixMessage(header(0), [
        { kind: "template", id: 256, fields: basicFields },
        { kind: "template", id: 257, fields: basicFields },
        {
          kind: "options-template",
          id: 258,
          scopeCount: 1,
          fields: [
            { id: 149, length: 4 },
            { id: 34, length: 4 },
          ],
        },
      ]),
      "192.0.2.1",
      T0,
      b,
    );
    decoder.decode(ipfixMessage(header(0), [{ kind: "withdraw", id: 2 }]), "192.0.2.1", T0, b);
    const snap = decoder.snapshot();
    expect(snap.exporters[0]!.domains[0]!.templates.map((t) => t.id)).toEqual([258]);
  });

  it("a redefined template id decodes each data set with the layout current at the time", () => {
    const decoder = createFlowDecoder();
    const b = new FlowBatch();
    const swapped = [
      { id: 12, length: 4 },
      { id: 8, length: 4 },
      { id: 2, length: 4 },
      { id: 1, length: 4 },
    ];
    decoder.decode(
      ipfixMessage(header(0), [{ kind: "template", id: 256, fields: basicFields }]),
      "192.0.2.1",
      T0,
      b,
    );
    decoder.decode(data(0), "192.0.2.1", T0, b);
    decoder.decode(
      ipfixMessage(header(1), [
        { kind: "template", id: 256, fields: swapped },
        {
          kind: "data",
          id: 256,
          records: [record((r) => r.ipv4("10.7.7.7").ipv4("10.8.8.8").u32(9).u32(999))],
        },
      ]),
      "192.0.2.1",
      T0,
      b,
    );
    expect([readFlowRecord(b, 0).srcAddress, readFlowRecord(b, 0).bytes]).toEqual([
      "10.0.0.1",
      100,
    ]);
    const r = readFlowRecord(b, 1);
    expect([r.srcAddress, r.dstAddress, r.packets, r.bytes]).toEqual([
      "10.8.8.8",
      "10.7.7.7",
      9,
      999,
    ]);
    expect(decoder.exporterStats()[0]!.templateRedefinitions).toBe(1);
  });
});

describe("variable-length and enterprise-specific fields", () => {
  const fields = [
    { id: 8, length: 4 },
    { id: 82, length: 65535 }, // interfaceName, variable length, skipped
    { id: 4242, length: 7, pen: 99999 }, // unknown enterprise field, skipped by length
    { id: 95, length: 65535 }, // applicationId, variable length
    { id: 1, length: 4 },
    { id: 2, length: 4 },
  ];
  const rec = (name: Uint8Array, longForm: boolean) =>
    record((b) =>
      b
        .ipv4("10.1.1.1")
        .varlen(name, longForm)
        .bytes([1, 2, 3, 4, 5, 6, 7])
        .varlen(Uint8Array.from([13, 0, 0, 80]))
        .u32(4321)
        .u32(12),
    );

  it("decodes 1-byte and 3-byte length forms and fields after them", () => {
    const decoder = createFlowDecoder();
    const b = new FlowBatch();
    const long = new Uint8Array(300).fill(65);
    decoder.decode(
      ipfixMessage(header(0), [
        { kind: "template", id: 256, fields },
        {
          kind: "data",
          id: 256,
          records: [
            rec(Uint8Array.of(65, 66), false),
            rec(long, false),
            rec(Uint8Array.of(67), true),
          ],
        },
      ]),
      "192.0.2.1",
      T0,
      b,
    );
    expect(b.length).toBe(3);
    for (let i = 0; i < 3; i++) {
      const r = readFlowRecord(b, i);
      expect([r.srcAddress, r.bytes, r.packets, r.applicationId]).toEqual([
        "10.1.1.1",
        4321,
        12,
        (13 << 24) + 80,
      ]);
    }
  });

  it("a variable length that runs past the set is counted and the set abandoned, no throw", () => {
    const decoder = createFlowDecoder();
    const b = new FlowBatch();
    // Long enough to be a record (not padding), but its first length says 200 bytes.
    const lying = record((x) => x.ipv4("10.1.1.1").u8(200).bytes(new Array(24).fill(1)));
    decoder.decode(
      ipfixMessage(header(0), [
        { kind: "template", id: 256, fields },
        { kind: "data", id: 256, records: [rec(Uint8Array.of(65), false), lying] },
      ]),
      "192.0.2.1",
      T0,
      b,
    );
    expect(b.length).toBe(1);
    expect(decoder.problems["varlen-invalid"]).toBe(1);
  });

  it("reads nProbe latency from telegraf's PEN 35632 capture (present, zero for UDP)", () => {
    const { batch } = decodeCapture(flows("ipfix/telegraf__ipfix_pen_35632.pcap"));
    expect(batch.length).toBe(2);
    const r = readFlowRecord(batch, 0);
    expect([r.clientNetworkDelayUs, r.serverNetworkDelayUs, r.applicationDelayUs]).toEqual([
      0, 0, 0,
    ]);
  });

  it("reads nProbe v9 latency (ms) and Cisco AVC ART sums (PEN 9) as per-connection means in µs", () => {
    const decoder = createFlowDecoder();
    const b = new FlowBatch();
    decoder.decode(
      v9Packet({ exportSeconds: T0 / 1000, sequence: 0, domain: 0, sysUptimeMs: 100_000 }, [
        {
          kind: "template",
          id: 256,
          fields: [
            { id: 8, length: 4 },
            { id: 1, length: 4 },
            { id: 57595, length: 4 },
            { id: 57596, length: 4 },
            { id: 57597, length: 4 },
          ],
        },
        {
          kind: "data",
          id: 256,
          records: [record((x) => x.ipv4("10.0.0.9").u32(60).u32(12).u32(30).u32(250))],
        },
      ]),
      "192.0.2.1",
      T0,
      b,
    );
    expect(readFlowRecord(b, 0)).toMatchObject({
      clientNetworkDelayUs: 12_000,
      serverNetworkDelayUs: 30_000,
      applicationDelayUs: 250_000,
    });
    decoder.decode(
      ipfixMessage(header(0), [
        {
          kind: "template",
          id: 256,
          fields: [
            { id: 8, length: 4 },
            { id: 1, length: 4 },
            { id: 9282, length: 4, pen: 9 }, // new connections
            { id: 9292, length: 4, pen: 9 }, // responses
            { id: 9316, length: 4, pen: 9 }, // client network time sum (ms)
            { id: 9319, length: 4, pen: 9 }, // server network time sum (ms)
            { id: 9306, length: 4, pen: 9 }, // server response time sum (ms)
          ],
        },
        {
          kind: "data",
          id: 256,
          records: [
            record((x) => x.ipv4("10.0.0.9").u32(60).u32(2).u32(4).u32(10).u32(30).u32(200)),
          ],
        },
      ]),
      "192.0.2.2",
      T0,
      b,
    );
    expect(readFlowRecord(b, 1)).toMatchObject({
      clientNetworkDelayUs: 5_000,
      serverNetworkDelayUs: 15_000,
      applicationDelayUs: 50_000,
    });
  });
});

describe("Cisco AVC ART over NetFlow v9", () => {
  // Flexible NetFlow's `export-protocol netflow-v9` sends the ART fields under the numbers IPFIX
  // gives them with enterprise 9, without an enterprise number: the same record over both must
  // fill the same response-time contribution.
  const art = [
    9282, 9292, 9316, 9319, 9306, 9309, 9268, 9300, 9293, 9294, 9295, 9296, 9297, 9298, 9299,
  ];
  // 3 connections, 12 responses; sums in ms: client 6, server 30, server response 240, total
  // 900; 2 retransmissions, 1 late response; histogram 1, 2, 3, 0, 4, 1, 1.
  const values = [3, 12, 6, 30, 240, 900, 2, 1, 1, 2, 3, 0, 4, 1, 1];
  const body = () =>
    record((x) => {
      x.ipv4("10.0.0.9").u32(60);
      for (const v of values) x.u32(v);
    });
  const key = [
    { id: 8, length: 4 },
    { id: 1, length: 4 },
  ];

  it("reads the ART ids without an enterprise number as IPFIX reads them with PEN 9", () => {
    const decoder = createFlowDecoder();
    const b = new FlowBatch();
    decoder.decode(
      v9Packet({ exportSeconds: T0 / 1000, sequence: 0, domain: 0, sysUptimeMs: 100_000 }, [
        { kind: "template", id: 256, fields: [...key, ...art.map((id) => ({ id, length: 4 }))] },
        { kind: "data", id: 256, records: [body()] },
      ]),
      "192.0.2.1",
      T0,
      b,
    );
    decoder.decode(
      ipfixMessage(header(0), [
        {
          kind: "template",
          id: 256,
          fields: [...key, ...art.map((id) => ({ id, length: 4, pen: 9 }))],
        },
        { kind: "data", id: 256, records: [body()] },
      ]),
      "192.0.2.2",
      T0,
      b,
    );
    expect(b.length).toBe(2);
    expect(readFlowRecord(b, 0).responseTimes).toEqual({
      transactions: 12,
      networkDelaySumUs: 36_000,
      networkDelayCount: 3,
      serverDelaySumUs: 240_000,
      serverDelayCount: 12,
      totalDelaySumUs: 900_000,
      lateResponses: 1,
      retransmissions: 2,
      bucket1: 1,
      bucket2: 2,
      bucket3: 3,
      bucket4: 0,
      bucket5: 4,
      bucket6: 1,
      bucket7: 1,
    });
    expect(readFlowRecord(b, 0)).toMatchObject({
      clientNetworkDelayUs: 2_000,
      serverNetworkDelayUs: 10_000,
      applicationDelayUs: 20_000,
    });
    expect(readFlowRecord(b, 1).responseTimes).toEqual(readFlowRecord(b, 0).responseTimes);
  });

  it("IPFIX ids 9268 … 9319 without an enterprise number are not ART (IANA's, unassigned)", () => {
    const decoder = createFlowDecoder();
    const b = new FlowBatch();
    decoder.decode(
      ipfixMessage(header(0), [
        { kind: "template", id: 256, fields: [...key, ...art.map((id) => ({ id, length: 4 }))] },
        { kind: "data", id: 256, records: [body()] },
      ]),
      "192.0.2.2",
      T0,
      b,
    );
    expect(b.length).toBe(1);
    expect(readFlowRecord(b, 0).responseTimes).toBeUndefined();
  });
});

describe("sampling", () => {
  // akvorado's multiple-sampling-rates export, split: the data arrives before the options data.
  const parts = [
    "netflow-v9/akvorado__multiplesamplingrates-template.pcap",
    "netflow-v9/akvorado__multiplesamplingrates-data.pcap",
    "netflow-v9/akvorado__multiplesamplingrates-options-template.pcap",
    "netflow-v9/akvorado__multiplesamplingrates-options-data.pcap",
  ];
  const run = (decoder: FlowDecoder, upTo = parts.length) => {
    const b = new FlowBatch();
    for (const f of parts.slice(0, upTo)) replay(decoder, f, b, { timeMs: 5_000 });
    return b;
  };

  it("assume-one: records before the options data count at rate 1, source unknown, counted", () => {
    const decoder = createFlowDecoder({ unknownSampling: "assume-one" });
    const b = run(decoder);
    expect(b.length).toBe(12);
    expect([...b.samplingRate.subarray(0, 12)].every((r) => r === 1)).toBe(true);
    expect(b.samplingSource[0]).toBe(SamplingSource.Unknown);
    expect(decoder.problems["sampling-unknown"]).toBe(12);
  });

  it("default: the configured default rate applies", () => {
    const b = run(createFlowDecoder({ unknownSampling: "default", defaultSamplingRate: 512 }));
    expect([b.samplingRate[0], b.samplingSource[0]]).toEqual([512, SamplingSource.ConfigDefault]);
    expect(totals(b).packets).toBe(38 * 512);
  });

  it("hold: records wait for the options data, then get their sampler's rate (4000 / 2000)", () => {
    const decoder = createFlowDecoder({ unknownSampling: "hold" });
    const early = run(decoder, 2);
    expect(early.length).toBe(0);
    expect(decoder.heldSets().count).toBe(1);
    const b = new FlowBatch();
    for (const f of parts.slice(2)) replay(decoder, f, b, { timeMs: 5_000 });
    expect(b.length).toBe(12);
    expect(b.samplingRate[0]).toBe(4000);
    expect(b.samplingRate[1]).toBe(2000);
    expect(totals(b).packets).toBe(18 * 4000 + 20 * 2000);
  });

  it("hold: without options data the records are released at rate 1 after maxAge, counted", () => {
    const decoder = createFlowDecoder({ unknownSampling: "hold", held: { maxAgeMs: 60_000 } });
    run(decoder, 2);
    const b = new FlowBatch();
    expect(decoder.expire(5_000 + 59_000, b)).toBe(0);
    expect(decoder.expire(5_000 + 60_001, b)).toBe(12);
    expect(decoder.problems["sampling-hold-expired"]).toBe(12);
    expect(totals(b).packets).toBe(38);
  });

  it("a config override beats the exporter's options data", () => {
    const b = new FlowBatch();
    const decoder = createFlowDecoder({ samplingOverrides: { "238.0.0.1": 10 } });
    replay(decoder, "netflow-v9/akvorado__multiplesamplingrates__combined.pcap", b);
    expect([...b.samplingRate.subarray(0, b.length)].every((r) => r === 10)).toBe(true);
    expect(b.samplingSource[0]).toBe(SamplingSource.ConfigOverride);
    expect(totals(b).bytes).toBe(14818 * 10);
  });

  it("a rate carried in the data record itself (Huawei, samplingInterval 2048) applies per record", () => {
    const { batch } = decodeCapture(flows("netflow-v9/akvorado__samplingrate__combined.pcap"));
    expect([batch.samplingRate[0], batch.samplingSource[0]]).toEqual([2048, SamplingSource.Record]);
    expect(totals(batch).bytes).toBe(3740 * 2048);
  });

  it("IPFIX options with selector id and packet interval/space: rate = (interval + space) / interval", () => {
    const decoder = createFlowDecoder();
    const b = new FlowBatch();
    decoder.decode(
      ipfixMessage(header(0), [
        {
          kind: "options-template",
          id: 400,
          scopeCount: 1,
          fields: [
            { id: 302, length: 4 },
            { id: 305, length: 4 },
            { id: 306, length: 4 },
          ],
        },
        {
          kind: "data",
          id: 400,
          records: [record((x) => x.u32(7).u32(1).u32(99)), record((x) => x.u32(8).u32(1).u32(9))],
        },
        { kind: "template", id: 256, fields: [...basicFields, { id: 302, length: 4 }] },
        {
          kind: "data",
          id: 256,
          records: [
            new Bytes()
              .bytes(basicRecord("10.0.0.1", "10.0.0.2", 100, 1, T0))
              .u32(7)
              .done(),
            new Bytes()
              .bytes(basicRecord("10.0.0.1", "10.0.0.2", 100, 1, T0))
              .u32(8)
              .done(),
          ],
        },
      ]),
      "192.0.2.1",
      T0,
      b,
    );
    expect([b.samplingRate[0], b.samplingRate[1]]).toEqual([100, 10]);
    expect([b.bytes[0], b.bytes[1]]).toEqual([10_000, 1_000]);
    expect(b.samplingSource[0]).toBe(SamplingSource.OptionsSampler);
  });
});

describe("sequence numbers", () => {
  it("v9: sequence numbers count export packets; a missing one is one lost packet", () => {
    const decoder = createFlowDecoder();
    const b = new FlowBatch();
    const packet = (sequence: number) =>
      v9Packet({ exportSeconds: T0 / 1000, sequence, domain: 3, sysUptimeMs: 1000 }, [
        {
          kind: "template",
          id: 256,
          fields: [
            { id: 8, length: 4 },
            { id: 1, length: 4 },
          ],
        },
        { kind: "data", id: 256, records: [record((x) => x.ipv4("10.0.0.1").u32(10))] },
      ]);
    for (const seq of [100, 101, 103, 104, 108]) decoder.decode(packet(seq), "192.0.2.1", T0, b);
    expect(decoder.exporterStats()[0]).toMatchObject({ lostPackets: 1 + 3, sequenceResets: 0 });
    decoder.decode(packet(5), "192.0.2.1", T0, b);
    expect(decoder.exporterStats()[0]).toMatchObject({ lostPackets: 4, sequenceResets: 1 });
  });

  it("v5: a dropped datagram counts its header's record count as lost records", () => {
    const decoder = createFlowDecoder();
    const b = new FlowBatch();
    const datagrams = captureDatagrams(flows("netflow-v5/logstash__nf5-valid-01.pcap"));
    const dropped = datagrams[5]!.payload;
    const droppedCount = (dropped[2]! << 8) | dropped[3]!;
    datagrams.forEach((d, k) => {
      if (k !== 5) decoder.decode(d.payload, d.exporter, d.timeMs, b);
    });
    expect(droppedCount).toBeGreaterThan(0);
    expect(decoder.exporterStats()[0]!.lostRecords).toBe(droppedCount);
  });

  it("IPFIX: sequence numbers count data records; a gap is the lost records, a jump back a reset", () => {
    const decoder = createFlowDecoder();
    const b = new FlowBatch();
    const msg = (seq: number, n: number) =>
      ipfixMessage(header(seq), [
        {
          kind: "data",
          id: 256,
          records: Array.from({ length: n }, () => basicRecord("10.0.0.1", "10.0.0.2", 1, 1, T0)),
        },
      ]);
    decoder.decode(
      ipfixMessage(header(0), [{ kind: "template", id: 256, fields: basicFields }]),
      "192.0.2.1",
      T0,
      b,
    );
    decoder.decode(msg(0, 3), "192.0.2.1", T0, b); // next expected: 3
    decoder.decode(msg(3, 5), "192.0.2.1", T0, b); // next: 8; a message of 4 records (8..11) is lost
    decoder.decode(msg(12, 2), "192.0.2.1", T0, b);
    expect(decoder.exporterStats()[0]).toMatchObject({ lostRecords: 4, sequenceResets: 0 });
    decoder.decode(msg(0, 1), "192.0.2.1", T0, b); // the exporter restarted
    expect(decoder.exporterStats()[0]).toMatchObject({ lostRecords: 4, sequenceResets: 1 });
  });
});

describe("templates and sampling rates survive a restart", () => {
  it("a snapshot taken after the template decodes the data in a new decoder", () => {
    const first = createFlowDecoder();
    replay(first, "netflow-v9/akvorado__template.pcap", new FlowBatch());
    const json = JSON.stringify(first.snapshot());

    const cold = createFlowDecoder();
    const lost = new FlowBatch();
    replay(cold, "netflow-v9/akvorado__data.pcap", lost);
    expect(lost.length).toBe(0);

    const warm = createFlowDecoder();
    expect(warm.restore(JSON.parse(json))).toEqual({ templates: 1, rates: 0, skipped: 0, rows: 0 });
    const b = new FlowBatch();
    replay(warm, "netflow-v9/akvorado__data.pcap", b);
    expect([b.length, totals(b).bytes]).toEqual([4, 5848]);
  });

  it("a template learnt from elsewhere (another collector) releases the data held for it", () => {
    const first = createFlowDecoder();
    replay(first, "netflow-v9/akvorado__template.pcap", new FlowBatch());
    const shared = JSON.parse(JSON.stringify(first.snapshot())) as unknown;

    const second = createFlowDecoder();
    const early = new FlowBatch();
    replay(second, "netflow-v9/akvorado__data.pcap", early);
    expect([early.length, second.heldSets().count]).toEqual([0, 1]);
    const b = new FlowBatch();
    expect(second.restore(shared, b)).toEqual({ templates: 1, rates: 0, skipped: 0, rows: 4 });
    expect([b.length, totals(b).bytes, second.heldSets().count]).toEqual([4, 5848, 0]);
  });

  it("learnt sampler rates persist through the state file", () => {
    const dir = mkdtempSync(join(tmpdir(), "flowtally-state-"));
    const path = join(dir, "sub", "state.json");
    const first = createFlowDecoder();
    replay(
      first,
      "netflow-v9/akvorado__multiplesamplingrates-options-template.pcap",
      new FlowBatch(),
    );
    replay(first, "netflow-v9/akvorado__multiplesamplingrates-options-data.pcap", new FlowBatch());
    saveDecoderState(path, first);

    const second = createFlowDecoder();
    expect(loadDecoderState(path, second)).toMatchObject({ found: true, rates: 2, templates: 1 });
    const b = new FlowBatch();
    replay(second, "netflow-v9/akvorado__multiplesamplingrates-template.pcap", b);
    replay(second, "netflow-v9/akvorado__multiplesamplingrates-data.pcap", b);
    expect([b.samplingRate[0], b.samplingRate[1]]).toEqual([4000, 2000]);
    expect(loadDecoderState(join(dir, "missing.json"), createFlowDecoder()).found).toBe(false);
  });

  it("a damaged state file restores what is valid and never throws", () => {
    const decoder = createFlowDecoder();
    const snap = (() => {
      const d = createFlowDecoder();
      replay(d, "netflow-v9/akvorado__template.pcap", new FlowBatch());
      return d.snapshot();
    })();
    const damaged = JSON.parse(JSON.stringify(snap));
    damaged.exporters.push({ address: 5 }, { address: "x", domains: [{ id: -1 }] });
    damaged.exporters[0].domains[0].templates.push({
      id: 12,
      version: 9,
      options: false,
      scopeCount: 0,
      fields: [[1, 0, 4]],
    });
    damaged.exporters[0].domains[0].templates.push({
      id: 900,
      version: 9,
      options: false,
      scopeCount: 0,
      fields: [["x"]],
    });
    expect(decoder.restore(damaged)).toEqual({ templates: 1, rates: 0, skipped: 4, rows: 0 });
    for (const junk of [null, 42, "x", [], { format: "other" }])
      expect(() => decoder.restore(junk)).not.toThrow();

    const dir = mkdtempSync(join(tmpdir(), "flowtally-state-"));
    writeFileSync(join(dir, "bad.json"), "{not json");
    expect(() => loadDecoderState(join(dir, "bad.json"), decoder)).toThrow(/not valid JSON/);
    expect(readFileSync(join(dir, "bad.json"), "utf8")).toBe("{not json");
  });
});
