/**
 * The embedded store's tables (store/duckdb-store.ts has the layout and why): their DDL, run at
 * start as one query, and the SQL that moves staged rows into them.
 */
import type { DuckDBType } from "@duckdb/node-api";
import { responseTimeCounters, type SeriesLevel } from "../schema/series-store.js";
import { BIGINT, DOUBLE, VARCHAR } from "./duckdb-api.js";
import { CREATE_LINK_STATUS_SQL, CREATE_LINK_STATUS_STAGING_SQL } from "./duckdb-link-status.js";
import { CREATE_SLA_WORK_SQL, createSlaTableSql } from "./duckdb-sla.js";
import { LEVEL_NAMES } from "./levels.js";

/** Table names come from this map only, never from a caller's string. */
export const TABLES: Readonly<Record<SeriesLevel, string>> = {
  "1m": "series_1m",
  "5m": "series_5m",
  "1h": "series_1h",
  "1d": "series_1d",
};

export const KEY_COLUMNS = "customer, site, link, traffic_class, direction, start_ms";

export const STAGING_COLUMNS: readonly DuckDBType[] = [
  VARCHAR, // level
  BIGINT, // start_ms
  VARCHAR, // customer
  VARCHAR, // site
  VARCHAR, // link
  VARCHAR, // traffic_class
  VARCHAR, // direction
  DOUBLE, // bytes
  DOUBLE, // packets
  DOUBLE, // flows
];
/**
 * Response times: one additive value per (series, period, metric), one table per level
 * (`response_1m` ...). Metrics are the counters of ResponseTimeSums by name and the sketch bins
 * as `bin:<key>`, so sums, delay totals and histograms all merge by the same additive upsert.
 */
export const RESPONSE_TABLES: Readonly<Record<SeriesLevel, string>> = {
  "1m": "response_1m",
  "5m": "response_5m",
  "1h": "response_1h",
  "1d": "response_1d",
};
export const RESPONSE_KEY = "customer, site, link, traffic_class, metric, start_ms";
export const RESPONSE_COUNTERS = responseTimeCounters;
export const RESPONSE_STAGING_COLUMNS: readonly DuckDBType[] = [
  VARCHAR, // level
  BIGINT, // start_ms
  VARCHAR, // customer
  VARCHAR, // site
  VARCHAR, // link
  VARCHAR, // traffic_class
  VARCHAR, // metric
  DOUBLE, // value
];

export function createResponseTableSql(level: SeriesLevel): string {
  return `CREATE TABLE IF NOT EXISTS ${RESPONSE_TABLES[level]} (
  start_ms BIGINT NOT NULL,
  customer VARCHAR NOT NULL,
  site VARCHAR NOT NULL,
  link VARCHAR NOT NULL,
  traffic_class VARCHAR NOT NULL,
  metric VARCHAR NOT NULL,
  value DOUBLE NOT NULL,
  PRIMARY KEY (${RESPONSE_KEY})
)`;
}

export const CREATE_RESPONSE_STAGING_SQL = `CREATE TEMP TABLE IF NOT EXISTS response_staging (
  level VARCHAR, start_ms BIGINT, customer VARCHAR, site VARCHAR, link VARCHAR,
  traffic_class VARCHAR, metric VARCHAR, value DOUBLE
)`;

export function responseUpsertSql(level: SeriesLevel): string {
  return `INSERT INTO ${RESPONSE_TABLES[level]} (${RESPONSE_KEY}, value)
SELECT ${RESPONSE_KEY}, sum(value)
FROM temp.response_staging WHERE level = '${level}'
GROUP BY ${RESPONSE_KEY}
ON CONFLICT (${RESPONSE_KEY}) DO UPDATE SET value = value + excluded.value`;
}

/** DuckDB's vector size: the most rows one data chunk holds. */
export const CHUNK_ROWS = 2048;

