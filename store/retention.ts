/**
 * Retention of the stored series: how long each level's rows are kept
 * (`store.embedded.retention`). Pure: the clock is passed in.
 */
import type { SeriesLevel } from "../schema/series-store.js";
import { LEVEL_MS, LEVEL_NAMES } from "./levels.js";

export type Retention = Readonly<Record<SeriesLevel, number>>;

/**
 * Per level, the period start before which rows are deleted at `nowMs`: whole periods older than
 * the retention (none for "forever").
 */
export function pruneBefore(
  retention: Retention,
  nowMs: number,
): Partial<Record<SeriesLevel, number>> {
  const out: Partial<Record<SeriesLevel, number>> = {};
  for (const level of LEVEL_NAMES) {
    const keep = retention[level];
    if (!Number.isFinite(keep)) continue;
    const ms = LEVEL_MS[level];
    out[level] = Math.floor((nowMs - keep) / ms) * ms;
  }
  return out;
}

/**
 * The earliest period start of `level` still certainly held at `nowMs` (-Infinity for "forever"):
 * queries reading rows older than this may find them pruned.
 */
export function keptFrom(retention: Retention, level: SeriesLevel, nowMs: number): number {
  const keep = retention[level];
  if (!Number.isFinite(keep)) return Number.NEGATIVE_INFINITY;
  const ms = LEVEL_MS[level];
  return Math.ceil((nowMs - keep) / ms) * ms;
}
