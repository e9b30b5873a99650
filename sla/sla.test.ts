import { describe, expect, it } from "vitest";
import {
  billingPeriod,
  billSamples,
  commitCompliance,
  projectPeriod,
  WINDOW_MS,
  type WindowBytes,
} from "./commit-rate.js";
import {
  addMinute,
  addSums,
  compliantShare,
  emptySums,
  goodShare,
  incidents,
  judgeMinute,
  type SlaMinute,
} from "./compliance.js";
import { type ClassLevel, levelAt, levelPeriods, withLevel } from "./profiles.js";
import { classReport } from "./report.js";

const T0 = Date.UTC(2026, 10, 1);
const MIN = 60_000;

describe("a minute's verdict", () => {
  it("compares the share of good transactions with the target exactly, in integers", () => {
    expect(judgeMinute(100, 7, 7)).toBe("compliant"); // 0.07 × 100 = 7.000000000000001 in doubles
    expect(judgeMinute(100, 6, 7)).toBe("breach");
    expect(judgeMinute(20, 19, 95)).toBe("compliant");
    expect(judgeMinute(20, 18, 95)).toBe("breach");
    // 2 of 3 is 66.666…%: it meets 66.666 and misses 66.667.
    expect(judgeMinute(3, 2, 66.666)).toBe("compliant");
    expect(judgeMinute(3, 2, 66.667)).toBe("breach");
    expect(judgeMinute(5, 0, 0)).toBe("compliant");
  });

  it("a minute without transactions, or without an SLA in force, is no data, never 100 %", () => {
    expect(judgeMinute(0, 0, 95)).toBe("no-data");
    expect(judgeMinute(10, 10, undefined)).toBe("no-data");
  });
});

describe("a period's sums", () => {
  const m = (k: number, transactions: number, good: number, targetPercent?: number): SlaMinute => ({
    startMs: T0 + k * MIN,
    transactions,
    good,
    targetPercent,
  });

  it("add counts and minutes; the good share is weighted by transactions, not averaged", () => {
    const a = addMinute(addMinute(emptySums(), m(0, 10, 10, 90)), m(1, 1000, 500, 90));
    const b = addMinute(addMinute(emptySums(), m(2, 0, 0, 90)), m(3, 40, 39, undefined));
    const total = addSums(addSums(emptySums(), a), b);
    expect(total).toEqual({
      transactions: 1050,
      good: 549,
      compliantMinutes: 1,
      breachMinutes: 1,
      noDataMinutes: 2,
    });
    expect(goodShare(a)).toBe(510 / 1010); // not (100 % + 50 %) / 2
    expect(compliantShare(total)).toBe(0.5);
    expect(goodShare(emptySums())).toBeNull();
    expect(compliantShare(b)).toBeNull();
  });

  it("incidents merge consecutive breach minutes; compliance, no data or a gap ends one", () => {
    const minutes = [
      m(0, 100, 100, 95), // compliant
      m(1, 100, 50, 95), // breach 0.5
      m(2, 100, 20, 95), // breach 0.2: the worst
      m(3, 0, 0, 95), // no data
      m(4, 100, 90, 95), // breach 0.9
      // minute 5 missing
      m(6, 10, 1, 95), // breach 0.1
      m(7, 10, 1, 95), // breach 0.1, equal: the first stays the worst
    ];
    expect(incidents(minutes)).toEqual([
      {
        startMs: T0 + MIN,
        endMs: T0 + 3 * MIN,
        minutes: 2,
        worstMinuteMs: T0 + 2 * MIN,
        worstShare: 0.2,
      },
      {
        startMs: T0 + 4 * MIN,
        endMs: T0 + 5 * MIN,
        minutes: 1,
        worstMinuteMs: T0 + 4 * MIN,
        worstShare: 0.9,
      },
      {
        startMs: T0 + 6 * MIN,
        endMs: T0 + 8 * MIN,
        minutes: 2,
        worstMinuteMs: T0 + 6 * MIN,
        worstShare: 0.1,
      },
    ]);
  });
});

