/**
 * The registry's tables: their SQL, the bulk inserts and keyed deletes a group's write is made
 * of, and the read of the customers (all, or some) as the snapshot holds them.
 */
import { byId } from "./change-set.js";
import type { RegistryCustomer, RegistryLink, RegistrySite } from "./model.js";
import type { BulkTable, Row, SqlSession } from "./sql-driver.js";

export const REGISTRY_TABLES_SQL = [
  `CREATE TABLE IF NOT EXISTS registry_meta (
    id INTEGER PRIMARY KEY,
    version BIGINT NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS registry_customers (
    id TEXT PRIMARY KEY,
    revision BIGINT NOT NULL,
    data TEXT NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS registry_sites (
    customer TEXT NOT NULL,
    id TEXT NOT NULL,
    revision BIGINT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (customer, id)
  )`,
  `CREATE TABLE IF NOT EXISTS registry_links (
    customer TEXT NOT NULL,
    site TEXT NOT NULL,
    id TEXT NOT NULL,
    revision BIGINT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (customer, site, id)
  )`,
  `CREATE TABLE IF NOT EXISTS registry_audit (
    version BIGINT NOT NULL,
    idx INTEGER NOT NULL,
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    op TEXT NOT NULL,
    path TEXT NOT NULL,
    before_json TEXT,
    after_json TEXT,
    PRIMARY KEY (version, idx)
  )`,
];

/**
 * Indexes on the customer of the sites and links, for a database whose index on a key of
 * several columns finds no rows by its first (DuckDB: its ART indexes serve lookups on one
 * column only); without them each group's delete of its sites or links scans the whole table.
 */
export const CUSTOMER_INDEXES_SQL = [
  "CREATE INDEX IF NOT EXISTS registry_sites_customer ON registry_sites (customer)",
  "CREATE INDEX IF NOT EXISTS registry_links_customer ON registry_links (customer)",
];

/**
 * Creates the tables (and the customer indexes where asked) and the version row where they are
 * missing (in a write transaction).
 */
export async function createRegistryTables(s: SqlSession, customerIndexes = false): Promise<void> {
  for (const sql of REGISTRY_TABLES_SQL) await s.run(sql);
  if (customerIndexes) for (const sql of CUSTOMER_INDEXES_SQL) await s.run(sql);
  const have = await s.rows("SELECT version FROM registry_meta WHERE id = 1");
  if (have.length === 0) await s.run("INSERT INTO registry_meta (id, version) VALUES (1, 0)");
}

/** Parameters per statement at most (PostgreSQL takes 65 535). */
export const MAX_PARAMS = 4000;

/** One statement and its parameters (`$1`, `$2`, …). */
export interface Statement {
  readonly sql: string;
  readonly params: readonly (string | number | null)[];
}

