/**
 * Retimed exports decode to the same records, every start and end moved by exactly the shift:
 * every flow-export capture of the corpus (v5, v9, IPFIX; uptime, absolute, NTP, delta and
 * system-init times), both ways, and built exports for what the corpus lacks.
 */
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FlowBatch } from "../../schema/flow-record.js";
import { captureDatagrams, FLOW_CAPTURE_DIRS } from "../../test/support/decode-capture.js";
import { Bytes, ipfixMessage, record, v9Packet } from "../../test/support/export-builder.js";
import { createExportRetimer } from "./export-retime.js";
import { createFlowDecoder } from "./flow-decoder.js";
import { readFlowRecord } from "./flow-record-view.js";

const dir = (d: string) => new URL(`../../test/fixtures/flows/${d}/`, import.meta.url).pathname;

type Datagram = { exporter: string; timeMs: number; payload: Uint8Array };

/** Every record the decoder makes of these datagrams, in order, and the data sets it still holds. */
function decodeAll(datagrams: readonly Datagram[]) {
  const decoder = createFlowDecoder();
  const batch = new FlowBatch(256);
  for (const d of datagrams) decoder.decode(d.payload, d.exporter, d.timeMs, batch);
  return {
    records: Array.from({ length: batch.length }, (_, i) => readFlowRecord(batch, i)),
    held: decoder.heldSets().count,
  };
}

function retimed(datagrams: readonly Datagram[], shiftSeconds: number) {
  const retimer = createExportRetimer();
  for (const d of datagrams) retimer.prime(d.payload, d.exporter);
  const out = datagrams.map((d) => ({
    ...d,
    payload: retimer.retime(d.payload, d.exporter, shiftSeconds),
  }));
  return { datagrams: out, stats: retimer.stats };
}

const captures = FLOW_CAPTURE_DIRS.flatMap((d) =>
  readdirSync(dir(d))
    .filter((f) => f.endsWith(".pcap") || f.endsWith(".pcapng"))
    .map((f) => `${d}/${f}`),
);

describe("createExportRetimer over the corpus", () => {
  // Backwards only over captures of this century: some others hold times of 1970, which cannot
  // move back (the fields are unsigned; they wrap, as a real exporter's would).
  const recent = captures.filter((c) => c.startsWith("exported-from-packets/"));
  for (const [shift, names] of [
    [400_000_000, captures],
    [1, captures],
    [-86_400 * 400, recent],
  ] as const) {
    it(`moves every record's start and end by ${shift} s, and nothing else`, () => {
      let records = 0;
      let fields = 0;
      let beforeTemplate = 0;
      for (const name of names) {
        const original = captureDatagrams(`${dir(name.split("/")[0]!)}${name.split("/")[1]}`);
        const { datagrams, stats } = retimed(original, shift);
        fields += stats.fields;
        beforeTemplate += stats.setsBeforeTemplate;
        const before = decodeAll(original);
        const after = decodeAll(datagrams);
        // The sets left as they were are those the decoder never reads: no template came.
        expect(stats.setsWithoutTemplate, name).toBe(before.held);
        expect(after.records.length, name).toBe(before.records.length);
        records += before.records.length;
        before.records.forEach((b, i) => {
          expect(after.records[i], `${name} record ${i}`).toEqual({
            ...b,
            startMs: b.startMs + shift * 1000,
            endMs: b.endMs + shift * 1000,
          });
        });
      }
      expect(records).toBeGreaterThan(names === captures ? 4_000 : 1_000);
      expect(fields).toBeGreaterThan(500); // absolute times in records, not only headers
      // Data before its template, in logstash's netscaler capture and akvorado's data+templates.
      if (names === captures) expect(beforeTemplate).toBeGreaterThan(0);
    });
  }
});

