/**
 * The RegistryStore contract's one implementation over SQL, shared by the embedded (DuckDB)
 * and PostgreSQL backends, which only say how to connect, lock and run a statement
 * (sql-driver.ts). The tables (sql-tables.ts) hold each record's own fields as JSON text beside
 * its keys and revision; one row holds the registry version; the audit log is a table keyed by
 * (version, index).
 *
 * An apply locks the version row, loads the tree if another process moved it on (else keeps the
 * one it has), runs the pure core (change-set.ts) and writes its records and audit entries in the
 * same transaction: all of the change set or none of it (sql-group-commit.ts, sql-group-write.ts).
 */
import { runStepsSliced } from "../collector/classify/steps.js";
import { FlowtallyError, isFlowtallyError } from "../schema/errors.js";
import { carryIndex, mergeTree, prepareIndexSteps } from "./change-set.js";
import { CustomerList } from "./customer-list.js";
import {
  type AuditEntry,
  EMPTY_SNAPSHOT,
  type RegistryCustomer,
  type RegistrySnapshot,
} from "./model.js";
import type { RegistryStore, SqlDriver, SqlSession } from "./sql-driver.js";
import { createGroupCommit, type SqlRegistryCore } from "./sql-group-commit.js";
import { createRegistryTables, readCustomers } from "./sql-tables.js";
import { recordDerivation } from "./tree-derivation.js";
import type { TreeFile } from "./tree-snapshot.js";

export type { RegistryStore, SqlDriver, SqlSession } from "./sql-driver.js";

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

  const core: SqlRegistryCore = {
    driver,
    now,
    cached: EMPTY_SNAPSHOT,
    cachedValid: false,
    guarded,
    tx,
    load,
    tell: (version) => tell(version),
  };
  const groupCommit = createGroupCommit(core);

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
    core.cached = { version: saved.version, customers: CustomerList.from(saved.customers) };
    core.cachedValid = true;
  }

  /** Saves the tree for the next start (a cache: a failure only makes that start slower). */
  async function saveTree(file: TreeFile): Promise<void> {
    const tree = core.cached;
    if (!core.cachedValid || groupCommit.writing()) return;
    try {
      const mark = await tx("read", (s) => markOf(s, tree.version));
      await file.write({ version: tree.version, mark, customers: tree.customers.toArray() });
    } catch {
      await file.remove().catch(() => undefined);
    }
  }

  /** The tree at the session's version: the cached one when it is still current. */
  async function load(s: SqlSession, forWrite = false): Promise<RegistrySnapshot> {
    const version = await readVersion(s);
    if (core.cachedValid && core.cached.version === version) return core.cached;
    // A read whose transaction began before this process's latest commit sees an older version:
    // the tree held is newer and committed, as good an answer a moment later. Re-reading the old
    // one (the whole tree) would only move the cache backwards. A write holds the lock and sees
    // the latest version: a cache ahead of it (the database restored?) is read again.
    if (!forWrite && core.cachedValid && core.cached.version > version) return core.cached;
    const snapshot = (core.cachedValid && core.cached.version < version
      ? await refresh(s, core.cached, version)
      : undefined) ?? { version, customers: CustomerList.from(await readCustomers(s)) };
    // Loads run concurrently: the newest tree stays (a slow read never replaces a newer one).
    if (!core.cachedValid || forWrite || snapshot.version > core.cached.version) {
      core.cached = snapshot;
      core.cachedValid = true;
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
    recordDerivation(snapshot, from, ids);
    return snapshot;
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
        await tx("write", (s) => createRegistryTables(s, driver.customerIndexes === true));
        // The tree now; its validation index at the first write, or before it in slices where
        // the process takes writes (prepareWrites): a process that only reads spends nothing.
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
    async prepareWrites() {
      if (!started || !core.cachedValid) return;
      await runStepsSliced(prepareIndexSteps(core.cached));
    },
    async stop() {
      unfollow?.();
      unfollow = undefined;
      if (!started) return;
      if (deps.treeFile !== undefined) await saveTree(deps.treeFile);
      started = false;
      core.cachedValid = false;
      await driver.close();
    },
    // Where this process alone writes (the embedded file, locked to it), the tree it holds is
    // the database's: answered without a transaction, which would wait in the one connection's
    // queue behind the writes (the registry runtime reads after every version).
    snapshot: () =>
      started && core.cachedValid && driver.writeScript !== undefined
        ? Promise.resolve(core.cached)
        : tx("read", (s) => load(s)),
    version: () =>
      started && core.cachedValid && driver.writeScript !== undefined
        ? Promise.resolve(core.cached.version)
        : tx("read", readVersion),
    apply: (changes, options) => groupCommit.apply(changes, options.actor),
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
