/**
 * The registry's group commit: change sets that arrive while a group is being written are
 * written together in the next one, each checked against the tree the ones before it made and
 * refused alone; where this process alone writes (the embedded file), the next group is checked
 * ahead while the current one is written.
 */
import { type AppliedChangeSet, applyChangeSet, prepareIndex } from "./change-set.js";
import type { RegistrySnapshot } from "./model.js";
import type { SqlDriver, SqlSession } from "./sql-driver.js";
import { persist, scriptOf } from "./sql-group-write.js";

/** Change sets written in one transaction at most (group commit). */
const MAX_GROUP = 256;

/** What the group commit shares with the store (sql-registry.ts) it writes for. */
export interface SqlRegistryCore {
  readonly driver: SqlDriver;
  readonly now: () => number;
  /** The last tree read or written, kept while the version stays the same. */
  cached: RegistrySnapshot;
  cachedValid: boolean;
  /** Runs a call to the database; its own errors become FT_REGISTRY_OPEN, ours pass. */
  guarded<T>(call: () => Promise<T>): Promise<T>;
  /** Runs a transaction (see `guarded`). */
  tx<T>(kind: "read" | "write", fn: (s: SqlSession) => Promise<T>): Promise<T>;
  /** The tree at the session's version: the cached one when it is still current. */
  load(s: SqlSession, forWrite?: boolean): Promise<RegistrySnapshot>;
  /** Tells the store's listeners of a version committed. */
  tell(version: number): void;
}

export function createGroupCommit(core: SqlRegistryCore) {
  const { driver, now, guarded, tx, load, tell } = core;

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

  /**
   * A group where this process alone writes (the embedded file): checked against the tree in
   * memory, which is the database's, and written as one script in one call to the database
   * (BEGIN and COMMIT included): a write waits for one trip through the event loop, not three
   * per statement (under 50 clients each trip waits for the requests queued before it). While
   * it is written, the next group is applied ahead on the tree it makes. The script is made and
   * handed to the database at once (no await before the call).
   */
  function writeAlone(
    group: Group,
    writeScript: (statements: readonly string[]) => Promise<void>,
  ): Promise<void> {
    ahead = openGroup(group.current);
    fillAhead();
    if (group.current === group.before) return Promise.resolve();
    const version = group.current.version;
    const script = scriptOf(group.applieds, version);
    if (script === undefined) return tx("write", (s) => persist(s, group.applieds, version));
    return guarded(() => writeScript(script));
  }

  /** Starts writing the next group, when one waits and none is being written. */
  function pump(): void {
    if (writing) return;
    const next = ahead;
    ahead = undefined;
    // A group applied ahead holds the change sets that came first: they go first.
    if (next !== undefined && (next.before !== core.cached || !core.cachedValid)) {
      waiting.unshift(...next.members);
    }
    const ready = next !== undefined && next.before === core.cached && core.cachedValid;
    if (!(ready && next.members.length > 0) && waiting.length === 0) return;
    writing = true;
    let members: readonly Waiting[] = [];
    let written: Promise<Group>;
    try {
      if (driver.writeScript !== undefined && core.cachedValid) {
        const group =
          ready && next.members.length > 0
            ? next
            : applyGroup(core.cached, waiting.splice(0, MAX_GROUP));
        members = group.members;
        written = writeAlone(group, driver.writeScript).then(() => group);
      } else {
        members = waiting.splice(0, MAX_GROUP);
        const taken = members;
        written = tx("write", async (s) => {
          const before = await load(s, true);
          const applied = applyGroup(before, taken);
          if (applied.current !== before) {
            const version = applied.current.version;
            const script = s.script === undefined ? undefined : scriptOf(applied.applieds, version);
            if (script === undefined) await persist(s, applied.applieds, version);
            else await s.script!(script);
            await driver.announce?.(s, version);
          }
          return applied;
        });
      }
    } catch (e) {
      written = Promise.reject(e);
    }
    const taken = members;
    written.then(
      (group) => settle(group, taken),
      (e) => fail(taken, e),
    );
  }

  /**
   * After a group's commit: the next group goes to the database first, so that its write waits
   * for nothing that the listeners and these change sets' answers then do on the event loop.
   */
  function settle(group: Group, members: readonly Waiting[]): void {
    const current = group.current;
    const moved = current.version !== core.cached.version || !core.cachedValid;
    core.cached = current;
    core.cachedValid = true;
    writing = false;
    pump();
    if (moved) tell(current.version);
    group.outcomes.forEach((o, k) => {
      const p = members[k]!;
      if ("error" in o) p.reject(o.error);
      else p.resolve({ version: o.snapshot.version, snapshot: o.snapshot });
    });
  }

  /**
   * The database refused or lost the write: the cache may be ahead of it. The group applied
   * ahead on it is applied again, from the database's tree.
   */
  function fail(members: readonly Waiting[], e: unknown): void {
    core.cachedValid = false;
    for (const p of members) p.reject(e);
    writing = false;
    pump();
  }

  return {
    /** Queues a change set; resolves once its group is committed, or rejects. */
    apply(
      changes: unknown,
      actor: string,
    ): Promise<{ version: number; snapshot: RegistrySnapshot }> {
      return new Promise((resolve, reject) => {
        waiting.push({ changes, actor, resolve, reject });
        fillAhead();
        pump();
      });
    },
    /** Whether a group is being written. */
    writing: () => writing,
  };
}
