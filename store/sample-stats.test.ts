import { describe, expect, it } from "vitest";
import { peaksPerStep, rankedValue } from "./sample-stats.js";

const HOUR = 3_600_000;
const DAY = 86_400_000;

/** A small generator with a fixed seed (no Math.random: a failure reruns the same). */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1_664_525) + 1_013_904_223) >>> 0;
    return x;
  };
}

describe("rankedValue", () => {
  it("is the rank-th highest, by hand", () => {
    const v = () => Float64Array.from([5, 1, 9, 9, 3, 0, 7]);
    // Sorted high to low: 9 9 7 5 3 1 0.
    expect([1, 2, 3, 4, 5, 6, 7].map((r) => rankedValue(v(), r))).toEqual([9, 9, 7, 5, 3, 1, 0]);
    expect(rankedValue(v(), 8)).toBe(0); // fewer values than the rank: the missing ones are 0
    expect(rankedValue(new Float64Array(0), 1)).toBe(0);
    expect(rankedValue(Float64Array.from([4.5]), 1)).toBe(4.5);
  });

  it("equals the sorted array's entry on random, repeated, sorted and reversed values", () => {
    const next = lcg(17);
    const arrays: Float64Array[] = [];
    for (const n of [2, 3, 10, 101, 1000, 4096]) {
      arrays.push(Float64Array.from({ length: n }, () => next() % 1000)); // many repeats
      arrays.push(Float64Array.from({ length: n }, () => next() / 7)); // fractions
      arrays.push(Float64Array.from({ length: n }, (_, k) => k)); // ascending
      arrays.push(Float64Array.from({ length: n }, (_, k) => n - k)); // descending
      arrays.push(new Float64Array(n).fill(3)); // all equal
    }
    for (const a of arrays) {
      const desc = [...a].sort((x, y) => y - x);
      for (const rank of new Set([1, 2, Math.ceil(a.length / 2), a.length - 1, a.length])) {
        if (rank < 1) continue;
        expect(rankedValue(Float64Array.from(a), rank), `n ${a.length} rank ${rank}`).toBe(
          desc[rank - 1],
        );
      }
    }
  });
});

describe("peaksPerStep", () => {
  it("takes each direction's highest sample per step-long period, in time order, by hand", () => {
    const t0 = Date.UTC(2025, 9, 1);
    // Out of order, as a GROUP BY answers; periods of an hour.
    const s = {
      timeMs: Float64Array.from([t0 + HOUR + 5 * 60_000, t0, t0 + 55 * 60_000, t0 + 3 * HOUR]),
      bytesIn: Float64Array.from([10, 30, 20, 0]),
      bytesOut: Float64Array.from([7, 1, 2, 4]),
    };
    expect(peaksPerStep(s, HOUR)).toEqual([
      { timeMs: t0, bytesIn: 30, bytesOut: 2 },
      { timeMs: t0 + HOUR, bytesIn: 10, bytesOut: 7 },
      // No sample in hour 2: no period. Hour 3 has a sample of 0 in.
      { timeMs: t0 + 3 * HOUR, bytesIn: 0, bytesOut: 4 },
    ]);
    expect(peaksPerStep(s, DAY)).toEqual([{ timeMs: t0, bytesIn: 30, bytesOut: 7 }]);
    const none = {
      timeMs: new Float64Array(0),
      bytesIn: new Float64Array(0),
      bytesOut: new Float64Array(0),
    };
    expect(peaksPerStep(none, DAY)).toEqual([]);
  });
});
