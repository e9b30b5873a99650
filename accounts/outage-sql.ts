/**
 * Declared outages and maintenance windows of access links (docs/sla.md "Declared outages"),
 * kept in the account database beside the users (embedded DuckDB on one box, PostgreSQL scaled
 * out): the table's DDL (the same on both) and its statements over one SqlSession. The account
 * store runs them in its transactions (account-store.ts `transaction`).
 */
import type { SqlSession } from "../registry/sql-registry.js";

export const OUTAGE_TABLES_SQL = [
  `CREATE TABLE IF NOT EXISTS sla_outages (
    id TEXT PRIMARY KEY,
    customer TEXT NOT NULL,
    site TEXT NOT NULL,
    link TEXT NOT NULL,
    kind TEXT NOT NULL,
    start_ms BIGINT NOT NULL,
    end_ms BIGINT,
    note TEXT,
    created_by TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
  )`,
];

export type OutageKind = "outage" | "maintenance";

export interface Outage {
  id: string;
  customer: string;
  site: string;
  link: string;
  kind: OutageKind;
  startMs: number;
  /** null: still going on. */
  endMs: number | null;
  note: string | null;
  createdBy: string;
  createdMs: number;
  updatedMs: number;
}

const COLUMNS =
  "id, customer, site, link, kind, start_ms, end_ms, note, created_by, created_ms, updated_ms";

function outageFrom(r: unknown[]): Outage {
  const [id, customer, site, link, kind, start, end, note, by, created, updated] = r;
  return {
    id: String(id),
    customer: String(customer),
    site: String(site),
    link: String(link),
    kind: String(kind) as OutageKind,
    startMs: Number(start),
    endMs: end === null || end === undefined ? null : Number(end),
    note: note === null || note === undefined ? null : String(note),
    createdBy: String(by),
    createdMs: Number(created),
    updatedMs: Number(updated),
  };
}

export async function insertOutage(s: SqlSession, o: Outage): Promise<void> {
  await s.run(
    `INSERT INTO sla_outages (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      o.id,
      o.customer,
      o.site,
      o.link,
      o.kind,
      o.startMs,
      o.endMs,
      o.note,
      o.createdBy,
      o.createdMs,
      o.updatedMs,
    ],
  );
}

export async function updateOutage(s: SqlSession, o: Outage): Promise<void> {
  await s.run(
    "UPDATE sla_outages SET kind = $2, start_ms = $3, end_ms = $4, note = $5, updated_ms = $6 WHERE id = $1",
    [o.id, o.kind, o.startMs, o.endMs, o.note, o.updatedMs],
  );
}

export async function deleteOutage(s: SqlSession, id: string): Promise<void> {
  await s.run("DELETE FROM sla_outages WHERE id = $1", [id]);
}

/** One customer's outage by id; undefined when it has none by that id. */
export async function getOutage(
  s: SqlSession,
  customer: string,
  id: string,
): Promise<Outage | undefined> {
  const rows = await s.rows(`SELECT ${COLUMNS} FROM sla_outages WHERE id = $1 AND customer = $2`, [
    id,
    customer,
  ]);
  return rows[0] === undefined ? undefined : outageFrom(rows[0]);
}

/**
 * One customer's outages that overlap [fromMs, toMs) (one still going on overlaps every range
 * after its start), by start then id.
 */
export async function listOutages(
  s: SqlSession,
  customer: string,
  fromMs: number,
  toMs: number,
): Promise<Outage[]> {
  const rows = await s.rows(
    `SELECT ${COLUMNS} FROM sla_outages WHERE customer = $1 AND start_ms < $3 AND (end_ms IS NULL OR end_ms > $2) ORDER BY start_ms, id`,
    [customer, fromMs, toMs],
  );
  return rows.map(outageFrom);
}

/**
 * Every customer's outages that overlap [fromMs, toMs) (the operators' breach list), by
 * customer, then start and id: one query, not one per customer.
 */
export async function listAllOutages(
  s: SqlSession,
  fromMs: number,
  toMs: number,
): Promise<Outage[]> {
  const rows = await s.rows(
    `SELECT ${COLUMNS} FROM sla_outages WHERE start_ms < $2 AND (end_ms IS NULL OR end_ms > $1) ORDER BY customer, start_ms, id`,
    [fromMs, toMs],
  );
  return rows.map(outageFrom);
}
