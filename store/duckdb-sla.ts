/**
 * The embedded store's SLA series (docs/series-schema.md#sla-series): the tables `sla_1m` …
 * `sla_1d`, and their derivation in the transaction of every response-time write that has
 * 1-minute rows. sla/series.ts judges each minute written (`slaMinuteUpdate`); this file moves
 * the figures between DuckDB and that rule with as little work as it can:
 *
 * 1. one statement gathers, into the temporary table `sla_work`, every (customer, site, link,
 *    class, minute) the write staged at 1 minute, its response totals now (after the write) and
 *    its stored SLA row, numbered;
 * 2. only numbers and the class cross to JavaScript (the keys' strings stay in DuckDB), and only
 *    numbers come back (`sla_result`: the new minute row and its change, by number), through the
 *    appender's fast numeric columns;
 * 3. one query (several statements, one round trip) replaces the 1-minute rows, adds the changes
 *    to the 5m / 1h / 1d rows summed per period, and empties the two tables.
 *
 * What is judged and written is the same as reading every touched row into JavaScript and
 * staging the SLA rows with their keys (sla/series.ts `slaWrites`, as the Influx store does): the
 * figures are read back from the tables after the write, so late rows and rewrites stay exact.
 */
import { createRequire } from "node:module";
import type * as DuckDB from "@duckdb/node-api";
import type { DuckDBConnection, DuckDBType } from "@duckdb/node-api";
import { type SeriesLevel, slaCounters } from "../schema/series-store.js";
import type { LevelLookup } from "../sla/config-levels.js";
import { type SlaMinuteState, slaMinuteUpdate } from "../sla/series.js";

// Required, not imported by name: see store/duckdb-api.ts.
const { BIGINT, DOUBLE, DuckDBDataChunk, INTEGER } = createRequire(import.meta.url)(
  "@duckdb/node-api",
) as typeof DuckDB;

/** Table names come from this map only, never from a caller's string. */
export const SLA_TABLES: Readonly<Record<SeriesLevel, string>> = {
  "1m": "sla_1m",
  "5m": "sla_5m",
  "1h": "sla_1h",
  "1d": "sla_1d",
};
export const SLA_KEY = "customer, site, link, traffic_class, start_ms";
/** slaCounters' columns, in its order. */
export const SLA_COUNTER_COLUMNS = [
  "transactions",
  "good",
  "estimated",
  "compliant_minutes",
  "breach_minutes",
  "no_data_minutes",
] as const;

/** The coarse levels and their period (ms): what a minute's change adds to. */
const COARSE: ReadonlyArray<readonly [SeriesLevel, number]> = [
  ["5m", 300_000],
  ["1h", 3_600_000],
  ["1d", 86_400_000],
];

export function createSlaTableSql(level: SeriesLevel): string {
  return `CREATE TABLE IF NOT EXISTS ${SLA_TABLES[level]} (
  start_ms BIGINT NOT NULL,
  customer VARCHAR NOT NULL,
  site VARCHAR NOT NULL,
  link VARCHAR NOT NULL,
  traffic_class VARCHAR NOT NULL,
${SLA_COUNTER_COLUMNS.map((c) => `  ${c} DOUBLE NOT NULL,`).join("\n")}
  threshold_ms DOUBLE,
  target_percent DOUBLE,
  PRIMARY KEY (${SLA_KEY})
)`;
}

/** `d_<counter>`: a minute's change of a counter, in `sla_result`. */
const DELTA_COLUMNS = SLA_COUNTER_COLUMNS.map((c) => `d_${c}`);

