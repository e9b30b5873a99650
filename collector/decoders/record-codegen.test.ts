/**
 * Differential test: generated record decoders (the default) against the interpreter, over every
 * datagram of every real capture. Every column of every row must be identical.
 */
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FlowBatch } from "../../schema/flow-record.js";
import { captureDatagrams } from "../../test/support/decode-capture.js";
import { createFlowDecoder } from "./flow-decoder.js";

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
