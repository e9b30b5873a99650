import { describe, expect, it } from "vitest";
import { createRng } from "../../test/fuzz/mutate.js";
import {
  addLatency,
  binQuantiles,
  createLatencySketch,
  LATENCY_RELATIVE_ACCURACY,
  sketchBins,
  sketchFromBins,
} from "./latency-sketch.js";

describe("latency sketch bins", () => {
  it("maps every bin back to itself from 1 µs to 1000 s", () => {
    const s = createLatencySketch();
    for (let us = 1; us < 1e9; us *= 1.013) addLatency(s, us);
    const bins = sketchBins(s);
    expect(bins.length).toBeGreaterThan(500);
    expect(sketchBins(sketchFromBins(bins))).toEqual(bins);
  });

  it("merges by adding bins: quantiles of summed bins = quantiles of all values together", () => {
    const rng = createRng(3);
    const all = createLatencySketch();
    const parts = [createLatencySketch(), createLatencySketch(), createLatencySketch()];
    const values: number[] = [];
    for (let i = 0; i < 30_000; i++) {
      // Log-normal-ish delays around 20 ms, 1 µs to a few seconds.
      const us = Math.exp(Math.log(20_000) + 1.5 * (rng.float() + rng.float() + rng.float() - 1.5));
      values.push(us);
      addLatency(all, us);
      addLatency(parts[i % 3]!, us);
    }
    const summed = new Map<number, number>();
    for (const p of parts) {
      for (const [k, n] of sketchBins(p)) summed.set(k, (summed.get(k) ?? 0) + n);
    }
    const qs = [0.5, 0.95, 0.99];
    const fromBins = binQuantiles(summed, qs);
    expect(fromBins).toEqual(qs.map((q) => all.getValueAtQuantile(q)));
    // Within the relative accuracy of the exact (nearest-rank, lower) quantile.
    values.sort((a, b) => a - b);
    for (const [k, q] of qs.entries()) {
      const exact = values[Math.floor(q * (values.length - 1))]!;
      expect(Math.abs(fromBins[k]! - exact) / exact).toBeLessThanOrEqual(
        LATENCY_RELATIVE_ACCURACY + 1e-9,
      );
    }
  });

  it("counts sub-microsecond delays as 1 µs and gives null without data", () => {
    const s = createLatencySketch();
    addLatency(s, 0);
    addLatency(s, 0.2);
    expect(s.count).toBe(2);
    expect(binQuantiles(sketchBins(s), [0.5])[0]).toBeCloseTo(1, 1);
    expect(binQuantiles([], [0.5, 0.99])).toEqual([null, null]);
  });
});
