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

  it("drops records past the bounds, counted by reason, and keeps those on them exactly", () => {
    const c = createFlowCollector({ model, decoder: createFlowDecoder(), intervalMs: 10_000 });
    const end = arrival - 1000;
    c.ingest(
      message([
        flow(end - 5000, end, 2 ** 48, 2 ** 48), // on the bound: kept
        flow(end - 5000, end, 2 ** 48 + 1, 1), // one byte past it
        flow(end - 5000, end, 1, 2 ** 48 + 1),
        flow(end - 5000, end, 2 ** 53, 1),
      ]),
      "192.0.2.1",
      arrival,
    );
    expect(c.stats.dropped).toEqual({
      "bytes-absurd": 2,
      "packets-absurd": 1,
      "sampling-rate-absurd": 0,
      "time-invalid": 0,
      "too-old": 0,
    });
    expect(c.stats.records).toBe(4);
    const sums = c.drainAll();
    expect(sums.reduce((t, s) => t + s.bytes, 0)).toBe(2 ** 48);
    expect(sums.reduce((t, s) => t + s.packets, 0)).toBe(2 ** 48);
  });

  it("drops a record whose sampling rate is above 2^24, keeps one at 2^24 scaled exactly", () => {
    const c = createFlowCollector({ model, decoder: createFlowDecoder(), intervalMs: 10_000 });
    // samplingInterval (IE 34) in the record itself.
    const sampled = (rate: number) =>
      ipfixMessage({ exportSeconds: arrival / 1000, sequence: 0, domain: 1 }, [
        { kind: "template", id: 257, fields: [...fields, { id: 34, length: 4 }] },
        {
          kind: "data",
          id: 257,
          records: [
            record((b) =>
              b
                .bytes([198, 51, 100, 7])
                .bytes([203, 0, 113, 9])
                .u64(1500)
                .u64(1)
                .u64(arrival - 3000)
                .u64(arrival - 2000)
                .u32(rate),
            ),
          ],
        },
      ]);
    c.ingest(sampled(2 ** 24), "192.0.2.1", arrival);
    c.ingest(sampled(2 ** 24 + 1), "192.0.2.1", arrival);
    c.ingest(sampled(2 ** 32 - 1), "192.0.2.1", arrival);
    expect(c.stats.dropped["sampling-rate-absurd"]).toBe(2);
    expect(c.drainAll().map((s) => [s.bytes, s.packets])).toEqual([[1500 * 2 ** 24, 2 ** 24]]);
  });

  it("drops records that ended longer than maxPast before they arrived (default 2 h)", () => {
    const hour = 3_600_000;
    const records = [
      flow(arrival - 2 * hour - 5000, arrival - 2 * hour, 100, 1), // on the bound: kept
      flow(arrival - 2 * hour - 5000, arrival - 2 * hour - 1, 200, 1),
      flow(Date.UTC(2016, 1, 29, 12) - 5000, Date.UTC(2016, 1, 29, 12), 400, 1),
    ];
    const c = createFlowCollector({ model, decoder: createFlowDecoder(), intervalMs: 10_000 });
    c.ingest(message(records), "192.0.2.1", arrival);
    expect(c.stats.dropped["too-old"]).toBe(2);
    expect(c.drainAll().map((s) => s.bytes)).toEqual([100]);

    const forever = createFlowCollector({
      model,
      decoder: createFlowDecoder(),
      intervalMs: 10_000,
      maxPastMs: Number.POSITIVE_INFINITY,
    });
    forever.ingest(message(records), "192.0.2.1", arrival);
    expect(forever.stats.dropped["too-old"]).toBe(0);
    expect(forever.drainAll().reduce((t, s) => t + s.bytes, 0)).toBe(700);
  });
});

describe("flow collector: latency fields", () => {
  // The flow key above, then nProbe's CLIENT_NW_LATENCY_MS, SERVER_NW_LATENCY_MS, APPL_LATENCY_MS.
  const nprobe = [
    ...fields,
    { id: 123, length: 4, pen: 35632 },
    { id: 124, length: 4, pen: 35632 },
    { id: 125, length: 4, pen: 35632 },
  ];
  const latencyMessage = (sequence: number, cnd: number, snd: number, app: number) =>
    ipfixMessage({ exportSeconds: arrival / 1000, sequence, domain: 1 }, [
      { kind: "template", id: 257, fields: nprobe },
      {
        kind: "data",
        id: 257,
        records: [
          record((b) =>
            b
              .bytes([203, 0, 113, 9])
              .bytes([198, 51, 100, 7])
              .u64(100)
              .u64(1)
              .u64(arrival - 2000)
              .u64(arrival - 1000)
              .u32(cnd)
              .u32(snd)
              .u32(app),
          ),
        ],
      },
    ]);

  it("one transaction per nProbe record, judged by the threshold in force (a reload changes it)", () => {
    const c = createFlowCollector({
      model,
      decoder: createFlowDecoder(),
      intervalMs: 60_000,
      totalDelayThresholdsMs: [100],
    });
    // Network 2 × (5 + 15) = 40 ms, total 40 + 50 = 90 ms: good under 100 ms.
    c.ingest(latencyMessage(0, 5, 15, 50), "192.0.2.1", arrival);
    expect(c.drainAllResponses()).toMatchObject([
      {
        transactions: 1,
        good: 1,
        estimated: 0,
        networkDelaySumUs: 40_000,
        networkDelayCount: 1,
        serverDelaySumUs: 50_000,
        serverDelayCount: 1,
        totalDelaySumUs: 90_000,
      },
    ]);
    expect(c.swapModel(model, [80]).map((s) => s.flows)).toEqual([1]);
    c.ingest(latencyMessage(1, 5, 15, 50), "192.0.2.1", arrival);
    expect(c.drainAllResponses()).toMatchObject([{ transactions: 1, good: 0 }]);
    // No application latency (0: not measured): no transaction.
    c.ingest(latencyMessage(2, 5, 15, 0), "192.0.2.1", arrival);
    expect(c.drainAllResponses()).toEqual([]);
    expect(c.drainAll().map((s) => s.flows)).toEqual([2]);
  });
});
