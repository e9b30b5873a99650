/**
 * Malformed input: each case is counted by reason, never thrown, never a hang, and what can
 * still be trusted (the next set, the next datagram) is decoded. The random counterpart is the
 * fuzz test in test/fuzz.
 */
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FlowBatch } from "../../schema/flow-record.js";
import { captureDatagrams, FLOW_CAPTURE_DIRS } from "../../test/support/decode-capture.js";
import { Bytes, ipfixMessage, record, v9Packet } from "../../test/support/export-builder.js";
import { createFlowDecoder } from "./flow-decoder.js";

const flowsDir = new URL("../../test/fixtures/flows/", import.meta.url);
const header = (sequence = 0) => ({ exportSeconds: 1_700_000_000, sequence, domain: 0 });
const fields = [
  { id: 8, length: 4 },
  { id: 1, length: 4 },
];
const goodData = {
  kind: "data" as const,
  id: 256,
  records: [record((x) => x.ipv4("10.0.0.1").u32(100))],
};
const goodTemplate = { kind: "template" as const, id: 256, fields };

describe("every real datagram, truncated at every length", () => {
  for (const dir of FLOW_CAPTURE_DIRS) {
    it(dir, () => {
      let decodes = 0;
      for (const file of readdirSync(new URL(dir, flowsDir)).filter((f) => f.endsWith(".pcap"))) {
        const datagrams = captureDatagrams(new URL(`${dir}/${file}`, flowsDir).pathname);
        const decoder = createFlowDecoder({ held: { maxSets: 64 } });
        const b = new FlowBatch();
        // Whole datagrams first, so that truncated data sets meet real templates.
        for (const d of datagrams) decoder.decode(d.payload, d.exporter, d.timeMs, b);
        for (const d of datagrams) {
          for (let n = 0; n < d.payload.length; n++) {
            decoder.decode(d.payload.subarray(0, n), d.exporter, d.timeMs, b);
            decodes++;
          }
          b.clear();
        }
        expect(decoder.problems["internal-error"], file).toBe(0);
        for (let i = 0; i < b.length; i++) expect(Number.isFinite(b.bytes[i]!)).toBe(true);
      }
      expect(decodes).toBeGreaterThan(0);
    });
  }
});