export function createTableSql(level: SeriesLevel): string {
  return `CREATE TABLE IF NOT EXISTS ${TABLES[level]} (
  start_ms BIGINT NOT NULL,
  customer VARCHAR NOT NULL,
  site VARCHAR NOT NULL,
  link VARCHAR NOT NULL,
  traffic_class VARCHAR NOT NULL,
  direction VARCHAR NOT NULL CHECK (direction IN ('in', 'out')),
  bytes DOUBLE NOT NULL,
  packets DOUBLE NOT NULL,
  flows DOUBLE NOT NULL,
  PRIMARY KEY (${KEY_COLUMNS})
)`;
}

export const CREATE_VIEW_SQL = `CREATE OR REPLACE VIEW series AS ${LEVEL_NAMES.map(
  (level) => `SELECT '${level}' AS level, * FROM ${TABLES[level]}`,
).join(" UNION ALL ")}`;

/** Write-ahead log positions, written in the transaction of the rows they cover (StoreMark). */
export const CREATE_MARKS_SQL =
  "CREATE TABLE IF NOT EXISTS flowtally_marks (name VARCHAR PRIMARY KEY, seq DOUBLE NOT NULL)";
export const MARK_SQL =
  "INSERT INTO flowtally_marks VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET seq = greatest(flowtally_marks.seq, excluded.seq)";

export const CREATE_STAGING_SQL = `CREATE TEMP TABLE IF NOT EXISTS staging (
  level VARCHAR, start_ms BIGINT, customer VARCHAR, site VARCHAR, link VARCHAR,
  traffic_class VARCHAR, direction VARCHAR, bytes DOUBLE, packets DOUBLE, flows DOUBLE
)`;

/**
 * The tables, the view, the staging tables and the marks, in order, as one query: a statement was
 * a round trip to DuckDB's threads, and at `run`'s start each waited for the main thread, busy
 * building the customer model (cli/pipeline.ts).
 */
export const SCHEMA_SQL = [
  ...LEVEL_NAMES.map(createTableSql),
  ...LEVEL_NAMES.map(createResponseTableSql),
  CREATE_RESPONSE_STAGING_SQL,
  ...LEVEL_NAMES.map(createSlaTableSql),
  CREATE_SLA_WORK_SQL,
  ...CREATE_LINK_STATUS_SQL,
  CREATE_LINK_STATUS_STAGING_SQL,
  CREATE_VIEW_SQL,
  CREATE_STAGING_SQL,
  CREATE_MARKS_SQL,
].join(";\n");

/**
 * Moves one level's staged rows into its table: `add` adds them to what is there (deltas),
 * `replace` overwrites it (absolute totals, whose keys are unique within a call).
 */
export function upsertSql(level: SeriesLevel, mode: "add" | "replace"): string {
  // The level is a literal from TABLES' keys, not a caller's string.
  const set =
    mode === "add"
      ? "bytes = bytes + excluded.bytes, packets = packets + excluded.packets, flows = flows + excluded.flows"
      : "bytes = excluded.bytes, packets = excluded.packets, flows = excluded.flows";
  return `INSERT INTO ${TABLES[level]} (${KEY_COLUMNS}, bytes, packets, flows)
SELECT ${KEY_COLUMNS}, sum(bytes), sum(packets), sum(flows)
FROM temp.staging WHERE level = '${level}'
GROUP BY ${KEY_COLUMNS}
ON CONFLICT (${KEY_COLUMNS}) DO UPDATE SET ${set}`;
}

/** Deletes the stored response-time rows of the keys staged for one level (before a replace). */
export function responseDeleteSql(level: SeriesLevel): string {
  return `DELETE FROM ${RESPONSE_TABLES[level]} AS t WHERE EXISTS (
  SELECT 1 FROM temp.response_staging AS s WHERE s.level = '${level}'
  AND s.customer = t.customer AND s.site = t.site AND s.link = t.link
  AND s.traffic_class = t.traffic_class AND s.start_ms = t.start_ms)`;
}