describe("versioned levels", () => {
  const v1: ClassLevel = { fromMs: T0, thresholdMs: 200, targetPercent: 95 };
  const v2: ClassLevel = { fromMs: T0 + 60 * MIN, thresholdMs: 150, targetPercent: 99 };
  const history = withLevel(withLevel([], v1), v2);

  it("a time is judged by the level in force then, and by none before the first", () => {
    expect(levelAt(history, T0 - 1)).toBeUndefined();
    expect(levelAt(history, T0)).toBe(v1);
    expect(levelAt(history, T0 + 60 * MIN - 1)).toBe(v1);
    expect(levelAt(history, T0 + 60 * MIN)).toBe(v2);
    expect(levelAt(history, T0 + 1e12)).toBe(v2);
  });

  it("history is never rewritten; the same values add no version", () => {
    expect(() => withLevel(history, { ...v1, fromMs: T0 + 30 * MIN })).toThrow(/rewrite history/);
    expect(withLevel(history, { ...v2, fromMs: T0 + 90 * MIN })).toBe(history);
  });

  it("a range is split where the level changed", () => {
    expect(levelPeriods(history, T0 - 10 * MIN, T0 + 2 * 60 * MIN)).toEqual([
      { fromMs: T0 - 10 * MIN, toMs: T0, level: undefined },
      { fromMs: T0, toMs: T0 + 60 * MIN, level: v1 },
      { fromMs: T0 + 60 * MIN, toMs: T0 + 120 * MIN, level: v2 },
    ]);
    expect(levelPeriods(history, T0 + 5 * MIN, T0 + 6 * MIN)).toEqual([
      { fromMs: T0 + 5 * MIN, toMs: T0 + 6 * MIN, level: v1 },
    ]);
  });
});

describe("commit-rate compliance of a bill", () => {
  // A hand-checked table: 20 windows (100 minutes). 37.5 MB in 5 minutes is 1 Mbit/s,
  // 3.75 MB is 100 kbit/s. Link a peaks in windows 0 and 1, link b in windows 2 and 3.
  const MB = 1_000_000;
  const link = (peaks: number[]): WindowBytes[] =>
    Array.from({ length: 20 }, (_, k) => ({
      startMs: T0 + k * WINDOW_MS,
      bytesIn: peaks.includes(k) ? 37.5 * MB : 3.75 * MB,
      bytesOut: 1 * MB,
    }));
  const a = link([0, 1]);
  const b = link([2, 3]);

  it("sums the links per window before the percentile", () => {
    // Per window: 1.1 Mbit/s in windows 0–3, 200 kbit/s in the 16 others. Nearest rank of 20
    // samples: the 19th smallest, the second largest: 1.1 Mbit/s. (Each link's own p95 is
    // 1 Mbit/s: their sum, 2 Mbit/s, would bill twice the peak that ever happened.)
    const samples = billSamples([a, b], "in");
    expect(samples.size).toBe(20);
    expect(samples.get(T0)).toBe(1_100_000);
    expect(samples.get(T0 + 10 * WINDOW_MS)).toBe(200_000);
    expect(commitCompliance(samples, 20, 1_000_000)).toEqual({
      p95Bps: 1_100_000,
      commitRateBps: 1_000_000,
      excessBps: 100_000,
      compliant: false,
      windows: 20,
      windowsAbove: 4,
    });
    expect(commitCompliance(samples, 20, 1_100_000).compliant).toBe(true);
  });

  it("judges max(in, out), in, out or in + out", () => {
    const w: WindowBytes[] = [{ startMs: T0, bytesIn: 3 * MB, bytesOut: 7.5 * MB }];
    // 3 MB = 80 kbit/s in, 7.5 MB = 200 kbit/s out.
    expect(billSamples([w], "in").get(T0)).toBe(80_000);
    expect(billSamples([w], "out").get(T0)).toBe(200_000);
    expect(billSamples([w], "max").get(T0)).toBe(200_000);
    expect(billSamples([w], "sum").get(T0)).toBe(280_000);
  });

  it("windows without traffic count as 0", () => {
    // 4 samples of 1.1 Mbit/s in a 100-window period: rank 95, 96 zeros: the percentile is 0.
    const peaks = new Map([0, 1, 2, 3].map((k) => [T0 + k * WINDOW_MS, 1_100_000]));
    expect(commitCompliance(peaks, 100, 1_000_000)).toMatchObject({ p95Bps: 0, compliant: true });
    expect(commitCompliance(peaks, 4, 1_000_000).p95Bps).toBe(1_100_000);
  });

  it("projects the period: as so far, its floor, and the bursts left", () => {
    const samples = billSamples([a, b], "in");
    // A 30-day month has 8640 windows: 432 may be above the rate (8640 − ⌈0.95 × 8640⌉); 4 were.
    expect(projectPeriod(samples, 20, 8640, 1_000_000)).toEqual({
      projectedP95Bps: 1_100_000,
      floorP95Bps: 0,
      burstWindowsLeft: 428,
    });
  });

  it("billing periods run from the billing day to the same day of the next month, in UTC", () => {
    const at = (s: string) => Date.parse(s);
    expect(billingPeriod(at("2026-03-10T12:00:00Z"), 15)).toEqual({
      fromMs: at("2026-02-15T00:00:00Z"),
      toMs: at("2026-03-15T00:00:00Z"),
    });
    expect(billingPeriod(at("2026-03-15T00:00:00Z"), 15).fromMs).toBe(at("2026-03-15T00:00:00Z"));
    expect(billingPeriod(at("2026-01-05T00:00:00Z"), 15)).toEqual({
      fromMs: at("2025-12-15T00:00:00Z"),
      toMs: at("2026-01-15T00:00:00Z"),
    });
    expect(billingPeriod(at("2026-12-31T23:59:59Z"), 1)).toEqual({
      fromMs: at("2026-12-01T00:00:00Z"),
      toMs: at("2027-01-01T00:00:00Z"),
    });
    expect(() => billingPeriod(0, 31)).toThrow(/billing day 31 is not 1–28/);
  });
});

