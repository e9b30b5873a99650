/**
 * The periods the pages offer, as [from, to) in ms (UTC, whole minutes), from the clock passed in.
 * Pure. "Up to now" periods end at the end of the last whole minute (the minute under way is left
 * out, so that a figure does not change while it is read); a period that would hold no minute yet
 * (today at 00:00:30) holds the first one.
 *
 * The console's presets (`period=`): last15m, last1h, last24h, today, yesterday, last7d,
 * thisMonth, lastMonth, year (with `year=2026`), month (with `month=2026-11`) and custom (with
 * `from=` and `to=`, ISO 8601 or `2026-11-01T10:00` as a browser's datetime-local sends it, UTC).
 * The portal's are Packeteer's names: LAST-MINUTE … LAST-MONTH.
 */

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

export const consolePresets = [
  "last15m",
  "last1h",
  "last24h",
  "today",
  "yesterday",
  "last7d",
  "thisMonth",
  "lastMonth",
  "year",
  "month",
  "custom",
] as const;
export type ConsolePreset = (typeof consolePresets)[number];

export const PRESET_LABELS: Readonly<Record<ConsolePreset, string>> = {
  last15m: "Last 15 minutes",
  last1h: "Last hour",
  last24h: "Last 24 hours",
  today: "Today",
  yesterday: "Yesterday",
  last7d: "Last 7 days",
  thisMonth: "This month",
  lastMonth: "Last month",
  year: "A year",
  month: "A month",
  custom: "Custom range",
};

export const portalPeriods = [
  "LAST-MINUTE",
  "LAST-15-MINUTES",
  "LAST-60-MINUTES",
  "LAST-FULL-HOUR",
  "LAST-24-HOURS",
  "LAST-7-DAYS",
  "TODAY",
  "YESTERDAY",
  "THIS-MONTH",
  "LAST-MONTH",
] as const;
export type PortalPeriod = (typeof portalPeriods)[number];

export interface Range {
  fromMs: number;
  toMs: number;
}

/** A period the request names wrongly: shown beside the period controls (400). */
export class PeriodError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const floorTo = (t: number, unit: number) => Math.floor(t / unit) * unit;
const monthStart = (y: number, m: number) => Date.UTC(y, m, 1);

/** [from, to) ending with the last whole minute, at least one minute long. */
function upToNow(fromMs: number, nowMs: number): Range {
  const toMs = floorTo(nowMs, MINUTE);
  return { fromMs, toMs: Math.max(toMs, fromMs + MINUTE) };
}

function thisMonth(nowMs: number): Range {
  const d = new Date(nowMs);
  return upToNow(monthStart(d.getUTCFullYear(), d.getUTCMonth()), nowMs);
}

function lastMonth(nowMs: number): Range {
  const d = new Date(nowMs);
  return {
    fromMs: monthStart(d.getUTCFullYear(), d.getUTCMonth() - 1),
    toMs: monthStart(d.getUTCFullYear(), d.getUTCMonth()),
  };
}

/** `2026-11-01T10:00`, `2026-11-01T10:00:00Z`, `2026-11-01` (UTC when no zone is given). */
export function parseTime(text: string): number | undefined {
  const m =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:\d{2})?)?$/.exec(
      text.trim(),
    );
  if (m === null) return undefined;
  const [, y, mo, d, h = "00", mi = "00", s = "00", zone = "Z"] = m;
  const t = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${zone}`);
  return Number.isNaN(t) ? undefined : t;
}

export interface PeriodChoice {
  period: ConsolePreset;
  year?: string | undefined;
  month?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
}

/** The range of a console preset; PeriodError names the field at fault. */
export function consoleRange(choice: PeriodChoice, nowMs: number): Range {
  const day = floorTo(nowMs, DAY);
  switch (choice.period) {
    case "last15m":
      return upToNow(floorTo(nowMs, MINUTE) - 15 * MINUTE, nowMs);
    case "last1h":
      return upToNow(floorTo(nowMs, MINUTE) - HOUR, nowMs);
    case "last24h":
      return upToNow(floorTo(nowMs, MINUTE) - DAY, nowMs);
    case "today":
      return upToNow(day, nowMs);
    case "yesterday":
      return { fromMs: day - DAY, toMs: day };
    case "last7d":
      return upToNow(floorTo(nowMs, MINUTE) - 7 * DAY, nowMs);
    case "thisMonth":
      return thisMonth(nowMs);
    case "lastMonth":
      return lastMonth(nowMs);
    case "year": {
      const y = choice.year ?? "";
      if (!/^\d{4}$/.test(y)) throw new PeriodError("year", "a year is four digits (2026)");
      return { fromMs: Date.UTC(Number(y), 0, 1), toMs: Date.UTC(Number(y) + 1, 0, 1) };
    }
    case "month": {
      const m = /^(\d{4})-(\d{2})$/.exec(choice.month ?? "");
      const mo = m === null ? 0 : Number(m[2]);
      if (m === null || mo < 1 || mo > 12) {
        throw new PeriodError("month", "a month is written 2026-11");
      }
      const y = Number(m[1]);
      return { fromMs: monthStart(y, mo - 1), toMs: monthStart(y, mo) };
    }
    case "custom": {
      const fromMs = parseTime(choice.from ?? "");
      const toMs = parseTime(choice.to ?? "");
      if (fromMs === undefined) {
        throw new PeriodError("from", "the start is a date and time (2026-11-01T10:00, UTC)");
      }
      if (toMs === undefined) {
        throw new PeriodError("to", "the end is a date and time (2026-11-01T12:00, UTC)");
      }
      if (fromMs % MINUTE !== 0 || toMs % MINUTE !== 0) {
        throw new PeriodError("from", "the start and the end are whole minutes");
      }
      if (toMs <= fromMs) throw new PeriodError("to", "the end must be after the start");
      return { fromMs, toMs };
    }
  }
}

/** The range of a portal period (Packeteer's names). */
export function portalRange(period: PortalPeriod, nowMs: number): Range {
  const minute = floorTo(nowMs, MINUTE);
  const day = floorTo(nowMs, DAY);
  switch (period) {
    case "LAST-MINUTE":
      return { fromMs: minute - MINUTE, toMs: minute };
    case "LAST-15-MINUTES":
      return { fromMs: minute - 15 * MINUTE, toMs: minute };
    case "LAST-60-MINUTES":
      return { fromMs: minute - HOUR, toMs: minute };
    case "LAST-FULL-HOUR": {
      const hour = floorTo(nowMs, HOUR);
      return { fromMs: hour - HOUR, toMs: hour };
    }
    case "LAST-24-HOURS":
      return { fromMs: minute - DAY, toMs: minute };
    case "LAST-7-DAYS":
      return { fromMs: minute - 7 * DAY, toMs: minute };
    case "TODAY":
      return upToNow(day, nowMs);
    case "YESTERDAY":
      return { fromMs: day - DAY, toMs: day };
    case "THIS-MONTH":
      return thisMonth(nowMs);
    case "LAST-MONTH":
      return lastMonth(nowMs);
  }
}

/** `2026-11-01T10:00:00Z` → `2026-11-01 10:00` (UTC), for people. */
export function shownTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace("T", " ");
}

/** The form a browser's datetime-local input takes: `2026-11-01T10:00`. */
export function inputTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16);
}

/**
 * [from, to) (whole minutes) as at most three ranges the traffic API takes whose sums are exactly
 * the range's (the minutes up to the first whole hour, the whole hours, the minutes after the
 * last): the totals endpoint's own split (query/totals.ts).
 */
export { exactParts } from "../query/totals.js";
