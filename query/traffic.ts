/**
 * One customer's traffic as a chart series: a point per period of the step with bytes, packets,
 * the average rate and the peak 1-minute rate, plus the 95th percentile of the 5-minute rates over
 * the whole range. Pure: the store's sums in, points out; the HTTP layer reads the store.
 *
 * Conventions (docs/api.md):
 * - The range [from, to) is whole periods of the step (UTC), so a point is exactly the period it
 *   names. Every period of the range gets a point; periods without traffic are zero points, so a
 *   chart has no gaps and a missing point always means "not asked for".
 * - bps = bytes × 8 / the step in seconds: the average over the point's period.
 * - peakBps = the highest 1-minute rate (bytes × 8 / 60) of the minutes in the point's period; a
 *   minute without traffic is a rate of 0. At step 1m a point is one minute, so peak = bps. At
 *   step 5m a point is one 95th-percentile sample, and its peak the busiest of its five minutes.
 *   Points older than the 1-minute rows' retention take the highest 5-minute rate instead, and
 *   points older than the 5-minute rows' too, their own average; `peakOver` says which.
 * - p95 = nearest-rank 95th percentile of the 5-minute rates (bytes × 8 / 300) of the 5-minute
 *   periods whose start lies in [from, to), zero for a period without traffic (the billing
 *   convention, `percentile95` of aggregator/rollup.ts); null when the range holds no 5-minute
 *   period start (a step-1m range shorter than 5 minutes that crosses no 5-minute boundary).
 */
import type { TrafficPoint } from "../schema/series-store.js";

export const trafficSteps = ["1m", "5m", "1h", "1d"] as const;
export type TrafficStep = (typeof trafficSteps)[number];

export const STEP_MS: Readonly<Record<TrafficStep, number>> = {
  "1m": 60_000,
  "5m": 300_000,
  "1h": 3_600_000,
  "1d": 86_400_000,
};
const MINUTE_MS = 60_000;
/** The length of a 95th-percentile sample. */
export const SAMPLE_MS = 300_000;

/** Most points one response holds (10 000 minutes are just under 7 days). */
export const MAX_POINTS = 10_000;
/**
 * Longest range of any step: peaks read the range's 1-minute rows, so a range of years would read
 * millions of them. 366 days holds a leap year.
 */
export const MAX_RANGE_MS = 366 * 86_400_000;

/** Byte sums of one period, in and out (what `SeriesStore.samples` returns). */
export interface ByteSample {
  timeMs: number;
  bytesIn: number;
  bytesOut: number;
}

export interface TrafficSeriesPoint {
  timeMs: number;
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
  bpsIn: number;
  bpsOut: number;
  peakBpsIn: number;
  peakBpsOut: number;
  /** The samples the peak is the highest of: 1-minute, 5-minute, or the point itself. */
  peakOver: "1m" | "5m" | TrafficStep;
}

export interface TrafficSeries {
  points: TrafficSeriesPoint[];
  p95BpsIn: number | null;
  p95BpsOut: number | null;
}

export interface RangeProblem {
  parameter: "from" | "to" | "step";
  message: string;
}

/** Bits per second of `bytes` over `ms` milliseconds. */
export function bitRate(bytes: number, ms: number): number {
  return (bytes * 8) / (ms / 1000);
}

/** Number of 5-minute periods whose start lies in [fromMs, toMs). */
export function sampleCount(fromMs: number, toMs: number): number {
  if (toMs <= fromMs) return 0;
  return Math.ceil(toMs / SAMPLE_MS) - Math.ceil(fromMs / SAMPLE_MS);
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(".000Z", "Z");
}

/** What is wrong with [fromMs, toMs) at `step`, or undefined when it can be served. */
export function trafficRangeProblem(
  fromMs: number,
  toMs: number,
  step: TrafficStep,
): RangeProblem | undefined {
  const ms = STEP_MS[step];
  for (const [parameter, t] of [
    ["from", fromMs],
    ["to", toMs],
  ] as const) {
    if (t % ms !== 0) {
      const below = Math.floor(t / ms) * ms;
      return {
        parameter,
        message: `${parameter} ${iso(t)} is not on a ${step} boundary (UTC) as step=${step} needs; use ${iso(below)} or ${iso(below + ms)}`,
      };
    }
  }
  if (toMs <= fromMs) {
    return { parameter: "to", message: `to ${iso(toMs)} must be after from ${iso(fromMs)}` };
  }
  if (toMs - fromMs > MAX_RANGE_MS) {
    return {
      parameter: "to",
      message: `range too long: ${iso(fromMs)} to ${iso(toMs)} is more than ${MAX_RANGE_MS / 86_400_000} days`,
    };
  }
  const points = (toMs - fromMs) / ms;
  if (points > MAX_POINTS) {
    return {
      parameter: "step",
      message: `range too long for step ${step}: ${points} points, at most ${MAX_POINTS}; use step=${step === "1m" || step === "5m" ? "1h" : "1d"} or a shorter range`,
    };
  }
  return undefined;
}

