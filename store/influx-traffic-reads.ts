/**
 * The InfluxDB store's traffic reads: the overview of every customer, one customer's points, its
 * samples, and their peaks and rank (InfluxQL subqueries).
 */
import type {
  CustomerTotals,
  OverviewQuery,
  SampleQuery,
  SampleStats,
  SampleStatsQuery,
  SampleSums,
  SeriesLevel,
  TrafficPoint,
  TrafficQuery,
} from "../schema/series-store.js";
import type { InfluxClient } from "./influx-client.js";
import {
  anyOf,
  byTimeOf,
  msLiteral,
  num,
  type StatementResult,
  seriesFilter,
  seriesRows,
  tag,
} from "./influx-ql.js";
import { TRAFFIC } from "./influx-schema.js";
import { overviewRange, TILING, tileRange } from "./levels.js";

export function createInfluxTrafficReads(client: InfluxClient) {
  const { ensureStarted, query, from } = client;

  async function overview(q: OverviewQuery): Promise<CustomerTotals[]> {
    ensureStarted();
    const [fromMs, toMs] = overviewRange(q);
    if (fromMs >= toMs || q.customers?.length === 0) return [];
    const who = q.customers === undefined ? "" : ` AND ${anyOf("customer", q.customers)}`;
    const pieces = tileRange(fromMs, toMs, q.coarseUntilMs);
    const statements: string[] = [];
    for (const level of TILING) {
      for (const p of pieces.filter((x) => x.level === level)) {
        statements.push(
          `SELECT sum(bytes) AS bytes, sum(packets) AS packets, sum(flows) AS flows FROM ${from(TRAFFIC, level)} WHERE time >= ${msLiteral(p.fromMs)} AND time < ${msLiteral(p.toMs)}${who} GROUP BY "customer", "direction"`,
        );
      }
    }
    const totals = new Map<string, CustomerTotals>();
    for (const s of (await query(statements)).flatMap((r) => r.series ?? [])) {
      const customer = tag(s, "customer");
      let t = totals.get(customer);
      if (t === undefined) {
        t = { customer, bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0, flows: 0 };
        totals.set(customer, t);
      }
      for (const v of seriesRows(s)) {
        if (tag(s, "direction") === "out") {
          t.bytesOut += num(v.bytes);
          t.packetsOut += num(v.packets);
        } else {
          t.bytesIn += num(v.bytes);
          t.packetsIn += num(v.packets);
        }
        t.flows += num(v.flows);
      }
    }
    return [...totals.values()].sort((a, b) =>
      a.customer < b.customer ? -1 : a.customer > b.customer ? 1 : 0,
    );
  }

  /** Per-period in/out sums of one customer's rows at one level, in time order. */
  async function points(
    name: string,
    q: Omit<TrafficQuery, "level">,
    level: SeriesLevel,
    allowed: readonly SeriesLevel[],
  ): Promise<TrafficPoint[]> {
    if (!allowed.includes(level)) {
      throw new RangeError(`${name}: level ${String(level)}: expected ${allowed.join(", ")}`);
    }
    ensureStarted();
    const [result] = await query([
      `SELECT sum(bytes) AS bytes, sum(packets) AS packets FROM ${from(TRAFFIC, level)} WHERE ${seriesFilter(name, q)} GROUP BY time(${level}), "direction" fill(none)`,
    ]);
    return byTimeOf(
      result?.series ?? [],
      (timeMs): TrafficPoint => ({ timeMs, bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0 }),
      (p, v, out) => {
        if (out) {
          p.bytesOut += num(v.bytes);
          p.packetsOut += num(v.packets);
        } else {
          p.bytesIn += num(v.bytes);
          p.packetsIn += num(v.packets);
        }
      },
    );
  }

  async function traffic(q: TrafficQuery): Promise<TrafficPoint[]> {
    return points("traffic", q, q.level, ["1m", "5m", "1h", "1d"]);
  }

  async function samples(
    q: Omit<TrafficQuery, "level"> & { level: "1m" | "5m" },
  ): Promise<Array<{ timeMs: number; bytesIn: number; bytesOut: number }>> {
    const rows = await points("samples", q, q.level, ["1m", "5m"]);
    return rows.map(({ timeMs, bytesIn, bytesOut }) => ({ timeMs, bytesIn, bytesOut }));
  }

  /** The samples of a SampleQuery as a subquery: `bytes` per period of the level and direction. */
  function samplesSubquery(name: string, q: SampleQuery): string {
    if (q.level !== "1m" && q.level !== "5m") {
      throw new RangeError(`${name}: level ${String(q.level)}: expected 1m, 5m`);
    }
    ensureStarted();
    return `SELECT sum(bytes) AS bytes FROM ${from(TRAFFIC, q.level)} WHERE ${seriesFilter(name, q)} GROUP BY time(${q.level}), "direction" fill(none)`;
  }

  /** samplePeaks' statement: the highest sample per direction and period of `stepMs`. */
  function peaksStatement(q: SampleQuery & { stepMs: number }): string {
    if (!Number.isSafeInteger(q.stepMs) || q.stepMs <= 0) {
      throw new RangeError(`samplePeaks: stepMs ${q.stepMs}: expected a whole number of ms > 0`);
    }
    const inner = samplesSubquery("samplePeaks", q);
    // The outer GROUP BY time() needs the range again (without it InfluxDB ends it at now()).
    return `SELECT max(bytes) AS bytes FROM (${inner}) WHERE time >= ${msLiteral(q.fromMs)} AND time < ${msLiteral(q.toMs)} GROUP BY time(${q.stepMs}ms), "direction" fill(none)`;
  }

  function peaksOf(result: StatementResult | undefined): SampleSums[] {
    return byTimeOf(
      result?.series ?? [],
      (timeMs): SampleSums => ({ timeMs, bytesIn: 0, bytesOut: 0 }),
      (p, v, out) => {
        if (out) p.bytesOut = num(v.bytes);
        else p.bytesIn = num(v.bytes);
      },
    );
  }

  /** sampleRank's statement: the lowest of the `rank` highest samples, and how many there were. */
  function rankStatement(q: SampleQuery & { rank: number }): string {
    if (!Number.isSafeInteger(q.rank) || q.rank < 1) {
      throw new RangeError(`sampleRank: rank ${q.rank}: expected a whole number ≥ 1`);
    }
    const inner = samplesSubquery("sampleRank", q);
    return `SELECT min(b) AS b, count(b) AS n FROM (SELECT top(bytes, ${q.rank}) AS b FROM (${inner}) GROUP BY "direction") GROUP BY "direction"`;
  }

  function rankOf(
    result: StatementResult | undefined,
    rank: number,
  ): { bytesIn: number; bytesOut: number } {
    const out = { bytesIn: 0, bytesOut: 0 };
    for (const s of result?.series ?? []) {
      const [v] = seriesRows(s);
      // Fewer than `rank` samples: the rank-th is a 0.
      if (v === undefined || num(v.n) < rank) continue;
      if (tag(s, "direction") === "out") out.bytesOut = num(v.b);
      else out.bytesIn = num(v.b);
    }
    return out;
  }

  async function samplePeaks(q: SampleQuery & { stepMs: number }): Promise<SampleSums[]> {
    const [result] = await query([peaksStatement(q)]);
    return peaksOf(result);
  }

  async function sampleRank(
    q: SampleQuery & { rank: number },
  ): Promise<{ bytesIn: number; bytesOut: number }> {
    const [result] = await query([rankStatement(q)]);
    return rankOf(result, q.rank);
  }

  /**
   * samplePeaks and sampleRank as two requests at once: in one request InfluxDB runs the
   * statements in turn, and a year of samples took longer than the two side by side.
   */
  async function sampleStats(q: SampleStatsQuery): Promise<SampleStats> {
    const { stepMs, rank } = q;
    const peaks = stepMs === undefined ? undefined : peaksStatement({ ...q, stepMs });
    const top = rank === undefined ? undefined : rankStatement({ ...q, rank });
    if (peaks === undefined && top === undefined) samplesSubquery("sampleStats", q); // its checks
    const [peaksResult, rankResult] = await Promise.all([
      peaks === undefined ? undefined : query([peaks]),
      top === undefined ? undefined : query([top]),
    ]);
    return {
      peaks: peaksResult === undefined ? [] : peaksOf(peaksResult[0]),
      rank: rankResult === undefined ? null : rankOf(rankResult[0], rank!),
    };
  }

  return { overview, traffic, samples, samplePeaks, sampleRank, sampleStats };
}
