import { describe, expect, it } from "vitest";
import { percentile95 } from "../aggregator/rollup.js";
import { createRng } from "../test/fuzz/mutate.js";
import {
  type ByteSample,
  MAX_POINTS,
  p95Count,
  p95Rank,
  sampleCount,
  type TrafficSeriesPoint,
  trafficRangeProblem,
  trafficSeries,
} from "./traffic.js";

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** 2026-11-22T00:00:00Z */
const T0 = Date.UTC(2026, 10, 22);
const at = (h: number, m = 0) => T0 + h * HOUR + m * MIN;

function zero(timeMs: number): TrafficSeriesPoint {
  return {
    timeMs,
    bytesIn: 0,
    bytesOut: 0,
    packetsIn: 0,
    packetsOut: 0,
    bpsIn: 0,
    bpsOut: 0,
    peakBpsIn: 0,
    peakBpsOut: 0,
    peakOver: "1m",
  };
}

/** The rank-th highest of the samples' bytes, 0 when fewer (what SeriesStore.sampleRank answers). */
function rankth(samples: readonly ByteSample[], rank: number) {
  const pick = (f: (s: ByteSample) => number) =>
    samples.map(f).sort((a, b) => b - a)[rank - 1] ?? 0;
  return { bytesIn: pick((s) => s.bytesIn), bytesOut: pick((s) => s.bytesOut) };
}

/** trafficSeries with the p95 the store would answer for the 5-minute samples given. */
function series(input: Omit<Parameters<typeof trafficSeries>[0], "p95">) {
  const five = input.fiveMinutes.filter((s) => s.timeMs >= input.fromMs && s.timeMs < input.toMs);
  const count = p95Count(input.fromMs, input.toMs, input.fiveMinutesFrom);
  return trafficSeries({ ...input, p95: count === 0 ? null : rankth(five, p95Rank(count)) });
}

describe("p95Rank", () => {
  it("picks the value percentile95 (aggregator/rollup.ts) gives, zeros padded", () => {
    const next = createRng(17);
    for (let i = 0; i < 500; i++) {
      const count = 1 + next.below(400);
      const stored = next.below(count + 1);
      const values = Array.from({ length: stored }, () => next.below(1000));
      const rank = p95Rank(count);
      const got = values.sort((a, b) => b - a)[rank - 1] ?? 0;
      expect(got).toBe(percentile95(values, count));
    }
    expect(p95Rank(105_120)).toBe(5_257);
    expect(p95Rank(1)).toBe(1);
    expect(p95Rank(20)).toBe(2);
  });
});

