/**
 * The embedded store's link-status minutes: written in one transaction through a staging table
 * (appended in data chunks, then one upsert per level), read per level (the SQL is
 * store/duckdb-link-status.ts's).
 */
import type { DuckDBAppender, DuckDBValue } from "@duckdb/node-api";
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
import { LEVEL_NAMES } from "./levels.js";

/** The staging table's columns, in its order. */
const STAGING_COLUMNS = [VARCHAR, BIGINT, VARCHAR, VARCHAR, VARCHAR, DOUBLE, DOUBLE, DOUBLE];

/** Appends the rows in data chunks of CHUNK_ROWS (seq: the row's place in the call). */
function stage(appender: DuckDBAppender, rows: readonly LinkStatusRow[]): void {
  const chunk = DuckDBDataChunk.create(STAGING_COLUMNS);
  for (let first = 0; first < rows.length; first += CHUNK_ROWS) {
    const n = Math.min(CHUNK_ROWS, rows.length - first);
    const columns: DuckDBValue[][] = STAGING_COLUMNS.map(() => new Array<DuckDBValue>(n));
    const [level, startMs, customer, site, link, up, down, seq] = columns as [
      DuckDBValue[],
      DuckDBValue[],
      DuckDBValue[],
      DuckDBValue[],
      DuckDBValue[],
      DuckDBValue[],
      DuckDBValue[],
      DuckDBValue[],
    ];
    for (let k = 0; k < n; k++) {
      const r = rows[first + k]!;
      level[k] = r.level;
      startMs[k] = BigInt(r.startMs);
      customer[k] = r.customer;
      site[k] = r.site;
      link[k] = r.link;
      up[k] = r.upMinutes;
      down[k] = r.downMinutes;
      seq[k] = first + k;
    }
    chunk.reset();
    chunk.rowCount = n;
    chunk.setColumns(columns);
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

  /** Whether the file has this table (one written before it existed, opened read-only, has not). */
  async function hasTable(name: string): Promise<boolean> {
    const have = await query(
      "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = $1",
      [name],
      [VARCHAR],
    );
    return Number(have[0]![0]) !== 0;
  }

  async function linkStatus(q: LinkStatusQuery): Promise<LinkStatusRow[]> {
    const st = linkStatusSelect(q);
    if (!(await hasTable(LINK_STATUS_TABLES[q.level]))) return [];
    const rows = await query(st.sql, st.values, typeOf(st.kinds));
    return rows.map((r) => linkStatusRowOf(q.level, r));
  }

  async function downMinutes(q: { fromMs: number; toMs: number }): Promise<LinkStatusRow[]> {
    const st = downMinutesSelect(q);
    if (!(await hasTable(LINK_STATUS_TABLES["1m"]))) return [];
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
