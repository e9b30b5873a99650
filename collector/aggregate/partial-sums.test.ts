import { describe, expect, it } from "vitest";
import { createRng } from "../../test/fuzz/mutate.js";
import { Direction, PartialSums } from "./partial-sums.js";

describe("partial sums", () => {
  it("keeps a flow inside one interval whole and keys it by link, class and direction", () => {
    const p = new PartialSums({ intervalMs: 10_000, classes: 3 });
    p.add(4, 2, Direction.Out, 1_000, 9_000, 1500, 3);
    p.add(4, 2, Direction.Out, 2_000, 2_000, 500, 1);
    p.add(-1, 0, Direction.In, 12_000, 12_500, 40, 1);
    expect(p.drainAll()).toEqual([
      {
        startMs: 0,
        link: 4,
        classIndex: 2,
        direction: Direction.Out,
        bytes: 2000,
        packets: 4,
        flows: 2,
      },
      {
        startMs: 10_000,
        link: -1,
        classIndex: 0,
        direction: Direction.In,
        bytes: 40,
        packets: 1,
        flows: 1,
      },
    ]);
  });

  it("spreads a flow over the intervals it spans in proportion, in whole units", () => {
    const p = new PartialSums({ intervalMs: 10_000, classes: 1 });
    // 5 s in [0,10), 10 s in [10,20), 5 s in [20,30): 25 % / 50 % / 25 %.
    p.add(0, 0, Direction.In, 5_000, 25_000, 1001, 7);
    const rows = p.drainAll();
    expect(rows.map((r) => r.bytes)).toEqual([250, 501, 250]);
    // 7 packets: 1.75 / 3.5 / 1.75 → floors 1 / 3 / 1, the 2 left go to the largest fractions.
    expect(rows.map((r) => r.packets)).toEqual([2, 3, 2]);
    expect(rows.map((r) => r.flows)).toEqual([0, 0, 1]);
  });

  it("totals equal the input exactly for thousands of random flows", () => {
    let seed = 12345;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 4294967296;
    };
    const p = new PartialSums({ intervalMs: 10_000, classes: 4 });
    const want = new Map<string, [number, number, number]>();
    for (let k = 0; k < 5000; k++) {
      const link = Math.floor(rnd() * 20) - 1;
      const cls = Math.floor(rnd() * 4);
      const dir = rnd() < 0.5 ? Direction.In : Direction.Out;
      const start = Math.floor(rnd() * 600_000);
      const end = start + Math.floor(rnd() * rnd() * 300_000);
      const bytes = Math.floor(rnd() * 1e7);
      const packets = Math.floor(rnd() * 1e4);
      p.add(link, cls, dir, start, end, bytes, packets);
      const key = `${link}|${cls}|${dir}`;
      const w = want.get(key) ?? [0, 0, 0];
      want.set(key, [w[0] + bytes, w[1] + packets, w[2] + 1]);
    }
    const got = new Map<string, [number, number, number]>();
    for (const r of p.drainAll()) {
      expect(Number.isInteger(r.bytes) && Number.isInteger(r.packets)).toBe(true);
      const key = `${r.link}|${r.classIndex}|${r.direction}`;
      const g = got.get(key) ?? [0, 0, 0];
      got.set(key, [g[0] + r.bytes, g[1] + r.packets, g[2] + r.flows]);
    }
    expect(got).toEqual(want);
  });

  it("drains only intervals that start before the cut-off, oldest first", () => {
    const p = new PartialSums({ intervalMs: 10_000, classes: 1 });
    p.add(0, 0, Direction.In, 25_000, 25_000, 1, 1);
    p.add(0, 0, Direction.In, 5_000, 5_000, 1, 1);
    p.add(0, 0, Direction.In, 15_000, 15_000, 1, 1);
    expect(p.drain(20_000).map((r) => r.startMs)).toEqual([0, 10_000]);
    expect(p.openIntervals).toBe(1);
    expect(p.drain(20_000)).toEqual([]);
  });

  it("counts a flow claiming to last longer than maxSpreadMs at its end, and says so", () => {
    const p = new PartialSums({ intervalMs: 10_000, classes: 1, maxSpreadMs: 60_000 });
    p.add(0, 0, Direction.In, 0, 10_000_000, 100, 1);
    p.add(0, 0, Direction.In, 50_000, 40_000, 100, 1); // ends before it starts
    expect(p.drainAll().map((r) => [r.startMs, r.bytes])).toEqual([
      [40_000, 100],
      [10_000_000, 100],
    ]);
    expect(p.clampedFlows).toBe(1);
  });

  it("splits like a plain largest-remainder reference on random flows (short and long)", () => {
    const rng = createRng(7);
    const iv = 10_000;
    for (let t = 0; t < 3000; t++) {
      const p = new PartialSums({ intervalMs: iv, classes: 1 });
      const start = rng.below(100_000);
      // Mostly within a minute; some up to an hour (hundreds of intervals: the sorting path).
      const length = t % 10 === 0 ? rng.below(3_600_000) : rng.below(60_000);
      const bytes = rng.below(10_000_000);
      const packets = rng.below(1000);
      p.add(0, 0, Direction.In, start, start + length, bytes, packets);
      const rows = p.drainAll();
      expect(rows.map((r) => r.bytes)).toEqual(reference(start, start + length, bytes, iv));
      expect(rows.map((r) => r.packets)).toEqual(reference(start, start + length, packets, iv));
      expect(rows.reduce((a, r) => a + r.flows, 0)).toBe(1);
    }
  });
});

