/**
 * The InfluxDB store's rows read back by key: for the read-modify-write of its writes (InfluxDB
 * has no "add to the stored value"), for the write-ahead log's replay, and the log's marks.
 */
import {
  type ResponseTimeRowDelta,
  type ResponseTimeRowKey,
  type SeriesLevel,
  type SeriesRowDelta,
  type SeriesRowKey,
  type SlaRow,
  slaCounters,
} from "../schema/series-store.js";
import type { InfluxClient } from "./influx-client.js";
import { byLevel, keyFilters, num, type Series, seriesRows, tag } from "./influx-ql.js";
import { binsOf, countersOf, MARKS, RESPONSE, TRAFFIC } from "./influx-schema.js";
import { rowKey } from "./row-validation.js";

export function createInfluxReadBack(client: InfluxClient) {
  const { ensureStarted, query, from, fromSla } = client;

  /**
   * The stored rows of these keys: per level, one statement per run of nearby periods (a
   * superset), narrowed here to the keys asked for (`id` of a key and of a row must match).
   */
  async function readKeys<K extends { level: SeriesLevel; customer: string; startMs: number }, R>(
    keys: readonly K[],
    select: (level: SeriesLevel) => string,
    toRow: (level: SeriesLevel, s: Series, v: Record<string, unknown>) => R,
    id: (k: K | R) => string,
  ): Promise<R[]> {
    const out: R[] = [];
    for (const [level, mine] of byLevel(keys)) {
      const wanted = new Set(mine.map(id));
      const statements = keyFilters(mine, level).map(
        (where) => `${select(level)} WHERE ${where} GROUP BY *`,
      );
      for (const s of (await query(statements)).flatMap((r) => r.series ?? [])) {
        for (const v of seriesRows(s)) {
          const row = toRow(level, s, v);
          if (wanted.has(id(row))) out.push(row);
        }
      }
    }
    return out;
  }

  /** Where a row of a result lives (its level, period and tags). */
  const rowPlace = (level: SeriesLevel, s: Series, v: Record<string, unknown>) => ({
    level,
    startMs: num(v.time),
    customer: tag(s, "customer"),
    site: tag(s, "site"),
    link: tag(s, "link"),
    trafficClass: tag(s, "class"),
  });

  function readTraffic(keys: readonly SeriesRowKey[]): Promise<SeriesRowDelta[]> {
    return readKeys(
      keys,
      (level) => `SELECT bytes, packets, flows FROM ${from(TRAFFIC, level)}`,
      (level, s, v): SeriesRowDelta => ({
        ...rowPlace(level, s, v),
        // Every point has direction in or out: flowtally writes no other.
        direction: tag(s, "direction") === "out" ? "out" : "in",
        bytes: num(v.bytes),
        packets: num(v.packets),
        flows: num(v.flows),
      }),
      rowKey,
    );
  }

  /** The stored response-time rows of these keys, bins in key order. */
  function readResponses(keys: readonly ResponseTimeRowKey[]): Promise<ResponseTimeRowDelta[]> {
    return readKeys(
      keys,
      (level) => `SELECT * FROM ${from(RESPONSE, level)}`,
      (level, s, v): ResponseTimeRowDelta => ({
        ...rowPlace(level, s, v),
        ...countersOf(v, ""),
        bins: binsOf(v),
      }),
      (k) => rowKey({ ...k, direction: "" }),
    );
  }

  /** The stored SLA rows of these keys (one level each call's keys are of). */
  function readSla(keys: readonly ResponseTimeRowKey[]): Promise<SlaRow[]> {
    return readKeys(
      keys,
      (level) => `SELECT * FROM ${fromSla(level)}`,
      (level, s, v): SlaRow => slaRowOf(level, s, v),
      (k) => rowKey({ ...k, direction: "" }),
    );
  }

  function slaRowOf(level: SeriesLevel, s: Series, v: Record<string, unknown>): SlaRow {
    const row = { ...rowPlace(level, s, v) } as SlaRow;
    for (const c of slaCounters) row[c] = num(v[c]);
    if (typeof v.thresholdMs === "number") row.thresholdMs = v.thresholdMs;
    if (typeof v.targetPercent === "number") row.targetPercent = v.targetPercent;
    return row;
  }

  async function readMarks(): Promise<Record<string, number>> {
    ensureStarted();
    const [result] = await query([
      `SELECT last(seq) AS seq FROM ${from({ "1m": MARKS, "5m": MARKS, "1h": MARKS, "1d": MARKS }, "1d")} GROUP BY "name"`,
    ]);
    const out: Record<string, number> = {};
    for (const series of result?.series ?? []) {
      const name = series.tags?.name;
      const row = seriesRows(series)[0];
      if (name !== undefined && row !== undefined) out[name] = num(row.seq);
    }
    return out;
  }

  async function readSeries(keys: readonly SeriesRowKey[]): Promise<SeriesRowDelta[]> {
    ensureStarted();
    return keys.length === 0 ? [] : readTraffic(keys);
  }

  async function readResponseTimes(
    keys: readonly ResponseTimeRowKey[],
  ): Promise<ResponseTimeRowDelta[]> {
    ensureStarted();
    return keys.length === 0 ? [] : readResponses(keys);
  }

  return {
    readKeys,
    rowPlace,
    readTraffic,
    readResponses,
    readSla,
    slaRowOf,
    readMarks,
    readSeries,
    readResponseTimes,
  };
}

/** What the store's other files use of the rows read back. */
export type InfluxReadBack = ReturnType<typeof createInfluxReadBack>;
