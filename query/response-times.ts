/**
 * One customer's TCP response times as a chart series: a point per period of the step with the
 * transactions, the good ones (total delay under the class's threshold), how many of those
 * verdicts were estimated (flow exports), mean network and server
 * delays, and the 50th/95th/99th percentiles of total delay from the summed sketch bins; plus the
 * same over the whole range (the bins of every period summed, so the range's p95 is the p95 of
 * all its transactions, within the sketch's accuracy). Pure: the store's sums in, points out.
 *
 * Delays are in milliseconds (fractions kept: the monitor times to the microsecond). A delay with
 * nothing measured is null, never 0.
 */
import { binQuantiles } from "../collector/aggregate/latency-sketch.js";
import {
  type ResponseTimePoint,
  type ResponseTimeSums,
  responseTimeCounters,
  zeroResponseTimeCounters,
} from "../schema/series-store.js";
import { STEP_MS, type TrafficStep } from "./traffic.js";

export interface ResponseTimeFigures {
  transactions: number;
  goodTransactions: number;
  /** goodTransactions / transactions; null without transactions. */
  goodRatio: number | null;
  /**
   * Of `transactions`, those whose good/bad status was estimated (flow exports with only sums or
   * histogram buckets: docs/response-times.md, "From flow exports"); 0 when all were exact.
   */
  estimated: number;
  retransmissions: number;
  meanNetworkDelayMs: number | null;
  meanServerDelayMs: number | null;
  meanTotalDelayMs: number | null;
  totalDelayP50Ms: number | null;
  totalDelayP95Ms: number | null;
  totalDelayP99Ms: number | null;
}

export interface ResponseTimeSeries {
  points: Array<ResponseTimeFigures & { timeMs: number }>;
  /** The whole range. */
  summary: ResponseTimeFigures;
}

const QUANTILES = [0.5, 0.95, 0.99] as const;

export function figures(s: ResponseTimeSums): ResponseTimeFigures {
  const ms = (sumUs: number, n: number) => (n > 0 ? sumUs / n / 1000 : null);
  const [p50, p95, p99] = binQuantiles(s.bins, QUANTILES).map((us) =>
    us === null ? null : us / 1000,
  );
  return {
    transactions: s.transactions,
    goodTransactions: s.good,
    goodRatio: s.transactions > 0 ? s.good / s.transactions : null,
    estimated: s.estimated ?? 0,
    retransmissions: s.retransmissions,
    meanNetworkDelayMs: ms(s.networkDelaySumUs, s.networkDelayCount),
    meanServerDelayMs: ms(s.serverDelaySumUs, s.serverDelayCount),
    meanTotalDelayMs: ms(
      s.totalDelaySumUs,
      s.bins.reduce((n, [, c]) => n + c, 0),
    ),
    totalDelayP50Ms: p50 ?? null,
    totalDelayP95Ms: p95 ?? null,
    totalDelayP99Ms: p99 ?? null,
  };
}

function emptySums(): ResponseTimeSums & { bins: Array<[number, number]> } {
  return { ...zeroResponseTimeCounters(), bins: [] };
}

const COUNTERS = responseTimeCounters;

/** Adds `from` into `into` (bins merged by key). */
function addSums(into: ReturnType<typeof emptySums>, from: ResponseTimeSums): void {
  // `?? 0`: rows stored before a counter existed (estimated) lack it.
  for (const c of COUNTERS) into[c] += from[c] ?? 0;
  const byKey = new Map(into.bins);
  for (const [k, n] of from.bins) byKey.set(k, (byKey.get(k) ?? 0) + n);
  into.bins = [...byKey].sort((a, b) => a[0] - b[0]);
}

/**
 * The series of [fromMs, toMs) at `step` (a range trafficRangeProblem accepts): every period gets
 * a point, zero transactions where there were none. `rows` are the store's points at the step's
 * level for the same range and filters.
 */
export function responseTimeSeries(input: {
  fromMs: number;
  toMs: number;
  step: TrafficStep;
  rows: readonly ResponseTimePoint[];
}): ResponseTimeSeries {
  const { fromMs, toMs, step } = input;
  const ms = STEP_MS[step];
  const n = Math.max(0, Math.ceil((toMs - fromMs) / ms));
  const sums = Array.from({ length: n }, emptySums);
  const total = emptySums();
  for (const r of input.rows) {
    if (r.timeMs < fromMs || r.timeMs >= toMs) continue;
    addSums(sums[Math.floor((r.timeMs - fromMs) / ms)]!, r);
    addSums(total, r);
  }
  return {
    points: sums.map((s, k) => ({ timeMs: fromMs + k * ms, ...figures(s) })),
    summary: figures(total),
  };
}
