/**
 * The RegistryStore contract and its one implementation over SQL, shared by the embedded (DuckDB)
 * and PostgreSQL backends, which only say how to connect, lock and run a statement. The tables
 * hold each record's own fields as JSON text beside its keys and revision; one row holds the
 * registry version; the audit log is a table keyed by (version, index).
 *
 * An apply locks the version row, loads the tree if another process moved it on (else keeps the
 * one it has), runs the pure core (change-set.ts) and writes its records and audit entries in the
 * same transaction: all of the change set or none of it.
 */
import { FlowtallyError, isFlowtallyError } from "../schema/errors.js";
import {
  type AppliedChangeSet,
  applyChangeSet,
  byId,
  carryIndex,
  mergeTree,
  prepareIndex,
  type RegistryWrite,
} from "./change-set.js";
import {
  type AuditEntry,
  EMPTY_SNAPSHOT,
  type RegistryCustomer,
  type RegistryLink,
  type RegistrySite,
  type RegistrySnapshot,
} from "./model.js";
import { inlineParameters } from "./sql-literal.js";
import type { TreeFile } from "./tree-snapshot.js";

export interface RegistryStore {
  /** Opens the database and creates the tables that are missing. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The whole tree and its version, as one consistent read. */
  snapshot(): Promise<RegistrySnapshot>;
  /**
   * Validates the change set against the tree it produces and writes it in one transaction, or
   * throws (FT_REGISTRY_INVALID, _CONFLICT, _EXISTS, _NOT_FOUND) and writes nothing.
   */
  apply(
    changes: unknown,
    options: { actor: string },
  ): Promise<{
    version: number /** The tree it wrote (shared: do not modify). */;
    snapshot?: RegistrySnapshot;
  }>;
  /** Audit entries of the changes after version `since` (default: all), oldest first. */
  audit(query?: { since?: number; limit?: number }): Promise<AuditEntry[]>;
  version(): Promise<number>;
  /**
   * Calls `listener` with the registry version after every change set committed: at once for
   * one this store applied (in this process), and, where the database tells (PostgreSQL's
   * LISTEN/NOTIFY), for those of other processes, and with the current version each time that
   * channel is (re)connected, so that a change made while it was down is not missed. A version
   * may come more than once and out of order: listeners read the registry, not the number.
   * Returns the function that stops the listening.
   */
  watch(listener: (version: number) => void): () => void;
}

/** One connection inside one transaction. */
export interface SqlSession {
  run(sql: string, params?: readonly (string | number | null)[]): Promise<void>;
  rows(sql: string, params?: readonly (string | number | null)[]): Promise<unknown[][]>;
  /** Inserts rows (all columns, in table order) faster than VALUES lists, where the database can. */
  insertMany?(table: BulkTable, rows: readonly Row[]): Promise<void>;
  /**
   * Runs statements without parameters (values written in as literals) in one call to the
   * database, in this transaction: one round trip instead of one per statement.
   */
  script?(statements: readonly string[]): Promise<void>;
}

/** What a backend provides: a connection, its transactions and its SQL where it differs. */
export interface SqlDriver {
  /** For messages: "embedded registry /var/lib/flowtally/registry.duckdb". */
  readonly name: string;
  open(): Promise<void>;
  close(): Promise<void>;
  /**
   * Runs `fn` in one transaction (committed when it resolves, rolled back when it throws); a
   * "write" transaction first takes the registry's write lock, so writers go one at a time
   * across processes.
   */
  transaction<T>(kind: "read" | "write", fn: (s: SqlSession) => Promise<T>): Promise<T>;
  /**
   * Tells other processes, in the write transaction of a change set, that `version` is committed
   * (PostgreSQL: pg_notify, delivered at commit). Absent where one process holds the registry.
   */
  announce?(s: SqlSession, version: number): Promise<void>;
  /**
   * Where this process alone writes the database (the embedded file, which DuckDB locks to it):
   * runs `statements` (parameters written in as literals) as one transaction in one call to the
   * database, instead of a round trip per statement. Absent where others may write meanwhile.
   */
  writeScript?(statements: readonly string[]): Promise<void>;
  /**
   * Follows the versions other processes commit (PostgreSQL: a dedicated LISTEN connection,
   * reconnected after a drop; the current version on each connect). Returns its stop.
   */
  follow?(onVersion: (version: number) => void): () => void;
}

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

