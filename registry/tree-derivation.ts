/**
 * Which customers may differ between two snapshots of one history, without comparing their
 * 100 000 records: a snapshot made from another (a change set applied, another process's change
 * sets read back) records the ids of the customers it changed. The registry runtime follows
 * versions with it (registry-runtime.ts: each version's model from the last one's and these
 * customers).
 *
 * Runs: a derived snapshot records the ids it changed, linked to the records of the trees before
 * it back to the start of its run (the snapshot its run's first derivation came from), at most
 * {@link MAX_RUN} ids, after which a new run starts. The start is held weakly: a version does not
 * keep the versions before it alive (the records of a run are small, the trees are not).
 */
import type { RegistrySnapshot } from "./model.js";

interface Derivation {
  readonly start: WeakRef<RegistrySnapshot>;
  /** The customers this tree changed, by id; those of the trees before it in the run follow. */
  readonly ids: readonly string[];
  readonly previous: Derivation | undefined;
  /** Ids in the run up to this tree (repeats counted). */
  readonly count: number;
}

const derivations = new WeakMap<RegistrySnapshot, Derivation>();

/** Ids a run gathers before the next derivation starts a new one. */
const MAX_RUN = 256;

/** `to` is `from` with the customers `ids` added, replaced or removed. */
export function recordDerivation(
  to: RegistrySnapshot,
  from: RegistrySnapshot,
  ids: Iterable<string>,
): void {
  const own = [...ids];
  const d = derivations.get(from);
  if (d !== undefined && d.start.deref() !== undefined && d.count + own.length <= MAX_RUN) {
    derivations.set(to, { start: d.start, ids: own, previous: d, count: d.count + own.length });
    return;
  }
  derivations.set(to, {
    start: new WeakRef(from),
    ids: own,
    previous: undefined,
    count: own.length,
  });
}

/** Every id of the run up to `d`. */
function idsOf(d: Derivation, into: Set<string>): Set<string> {
  for (let x: Derivation | undefined = d; x !== undefined; x = x.previous) {
    for (const id of x.ids) into.add(id);
  }
  return into;
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
  if (start === earlier) return [...idsOf(d, new Set())];
  const e = derivations.get(earlier);
  if (e === undefined || e.start.deref() !== start) return undefined;
  return [...idsOf(e, idsOf(d, new Set()))];
}
