/**
 * The SLA series (docs/series-schema.md#sla-series), derived from the response-time series: per
 * (customer, site, link, class) and minute, the minute's transactions and good ones, the level in
 * force, and its verdict as one of three minute counts (compliant, breach, no data); 5m / 1h / 1d
 * rows add the counts of their minutes, so a period's share of compliant minutes is a ratio of
 * sums, never an average of percentages.
 *
 * Why in the store, from the 1-minute response row it holds after each write: a minute's verdict
 * is not additive (it depends on the minute's whole counts), and the response rows grow by deltas
 * from every flush, late corrections and scaled-out absolute rewrites alike. Judging the stored
 * totals after every write, and adding to the coarse rows only the change of the minute's
 * counts, keeps every level exact whatever the writer (run, replay, aggregate) and however late
 * the data. Pure.
 */
import type { SeriesLevel, SlaCounter, SlaRow } from "../schema/series-store.js";
import { slaCounters } from "../schema/series-store.js";
import { judgeMinute } from "./compliance.js";
import type { CurrentLevel } from "./config-levels.js";

export const COARSE: ReadonlyArray<readonly [SeriesLevel, number]> = [
  ["5m", 300_000],
  ["1h", 3_600_000],
  ["1d", 86_400_000],
];

/** A minute's totals as the response-time row holds them now. */
export interface MinuteTotals {
  readonly transactions: number;
  readonly good: number;
  /** Transactions whose good/bad was estimated (0 when the row has no such field). */
  readonly estimated: number;
}

export type SlaCounts = Record<SlaCounter, number>;

/** The 1-minute SLA row's values (its key aside). */
export type SlaMinuteState = SlaCounts & { thresholdMs?: number; targetPercent?: number };

/**
 * The minute's SLA row after its response row became `now`, and the change to add to the coarse
 * rows (undefined: none). `prev` is the stored SLA row (undefined: none yet); `level` is the
 * class's level now, used only for a minute measured for the first time: a minute keeps the
 * level it was first measured under, so a change of threshold or target applies from that
 * moment on. A minute that never had transactions gets no row.
 */
export function slaMinuteUpdate(
  prev: SlaMinuteState | undefined,
  now: MinuteTotals,
  level: CurrentLevel | undefined,
): { row: SlaMinuteState; delta: SlaCounts | undefined } | undefined {
  if (prev === undefined && now.transactions <= 0) return undefined;
  const thresholdMs = prev === undefined ? level?.thresholdMs : prev.thresholdMs;
  const targetPercent = prev === undefined ? level?.targetPercent : prev.targetPercent;
  const verdict = judgeMinute(now.transactions, now.good, targetPercent);
  const row: SlaMinuteState = {
    transactions: now.transactions,
    good: now.good,
    estimated: now.estimated,
    compliantMinutes: verdict === "compliant" ? 1 : 0,
    breachMinutes: verdict === "breach" ? 1 : 0,
    noDataMinutes: verdict === "no-data" ? 1 : 0,
  };
  if (thresholdMs !== undefined) row.thresholdMs = thresholdMs;
  if (targetPercent !== undefined) row.targetPercent = targetPercent;
  const delta = {} as SlaCounts;
  let changed = false;
  for (const c of slaCounters) {
    delta[c] = row[c] - (prev?.[c] ?? 0);
    if (delta[c] !== 0) changed = true;
  }
  return { row, delta: changed ? delta : undefined };
}

/** The coarse rows (5m, 1h, 1d) a minute's change adds to. */
export function slaRollupDeltas(
  key: Pick<SlaRow, "customer" | "site" | "link" | "trafficClass">,
  minuteMs: number,
  delta: SlaCounts,
): SlaRow[] {
  return COARSE.map(([level, ms]) => ({
    level,
    startMs: Math.floor(minuteMs / ms) * ms,
    customer: key.customer,
    site: key.site,
    link: key.link,
    trafficClass: key.trafficClass,
    ...delta,
  }));
}

/**
 * Every SLA write of a batch of minutes: each minute's new 1-minute row (to replace) and the
 * coarse deltas (to add), the deltas of one coarse row summed. `minutes` carries each touched
 * minute's key, its stored SLA row (if any) and its response totals now.
 */
export function slaWrites(
  minutes: ReadonlyArray<{
    key: Pick<SlaRow, "customer" | "site" | "link" | "trafficClass">;
    startMs: number;
    prev: SlaMinuteState | undefined;
    now: MinuteTotals;
  }>,
  levelOf: (trafficClass: string) => CurrentLevel | undefined,
): { minuteRows: SlaRow[]; coarse: SlaRow[] } {
  const minuteRows: SlaRow[] = [];
  const coarse = new Map<string, SlaRow>();
  for (const m of minutes) {
    const u = slaMinuteUpdate(m.prev, m.now, levelOf(m.key.trafficClass));
    if (u === undefined) continue;
    minuteRows.push({ level: "1m", startMs: m.startMs, ...m.key, ...u.row });
    if (u.delta === undefined) continue;
    for (const d of slaRollupDeltas(m.key, m.startMs, u.delta)) {
      const id = [d.level, d.startMs, d.customer, d.site, d.link, d.trafficClass].join("\0");
      const have = coarse.get(id);
      if (have === undefined) coarse.set(id, d);
      else for (const c of slaCounters) have[c] += d[c];
    }
  }
  return { minuteRows, coarse: [...coarse.values()] };
}
