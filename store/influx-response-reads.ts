/** The InfluxDB store's reads of response times and SLA rows. */
import type {
  ResponseTimePoint,
  ResponseTimeQuery,
  SeriesLevel,
  SlaBreachMinutes,
  SlaQuery,
  SlaRow,
} from "../schema/series-store.js";
import { breachMinutesOfRows } from "../sla/breach-minutes.js";
import type { InfluxClient } from "./influx-client.js";
import { anyOf, msLiteral, num, seriesFilter, seriesRows, tag, tagEquals } from "./influx-ql.js";
import type { InfluxReadBack } from "./influx-read-back.js";
import { binsOf, countersOf, RESPONSE, SLA } from "./influx-schema.js";
import { timeBound } from "./levels.js";

/** Customers per statement of the breach list's read (an OR of tag matches each). */
const BREACH_CUSTOMERS = 200;
/** Statements of the breach list's read per request (1 000 customers). */
const STATEMENTS_PER_REQUEST = 5;

export function createInfluxResponseReads(client: InfluxClient, readBack: InfluxReadBack) {
  const { ensureStarted, query, from, fromSla } = client;

  const { slaRowOf } = readBack;

  async function slaRows(q: SlaQuery): Promise<SlaRow[]> {
    ensureStarted();
    if (!(q.level in SLA)) {
      throw new RangeError(`slaRows: level ${String(q.level)}: expected 1m, 5m, 1h, 1d`);
    }
    const where = [
      `time >= ${msLiteral(timeBound("slaRows: fromMs", q.fromMs))}`,
      `time < ${msLiteral(timeBound("slaRows: toMs", q.toMs))}`,
    ];
    if (q.customer !== undefined) where.push(tagEquals("customer", q.customer));
    if (q.trafficClass !== undefined) where.push(tagEquals("class", q.trafficClass));
    if (q.breachesOnly === true) where.push(`"breachMinutes" > 0`);
    return slaRowsWhere(q.level, [where]);
  }

  /** The rows of each statement's filter (one request), in slaRows' order. */
  async function slaRowsWhere(level: SeriesLevel, filters: string[][]): Promise<SlaRow[]> {
    const statements = filters.map(
      (where) =>
        `SELECT * FROM ${fromSla(level)} WHERE ${where.join(" AND ")} GROUP BY "customer", "site", "link", "class"`,
    );
    // A few statements a request: one request of many large statements outlasts the timeout.
    const results = [];
    for (let at = 0; at < statements.length; at += STATEMENTS_PER_REQUEST) {
      results.push(...(await query(statements.slice(at, at + STATEMENTS_PER_REQUEST))));
    }
    const out: SlaRow[] = [];
    for (const result of results) {
      for (const s of result.series ?? []) {
        for (const v of seriesRows(s)) out.push(slaRowOf(level, s, v));
      }
    }
    const text = (r: SlaRow) => [r.customer, r.site, r.link, r.trafficClass];
    return out.sort((a, b) => {
      if (a.startMs !== b.startMs) return a.startMs - b.startMs;
      const x = text(a);
      const y = text(b);
      for (let k = 0; k < 4; k++) if (x[k] !== y[k]) return x[k]! < y[k]! ? -1 : 1;
      return 0;
    });
  }

  /**
   * The breach list's minutes: the breach rows of the range (one statement) name the customers;
   * their rows are read in statements of BREACH_CUSTOMERS customers each, STATEMENTS_PER_REQUEST
   * a request, and reduced here (sla/breach-minutes.ts: InfluxQL has no window functions).
   */
  async function slaBreachMinutes(q: { fromMs: number; toMs: number }): Promise<SlaBreachMinutes> {
    ensureStarted();
    const range = [
      `time >= ${msLiteral(timeBound("slaBreachMinutes: fromMs", q.fromMs))}`,
      `time < ${msLiteral(timeBound("slaBreachMinutes: toMs", q.toMs))}`,
    ];
    const [result] = await query([
      `SELECT "breachMinutes" FROM ${fromSla("1m")} WHERE ${[...range, `"breachMinutes" > 0`].join(" AND ")} GROUP BY "customer"`,
    ]);
    const customers = [...new Set((result?.series ?? []).map((s) => tag(s, "customer")))].sort();
    const filters: string[][] = [];
    for (let at = 0; at < customers.length; at += BREACH_CUSTOMERS) {
      filters.push([...range, anyOf("customer", customers.slice(at, at + BREACH_CUSTOMERS))]);
    }
    return breachMinutesOfRows(await slaRowsWhere("1m", filters));
  }

  async function responseTimes(q: ResponseTimeQuery): Promise<ResponseTimePoint[]> {
    if (!(q.level in RESPONSE)) {
      throw new RangeError(`responseTimes: level ${String(q.level)}: expected 1m, 5m, 1h, 1d`);
    }
    ensureStarted();
    const [result] = await query([
      `SELECT sum(*) FROM ${from(RESPONSE, q.level)} WHERE ${seriesFilter("responseTimes", q)} GROUP BY time(${q.level}) fill(none)`,
    ]);
    return (result?.series ?? [])
      .flatMap(seriesRows)
      .map((v) => ({ timeMs: num(v.time), ...countersOf(v, "sum_"), bins: binsOf(v) }))
      .sort((a, b) => a.timeMs - b.timeMs);
  }

  return { slaRows, slaBreachMinutes, responseTimes };
}
