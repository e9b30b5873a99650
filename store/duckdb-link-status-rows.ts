/**
 * The embedded store's link-status minutes: written in one transaction, read per level (the SQL
 * is store/duckdb-link-status.ts's).
 */
import type { LinkStatusQuery, LinkStatusRow } from "../schema/series-store.js";
import { VARCHAR } from "./duckdb-api.js";
import type { DuckDbConnection } from "./duckdb-connection.js";
import {
  downMinutesSelect,
  LINK_STATUS_TABLES,
  linkStatusInserts,
  linkStatusReads,
  linkStatusRowOf,
  linkStatusSelect,
} from "./duckdb-link-status.js";

export function createDuckDbLinkStatusRows(db: DuckDbConnection) {
  const { query, inTransaction, typeOf } = db;

  /** Adds link-status minutes ("put": replaces them), in one transaction. */
  async function addLinkStatus(rows: readonly LinkStatusRow[], mode?: "put"): Promise<void> {
    if (rows.length === 0) return;
    const statements = linkStatusInserts(rows, mode);
    await inTransaction("write link status", async (w) => {
      for (const st of statements) await w.run(st.sql, st.values, typeOf(st.kinds));
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
    addLinkStatus: (rows: readonly LinkStatusRow[]) => addLinkStatus(rows),
    putLinkStatus: (rows: readonly LinkStatusRow[]) => addLinkStatus(rows, "put"),
    readLinkStatus,
    linkStatus,
    downMinutes,
  };
}