/**
 * The rank, from the highest, of the nearest-rank 95th percentile of `count` samples (the
 * billing convention of `percentile95`, aggregator/rollup.ts): the rank-th highest sample, or 0
 * when fewer samples than that were stored (the periods without one count as 0).
 */
export function p95Rank(count: number): number {
  return count - Math.ceil(0.95 * count) + 1;
}

/**
 * The 5-minute periods the range's 95th percentile is taken over: sampleCount, or 0 when some of
 * them were pruned (the percentile needs every one) and then the series has none.
 */
export function p95Count(fromMs: number, toMs: number, fiveMinutesFrom?: number): number {
  return fromMs < (fiveMinutesFrom ?? Number.NEGATIVE_INFINITY) ? 0 : sampleCount(fromMs, toMs);
}

/**
 * The series of [fromMs, toMs) (a range trafficRangeProblem accepts). `points` are the store's
 * points at the step's level; `minutes` and `fiveMinutes` 1-minute and 5-minute byte sums of the
 * same range and filters, or only the highest of them per point (`SeriesStore.samplePeaks`: the
 * peak is their maximum either way; `minutes` unused at step 1m); `p95` the p95Rank-th highest
 * 5-minute byte sums of the range (`SeriesStore.sampleRank`), null when p95Count is 0.
 * `minutesFrom` / `fiveMinutesFrom`: the earliest 1-minute / 5-minute period the store still
 * holds (retention; default: all).
 */
export function trafficSeries(input: {
  fromMs: number;
  toMs: number;
  step: TrafficStep;
  points: readonly TrafficPoint[];
  minutes: readonly ByteSample[];
  fiveMinutes: readonly ByteSample[];
  p95: { bytesIn: number; bytesOut: number } | null;
  minutesFrom?: number;
  fiveMinutesFrom?: number;
}): TrafficSeries {
  const minutesFrom = input.minutesFrom ?? Number.NEGATIVE_INFINITY;
  const fiveMinutesFrom = input.fiveMinutesFrom ?? Number.NEGATIVE_INFINITY;
  const { fromMs, toMs, step } = input;
  const ms = STEP_MS[step];
  const n = Math.max(0, Math.ceil((toMs - fromMs) / ms));
  const slot = (t: number) => Math.floor((t - fromMs) / ms);
  const inRange = (t: number) => t >= fromMs && t < toMs;

  const points: TrafficSeriesPoint[] = [];
  for (let k = 0; k < n; k++) {
    points.push({
      timeMs: fromMs + k * ms,
      bytesIn: 0,
      bytesOut: 0,
      packetsIn: 0,
      packetsOut: 0,
      bpsIn: 0,
      bpsOut: 0,
      peakBpsIn: 0,
      peakBpsOut: 0,
      peakOver: "1m",
    });
  }
  for (const p of input.points) {
    if (!inRange(p.timeMs)) continue;
    const point = points[slot(p.timeMs)]!;
    point.bytesIn += p.bytesIn;
    point.bytesOut += p.bytesOut;
    point.packetsIn += p.packetsIn;
    point.packetsOut += p.packetsOut;
  }
  for (const point of points) {
    point.bpsIn = bitRate(point.bytesIn, ms);
    point.bpsOut = bitRate(point.bytesOut, ms);
  }
  // Which samples each point's peak can come from: the finest the store still holds for the
  // whole of the point's period.
  for (const point of points) {
    point.peakOver =
      step === "1m" || point.timeMs < fiveMinutesFrom
        ? step
        : point.timeMs >= minutesFrom
          ? "1m"
          : "5m";
    if (point.peakOver === step) {
      point.peakBpsIn = point.bpsIn;
      point.peakBpsOut = point.bpsOut;
    }
  }
  const peaks = (samples: readonly ByteSample[], over: "1m" | "5m", sampleMs: number) => {
    for (const m of samples) {
      if (!inRange(m.timeMs)) continue;
      const point = points[slot(m.timeMs)]!;
      if (point.peakOver !== over) continue;
      point.peakBpsIn = Math.max(point.peakBpsIn, bitRate(m.bytesIn, sampleMs));
      point.peakBpsOut = Math.max(point.peakBpsOut, bitRate(m.bytesOut, sampleMs));
    }
  };
  if (step !== "1m") {
    peaks(input.minutes, "1m", MINUTE_MS);
    peaks(input.fiveMinutes, "5m", SAMPLE_MS);
  }
  const p95 = p95Count(fromMs, toMs, input.fiveMinutesFrom) === 0 ? null : input.p95;
  return {
    points,
    p95BpsIn: p95 === null ? null : bitRate(p95.bytesIn, SAMPLE_MS),
    p95BpsOut: p95 === null ? null : bitRate(p95.bytesOut, SAMPLE_MS),
  };
}
