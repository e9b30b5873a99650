/**
 * The breach list's minutes (schema/series-store.ts `SlaBreachMinutes`) from 1-minute SLA rows,
 * for a store that cannot reduce them itself (InfluxQL has no window functions; the embedded
 * store does the same in one SQL statement, store/duckdb-response-reads.ts). Pure.
 */
import type {
  SlaBreachClass,
  SlaBreachMinute,
  SlaBreachMinutes,
  SlaRow,
} from "../schema/series-store.js";

interface Level {
  thresholdMs: number;
  targetPercent: number;
}

interface Pair {
  customer: string;
  trafficClass: string;
  /** The level of the last row with one so far (rows in slaRows' order). */
  level: Level | undefined;
  minute: number;
  transactions: number;
  good: number;
  /** A row of the minute breached, or the minute's rows do not all carry one level. */
  mayBreach: boolean;
  first: Level | undefined;
}

/**
 * `rows`: 1-minute rows in slaRows' order (time, then customer, site, link and class), any
 * customers. Answers what `SeriesStore.slaBreachMinutes` answers for them.
 */
export function breachMinutesOfRows(rows: readonly SlaRow[]): SlaBreachMinutes {
  const breaching = new Set<string>();
  for (const r of rows) {
    if (r.breachMinutes > 0) breaching.add(`${r.customer}\0${r.trafficClass}`);
  }
  const pairs = new Map<string, Pair>();
  const minutes: SlaBreachMinute[] = [];
  const withLevel = <T extends object>(x: T, l: Level | undefined) =>
    l === undefined ? x : { ...x, thresholdMs: l.thresholdMs, targetPercent: l.targetPercent };
  const flush = (p: Pair) => {
    if (!p.mayBreach) return;
    minutes.push(
      withLevel(
        {
          customer: p.customer,
          trafficClass: p.trafficClass,
          startMs: p.minute,
          transactions: p.transactions,
          good: p.good,
        },
        p.level,
      ),
    );
  };
  for (const r of rows) {
    const id = `${r.customer}\0${r.trafficClass}`;
    if (!breaching.has(id)) continue;
    const own: Level | undefined =
      r.targetPercent === undefined
        ? undefined
        : { thresholdMs: r.thresholdMs ?? 0, targetPercent: r.targetPercent };
    let p = pairs.get(id);
    if (p === undefined || p.minute !== r.startMs) {
      if (p !== undefined) flush(p);
      else {
        p = {
          customer: r.customer,
          trafficClass: r.trafficClass,
          level: undefined,
          minute: 0,
          transactions: 0,
          good: 0,
          mayBreach: false,
          first: undefined,
        };
        pairs.set(id, p);
      }
      p.minute = r.startMs;
      p.transactions = 0;
      p.good = 0;
      p.mayBreach = own === undefined;
      p.first = own;
    } else if (
      own === undefined ||
      p.first === undefined ||
      own.thresholdMs !== p.first.thresholdMs ||
      own.targetPercent !== p.first.targetPercent
    ) {
      p.mayBreach = true;
    }
    p.transactions += r.transactions;
    p.good += r.good;
    if (r.breachMinutes > 0) p.mayBreach = true;
    if (own !== undefined) p.level = own;
  }
  const classes: SlaBreachClass[] = [];
  for (const p of pairs.values()) {
    flush(p);
    classes.push(withLevel({ customer: p.customer, trafficClass: p.trafficClass }, p.level));
  }
  return { classes, minutes };
}
