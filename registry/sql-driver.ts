/**
 * The contracts of the registry's SQL layer: the store the rest of flowtally calls, and the
 * session and driver a backend (embedded DuckDB, PostgreSQL) provides to sql-registry.ts.
 */
import type { AuditEntry, RegistrySnapshot } from "./model.js";

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
  /**
   * Makes what the first change set would otherwise make (the tree's validation index: a full
   * check, ~0.5 s of CPU at 100 000 customers), in slices with the event loop turning between
   * them: for a process that takes writes (its API), once it has started. A change set that comes
   * first finishes it at once.
   */
  prepareWrites?(): Promise<void>;
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
  /**
   * Whether the sites and links need an index on their customer to be found by it (DuckDB,
   * whose index on a key of several columns serves no lookup): see sql-tables.ts.
   */
  readonly customerIndexes?: boolean;
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