/** The two work tables of a derivation (temporary: the writer connection's own). */
export const CREATE_SLA_WORK_SQL = `CREATE TEMP TABLE IF NOT EXISTS sla_work (
  idx INTEGER, customer VARCHAR, site VARCHAR, link VARCHAR, traffic_class VARCHAR,
  start_ms BIGINT, transactions DOUBLE, good DOUBLE, estimated DOUBLE, has_row BOOLEAN,
  ${SLA_COUNTER_COLUMNS.map((c) => `s_${c} DOUBLE`).join(", ")},
  s_threshold_ms DOUBLE, s_target_percent DOUBLE
);
CREATE TEMP TABLE IF NOT EXISTS sla_result (
  idx INTEGER, ${SLA_COUNTER_COLUMNS.map((c) => `${c} DOUBLE`).join(", ")},
  threshold_ms DOUBLE, target_percent DOUBLE, changed DOUBLE,
  ${DELTA_COLUMNS.map((c) => `${c} DOUBLE`).join(", ")}
)`;

const RESULT_COLUMNS: readonly DuckDBType[] = [
  INTEGER, // idx
  ...SLA_COUNTER_COLUMNS.map(() => DOUBLE),
  DOUBLE, // threshold_ms
  DOUBLE, // target_percent
  DOUBLE, // changed: 1 when the minute's counts changed, else 0
  ...DELTA_COLUMNS.map(() => DOUBLE),
];

/**
 * The minutes of this write (the 1m keys staged in `response_staging`), with their response
 * totals now and their stored SLA row, numbered, into `sla_work`. $1 and $2: the first and last
 * minute staged (only those row groups of the tables are read: zone maps on start_ms).
 */
const SLA_WORK_SQL = `INSERT INTO temp.sla_work
WITH t AS (
  SELECT DISTINCT customer, site, link, traffic_class, start_ms
  FROM temp.response_staging WHERE level = '1m'
), r AS (
  SELECT t.customer, t.site, t.link, t.traffic_class, t.start_ms,
    coalesce(sum(x.value) FILTER (WHERE x.metric = 'transactions'), 0) AS transactions,
    coalesce(sum(x.value) FILTER (WHERE x.metric = 'good'), 0) AS good,
    coalesce(sum(x.value) FILTER (WHERE x.metric = 'estimated'), 0) AS estimated
  FROM t LEFT JOIN (
    SELECT * FROM response_1m WHERE start_ms >= $1 AND start_ms <= $2
      AND metric IN ('transactions', 'good', 'estimated')
  ) AS x
    ON x.customer = t.customer AND x.site = t.site AND x.link = t.link
    AND x.traffic_class = t.traffic_class AND x.start_ms = t.start_ms
  GROUP BY t.customer, t.site, t.link, t.traffic_class, t.start_ms
)
SELECT (row_number() OVER () - 1)::INTEGER, r.customer, r.site, r.link, r.traffic_class,
  r.start_ms, r.transactions, r.good, r.estimated, s.start_ms IS NOT NULL,
  ${SLA_COUNTER_COLUMNS.map((c) => `s.${c}`).join(", ")}, s.threshold_ms, s.target_percent
FROM r LEFT JOIN (SELECT * FROM sla_1m WHERE start_ms >= $1 AND start_ms <= $2) AS s
  ON s.customer = r.customer AND s.site = r.site AND s.link = r.link
  AND s.traffic_class = r.traffic_class AND s.start_ms = r.start_ms`;

/** What JavaScript reads of `sla_work`: numbers and the class. */
const SLA_READ_SQL = `SELECT idx, traffic_class, transactions, good, estimated, has_row,
  ${SLA_COUNTER_COLUMNS.map((c) => `s_${c}`).join(", ")}, s_threshold_ms, s_target_percent
FROM temp.sla_work`;

