/**
 * The embedded store's write path: traffic and response-time rows appended into a staging table
 * and moved into the level tables in one transaction (deltas added, totals replaced), the
 * write-ahead log's mark with them, and the SLA minutes derived from the response times written.
 */
import type { DuckDBAppender, DuckDBConnection, DuckDBValue } from "@duckdb/node-api";
import type { ResponseTimeRowDelta, SeriesRowDelta, StoreMark } from "../schema/series-store.js";
import type { LevelLookup } from "../sla/config-levels.js";
import { DOUBLE, DuckDBDataChunk, VARCHAR } from "./duckdb-api.js";
import type { DuckDbConnection } from "./duckdb-connection.js";
import {
  CHUNK_ROWS,
  MARK_SQL,
  RESPONSE_COUNTERS,
  RESPONSE_STAGING_COLUMNS,
  responseDeleteSql,
  responseUpsertSql,
  STAGING_COLUMNS,
  upsertSql,
} from "./duckdb-schema.js";
import { deriveSla } from "./duckdb-sla.js";
import { LEVEL_NAMES } from "./levels.js";
import { validateResponseRows, validateSeriesRows } from "./row-validation.js";

export function createDuckDbWrites(db: DuckDbConnection, slaLevel: LevelLookup) {
  const { opened, write, writeRefusal, writeError } = db;

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

  return { addDeltas, putSeries, addResponseTimes, putResponseTimes };
}
