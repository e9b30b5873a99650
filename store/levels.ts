/**
 * The levels of the stored series and how a time range is read from them: shared by every store
 * (store/duckdb-store.ts, store/influx-store.ts) so that they answer `overview` from the same
 * pieces. Pure.
 */
import type { SeriesLevel } from "../schema/series-store.js";

export const LEVEL_MS: Readonly<Record<SeriesLevel, number>> = {
  "1m": 60_000,
  "5m": 300_000,
  "1h": 3_600_000,
  "1d": 86_400_000,
};
export const LEVEL_NAMES = Object.keys(LEVEL_MS) as readonly SeriesLevel[];
/** Coarsest first: the order in which `overview` tiles a range. */
export const TILING: readonly SeriesLevel[] = ["1d", "1h", "5m", "1m"];
export const MINUTE_MS = LEVEL_MS["1m"];

/**
 * The first minute not complete at `nowMs`: the minutes before it ended more than `latenessMs`
 * ago, so every record that arrives within the lateness is in them. A multiple of a minute.
 */
export function completeBefore(nowMs: number, latenessMs: number): number {
  return floorTo(nowMs - latenessMs, MINUTE_MS);
}

export function ceilTo(ms: number, step: number): number {
  return Math.ceil(ms / step) * step;
}

export function floorTo(ms: number, step: number): number {
  return Math.floor(ms / step) * step;
}

export interface TilePiece {
  level: SeriesLevel;
  fromMs: number;
  toMs: number;
}

/**
 * Splits [fromMs, toMs) (multiples of a minute) into pieces, each made of whole periods of one
 * level, using the coarsest level that fits: 1 m at the edges, then 5 m, 1 h, and whole (UTC)
 * days in the middle. At most two pieces per level, plus one of 1 m for the part after
 * `coarseUntilMs` (periods the coarse rows may not hold yet: OverviewQuery.coarseUntilMs).
 */
export function tileRange(
  fromMs: number,
  toMs: number,
  coarseUntilMs = Number.POSITIVE_INFINITY,
): TilePiece[] {
  const split = Math.max(fromMs, Math.min(toMs, floorTo(coarseUntilMs, MINUTE_MS)));
  if (split < toMs) {
    return [...tileRange(fromMs, split), { level: "1m", fromMs: split, toMs }];
  }
  const out: TilePiece[] = [];
  const walk = (from: number, to: number, index: number): void => {
    if (from >= to) return;
    const level = TILING[index]!;
    if (index === TILING.length - 1) {
      out.push({ level, fromMs: from, toMs: to });
      return;
    }
    const ms = LEVEL_MS[level];
    const a = ceilTo(from, ms);
    const b = floorTo(to, ms);
    if (a < b) {
      walk(from, a, index + 1);
      out.push({ level, fromMs: a, toMs: b });
      walk(b, to, index + 1);
    } else {
      walk(from, to, index + 1);
    }
  };
  walk(fromMs, toMs, 0);
  return out;
}

/** A time bound in whole ms: `start >= x` and `start >= ceil(x)` select the same rows. */
export function timeBound(name: string, ms: number): number {
  if (!Number.isFinite(ms)) throw new RangeError(`${name} ${ms}: expected ms since the epoch`);
  return Math.ceil(ms);
}

/**
 * The range `overview` reads: rows whose 1-minute period starts in [fromMs, toMs), so bounds that
 * are not on a minute boundary move up to the next one. Empty when from >= to.
 */
export function overviewRange(q: { fromMs: number; toMs: number }): [number, number] {
  return [
    ceilTo(timeBound("overview: fromMs", q.fromMs), MINUTE_MS),
    ceilTo(timeBound("overview: toMs", q.toMs), MINUTE_MS),
  ];
}
