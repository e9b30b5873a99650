/**
 * Differential test: generated record decoders (the default) against the interpreter, over every
 * datagram of every real capture. Every column of every row must be identical.
 */
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { columnBit, FlowBatch } from "../../schema/flow-record.js";
import { captureDatagrams } from "../../test/support/decode-capture.js";
import { createFlowDecoder } from "./flow-decoder.js";
import { readFlowRecord } from "./flow-record-view.js";

const flowsDir = new URL("../../test/fixtures/flows/", import.meta.url);
const columns = [
  "exporterId",
  "version",
  "domain",
  "inIf",
  "outIf",
  "ipVersion",
  "src4",
  "dst4",
  "src6",
  "dst6",
  "srcPort",
  "dstPort",
  "protocol",
  "tcpFlags",
  "dscp",
  "bytes",
  "packets",
  "startMs",
  "endMs",
  "samplingRate",
  "samplingSource",
  "direction",
  "applicationId",
  "clientNetworkDelayUs",
  "serverNetworkDelayUs",
  "applicationDelayUs",
] as const;

describe("generated record decoders equal the interpreter", () => {
  for (const dir of ["netflow-v9", "ipfix", "exported-from-packets", "invalid"]) {
    it(dir, () => {
      let rows = 0;
      for (const file of readdirSync(new URL(dir, flowsDir)).filter((f) => f.endsWith(".pcap"))) {
        const generated = createFlowDecoder({ codegen: true });
        const interpreted = createFlowDecoder({ codegen: false });
        const a = new FlowBatch();
        const b = new FlowBatch();
        for (const d of captureDatagrams(new URL(`${dir}/${file}`, flowsDir).pathname)) {
          generated.decode(d.payload, d.exporter, d.timeMs, a);
          interpreted.decode(d.payload, d.exporter, d.timeMs, b);
        }
        expect(a.length, file).toBe(b.length);
        for (const c of columns) {
          const width = c === "src6" || c === "dst6" ? 16 : 1;
          expect(Array.from(a[c].subarray(0, a.length * width)), `${file} ${c}`).toEqual(
            Array.from(b[c].subarray(0, b.length * width)),
          );
        }
        expect(generated.problems, file).toEqual(interpreted.problems);
        rows += a.length;
      }
      expect(rows).toBeGreaterThan(0);
    });
  }
});

describe("decoders mark every column they write as dirty", () => {
  // clear() resets only the columns marked in FlowBatch.dirty; a column written but not marked
  // would keep one datagram's values in the rows of the next.
  it("no column outside the dirty mask holds anything but its default", () => {
    const defaults: Partial<Record<(typeof columns)[number], number>> = {
      samplingRate: 1,
      direction: 255,
      applicationId: Number.NaN,
      clientNetworkDelayUs: Number.NaN,
      serverNetworkDelayUs: Number.NaN,
      applicationDelayUs: Number.NaN,
    };
    let checked = 0;
    for (const dir of ["netflow-v5", "netflow-v9", "ipfix", "exported-from-packets"]) {
      for (const file of readdirSync(new URL(dir, flowsDir)).filter((f) => f.endsWith(".pcap"))) {
        const decoder = createFlowDecoder();
        for (const d of captureDatagrams(new URL(`${dir}/${file}`, flowsDir).pathname)) {
          const b = new FlowBatch();
          decoder.decode(d.payload, d.exporter, d.timeMs, b);
          for (const c of columns) {
            if ((b.dirty & columnBit[c]) !== 0) continue;
            const width = c === "src6" || c === "dst6" ? 16 : 1;
            const expected = defaults[c] ?? 0;
            for (const v of b[c].subarray(0, b.length * width)) {
              expect(Object.is(v, expected) || v === expected, `${file} ${c}`).toBe(true);
              checked++;
            }
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(10_000);
  });
});

describe("a batch reused with clear() gives the same rows as one that never was", () => {
  // clear() resets only the columns decoders mark as written: a column written but not marked
  // would leak values from one datagram's rows into the next one's.
  it("over every capture, clearing before each datagram", () => {
    let rows = 0;
    for (const dir of ["netflow-v5", "netflow-v9", "ipfix", "exported-from-packets"]) {
      for (const file of readdirSync(new URL(dir, flowsDir)).filter((f) => f.endsWith(".pcap"))) {
        const datagrams = captureDatagrams(new URL(`${dir}/${file}`, flowsDir).pathname);
        const fresh = new FlowBatch();
        const reused = new FlowBatch(64);
        const decoderA = createFlowDecoder();
        const decoderB = createFlowDecoder();
        const fromReused: string[] = [];
        for (const d of datagrams) {
          decoderA.decode(d.payload, d.exporter, d.timeMs, fresh);
          reused.clear();
          decoderB.decode(d.payload, d.exporter, d.timeMs, reused);
          for (let i = 0; i < reused.length; i++)
            fromReused.push(JSON.stringify(readFlowRecord(reused, i)));
        }
        const fromFresh = Array.from({ length: fresh.length }, (_, i) =>
          JSON.stringify(readFlowRecord(fresh, i)),
        );
        expect(fromReused, file).toEqual(fromFresh);
        rows += fresh.length;
      }
    }
    expect(rows).toBeGreaterThan(4000);
  });
});
