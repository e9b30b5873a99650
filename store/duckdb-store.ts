/**
 * The embedded store: the series of `schema/series-store.ts` in one DuckDB file, for the
 * single-box setup (no server to install; the DuckDB binary ships inside an npm package).
 *
 * Layout: one table per level (`series_1m`, `series_5m`, `series_1h`, `series_1d`), each keyed by
 * (customer, site, link, traffic_class, direction, start_ms), plus a view `series` with a
 * `level` column over all four for people who query the file by hand. One table per level
 * rather than one table with a level column because every read names exactly one level: a
 * month's overview reads ~30 rows per key from `series_1d` instead of scanning row groups that
 * mix all levels (deltas of all four levels arrive interleaved, so a level column would defeat
 * DuckDB's per-row-group min/max pruning), and each primary-key index is smaller.
 *
 * Columns: `start_ms` BIGINT (period start, ms since the epoch, aligned to the level);
 * `bytes`, `packets`, `flows` DOUBLE. DOUBLE and not BIGINT because deltas can carry a fraction
 * (a non-integer sampling rate, see collector/aggregate/partial-sums.ts) that BIGINT would round
 * away; a DOUBLE holds every JS number as it is and sums whole numbers exactly up to 2^53
 * (9e15 bytes: over 8 days at 100 Gbit/s in one row), the same arithmetic the aggregator does.
 *
 * Writes: `addDeltas` appends the rows into a temporary staging table (DuckDB appender, data
 * chunks of 2048 rows) and moves them with one `INSERT ... SELECT ... GROUP BY ... ON CONFLICT
 * DO UPDATE SET bytes = bytes + excluded.bytes, ...` per level, all in one transaction. The
 * GROUP BY is required, not an optimisation: DuckDB drops all but one of the updates when two
 * rows of one INSERT hit the same key. Measured against the alternatives on 10 k-row batches:
 * appender ~170-200 k rows/s, unnest of LIST parameters ~70 k rows/s, multi-row VALUES with
 * bound parameters ~6 k rows/s.
 *
 * Concurrency: one connection writes and one reads, each running one statement sequence at a
 * time (a connection runs one thing at a time, and a transaction is per connection); calls
 * queue. Reads see the last committed state (DuckDB's MVCC), never half of an `addDeltas`.
 *
 * Failures: every error leaves as a FlowtallyError. A committed write is in the write-ahead log
 * (`<path>.wal`) before the call returns, so a stop whose checkpoint fails (disk full, read-only)
 * loses nothing: the next open applies the log. A write that fails is rolled back whole. After a
 * FATAL error DuckDB refuses every later call on that instance, so the store reports itself down
 * (`problem()`) for good. Before each write the store checks that its path still names the file
 * it opened (device and inode): a file deleted or replaced under the process would swallow the
 * rows into a file no one can open again, so writes are refused from then on (FT_STORE_FILE).
 */
