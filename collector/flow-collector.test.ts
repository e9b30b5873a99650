/**
 * The collector core: decode → classify → partial sums, on hand-built IPFIX messages whose
 * values are the ground truth. Focus: records stamped in the future by a wrong exporter clock.
 */
import { describe, expect, it } from "vitest";
import { parseConfigText } from "../config/load-config.js";
import { ipfixMessage, record } from "../test/support/export-builder.js";
import { buildCustomerModel } from "./classify/customer-model.js";
import { createFlowDecoder } from "./decoders/flow-decoder.js";
import { createFlowCollector } from "./flow-collector.js";

const model = buildCustomerModel(
  parseConfigText(`
customers:
  - id: acme
    name: ACME
    sites: [{ id: hq, links: [{ id: fiber, prefixes: [203.0.113.0/24] }] }]
`),
);

// sourceIPv4Address, destinationIPv4Address, octetDeltaCount, packetDeltaCount,
// flowStartMilliseconds, flowEndMilliseconds
const fields = [
  { id: 8, length: 4 },
  { id: 12, length: 4 },
  { id: 1, length: 8 },
  { id: 2, length: 8 },
  { id: 152, length: 8 },
  { id: 153, length: 8 },
];

function flow(startMs: number, endMs: number, bytes: number, packets: number): Uint8Array {
  return record((b) =>
    b
      .bytes([198, 51, 100, 7])
      .bytes([203, 0, 113, 9])
      .u64(bytes)
      .u64(packets)
      .u64(startMs)
      .u64(endMs),
  );
}

const arrival = Date.UTC(2026, 10, 22, 10, 0, 25);
const message = (records: Uint8Array[]) =>
  ipfixMessage({ exportSeconds: arrival / 1000, sequence: 0, domain: 1 }, [
    { kind: "template", id: 256, fields },
    { kind: "data", id: 256, records },
  ]);

describe("flow collector", () => {
  it("counts a record where its own times place it, exactly", () => {
    const c = createFlowCollector({ model, decoder: createFlowDecoder(), intervalMs: 10_000 });
    // 10:00:05 → 10:00:15 spans two 10 s intervals, half each.
    c.ingest(message([flow(arrival - 20_000, arrival - 10_000, 1000, 10)]), "192.0.2.1", arrival);
    const sums = c.drainAll();
    expect(sums.map((s) => [s.startMs - Date.UTC(2026, 10, 22, 10), s.bytes, s.packets])).toEqual([
      [0, 500, 5],
      [10_000, 500, 5],
    ]);
    expect(c.stats.futureRecords).toBe(0);
  });

  it("moves a record stamped later than maxFuture after its arrival to end at its arrival", () => {
    const c = createFlowCollector({
      model,
      decoder: createFlowDecoder(),
      intervalMs: 10_000,
      maxFutureMs: 60_000,
    });
    const day = 86_400_000;
    c.ingest(
      message([
        // 14 days ahead (a broken uptime), lasting 4 s: counted at 10:00:21-10:00:25.
        flow(arrival + 14 * day - 4000, arrival + 14 * day, 700, 7),
        // 54 s ahead (10:01:11-10:01:19): within the tolerance, kept where it says.
        flow(arrival + 46_000, arrival + 54_000, 300, 3),
      ]),
      "192.0.2.1",
      arrival,
    );
    const sums = c.drainAll();
    const ten = Date.UTC(2026, 10, 22, 10);
    expect(sums.map((s) => [s.startMs - ten, s.bytes, s.packets, s.flows])).toEqual([
      [20_000, 700, 7, 1],
      [70_000, 300, 3, 1],
    ]);
    expect(c.stats.futureRecords).toBe(1);
    expect(c.stats.records).toBe(2);
  });
});
