/**
 * The embedded store's rows read back by key (the write-ahead log's replay checks what a write
 * left), and the marks of the log positions written.
 */
import {
  type ResponseTimeRowDelta,
  type ResponseTimeRowKey,
  type SeriesRowDelta,
  type SeriesRowKey,
  type TrafficDirection,
  zeroResponseTimeCounters,
} from "../schema/series-store.js";
import { BIGINT, LIST, listValue, VARCHAR } from "./duckdb-api.js";
import type { DuckDbConnection } from "./duckdb-connection.js";
import { KEY_COLUMNS, RESPONSE_COUNTERS, RESPONSE_TABLES, TABLES } from "./duckdb-schema.js";
import { keysByLevel, toNumber } from "./duckdb-sql.js";
import { rowKey } from "./row-validation.js";

export function createDuckDbReadBack(db: DuckDbConnection) {
  const { query } = db;

  async function readMarks(): Promise<Record<string, number>> {
    const have = await query(
      "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = 'flowtally_marks'",
      [],
      [],
    );
    if (Number(have[0]![0]) === 0) return {};
    const rows = await query("SELECT name, seq FROM flowtally_marks", [], []);
    return Object.fromEntries(rows.map((r) => [String(r[0]), Number(r[1])]));
  }

  async function readSeries(keys: readonly SeriesRowKey[]): Promise<SeriesRowDelta[]> {
    const out: SeriesRowDelta[] = [];
    for (const { level, wanted, starts, customers } of keysByLevel(keys)) {
      const sql = `SELECT ${KEY_COLUMNS}, bytes, packets, flows FROM ${TABLES[level]}
WHERE list_contains($1, start_ms) AND list_contains($2, customer)`;
      const rows = await query(
        sql,
        [listValue(starts), listValue(customers)],
        [LIST(BIGINT), LIST(VARCHAR)],
      );
      for (const [
        customer,
        site,
        link,
        trafficClass,
        direction,
        start,
        bytes,
        packets,
        flows,
      ] of rows) {
        const row: SeriesRowDelta = {
          level,
          startMs: toNumber(start),
          customer: String(customer),
          site: String(site),
          link: String(link),
          trafficClass: String(trafficClass),
          direction: direction as TrafficDirection,
          bytes: toNumber(bytes),
          packets: toNumber(packets),
          flows: toNumber(flows),
        };
        if (wanted.has(rowKey(row))) out.push(row);
      }
    }
    return out;
  }

  async function readResponseTimes(
    keys: readonly ResponseTimeRowKey[],
  ): Promise<ResponseTimeRowDelta[]> {
    const out: ResponseTimeRowDelta[] = [];
    for (const { level, wanted, starts, customers } of keysByLevel(keys)) {
      const sql = `SELECT customer, site, link, traffic_class, start_ms, metric, value
FROM ${RESPONSE_TABLES[level]}
WHERE list_contains($1, start_ms) AND list_contains($2, customer)
ORDER BY customer, site, link, traffic_class, start_ms, metric`;
      const rows = await query(
        sql,
        [listValue(starts), listValue(customers)],
        [LIST(BIGINT), LIST(VARCHAR)],
      );
      const byKey = new Map<string, ResponseTimeRowDelta & { bins: Array<[number, number]> }>();
      for (const [customer, site, link, trafficClass, start, metric, value] of rows) {
        const k = {
          level,
          startMs: toNumber(start),
          customer: String(customer),
          site: String(site),
          link: String(link),
          trafficClass: String(trafficClass),
        };
        const id = rowKey({ ...k, direction: "" });
        if (!wanted.has(id)) continue;
        let row = byKey.get(id);
        if (row === undefined) {
          row = { ...k, ...zeroResponseTimeCounters(), bins: [] };
          byKey.set(id, row);
        }
        const name = String(metric);
        if (name.startsWith("bin:")) row.bins.push([Number(name.slice(4)), toNumber(value)]);
        else if ((RESPONSE_COUNTERS as readonly string[]).includes(name)) {
          row[name as (typeof RESPONSE_COUNTERS)[number]] = toNumber(value);
        }
      }
      for (const row of byKey.values()) {
        row.bins.sort((a, b) => a[0] - b[0]);
        out.push(row);
      }
    }
    return out;
  }

  return { readMarks, readSeries, readResponseTimes };
}