describe("trafficSeries", () => {
  it("step 1h: averages, peaks from the minutes, zero points for empty hours", () => {
    const s = series({
      fromMs: at(10),
      toMs: at(13),
      step: "1h",
      points: [
        { timeMs: at(10), bytesIn: 58_500, bytesOut: 27_000, packetsIn: 60, packetsOut: 30 },
        { timeMs: at(11), bytesIn: 90_000, bytesOut: 0, packetsIn: 90, packetsOut: 0 },
      ],
      minutes: [
        { timeMs: at(10, 0), bytesIn: 4_500, bytesOut: 0 },
        { timeMs: at(10, 1), bytesIn: 9_000, bytesOut: 0 },
        { timeMs: at(10, 2), bytesIn: 0, bytesOut: 27_000 },
        { timeMs: at(10, 7), bytesIn: 45_000, bytesOut: 0 },
        { timeMs: at(11, 30), bytesIn: 90_000, bytesOut: 0 },
      ],
      fiveMinutes: [
        { timeMs: at(10, 0), bytesIn: 13_500, bytesOut: 27_000 },
        { timeMs: at(10, 5), bytesIn: 45_000, bytesOut: 0 },
        { timeMs: at(11, 30), bytesIn: 90_000, bytesOut: 0 },
      ],
    });
    expect(s.points).toEqual([
      {
        timeMs: at(10),
        bytesIn: 58_500,
        bytesOut: 27_000,
        packetsIn: 60,
        packetsOut: 30,
        bpsIn: 130, // 58 500 B × 8 / 3600 s
        bpsOut: 60, // 27 000 × 8 / 3600
        peakBpsIn: 6_000, // minute 10:07: 45 000 × 8 / 60
        peakBpsOut: 3_600, // minute 10:02: 27 000 × 8 / 60
        peakOver: "1m",
      },
      {
        timeMs: at(11),
        bytesIn: 90_000,
        bytesOut: 0,
        packetsIn: 90,
        packetsOut: 0,
        bpsIn: 200, // 90 000 × 8 / 3600
        bpsOut: 0,
        peakBpsIn: 12_000, // 90 000 × 8 / 60
        peakBpsOut: 0,
        peakOver: "1m",
      },
      zero(at(12)),
    ]);
    // 36 five-minute periods, rank ceil(0.95 × 36) = 35: 33 zeros then 360, 1200, 2400 → 1200.
    expect(s.p95BpsIn).toBe(1_200);
    // Out: 35 zeros then 720 (27 000 × 8 / 300) → rank 35 is a zero.
    expect(s.p95BpsOut).toBe(0);
  });

  it("pads the 95th percentile with zeros for 5-minute periods without traffic", () => {
    const fiveMinutes = [
      { timeMs: at(10, 0), bytesIn: 13_500, bytesOut: 0 }, // 360 bit/s
      { timeMs: at(10, 5), bytesIn: 45_000, bytesOut: 0 }, // 1200 bit/s
      { timeMs: at(11, 30), bytesIn: 90_000, bytesOut: 0 }, // 2400 bit/s
    ];
    const upTo = (toMs: number) =>
      series({ fromMs: at(10), toMs, step: "1h", points: [], minutes: [], fiveMinutes });
    // 2 hours: 24 periods, rank 23; 21 zeros, so the 2nd of 360, 1200, 2400. Without the zeros
    // the rank would be ceil(0.95 × 3) = 3: 2400.
    expect(upTo(at(12)).p95BpsIn).toBe(1_200);
    // A day from 10:00: 168 periods, rank 160, all zeros below rank 165.
    expect(upTo(at(24)).p95BpsIn).toBe(0);
  });

  it("takes the nearest rank when every period has traffic", () => {
    // 20 periods (10:00-11:40), the k-th at k × 100 bit/s = k × 3750 bytes; rank 19 → 1900.
    const fiveMinutes = Array.from({ length: 20 }, (_, k) => ({
      timeMs: at(10, 5 * k),
      bytesIn: (k + 1) * 3_750,
      bytesOut: 3_750,
    }));
    const s = series({
      fromMs: at(10),
      toMs: at(10, 100),
      step: "1m",
      points: [],
      minutes: [],
      fiveMinutes,
    });
    expect(s.p95BpsIn).toBe(1_900);
    expect(s.p95BpsOut).toBe(100);
    expect(s.points).toHaveLength(100);
  });

  it("step 1m: the peak is the point's own rate; minutes are not needed", () => {
    const s = series({
      fromMs: at(10, 1),
      toMs: at(10, 4),
      step: "1m",
      points: [{ timeMs: at(10, 2), bytesIn: 750, bytesOut: 1_500, packetsIn: 3, packetsOut: 4 }],
      minutes: [{ timeMs: at(10, 2), bytesIn: 999_999, bytesOut: 999_999 }],
      fiveMinutes: [],
    });
    expect(s.points).toEqual([
      zero(at(10, 1)),
      {
        timeMs: at(10, 2),
        bytesIn: 750,
        bytesOut: 1_500,
        packetsIn: 3,
        packetsOut: 4,
        bpsIn: 100, // 750 × 8 / 60
        bpsOut: 200,
        peakBpsIn: 100,
        peakBpsOut: 200,
        peakOver: "1m",
      },
      zero(at(10, 3)),
    ]);
    // 10:01-10:04 holds no 5-minute period start.
    expect(s.p95BpsIn).toBeNull();
    expect(s.p95BpsOut).toBeNull();
  });

  it("step 5m: a point per 95th-percentile sample, its peak the busiest of its minutes", () => {
    const s = series({
      fromMs: at(10),
      toMs: at(10, 15),
      step: "5m",
      points: [
        { timeMs: at(10, 0), bytesIn: 13_500, bytesOut: 0, packetsIn: 15, packetsOut: 0 },
        { timeMs: at(10, 10), bytesIn: 45_000, bytesOut: 3_000, packetsIn: 50, packetsOut: 2 },
      ],
      minutes: [
        { timeMs: at(10, 0), bytesIn: 4_500, bytesOut: 0 },
        { timeMs: at(10, 1), bytesIn: 9_000, bytesOut: 0 },
        { timeMs: at(10, 12), bytesIn: 45_000, bytesOut: 3_000 },
      ],
      fiveMinutes: [
        { timeMs: at(10, 0), bytesIn: 13_500, bytesOut: 0 },
        { timeMs: at(10, 10), bytesIn: 45_000, bytesOut: 3_000 },
      ],
    });
    expect(s.points).toEqual([
      {
        timeMs: at(10, 0),
        bytesIn: 13_500,
        bytesOut: 0,
        packetsIn: 15,
        packetsOut: 0,
        bpsIn: 360, // 13 500 × 8 / 300
        bpsOut: 0,
        peakBpsIn: 1_200, // minute 10:01: 9 000 × 8 / 60
        peakBpsOut: 0,
        peakOver: "1m",
      },
      zero(at(10, 5)),
      {
        timeMs: at(10, 10),
        bytesIn: 45_000,
        bytesOut: 3_000,
        packetsIn: 50,
        packetsOut: 2,
        bpsIn: 1_200,
        bpsOut: 80,
        peakBpsIn: 6_000, // 45 000 × 8 / 60
        peakBpsOut: 400,
        peakOver: "1m",
      },
    ]);
    // Three samples: 360, 0, 1200; rank ceil(0.95 × 3) = 3 → 1200. Out: 0, 0, 80 → 80.
    expect([s.p95BpsIn, s.p95BpsOut]).toEqual([1_200, 80]);
  });

  it("step 5m: older than the minutes' retention, the peak is the point's own rate", () => {
    const s = series({
      fromMs: at(10),
      toMs: at(10, 10),
      step: "5m",
      points: [
        { timeMs: at(10, 0), bytesIn: 3_000, bytesOut: 0, packetsIn: 3, packetsOut: 0 },
        { timeMs: at(10, 5), bytesIn: 6_000, bytesOut: 0, packetsIn: 6, packetsOut: 0 },
      ],
      minutes: [{ timeMs: at(10, 6), bytesIn: 6_000, bytesOut: 0 }],
      fiveMinutes: [
        { timeMs: at(10, 0), bytesIn: 3_000, bytesOut: 0 },
        { timeMs: at(10, 5), bytesIn: 6_000, bytesOut: 0 },
      ],
      minutesFrom: at(10, 5),
    });
    expect(s.points.map((p) => [p.peakOver, p.bpsIn, p.peakBpsIn])).toEqual([
      ["5m", 80, 80], // 3 000 × 8 / 300, no minutes left
      ["1m", 160, 800], // minute 10:06: 6 000 × 8 / 60
    ]);
  });

  it("step 1d: UTC days, the peak minute of each day", () => {
    const s = series({
      fromMs: T0,
      toMs: T0 + 2 * DAY,
      step: "1d",
      points: [{ timeMs: T0 + DAY, bytesIn: 864_000, bytesOut: 0, packetsIn: 1, packetsOut: 0 }],
      minutes: [
        { timeMs: T0 + DAY + 5 * MIN, bytesIn: 600_000, bytesOut: 0 },
        { timeMs: T0 + DAY + 9 * MIN, bytesIn: 264_000, bytesOut: 0 },
      ],
      fiveMinutes: [{ timeMs: T0 + DAY + 5 * MIN, bytesIn: 864_000, bytesOut: 0 }],
    });
    expect(s.points).toEqual([
      zero(T0),
      {
        timeMs: T0 + DAY,
        bytesIn: 864_000,
        bytesOut: 0,
        packetsIn: 1,
        packetsOut: 0,
        bpsIn: 80, // 864 000 × 8 / 86 400
        bpsOut: 0,
        peakBpsIn: 80_000, // 600 000 × 8 / 60
        peakBpsOut: 0,
        peakOver: "1m",
      },
    ]);
    // 576 periods, one non-zero: rank 548 is a zero.
    expect(s.p95BpsIn).toBe(0);
  });

  it("ignores rows outside the range", () => {
    const s = series({
      fromMs: at(10),
      toMs: at(11),
      step: "1h",
      points: [{ timeMs: at(11), bytesIn: 1, bytesOut: 1, packetsIn: 1, packetsOut: 1 }],
      minutes: [{ timeMs: at(9, 59), bytesIn: 100, bytesOut: 100 }],
      fiveMinutes: [{ timeMs: at(11), bytesIn: 1e9, bytesOut: 1e9 }],
    });
    expect(s.points).toEqual([zero(at(10))]);
    expect(s.p95BpsIn).toBe(0);
  });
});

