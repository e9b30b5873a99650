/**
 * SLA profiles are versioned: a change of a class's threshold or target applies from the moment
 * it is made, and history keeps the values that were in force (PacketShaper deleted a class's
 * history when its threshold changed; we do not). A profile's history is a list of versions,
 * each in force from `fromMs` until the next one's `fromMs`. Pure.
 */

/** What makes a class's minute good and compliant, from `fromMs` on. */
export interface ClassLevel {
  readonly fromMs: number;
  /** A transaction is good when its total delay is below this (ms). */
  readonly thresholdMs: number;
  /** The percentage of good transactions (0–100, three decimals) a minute must reach. */
  readonly targetPercent: number;
}

/** The versions of one class's level, oldest first; none: the class has no SLA. */
export type LevelHistory = readonly ClassLevel[];

/**
 * The version in force at `atMs`: the last one with `fromMs <= atMs`; undefined before the first
 * (no SLA was set then: a minute there is judged by nothing, not by today's values).
 */
export function levelAt(history: LevelHistory, atMs: number): ClassLevel | undefined {
  const lo = versionsFrom(history, atMs);
  return lo === 0 ? undefined : history[lo - 1];
}

/**
 * How many versions of a history (sorted by `fromMs`) are in force from at or before `atMs`: the
 * one in force then is the last of them (binary search). Billing profiles use it too.
 */
export function versionsFrom(history: ReadonlyArray<{ fromMs: number }>, atMs: number): number {
  let lo = 0;
  let hi = history.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (history[mid]!.fromMs <= atMs) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The history with `next` appended: it takes effect at `next.fromMs`, which may not be before the
 * last version's (history is never rewritten). The same values again add no version.
 */
export function withLevel(history: LevelHistory, next: ClassLevel): LevelHistory {
  const last = history[history.length - 1];
  if (last !== undefined) {
    if (next.fromMs < last.fromMs) {
      throw new RangeError(
        `a level from ${new Date(next.fromMs).toISOString()} would rewrite history (the last is from ${new Date(last.fromMs).toISOString()})`,
      );
    }
    if (last.thresholdMs === next.thresholdMs && last.targetPercent === next.targetPercent)
      return history;
    if (next.fromMs === last.fromMs) return [...history.slice(0, -1), next];
  }
  return [...history, next];
}

/**
 * The periods of [fromMs, toMs) with one version each (start inclusive, end exclusive), for a
 * report that must say which values were in force when; a period before the first version has
 * `level` undefined.
 */
export function levelPeriods(
  history: LevelHistory,
  fromMs: number,
  toMs: number,
): Array<{ fromMs: number; toMs: number; level: ClassLevel | undefined }> {
  const out: Array<{ fromMs: number; toMs: number; level: ClassLevel | undefined }> = [];
  let start = fromMs;
  let level = levelAt(history, fromMs);
  for (const v of history) {
    if (v.fromMs <= fromMs) continue;
    if (v.fromMs >= toMs) break;
    out.push({ fromMs: start, toMs: v.fromMs, level });
    start = v.fromMs;
    level = v;
  }
  if (start < toMs) out.push({ fromMs: start, toMs, level });
  return out;
}