/** The statements inserting rows many to a statement (`INSERT … VALUES (…), (…)`). */
export function valuesStatements(t: BulkTable, rows: readonly Row[]): Statement[] {
  const width = t.columns.length;
  const perStatement = Math.floor(MAX_PARAMS / width);
  const out: Statement[] = [];
  for (let k = 0; k < rows.length; k += perStatement) {
    const chunk = rows.slice(k, k + perStatement);
    const tuples = chunk.map(
      (_, r) => `(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`).join(", ")})`,
    );
    out.push({ sql: `INSERT INTO ${t.table} VALUES ${tuples.join(", ")}`, params: chunk.flat() });
  }
  return out;
}

/** Inserts rows many to a statement (what a session without its own bulk insert gets). */
export async function insertWithValues(s: SqlSession, t: BulkTable, rows: readonly Row[]) {
  for (const { sql, params } of valuesStatements(t, rows)) await s.run(sql, params);
}

/** Keys of several columns up to which a delete goes through the index on `customer`. */
const INDEXED_KEYS = 64;

/**
 * The statements deleting the rows whose `columns` equal one of `keys`, each of bounded size.
 * One column: `IN (…)`. More (the first being the customer), up to 64 keys: the customers named
 * `IN (…)`, then the keys as a list of tuples; the customers' list lets DuckDB find the rows by
 * its index on `customer` (its ART serves an equality or IN on one column, never a key of
 * several), so a group's delete costs by its size, not the table's (200 000 links, tmpfs: 17
 * keys 17–28 ms as a scan, 4.5–5 ms through the index). More keys (an import): a join with the
 * keys as a VALUES list, a scan whose cost barely grows with their number (the tuples' list is
 * a join per key: 256 keys 110–150 ms against 55–63 joined). PostgreSQL uses its primary keys.
 */
export function deleteStatements(
  table: string,
  columns: readonly string[],
  keys: readonly string[][],
): Statement[] {
  const width = columns.length;
  const indexed = width > 1 && keys.length <= INDEXED_KEYS;
  const per = width === 1 ? MAX_PARAMS : Math.floor(MAX_PARAMS / width);
  const out: Statement[] = [];
  for (let k = 0; k < keys.length; k += per) {
    const chunk = keys.slice(k, k + per);
    const params: string[] = [];
    const param = (v: string) => {
      params.push(v);
      return `$${params.length}`;
    };
    const tuple = (key: readonly string[]) =>
      `(${columns.map((_, j) => param(key[j]!)).join(", ")})`;
    if (width === 1 || indexed) {
      const firsts = [...new Set(chunk.map((key) => key[0]!))].map(param).join(", ");
      const where = `${columns[0]} IN (${firsts})`;
      out.push({
        sql:
          width === 1
            ? `DELETE FROM ${table} WHERE ${where}`
            : `DELETE FROM ${table} WHERE ${where} AND (${columns.join(", ")}) IN (${chunk.map(tuple).join(", ")})`,
        params,
      });
      continue;
    }
    const names = columns.map((_, j) => `k${j}`);
    const on = columns.map((c, j) => `${table}.${c} = keys.${names[j]}`).join(" AND ");
    out.push({
      sql: `DELETE FROM ${table} USING (VALUES ${chunk.map(tuple).join(", ")}) AS keys(${names.join(", ")}) WHERE ${on}`,
      params,
    });
  }
  return out;
}

/**
 * A table's rows as [...keys, revision, data] with `data` parsed: the database joins them into
 * one JSON text (ids are letters, digits, '_', '.' and '-': nothing to escape) that one
 * JSON.parse reads, instead of a value at a time through the driver (10 µs a row in DuckDB:
 * seconds for the 300 000 rows of 100 000 customers).
 */
async function readTable(
  s: SqlSession,
  table: string,
  keys: readonly string[],
  child: "sites" | "links" | undefined,
  customers?: readonly string[],
): Promise<unknown[][]> {
  // The record as the snapshot holds it, made in the text: its revision and an empty list of
  // what is under it after its own fields (`data` is one object of strings, numbers and lists:
  // only its closing brace ends in "}").
  const record = `rtrim(data, '}') || ',"revision":' || CAST(revision AS VARCHAR) || '${child === undefined ? "" : `,"${child}":[]`}}'`;
  const parts = [...keys.map((k) => `'"' || ${k} || '",'`), record];
  const where =
    customers === undefined
      ? ""
      : ` WHERE ${keys[0]} IN (${customers.map((_, k) => `$${k + 1}`).join(", ")})`;
  const rows = await s.rows(
    `SELECT string_agg('[' || ${parts.join(" || ")} || ']', ',') FROM ${table}${where}`,
    customers ?? [],
  );
  const text = rows[0]?.[0];
  if (text === null || text === undefined) return [];
  return JSON.parse(`[${String(text)}]`) as unknown[][];
}

/** The customers (all, or those named) with their sites and links, each sorted by id. */
export async function readCustomers(
  s: SqlSession,
  only?: readonly string[],
): Promise<Array<RegistryCustomer & { sites: RegistrySite[] }>> {
  type Customer = RegistryCustomer & { sites: RegistrySite[] };
  type Site = RegistrySite & { links: RegistryLink[] };
  const customers = new Map<string, Customer>();
  for (const [id, c] of await readTable(s, "registry_customers", ["id"], "sites", only)) {
    customers.set(id as string, c as Customer);
  }
  const sites = new Map<string, Site>();
  for (const [customer, id, site] of await readTable(
    s,
    "registry_sites",
    ["customer", "id"],
    "links",
    only,
  )) {
    customers.get(customer as string)?.sites.push(site as Site);
    sites.set(`${customer as string}/${id as string}`, site as Site);
  }
  for (const [customer, site, link] of await readTable(
    s,
    "registry_links",
    ["customer", "site"],
    undefined,
    only,
  )) {
    sites.get(`${customer as string}/${site as string}`)?.links.push(link as RegistryLink);
  }
  for (const site of sites.values()) site.links.sort(byId);
  const tree = [...customers.values()].sort(byId);
  for (const c of tree) c.sites.sort(byId);
  return tree;
}
