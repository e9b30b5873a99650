/**
 * Query parameters, read strictly (docs/api.md): every name known, given once, non-empty, short
 * and printable; times ISO 8601 with a zone; choices from a fixed list. Pure: a query string in,
 * values or an ApiError naming the parameter out.
 */
import { badParameter, hasControl, shown, shownName } from "./errors.js";

/** Longest query parameter value accepted. */
export const MAX_VALUE_LENGTH = 256;

const MINUTE_MS = 60_000;

/** "2026-11-22T10:00:00Z": ISO 8601 without the milliseconds, which are always 0 here. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace(".000Z", "Z");
}

const TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?([Zz]|([+-])(\d{2}):(\d{2})))?$/;

/**
 * Strict ISO 8601: a date (UTC midnight) or a date and time with `Z` or an offset. Calendar
 * fields are checked (no February 30th, which Date.parse accepts). NaN when not one.
 */
export function parseIsoTime(text: string): number {
  const m = TIME.exec(text);
  if (m === null) return Number.NaN;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [hour, minute, second] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  const millis = Number((m[7] ?? "0").padEnd(3, "0"));
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) {
    return Number.NaN;
  }
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day > daysInMonth) return Number.NaN;
  let offset = 0;
  if (m[9] !== undefined) {
    const [oh, om] = [Number(m[10]), Number(m[11])];
    if (oh > 23 || om > 59) return Number.NaN;
    offset = (m[9] === "-" ? -1 : 1) * (oh * 60 + om) * MINUTE_MS;
  }
  const t = new Date(0);
  t.setUTCFullYear(year, month - 1, day); // Date.UTC maps years 0-99 to 1900-1999
  t.setUTCHours(hour, minute, second, millis);
  return t.getTime() - offset;
}

/** The query string's parameters: each known, given once, non-empty and printable. */
export function readParameters(search: string, allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(search)) {
    if (!allowed.includes(name)) {
      throw badParameter(
        shownName(name),
        `unknown parameter ${shown(name)}; this endpoint takes ${allowed.join(", ")}`,
      );
    }
    if (out.has(name)) throw badParameter(name, `${name} is given more than once`);
    if (value === "") throw badParameter(name, `${name} is empty`);
    if (value.length > MAX_VALUE_LENGTH) {
      throw badParameter(name, `${name} is longer than ${MAX_VALUE_LENGTH} characters`);
    }
    if (hasControl(value)) {
      throw badParameter(name, `${name} contains control characters`);
    }
    out.set(name, value);
  }
  return out;
}

export function timeParameter(p: Map<string, string>, name: "from" | "to"): number | undefined {
  const value = p.get(name);
  if (value === undefined) return undefined;
  const t = parseIsoTime(value);
  if (Number.isNaN(t)) {
    // An unencoded "+01:00" arrives as " 01:00": "+" in a query string is a space.
    const hint = / \d{2}:\d{2}$/.test(value) ? ' (write "+" as %2B in a URL)' : "";
    throw badParameter(
      name,
      `${name} ${shown(value)} is not an ISO 8601 time such as 2026-11-22T10:00:00Z${hint}`,
    );
  }
  return t;
}

/**
 * `from` (required, `fromMessage` when missing) and `to` (default: the end of the current minute,
 * so that what has arrived so far is read, marked not complete) as a range of whole minutes.
 */
export function minuteRange(
  p: Map<string, string>,
  nowMs: number,
  fromMessage = "from is required (ISO 8601)",
): { fromMs: number; toMs: number } {
  const MINUTE = 60_000;
  const fromMs = timeParameter(p, "from");
  if (fromMs === undefined) throw badParameter("from", fromMessage);
  const toMs = timeParameter(p, "to") ?? Math.ceil((nowMs + 1) / MINUTE) * MINUTE;
  for (const [name, t] of [
    ["from", fromMs],
    ["to", toMs],
  ] as const) {
    if (t % MINUTE !== 0)
      throw badParameter(name, `${name} ${isoTime(t)} is not on a whole minute`);
  }
  if (toMs <= fromMs) {
    throw badParameter("to", `to ${isoTime(toMs)} must be after from ${isoTime(fromMs)}`);
  }
  return { fromMs, toMs };
}

export function choice<T extends string>(
  p: Map<string, string>,
  name: string,
  choices: readonly T[],
  fallback: T,
): T {
  const value = p.get(name);
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) {
    throw badParameter(name, `${name} ${shown(value)}: expected one of ${choices.join(", ")}`);
  }
  return value as T;
}
