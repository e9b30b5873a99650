/**
 * The embedded store's link-status minutes: written in one transaction through a staging table
 * (appended in data chunks, then one upsert per level), read per level (the SQL is
 * store/duckdb-link-status.ts's).
 */
import type { DuckDBAppender } from "@duckdb/node-api";
import type { LinkStatusQuery, LinkStatusRow } from "../schema/series-store.js";
import { BIGINT, DOUBLE, DuckDBDataChunk, VARCHAR } from "./duckdb-api.js";
import type { DuckDbConnection } from "./duckdb-connection.js";
import {
  checkLinkStatusRows,
  downMinutesSelect,
  LINK_STATUS_TABLES,
  linkStatusReads,
  linkStatusRowOf,
  linkStatusSelect,
  linkStatusUpsertSql,
} from "./duckdb-link-status.js";
import { CHUNK_ROWS } from "./duckdb-schema.js";
import { hasTable } from "./duckdb-sql.js";
import { LEVEL_NAMES } from "./levels.js";

/** The staging table's columns, in its order. */
const STAGING_COLUMNS = [VARCHAR, BIGINT, VARCHAR, VARCHAR, VARCHAR, DOUBLE, DOUBLE, DOUBLE];

/** Appends the rows in data chunks of CHUNK_ROWS (seq: the row's place in the call). */
function stage(appender: DuckDBAppender, rows: readonly LinkStatusRow[]): void {
  const chunk = DuckDBDataChunk.create(STAGING_COLUMNS);
  for (let first = 0; first < rows.length; first += CHUNK_ROWS) {
    const part = rows.slice(first, first + CHUNK_ROWS);
    chunk.reset();
    chunk.rowCount = part.length;
    // Same order as STAGING_COLUMNS.
    chunk.setColumns([
      part.map((r) => r.level),
      part.map((r) => BigInt(r.startMs)),
      part.map((r) => r.customer),
      part.map((r) => r.site),
      part.map((r) => r.link),
      part.map((r) => r.upMinutes),
      part.map((r) => r.downMinutes),
      part.map((_, k) => first + k),
    ]);
    appender.appendDataChunk(chunk);
  }
}

export function createDuckDbLinkStatusRows(db: DuckDbConnection) {
  const { query, inTransaction, typeOf } = db;

  /**
   * Adds link-status minutes ("put": replaces them), in one transaction: appended into the
   * staging table in data chunks, then one upsert per level.
   */
  async function addLinkStatus(rows: readonly LinkStatusRow[], mode: "add" | "put"): Promise<void> {
    if (rows.length === 0) return;
    const levels = checkLinkStatusRows(rows, mode);
    await inTransaction("write link status", async (w) => {
      const appender = await w.createAppender("link_status_staging", null, "temp");
      try {
        stage(appender, rows);
      } finally {
        appender.closeSync();
      }
      for (const level of LEVEL_NAMES) {
        if (levels.has(level)) await w.run(linkStatusUpsertSql(level, mode));
      }
      await w.run("DELETE FROM temp.link_status_staging");
    });
  }

  async function readLinkStatus(keys: readonly LinkStatusRow[]): Promise<LinkStatusRow[]> {
    const out: LinkStatusRow[] = [];
    for (const st of linkStatusReads(keys)) {
      for (const r of await query(st.sql, st.values, typeOf(st.kinds))) {
        out.push(linkStatusRowOf(st.level, r));
      }
    }
    return out;
  }

  async function linkStatus(q: LinkStatusQuery): Promise<LinkStatusRow[]> {
    const st = linkStatusSelect(q);
    if (!(await hasTable(query, LINK_STATUS_TABLES[q.level]))) return [];
    const rows = await query(st.sql, st.values, typeOf(st.kinds));
    return rows.map((r) => linkStatusRowOf(q.level, r));
  }

  async function downMinutes(q: { fromMs: number; toMs: number }): Promise<LinkStatusRow[]> {
    const st = downMinutesSelect(q);
    if (!(await hasTable(query, LINK_STATUS_TABLES["1m"]))) return [];
    const rows = await query(st.sql, st.values, typeOf(st.kinds));
    return rows.map((r) => linkStatusRowOf("1m", r));
  }

  return {
    addLinkStatus: (rows: readonly LinkStatusRow[]) => addLinkStatus(rows, "add"),
    putLinkStatus: (rows: readonly LinkStatusRow[]) => addLinkStatus(rows, "put"),
    readLinkStatus,
    linkStatus,
    downMinutes,
  };
}
