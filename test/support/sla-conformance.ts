/**
 * The SLA series' conformance suite (sla/series.ts, docs/series-schema.md#sla-series): the same
 * cases and hand-computed expectations against every SeriesStore, which derives the SLA rows
 * from the 1-minute response rows it holds after each write (adds, late corrections and
 * absolute rewrites alike). Run by store/duckdb-store.test.ts and store/influx-store.test.ts.
 */
import { describe, expect, it } from "vitest";
import { breachIncidents } from "../../query/sla-breaches.js";
import { classSla, rowsByClass } from "../../query/sla-report.js";
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

    it("breach list: every customer's incidents at once, the links summed, each minute by its level", async () => {
      // 30 customers of two links; minutes 0–8 measured under 95 % / 200 ms, 9–14 under 50 % /
      // 300 ms (and link a's minute 9 of every 7th customer under the first); every minute of
      // every link 100 of 100 good, except (per customer k, the expected incidents by hand):
      // - k % 3 = 0: link a 10, 0, 20 of 100 in minutes 2, 3, 4: summed 55 %, 50 %, 60 % below
      //   95 %: one incident [2, 5), the worst minute 3 (0.5);
      // - k % 3 = 1: link a 90 of 100 in minute 5 (a breach row) but 190 of 200 summed is 95 %:
      //   compliant, no incident;
      // - k % 5 = 0: both links 0 of 100 in minute 10 (0 %), 10 and 20 of 100 in minute 12
      //   (15 %), minute 11 compliant between: two incidents [10, 11) and [12, 13);
      // - k % 7 = 0: link a 50 of 100 in minute 9 measured under 95 % (a breach row), link b
      //   under 50 %: 75 % summed, judged by the level of the minute's last row (b: 50 %),
      //   compliant;
      // - k even: both links 60 of 100 in minute 13: a breach at 95 %, compliant at the 50 % then;
      // - k = 29: 0 of 100 in minute 20, outside the range;
      // - class bulk (no level) 0 of 100 every minute: never a breach.
      // Every incident carries the level at the end of the range: 300 ms, 50 %.
      let level: CurrentLevel = { thresholdMs: 200, targetPercent: 95 };
      const store = await options.open((c) => (c === "web" ? level : undefined));
      const m = (k: number) => T0 + k * MINUTE;
      const customer = (k: number) => `c${String(k).padStart(2, "0")}`;
      const good = (k: number, link: string, t: number): number => {
        if (k % 3 === 0 && link === "a" && t >= 2 && t <= 4) return [10, 0, 20][t - 2]!;
        if (k % 3 === 1 && link === "a" && t === 5) return 90;
        if (k % 5 === 0 && t === 10) return 0;
        if (k % 5 === 0 && t === 12) return link === "a" ? 10 : 20;
        if (k % 7 === 0 && link === "a" && t === 9) return 50;
        if (k % 2 === 0 && t === 13) return 60;
        if (k === 29 && t === 20) return 0;
        return 100;
      };
      const rows = (
        minutes: readonly number[],
        links: readonly string[],
        only: (k: number) => boolean,
      ): ResponseTimeRowDelta[] => {
        const out: ResponseTimeRowDelta[] = [];
        for (let k = 0; k < 30; k++) {
          if (!only(k)) continue;
          for (const t of minutes) {
            for (const link of links) {
              out.push(minute(m(t), link, "web", 100, good(k, link, t), customer(k)));
              out.push(minute(m(t), link, "bulk", 100, 0, customer(k)));
            }
          }
        }
        return out;
      };
      const span = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
      await store.addResponseTimes(rows(span(0, 9), ["a", "b"], () => true));
      await store.addResponseTimes(rows([9], ["a"], (k) => k % 7 === 0));
      level = { thresholdMs: 300, targetPercent: 50 };
      await store.addResponseTimes(rows([9], ["a"], (k) => k % 7 !== 0));
      await store.addResponseTimes(rows([9, ...span(10, 15)], ["b"], () => true));
      await store.addResponseTimes(rows(span(10, 15), ["a"], () => true));
      await store.addResponseTimes(rows([20], ["a"], (k) => k === 29));

      const iso = (t: number) => new Date(m(t)).toISOString().replace(".000Z", "Z");
      const expected: Array<Record<string, unknown>> = [];
      const incident = (k: number, from: number, to: number, worst: number, share: number) =>
        expected.push({
          customer: customer(k),
          class: "web",
          threshold: 300,
          target: 50,
          start: iso(from),
          end: iso(to),
          minutes: to - from,
          worstMinute: iso(worst),
          worstShare: share,
        });
      for (let k = 0; k < 30; k++) {
        if (k % 3 === 0) incident(k, 2, 5, 3, 0.5);
        if (k % 5 === 0) {
          incident(k, 10, 11, 10, 0);
          incident(k, 12, 13, 12, 0.15);
        }
      }
      expected.sort((a, b) =>
        a.start === b.start ? 0 : String(a.start) < String(b.start) ? -1 : 1,
      );
      const got = breachIncidents(
        await store.slaBreachMinutes({ fromMs: T0, toMs: m(15) }),
        () => undefined,
      );
      expect(got).toEqual(expected);
      expect(got).toHaveLength(10 + 12);
      // The same as the customer's report makes of all its rows (the list's first version).
      const all = await store.slaRows({ fromMs: T0, toMs: m(15), level: "1m" });
      const perCustomer = [...rowsByClass(all.filter((r) => r.trafficClass === "web"))].flatMap(
        ([c, list]) => {
          const byCustomer = new Map<string, SlaRow[]>();
          for (const r of list)
            byCustomer.set(r.customer, [...(byCustomer.get(r.customer) ?? []), r]);
          return [...byCustomer].flatMap(([k, mine]) =>
            classSla(c, mine, T0, m(15), undefined).incidents.map((i) => ({ customer: k, ...i })),
          );
        },
      );
      expect(
        got
          .map(({ customer: k, start, end, minutes, worstMinute, worstShare }) => ({
            customer: k,
            start,
            end,
            minutes,
            worstMinute,
            worstShare,
          }))
          .sort((a, b) => (a.customer + a.start < b.customer + b.start ? -1 : 1)),
      ).toEqual(perCustomer.sort((a, b) => (a.customer + a.start < b.customer + b.start ? -1 : 1)));
      // A range without a breach row: nothing.
      const none = await store.slaBreachMinutes({ fromMs: m(15), toMs: m(20) });
      expect(none).toEqual({ classes: [], minutes: [] });
    });
  });
}
