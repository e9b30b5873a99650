/**
 * The good/estimated rules for a flow record's response-time contribution, on hand-computed
 * cases (the end-to-end proof with generated exports is test/e2e/flow-latency.test.ts).
 */
import { describe, expect, it } from "vitest";
import { FlowBatch, RESPONSE_WIDTH, ResponseSlot } from "../../schema/flow-record.js";
import { emptyContribution, flowResponse } from "./flow-response.js";

/** Upper edges of buckets 1 to 6: 10, 20, 50, 100, 200, 500 ms, in µs. */
const EDGES_US = [10, 20, 50, 100, 200, 500].map((ms) => ms * 1000);

function row(values: Partial<Record<keyof typeof ResponseSlot, number>>): FlowBatch {
  const b = new FlowBatch(4);
  const i = b.next();
  for (const [name, v] of Object.entries(values)) {
    b.responseTimes[i * RESPONSE_WIDTH + ResponseSlot[name as keyof typeof ResponseSlot]] = v;
  }
  return b;
}

const judge = (b: FlowBatch, thresholdMs: number) => {
  const c = emptyContribution();
  const has = flowResponse(b, 0, thresholdMs * 1000, EDGES_US, c);
  return has ? c : null;
};

// Histogram: 4 under 10 ms, 3 in [10, 20), 2 in [20, 50), 1 in [50, 100), 0, 0, 5 at 500 ms or more.
const histogram = {
  transactions: 15,
  totalDelaySumUs: 15 * 150_000,
  bucket1: 4,
  bucket2: 3,
  bucket3: 2,
  bucket4: 1,
  bucket7: 5,
};

describe("flowResponse", () => {
  it("carries nothing for a row without transactions or handshakes", () => {
    expect(judge(row({}), 100)).toBeNull();
  });

  it("one transaction: its total delay decides, exactly", () => {
    expect(judge(row({ transactions: 1, totalDelaySumUs: 99_999 }), 100)).toMatchObject({
      transactions: 1,
      good: 1,
      estimated: 0,
    });
    expect(judge(row({ transactions: 1, totalDelaySumUs: 100_000 }), 100)).toMatchObject({
      good: 0,
      estimated: 0,
    });
  });

  it("histogram, threshold on a bucket edge: exact", () => {
    // 20 ms: buckets 1 and 2 (4 + 3).
    expect(judge(row(histogram), 20)).toMatchObject({ good: 7, estimated: 0 });
    // 500 ms: buckets 1 to 6 (4 + 3 + 2 + 1).
    expect(judge(row(histogram), 500)).toMatchObject({ good: 10, estimated: 0 });
  });

  it("histogram, threshold inside a bucket: linear split of that bucket, its responses estimated", () => {
    // 35 ms is halfway through [20, 50): 4 + 3 + 2 × (15 / 30).
    expect(judge(row(histogram), 35)).toMatchObject({ good: 8, estimated: 2 });
    // 1 s is in the open bucket 7: none of it counts good, all 5 estimated.
    expect(judge(row(histogram), 1000)).toMatchObject({ good: 10, estimated: 5 });
  });

  it("responses missing from the histogram: not good, estimated", () => {
    expect(judge(row({ ...histogram, transactions: 18 }), 20)).toMatchObject({
      transactions: 18,
      good: 7,
      estimated: 3,
    });
  });

  it("sums only: the mean decides for all, late responses never good, all estimated", () => {
    const sums = { transactions: 10, totalDelaySumUs: 10 * 40_000, lateResponses: 2 };
    expect(judge(row(sums), 50)).toMatchObject({ good: 8, estimated: 10 });
    expect(judge(row(sums), 40)).toMatchObject({ good: 0, estimated: 10 });
  });

  it("handshakes without transactions: network delay only", () => {
    expect(judge(row({ networkDelayCount: 2, networkDelaySumUs: 30_000 }), 100)).toMatchObject({
      transactions: 0,
      good: 0,
      estimated: 0,
      networkDelayCount: 2,
      networkDelaySumUs: 30_000,
    });
  });
});
