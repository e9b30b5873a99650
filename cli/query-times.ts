/**
 * Times of `flowtally query --from/--to`: ISO 8601 as the API takes them, or relative to the
 * current time, in UTC: `now`, `now-15m`, `now-6h`, `now-7d`, `today`, `yesterday`,
 * `this-month`, `last-month`. Pure: the clock is passed in.
 *
 * A relative time is rounded down to the step of the query (the overview's: the minute), so that
 * it names a boundary the API accepts: `now-1h` at 10:37:12 is 09:37 for the overview and step
 * 1m, 09:00 at step 1h. `today` and the others are UTC midnights, boundaries of every step. An ISO
 * time is taken as written (the API refuses one off the step's boundaries, naming the nearest).
 */
import { parseIsoTime } from "../query/api/parameters.js";

const UNIT_MS: Readonly<Record<string, number>> = {
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

export const RELATIVE_TIME_FORMS =
  "now, now-15m, now-6h, now-7d, today, yesterday, this-month, last-month";

/**
 * `text` as ms since the epoch, or NaN when it is neither ISO 8601 nor a relative time.
 * `stepMs`: the query's step, relative times are rounded down to it.
 */
export function parseQueryTime(text: string, nowMs: number, stepMs: number): number {
  const relative = relativeTime(text.trim(), nowMs);
  if (relative !== undefined) return Math.floor(relative / stepMs) * stepMs;
  return parseIsoTime(text);
}

function relativeTime(text: string, nowMs: number): number | undefined {
  const now = new Date(nowMs);
  const y = now.getUTCFullYear();
  const mo = now.getUTCMonth();
  const d = now.getUTCDate();
  switch (text) {
    case "now":
      return nowMs;
    case "today":
      return utc(y, mo, d);
    case "yesterday":
      return utc(y, mo, d - 1);
    case "this-month":
      return utc(y, mo, 1);
    case "last-month":
      return utc(y, mo - 1, 1);
  }
  const m = /^now-([1-9][0-9]{0,5})([mhd])$/.exec(text);
  if (m === null) return undefined;
  return nowMs - Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** Midnight UTC of a calendar day; month and day may overflow (month -1 is last December). */
function utc(year: number, month: number, day: number): number {
  const t = new Date(0);
  t.setUTCFullYear(year, month, day); // Date.UTC would map years 0-99 to 1900-1999
  return t.getTime();
}