describe("createExportRetimer on built exports", () => {
  const S = 1_000_000; // seconds
  const NTP_EPOCH = 2_208_988_800; // 1900 → 1970
  const name = new TextEncoder().encode("ge-0/0/1");
  /** An IPFIX export whose times are those of `t` (seconds since 1970) plus `shift`. */
  const ipfix = (shift: number) =>
    ipfixMessage({ exportSeconds: 1_700_000_100 + shift, sequence: 7, domain: 3 }, [
      {
        kind: "template",
        id: 256,
        fields: [
          { id: 8, length: 4 }, // sourceIPv4Address
          { id: 82, length: 65535 }, // interfaceName, variable length
          { id: 152, length: 8 }, // flowStartMilliseconds
          { id: 153, length: 8 },
          { id: 151, length: 4 }, // flowEndSeconds
          { id: 154, length: 8 }, // flowStartMicroseconds (NTP)
          { id: 157, length: 8 }, // flowEndNanoseconds (NTP)
          { id: 323, length: 8 }, // observationTimeMilliseconds
          { id: 152, length: 8, pen: 9 }, // an enterprise's element 152: not a time
          { id: 1, length: 8 }, // octetDeltaCount
        ],
      },
      {
        kind: "options-template",
        id: 257,
        scopeCount: 1,
        fields: [
          { id: 144, length: 4 }, // scope: exportingProcessId
          { id: 160, length: 8 }, // systemInitTimeMilliseconds
        ],
      },
      {
        kind: "data",
        id: 257,
        records: [record((b) => b.u32(1).u64((1_600_000_000 + shift) * 1000))],
      },
      {
        kind: "data",
        id: 256,
        records: [
          record((b) =>
            b
              .ipv4("192.0.2.1")
              .varlen(name)
              .u64((1_700_000_000 + shift) * 1000 + 250)
              .u64((1_700_000_060 + shift) * 1000 + 999)
              .u32(1_700_000_060 + shift)
              .u32(1_700_000_000 + shift + NTP_EPOCH)
              .u32(0x80000000)
              .u32(1_700_000_060 + shift + NTP_EPOCH)
              .u32(1)
              .u64((1_700_000_030 + shift) * 1000)
              .u64(1_700_000_000_000)
              .u64(1500),
          ),
        ],
      },
    ]);

  it("moves the IPFIX header and every time element, and nothing else, byte for byte", () => {
    const retimer = createExportRetimer();
    const shift = S;
    expect(Buffer.from(retimer.retime(ipfix(0), "192.0.2.9", shift)).toString("hex")).toBe(
      Buffer.from(ipfix(S)).toString("hex"),
    );
    expect(retimer.stats).toMatchObject({ exports: 1, fields: 7, malformed: 0 });
  });

  it("moves NetFlow v9's header and absolute times; v5's header", () => {
    const v9 = (shift: number) =>
      v9Packet({ exportSeconds: 1_700_000_100 + shift, sequence: 1, domain: 0, sysUptimeMs: 5 }, [
        {
          kind: "template",
          id: 300,
          fields: [
            { id: 22, length: 4 }, // FIRST_SWITCHED (sysUptime ms): moves with the header
            { id: 152, length: 8 },
            { id: 1, length: 4 },
          ],
        },
        {
          kind: "data",
          id: 300,
          records: [
            record((b) =>
              b
                .u32(3)
                .u64((1_700_000_000 + shift) * 1000)
                .u32(99),
            ),
          ],
        },
      ]);
    const retimer = createExportRetimer();
    const shift = -S;
    expect(retimer.retime(v9(0), "192.0.2.9", shift)).toEqual(v9(-S));
    // version, count, sysUptime, unix_secs, unix_nsecs, flow_sequence, engine and sampling
    const v5 = (shift: number) =>
      new Bytes()
        .u16(5)
        .u16(0)
        .u32(5000)
        .u32(1_700_000_100 + shift)
        .u32(123)
        .u32(9)
        .u32(0)
        .done();
    expect(retimer.retime(v5(0), "192.0.2.9", shift)).toEqual(v5(-S));
    expect(retimer.stats).toMatchObject({ exports: 2, fields: 1 });
  });

  it("reads data sent before its template with the template primed; counts data that has none", () => {
    const data = (shift: number, id: number) =>
      ipfixMessage({ exportSeconds: 100 + shift, sequence: 1, domain: 1 }, [
        { kind: "data", id, records: [record((b) => b.u64((1_700_000_000 + shift) * 1000))] },
      ]);
    const template = (shift: number) =>
      ipfixMessage({ exportSeconds: 101 + shift, sequence: 2, domain: 1 }, [
        { kind: "template", id: 256, fields: [{ id: 153, length: 8 }] },
      ]);
    const exports = [data(0, 256), data(0, 999), template(0)];
    const retimer = createExportRetimer();
    const shift = S;
    for (const e of exports) retimer.prime(e, "192.0.2.9");
    expect(retimer.stats.exports).toBe(0); // priming changes and counts nothing
    expect(exports.map((e) => retimer.retime(e, "192.0.2.9", shift))).toEqual([
      data(S, 256),
      // No template 999 anywhere: only the header moves.
      ipfixMessage({ exportSeconds: 100 + S, sequence: 1, domain: 1 }, [
        { kind: "data", id: 999, records: [record((b) => b.u64(1_700_000_000_000))] },
      ]),
      template(S),
    ]);
    expect(retimer.stats).toMatchObject({ setsBeforeTemplate: 1, setsWithoutTemplate: 1 });
    // Another exporter's or domain's template 256 is another template.
    expect(retimer.retime(data(0, 256), "192.0.2.10", shift)).toEqual(
      ipfixMessage({ exportSeconds: 100 + S, sequence: 1, domain: 1 }, [
        { kind: "data", id: 256, records: [record((b) => b.u64(1_700_000_000_000))] },
      ]),
    );
  });

  it("leaves sFlow and other datagrams alone, and survives cut exports", () => {
    const retimer = createExportRetimer();
    const shift = S;
    const sflow = new Bytes().u32(5).u32(1).ipv4("192.0.2.1").u32(0).u32(1).u32(2).u32(0).done();
    expect(retimer.retime(sflow, "192.0.2.9", shift)).toBe(sflow);
    expect(retimer.retime(Uint8Array.of(0, 10), "192.0.2.9", shift).length).toBe(2);
    const cut = ipfix(0).slice(0, 60);
    const out = retimer.retime(cut, "192.0.2.9", shift);
    expect(out.length).toBe(60);
    expect(retimer.stats).toMatchObject({ unchanged: 2, exports: 1, malformed: 1 });
  });
});
