/**
 * InfluxQL pieces of the InfluxDB store's reads: literals, tag filters, a customer's series
 * filter, key ranges, and the JSON answer's series as rows and points.
 */
import type { SeriesLevel, TrafficQuery } from "../schema/series-store.js";
import { quoteIdentifier, quoteString } from "./influx-text.js";
import { LEVEL_MS, LEVEL_NAMES, timeBound } from "./levels.js";

/** InfluxDB's time range is int64 nanoseconds: bounds outside it are clamped to its edges. */
export const MAX_MS = 9_223_372_036_853;

/** Above this many customers a read fetches all customers of the periods and filters here. */
export const MAX_CUSTOMER_TERMS = 200;

/** Periods of a level further apart than this are read by separate statements. */
export const MAX_GAP_PERIODS = 16;

/** `time` condition value: ms with InfluxQL's unit suffix, clamped to InfluxDB's range. */
export function msLiteral(ms: number): string {
  return `${Math.min(MAX_MS, Math.max(-MAX_MS, ms))}ms`;
}

/** `"tag" = 'value'` with both quoted: the only way a caller's string reaches InfluxQL. */
export function tagEquals(tag: string, value: string): string {
  return `${quoteIdentifier(tag)} = ${quoteString(value)}`;
}

export function anyOf(tag: string, values: readonly string[]): string {
  return `(${values.map((v) => tagEquals(tag, v)).join(" OR ")})`;
}

export interface Series {
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

export interface StatementResult {
  statement_id?: number;
  series?: Series[];
  error?: string;
}

/** The rows of one series as objects keyed by column name. */
export function seriesRows(s: Series): Array<Record<string, unknown>> {
  return s.values.map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]])));
}

export const num = (v: unknown): number => (typeof v === "number" ? v : 0);

export const tag = (s: Series, name: string): string => s.tags?.[name] ?? "";

/**
 * The rows of series grouped by "direction" as one point per time, in time order: `make` starts a
 * point, `add` puts a row of one direction into it.
 */
export function byTimeOf<P extends { timeMs: number }>(
  series: readonly Series[],
  make: (timeMs: number) => P,
  add: (p: P, row: Record<string, unknown>, out: boolean) => void,
): P[] {
  const byTime = new Map<number, P>();
  for (const s of series) {
    const out = tag(s, "direction") === "out";
    for (const v of seriesRows(s)) {
      const timeMs = num(v.time);
      let p = byTime.get(timeMs);
      if (p === undefined) {
        p = make(timeMs);
        byTime.set(timeMs, p);
      }
      add(p, v, out);
    }
  }
  return [...byTime.values()].sort((a, b) => a.timeMs - b.timeMs);
}

/**
 * The WHERE conditions of one customer's series over [fromMs, toMs), optionally one site, link or
 * class (the same selection as the embedded store's).
 */
export function seriesFilter(name: string, q: Omit<TrafficQuery, "level">): string {
  const where = [
    tagEquals("customer", q.customer),
    `time >= ${msLiteral(timeBound(`${name}: fromMs`, q.fromMs))}`,
    `time < ${msLiteral(timeBound(`${name}: toMs`, q.toMs))}`,
  ];
  if (q.site !== undefined) where.push(tagEquals("site", q.site));
  if (q.link !== undefined) where.push(tagEquals("link", q.link));
  if (q.trafficClass !== undefined) where.push(tagEquals("class", q.trafficClass));
  return where.join(" AND ");
}

/**
 * The statements' WHERE clauses that read the rows of these keys (one level): their customers and
 * runs of nearby periods, a superset that the caller narrows to the keys.
 */
export function keyFilters(
  keys: readonly { customer: string; startMs: number }[],
  level: SeriesLevel,
) {
  const customers = [...new Set(keys.map((k) => k.customer))];
  const who = customers.length <= MAX_CUSTOMER_TERMS ? ` AND ${anyOf("customer", customers)}` : "";
  const starts = [...new Set(keys.map((k) => k.startMs))].sort((a, b) => a - b);
  const out: string[] = [];
  let first = starts[0]!;
  let last = first;
  const flush = () => out.push(`time >= ${msLiteral(first)} AND time <= ${msLiteral(last)}${who}`);
  for (const t of starts.slice(1)) {
    if (t - last > MAX_GAP_PERIODS * LEVEL_MS[level]) {
      flush();
      first = t;
    }
    last = t;
  }
  flush();
  return out;
}

export function byLevel<K extends { level: SeriesLevel }>(
  keys: readonly K[],
): Array<[SeriesLevel, K[]]> {
  return LEVEL_NAMES.map(
    (l) => [l, keys.filter((k) => k.level === l)] as [SeriesLevel, K[]],
  ).filter(([, ks]) => ks.length > 0);
}
