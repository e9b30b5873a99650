import { describe, expect, it } from "vitest";
import {
  addLatency,
  binQuantiles,
  createLatencySketch,
} from "../collector/aggregate/latency-sketch.js";
import { ResponseSums } from "../collector/aggregate/response-sums.js";
import { ResponseRollup } from "./response-rollup.js";

const T0 = Date.UTC(2026, 10, 22, 10);
const tx = (endMs: number, totalDelayUs: number, extra: Partial<{ good: boolean }> = {}) => ({
  endMs,
  networkDelayUs: 1000,
  serverDelayUs: Number.NaN, // not measured: counts in neither sum
  totalDelayUs,
  retransmissions: 1,
  good: extra.good ?? totalDelayUs < 50_000,
});

describe("response-time partials and rollup", () => {
  it("merges two collectors' partials into exact counts and the sketch of all transactions", () => {
    const a = new ResponseSums({ intervalMs: 10_000 });
    const b = new ResponseSums({ intervalMs: 10_000 });
    const all = createLatencySketch();
    const delays: number[] = [];
    for (let i = 0; i < 200; i++) {
      const d = 1000 + i * 997;
      delays.push(d);
      addLatency(all, d);
      (i % 2 === 0 ? a : b).add(3, 0, tx(T0 + (i % 60) * 1000, d));
    }
    const rollup = new ResponseRollup({ latenessMs: 0 });
    rollup.add(a.drainAll());
    rollup.add(b.drainAll());
    const deltas = rollup.flush();
    // One minute bucket → one delta per level.
    expect(deltas.map((d) => d.level)).toEqual(["1m", "5m", "1h", "1d"]);
    const m = deltas[0]!;
    expect(m).toMatchObject({
      startMs: T0,
      link: 3,
      classIndex: 0,
      transactions: 200,
      good: delays.filter((d) => d < 50_000).length,
      retransmissions: 200,
      networkDelaySumUs: 200_000,
      networkDelayCount: 200,
      serverDelaySumUs: 0,
      serverDelayCount: 0,
      totalDelaySumUs: delays.reduce((x, y) => x + y, 0),
    });
    expect(m.bins.reduce((n, [, c]) => n + c, 0)).toBe(200);
    expect(binQuantiles(m.bins, [0.5, 0.95, 0.99])).toEqual(
      [0.5, 0.95, 0.99].map((q) => all.getValueAtQuantile(q)),
    );
  });

  it("turns a partial for a complete minute into a correction counted as late, not a loss", () => {
    const rollup = new ResponseRollup({ latenessMs: 60_000 });
    const s = new ResponseSums({ intervalMs: 10_000 });
    s.add(1, 2, tx(T0 + 5000, 10_000));
    rollup.add(s.drainAll(), T0 + 119_000);
    expect(rollup.flush().filter((d) => d.level === "1m")).toHaveLength(1);
    expect(rollup.stats.latePartials).toBe(0);
    s.add(1, 2, tx(T0 + 7000, 20_000));
    rollup.add(s.drainAll(), T0 + 121_000);
    expect(rollup.stats.latePartials).toBe(1);
    const late = rollup.flush().filter((d) => d.level === "1m");
    expect(late.map((d) => [d.startMs, d.transactions])).toEqual([[T0, 1]]);
  });
});
