/**
 * The store contract's conformance suite: the same cases, with the same expected values, run
 * against every SeriesStore (store/duckdb-store.test.ts, store/influx-store.test.ts), so that the
 * query layer gets the same answers whichever store it reads. Store-specific cases (files,
 * connections, what one backend cannot hold) stay in each store's own test file.
 */
import { describe, expect, it } from "vitest";
import {
  type SeriesKey,
  type SeriesLevel,
  type SeriesRowDelta,
  type SeriesStore,
  type TrafficDirection,
  zeroResponseTimeCounters,
} from "../../schema/series-store.js";
import { LEVEL_MS, tileRange } from "../../store/levels.js";
import { createRng } from "../fuzz/mutate.js";

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** A UTC midnight: the fixtures' date in every store test that does not say otherwise. */
export const T0 = Date.UTC(2026, 10, 1);
const DEFAULT_T0 = T0;

/**
 * Other dates the conformance suite runs its fixtures at (UTC midnights), so that an assumption
 * about the calendar (a server's retention, a `to` that defaults to now, pruning, a "late data"
 * window) fails in the suite rather than on the day the fixtures' age reaches it. Each store test
 * runs the suite at T0 and at these; a store that cannot hold a date says so where it leaves it
 * out (VictoriaMetrics refuses points more than two days ahead of its clock).
 */
export const CALENDAR_T0S = {
  /** 27 years before T0, and across the change of millennium: today's fixtures in 2053. */
  past: Date.UTC(1999, 11, 31),
  /** The cases span days across 2^31 seconds after 1970 (2038-01-19T03:14:08Z). */
  y2038: Date.UTC(2038, 0, 18),
  /** Across 28 February of a year that is not a leap year though divisible by 4. */
  y2100: Date.UTC(2100, 1, 27),
} as const;

/** "2026-11-01" for T0: how the suite names the date it runs at. */
export function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** One 1-minute delta written at every level, as the aggregator's Rollup does. */
export function atAllLevels(
  key: SeriesKey,
  minuteMs: number,
  bytes: number,
  packets: number,
  flows: number,
): SeriesRowDelta[] {
  return (Object.keys(LEVEL_MS) as SeriesLevel[]).map((level) => ({
    ...key,
    level,
    startMs: Math.floor(minuteMs / LEVEL_MS[level]) * LEVEL_MS[level],
    bytes,
    packets,
    flows,
  }));
}

export function key(customer: string, direction: TrafficDirection, rest: Partial<SeriesKey> = {}) {
  return { customer, site: "s1", link: "l1", trafficClass: "default", direction, ...rest };
}

export interface ConformanceOptions {
  /** A new, empty store, started; the caller's test file stops it after the test. */
  open(): Promise<SeriesStore>;
  /** Deltas of the random-totals case (100 000 by default). */
  randomDeltas?: number;
  /** The UTC midnight the fixtures start at (T0 by default; see CALENDAR_T0S). */
  t0?: number;
}