/** Largest remainder, written the obvious way: floors, then +1 to the largest fractions. */
function reference(start: number, end: number, total: number, iv: number): number[] {
  const first = Math.floor(start / iv);
  const last = Math.floor(end / iv);
  if (first === last) return [total];
  const exact: number[] = [];
  for (let k = first; k <= last; k++) {
    const overlap = Math.min(end, (k + 1) * iv) - Math.max(start, k * iv);
    exact.push((total * overlap) / (end - start));
  }
  const parts = exact.map(Math.floor);
  const rest = total - parts.reduce((a, b) => a + b, 0);
  const byFraction = exact
    .map((x, k) => ({ k, f: x - Math.floor(x) }))
    .sort((a, b) => b.f - a.f || a.k - b.k);
  for (let j = 0; j < rest; j++) parts[byFraction[j]!.k]! += 1;
  return parts;
}

describe("partial sums at the bounds", () => {
  it("spreads any total up to 2^48 exactly, whatever the span and rounding", () => {
    const rng = createRng(48);
    for (let i = 0; i < 20_000; i++) {
      const p = new PartialSums({ intervalMs: 10_000, classes: 1 });
      const total = Math.floor(rng.float() * 2 ** (1 + Math.floor(rng.float() * 48)));
      const start = Math.floor(rng.float() * 1e12);
      const end = start + Math.floor(rng.float() * 3_600_000);
      p.add(0, 0, Direction.In, start, end, total, total);
      const rows = p.drainAll();
      expect(rows.every((r) => Number.isInteger(r.bytes) && r.bytes >= 0)).toBe(true);
      expect(rows.reduce((s, r) => s + r.bytes, 0)).toBe(total);
    }
  });

  it("returns at once for a total past 2^53 (one IPFIX record of 2^64-1 bytes at rate 2^32-1)", () => {
    const p = new PartialSums({ intervalMs: 10_000, classes: 1 });
    const total = (2 ** 64 - 1) * (2 ** 32 - 1);
    // 45 s over five intervals: the remainder loop once ran 8 796 093 022 208 times here.
    const start = Date.UTC(2026, 10, 1, 12, 0, 0, 500);
    p.add(0, 0, Direction.In, start, start + 45_000, total, total);
    const rows = p.drainAll();
    expect(rows).toHaveLength(5);
    expect(rows.every((r) => Number.isFinite(r.bytes) && r.bytes >= 0)).toBe(true);
    // Not exact past 2^53 (why the record sink refuses such records), but within rounding.
    const sum = rows.reduce((s, r) => s + r.bytes, 0);
    expect(Math.abs(sum - total) / total).toBeLessThan(1e-12);
  });

  it("leaves out a flow whose times are not finite, and counts it", () => {
    const p = new PartialSums({ intervalMs: 10_000, classes: 1 });
    p.add(0, 0, Direction.In, Number.NaN, Number.NaN, 5, 1);
    p.add(0, 0, Direction.In, 0, Number.POSITIVE_INFINITY, 5, 1);
    p.add(0, 0, Direction.In, 0, 1000, 7, 1);
    expect(p.invalidTimes).toBe(2);
    expect(p.drainAll().map((r) => r.bytes)).toEqual([7]);
  });
});
