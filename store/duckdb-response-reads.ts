/** The embedded store's reads of response times and SLA rows. */
import {
  type ResponseTimePoint,
  type ResponseTimeQuery,
  type SlaQuery,
  type SlaRow,
  zeroResponseTimeCounters,
} from "../schema/series-store.js";
import { BIGINT, VARCHAR } from "./duckdb-api.js";
import type { DuckDbConnection } from "./duckdb-connection.js";
import { RESPONSE_COUNTERS, RESPONSE_TABLES } from "./duckdb-schema.js";
import { SLA_COUNTER_COLUMNS, SLA_TABLES } from "./duckdb-sla.js";
import { Params, seriesFilter, toNumber } from "./duckdb-sql.js";
import { timeBound } from "./levels.js";

export function createDuckDbResponseReads(db: DuckDbConnection) {
  const { query } = db;

  async function slaRows(q: SlaQuery): Promise<SlaRow[]> {
    if (!(q.level in SLA_TABLES)) {
      throw new RangeError(`slaRows: level ${String(q.level)}: expected 1m, 5m, 1h, 1d`);
    }
    const params = new Params();
    const where = [
      `start_ms >= ${params.add(BigInt(timeBound("slaRows: fromMs", q.fromMs)), BIGINT)}`,
      `start_ms < ${params.add(BigInt(timeBound("slaRows: toMs", q.toMs)), BIGINT)}`,
    ];
    if (q.customer !== undefined) where.push(`customer = ${params.add(q.customer, VARCHAR)}`);
    if (q.trafficClass !== undefined) {
      where.push(`traffic_class = ${params.add(q.trafficClass, VARCHAR)}`);
    }
    if (q.breachesOnly === true) where.push("breach_minutes > 0");
    // A file written before the SLA tables existed, opened read-only, has none.
    const have = await query(
      "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = $1",
      [SLA_TABLES[q.level]],
      [VARCHAR],
    );
    if (Number(have[0]![0]) === 0) return [];
    const sql = `SELECT start_ms, customer, site, link, traffic_class, ${SLA_COUNTER_COLUMNS.join(", ")},
  threshold_ms, target_percent FROM ${SLA_TABLES[q.level]}
WHERE ${where.join(" AND ")} ORDER BY start_ms, customer, site, link, traffic_class`;
    const rows = await query(sql, params.values, params.types);
    return rows.map((r) => {
      const row: SlaRow = {
        level: q.level,
        startMs: toNumber(r[0]),
        customer: String(r[1]),
        site: String(r[2]),
        link: String(r[3]),
        trafficClass: String(r[4]),
        transactions: toNumber(r[5]),
        good: toNumber(r[6]),
        estimated: toNumber(r[7]),
        compliantMinutes: toNumber(r[8]),
        breachMinutes: toNumber(r[9]),
        noDataMinutes: toNumber(r[10]),
      };
      if (r[11] !== null) row.thresholdMs = toNumber(r[11]);
      if (r[12] !== null) row.targetPercent = toNumber(r[12]);
      return row;
    });
  }

  async function responseTimes(q: ResponseTimeQuery): Promise<ResponseTimePoint[]> {
    if (!(q.level in RESPONSE_TABLES)) {
      throw new RangeError(`responseTimes: level ${String(q.level)}: expected 1m, 5m, 1h, 1d`);
    }
    const params = new Params();
    const where = seriesFilter("responseTimes", q, params);
    const sql = `SELECT start_ms, metric, sum(value) FROM ${RESPONSE_TABLES[q.level]}
WHERE ${where.join(" AND ")} GROUP BY start_ms, metric ORDER BY start_ms, metric`;
    const rows = await query(sql, params.values, params.types);
    const out: ResponseTimePoint[] = [];
    let point: ResponseTimePoint | undefined;
    let bins: Array<[number, number]> = [];
    for (const [start, metric, value] of rows) {
      const timeMs = toNumber(start);
      if (point === undefined || point.timeMs !== timeMs) {
        bins = [];
        point = { timeMs, ...zeroResponseTimeCounters(), bins };
        out.push(point);
      }
      const name = metric as string;
      const v = toNumber(value);
      if (name.startsWith("bin:")) bins.push([Number(name.slice(4)), v]);
      else if ((RESPONSE_COUNTERS as readonly string[]).includes(name)) {
        point[name as (typeof RESPONSE_COUNTERS)[number]] = v;
      }
    }
    for (const p of out) (p.bins as Array<[number, number]>).sort((a, b) => a[0] - b[0]);
    return out;
  }

  return { slaRows, responseTimes };
}
