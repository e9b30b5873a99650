/**
 * A class's service level, minute by minute (PacketShaper's Service Level on 1-minute intervals):
 * a minute with transactions is compliant when its share of good transactions reaches the target
 * in force; a minute without transactions is "no data", never 100 %. Longer periods count minutes
 * (compliant, non-compliant, no data) and add transactions; shares are always computed from the
 * sums, never averaged. Consecutive non-compliant minutes are one incident. Pure.
 */

export type MinuteVerdict = "compliant" | "breach" | "no-data";

/**
 * One class's minute: its counts and the target in force then, in percent (undefined: no SLA
 * then).
 */
export interface SlaMinute {
  readonly startMs: number;
  readonly transactions: number;
  readonly good: number;
  readonly targetPercent: number | undefined;
}

/**
 * The verdict of one minute. Targets are percentages with at most three decimals (99.995 is
 * 99 995 thousandths): the comparison is made in integers, so 7 good of 100 meets 7 % exactly
 * (0.07 × 100 is 7.000000000000001 in floating point). A target of 0 is met by any minute with
 * transactions.
 */
export function judgeMinute(
  transactions: number,
  good: number,
  targetPercent: number | undefined,
): MinuteVerdict {
  if (transactions <= 0 || targetPercent === undefined) return "no-data";
  return good * 100_000 >= Math.round(targetPercent * 1000) * transactions ? "compliant" : "breach";
}

/** A period's sums: what rolls up to 5m / 1h / 1d by adding. */
export interface SlaSums {
  transactions: number;
  good: number;
  /** Minutes with transactions that reached the target. */
  compliantMinutes: number;
  /** Minutes with transactions that did not. */
  breachMinutes: number;
  /** Minutes without transactions (or without an SLA in force). */
  noDataMinutes: number;
}

export const emptySums = (): SlaSums => ({
  transactions: 0,
  good: 0,
  compliantMinutes: 0,
  breachMinutes: 0,
  noDataMinutes: 0,
});

/** Adds one judged minute to `sums` (in place). */
export function addMinute(sums: SlaSums, m: SlaMinute): SlaSums {
  sums.transactions += m.transactions;
  sums.good += m.good;
  const v = judgeMinute(m.transactions, m.good, m.targetPercent);
  if (v === "compliant") sums.compliantMinutes++;
  else if (v === "breach") sums.breachMinutes++;
  else sums.noDataMinutes++;
  return sums;
}

/** Adds `b` into `a` (in place): how 1m sums make 5m, 1h and 1d. */
export function addSums(a: SlaSums, b: SlaSums): SlaSums {
  a.transactions += b.transactions;
  a.good += b.good;
  a.compliantMinutes += b.compliantMinutes;
  a.breachMinutes += b.breachMinutes;
  a.noDataMinutes += b.noDataMinutes;
  return a;
}

/** The transaction-weighted share of good transactions; null without transactions. */
export const goodShare = (s: SlaSums): number | null =>
  s.transactions === 0 ? null : s.good / s.transactions;

/** The share of judged minutes (with data) that were compliant; null when none had data. */
export function compliantShare(s: SlaSums): number | null {
  const judged = s.compliantMinutes + s.breachMinutes;
  return judged === 0 ? null : s.compliantMinutes / judged;
}

/** Consecutive breach minutes, merged. */
export interface Incident {
  startMs: number;
  /** The end of its last minute (exclusive). */
  endMs: number;
  minutes: number;
  /** The minute with the lowest share of good transactions (the first of equals). */
  worstMinuteMs: number;
  worstShare: number;
}

const MINUTE_MS = 60_000;

/**
 * The incidents of a class over minutes sorted by time: breach minutes that follow each other
 * without a gap are one incident. A compliant minute ends one; so does a minute without data or a
 * missing minute (nothing says the service was bad then), so an incident is only ever made of
 * minutes that were measured and failed.
 */
export function incidents(minutes: readonly SlaMinute[]): Incident[] {
  const out: Incident[] = [];
  let open: Incident | undefined;
  for (const m of minutes) {
    const breach = judgeMinute(m.transactions, m.good, m.targetPercent) === "breach";
    if (!breach) {
      open = undefined;
      continue;
    }
    const share = m.good / m.transactions;
    if (open !== undefined && open.endMs === m.startMs) {
      open.endMs = m.startMs + MINUTE_MS;
      open.minutes++;
      if (share < open.worstShare) {
        open.worstShare = share;
        open.worstMinuteMs = m.startMs;
      }
    } else {
      open = {
        startMs: m.startMs,
        endMs: m.startMs + MINUTE_MS,
        minutes: 1,
        worstMinuteMs: m.startMs,
        worstShare: share,
      };
      out.push(open);
    }
  }
  return out;
}
