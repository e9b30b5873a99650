/**
 * The SLA series' conformance suite (sla/series.ts, docs/series-schema.md#sla-series): the same
 * cases and hand-computed expectations against every SeriesStore, which derives the SLA rows
 * from the 1-minute response rows it holds after each write (adds, late corrections and
 * absolute rewrites alike). Run by store/duckdb-store.test.ts and store/influx-store.test.ts.
 */
import { describe, expect, it } from "vitest";
import {
  type ResponseTimeRowDelta,
  type SeriesStore,
  type SlaRow,
  zeroResponseTimeCounters,
} from "../../schema/series-store.js";
import type { CurrentLevel, LevelLookup } from "../../sla/config-levels.js";
import { T0 as DEFAULT_T0, isoDay } from "./store-conformance.js";

const MINUTE = 60_000;
const DAY = 86_400_000;

export interface SlaConformanceOptions {
  /** A new, empty store, started, that reads each class's level from `slaLevel`. */
  open(slaLevel: LevelLookup): Promise<SeriesStore>;
  t0?: number;
}

/** One response-time row of 1 minute: only transactions and good matter to the SLA. */
function minute(
  t: number,
  link: string,
  trafficClass: string,
  transactions: number,
  good: number,
  customer = "acme",
): ResponseTimeRowDelta {
  return {
    ...zeroResponseTimeCounters(),
    level: "1m",
    startMs: t,
    customer,
    site: "s1",
    link,
    trafficClass,
    transactions,
    good,
    totalDelaySumUs: transactions * 1000,
    bins: transactions === 0 ? [] : [[100, transactions]],
  };
}

/** The counters of rows, keyed "link/class@minute" (minutes from t0). */
function table(rows: readonly SlaRow[], t0: number) {
  return Object.fromEntries(
    rows.map((r) => [
      `${r.link}/${r.trafficClass}@${(r.startMs - t0) / MINUTE}`,
      [
        r.transactions,
        r.good,
        r.compliantMinutes,
        r.breachMinutes,
        r.noDataMinutes,
        ...(r.level === "1m" ? [r.targetPercent ?? null, r.thresholdMs ?? null] : []),
      ],
    ]),
  );
}

