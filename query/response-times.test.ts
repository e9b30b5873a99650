import { describe, expect, it } from "vitest";
import {
  addLatency,
  createLatencySketch,
  sketchBins,
} from "../collector/aggregate/latency-sketch.js";
import type { ResponseTimePoint } from "../schema/series-store.js";
import { responseTimeSeries } from "./response-times.js";

const T0 = Date.UTC(2026, 10, 22, 10);
const MIN = 60_000;

/** A period's sums from explicit transactions (total delays in µs), the ground truth. */
function period(timeMs: number, totals: number[], good: number, net: number[], srv: number[]) {
  const sketch = createLatencySketch();
  for (const t of totals) addLatency(sketch, t);
  return {
    timeMs,
    transactions: totals.length,
    good,
    retransmissions: 1,
    networkDelaySumUs: net.reduce((a, b) => a + b, 0),
    networkDelayCount: net.length,
    serverDelaySumUs: srv.reduce((a, b) => a + b, 0),
    serverDelayCount: srv.length,
    totalDelaySumUs: totals.reduce((a, b) => a + b, 0),
    estimated: 0,
    bins: sketchBins(sketch),
  } satisfies ResponseTimePoint;
}

describe("responseTimeSeries", () => {
  it("gives means in ms, percentiles from the bins, zero points and a whole-range summary", () => {
    const rows = [
      period(T0, [10_000, 20_000, 30_000, 40_000], 3, [2_000, 4_000], [5_000, 7_000]),
      period(T0 + 2 * MIN, [100_000], 0, [], [90_000]),
    ];
    const s = responseTimeSeries({ fromMs: T0, toMs: T0 + 3 * MIN, step: "1m", rows });
    expect(s.points.map((p) => p.timeMs)).toEqual([T0, T0 + MIN, T0 + 2 * MIN]);
    const [a, empty, c] = s.points;
    expect(a).toMatchObject({
      transactions: 4,
      goodTransactions: 3,
      goodRatio: 0.75,
      retransmissions: 1,
      meanNetworkDelayMs: 3, // (2 + 4) / 2
      meanServerDelayMs: 6, // (5 + 7) / 2
      meanTotalDelayMs: 25,
    });
    // DDSketch's quantile q is the value of rank q·(n − 1), rounded down, within 2 %: of
    // 10/20/30/40 ms the median is the 2nd (20 ms) and the p99 (rank 2.97) the 3rd (30 ms).
    expect(Math.abs(a!.totalDelayP50Ms! - 20) / 20).toBeLessThanOrEqual(0.02);
    expect(Math.abs(a!.totalDelayP99Ms! - 30) / 30).toBeLessThanOrEqual(0.02);
    expect(empty).toMatchObject({
      transactions: 0,
      goodRatio: null,
      meanNetworkDelayMs: null,
      totalDelayP95Ms: null,
    });
    expect(c).toMatchObject({ transactions: 1, meanNetworkDelayMs: null, meanServerDelayMs: 90 });
    // The range: 5 transactions, 10/20/30/40/100 ms: the median (rank 2) is 30 ms and the p99
    // (rank 3.96) is 40 ms: one slow transaction in five is above the 99th percentile's rank.
    expect(s.summary).toMatchObject({ transactions: 5, goodTransactions: 3, retransmissions: 2 });
    expect(Math.abs(s.summary.totalDelayP50Ms! - 30) / 30).toBeLessThanOrEqual(0.02);
    expect(Math.abs(s.summary.totalDelayP99Ms! - 40) / 40).toBeLessThanOrEqual(0.02);
    expect(s.summary.meanTotalDelayMs).toBe(40);
  });
});