describe("sampleCount", () => {
  it("counts the 5-minute period starts in [from, to)", () => {
    expect(sampleCount(at(10), at(11))).toBe(12);
    expect(sampleCount(at(10, 1), at(10, 9))).toBe(1); // 10:05
    expect(sampleCount(at(10, 1), at(10, 5))).toBe(0);
    expect(sampleCount(at(10, 1), at(10, 6))).toBe(1);
    expect(sampleCount(at(10), at(10))).toBe(0);
  });
});

describe("trafficRangeProblem", () => {
  it("accepts whole periods of the step", () => {
    expect(trafficRangeProblem(at(10, 1), at(10, 2), "1m")).toBeUndefined();
    expect(trafficRangeProblem(at(10), at(10) + MAX_POINTS * MIN, "1m")).toBeUndefined();
    expect(trafficRangeProblem(T0, T0 + 366 * DAY, "1d")).toBeUndefined();
  });

  it("refuses bounds off the step's boundaries, naming both neighbours", () => {
    expect(trafficRangeProblem(at(10, 30), at(12), "1h")).toEqual({
      parameter: "from",
      message:
        "from 2026-11-22T10:30:00Z is not on a 1h boundary (UTC) as step=1h needs; use 2026-11-22T10:00:00Z or 2026-11-22T11:00:00Z",
    });
    expect(trafficRangeProblem(T0, T0 + DAY + HOUR, "1d")?.parameter).toBe("to");
    expect(trafficRangeProblem(at(10, 3), at(11), "5m")?.message).toBe(
      "from 2026-11-22T10:03:00Z is not on a 5m boundary (UTC) as step=5m needs; use 2026-11-22T10:00:00Z or 2026-11-22T10:05:00Z",
    );
  });

  it("refuses empty, reversed and too long ranges", () => {
    expect(trafficRangeProblem(at(10), at(10), "1h")?.parameter).toBe("to");
    expect(trafficRangeProblem(at(11), at(10), "1h")?.parameter).toBe("to");
    expect(trafficRangeProblem(at(10), at(10) + (MAX_POINTS + 1) * MIN, "1m")).toEqual({
      parameter: "step",
      message:
        "range too long for step 1m: 10001 points, at most 10000; use step=1h or a shorter range",
    });
    expect(trafficRangeProblem(at(10), at(10) + (MAX_POINTS + 1) * 5 * MIN, "5m")?.message).toBe(
      "range too long for step 5m: 10001 points, at most 10000; use step=1h or a shorter range",
    );
    expect(trafficRangeProblem(T0, T0 + 367 * DAY, "1d")?.message).toMatch(/more than 366 days/);
    expect(trafficRangeProblem(T0, T0 + 367 * DAY, "1h")?.message).toMatch(/more than 366 days/);
  });
});

