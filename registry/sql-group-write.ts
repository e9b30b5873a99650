/**
 * A group of applied change sets as the statements that write it: a few whatever their number
 * (the rows they replace or delete, then each record's last state, then the audit entries),
 * in a session's transaction or as one script with the values written in.
 */
import type { AppliedChangeSet, RegistryWrite } from "./change-set.js";
import { BULK_TABLES, type BulkTable, type Row, type SqlSession } from "./sql-driver.js";
import { inlineParameters } from "./sql-literal.js";
import {
  deleteStatements,
  insertWithValues,
  type Statement,
  valuesStatements,
} from "./sql-tables.js";

/** One step of a group's write: a statement, or rows to insert into a table. */
export type GroupStep = Statement | { readonly table: BulkTable; readonly rows: readonly Row[] };

/**
 * The steps that write a group of applied change sets (in order) and its version, a few
 * whatever their number: first every row they replace or delete goes (with what is under a
 * deleted customer or site), then each record's last state is inserted, then the audit
 * entries, then the version. A record written by one change set and deleted with its parent by
 * a later one is not inserted; one deleted and added anew is. Made at once (no await): a script
 * of them goes to the database before anything else runs.
 */
export function groupSteps(group: readonly AppliedChangeSet[], version: number): GroupStep[] {
  const SEP = "\u0000";
  const replaced = {
    customer: new Set<string>(),
    site: new Set<string>(),
    link: new Set<string>(),
  };
  const emptied = { customer: new Set<string>(), site: new Set<string>() };
  const last = new Map<string, RegistryWrite>();
  const keyOf = (w: RegistryWrite) =>
    w.kind === "customer"
      ? w.customer
      : w.kind === "site"
        ? `${w.customer}${SEP}${w.site!}`
        : `${w.customer}${SEP}${w.site!}${SEP}${w.link!}`;
  // Records the group added: no row of theirs is in the database to delete (unless one was
  // deleted before, which put its key in `replaced` already).
  const added = new Set<string>();
  for (const applied of group) {
    for (const w of applied.writes) {
      const key = keyOf(w);
      if (w.created) added.add(key);
      else if (!added.has(key)) replaced[w.kind].add(key);
      if (w.record !== undefined) {
        last.set(key, w);
        continue;
      }
      last.delete(key);
      if (w.kind === "link" || w.emptied !== true) continue;
      emptied[w.kind].add(key);
      for (const k of last.keys()) if (k.startsWith(key + SEP)) last.delete(k);
    }
  }
  const split = (key: string) => key.split(SEP);
  const steps: GroupStep[] = [
    ...deleteStatements("registry_links", ["customer"], [...emptied.customer].map(split)),
    ...deleteStatements("registry_sites", ["customer"], [...emptied.customer].map(split)),
    ...deleteStatements("registry_links", ["customer", "site"], [...emptied.site].map(split)),
    ...deleteStatements("registry_customers", ["id"], [...replaced.customer].map(split)),
    ...deleteStatements("registry_sites", ["customer", "id"], [...replaced.site].map(split)),
    ...deleteStatements(
      "registry_links",
      ["customer", "site", "id"],
      [...replaced.link].map(split),
    ),
  ];
  // Rows gathered per table and inserted in bulk: an import of 100 000 customers is 400 000
  // rows with their audit entries, far too slow one statement each.
  const inserts: Record<keyof typeof BULK_TABLES, Row[]> = {
    customers: [],
    sites: [],
    links: [],
    audit: [],
  };
  // An add's or update's audit entry holds the record written: its JSON is made once.
  const jsonOf = new Map<unknown, string>();
  const json = (record: unknown) => {
    let text = jsonOf.get(record);
    if (text === undefined) {
      text = JSON.stringify(record);
      jsonOf.set(record, text);
    }
    return text;
  };
  for (const w of last.values()) {
    const data = json(w.record);
    if (w.kind === "customer") inserts.customers.push([w.customer, w.revision, data]);
    else if (w.kind === "site") inserts.sites.push([w.customer, w.site!, w.revision, data]);
    else inserts.links.push([w.customer, w.site!, w.link!, w.revision, data]);
  }
  for (const applied of group) {
    for (const a of applied.audit) {
      inserts.audit.push([
        a.version,
        a.index,
        a.atMs,
        a.actor,
        a.op,
        a.path,
        a.before === null ? null : JSON.stringify(a.before),
        a.after === null ? null : json(a.after),
      ]);
    }
  }
  for (const table of Object.keys(inserts) as Array<keyof typeof BULK_TABLES>) {
    const rows = inserts[table];
    if (rows.length > 0) steps.push({ table: BULK_TABLES[table], rows });
  }
  steps.push({ sql: "UPDATE registry_meta SET version = $1 WHERE id = 1", params: [version] });
  return steps;
}

/** The group's rows and version in the session's transaction (after `applyGroup`). */
export async function persist(
  s: SqlSession,
  applieds: readonly AppliedChangeSet[],
  version: number,
): Promise<void> {
  for (const step of groupSteps(applieds, version)) {
    if (!("rows" in step)) await s.run(step.sql, step.params);
    // A bulk path (DuckDB's appender) costs more to set up than a few rows take.
    else if (s.insertMany !== undefined && step.rows.length > 32) {
      await s.insertMany(step.table, step.rows);
    } else await insertWithValues(s, step.table, step.rows);
  }
}

/** Rows a group may write as one script (larger ones, an import, go through bulk inserts). */
const MAX_SCRIPT_ROWS = 2048;

/**
 * The statements that persist a group, its values written in (undefined for a large group:
 * an import goes through the bulk inserts of `persist`).
 */
export function scriptOf(
  applieds: readonly AppliedChangeSet[],
  version: number,
): string[] | undefined {
  let rows = 0;
  for (const a of applieds) rows += a.writes.length + a.audit.length;
  if (rows > MAX_SCRIPT_ROWS) return undefined;
  return groupSteps(applieds, version).flatMap((step) =>
    ("rows" in step ? valuesStatements(step.table, step.rows) : [step]).map(({ sql, params }) =>
      inlineParameters(sql, params),
    ),
  );
}