import { existsSync, mkdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import type * as DuckDB from "@duckdb/node-api";
import type { DuckDBAppender, DuckDBConnection, DuckDBType, DuckDBValue } from "@duckdb/node-api";
import { FlowtallyError } from "../schema/errors.js";
import {
  type CustomerTotals,
  type LinkStatusQuery,
  type LinkStatusRow,
  type OverviewQuery,
  type ResponseTimePoint,
  type ResponseTimeQuery,
  type ResponseTimeRowDelta,
  type ResponseTimeRowKey,
  responseTimeCounters,
  type SampleQuery,
  type SampleStats,
  type SampleStatsQuery,
  type SampleSums,
  type SeriesLevel,
  type SeriesRowDelta,
  type SeriesRowKey,
  type SeriesStore,
  type SlaQuery,
  type SlaRow,
  type StoreMark,
  type TrafficDirection,
  type TrafficPoint,
  type TrafficQuery,
  zeroResponseTimeCounters,
} from "../schema/series-store.js";
import type { LevelLookup } from "../sla/config-levels.js";
import {
  CREATE_LINK_STATUS_SQL,
  LINK_STATUS_TABLES,
  linkStatusInserts,
  linkStatusRowOf,
  linkStatusSelect,
  type ParamKind,
} from "./duckdb-link-status.js";
import {
  CREATE_SLA_WORK_SQL,
  createSlaTableSql,
  deriveSla,
  SLA_COUNTER_COLUMNS,
  SLA_TABLES,
} from "./duckdb-sla.js";
import { LEVEL_NAMES, overviewRange, TILING, tileRange, timeBound } from "./levels.js";
import { rowKey, validateResponseRows, validateSeriesRows } from "./row-validation.js";
import { peaksPerStep, rankedValue, type SampleColumns } from "./sample-stats.js";
import { createSerialQueue } from "./serial-queue.js";

// Required, not imported by name: @duckdb/node-api is CommonJS whose index re-exports 180 files,
// and a named import from ESM has Node scan each file's source for its exports first
// (cjs-module-lexer): 0.2-0.3 s of `run`'s start-up on this VM.
const { BIGINT, DOUBLE, DuckDBDataChunk, DuckDBInstance, LIST, listValue, VARCHAR } = createRequire(
  import.meta.url,
)("@duckdb/node-api") as typeof DuckDB;

export interface DuckDbStoreOptions {
  /** The database file; its directory is created if missing. ":memory:" for a throwaway store. */
  path: string;
  /**
   * Open for reading only (`flowtally query`): a missing file is an error, never created, nothing
   * is written to the file (no tables made, no checkpoint), and writes are refused.
   */
  readOnly?: boolean;
  /**
   * The SLA level of each class now (sla/config-levels.ts), written into a minute's SLA row when
   * it is first measured; without: every class has no SLA (its minutes are no data).
   */
  slaLevel?: LevelLookup;
}

/** Table names come from this map only, never from a caller's string. */
const TABLES: Readonly<Record<SeriesLevel, string>> = {
  "1m": "series_1m",
  "5m": "series_5m",
  "1h": "series_1h",
  "1d": "series_1d",
};

const KEY_COLUMNS = "customer, site, link, traffic_class, direction, start_ms";

const STAGING_COLUMNS: readonly DuckDBType[] = [
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
const RESPONSE_TABLES: Readonly<Record<SeriesLevel, string>> = {
  "1m": "response_1m",
  "5m": "response_5m",
  "1h": "response_1h",
  "1d": "response_1d",
};
const RESPONSE_KEY = "customer, site, link, traffic_class, metric, start_ms";
const RESPONSE_COUNTERS = responseTimeCounters;
const RESPONSE_STAGING_COLUMNS: readonly DuckDBType[] = [
  VARCHAR, // level
  BIGINT, // start_ms
  VARCHAR, // customer
  VARCHAR, // site
  VARCHAR, // link
  VARCHAR, // traffic_class
  VARCHAR, // metric
  DOUBLE, // value
];

function createResponseTableSql(level: SeriesLevel): string {
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

const CREATE_RESPONSE_STAGING_SQL = `CREATE TEMP TABLE IF NOT EXISTS response_staging (
  level VARCHAR, start_ms BIGINT, customer VARCHAR, site VARCHAR, link VARCHAR,
  traffic_class VARCHAR, metric VARCHAR, value DOUBLE
)`;

function responseUpsertSql(level: SeriesLevel): string {
  return `INSERT INTO ${RESPONSE_TABLES[level]} (${RESPONSE_KEY}, value)
SELECT ${RESPONSE_KEY}, sum(value)
FROM temp.response_staging WHERE level = '${level}'
GROUP BY ${RESPONSE_KEY}
ON CONFLICT (${RESPONSE_KEY}) DO UPDATE SET value = value + excluded.value`;
}

/** DuckDB's vector size: the most rows one data chunk holds. */
const CHUNK_ROWS = 2048;

/** Files opened by a store of this process: DuckDB lets one process open a file twice. */
const openPaths = new Set<string>();

function createTableSql(level: SeriesLevel): string {
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

const CREATE_VIEW_SQL = `CREATE OR REPLACE VIEW series AS ${LEVEL_NAMES.map(
  (level) => `SELECT '${level}' AS level, * FROM ${TABLES[level]}`,
).join(" UNION ALL ")}`;

/** Write-ahead log positions, written in the transaction of the rows they cover (StoreMark). */
const CREATE_MARKS_SQL =
  "CREATE TABLE IF NOT EXISTS flowtally_marks (name VARCHAR PRIMARY KEY, seq DOUBLE NOT NULL)";
const MARK_SQL =
  "INSERT INTO flowtally_marks VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET seq = greatest(flowtally_marks.seq, excluded.seq)";

const CREATE_STAGING_SQL = `CREATE TEMP TABLE IF NOT EXISTS staging (
  level VARCHAR, start_ms BIGINT, customer VARCHAR, site VARCHAR, link VARCHAR,
  traffic_class VARCHAR, direction VARCHAR, bytes DOUBLE, packets DOUBLE, flows DOUBLE
)`;

/**
 * The tables, the view, the staging tables and the marks, in order, as one query: a statement was
 * a round trip to DuckDB's threads, and at `run`'s start each waited for the main thread, busy
 * building the customer model (cli/pipeline.ts).
 */
const SCHEMA_SQL = [
  ...LEVEL_NAMES.map(createTableSql),
  ...LEVEL_NAMES.map(createResponseTableSql),
  CREATE_RESPONSE_STAGING_SQL,
  ...LEVEL_NAMES.map(createSlaTableSql),
  CREATE_SLA_WORK_SQL,
  ...CREATE_LINK_STATUS_SQL,
  CREATE_VIEW_SQL,
  CREATE_STAGING_SQL,
  CREATE_MARKS_SQL,
].join(";\n");

/**
 * Moves one level's staged rows into its table: `add` adds them to what is there (deltas),
 * `replace` overwrites it (absolute totals, whose keys are unique within a call).
 */
function upsertSql(level: SeriesLevel, mode: "add" | "replace"): string {
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
function responseDeleteSql(level: SeriesLevel): string {
  return `DELETE FROM ${RESPONSE_TABLES[level]} AS t WHERE EXISTS (
  SELECT 1 FROM temp.response_staging AS s WHERE s.level = '${level}'
  AND s.customer = t.customer AND s.site = t.site AND s.link = t.link
  AND s.traffic_class = t.traffic_class AND s.start_ms = t.start_ms)`;
}

/** SQL parameters numbered as they are added, so that no value is ever spliced into SQL. */
class Params {
  readonly values: DuckDBValue[] = [];
  readonly types: DuckDBType[] = [];

  add(value: DuckDBValue, type: DuckDBType): string {
    this.values.push(value);
    this.types.push(type);
    return `$${this.values.length}`;
  }
}

/**
 * The WHERE conditions of one customer's series over [fromMs, toMs), optionally one site, link
 * or class: every value a bound parameter.
 */
function seriesFilter(name: string, q: Omit<TrafficQuery, "level">, params: Params): string[] {
  const from = BigInt(timeBound(`${name}: fromMs`, q.fromMs));
  const to = BigInt(timeBound(`${name}: toMs`, q.toMs));
  const where = [
    `customer = ${params.add(q.customer, VARCHAR)}`,
    `start_ms >= ${params.add(from, BIGINT)}`,
    `start_ms < ${params.add(to, BIGINT)}`,
  ];
  if (q.site !== undefined) where.push(`site = ${params.add(q.site, VARCHAR)}`);
  if (q.link !== undefined) where.push(`link = ${params.add(q.link, VARCHAR)}`);
  if (q.trafficClass !== undefined) {
    where.push(`traffic_class = ${params.add(q.trafficClass, VARCHAR)}`);
  }
  return where;
}

/** Keys grouped by level, with the distinct periods and customers of each (a superset filter). */
function keysByLevel<K extends Omit<SeriesRowKey, "direction"> & { direction?: string }>(
  keys: readonly K[],
): Array<{ level: SeriesLevel; wanted: Set<string>; starts: bigint[]; customers: string[] }> {
  const out = [];
  for (const level of LEVEL_NAMES) {
    const mine = keys.filter((k) => k.level === level);
    if (mine.length === 0) continue;
    out.push({
      level,
      wanted: new Set(mine.map((k) => rowKey({ ...k, direction: k.direction ?? "" }))),
      starts: [...new Set(mine.map((k) => k.startMs))].map((ms) => BigInt(ms)),
      customers: [...new Set(mine.map((k) => k.customer))],
    });
  }
  return out;
}

function toNumber(value: unknown): number {
  return typeof value === "bigint" ? Number(value) : (value as number);
}

/** Sums of one direction, 0 when the group has none. */
function directionSum(column: string, direction: "in" | "out"): string {
  return `coalesce(sum(${column}) FILTER (WHERE direction = '${direction}'), 0)`;
}

/** The error's message, and the DuckDB message made readable for people where it is cryptic. */
function duckDbReason(e: unknown): { message: string; fatal: boolean } {
  const message = e instanceof Error ? e.message : String(e);
  const fatal = /^FATAL Error|database has been invalidated/.test(message);
  const hint = /No space left on device/.test(message)
    ? " (the disk is full)"
    : /Read-only file system|Operation not permitted|Permission denied/.test(message)
      ? " (the file or its directory cannot be written: read-only or not permitted)"
      : "";
  return { message: `${message}${hint}`, fatal };
}

interface Open {
  instance: DuckDB.DuckDBInstance;
  /** Runs `addDeltas` transactions; owns the temporary staging table. */
  writer: DuckDBConnection;
  reader: DuckDBConnection;
}

export function createDuckDbStore(options: DuckDbStoreOptions): SeriesStore {
  const inMemory = options.path === ":memory:";
  const path = inMemory ? options.path : resolve(options.path);
  const readOnly = options.readOnly === true;
  const slaLevel: LevelLookup = options.slaLevel ?? (() => undefined);
  let open: Open | undefined;
  let starting: Promise<void> | undefined;
  /** The file opened: a path that names another file (or none) means it was replaced (deleted). */
  let identity: { dev: number; ino: number } | undefined;
  /** Why writes are refused for good: the file is gone or replaced, or DuckDB's FATAL error. */
  let down: FlowtallyError | undefined;
  const write = createSerialQueue();
  const read = createSerialQueue();

  function openError(reason: string, cause?: unknown): FlowtallyError {
    return new FlowtallyError(
      "FT_STORE_OPEN",
      `${path}: the embedded store could not be opened: ${reason}`,
      cause === undefined ? undefined : { cause },
    );
  }

  function opened(): Open {
    if (open === undefined) {
      throw new FlowtallyError("FT_STORE_CLOSED", `${path}: the embedded store is not started`);
    }
    return open;
  }

  /** A failed write (or checkpoint) as FT_STORE_WRITE; after a FATAL error the store is down. */
  function writeError(what: string, e: unknown, after = ""): FlowtallyError {
    if (e instanceof FlowtallyError) return e;
    const { message, fatal } = duckDbReason(e);
    const error = new FlowtallyError(
      "FT_STORE_WRITE",
      `${path}: the embedded store could not ${what}: ${message}${after}${
        fatal
          ? "; DuckDB refuses every later write on this database: restart flowtally once the cause is fixed"
          : ""
      }`,
      { cause: e },
    );
    if (fatal) down ??= error;
    return error;
  }

  function readError(e: unknown): unknown {
    if (e instanceof FlowtallyError || e instanceof RangeError) return e;
    return new FlowtallyError(
      "FT_STORE_QUERY",
      `${path}: the embedded store could not be read: ${duckDbReason(e).message}`,
      { cause: e },
    );
  }

  /** Runs one read on the reader connection, in turn with the other reads. */
  function query(sql: string, values: DuckDBValue[], types: DuckDBType[]): Promise<unknown[][]> {
    const r = opened().reader;
    return read(async () => {
      try {
        return (await r.runAndReadAll(sql, values, types)).getRowsJS();
      } catch (e) {
        throw readError(e);
      }
    });
  }

  /**
   * Runs a read whose columns are all DOUBLE and answers them as typed arrays, read from DuckDB's
   * vectors without a JS value per row and column (`query`'s rows cost ~1 µs per row and column).
   */
  function queryColumns(
    sql: string,
    values: DuckDBValue[],
    types: DuckDBType[],
  ): Promise<Float64Array[]> {
    const r = opened().reader;
    return read(async () => {
      try {
        const result = await r.run(sql, values, types);
        let rows = 0;
        for (let c = 0; c < result.chunkCount; c++) rows += result.getChunk(c).rowCount;
        const columns = Array.from({ length: result.columnCount }, () => new Float64Array(rows));
        let at = 0;
        for (let c = 0; c < result.chunkCount; c++) {
          const chunk = result.getChunk(c);
          const n = chunk.rowCount;
          columns.forEach((column, i) => {
            const vector = chunk.getColumnVector(i);
            for (let k = 0; k < n; k++) column[at + k] = vector.getItem(k) as number;
          });
          at += n;
        }
        return columns;
      } catch (e) {
        throw readError(e);
      }
    });
  }

  /**
   * Whether the path still names the file opened; the first time it does not, the store goes
   * down for good (the instance writes into the old file, which no later open can find).
   */
  function checkFile(): FlowtallyError | undefined {
    if (down !== undefined || identity === undefined) return down;
    let now: { dev: number; ino: number } | undefined;
    try {
      now = statSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") return undefined; // can't tell
    }
    if (now !== undefined && now.dev === identity.dev && now.ino === identity.ino) return undefined;
    down = new FlowtallyError(
      "FT_STORE_FILE",
      `${path}: the embedded store's file was ${
        now === undefined ? "deleted" : "replaced by another file"
      } while flowtally had it open: nothing more is written to it (what was written before went with the old file); restart flowtally to open ${path} again`,
    );
    return down;
  }

  /** What refuses a write now, if anything. */
  function writeRefusal(): FlowtallyError | undefined {
    if (readOnly) {
      return new FlowtallyError(
        "FT_STORE_WRITE",
        `${path}: the embedded store was opened read-only`,
      );
    }
    return checkFile();
  }

  function close(handles: Partial<Open>): void {
    handles.writer?.closeSync();
    handles.reader?.closeSync();
    handles.instance?.closeSync();
    if (!inMemory) openPaths.delete(path);
  }

  async function doStart(): Promise<void> {
    if (!inMemory && openPaths.has(path)) {
      throw openError("another store of this process has it open");
    }
    if (readOnly && (inMemory || !existsSync(path))) {
      throw openError(
        "there is no store at this path, and reading never creates one: check store.embedded.path (flowtally run creates the file)",
      );
    }
    const handles: Partial<Open> = {};
    try {
      if (!inMemory) {
        openPaths.add(path);
        // Synchronously (a few µs): DuckDB then starts opening the file on its threads at once,
        // while `run` builds the customer model (an await here waited for that to end).
        if (!readOnly) mkdirSync(dirname(path), { recursive: true });
      }
      const instance = await DuckDBInstance.create(
        path,
        readOnly ? { access_mode: "READ_ONLY" } : {},
      );
      handles.instance = instance;
      const writer = await instance.connect();
      handles.writer = writer;
      const reader = await instance.connect();
      handles.reader = reader;
      if (readOnly) {
        await checkTables(reader);
      } else {
        await writer.run(SCHEMA_SQL);
      }
      if (!inMemory) {
        const st = statSync(path);
        identity = { dev: st.dev, ino: st.ino };
      }
      down = undefined;
      open = { instance, writer, reader };
    } catch (e) {
      close(handles);
      if (e instanceof FlowtallyError) throw e;
      throw openError(e instanceof Error ? e.message : String(e), e);
    }
  }

  /** A file opened read-only must already hold flowtally's tables. */
  async function checkTables(reader: DuckDBConnection): Promise<void> {
    const wanted = [...Object.values(TABLES), ...Object.values(RESPONSE_TABLES)];
    const rows = (
      await reader.runAndReadAll(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'",
      )
    ).getRowsJS();
    const have = new Set(rows.map((r) => String(r[0])));
    const missing = wanted.filter((t) => !have.has(t));
    if (missing.length > 0) {
      throw openError(
        `not a flowtally store: table${missing.length > 1 ? "s" : ""} ${missing.join(", ")} missing`,
      );
    }
  }

  async function start(): Promise<void> {
    if (open !== undefined) return;
    starting ??= doStart().finally(() => {
      starting = undefined;
    });
    return starting;
  }

  async function stop(): Promise<void> {
    if (open === undefined) return;
    const handles = open;
    open = undefined; // calls from now on are refused; queued ones still run
    try {
      await read(async () => {});
      // Writes the WAL into the database file, so that the file alone holds the data. Also
      // when the file was deleted or replaced: the checkpoint goes to the old file and removes
      // its WAL, which must not be applied to whatever file is at the path next. Not after a
      // FATAL error (DuckDB refuses it) nor read-only.
      if (readOnly || (down !== undefined && down.code !== "FT_STORE_FILE")) {
        await write(async () => {});
        return;
      }
      await write(async () => {
        try {
          await handles.writer.run("CHECKPOINT");
        } catch (e) {
          throw writeError(
            "write its file at stop (checkpoint)",
            e,
            `. Every row written is in ${path}.wal, which the next start applies: keep it beside ${path}`,
          );
        }
      });
    } finally {
      close(handles);
    }
  }

  function stage(appender: DuckDBAppender, rows: readonly SeriesRowDelta[]): void {
    const chunk = DuckDBDataChunk.create(STAGING_COLUMNS);
    for (let first = 0; first < rows.length; first += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, rows.length - first);
      const level = new Array<DuckDBValue>(n);
      const startMs = new Array<DuckDBValue>(n);
      const customer = new Array<DuckDBValue>(n);
      const site = new Array<DuckDBValue>(n);
      const link = new Array<DuckDBValue>(n);
      const trafficClass = new Array<DuckDBValue>(n);
      const direction = new Array<DuckDBValue>(n);
      const bytes = new Array<DuckDBValue>(n);
      const packets = new Array<DuckDBValue>(n);
      const flows = new Array<DuckDBValue>(n);
      for (let k = 0; k < n; k++) {
        const r = rows[first + k]!;
        level[k] = r.level;
        startMs[k] = BigInt(r.startMs);
        customer[k] = r.customer;
        site[k] = r.site;
        link[k] = r.link;
        trafficClass[k] = r.trafficClass;
        direction[k] = r.direction;
        bytes[k] = r.bytes;
        packets[k] = r.packets;
        flows[k] = r.flows;
      }
      chunk.reset();
      chunk.rowCount = n;
      // Same order as STAGING_COLUMNS.
      chunk.setColumns([
        level,
        startMs,
        customer,
        site,
        link,
        trafficClass,
        direction,
        bytes,
        packets,
        flows,
      ]);
      appender.appendDataChunk(chunk);
    }
  }

  async function addDeltas(rows: readonly SeriesRowDelta[], mark?: StoreMark): Promise<void> {
    await writeSeries("addDeltas", rows, "add", mark);
  }

  async function putSeries(rows: readonly SeriesRowDelta[]): Promise<void> {
    await writeSeries("putSeries", rows, "replace");
  }

  async function writeSeries(
    call: string,
    rows: readonly SeriesRowDelta[],
    mode: "add" | "replace",
    mark?: StoreMark,
  ): Promise<void> {
    if (rows.length === 0) return;
    validateSeriesRows(call, rows, mode);
    const levels = new Set(rows.map((r) => r.level));
    await stagedUpsert(
      "staging",
      (appender) => stage(appender, rows),
      LEVEL_NAMES.filter((l) => levels.has(l)).map((l) => upsertSql(l, mode)),
      mark,
    );
  }

  /**
   * One transaction: append into a temporary staging table, run the upserts that move its rows
   * into the level tables, empty it. A failure rolls all of it back (staged rows included).
   */
  async function stagedUpsert(
    staging: "staging" | "response_staging",
    append: (appender: DuckDBAppender) => void,
    upserts: readonly string[],
    mark?: StoreMark,
    after?: (w: DuckDBConnection) => Promise<void>,
  ): Promise<void> {
    const w = opened().writer;
    await write(async () => {
      const refused = writeRefusal();
      if (refused !== undefined) throw refused;
      await w.run("BEGIN TRANSACTION").catch((e: unknown) => {
        throw writeError("write", e);
      });
      try {
        const appender = await w.createAppender(staging, null, "temp");
        try {
          append(appender);
        } finally {
          appender.closeSync();
        }
        for (const sql of upserts) await w.run(sql);
        if (after !== undefined) await after(w);
        if (mark !== undefined) await w.run(MARK_SQL, [mark.name, mark.seq], [VARCHAR, DOUBLE]);
        await w.run(`DELETE FROM temp.${staging}`);
        await w.run("COMMIT");
      } catch (e) {
        // A failed ROLLBACK leaves nothing more to undo.
        await w.run("ROLLBACK").catch(() => undefined);
        throw writeError("write", e);
      }
    });
  }

  async function addResponseTimes(
    rows: readonly ResponseTimeRowDelta[],
    mark?: StoreMark,
  ): Promise<void> {
    await writeResponseTimes("addResponseTimes", rows, "add", mark);
  }

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

  async function putResponseTimes(rows: readonly ResponseTimeRowDelta[]): Promise<void> {
    await writeResponseTimes("putResponseTimes", rows, "replace");
  }

  async function writeResponseTimes(
    call: string,
    rows: readonly ResponseTimeRowDelta[],
    mode: "add" | "replace",
    mark?: StoreMark,
  ): Promise<void> {
    if (rows.length === 0) return;
    // One staged value per counter and bin; validated first, so a bad row writes nothing.
    const columns: DuckDBValue[][] = [[], [], [], [], [], [], [], []];
    validateResponseRows(call, rows, mode);
    const levels = new Set(rows.map((r) => r.level));
    // A replace stages every counter, zeros too, so that each row's key reaches the DELETE.
    const push = (r: ResponseTimeRowDelta, metric: string, value: number, keepZero: boolean) => {
      if (value === 0 && !keepZero) return;
      const c = columns;
      c[0]!.push(r.level);
      c[1]!.push(BigInt(r.startMs));
      c[2]!.push(r.customer);
      c[3]!.push(r.site);
      c[4]!.push(r.link);
      c[5]!.push(r.trafficClass);
      c[6]!.push(metric);
      c[7]!.push(value);
    };
    for (const r of rows) {
      for (const name of RESPONSE_COUNTERS) push(r, name, r[name], mode === "replace");
      for (const [key, count] of r.bins) push(r, `bin:${key}`, count, false);
    }
    const n = columns[0]!.length;
    if (n === 0) return;
    await stagedUpsert(
      "response_staging",
      (appender) => {
        const chunk = DuckDBDataChunk.create(RESPONSE_STAGING_COLUMNS);
        for (let first = 0; first < n; first += CHUNK_ROWS) {
          const m = Math.min(CHUNK_ROWS, n - first);
          chunk.reset();
          chunk.rowCount = m;
          chunk.setColumns(columns.map((c) => c.slice(first, first + m)));
          appender.appendDataChunk(chunk);
        }
      },
      LEVEL_NAMES.filter((l) => levels.has(l)).flatMap((l) =>
        mode === "add" ? [responseUpsertSql(l)] : [responseDeleteSql(l), responseUpsertSql(l)],
      ),
      mark,
      levels.has("1m") ? (w) => deriveSlaOf(w, rows) : undefined,
    );
  }

  /**
   * In the transaction of a response-time write, after its upserts: the SLA rows of the minutes
   * written (store/duckdb-sla.ts).
   */
  async function deriveSlaOf(
    w: DuckDBConnection,
    rows: readonly ResponseTimeRowDelta[],
  ): Promise<void> {
    let first = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    for (const r of rows) {
      if (r.level !== "1m") continue;
      if (r.startMs < first) first = r.startMs;
      if (r.startMs > last) last = r.startMs;
    }
    if (first <= last) await deriveSla(w, first, last, slaLevel);
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

  const typeOf = (kinds: readonly ParamKind[]): DuckDBType[] =>
    kinds.map((k) => (k === "bigint" ? BIGINT : k === "varchar" ? VARCHAR : DOUBLE));

  /** Runs `fn` on the writer in one transaction, in turn with the other writes. */
  async function inTransaction(
    what: string,
    fn: (w: DuckDBConnection) => Promise<void>,
  ): Promise<void> {
    const w = opened().writer;
    await write(async () => {
      const refused = writeRefusal();
      if (refused !== undefined) throw refused;
      await w.run("BEGIN TRANSACTION").catch((e: unknown) => {
        throw writeError(what, e);
      });
      try {
        await fn(w);
        await w.run("COMMIT");
      } catch (e) {
        await w.run("ROLLBACK").catch(() => undefined);
        throw writeError(what, e);
      }
    });
  }

  /** Adds link-status minutes, in one transaction. */
  async function addLinkStatus(rows: readonly LinkStatusRow[]): Promise<void> {
    if (rows.length === 0) return;
    const statements = linkStatusInserts(rows);
    await inTransaction("write link status", async (w) => {
      for (const st of statements) await w.run(st.sql, st.values, typeOf(st.kinds));
    });
  }

  async function linkStatus(q: LinkStatusQuery): Promise<LinkStatusRow[]> {
    const st = linkStatusSelect(q);
    // A file written before the link-status tables existed, opened read-only, has none.
    const have = await query(
      "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = $1",
      [LINK_STATUS_TABLES[q.level]],
      [VARCHAR],
    );
    if (Number(have[0]![0]) === 0) return [];
    const rows = await query(st.sql, st.values, typeOf(st.kinds));
    return rows.map((r) => linkStatusRowOf(q.level, r));
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

  async function prune(
    before: Partial<Readonly<Record<SeriesLevel, number>>>,
  ): Promise<Record<SeriesLevel, number>> {
    const deleted: Record<SeriesLevel, number> = { "1m": 0, "5m": 0, "1h": 0, "1d": 0 };
    const w = opened().writer;
    await write(async () => {
      const refused = writeRefusal();
      if (refused !== undefined) throw refused;
      for (const level of LEVEL_NAMES) {
        const ms = before[level];
        if (ms === undefined || ms === Number.NEGATIVE_INFINITY) continue;
        if (!Number.isFinite(ms)) throw new RangeError(`prune ${level}: ${ms} is not a time`);
        try {
          const r = await w.run(`DELETE FROM ${TABLES[level]} WHERE start_ms < $1`, [
            BigInt(Math.floor(ms)),
          ]);
          await w.run(`DELETE FROM ${RESPONSE_TABLES[level]} WHERE start_ms < $1`, [
            BigInt(Math.floor(ms)),
          ]);
          // SLA minutes are kept as long as the 5-minute rows (a month's report needs them).
          const slaLevels = level === "5m" ? ["1m", "5m"] : level === "1m" ? [] : [level];
          for (const l of slaLevels as SeriesLevel[]) {
            for (const table of [SLA_TABLES[l], LINK_STATUS_TABLES[l]]) {
              await w.run(`DELETE FROM ${table} WHERE start_ms < $1`, [BigInt(Math.floor(ms))]);
            }
          }
          deleted[level] = Number(r.rowsChanged);
        } catch (e) {
          throw writeError("delete old rows", e);
        }
      }
    });
    return deleted;
  }

  /** Deletes every row of one customer, traffic and response times, in one transaction. */
  async function purgeCustomer(customer: string): Promise<Record<string, number>> {
    const removed: Record<string, number> = {};
    await inTransaction("purge", async (w) => {
      for (const level of LEVEL_NAMES) {
        const t = await w.run(`DELETE FROM ${TABLES[level]} WHERE customer = $1`, [customer]);
        removed[`traffic_${level}`] = Number(t.rowsChanged);
        const r = await w.run(`DELETE FROM ${RESPONSE_TABLES[level]} WHERE customer = $1`, [
          customer,
        ]);
        removed[`response_${level}`] = Number(r.rowsChanged);
        const s = await w.run(`DELETE FROM ${SLA_TABLES[level]} WHERE customer = $1`, [customer]);
        removed[`sla_${level}`] = Number(s.rowsChanged);
        const l = await w.run(`DELETE FROM ${LINK_STATUS_TABLES[level]} WHERE customer = $1`, [
          customer,
        ]);
        removed[`link_status_${level}`] = Number(l.rowsChanged);
      }
    });
    return removed;
  }

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

  return {
    start,
    stop,
    problem: () => (open === undefined ? undefined : checkFile()),
    addDeltas,
    addResponseTimes,
    readMarks,
    putSeries,
    readSeries,
    putResponseTimes,
    readResponseTimes,
    prune,
    purgeCustomer,
    overview,
    traffic,
    samples,
    samplePeaks,
    sampleRank,
    sampleStats,
    responseTimes,
    slaRows,
    addLinkStatus,
    linkStatus,
  };
}
