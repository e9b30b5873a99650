/**
 * nProbe latency in real captures (telegraf's ipfix_pen_35632 and issue_13305: nProbe IPFIX with
 * CLIENT_NW_LATENCY_MS, SERVER_NW_LATENCY_MS and APPL_LATENCY_MS under PEN 35632) against
 * tshark's decode of the same fields, run here: every record's three latencies, and the
 * response-time contribution they make (a transaction per record with an application latency,
 * the server delay its latency, the network delay twice the two half round trips). The corpus
 * holds no Cisco AVC ART capture: ART records are generated with known values here (both decoder
 * implementations) and through the whole pipeline in test/e2e/flow-latency.test.ts.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { FlowBatch, RESPONSE_WIDTH, ResponseSlot } from "../../schema/flow-record.js";
import { decodeCapture } from "../../test/support/decode-capture.js";
import {
  bucketOf,
  drawTransaction,
  type ExportGroup,
  latencyExports,
  prng,
  type Transaction,
} from "../../test/support/latency-exports.js";
import { createFlowDecoder } from "./flow-decoder.js";

const fixtures = new URL("../../test/fixtures/flows/ipfix/", import.meta.url).pathname;
const CAPTURES = ["telegraf__ipfix_pen_35632.pcap", "telegraf__issue_13305.pcap"];

/** tshark's [client, server, application] latency (ms) of every record that has them. */
function tsharkLatencies(path: string): Array<[number, number, number]> {
  const r = spawnSync(
    "tshark",
    [
      "-r",
      path,
      "-d",
      "udp.port==4739,cflow",
      "-T",
      "fields",
      "-E",
      "occurrence=a",
      "-E",
      "aggregator=,",
      "-e",
      "cflow.pie.ntop.client_nw_latency_ms",
      "-e",
      "cflow.pie.server_nw_latency_ms",
      "-e",
      "cflow.pie.ntop.appl_latency_ms",
    ],
    { encoding: "utf8" },
  );
  expect(r.error, "tshark must be installed (scripts/setup.sh --test)").toBeUndefined();
  expect(r.status, r.stderr).toBe(0);
  const out: Array<[number, number, number]> = [];
  for (const line of r.stdout.split("\n")) {
    const [c, s, a] = line.split("\t").map((f) => (f === "" ? [] : f.split(",").map(Number)));
    if (c === undefined || c.length === 0) continue;
    expect(s?.length, line).toBe(c.length);
    expect(a?.length, line).toBe(c.length);
    for (let k = 0; k < c.length; k++) out.push([c[k]!, s![k]!, a![k]!]);
  }
  return out;
}

describe("nProbe latency fields in real captures, against tshark", () => {
  for (const file of CAPTURES) {
    it(file, () => {
      const reference = tsharkLatencies(fixtures + file);
      expect(reference.length).toBeGreaterThan(0);
      const { batch } = decodeCapture(fixtures + file);
      const ours: Array<[number, number, number]> = [];
      let transactions = 0;
      let serverSumUs = 0;
      let networkSumUs = 0;
      for (let i = 0; i < batch.length; i++) {
        if (Number.isNaN(batch.applicationDelayUs[i]!)) continue;
        ours.push([
          batch.clientNetworkDelayUs[i]! / 1000,
          batch.serverNetworkDelayUs[i]! / 1000,
          batch.applicationDelayUs[i]! / 1000,
        ]);
        const at = i * RESPONSE_WIDTH;
        transactions += batch.responseTimes[at + ResponseSlot.transactions]!;
        serverSumUs += batch.responseTimes[at + ResponseSlot.serverDelaySumUs]!;
        networkSumUs += batch.responseTimes[at + ResponseSlot.networkDelaySumUs]!;
      }
      expect(ours).toEqual(reference);
      // From tshark's figures: a transaction per record with an application latency (0 is "not
      // measured": these records are UDP), its server and network delays.
      const measured = reference.filter(([, , app]) => app > 0);
      expect(transactions).toBe(measured.length);
      expect(serverSumUs).toBe(measured.reduce((n, [, , app]) => n + app * 1000, 0));
      expect(networkSumUs).toBe(measured.reduce((n, [c, s]) => n + 2 * (c + s) * 1000, 0));
    });
  }
});

describe("Cisco ART records, generated with known values", () => {
  const edges = [20, 40, 60, 80, 100, 150];
  const rand = prng(7);
  const transactions = Array.from({ length: 9 }, () => drawTransaction(rand, 200));
  const group: ExportGroup = {
    kind: "art",
    client: "10.1.0.1",
    server: "192.0.2.80",
    serverPort: 80,
    endMs: Date.UTC(2026, 10, 22, 10, 0, 30),
    transactions,
    connections: 3,
    lateResponses: 2,
    retransmissions: 4,
  };
  const sum = (f: (t: Transaction) => number, list = transactions) =>
    list.reduce((a, t) => a + f(t), 0);

  for (const codegen of [true, false]) {
    it(`decodes every ART element into responseTimes (${codegen ? "generated code" : "interpreter"})`, () => {
      const decoder = createFlowDecoder({ codegen });
      const batch = new FlowBatch(16);
      for (const d of latencyExports([group], edges, group.endMs / 1000)) {
        decoder.decode(d, "192.0.2.1", group.endMs, batch);
      }
      expect(batch.length).toBe(1);
      const rt = Array.from(batch.responseTimes.subarray(0, RESPONSE_WIDTH));
      const buckets = [0, 0, 0, 0, 0, 0, 0];
      for (const t of transactions) buckets[bucketOf(t.totalMs, edges)]!++;
      const handshakes = transactions.slice(0, 3);
      expect(rt).toEqual([
        9,
        sum((t) => t.cndMs + t.sndMs, handshakes) * 1000,
        3,
        sum((t) => t.serverMs) * 1000,
        9,
        sum((t) => t.totalMs) * 1000,
        2,
        4,
        ...buckets,
      ]);
      expect(ResponseSlot.bucket1).toBe(8);
    });
  }
});