/** Writes `sla_result` (joined to its keys in `sla_work`) to every level, then empties both. */
const SLA_APPLY_SQL = [
  `INSERT INTO ${SLA_TABLES["1m"]} (${SLA_KEY}, ${SLA_COUNTER_COLUMNS.join(", ")}, threshold_ms, target_percent)
SELECT w.customer, w.site, w.link, w.traffic_class, w.start_ms,
  ${SLA_COUNTER_COLUMNS.map((c) => `r.${c}`).join(", ")}, r.threshold_ms, r.target_percent
FROM temp.sla_result AS r JOIN temp.sla_work AS w ON w.idx = r.idx
ON CONFLICT (${SLA_KEY}) DO UPDATE SET ${[
    ...SLA_COUNTER_COLUMNS.map((c) => `${c} = excluded.${c}`),
    "threshold_ms = excluded.threshold_ms",
    "target_percent = excluded.target_percent",
  ].join(", ")}`,
  ...COARSE.map(
    ([
      level,
      ms,
    ]) => `INSERT INTO ${SLA_TABLES[level]} (${SLA_KEY}, ${SLA_COUNTER_COLUMNS.join(", ")})
SELECT w.customer, w.site, w.link, w.traffic_class,
  (floor(w.start_ms / ${ms}) * ${ms})::BIGINT AS period,
  ${DELTA_COLUMNS.map((c) => `sum(r.${c})`).join(", ")}
FROM temp.sla_result AS r JOIN temp.sla_work AS w ON w.idx = r.idx
WHERE r.changed <> 0
GROUP BY w.customer, w.site, w.link, w.traffic_class, period
ON CONFLICT (${SLA_KEY}) DO UPDATE SET ${SLA_COUNTER_COLUMNS.map((c) => `${c} = ${c} + excluded.${c}`).join(", ")}`,
  ),
  "DELETE FROM temp.sla_result",
  "DELETE FROM temp.sla_work",
].join(";\n");

/** DuckDB's vector size: the most rows one data chunk holds. */
const CHUNK_ROWS = 2048;

/**
 * In the transaction of a response-time write, after its upserts into `response_1m` (and with
 * its rows still in `response_staging`): judges each minute written, minutes `firstMs` to
 * `lastMs`, and writes its SLA row and the change of the coarse ones.
 */
export async function deriveSla(
  w: DuckDBConnection,
  firstMs: number,
  lastMs: number,
  levelOf: LevelLookup,
): Promise<void> {
  await w.run(SLA_WORK_SQL, [BigInt(firstMs), BigInt(lastMs)], [BIGINT, BIGINT]);
  const c = (await w.runAndReadAll(SLA_READ_SQL)).getColumnsJS();
  const n = c[0]?.length ?? 0;
  // sla_result's columns, filled for the minutes that get a row.
  const out: Array<Array<number | null>> = RESULT_COLUMNS.map(() => []);
  for (let i = 0; i < n; i++) {
    let prev: SlaMinuteState | undefined;
    if (c[5]![i] === true) {
      prev = {
        transactions: c[6]![i] as number,
        good: c[7]![i] as number,
        estimated: c[8]![i] as number,
        compliantMinutes: c[9]![i] as number,
        breachMinutes: c[10]![i] as number,
        noDataMinutes: c[11]![i] as number,
      };
      if (c[12]![i] !== null) prev.thresholdMs = c[12]![i] as number;
      if (c[13]![i] !== null) prev.targetPercent = c[13]![i] as number;
    }
    const now = {
      transactions: c[2]![i] as number,
      good: c[3]![i] as number,
      estimated: c[4]![i] as number,
    };
    const u = slaMinuteUpdate(prev, now, levelOf(c[1]![i] as string));
    if (u === undefined) continue;
    let k = 0;
    out[k++]!.push(c[0]![i] as number);
    for (const name of slaCounters) out[k++]!.push(u.row[name]);
    out[k++]!.push(u.row.thresholdMs ?? null);
    out[k++]!.push(u.row.targetPercent ?? null);
    out[k++]!.push(u.delta === undefined ? 0 : 1);
    for (const name of slaCounters) out[k++]!.push(u.delta?.[name] ?? 0);
  }
  const m = out[0]!.length;
  if (m > 0) {
    const appender = await w.createAppender("sla_result", null, "temp");
    try {
      const chunk = DuckDBDataChunk.create(RESULT_COLUMNS);
      for (let at = 0; at < m; at += CHUNK_ROWS) {
        const size = Math.min(CHUNK_ROWS, m - at);
        chunk.reset();
        chunk.rowCount = size;
        chunk.setColumns(out.map((col) => col.slice(at, at + size)));
        appender.appendDataChunk(chunk);
      }
    } finally {
      appender.closeSync();
    }
  }
  await w.run(SLA_APPLY_SQL);
}
