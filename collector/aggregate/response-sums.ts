/**
 * The collector's pre-aggregation of TCP transactions (collector/packet/tcp-timing.ts), and of
 * flow records' response-time contributions (flow-response.ts: Cisco AVC ART, nProbe), into
 * per-interval response-time partials keyed by (link, class): counts, delay sums and the bins of a
 * total-delay sketch (latency-sketch.ts). A transaction counts in the interval where it ended (a
 * flow record: where the record ends). Pure: times come from the caller.
 */
import type { DDSketch } from "@datadog/sketches-js";
import type { ResponseTimeCounter, ResponseTimeSums } from "../../schema/series-store.js";
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

/**
 * What one flow record adds (flow-response.ts): sums over several transactions, some of whose
 * good/bad status may be estimated. Fractional `good` is possible (an estimate).
 */
export interface FlowResponseContribution {
  transactions: number;
  good: number;
  estimated: number;
  retransmissions: number;
  networkDelaySumUs: number;
  networkDelayCount: number;
  serverDelaySumUs: number;
  serverDelayCount: number;
  totalDelaySumUs: number;
}

export type ResponsePartial = ResponseTimeSums & {
  startMs: number;
  link: number;
  classIndex: number;
};

/**
 * The open sums of one (interval, link, class). A class with every field set in the constructor,
 * not an object literal spread from the counter list: V8 gives spread-built objects a shape that
 * is deprecated again whenever a sum outgrows a small integer, and each deprecation aborted the
 * optimising compile of the packet path's hot functions (hundreds of wasted compiles per capture).
 */
class Open implements Record<ResponseTimeCounter, number> {
  transactions = 0;
  good = 0;
  retransmissions = 0;
  networkDelaySumUs = 0;
  networkDelayCount = 0;
  serverDelaySumUs = 0;
  serverDelayCount = 0;
  totalDelaySumUs = 0;
  estimated = 0;
  readonly sketch: DDSketch = createLatencySketch();
  constructor(
    readonly link: number,
    readonly classIndex: number,
  ) {}

  partial(startMs: number): ResponsePartial {
    return {
      startMs,
      link: this.link,
      classIndex: this.classIndex,
      transactions: this.transactions,
      good: this.good,
      retransmissions: this.retransmissions,
      networkDelaySumUs: this.networkDelaySumUs,
      networkDelayCount: this.networkDelayCount,
      serverDelaySumUs: this.serverDelaySumUs,
      serverDelayCount: this.serverDelayCount,
      totalDelaySumUs: this.totalDelaySumUs,
      estimated: this.estimated,
      bins: sketchBins(this.sketch),
    };
  }
}

export class ResponseSums {
  private readonly intervalMs: number;
  /** interval index → link → sums by class index (numbers all the way: no key text per add) */
  private readonly open = new Map<number, Map<number, Array<Open | undefined>>>();

  constructor(options: { intervalMs: number }) {
    if (!(options.intervalMs > 0)) throw new RangeError("intervalMs must be > 0");
    this.intervalMs = options.intervalMs;
  }

  add(link: number, classIndex: number, t: TransactionTiming): void {
    const s = this.sums(Math.floor(t.endMs / this.intervalMs), link, classIndex);
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

  /**
   * Adds a flow record's contribution, in the interval where the record ends. The sketch gets the
   * record's mean total delay once per transaction (a flow export gives no single delays).
   */
  addFlow(link: number, classIndex: number, endMs: number, c: FlowResponseContribution): void {
    const s = this.sums(Math.floor(endMs / this.intervalMs), link, classIndex);
    s.transactions += c.transactions;
    s.good += c.good;
    s.estimated += c.estimated;
    s.retransmissions += c.retransmissions;
    s.networkDelaySumUs += c.networkDelaySumUs;
    s.networkDelayCount += c.networkDelayCount;
    s.serverDelaySumUs += c.serverDelaySumUs;
    s.serverDelayCount += c.serverDelayCount;
    s.totalDelaySumUs += c.totalDelaySumUs;
    if (c.transactions > 0 && c.totalDelaySumUs > 0) {
      addLatency(s.sketch, c.totalDelaySumUs / c.transactions, c.transactions);
    }
  }

  private sums(interval: number, link: number, classIndex: number): Open {
    let byLink = this.open.get(interval);
    if (byLink === undefined) {
      byLink = new Map();
      this.open.set(interval, byLink);
    }
    let byClass = byLink.get(link);
    if (byClass === undefined) {
      byClass = [];
      byLink.set(link, byClass);
    }
    let s = byClass[classIndex];
    if (s === undefined) {
      s = new Open(link, classIndex);
      byClass[classIndex] = s;
    }
    return s;
  }

  /** Removes and returns the partials of every interval that starts before `beforeMs`. */
  drain(beforeMs: number): ResponsePartial[] {
    const out: ResponsePartial[] = [];
    const intervals = [...this.open.keys()]
      .filter((k) => k * this.intervalMs < beforeMs)
      .sort((a, b) => a - b);
    for (const interval of intervals) {
      for (const byClass of this.open.get(interval)!.values()) {
        for (const s of byClass)
          if (s !== undefined) out.push(s.partial(interval * this.intervalMs));
      }
      this.open.delete(interval);
    }
    return out;
  }

  drainAll(): ResponsePartial[] {
    return this.drain(Number.POSITIVE_INFINITY);
  }
}