describe("a class's report", () => {
  const v1: ClassLevel = { fromMs: T0, thresholdMs: 200, targetPercent: 90 };
  const v2: ClassLevel = { fromMs: T0 + 3 * MIN, thresholdMs: 100, targetPercent: 99 };
  const history = withLevel(withLevel([], v1), v2);
  const row = (k: number, transactions: number, good: number) => ({
    startMs: T0 + k * MIN,
    transactions,
    good,
  });

  it("sums the links per minute, judges each minute by the level then, and counts the rest as no data", () => {
    const rows = [
      // Minute 0: two links, 9 of 10 together: 90 % meets v1's 90 %.
      row(0, 4, 4),
      row(0, 6, 5),
      // Minute 1: 8 of 10 misses 90 %.
      row(1, 10, 8),
      // Minute 2: no row. Minute 3: 98 of 100 meets 90 % but v2 (99 %) is in force: a breach.
      row(3, 100, 98),
      // Minute 4: 100 of 100.
      row(4, 100, 100),
      // Outside [T0, T0 + 6 min): ignored.
      row(6, 1000, 0),
      row(-1, 1000, 0),
    ];
    const r = classReport(rows, history, T0, T0 + 6 * MIN);
    expect(r).toMatchObject({
      threshold: 100,
      targetPercent: 99,
      transactions: 220,
      good: 215,
      goodShare: 215 / 220,
      minutes: 6,
      compliantMinutes: 2,
      breachMinutes: 2,
      noDataMinutes: 2,
      compliantShare: 0.5,
      estimated: false,
    });
    expect(r.levels).toEqual([
      { fromMs: T0, toMs: T0 + 3 * MIN, level: v1 },
      { fromMs: T0 + 3 * MIN, toMs: T0 + 6 * MIN, level: v2 },
    ]);
    // Minutes 1 and 3 are not consecutive (minute 2 had no data): two incidents.
    expect(r.incidents.map((i) => [i.startMs, i.minutes, i.worstShare])).toEqual([
      [T0 + MIN, 1, 0.8],
      [T0 + 3 * MIN, 1, 0.98],
    ]);
  });

  it("a range of partial minutes covers only its whole minutes; an empty one has no data", () => {
    const r = classReport([row(0, 10, 10)], history, T0 + 1, T0 + 2 * MIN + 5);
    expect([r.minutes, r.transactions, r.noDataMinutes]).toEqual([1, 0, 1]);
    expect(r.goodShare).toBeNull();
    const empty = classReport([], [], T0, T0 + 60 * MIN);
    expect(empty).toMatchObject({
      threshold: undefined,
      minutes: 60,
      noDataMinutes: 60,
      compliantShare: null,
    });
  });
});
