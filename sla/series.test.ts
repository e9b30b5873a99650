import { describe, expect, it } from "vitest";
import { type SlaMinuteState, slaMinuteUpdate, slaRollupDeltas, slaWrites } from "./series.js";

const T0 = Date.UTC(2026, 10, 1);
const MIN = 60_000;
const web = { thresholdMs: 200, targetPercent: 95 };
const key = { customer: "acme", site: "hq", link: "fiber", trafficClass: "web" };

describe("a minute's SLA row", () => {
  it("is judged from the stored totals, with the level now when first measured", () => {
    expect(slaMinuteUpdate(undefined, { transactions: 20, good: 19, estimated: 0 }, web)).toEqual({
      row: {
        transactions: 20,
        good: 19,
        estimated: 0,
        compliantMinutes: 1, // 19 / 20 = 95 %: exactly the target
        breachMinutes: 0,
        noDataMinutes: 0,
        thresholdMs: 200,
        targetPercent: 95,
      },
      delta: {
        transactions: 20,
        good: 19,
        estimated: 0,
        compliantMinutes: 1,
        breachMinutes: 0,
        noDataMinutes: 0,
      },
    });
  });

  it("a correction re-judges it and the delta moves the minute between counts", () => {
    const prev: SlaMinuteState = {
      transactions: 20,
      good: 19,
      estimated: 0,
      compliantMinutes: 1,
      breachMinutes: 0,
      noDataMinutes: 0,
      thresholdMs: 200,
      targetPercent: 95,
    };
    // 5 more, all bad: 19 of 25 = 76 %. The level now (50 %) does not apply to this minute.
    const u = slaMinuteUpdate(
      prev,
      { transactions: 25, good: 19, estimated: 3 },
      { thresholdMs: 500, targetPercent: 50 },
    );
    expect(u?.row).toMatchObject({ breachMinutes: 1, compliantMinutes: 0, targetPercent: 95 });
    expect(u?.delta).toEqual({
      transactions: 5,
      good: 0,
      estimated: 3,
      compliantMinutes: -1,
      breachMinutes: 1,
      noDataMinutes: 0,
    });
    // The same totals again change nothing.
    expect(slaMinuteUpdate(u!.row, { transactions: 25, good: 19, estimated: 3 }, web)?.delta).toBe(
      undefined,
    );
  });

  it("no transactions, or no SLA, is no data; a minute never measured has no row", () => {
    expect(slaMinuteUpdate(undefined, { transactions: 0, good: 0, estimated: 0 }, web)).toBe(
      undefined,
    );
    const none = slaMinuteUpdate(
      undefined,
      { transactions: 10, good: 10, estimated: 0 },
      undefined,
    );
    expect(none?.row).toEqual({
      transactions: 10,
      good: 10,
      estimated: 0,
      compliantMinutes: 0,
      breachMinutes: 0,
      noDataMinutes: 1,
    });
  });
});

describe("rollups", () => {
  it("a minute's change goes to its 5m, 1h and 1d periods", () => {
    const minute = T0 + 23 * 3_600_000 + 59 * MIN; // 23:59
    const d = {
      transactions: 1,
      good: 0,
      estimated: 0,
      compliantMinutes: 0,
      breachMinutes: 1,
      noDataMinutes: 0,
    };
    expect(slaRollupDeltas(key, minute, d).map((r) => [r.level, r.startMs - T0])).toEqual([
      ["5m", 23 * 3_600_000 + 55 * MIN],
      ["1h", 23 * 3_600_000],
      ["1d", 0],
    ]);
  });

  it("sums one batch's deltas per coarse row: counts add, shares are never averaged", () => {
    const minutes = [
      // 10 of 10 (compliant) and 500 of 1000 (breach) in one 5 minutes: 510 / 1010, one of each.
      { key, startMs: T0, prev: undefined, now: { transactions: 10, good: 10, estimated: 0 } },
      {
        key,
        startMs: T0 + MIN,
        prev: undefined,
        now: { transactions: 1000, good: 500, estimated: 0 },
      },
      // The next 5 minutes, same hour.
      {
        key,
        startMs: T0 + 5 * MIN,
        prev: undefined,
        now: { transactions: 4, good: 4, estimated: 0 },
      },
    ];
    const { minuteRows, coarse } = slaWrites(minutes, () => web);
    expect(minuteRows.map((r) => [r.startMs - T0, r.compliantMinutes, r.breachMinutes])).toEqual([
      [0, 1, 0],
      [MIN, 0, 1],
      [5 * MIN, 1, 0],
    ]);
    expect(
      coarse.map((r) => [
        r.level,
        r.startMs - T0,
        r.transactions,
        r.good,
        r.compliantMinutes,
        r.breachMinutes,
      ]),
    ).toEqual([
      ["5m", 0, 1010, 510, 1, 1],
      ["1h", 0, 1014, 514, 2, 1],
      ["1d", 0, 1014, 514, 2, 1],
      ["5m", 5 * MIN, 4, 4, 1, 0],
    ]);
  });
});
