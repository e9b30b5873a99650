/**
 * The embedded store's traffic reads: the overview of every customer, one customer's points, its
 * samples, and their peaks and rank (store/sample-stats.ts).
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
import { BIGINT, LIST, listValue, VARCHAR } from "./duckdb-api.js";
import type { DuckDbConnection } from "./duckdb-connection.js";
import { TABLES } from "./duckdb-schema.js";
import { directionSum, Params, seriesFilter, toNumber } from "./duckdb-sql.js";
import { overviewRange, TILING, tileRange } from "./levels.js";
import { peaksPerStep, rankedValue, type SampleColumns } from "./sample-stats.js";

export function createDuckDbTrafficReads(db: DuckDbConnection) {
  const { query, queryColumns } = db;

  async function overview(q: OverviewQuery): Promise<CustomerTotals[]> {
    // Rows whose 1-minute period starts in [fromMs, toMs), like `traffic`.
    const [fromMs, toMs] = overviewRange(q);
    if (fromMs >= toMs || q.customers?.length === 0) return [];
    const params = new Params();
    const customerFilter =
      q.customers === undefined
        ? ""
        : ` AND list_contains(${params.add(listValue([...q.customers]), LIST(VARCHAR))}, customer)`;
    const pieces = tileRange(fromMs, toMs, q.coarseUntilMs);
    const selects: string[] = [];
    for (const level of TILING) {
      const ranges = pieces
        .filter((p) => p.level === level)
        .map(
          (p) =>
            `(start_ms >= ${params.add(BigInt(p.fromMs), BIGINT)} AND start_ms < ${params.add(BigInt(p.toMs), BIGINT)})`,
        );
      if (ranges.length === 0) continue;
      selects.push(
        `SELECT customer, direction, bytes, packets, flows FROM ${TABLES[level]} WHERE (${ranges.join(" OR ")})${customerFilter}`,
      );
    }
    const sql = `SELECT customer,
  ${directionSum("bytes", "in")}, ${directionSum("bytes", "out")},
  ${directionSum("packets", "in")}, ${directionSum("packets", "out")}, sum(flows)
FROM (${selects.join(" UNION ALL ")})
GROUP BY customer ORDER BY customer`;
    const rows = await query(sql, params.values, params.types);
    return rows.map((row) => ({
      customer: String(row[0]),
      bytesIn: toNumber(row[1]),
      bytesOut: toNumber(row[2]),
      packetsIn: toNumber(row[3]),
      packetsOut: toNumber(row[4]),
      flows: toNumber(row[5]),
    }));
  }

  /** Per-period sums of one customer's rows at one level, in time order. */
  async function points(
    name: string,
    q: Omit<TrafficQuery, "level">,
    level: SeriesLevel,
    allowed: readonly SeriesLevel[],
    withPackets: boolean,
  ): Promise<unknown[][]> {
    if (!allowed.includes(level)) {
      throw new RangeError(`${name}: level ${String(level)}: expected ${allowed.join(", ")}`);
    }
    const params = new Params();
    const where = seriesFilter(name, q, params);
    const sums = [directionSum("bytes", "in"), directionSum("bytes", "out")];
    if (withPackets) sums.push(directionSum("packets", "in"), directionSum("packets", "out"));
    const sql = `SELECT start_ms, ${sums.join(", ")} FROM ${TABLES[level]}
WHERE ${where.join(" AND ")} GROUP BY start_ms ORDER BY start_ms`;
    return query(sql, params.values, params.types);
  }

  async function traffic(q: TrafficQuery): Promise<TrafficPoint[]> {
    const rows = await points("traffic", q, q.level, ["1m", "5m", "1h", "1d"], true);
    return rows.map((row) => ({
      timeMs: toNumber(row[0]),
      bytesIn: toNumber(row[1]),
      bytesOut: toNumber(row[2]),
      packetsIn: toNumber(row[3]),
      packetsOut: toNumber(row[4]),
    }));
  }

  async function samples(
    q: Omit<TrafficQuery, "level"> & { level: "1m" | "5m" },
  ): Promise<Array<{ timeMs: number; bytesIn: number; bytesOut: number }>> {
    const rows = await points("samples", q, q.level, ["1m", "5m"], false);
    return rows.map((row) => ({
      timeMs: toNumber(row[0]),
      bytesIn: toNumber(row[1]),
      bytesOut: toNumber(row[2]),
    }));
  }

  /**
   * The samples of a SampleQuery (the byte sums of each period of the level, in and out) as
   * columns, in no order: one read for the peaks and the rank alike (store/sample-stats.ts).
   */
  async function sampleColumns(name: string, q: SampleQuery): Promise<SampleColumns> {
    if (q.level !== "1m" && q.level !== "5m") {
      throw new RangeError(`${name}: level ${String(q.level)}: expected 1m, 5m`);
    }
    const params = new Params();
    const where = seriesFilter(name, q, params);
    // DOUBLE start: a period start (ms, < 2^53) is exact in it, and the column is read as such.
    const sql = `SELECT start_ms::DOUBLE, ${directionSum("bytes", "in")}, ${directionSum("bytes", "out")}
FROM ${TABLES[q.level]} WHERE ${where.join(" AND ")} GROUP BY start_ms`;
    const [timeMs, bytesIn, bytesOut] = await queryColumns(sql, params.values, params.types);
    return { timeMs: timeMs!, bytesIn: bytesIn!, bytesOut: bytesOut! };
  }

  async function sampleStats(q: SampleStatsQuery): Promise<SampleStats> {
    if (q.stepMs !== undefined && (!Number.isSafeInteger(q.stepMs) || q.stepMs <= 0)) {
      throw new RangeError(`samplePeaks: stepMs ${q.stepMs}: expected a whole number of ms > 0`);
    }
    if (q.rank !== undefined && (!Number.isSafeInteger(q.rank) || q.rank < 1)) {
      throw new RangeError(`sampleRank: rank ${q.rank}: expected a whole number ≥ 1`);
    }
    const s = await sampleColumns("sampleStats", q);
    const peaks = q.stepMs === undefined ? [] : peaksPerStep(s, q.stepMs);
    // After the peaks: rankedValue reorders the columns it is given.
    const rank =
      q.rank === undefined
        ? null
        : { bytesIn: rankedValue(s.bytesIn, q.rank), bytesOut: rankedValue(s.bytesOut, q.rank) };
    return { peaks, rank };
  }

  async function samplePeaks(q: SampleQuery & { stepMs: number }): Promise<SampleSums[]> {
    const only: SampleStatsQuery = { ...q };
    delete only.rank;
    return (await sampleStats(only)).peaks;
  }

  async function sampleRank(
    q: SampleQuery & { rank: number },
  ): Promise<{ bytesIn: number; bytesOut: number }> {
    const only: SampleStatsQuery = { ...q };
    delete only.stepMs;
    return (await sampleStats(only)).rank!;
  }

  return { overview, traffic, samples, sampleStats, samplePeaks, sampleRank };
}
