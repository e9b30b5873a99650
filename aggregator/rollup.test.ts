import { describe, expect, it } from "vitest";
import type { PartialSum } from "../collector/aggregate/partial-sums.js";
import { completeBefore, percentile95, Rollup, type SeriesDelta } from "./rollup.js";

const T = Date.UTC(2026, 10, 22, 10, 0, 0);
const partial = (startMs: number, bytes: number, over: Partial<PartialSum> = {}): PartialSum => ({
  startMs,
  link: 0,
  classIndex: 0,
  direction: 0,
  bytes,
  packets: 1,
  flows: 1,
  ...over,
});

function sumBy(deltas: SeriesDelta[], level: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const d of deltas.filter((x) => x.level === level)) {
    const k = `${d.startMs}|${d.link}|${d.classIndex}|${d.direction}`;
    m.set(k, (m.get(k) ?? 0) + d.bytes);
  }
  return m;
}

describe("rollup", () => {
  it("merges partials from several collectors and emits every minute at each flush, the open one too", () => {
    const r = new Rollup({ latenessMs: 120_000 });
    r.add([partial(T, 100), partial(T + 10_000, 50)]); // collector A
    r.add([partial(T + 10_000, 25), partial(T + 70_000, 7)]); // collector B
    const out = r.flush();
    expect(out.map((d) => [d.level, d.startMs - T, d.bytes, d.flows])).toEqual([
      ["1m", 0, 175, 3],
      ["5m", 0, 175, 3],
      ["1h", 0, 175, 3],
      ["1d", Date.UTC(2026, 10, 22) - T, 175, 3],
      ["1m", 60_000, 7, 1],
      ["5m", 0, 7, 1],
      ["1h", 0, 7, 1],
      ["1d", Date.UTC(2026, 10, 22) - T, 7, 1],
    ]);
    expect(r.stats.openBuckets).toBe(0);
    // Emitted once: the next flush has only what came since.
    expect(r.flush()).toEqual([]);
    r.add([partial(T + 20_000, 5)]);
    expect(r.flush().map((d) => [d.level, d.startMs - T, d.bytes])[0]).toEqual(["1m", 0, 5]);
  });

  it("counts partials for a minute already complete (ended more than the lateness ago) as late, and still emits them", () => {
    const r = new Rollup({ latenessMs: 60_000 });
    // Minute T ends at T+60 s: complete from T+120 s on.
    r.add([partial(T + 30_000, 11)], T + 119_999);
    expect(r.stats.latePartials).toBe(0);
    r.add([partial(T + 30_000, 4)], T + 120_000);
    expect(r.stats.latePartials).toBe(1);
    expect(
      r
        .flush()
        .filter((d) => d.level === "1m")
        .map((d) => [d.startMs - T, d.bytes]),
    ).toEqual([[0, 15]]);
  });

  it("says which minutes are complete: those that ended more than the lateness ago", () => {
    expect(completeBefore(T + 180_000, 120_000)).toBe(T + 60_000);
    expect(completeBefore(T + 179_999, 120_000)).toBe(T);
    expect(completeBefore(T + 60_000, 0)).toBe(T + 60_000);
  });

  it("the deltas of every level add up to exactly what was received, whatever the arrival order", () => {
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      return seed / 4294967296;
    };
    const r = new Rollup({ latenessMs: 30_000 });
    const partials: PartialSum[] = [];
    for (let k = 0; k < 3000; k++) {
      partials.push(
        partial(T + Math.floor(rnd() * 7200) * 10_000, Math.floor(rnd() * 1e6), {
          link: Math.floor(rnd() * 5) - 1,
          classIndex: Math.floor(rnd() * 3),
          direction: rnd() < 0.5 ? 0 : 1,
        }),
      );
    }
    const deltas: SeriesDelta[] = [];
    let now = T;
    for (let k = 0; k < partials.length; k += 50) {
      now += 240_000;
      r.add(partials.slice(k, k + 50), now);
      deltas.push(...r.flush());
    }
    for (const [level, ms] of [
      ["1m", 60_000],
      ["5m", 300_000],
      ["1h", 3_600_000],
      ["1d", 86_400_000],
    ] as const) {
      const want = new Map<string, number>();
      for (const p of partials) {
        const k = `${Math.floor(p.startMs / ms) * ms}|${p.link}|${p.classIndex}|${p.direction}`;
        want.set(k, (want.get(k) ?? 0) + p.bytes);
      }
      expect(sumBy(deltas, level)).toEqual(want);
    }
    expect(r.stats.latePartials).toBeGreaterThan(0);
  });
});

describe("95th percentile", () => {
  it("is the nearest-rank percentile of the samples", () => {
    const samples = Array.from({ length: 100 }, (_, k) => k + 1);
    expect(percentile95(samples, 100)).toBe(95);
    expect(percentile95([5, 1, 9], 3)).toBe(9);
  });

  it("counts 5-minute intervals without traffic as zero samples", () => {
    const samples = Array.from({ length: 100 }, (_, k) => k + 1);
    // 200 samples: 100 zeros, then 1..100; rank ceil(190) = 190 → the 90th non-zero sample.
    expect(percentile95(samples, 200)).toBe(90);
    expect(percentile95([1000], 288)).toBe(0);
    expect(percentile95([], 0)).toBe(0);
  });
});