export function describeStoreConformance(name: string, options: ConformanceOptions): void {
  const { open, randomDeltas = 100_000, t0: T0 = DEFAULT_T0 } = options;
  if (T0 % DAY !== 0) throw new RangeError(`t0 ${T0} is not a UTC midnight`);
  describe(`${name}: the SeriesStore contract, fixtures from ${isoDay(T0)}`, () => {
    it("adds deltas to the stored rows, within one call and across calls", async () => {
      const store = await open();
      const k = key("acme", "in");
      await store.addDeltas([
        { ...k, level: "1m", startMs: T0, bytes: 3_000_000_000, packets: 2, flows: 1 },
        { ...k, level: "1m", startMs: T0, bytes: 1, packets: 1, flows: 1 },
      ]);
      await store.addDeltas([{ ...k, level: "1m", startMs: T0, bytes: 5, packets: 3, flows: 0 }]);
      await store.addDeltas([]);
      const points = await store.traffic({
        customer: "acme",
        fromMs: T0,
        toMs: T0 + MINUTE,
        level: "1m",
      });
      expect(points).toEqual([
        { timeMs: T0, bytesIn: 3_000_000_006, bytesOut: 0, packetsIn: 6, packetsOut: 0 },
      ]);
    });

    it(`keeps totals of ${randomDeltas} random deltas exact, at every level and over any range`, async () => {
      const store = await open();
      const next = createRng(42).float;
      const customers = Array.from({ length: 40 }, (_, i) => `c${i}`);
      const minutes = 3 * 1440;
      /** customer → direction → sums; and 1-minute rows for range checks. */
      const total = new Map<string, { bytes: [number, number]; packets: [number, number] }>();
      const byMinute: Array<{ customer: string; minute: number; d: 0 | 1; bytes: number }> = [];
      let batch: SeriesRowDelta[] = [];
      for (let i = 0; i < randomDeltas; i++) {
        const customer = customers[Math.floor(next() * customers.length)]!;
        const d = next() < 0.5 ? 0 : 1;
        const minute = Math.floor(next() * minutes);
        // Above 2^31 each; the sum of all stays below 2^53.
        const bytes = 2 ** 31 + Math.floor(next() * 2 ** 34);
        const packets = Math.floor(next() * 1e6);
        const k = key(customer, d === 0 ? "in" : "out", {
          site: `s${Math.floor(next() * 3)}`,
          link: `l${Math.floor(next() * 5)}`,
          trafficClass: next() < 0.5 ? "web" : "voip",
        });
        batch.push(...atAllLevels(k, T0 + minute * MINUTE, bytes, packets, 1));
        let t = total.get(customer);
        if (t === undefined) {
          t = { bytes: [0, 0], packets: [0, 0] };
          total.set(customer, t);
        }
        t.bytes[d] += bytes;
        t.packets[d] += packets;
        byMinute.push({ customer, minute, d, bytes });
        if (batch.length >= 10_000) {
          await store.addDeltas(batch);
          batch = [];
        }
      }
      await store.addDeltas(batch);

      const all = await store.overview({ fromMs: T0, toMs: T0 + minutes * MINUTE });
      expect(all.map((r) => r.customer)).toEqual([...total.keys()].sort());
      for (const row of all) {
        const t = total.get(row.customer)!;
        expect(row.bytesIn).toBe(t.bytes[0]);
        expect(row.bytesOut).toBe(t.bytes[1]);
        expect(row.packetsIn).toBe(t.packets[0]);
        expect(row.packetsOut).toBe(t.packets[1]);
      }
      const flows = all.reduce((s, r) => s + r.flows, 0);
      expect(flows).toBe(randomDeltas);

      // Every level holds the same total for a customer.
      for (const level of ["1m", "5m", "1h", "1d"] as const) {
        const points = await store.traffic({
          customer: "c7",
          fromMs: T0,
          toMs: T0 + minutes * MINUTE,
          level,
        });
        expect(points.reduce((s, p) => s + p.bytesIn, 0)).toBe(total.get("c7")!.bytes[0]);
        expect(points.reduce((s, p) => s + p.packetsOut, 0)).toBe(total.get("c7")!.packets[1]);
      }
      const fiveMinute = await store.samples({
        customer: "c7",
        fromMs: T0,
        toMs: T0 + minutes * MINUTE,
        level: "5m",
      });
      expect(fiveMinute.reduce((s, p) => s + p.bytesOut, 0)).toBe(total.get("c7")!.bytes[1]);

      // Ranges that need 1 d, 1 h, 5 m and 1 m pieces equal the sum of the 1-minute rows in range.
      const ranges: Array<[number, number]> = [
        [7 * 60 + 23, 2 * 1440 + 5 * 60 + 41],
        [0, 1440],
        [1439, 1441],
        [59, 2 * 1440 + 1],
      ];
      for (let i = 0; i < 20; i++) {
        const a = Math.floor(next() * minutes);
        ranges.push([a, a + 1 + Math.floor(next() * (minutes - a))]);
      }
      const first = ranges[0]!;
      const levels = new Set(
        tileRange(T0 + first[0] * MINUTE, T0 + first[1] * MINUTE).map((p) => p.level),
      );
      expect([...levels].sort()).toEqual(["1d", "1h", "1m", "5m"]);
      for (const [a, b] of ranges) {
        const expected = new Map<string, [number, number]>();
        for (const m of byMinute) {
          if (m.minute < a || m.minute >= b) continue;
          const e = expected.get(m.customer) ?? [0, 0];
          e[m.d] += m.bytes;
          expected.set(m.customer, e);
        }
        const got = await store.overview({ fromMs: T0 + a * MINUTE, toMs: T0 + b * MINUTE });
        expect(new Map(got.map((r) => [r.customer, [r.bytesIn, r.bytesOut]]))).toEqual(expected);
        // The same from the 1-minute rows as the store holds them.
        const c3 = await store.samples({
          customer: "c3",
          fromMs: T0 + a * MINUTE,
          toMs: T0 + b * MINUTE,
          level: "1m",
        });
        const fromRows = c3.reduce((s, p) => s + p.bytesIn, 0);
        expect(got.find((r) => r.customer === "c3")?.bytesIn ?? 0).toBe(fromRows);
      }
    }, 120_000);

    it("filters overview by customers and reads rows whose minute starts in the range", async () => {
      const store = await open();
      await store.addDeltas([
        ...atAllLevels(key("a", "in"), T0 + 10 * MINUTE, 100, 1, 1),
        ...atAllLevels(key("b", "out"), T0 + 10 * MINUTE, 200, 2, 1),
        ...atAllLevels(key("c", "in"), T0 + 11 * MINUTE, 300, 3, 1),
      ]);
      const range = { fromMs: T0, toMs: T0 + HOUR };
      expect(
        (await store.overview({ ...range, customers: ["b", "c", "zz"] })).map((r) => r.customer),
      ).toEqual(["b", "c"]);
      expect(await store.overview({ ...range, customers: [] })).toEqual([]);
      expect(await store.overview({ ...range, customers: ["b"] })).toEqual([
        { customer: "b", bytesIn: 0, bytesOut: 200, packetsIn: 0, packetsOut: 2, flows: 1 },
      ]);
      // 11:00 is excluded by toMs = 11:00; a bound inside minute 10 moves up to 11.
      const ab = { fromMs: T0 + 10 * MINUTE, toMs: T0 + 11 * MINUTE };
      expect((await store.overview(ab)).map((r) => r.customer)).toEqual(["a", "b"]);
      const later = { fromMs: T0 + 10 * MINUTE + 1, toMs: T0 + 11 * MINUTE + 1 };
      expect((await store.overview(later)).map((r) => r.customer)).toEqual(["c"]);
    });

    it("filters traffic and samples by site, link and class, one point per period with data", async () => {
      const store = await open();
      const rows: SeriesRowDelta[] = [];
      for (const [site, link, cls, minute, bytes] of [
        ["hq", "fiber", "web", 0, 1],
        ["hq", "fiber", "voip", 0, 10],
        ["hq", "backup", "web", 1, 100],
        ["branch", "dsl", "web", 5, 1000],
        ["branch", "dsl", "web", 61, 10000],
      ] as const) {
        const k = key("acme", "in", { site, link, trafficClass: cls });
        rows.push(...atAllLevels(k, T0 + minute * MINUTE, bytes, bytes, 1));
        rows.push(
          ...atAllLevels({ ...k, direction: "out" }, T0 + minute * MINUTE, 2 * bytes, 1, 0),
        );
      }
      rows.push(...atAllLevels(key("other", "in", { site: "hq" }), T0, 7, 7, 7));
      await store.addDeltas(rows);
      const q = { customer: "acme", fromMs: T0, toMs: T0 + 2 * HOUR };

      expect(await store.traffic({ ...q, level: "1m" })).toEqual([
        { timeMs: T0, bytesIn: 11, bytesOut: 22, packetsIn: 11, packetsOut: 2 },
        { timeMs: T0 + MINUTE, bytesIn: 100, bytesOut: 200, packetsIn: 100, packetsOut: 1 },
        { timeMs: T0 + 5 * MINUTE, bytesIn: 1000, bytesOut: 2000, packetsIn: 1000, packetsOut: 1 },
        {
          timeMs: T0 + 61 * MINUTE,
          bytesIn: 10000,
          bytesOut: 20000,
          packetsIn: 10000,
          packetsOut: 1,
        },
      ]);
      expect(await store.traffic({ ...q, level: "1h", site: "hq" })).toEqual([
        { timeMs: T0, bytesIn: 111, bytesOut: 222, packetsIn: 111, packetsOut: 3 },
      ]);
      expect(await store.traffic({ ...q, level: "1d", link: "dsl" })).toEqual([
        { timeMs: T0, bytesIn: 11000, bytesOut: 22000, packetsIn: 11000, packetsOut: 2 },
      ]);
      expect(await store.samples({ ...q, level: "1m", trafficClass: "voip" })).toEqual([
        { timeMs: T0, bytesIn: 10, bytesOut: 20 },
      ]);
      expect(await store.samples({ ...q, level: "5m", site: "hq", trafficClass: "web" })).toEqual([
        { timeMs: T0, bytesIn: 101, bytesOut: 202 },
      ]);
      expect(await store.samples({ ...q, level: "5m", site: "branch", link: "fiber" })).toEqual([]);
      // [from, to) at the level's period starts.
      expect(
        await store.samples({ ...q, fromMs: T0 + MINUTE, toMs: T0 + 5 * MINUTE, level: "1m" }),
      ).toEqual([{ timeMs: T0 + MINUTE, bytesIn: 100, bytesOut: 200 }]);
      // The HTTP layer passes strings through: levels outside the contract are refused.
      await expect(store.traffic({ ...q, level: "2m" as "1m" })).rejects.toThrow(
        /level 2m: expected 1m, 5m, 1h, 1d/,
      );
      await expect(store.samples({ ...q, level: "1h" as "1m" })).rejects.toThrow(
        /level 1h: expected 1m, 5m/,
      );
    });

    it("takes the peaks per period and the rank-th highest sample in the store, as the samples give them", async () => {
      const store = await open();
      const next = createRng(7).float;
      const days = 3;
      /** Written bytes: [site, link, class, direction, minute, bytes]. */
      const written: Array<[string, string, string, 0 | 1, number, number]> = [];
      const rows: SeriesRowDelta[] = [];
      for (let i = 0; i < 1500; i++) {
        const site = next() < 0.5 ? "hq" : "branch";
        const link = next() < 0.5 ? "fiber" : "dsl";
        const cls = next() < 0.5 ? "web" : "voip";
        const d = next() < 0.5 ? 0 : 1;
        // Bursty: a few minutes take most of the bytes.
        const minute = Math.floor(next() ** 2 * days * 1440);
        const bytes = 1 + Math.floor(next() ** 4 * 2 ** 40);
        written.push([site, link, cls, d, minute, bytes]);
        const k = key("acme", d === 0 ? "in" : "out", { site, link, trafficClass: cls });
        rows.push(...atAllLevels(k, T0 + minute * MINUTE, bytes, 1, 1));
      }
      // Another customer's bigger traffic never counts.
      rows.push(...atAllLevels(key("other", "in", { site: "hq" }), T0, 2 ** 45, 1, 1));
      await store.addDeltas(rows);

      const filters: Array<{ site?: string; link?: string; trafficClass?: string }> = [
        {},
        { site: "hq" },
        { site: "branch", link: "dsl" },
        { trafficClass: "voip" },
      ];
      for (const f of filters) {
        /** The samples of one level, by period start, summed from what was written. */
        const samplesOf = (sampleMs: number, fromMs: number, toMs: number) => {
          const m = new Map<number, [number, number]>();
          for (const [site, link, cls, d, minute, bytes] of written) {
            if (f.site !== undefined && site !== f.site) continue;
            if (f.link !== undefined && link !== f.link) continue;
            if (f.trafficClass !== undefined && cls !== f.trafficClass) continue;
            const t = Math.floor((T0 + minute * MINUTE) / sampleMs) * sampleMs;
            if (t < fromMs || t >= toMs) continue;
            const v = m.get(t) ?? [0, 0];
            v[d] += bytes;
            m.set(t, v);
          }
          return m;
        };
        const ranges: Array<[number, number]> = [
          [T0, T0 + days * DAY],
          [T0 + 5 * HOUR, T0 + DAY + 7 * HOUR],
        ];
        for (const [fromMs, toMs] of ranges) {
          const q = { customer: "acme", fromMs, toMs, ...f };
          for (const [level, sampleMs] of [
            ["1m", MINUTE],
            ["5m", 5 * MINUTE],
          ] as const) {
            const samples = samplesOf(sampleMs, fromMs, toMs);
            for (const stepMs of [5 * MINUTE, HOUR, DAY]) {
              if (stepMs <= sampleMs) continue;
              const want = new Map<number, { timeMs: number; bytesIn: number; bytesOut: number }>();
              for (const [t, [bi, bo]] of samples) {
                const p = Math.floor(t / stepMs) * stepMs;
                const w = want.get(p) ?? { timeMs: p, bytesIn: 0, bytesOut: 0 };
                w.bytesIn = Math.max(w.bytesIn, bi);
                w.bytesOut = Math.max(w.bytesOut, bo);
                want.set(p, w);
              }
              expect(await store.samplePeaks({ ...q, level, stepMs })).toEqual(
                [...want.values()].sort((a, b) => a.timeMs - b.timeMs),
              );
            }
            const desc = (d: 0 | 1) => [...samples.values()].map((v) => v[d]).sort((a, b) => b - a);
            const [ins, outs] = [desc(0), desc(1)];
            // Samples of one direction only: the other direction's are zeros, or absent.
            const nonZero = (v: number[]) => v.filter((x) => x > 0);
            for (const rank of [1, 2, 17, Math.max(nonZero(ins).length, 1), ins.length + 1]) {
              const r = await store.sampleRank({ ...q, level, rank });
              const want = {
                bytesIn: nonZero(ins)[rank - 1] ?? 0,
                bytesOut: nonZero(outs)[rank - 1] ?? 0,
              };
              expect(r).toEqual(want);
              // sampleStats: the same rank, with and without the peaks of a step.
              expect(await store.sampleStats({ ...q, level, rank })).toEqual({
                peaks: [],
                rank: want,
              });
              const both = await store.sampleStats({ ...q, level, rank, stepMs: DAY });
              expect(both.rank).toEqual(want);
              expect(both.peaks).toEqual(await store.samplePeaks({ ...q, level, stepMs: DAY }));
            }
            expect(await store.sampleStats({ ...q, level, stepMs: HOUR })).toEqual({
              peaks: await store.samplePeaks({ ...q, level, stepMs: HOUR }),
              rank: null,
            });
          }
        }
      }
      await expect(
        store.samplePeaks({
          customer: "acme",
          fromMs: T0,
          toMs: T0 + DAY,
          level: "1h" as "1m",
          stepMs: DAY,
        }),
      ).rejects.toThrow(/level 1h: expected 1m, 5m/);
      await expect(
        store.sampleRank({ customer: "acme", fromMs: T0, toMs: T0 + DAY, level: "5m", rank: 0 }),
      ).rejects.toThrow(/rank 0/);
      const day = { customer: "acme", fromMs: T0, toMs: T0 + DAY };
      await expect(store.sampleStats({ ...day, level: "5m", rank: 1.5 })).rejects.toThrow(
        /rank 1.5/,
      );
      await expect(store.sampleStats({ ...day, level: "5m", stepMs: -1 })).rejects.toThrow(
        /stepMs -1/,
      );
      await expect(store.sampleStats({ ...day, level: "1d" as "5m", rank: 1 })).rejects.toThrow(
        /level 1d: expected 1m, 5m/,
      );
    }, 120_000);

    it("purges one customer's series at every level, traffic and response times, and only its", async () => {
      const store = await open();
      await store.addDeltas([
        ...atAllLevels(key("gone", "in"), T0 + HOUR, 100, 1, 1),
        ...atAllLevels(key("gone", "out"), T0 + 2 * DAY, 50, 1, 1),
        ...atAllLevels(key("stays", "in"), T0 + HOUR, 7, 1, 1),
      ]);
      const rt = {
        customer: "gone",
        site: "s1",
        link: "l1",
        trafficClass: "default",
        level: "1m" as const,
        startMs: T0,
        transactions: 2,
        good: 1,
        retransmissions: 0,
        networkDelaySumUs: 0,
        networkDelayCount: 0,
        serverDelaySumUs: 0,
        serverDelayCount: 0,
        totalDelaySumUs: 0,
        estimated: 0,
        bins: [[500, 2]] as Array<[number, number]>,
      };
      await store.addResponseTimes([rt, { ...rt, customer: "stays" }]);
      await store.putBillingProfiles([
        { customer: "gone", fromMs: T0, profile: '{"v":1}' },
        { customer: "gone", fromMs: T0 + DAY, profile: '{"v":2}' },
        { customer: "stays", fromMs: T0, profile: '{"v":1}' },
      ]);
      const removed = await store.purgeCustomer("gone");
      expect(removed.billing_profiles).toBe(2);
      expect(await store.billingProfiles({ customer: "gone" })).toEqual([]);
      expect(await store.billingProfiles({ customer: "stays" })).toHaveLength(1);
      // Two rows at each level: in on day 0 and out on day 2 (two different days, hours, ...).
      expect(removed).toMatchObject({ traffic_1m: 2, traffic_5m: 2, traffic_1h: 2, traffic_1d: 2 });
      expect(removed.response_1m).toBeGreaterThan(0);
      const range = { fromMs: T0, toMs: T0 + 3 * DAY };
      for (const level of ["1m", "5m", "1h", "1d"] as const) {
        expect(await store.traffic({ customer: "gone", ...range, level }), level).toEqual([]);
        expect(await store.traffic({ customer: "stays", ...range, level }), level).toHaveLength(1);
      }
      expect(await store.responseTimes({ customer: "gone", ...range, level: "1m" })).toEqual([]);
      expect(await store.responseTimes({ customer: "stays", ...range, level: "1m" })).toHaveLength(
        1,
      );
      expect(await store.overview(range)).toEqual([
        { customer: "stays", bytesIn: 7, bytesOut: 0, packetsIn: 1, packetsOut: 0, flows: 1 },
      ]);
      // Nothing left: a second purge removes nothing.
      expect(await store.purgeCustomer("gone")).toMatchObject({
        traffic_1m: 0,
        response_1m: 0,
        billing_profiles: 0,
      });
    });

    it("prunes each level's rows older than its cutoff, and only those", async () => {
      const store = await open();
      const k = key("acme", "in");
      const rows: SeriesRowDelta[] = [];
      for (const level of ["1m", "5m", "1h", "1d"] as const) {
        for (let d = 0; d < 4; d++) {
          rows.push({ ...k, level, startMs: T0 + d * DAY, bytes: 10, packets: 1, flows: 1 });
        }
      }
      await store.addDeltas(rows);
      const deleted = await store.prune({ "1m": T0 + 2 * DAY, "5m": T0 + DAY });
      expect(deleted).toEqual({ "1m": 2, "5m": 1, "1h": 0, "1d": 0 });
      const count = async (level: "1m" | "5m") =>
        (await store.samples({ customer: "acme", fromMs: 0, toMs: T0 + 5 * DAY, level })).map(
          (p) => (p.timeMs - T0) / DAY,
        );
      expect(await count("1m")).toEqual([2, 3]);
      expect(await count("5m")).toEqual([1, 2, 3]);
      // The day rows are untouched: a month's overview is still whole.
      const [totals] = await store.overview({ fromMs: T0, toMs: T0 + 4 * DAY });
      expect(totals?.bytesIn).toBe(40);
    });

    it("adds response-time sums and sketch bins, and reads them back per period", async () => {
      const store = await open();
      const base = {
        level: "1m" as const,
        customer: "acme",
        site: "hq",
        link: "fiber",
        trafficClass: "web",
        transactions: 3,
        good: 2,
        retransmissions: 1,
        networkDelaySumUs: 30_000,
        networkDelayCount: 3,
        serverDelaySumUs: 90_000,
        serverDelayCount: 3,
        totalDelaySumUs: 150_000,
        estimated: 1,
      };
      await store.addResponseTimes([
        {
          ...base,
          startMs: T0,
          bins: [
            [500, 2],
            [520, 1],
          ],
        },
        // Another link of the same customer in the same minute, and one in the next minute.
        { ...base, link: "backup", startMs: T0, good: 3, bins: [[520, 3]] },
        { ...base, startMs: T0 + MINUTE, transactions: 1, good: 0, bins: [[600, 1]] },
      ]);
      // A late correction to the first minute adds to what is there.
      await store.addResponseTimes([
        { ...base, startMs: T0, transactions: 1, good: 1, retransmissions: 0, bins: [[500, 1]] },
      ]);
      const points = await store.responseTimes({
        customer: "acme",
        fromMs: T0,
        toMs: T0 + 2 * MINUTE,
        level: "1m",
      });
      expect(points).toEqual([
        {
          timeMs: T0,
          transactions: 7,
          good: 6,
          retransmissions: 2,
          networkDelaySumUs: 90_000,
          networkDelayCount: 9,
          serverDelaySumUs: 270_000,
          serverDelayCount: 9,
          totalDelaySumUs: 450_000,
          estimated: 3,
          bins: [
            [500, 3],
            [520, 4],
          ],
        },
        {
          timeMs: T0 + MINUTE,
          transactions: 1,
          good: 0,
          retransmissions: 1,
          networkDelaySumUs: 30_000,
          networkDelayCount: 3,
          serverDelaySumUs: 90_000,
          serverDelayCount: 3,
          totalDelaySumUs: 150_000,
          estimated: 1,
          bins: [[600, 1]],
        },
      ]);
      const backup = await store.responseTimes({
        customer: "acme",
        link: "backup",
        fromMs: T0,
        toMs: T0 + 2 * MINUTE,
        level: "1m",
      });
      expect(backup.map((p) => [p.transactions, p.bins])).toEqual([[3, [[520, 3]]]]);
      await expect(
        store.addResponseTimes([{ ...base, startMs: T0 + 1, bins: [] }]),
      ).rejects.toThrow(/startMs .* not a multiple of 1m/);
      expect(await store.prune({ "1m": T0 + MINUTE })).toMatchObject({ "1m": 0 });
      const after = await store.responseTimes({
        customer: "acme",
        fromMs: 0,
        toMs: T0 + DAY,
        level: "1m",
      });
      expect(after.map((p) => p.timeMs)).toEqual([T0 + MINUTE]);
    });

    it("replaces rows with putSeries (idempotent) and reads back only the keys asked for", async () => {
      const store = await open();
      const a = { ...key("acme", "in"), level: "1m" as const, startMs: T0 };
      const b = { ...key("acme", "out"), level: "5m" as const, startMs: T0 };
      const c = {
        ...key("zeta", "in", { site: "x,y z" }),
        level: "1m" as const,
        startMs: T0 + MINUTE,
      };
      await store.addDeltas([{ ...a, bytes: 100, packets: 1, flows: 1 }]);
      const totals = [
        { ...a, bytes: 1500, packets: 3, flows: 2 },
        { ...b, bytes: 7.5, packets: 1, flows: 1 },
        { ...c, bytes: 40, packets: 1, flows: 1 },
      ];
      await store.putSeries(totals);
      await store.putSeries(totals);
      const other = { ...a, startMs: T0 + 2 * MINUTE };
      const read = await store.readSeries([a, b, c, other, { ...a, customer: "nobody" }]);
      const byCustomerLevel = (r: SeriesRowDelta) => `${r.customer} ${r.level} ${r.direction}`;
      expect(read.sort((x, y) => byCustomerLevel(x).localeCompare(byCustomerLevel(y)))).toEqual(
        [...totals].sort((x, y) => byCustomerLevel(x).localeCompare(byCustomerLevel(y))),
      );
      // putSeries replaced the 100 added before; the query layer sees the same values.
      expect(
        await store.traffic({ customer: "acme", fromMs: T0, toMs: T0 + MINUTE, level: "1m" }),
      ).toEqual([{ timeMs: T0, bytesIn: 1500, bytesOut: 0, packetsIn: 3, packetsOut: 0 }]);
      expect(await store.readSeries([])).toEqual([]);
      await expect(store.putSeries([totals[0]!, totals[0]!])).rejects.toThrow(/the same key twice/);
    });

    it("replaces response-time rows with putResponseTimes and reads them back", async () => {
      const store = await open();
      const k = {
        customer: "acme",
        site: "s1",
        link: "l1",
        trafficClass: "web",
        level: "1m" as const,
        startMs: T0,
      };
      const counters = {
        transactions: 3,
        good: 2,
        retransmissions: 1,
        networkDelaySumUs: 3000,
        networkDelayCount: 3,
        serverDelaySumUs: 600,
        serverDelayCount: 2,
        totalDelaySumUs: 9000,
        estimated: 2,
      };
      await store.addResponseTimes([{ ...k, ...counters, bins: [[5, 1]] }]);
      const row = {
        ...k,
        ...counters,
        transactions: 4,
        good: 0,
        bins: [[7, 2] as const, [9, 1] as const],
      };
      await store.putResponseTimes([row]);
      await store.putResponseTimes([row]);
      expect(await store.readResponseTimes([k, { ...k, startMs: T0 + MINUTE }])).toEqual([
        {
          ...row,
          bins: [
            [7, 2],
            [9, 1],
          ],
        },
      ]);
    });

    it("loses no update when addDeltas calls run concurrently", async () => {
      const store = await open();
      const calls = Array.from({ length: 50 }, (_, i) =>
        store.addDeltas([
          ...atAllLevels(key("acme", "in"), T0 + (i % 3) * MINUTE, 1_000_000_007, 1, 1),
          ...atAllLevels(key(`c${i % 5}`, "out"), T0, i, 1, 1),
        ]),
      );
      const reads = Array.from({ length: 10 }, () =>
        store.overview({ fromMs: T0, toMs: T0 + DAY }),
      );
      await Promise.all([...calls, ...reads]);
      const totals = await store.overview({ fromMs: T0, toMs: T0 + DAY });
      expect(totals.find((r) => r.customer === "acme")?.bytesIn).toBe(50 * 1_000_000_007);
      expect(totals.filter((r) => r.customer !== "acme").reduce((s, r) => s + r.bytesOut, 0)).toBe(
        (49 * 50) / 2,
      );
    });

    it("rejects a whole call with an invalid row, writing nothing", async () => {
      const store = await open();
      const good = atAllLevels(key("acme", "in"), T0, 1, 1, 1);
      await expect(
        store.addDeltas([...good, { ...good[0]!, level: "1h", startMs: T0 + MINUTE }]),
      ).rejects.toThrow(/rows\[4\]\.startMs .* not a multiple of 1h/);
      await expect(
        store.addDeltas([...good, { ...good[0]!, direction: "sideways" as "in" }]),
      ).rejects.toThrow(/rows\[4\]\.direction/);
      await expect(store.addDeltas([{ ...good[0]!, bytes: Number.NaN }])).rejects.toThrow(/finite/);
      expect(await store.overview({ fromMs: T0, toMs: T0 + DAY })).toEqual([]);
    });

    it("keeps fractional deltas (non-integer sampling rates)", async () => {
      const store = await open();
      await store.addDeltas(atAllLevels(key("acme", "in"), T0, 0.5, 0.25, 1));
      await store.addDeltas(atAllLevels(key("acme", "in"), T0, 1.5, 0.5, 1));
      const [row] = await store.overview({ fromMs: T0, toMs: T0 + DAY });
      expect(row).toMatchObject({ bytesIn: 2, packetsIn: 0.75, flows: 2 });
    });

    it("stores and reads back hostile tag values and customer ids verbatim", async () => {
      const store = await open();
      const hostile = "'; DROP TABLE series_1m; --";
      const k = {
        customer: hostile,
        site: `"); DELETE FROM series_1d; DROP MEASUREMENT traffic_1m; --`,
        // Line protocol's own separators, and InfluxQL's quotes and regex characters.
        link: "a,b=c d $1 ' \" %_* /.*/",
        trafficClass: "ünïcödé 🚀 end",
        direction: "in" as const,
      };
      await store.addDeltas(atAllLevels(k, T0, 42, 1, 1));
      await store.addDeltas(atAllLevels(key("x' OR '1'='1", "out"), T0, 1, 1, 1));
      expect(await store.overview({ fromMs: T0, toMs: T0 + DAY, customers: [hostile] })).toEqual([
        { customer: hostile, bytesIn: 42, bytesOut: 0, packetsIn: 1, packetsOut: 0, flows: 1 },
      ]);
      const points = await store.traffic({
        customer: k.customer,
        site: k.site,
        link: k.link,
        trafficClass: k.trafficClass,
        fromMs: T0,
        toMs: T0 + DAY,
        level: "1d",
      });
      expect(points).toEqual([
        { timeMs: T0, bytesIn: 42, bytesOut: 0, packetsIn: 1, packetsOut: 0 },
      ]);
      // A filter that would match everything if it were spliced in matches nothing.
      expect(
        await store.traffic({
          customer: "x' OR '1'='1",
          fromMs: T0,
          toMs: T0 + DAY,
          level: "1d",
          site: "' OR ''='",
        }),
      ).toEqual([]);
      expect(
        (await store.overview({ fromMs: T0, toMs: T0 + DAY })).map((r) => r.customer).sort(),
      ).toEqual([hostile, "x' OR '1'='1"].sort());
      expect(await store.readSeries([{ ...k, level: "1m", startMs: T0 }])).toEqual([
        { ...k, level: "1m", startMs: T0, bytes: 42, packets: 1, flows: 1 },
      ]);
      await store.putResponseTimes([
        {
          ...k,
          level: "1h",
          startMs: T0,
          ...zeroResponseTimeCounters(),
          transactions: 2,
          bins: [[-3, 1]],
        },
      ]);
      expect(
        (
          await store.responseTimes({ customer: hostile, fromMs: T0, toMs: T0 + DAY, level: "1h" })
        ).map((p) => [p.transactions, p.bins]),
      ).toEqual([[2, [[-3, 1]]]]);
    });

    it("keeps values above 2^32 exact, up to sums near 2^53", async () => {
      const store = await open();
      const k = key("big", "out");
      const big = 2 ** 52 + 1;
      await store.addDeltas([
        { ...k, level: "1d", startMs: T0, bytes: big, packets: 2 ** 32 + 1, flows: 1 },
      ]);
      await store.addDeltas([
        { ...k, level: "1d", startMs: T0, bytes: 2 ** 52 - 3, packets: 2 ** 32, flows: 1 },
      ]);
      expect(
        await store.traffic({ customer: "big", fromMs: T0, toMs: T0 + DAY, level: "1d" }),
      ).toEqual([
        { timeMs: T0, bytesIn: 0, bytesOut: 2 ** 53 - 2, packetsIn: 0, packetsOut: 2 ** 33 + 1 },
      ]);
      await store.putSeries([
        { ...k, level: "1m", startMs: T0, bytes: 2 ** 53 - 1, packets: 1.25, flows: 0.1 },
      ]);
      expect(await store.readSeries([{ ...k, level: "1m", startMs: T0 }])).toEqual([
        { ...k, level: "1m", startMs: T0, bytes: 2 ** 53 - 1, packets: 1.25, flows: 0.1 },
      ]);
    });
  });
}
