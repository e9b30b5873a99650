/**
 * The collector's pre-aggregation of TCP transactions (collector/packet/tcp-timing.ts) into
 * per-interval response-time partials keyed by (link, class): counts, delay sums and the bins of a
 * total-delay sketch (latency-sketch.ts). A transaction counts in the interval where it ended.
 * Pure: times come from the caller.
 */
import type { DDSketch } from "@datadog/sketches-js";
import {
  type ResponseTimeCounter,
  type ResponseTimeSums,
  zeroResponseTimeCounters,
} from "../../schema/series-store.js";
import { addLatency, createLatencySketch, sketchBins } from "./latency-sketch.js";

/** What one timed transaction adds. NaN for a delay that was not measured. */
export interface TransactionTiming {
  /** When the transaction ended (its last response packet), ms since the epoch. */
  endMs: number;
  networkDelayUs: number;
  serverDelayUs: number;
  totalDelayUs: number;
  retransmissions: number;
  /** Total delay under the class's threshold. */
  good: boolean;
}

export type ResponsePartial = ResponseTimeSums & {
  startMs: number;
  link: number;
  classIndex: number;
};

type Open = Record<ResponseTimeCounter, number> & {
  link: number;
  classIndex: number;
  sketch: DDSketch;
};

export class ResponseSums {
  private readonly intervalMs: number;
  /** interval index → "link|class" → sums */
  private readonly open = new Map<number, Map<string, Open>>();

  constructor(options: { intervalMs: number }) {
    if (!(options.intervalMs > 0)) throw new RangeError("intervalMs must be > 0");
    this.intervalMs = options.intervalMs;
  }

  add(link: number, classIndex: number, t: TransactionTiming): void {
    const interval = Math.floor(t.endMs / this.intervalMs);
    let byKey = this.open.get(interval);
    if (byKey === undefined) {
      byKey = new Map();
      this.open.set(interval, byKey);
    }
    const key = `${link}|${classIndex}`;
    let s = byKey.get(key);
    if (s === undefined) {
      s = { link, classIndex, ...zeroResponseTimeCounters(), sketch: createLatencySketch() };
      byKey.set(key, s);
    }
    s.transactions++;
    if (t.good) s.good++;
    s.retransmissions += t.retransmissions;
    if (Number.isFinite(t.networkDelayUs)) {
      s.networkDelaySumUs += t.networkDelayUs;
      s.networkDelayCount++;
    }
    if (Number.isFinite(t.serverDelayUs)) {
      s.serverDelaySumUs += t.serverDelayUs;
      s.serverDelayCount++;
    }
    if (Number.isFinite(t.totalDelayUs)) {
      s.totalDelaySumUs += t.totalDelayUs;
      addLatency(s.sketch, t.totalDelayUs);
    }
  }

  /** Removes and returns the partials of every interval that starts before `beforeMs`. */
  drain(beforeMs: number): ResponsePartial[] {
    const out: ResponsePartial[] = [];
    const intervals = [...this.open.keys()]
      .filter((k) => k * this.intervalMs < beforeMs)
      .sort((a, b) => a - b);
    for (const interval of intervals) {
      for (const s of this.open.get(interval)!.values()) {
        const { sketch, ...sums } = s;
        out.push({ startMs: interval * this.intervalMs, ...sums, bins: sketchBins(sketch) });
      }
      this.open.delete(interval);
    }
    return out;
  }

  drainAll(): ResponsePartial[] {
    return this.drain(Number.POSITIVE_INFINITY);
  }
}
