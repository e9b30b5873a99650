/**
 * Commit-rate compliance of a bill (one access link or several billed together): the 95th
 * percentile (nearest rank, padded with zeros: aggregator/rollup.ts percentile95) of its 5-minute
 * samples against the commit rate. The links of one bill are summed per 5-minute window before
 * the percentile (the sum of the links' percentiles would be a different, larger figure). A
 * window's sample is, by `percentileOf`, max(in, out), in, out or in + out, in bits/s. Pure.
 */
import { percentile95 } from "../aggregator/rollup.js";

export const WINDOW_MS = 5 * 60_000;

export type PercentileOf = "max" | "in" | "out" | "sum";

/** One link's bytes in one 5-minute window. */
export interface WindowBytes {
  readonly startMs: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/** The bill's sample (bits/s) per window start, the links summed first. */
export function billSamples(
  links: ReadonlyArray<readonly WindowBytes[]>,
  percentileOf: PercentileOf,
): Map<number, number> {
  const sums = new Map<number, { in: number; out: number }>();
  for (const windows of links) {
    for (const w of windows) {
      const s = sums.get(w.startMs);
      if (s === undefined) sums.set(w.startMs, { in: w.bytesIn, out: w.bytesOut });
      else {
        s.in += w.bytesIn;
        s.out += w.bytesOut;
      }
    }
  }
  const out = new Map<number, number>();
  for (const [start, s] of sums) out.set(start, sample(s.in, s.out, percentileOf));
  return out;
}

function sample(bytesIn: number, bytesOut: number, of: PercentileOf): number {
  const bytes =
    of === "in"
      ? bytesIn
      : of === "out"
        ? bytesOut
        : of === "sum"
          ? bytesIn + bytesOut
          : Math.max(bytesIn, bytesOut);
  return (bytes * 8) / (WINDOW_MS / 1000);
}

export interface CommitCompliance {
  /** The 95th percentile of the period's windows (those without traffic are 0). */
  p95Bps: number;
  commitRateBps: number;
  /** How far the percentile is above the commit rate (0 when at or below). */
  excessBps: number;
  compliant: boolean;
  /** Windows in the period, and those above the commit rate. */
  windows: number;
  windowsAbove: number;
}

/**
 * The bill's compliance over `windows` 5-minute windows (the period's length / 5 minutes), of
 * which `samples` holds those with traffic.
 */
export function commitCompliance(
  samples: ReadonlyMap<number, number>,
  windows: number,
  commitRateBps: number,
): CommitCompliance {
  const values = [...samples.values()];
  const p95Bps = percentile95(values, windows);
  return {
    p95Bps,
    commitRateBps,
    excessBps: Math.max(0, p95Bps - commitRateBps),
    compliant: p95Bps <= commitRateBps,
    windows: Math.max(windows, values.length),
    windowsAbove: values.filter((v) => v > commitRateBps).length,
  };
}

/** One commit rate over a part of a range (bits/s); undefined: none in force then. */
export interface RateStep {
  readonly fromMs: number;
  readonly toMs: number;
  readonly rate: number | undefined;
}

/**
 * The rate a range's percentile is judged against when the commit rate changed inside it
 * (sla/billing-profile.ts): the rates in force averaged over the time of [fromMs, toMs) each was
 * in force (prorated), rounded to whole bits/s; parts without a rate left out; undefined when no
 * part has one. One rate throughout gives that rate.
 */
export function proratedRate(
  steps: readonly RateStep[],
  fromMs: number,
  toMs: number,
): number | undefined {
  let weighted = 0;
  let time = 0;
  for (const s of steps) {
    if (s.rate === undefined) continue;
    const ms = Math.min(toMs, s.toMs) - Math.max(fromMs, s.fromMs);
    if (ms <= 0) continue;
    weighted += s.rate * ms;
    time += ms;
  }
  return time === 0 ? undefined : Math.round(weighted / time);
}

/**
 * The windows whose sample is above the rate in force at the window's start (a window outside
 * every step, or in one without a rate, is above nothing).
 */
export function windowsAboveSteps(
  samples: ReadonlyMap<number, number>,
  steps: readonly RateStep[],
): number {
  let above = 0;
  for (const [start, value] of samples) {
    const step = steps.find((s) => s.fromMs <= start && start < s.toMs);
    if (step?.rate !== undefined && value > step.rate) above++;
  }
  return above;
}

export interface MonthProjection {
  /** The percentile if the rest of the period looks like the part so far (its windows only). */
  projectedP95Bps: number;
  /** The least the period's percentile can be (the rest of the windows without traffic). */
  floorP95Bps: number;
  /**
   * Windows that may still go above the commit rate before the period's percentile does (nearest
   * rank: the percentile stays at or below the rate while at most windows − ⌈0.95 × windows⌉
   * samples are above it); negative: the period is lost already.
   */
  burstWindowsLeft: number;
}

/**
 * A projection to the period's end, `elapsed` of its `total` windows gone: what an operator
 * watches to warn a customer before the bill.
 */
export function projectPeriod(
  samples: ReadonlyMap<number, number>,
  elapsed: number,
  total: number,
  commitRateBps: number,
  /** The windows above their rate so far, when it changed (windowsAboveSteps); default: above commitRateBps. */
  windowsAbove?: number,
): MonthProjection {
  const values = [...samples.values()];
  const allowedAbove = total - Math.ceil(0.95 * total);
  return {
    projectedP95Bps: percentile95(values, elapsed),
    floorP95Bps: percentile95(values, total),
    burstWindowsLeft:
      allowedAbove - (windowsAbove ?? values.filter((v) => v > commitRateBps).length),
  };
}

/**
 * The billing period holding `atMs` for a billing day (1–28) in UTC: from that day of a month,
 * 00:00, to the same day of the next month.
 */
export function billingPeriod(atMs: number, billingDay: number): { fromMs: number; toMs: number } {
  if (!Number.isInteger(billingDay) || billingDay < 1 || billingDay > 28) {
    throw new RangeError(`billing day ${billingDay} is not 1–28`);
  }
  const d = new Date(atMs);
  let year = d.getUTCFullYear();
  let month = d.getUTCMonth();
  if (d.getUTCDate() < billingDay) month -= 1;
  if (month < 0) {
    month += 12;
    year -= 1;
  }
  return {
    fromMs: Date.UTC(year, month, billingDay),
    toMs: Date.UTC(year, month + 1, billingDay),
  };
}