describe("malformed headers and sets are counted by reason", () => {
  it("short datagrams and unknown versions", () => {
    const d = createFlowDecoder();
    const b = new FlowBatch();
    d.decode(Uint8Array.of(0), "192.0.2.1", 0, b);
    d.decode(Uint8Array.of(0, 9, 0, 1), "192.0.2.1", 0, b);
    d.decode(Uint8Array.of(0, 10, 0, 16, 0), "192.0.2.1", 0, b);
    d.decode(Uint8Array.of(0, 5, 0, 1), "192.0.2.1", 0, b);
    d.decode(Uint8Array.of(0, 7, 0, 1, 0, 0), "192.0.2.1", 0, b);
    d.decode(new Uint8Array(0), "192.0.2.1", 0, b);
    expect(d.problems).toMatchObject({ "header-truncated": 5, "unknown-version": 1 });
    expect(b.length).toBe(0);
  });

  it("a reserved set id is skipped and the next set still decodes", () => {
    const d = createFlowDecoder();
    const b = new FlowBatch();
    d.decode(
      ipfixMessage(header(), [
        goodTemplate,
        { kind: "raw", id: 5, body: new Uint8Array(8) },
        goodData,
      ]),
      "192.0.2.1",
      0,
      b,
    );
    expect(d.problems["set-id-reserved"]).toBe(1);
    expect(b.length).toBe(1);
  });

  it("a zero-length set stops the datagram (it cannot be skipped), after the sets before it", () => {
    const d = createFlowDecoder();
    const b = new FlowBatch();
    const msg = ipfixMessage(header(), [goodTemplate, goodData, goodData]);
    // Zero the second data set's length field: 16 header + template set (4 + 4 + 8) + 12.
    const secondData = 16 + 16 + 12;
    msg[secondData + 2] = 0;
    msg[secondData + 3] = 0;
    d.decode(msg, "192.0.2.1", 0, b);
    expect(d.problems["set-length-invalid"]).toBe(1);
    expect(b.length).toBe(1);
  });

  it("a set length past the end of the datagram is counted; earlier sets are kept", () => {
    const d = createFlowDecoder();
    const b = new FlowBatch();
    const msg = ipfixMessage(header(), [goodTemplate, goodData]);
    d.decode(msg.subarray(0, msg.length - 2), "192.0.2.1", 0, b);
    expect(d.problems).toMatchObject({ "set-length-invalid": 1, "ipfix-length-mismatch": 1 });
    expect(d.exporterStats()[0]!.templates).toBe(1);
  });

  it("template ids below 256 are refused; the next template in the set is learnt", () => {
    const d = createFlowDecoder();
    const b = new FlowBatch();
    d.decode(
      ipfixMessage(header(), [
        { kind: "template", id: 17, fields },
        { kind: "template", id: 256, fields },
        goodData,
      ]),
      "192.0.2.1",
      0,
      b,
    );
    expect(d.problems["template-id-invalid"]).toBe(1);
    expect(b.length).toBe(1);
  });

  it("a field count that overruns the set is counted as a truncated template", () => {
    const d = createFlowDecoder();
    const body = new Bytes().u16(256).u16(40).u16(8).u16(4).done();
    d.decode(
      ipfixMessage(header(), [{ kind: "raw", id: 2, body }]),
      "192.0.2.1",
      0,
      new FlowBatch(),
    );
    expect(d.problems["template-truncated"]).toBe(1);
    expect(d.exporterStats()[0]!.templates).toBe(0);
  });

  it("a v9 options template with a scope length that is not a multiple of 4 is invalid", () => {
    const d = createFlowDecoder();
    const body = new Bytes().u16(300).u16(3).u16(4).u16(1).u16(4).u16(34).u16(4).done();
    d.decode(
      v9Packet({ ...header(), sysUptimeMs: 1 }, [{ kind: "raw", id: 1, body }]),
      "192.0.2.1",
      0,
      new FlowBatch(),
    );
    expect(d.problems["template-invalid"]).toBe(1);
  });

  it("a template of only zero-length fields never loops on its data", () => {
    const d = createFlowDecoder();
    const b = new FlowBatch();
    d.decode(
      ipfixMessage(header(), [
        {
          kind: "template",
          id: 256,
          fields: [
            { id: 1, length: 0 },
            { id: 2, length: 0 },
          ],
        },
        { kind: "raw", id: 256, body: new Uint8Array(64) },
      ]),
      "192.0.2.1",
      0,
      b,
    );
    expect(b.length).toBe(0);
  });

  it("a sampling interval of 0 in options data is counted and ignored", () => {
    const d = createFlowDecoder();
    d.decode(
      ipfixMessage(header(), [
        {
          kind: "options-template",
          id: 300,
          scopeCount: 1,
          fields: [
            { id: 149, length: 4 },
            { id: 34, length: 4 },
          ],
        },
        { kind: "data", id: 300, records: [record((x) => x.u32(0).u32(0))] },
      ]),
      "192.0.2.1",
      0,
      new FlowBatch(),
    );
    expect(d.problems["options-invalid"]).toBe(1);
  });
});

describe("memory stays bounded per exporter", () => {
  it("an exporter defining 10 000 templates keeps at most maxTemplatesPerExporter; others still learn", () => {
    const d = createFlowDecoder({ templates: { maxTemplatesPerExporter: 100 } });
    const b = new FlowBatch();
    for (let base = 256; base < 10_256; base += 50) {
      const sets = Array.from({ length: 50 }, (_, k) => ({
        kind: "template" as const,
        id: base + k,
        fields,
      }));
      d.decode(ipfixMessage(header(), sets), "192.0.2.66", 0, b);
    }
    d.decode(ipfixMessage(header(), [goodTemplate, goodData]), "192.0.2.1", 0, b);
    const stats = Object.fromEntries(d.exporterStats().map((e) => [e.exporter, e.templates]));
    expect(stats).toEqual({ "192.0.2.66": 100, "192.0.2.1": 1 });
    expect(d.problems["template-limit"]).toBe(10_000 - 100);
    expect(b.length).toBe(1);
  });

  it("exporter addresses and observation domains beyond their limits are dropped and counted", () => {
    const d = createFlowDecoder({ templates: { maxExporters: 3, maxDomainsPerExporter: 2 } });
    const b = new FlowBatch();
    for (let k = 1; k <= 5; k++) {
      d.decode(ipfixMessage(header(), [goodTemplate, goodData]), `192.0.2.${k}`, 0, b);
    }
    expect(d.exporterStats().map((e) => e.exporter)).toEqual([
      "192.0.2.1",
      "192.0.2.2",
      "192.0.2.3",
    ]);
    expect(d.problems["exporter-limit"]).toBe(2);
    for (let domain = 10; domain < 15; domain++) {
      d.decode(ipfixMessage({ ...header(), domain }, [goodTemplate, goodData]), "192.0.2.1", 0, b);
    }
    // 192.0.2.1 already has domain 0; one more fits, the other four are refused.
    expect(d.problems["domain-limit"]).toBe(4);
    expect(b.length).toBe(3 + 1);
  });

  it("templates across all exporters stay within maxTemplates", () => {
    const d = createFlowDecoder({ templates: { maxTemplates: 10 } });
    const b = new FlowBatch();
    for (let k = 1; k <= 4; k++) {
      const sets = Array.from({ length: 4 }, (_, j) => ({
        kind: "template" as const,
        id: 256 + j,
        fields,
      }));
      d.decode(ipfixMessage(header(), sets), `192.0.2.${k}`, 0, b);
    }
    expect(d.exporterStats().map((e) => e.templates)).toEqual([4, 4, 2, 0]);
    expect(d.problems["template-limit"]).toBe(6);
    // Withdrawing frees room for others.
    d.decode(ipfixMessage(header(), [{ kind: "withdraw", id: 2 }]), "192.0.2.1", 0, b);
    d.decode(ipfixMessage(header(), [goodTemplate]), "192.0.2.4", 0, b);
    expect(d.exporterStats().map((e) => e.templates)).toEqual([0, 4, 2, 1]);
  });

  it("templates with more fields than the limit are refused", () => {
    const d = createFlowDecoder({ templates: { maxFieldsPerTemplate: 8 } });
    const wide = Array.from({ length: 9 }, () => ({ id: 1, length: 1 }));
    d.decode(
      ipfixMessage(header(), [{ kind: "template", id: 256, fields: wide }]),
      "192.0.2.1",
      0,
      new FlowBatch(),
    );
    expect(d.problems["template-invalid"]).toBe(1);
  });
});

