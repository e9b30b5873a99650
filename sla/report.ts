/**
 * One customer's SLA report for one class over [fromMs, toMs): its 1-minute counts (the
 * customer's links summed per minute) judged by the level in force at each minute, summed into
 * the figures of `GET /api/v1/customers/{id}/sla` (docs/sla.md). Pure: the rows come from the
 * store, the level history from the profile, the range from the request.
 */
import {
  addMinute,
  compliantShare,
  emptySums,
  goodShare,
  type Incident,
  incidents,
  type SlaMinute,
} from "./compliance.js";
import { type ClassLevel, type LevelHistory, levelAt, levelPeriods } from "./profiles.js";

const MINUTE_MS = 60_000;

/** One minute of one class: transactions and good ones, over every link the report covers. */
export interface ClassMinuteCounts {
  readonly startMs: number;
  readonly transactions: number;
  readonly good: number;
  /** Good was estimated (an exporter's histogram whose bucket edge is not the threshold). */
  readonly estimated?: boolean;
}

export interface ClassReport {
  /** The level in force at the end of the range (undefined: none was). */
  threshold: number | undefined;
  targetPercent: number | undefined;
  /** Each part of the range with the level in force then, when it changed within the range. */
  levels: Array<{ fromMs: number; toMs: number; level: ClassLevel | undefined }>;
  transactions: number;
  good: number;
  /** Transaction-weighted; null without transactions. */
  goodShare: number | null;
  /** Whole minutes in the range. */
  minutes: number;
  compliantMinutes: number;
  breachMinutes: number;
  /** Minutes without transactions or without a level in force. */
  noDataMinutes: number;
  /** Compliant over judged minutes; null when no minute had data. */
  compliantShare: number | null;
  /** Some good counts were estimated. */
  estimated: boolean;
  incidents: Incident[];
}

/**
 * The report. `rows` may come in any order and hold several rows for one minute (one per link):
 * they are summed per minute first, then judged; rows outside the range are ignored.
 */
export function classReport(
  rows: readonly ClassMinuteCounts[],
  history: LevelHistory,
  fromMs: number,
  toMs: number,
): ClassReport {
  const first = Math.ceil(fromMs / MINUTE_MS) * MINUTE_MS;
  const end = Math.floor(toMs / MINUTE_MS) * MINUTE_MS;
  const byMinute = new Map<number, { transactions: number; good: number }>();
  let estimated = false;
  for (const r of rows) {
    if (r.startMs < first || r.startMs >= end) continue;
    const start = Math.floor(r.startMs / MINUTE_MS) * MINUTE_MS;
    const m = byMinute.get(start);
    if (m === undefined) byMinute.set(start, { transactions: r.transactions, good: r.good });
    else {
      m.transactions += r.transactions;
      m.good += r.good;
    }
    if (r.estimated === true) estimated = true;
  }
  const minutes: SlaMinute[] = [...byMinute]
    .sort((a, b) => a[0] - b[0])
    .map(([startMs, c]) => ({
      startMs,
      transactions: c.transactions,
      good: c.good,
      targetPercent: levelAt(history, startMs)?.targetPercent,
    }));
  const sums = emptySums();
  for (const m of minutes) addMinute(sums, m);
  const total = Math.max(0, (end - first) / MINUTE_MS);
  // Minutes without a row are no data too.
  const noDataMinutes = total - sums.compliantMinutes - sums.breachMinutes;
  const last = end > first ? levelAt(history, end - 1) : undefined;
  return {
    threshold: last?.thresholdMs,
    targetPercent: last?.targetPercent,
    levels: end > first ? levelPeriods(history, first, end) : [],
    transactions: sums.transactions,
    good: sums.good,
    goodShare: goodShare(sums),
    minutes: total,
    compliantMinutes: sums.compliantMinutes,
    breachMinutes: sums.breachMinutes,
    noDataMinutes,
    compliantShare: compliantShare(sums),
    estimated,
    incidents: incidents(minutes),
  };
}