export function describeSlaConformance(name: string, options: SlaConformanceOptions): void {
  const T0 = options.t0 ?? DEFAULT_T0;
  describe(`${name}: SLA series, fixtures from ${isoDay(T0)}`, () => {
    it("judges each minute by its stored totals, re-judges corrections, and rolls up counts", async () => {
      const levels = new Map<string, CurrentLevel>([
        ["web", { thresholdMs: 200, targetPercent: 95 }],
      ]);
      const store = await options.open((c) => levels.get(c));
      const m = (k: number) => T0 + k * MINUTE;
      // Minute 0: link a 10 of 10 good (compliant), link b 500 of 1000 (breach); "bulk" has no
      // SLA (no data).
      await store.addResponseTimes([
        minute(m(0), "a", "web", 10, 10),
        minute(m(0), "b", "web", 1000, 500),
        minute(m(0), "a", "bulk", 5, 0),
      ]);
      // Minute 1 of link a in three writes: 18 of 20 (90 %: breach), +2 of 2 (20 of 22, 90.9 %:
      // still a breach), +20 of 20 (40 of 42, 95.24 %: compliant).
      await store.addResponseTimes([minute(m(1), "a", "web", 20, 18)]);
      await store.addResponseTimes([minute(m(1), "a", "web", 2, 2)]);
      let rows = await store.slaRows({ fromMs: T0, toMs: T0 + DAY, level: "1m" });
      expect(table(rows, T0)).toEqual({
        "a/bulk@0": [5, 0, 0, 0, 1, null, null],
        "a/web@0": [10, 10, 1, 0, 0, 95, 200],
        "b/web@0": [1000, 500, 0, 1, 0, 95, 200],
        "a/web@1": [22, 20, 0, 1, 0, 95, 200],
      });
      // The target changes now: the minutes measured already keep 95 %, a new one gets 50 %.
      levels.set("web", { thresholdMs: 300, targetPercent: 50 });
      await store.addResponseTimes([
        minute(m(1), "a", "web", 20, 20),
        minute(m(7), "a", "web", 10, 6), // 60 %: compliant at 50 %, a breach at 95 %
      ]);
      rows = await store.slaRows({ fromMs: T0, toMs: T0 + DAY, level: "1m" });
      expect(table(rows, T0)).toMatchObject({
        "a/web@1": [42, 40, 1, 0, 0, 95, 200],
        "a/web@7": [10, 6, 1, 0, 0, 50, 300],
      });
      // 5 minutes: link a's web minutes 0 and 1 (10 + 42 transactions, 10 + 40 good, two
      // compliant minutes: the breach of minute 1 was taken back); minute 7 in the next period.
      const five = await store.slaRows({ fromMs: T0, toMs: T0 + DAY, level: "5m" });
      expect(table(five, T0)).toEqual({
        "a/bulk@0": [5, 0, 0, 0, 1],
        "a/web@0": [52, 50, 2, 0, 0],
        "b/web@0": [1000, 500, 0, 1, 0],
        "a/web@5": [10, 6, 1, 0, 0],
      });
      for (const level of ["1h", "1d"] as const) {
        const coarse = await store.slaRows({ fromMs: T0, toMs: T0 + DAY, level });
        expect(table(coarse, T0), level).toEqual({
          "a/bulk@0": [5, 0, 0, 0, 1],
          "a/web@0": [62, 56, 3, 0, 0],
          "b/web@0": [1000, 500, 0, 1, 0],
        });
      }
      // Filters: one class, breaches only, one customer.
      const breaches = await store.slaRows({
        fromMs: T0,
        toMs: T0 + DAY,
        level: "1m",
        customer: "acme",
        trafficClass: "web",
        breachesOnly: true,
      });
      expect(breaches.map((r) => `${r.link}@${(r.startMs - T0) / MINUTE}`)).toEqual(["b@0"]);
      expect(
        await store.slaRows({ fromMs: T0, toMs: T0 + DAY, level: "1m", customer: "other" }),
      ).toEqual([]);
    });

    it("absolute rewrites (scaled out) re-judge a minute without counting it twice; days split at midnight", async () => {
      const levels: LevelLookup = (c) =>
        c === "web" ? { thresholdMs: 100, targetPercent: 99.5 } : undefined;
      const store = await options.open(levels);
      const last = T0 + DAY - MINUTE;
      const next = T0 + DAY;
      // 199 of 200 is 99.5 %: exactly the target, compliant (integers, no rounding).
      await store.putResponseTimes([minute(last, "a", "web", 200, 199)]);
      await store.putResponseTimes([minute(last, "a", "web", 200, 199)]); // the same again
      await store.putResponseTimes([minute(next, "a", "web", 100, 99)]);
      // The running total of the next minute grows to 1000 of 994 (99.4 %): a breach.
      await store.putResponseTimes([minute(next, "a", "web", 1000, 994)]);
      const days = await store.slaRows({ fromMs: T0, toMs: T0 + 2 * DAY, level: "1d" });
      expect(
        days.map((r) => [
          (r.startMs - T0) / DAY,
          r.transactions,
          r.good,
          r.compliantMinutes,
          r.breachMinutes,
        ]),
      ).toEqual([
        [0, 200, 199, 1, 0],
        [1, 1000, 994, 0, 1],
      ]);
      const hours = await store.slaRows({ fromMs: T0, toMs: T0 + 2 * DAY, level: "1h" });
      expect(hours.map((r) => (r.startMs - T0) / MINUTE)).toEqual([23 * 60, 24 * 60]);
      // Purged with the customer's other series.
      await store.purgeCustomer("acme");
      expect(await store.slaRows({ fromMs: T0, toMs: T0 + 2 * DAY, level: "1m" })).toEqual([]);
    });
  });
}