describe("held data bookkeeping stays bounded", () => {
  it("sets taken out of the middle of the queue do not pile up behind one that waits", async () => {
    const { HeldSets } = await import("./held-sets.js");
    const held = new HeldSets({ maxSets: 1000, maxBytes: 1 << 20, maxAgeMs: 1e12 });
    const context = { receivedMs: 0 } as never;
    const add = (templateId: number) =>
      held.add(
        { reason: "template", context, templateId, data: new Uint8Array(10), done: false },
        [],
      );
    add(1); // waits forever
    for (let k = 0; k < 100_000; k++) {
      add(2);
      held.take((s) => s.templateId === 2);
    }
    expect(held.count).toBe(1);
    expect((held as unknown as { queue: unknown[] }).queue.length).toBeLessThan(200);
  });

  it("sets evicted by the bounds do not pile up in front of the queue", async () => {
    const { HeldSets } = await import("./held-sets.js");
    const held = new HeldSets({ maxSets: 4, maxBytes: 1 << 20, maxAgeMs: 1e12 });
    const context = { receivedMs: 0 } as never;
    const evicted: Parameters<typeof held.add>[1] = [];
    for (let k = 0; k < 100_000; k++) {
      held.add(
        { reason: "template", context, templateId: k, data: new Uint8Array(10), done: false },
        evicted,
      );
      evicted.length = 0;
    }
    expect(held.count).toBe(4);
    expect((held as unknown as { queue: unknown[] }).queue.length).toBeLessThan(100);
  });
});

describe("regressions found by the long fuzz run (bench/fuzz-decoders.ts)", () => {
  const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));

  it("an options template cut inside an enterprise field is refused (it used to hang the decoder)", () => {
    const d = createFlowDecoder();
    const b = new FlowBatch();
    d.decode(
      hex("000a0024000000000000000000000001 0003 0014 0100 0002 0001 8001 0000 00000009 0022"),
      "192.0.2.1",
      0,
      b,
    );
    d.decode(hex("000a0018000000000000000000000001 0100 0008 00000000"), "192.0.2.1", 0, b);
    expect(d.problems["template-truncated"]).toBe(1);
    expect(d.problems["internal-error"]).toBe(0);
    expect(d.exporterStats()[0]!.templates).toBe(0);
  });

  it("a denormal samplingProbability is not a rate (it used to make bytes Infinity / NaN)", () => {
    const d = createFlowDecoder();
    const b = new FlowBatch();
    d.decode(
      hex(`0009 0002 00000000 65000000 00000001 00000000 0000 0018 0100 0004 0008 0004 0001 0004
           0002 0004 0137 0008 0100 0018 0a000001 000003e8 0000000a 0000000000000001`),
      "192.0.2.1",
      0,
      b,
    );
    expect(b.length).toBe(1);
    expect([b.bytes[0], b.packets[0], b.samplingRate[0]]).toEqual([1000, 10, 1]);
    expect(d.problems["sampling-unknown"]).toBe(1);
  });
});
