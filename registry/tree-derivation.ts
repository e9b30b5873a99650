/**
 * Which customers may differ between two snapshots of one history, without comparing their
 * 100 000 records: a snapshot made from another (a change set applied, another process's change
 * sets read back) records the ids of the customers it changed. The registry runtime follows
 * versions with it (registry-runtime.ts: each version's model from the last one's and these
 * customers).
 *
 * Runs: a derived snapshot records the ids changed since the start of its run (the snapshot its
 * run's first derivation came from), at most {@link MAX_RUN} of them, after which a new run
 * starts. The start is held weakly: a version does not keep the versions before it alive.
 */
import type { RegistrySnapshot } from "./model.js";

interface Derivation {
  readonly start: WeakRef<RegistrySnapshot>;
  /** The customers changed since `start`, by id. */
  readonly ids: ReadonlySet<string>;
}

const derivations = new WeakMap<RegistrySnapshot, Derivation>();

/** Ids a run gathers before the next derivation starts a new one (a copy per version). */
const MAX_RUN = 256;

/** `to` is `from` with the customers `ids` added, replaced or removed. */
export function recordDerivation(
  to: RegistrySnapshot,
  from: RegistrySnapshot,
  ids: Iterable<string>,
): void {
  const d = derivations.get(from);
  if (d !== undefined && d.start.deref() !== undefined) {
    const union = new Set(d.ids);
    for (const id of ids) union.add(id);
    if (union.size <= MAX_RUN) {
      derivations.set(to, { start: d.start, ids: union });
      return;
    }
  }
  derivations.set(to, { start: new WeakRef(from), ids: new Set(ids) });
}

/**
 * The ids of the customers that may differ between `earlier` and `later` (more ids than changed
 * is no harm: the records are compared), or undefined when the snapshots do not tell: then the
 * two trees must be compared whole. Two trees that each differ from one start only in their own
 * ids differ from each other only in those ids together, whichever came first.
 */
export function changedBetween(
  earlier: RegistrySnapshot,
  later: RegistrySnapshot,
): readonly string[] | undefined {
  if (earlier === later) return [];
  const d = derivations.get(later);
  const start = d?.start.deref();
  if (d === undefined || start === undefined) return undefined;
  if (start === earlier) return [...d.ids];
  const e = derivations.get(earlier);
  if (e === undefined || e.start.deref() !== start) return undefined;
  return [...new Set([...e.ids, ...d.ids])];
}