describe("trafficSeries after retention pruned the fine rows", () => {
  it("takes peaks from 5-minute rows, then from the point itself, and gives no p95", () => {
    const minute = (h: number, m: number, bytesIn: number) => ({
      timeMs: at(h, m),
      bytesIn,
      bytesOut: 0,
    });
    const s = series({
      fromMs: at(10),
      toMs: at(13),
      step: "1h",
      points: [
        { timeMs: at(10), bytesIn: 60_000, bytesOut: 0, packetsIn: 60, packetsOut: 0 },
        { timeMs: at(11), bytesIn: 60_000, bytesOut: 0, packetsIn: 60, packetsOut: 0 },
        { timeMs: at(12), bytesIn: 60_000, bytesOut: 0, packetsIn: 60, packetsOut: 0 },
      ],
      // What the store still has: minutes from 12:00, 5-minute periods from 11:00.
      minutes: [minute(12, 3, 45_000), minute(12, 4, 15_000)],
      fiveMinutes: [minute(11, 10, 30_000), minute(11, 20, 30_000), minute(12, 0, 60_000)],
      minutesFrom: at(12),
      fiveMinutesFrom: at(11),
    });
    expect(s.points.map((p) => [p.peakOver, p.peakBpsIn])).toEqual([
      ["1h", (60_000 * 8) / 3600], // 10:00: only the hour's own average is left
      ["5m", (30_000 * 8) / 300], // 11:00: the highest 5-minute rate
      ["1m", (45_000 * 8) / 60], // 12:00: the highest minute
    ]);
    expect([s.p95BpsIn, s.p95BpsOut]).toEqual([null, null]);
  });
});
