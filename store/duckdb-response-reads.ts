/** The embedded store's reads of response times and SLA rows. */
import {
  type ResponseTimePoint,
  type ResponseTimeQuery,
  type SlaBreachClass,
  type SlaBreachMinutes,
  type SlaQuery,
  type SlaRow,
  zeroResponseTimeCounters,
} from "../schema/series-store.js";
import { BIGINT, VARCHAR } from "./duckdb-api.js";
import type { DuckDbConnection } from "./duckdb-connection.js";
import { RESPONSE_COUNTERS, RESPONSE_TABLES } from "./duckdb-schema.js";
import { SLA_COUNTER_COLUMNS, SLA_TABLES } from "./duckdb-sla.js";
import { hasTable, Params, seriesFilter, toNumber } from "./duckdb-sql.js";
import { timeBound } from "./levels.js";

/**
 * The breach list's minutes (SlaBreachMinutes) in one statement: the (customer, class) pairs
 * with a breach row; their rows with the level in force carried forward (the last row with a
 * target, in slaRows' order); per pair and minute the links summed, the level of the minute's
 * last row, and whether any row breached or carried another level; then the minutes that can
 * breach (kind 0) and each pair's level at its last minute (kind 1). $1, $2: the range.
 */
const BREACH_MINUTES_SQL = `WITH pairs AS (
  SELECT DISTINCT customer, traffic_class FROM sla_1m
  WHERE start_ms >= $1 AND start_ms < $2 AND breach_minutes > 0
), carried AS (
  SELECT s.customer, s.traffic_class, s.start_ms, s.transactions, s.good, s.breach_minutes,
    s.target_percent AS tp,
    CASE WHEN s.target_percent IS NULL THEN NULL ELSE coalesce(s.threshold_ms, 0) END AS th,
    last_value(s.target_percent IGNORE NULLS) OVER w AS level_tp,
    last_value(CASE WHEN s.target_percent IS NULL THEN NULL ELSE coalesce(s.threshold_ms, 0) END
      IGNORE NULLS) OVER w AS level_th,
    row_number() OVER (PARTITION BY s.customer, s.traffic_class, s.start_ms
      ORDER BY s.site DESC, s.link DESC) AS from_end
  FROM sla_1m AS s SEMI JOIN pairs AS p
    ON s.customer = p.customer AND s.traffic_class = p.traffic_class
  WHERE s.start_ms >= $1 AND s.start_ms < $2
  WINDOW w AS (PARTITION BY s.customer, s.traffic_class ORDER BY s.start_ms, s.site, s.link
    ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
), minutes AS MATERIALIZED (
  SELECT customer, traffic_class, start_ms, sum(transactions) AS transactions, sum(good) AS good,
    max(breach_minutes) > 0
      OR count(tp) < count(*) OR min(tp) <> max(tp) OR min(th) <> max(th) AS may_breach,
    any_value(level_tp) FILTER (WHERE from_end = 1) AS level_tp,
    any_value(level_th) FILTER (WHERE from_end = 1) AS level_th
  FROM carried GROUP BY customer, traffic_class, start_ms
)
SELECT 0 AS kind, customer, traffic_class, start_ms, transactions, good, level_th, level_tp
FROM minutes WHERE may_breach
UNION ALL
SELECT 1, customer, traffic_class, start_ms, NULL, NULL, level_th, level_tp
FROM minutes
QUALIFY row_number() OVER (PARTITION BY customer, traffic_class ORDER BY start_ms DESC) = 1`;

export function createDuckDbResponseReads(db: DuckDbConnection) {
  const { query } = db;

  async function slaBreachMinutes(q: { fromMs: number; toMs: number }): Promise<SlaBreachMinutes> {
    const out: SlaBreachMinutes = { classes: [], minutes: [] };
    const from = BigInt(timeBound("slaBreachMinutes: fromMs", q.fromMs));
    const to = BigInt(timeBound("slaBreachMinutes: toMs", q.toMs));
    if (!(await hasTable(query, SLA_TABLES["1m"]))) return out;
    for (const r of await query(BREACH_MINUTES_SQL, [from, to], [BIGINT, BIGINT])) {
      const c: SlaBreachClass = { customer: String(r[1]), trafficClass: String(r[2]) };
      if (r[7] !== null) {
        c.thresholdMs = toNumber(r[6]);
        c.targetPercent = toNumber(r[7]);
      }
      if (Number(r[0]) === 1) out.classes.push(c);
      else {
        out.minutes.push({
          ...c,
          startMs: toNumber(r[3]),
          transactions: toNumber(r[4]),
          good: toNumber(r[5]),
        });
      }
    }
    return out;
  }

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
    if (!(await hasTable(query, SLA_TABLES[q.level]))) return [];
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

  return { slaRows, slaBreachMinutes, responseTimes };
}