/** Creates the tables and the version row where they are missing (in a write transaction). */
export async function createRegistryTables(s: SqlSession): Promise<void> {
  for (const sql of REGISTRY_TABLES_SQL) await s.run(sql);
  const have = await s.rows("SELECT version FROM registry_meta WHERE id = 1");
  if (have.length === 0) await s.run("INSERT INTO registry_meta (id, version) VALUES (1, 0)");
}

export type Row = Array<string | number | null>;

/** The tables rows are inserted into in bulk, with their columns' types in order. */
export const BULK_TABLES = {
  customers: { table: "registry_customers", columns: ["text", "bigint", "text"] },
  sites: { table: "registry_sites", columns: ["text", "text", "bigint", "text"] },
  links: { table: "registry_links", columns: ["text", "text", "text", "bigint", "text"] },
  audit: {
    table: "registry_audit",
    columns: ["bigint", "integer", "bigint", "text", "text", "text", "text", "text"],
  },
} as const;

export type BulkTable = (typeof BULK_TABLES)[keyof typeof BULK_TABLES];

/** Parameters per statement at most (PostgreSQL takes 65 535). */
const MAX_PARAMS = 4000;
/** Change sets written in one transaction at most (group commit). */
const MAX_GROUP = 256;

/** Inserts rows many to a statement (what a session without its own bulk insert gets). */
export async function insertWithValues(s: SqlSession, t: BulkTable, rows: readonly Row[]) {
  const width = t.columns.length;
  const perStatement = Math.floor(MAX_PARAMS / width);
  for (let k = 0; k < rows.length; k += perStatement) {
    const chunk = rows.slice(k, k + perStatement);
    const tuples = chunk.map(
      (_, r) => `(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`).join(", ")})`,
    );
    await s.run(`INSERT INTO ${t.table} VALUES ${tuples.join(", ")}`, chunk.flat());
  }
}

/**
 * Rows gathered per table and inserted in bulk: an import of 100 000 customers is 400 000 rows
 * with their audit entries, far too slow one statement each.
 */
/** Deletes the rows whose `columns` equal one of `keys`, in statements of bounded size. */
async function deleteWhere(
  s: SqlSession,
  table: string,
  columns: readonly string[],
  keys: readonly string[][],
): Promise<void> {
  // One column: `IN (…)`; more: an OR of ANDs, in chunks a planner takes quickly.
  const per = columns.length === 1 ? MAX_PARAMS : 256;
  for (let k = 0; k < keys.length; k += per) {
    const chunk = keys.slice(k, k + per);
    const params: string[] = [];
    const param = (v: string) => {
      params.push(v);
      return `$${params.length}`;
    };
    const where =
      columns.length === 1
        ? `${columns[0]} IN (${chunk.map((key) => param(key[0]!)).join(", ")})`
        : chunk
            .map((key) => `(${columns.map((c, j) => `${c} = ${param(key[j]!)}`).join(" AND ")})`)
            .join(" OR ");
    await s.run(`DELETE FROM ${table} WHERE ${where}`, params);
  }
}

function createInserts(s: SqlSession) {
  const pending: Record<keyof typeof BULK_TABLES, Row[]> = {
    customers: [],
    sites: [],
    links: [],
    audit: [],
  };
  return {
    add(table: keyof typeof BULK_TABLES, row: Row) {
      pending[table].push(row);
    },
    async flush() {
      for (const table of Object.keys(pending) as Array<keyof typeof BULK_TABLES>) {
        const rows = pending[table];
        if (rows.length === 0) continue;
        pending[table] = [];
        // A bulk path (DuckDB's appender) costs more to set up than a few rows take.
        if (s.insertMany !== undefined && rows.length > 32) {
          await s.insertMany(BULK_TABLES[table], rows);
        } else await insertWithValues(s, BULK_TABLES[table], rows);
      }
    },
  };
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
async function readCustomers(
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

/** Customers named in the audit of versions after `since`: re-read, not the whole tree. */
const MAX_REFRESHED_CUSTOMERS = 2000;

export function createSqlRegistry(
  driver: SqlDriver,
  deps: {
    now?: () => number;
    /**
     * Where this process alone writes the database (the embedded file): the tree saved at stop,
     * read at start instead of the tables when the database is still at its version.
     */
    treeFile?: TreeFile;
  } = {},
): RegistryStore {
  const now = deps.now ?? Date.now;
  let started = false;
  /** The last tree read or written, kept while the version stays the same. */
  let cached: RegistrySnapshot = EMPTY_SNAPSHOT;
  let cachedValid = false;

  const ensureStarted = () => {
    if (!started) {
      throw new FlowtallyError(
        "FT_REGISTRY_OPEN",
        `${driver.name}: a call came while the registry is not started`,
      );
    }
  };

  /** Runs a call to the database; its own errors become FT_REGISTRY_OPEN, ours pass. */
  async function guarded<T>(call: () => Promise<T>): Promise<T> {
    ensureStarted();
    try {
      return await call();
    } catch (e) {
      if (isFlowtallyError(e)) throw e;
      throw new FlowtallyError(
        "FT_REGISTRY_OPEN",
        `${driver.name}: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
  }

  /** Runs a transaction (see `guarded`). */
  const tx = <T>(kind: "read" | "write", fn: (s: SqlSession) => Promise<T>): Promise<T> =>
    guarded(() => driver.transaction(kind, fn));

  async function readVersion(s: SqlSession): Promise<number> {
    const rows = await s.rows("SELECT version FROM registry_meta WHERE id = 1");
    return Number(rows[0]?.[0] ?? 0);
  }

  /**
   * What the database says of `version`: its first audit entry (when, who, what), which a
   * database with another history (a restored copy, another file) at the same version does not
   * share. Empty for version 0.
   */
  async function markOf(s: SqlSession, version: number): Promise<string> {
    if (version === 0) return "";
    const rows = await s.rows(
      "SELECT at_ms, actor, op, path FROM registry_audit WHERE version = $1 AND idx = 0",
      [version],
    );
    return rows.length === 0 ? "?" : JSON.stringify(rows[0]!.map(String));
  }

  /**
   * The saved tree as the cache where the database is at its version, or at a later one of the
   * same history (`load` then re-reads the customers the audit names since); else nothing.
   */
  async function adoptSaved(s: SqlSession): Promise<void> {
    const saved = await deps.treeFile?.read();
    if (saved === undefined) return;
    const version = await readVersion(s);
    if (saved.version > version || (await markOf(s, saved.version)) !== saved.mark) return;
    cached = { version: saved.version, customers: saved.customers };
    cachedValid = true;
  }

  /** Saves the tree for the next start (a cache: a failure only makes that start slower). */
  async function saveTree(file: TreeFile): Promise<void> {
    const tree = cached;
    if (!cachedValid || writing) return;
    try {
      const mark = await tx("read", (s) => markOf(s, tree.version));
      await file.write({ version: tree.version, mark, customers: tree.customers });
    } catch {
      await file.remove().catch(() => undefined);
    }
  }

  /** The tree at the session's version: the cached one when it is still current. */
  async function load(s: SqlSession, forWrite = false): Promise<RegistrySnapshot> {
    const version = await readVersion(s);
    if (cachedValid && cached.version === version) return cached;
    // A read whose transaction began before this process's latest commit sees an older version:
    // the tree held is newer and committed, as good an answer a moment later. Re-reading the old
    // one (the whole tree) would only move the cache backwards. A write holds the lock and sees
    // the latest version: a cache ahead of it (the database restored?) is read again.
    if (!forWrite && cachedValid && cached.version > version) return cached;
    const snapshot = (cachedValid && cached.version < version
      ? await refresh(s, cached, version)
      : undefined) ?? { version, customers: await readCustomers(s) };
    // Loads run concurrently: the newest tree stays (a slow read never replaces a newer one).
    if (!cachedValid || forWrite || snapshot.version > cached.version) {
      cached = snapshot;
      cachedValid = true;
    }
    return snapshot;
  }

  /**
   * The tree at `version` from the one at `from.version`, re-reading only the customers the
   * change sets in between touched (their audit entries name them, written in the same
   * transactions): what a process sharing PostgreSQL does after another one wrote. Undefined
   * (read everything) when the audit does not cover every version, or names many customers.
   */
  async function refresh(
    s: SqlSession,
    from: RegistrySnapshot,
    version: number,
  ): Promise<RegistrySnapshot | undefined> {
    if (version - from.version > MAX_REFRESHED_CUSTOMERS) return undefined;
    const rows = await s.rows(
      `SELECT DISTINCT version, path FROM registry_audit WHERE version > $1 AND version <= $2 LIMIT ${MAX_REFRESHED_CUSTOMERS + 1}`,
      [from.version, version],
    );
    const versions = new Set<number>();
    const ids = new Set<string>();
    for (const [v, path] of rows) {
      versions.add(Number(v));
      ids.add(String(path).split("/")[1]!);
    }
    if (rows.length > MAX_REFRESHED_CUSTOMERS || versions.size !== version - from.version) {
      return undefined;
    }
    const fresh = new Map((await readCustomers(s, [...ids])).map((c) => [c.id, c]));
    const changed = new Map<string, RegistryCustomer | null>();
    for (const id of ids) changed.set(id, fresh.get(id) ?? null);
    const snapshot = { version, customers: mergeTree(from.customers, changed) };
    carryIndex(from, snapshot, changed);
    return snapshot;
  }

  /**
   * Writes a group of applied change sets (in order) in the session's transaction, in a few
   * statements whatever their number: first every row they replace or delete goes (with what is
   * under a deleted customer or site), then each record's last state is inserted, then the audit
   * entries. A record written by one change set and deleted with its parent by a later one is not
   * inserted; one deleted and added anew is.
   */
  async function writeGroup(s: SqlSession, group: readonly AppliedChangeSet[]): Promise<void> {
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
    await deleteWhere(s, "registry_links", ["customer"], [...emptied.customer].map(split));
    await deleteWhere(s, "registry_sites", ["customer"], [...emptied.customer].map(split));
    await deleteWhere(s, "registry_links", ["customer", "site"], [...emptied.site].map(split));
    await deleteWhere(s, "registry_customers", ["id"], [...replaced.customer].map(split));
    await deleteWhere(s, "registry_sites", ["customer", "id"], [...replaced.site].map(split));
    await deleteWhere(
      s,
      "registry_links",
      ["customer", "site", "id"],
      [...replaced.link].map(split),
    );
    const inserts = createInserts(s);
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
      if (w.kind === "customer") inserts.add("customers", [w.customer, w.revision, data]);
      else if (w.kind === "site") inserts.add("sites", [w.customer, w.site!, w.revision, data]);
      else inserts.add("links", [w.customer, w.site!, w.link!, w.revision, data]);
    }
    for (const applied of group) {
      for (const a of applied.audit) {
        inserts.add("audit", [
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
    await inserts.flush();
  }

  /**
   * Change sets waiting for the write transaction. Those that arrive while one is being written
   * are written together in the next one (group commit): each is checked against the tree the
   * ones before it made and gets its own version, or is refused alone; the database's commit,
   * the costly part, is shared. A failure of the database refuses the whole group.
   */
  interface Waiting {
    changes: unknown;
    actor: string;
    resolve: (r: { version: number; snapshot: RegistrySnapshot }) => void;
    reject: (e: unknown) => void;
  }
  const waiting: Waiting[] = [];
  let writing = false;

  /**
   * A group's change sets applied in order to `before`: each checked against the tree the ones
   * before it made (the first copies the tree readers hold, the next ones change that copy,
   * which nobody reads before the group is written), or refused alone.
   */
  interface Group {
    readonly before: RegistrySnapshot;
    current: RegistrySnapshot;
    readonly members: Waiting[];
    readonly outcomes: Array<{ snapshot: RegistrySnapshot } | { error: unknown }>;
    readonly applieds: AppliedChangeSet[];
  }

  function openGroup(before: RegistrySnapshot): Group {
    prepareIndex(before);
    return { before, current: before, members: [], outcomes: [], applieds: [] };
  }

  function addToGroup(g: Group, p: Waiting): void {
    g.members.push(p);
    try {
      const applied = applyChangeSet(g.current, p.changes, {
        actor: p.actor,
        atMs: now(),
        commit: true,
        ownsTree: g.current !== g.before,
      });
      g.applieds.push(applied);
      g.current = applied.snapshot;
      g.outcomes.push({ snapshot: g.current });
    } catch (e) {
      // Refused by the rules: the tree is never modified, the others go on.
      g.outcomes.push({ error: e });
    }
  }

  function applyGroup(before: RegistrySnapshot, members: readonly Waiting[]): Group {
    const g = openGroup(before);
    for (const p of members) addToGroup(g, p);
    return g;
  }

  /**
   * Where this process alone writes (the embedded file): the group after the one being written,
   * applied to that one's tree as its change sets arrive, so that its script goes to the
   * database as soon as the one before is committed (not after checking a whole group then, on
   * the event loop, while reads wait), in the same order and with the same verdicts as if
   * applied then. Dropped, its change sets applied again from the database's tree, if the write
   * before it fails.
   */
  let ahead: Group | undefined;

  /** Takes the waiting change sets into `ahead`, in order, as many as a group holds. */
  function fillAhead(): void {
    while (ahead !== undefined && ahead.members.length < MAX_GROUP && waiting.length > 0) {
      addToGroup(ahead, waiting.shift()!);
    }
  }

  /** The group's rows and version in the session's transaction (after `applyGroup`). */
  async function persist(
    s: SqlSession,
    applieds: readonly AppliedChangeSet[],
    version: number,
  ): Promise<void> {
    await writeGroup(s, applieds);
    await s.run("UPDATE registry_meta SET version = $1 WHERE id = 1", [version]);
  }

  /** Rows a group may write as one script (larger ones, an import, go through bulk inserts). */
  const MAX_SCRIPT_ROWS = 2048;

  /**
   * The statements that persist a group, its values written in (undefined for a large group:
   * an import goes through the bulk inserts of `persist`).
   */
  async function scriptOf(
    applieds: readonly AppliedChangeSet[],
    version: number,
  ): Promise<string[] | undefined> {
    let rows = 0;
    for (const a of applieds) rows += a.writes.length + a.audit.length;
    if (rows > MAX_SCRIPT_ROWS) return undefined;
    const statements: string[] = [];
    const collect: SqlSession = {
      async run(sql, params) {
        statements.push(inlineParameters(sql, params));
      },
      rows() {
        throw new Error("a script does not read");
      },
    };
    await persist(collect, applieds, version);
    return statements;
  }

  /**
   * A group where this process alone writes (the embedded file): checked against the tree in
   * memory, which is the database's, and written as one script in one call to the database
   * (BEGIN and COMMIT included): a write waits for one trip through the event loop, not three
   * per statement (under 50 clients each trip waits for the requests queued before it). While
   * it is written, the next group is applied ahead on the tree it makes.
   */
  async function writeAlone(
    group: Group,
    writeScript: (statements: readonly string[]) => Promise<void>,
  ): Promise<void> {
    ahead = openGroup(group.current);
    fillAhead();
    if (group.current === group.before) return;
    const version = group.current.version;
    const script = await scriptOf(group.applieds, version);
    if (script === undefined) {
      await tx("write", (s) => persist(s, group.applieds, version));
    } else await guarded(() => writeScript(script));
  }

  async function pump(): Promise<void> {
    if (writing) return;
    const next = ahead;
    ahead = undefined;
    // A group applied ahead holds the change sets that came first: they go first.
    if (next !== undefined && (next.before !== cached || !cachedValid)) {
      waiting.unshift(...next.members);
    }
    const ready = next !== undefined && next.before === cached && cachedValid;
    if (!(ready && next.members.length > 0) && waiting.length === 0) return;
    writing = true;
    let members: readonly Waiting[] = [];
    try {
      let group: Group;
      if (driver.writeScript !== undefined && cachedValid) {
        group =
          ready && next.members.length > 0
            ? next
            : applyGroup(cached, waiting.splice(0, MAX_GROUP));
        members = group.members;
        await writeAlone(group, driver.writeScript);
      } else {
        members = waiting.splice(0, MAX_GROUP);
        group = await tx("write", async (s) => {
          const before = await load(s, true);
          const applied = applyGroup(before, members);
          if (applied.current !== before) {
            const version = applied.current.version;
            const script =
              s.script === undefined ? undefined : await scriptOf(applied.applieds, version);
            if (script === undefined) await persist(s, applied.applieds, version);
            else await s.script!(script);
            await driver.announce?.(s, version);
          }
          return applied;
        });
      }
      const current = group.current;
      const moved = current.version !== cached.version || !cachedValid;
      cached = current;
      cachedValid = true;
      if (moved) tell(current.version);
      group.outcomes.forEach((o, k) => {
        const p = members[k]!;
        if ("error" in o) p.reject(o.error);
        else p.resolve({ version: o.snapshot.version, snapshot: o.snapshot });
      });
    } catch (e) {
      // The database refused or lost the write: the cache may be ahead of it. The group applied
      // ahead on it is applied again, from the database's tree.
      cachedValid = false;
      for (const p of members) p.reject(e);
    } finally {
      writing = false;
      void pump();
    }
  }

  const listeners = new Set<(version: number) => void>();
  let unfollow: (() => void) | undefined;
  const tell = (version: number) => {
    for (const l of [...listeners]) {
      try {
        l(version);
      } catch {
        // A listener's failure is its own; the others are still told.
      }
    }
  };

  return {
    watch(listener) {
      listeners.add(listener);
      if (unfollow === undefined && driver.follow !== undefined) unfollow = driver.follow(tell);
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) {
          unfollow?.();
          unfollow = undefined;
        }
      };
    },
    async start() {
      if (started) return;
      try {
        await driver.open();
        started = true;
        await tx("write", createRegistryTables);
        // The tree now; its validation index at the first write (0.2 s of CPU at 100 000
        // customers that a process which only reads, or has just started, does not spend).
        await tx("read", async (s) => {
          await adoptSaved(s);
          await load(s);
        });
      } catch (e) {
        started = false;
        await driver.close().catch(() => undefined);
        if (isFlowtallyError(e)) throw e;
        throw new FlowtallyError(
          "FT_REGISTRY_OPEN",
          `${driver.name}: ${e instanceof Error ? e.message : String(e)}`,
          { cause: e },
        );
      }
    },
    async stop() {
      unfollow?.();
      unfollow = undefined;
      if (!started) return;
      if (deps.treeFile !== undefined) await saveTree(deps.treeFile);
      started = false;
      cachedValid = false;
      await driver.close();
    },
    // Where this process alone writes (the embedded file, locked to it), the tree it holds is
    // the database's: answered without a transaction, which would wait in the one connection's
    // queue behind the writes (the registry runtime reads after every version).
    snapshot: () =>
      started && cachedValid && driver.writeScript !== undefined
        ? Promise.resolve(cached)
        : tx("read", (s) => load(s)),
    version: () =>
      started && cachedValid && driver.writeScript !== undefined
        ? Promise.resolve(cached.version)
        : tx("read", readVersion),
    apply(changes, options) {
      return new Promise((resolve, reject) => {
        waiting.push({ changes, actor: options.actor, resolve, reject });
        fillAhead();
        void pump();
      });
    },
    audit: (query = {}) =>
      tx("read", async (s) => {
        const rows = await s.rows(
          "SELECT version, idx, at_ms, actor, op, path, before_json, after_json FROM registry_audit WHERE version > $1 ORDER BY version, idx LIMIT $2",
          [query.since ?? 0, query.limit ?? 1000],
        );
        return rows.map(
          ([version, index, atMs, actor, op, path, before, after]): AuditEntry => ({
            version: Number(version),
            index: Number(index),
            atMs: Number(atMs),
            actor: String(actor),
            op: String(op) as AuditEntry["op"],
            path: String(path),
            before: before === null ? null : JSON.parse(String(before)),
            after: after === null ? null : JSON.parse(String(after)),
          }),
        );
      }),
  };
}
