/** The InfluxDB store's reads of response times and SLA rows. */
import type {
  ResponseTimePoint,
  ResponseTimeQuery,
  SlaQuery,
  SlaRow,
} from "../schema/series-store.js";
import type { InfluxClient } from "./influx-client.js";
import { msLiteral, num, seriesFilter, seriesRows, tagEquals } from "./influx-ql.js";
import type { InfluxReadBack } from "./influx-read-back.js";
import { binsOf, countersOf, RESPONSE, SLA } from "./influx-schema.js";
import { timeBound } from "./levels.js";

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
    const [result] = await query([
      `SELECT * FROM ${fromSla(q.level)} WHERE ${where.join(" AND ")} GROUP BY "customer", "site", "link", "class"`,
    ]);
    const out: SlaRow[] = [];
    for (const s of result?.series ?? []) {
      for (const v of seriesRows(s)) out.push(slaRowOf(q.level, s, v));
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

  return { slaRows, responseTimes };
}
