/**
 * The collector's pre-aggregation: per-interval partial sums keyed by (link, class, direction),
 * the compact unit shipped to aggregators (never raw flows). Pure: times come from the records
 * and from the caller.
 *
 * A flow that spans several intervals is spread over them in proportion to its overlap with
 * each, in whole bytes and packets (largest remainder), so the sum over intervals is exactly
 * the flow's count. Its flow count goes to the interval where it ends.
 */

export const Direction = { In: 0, Out: 1 } as const;
export type Direction = (typeof Direction)[keyof typeof Direction];

/** Link index -1: traffic that matched no customer. */
export const UNATTRIBUTED = -1;

export interface PartialSum {
  /** Interval start, ms since the epoch (a multiple of the interval length). */
  startMs: number;
  link: number;
  classIndex: number;
  direction: Direction;
  bytes: number;
  packets: number;
  flows: number;
}

export interface PartialSumsOptions {
  intervalMs: number;
  /** Number of traffic classes (class indexes are 0 .. classes - 1). */
  classes: number;
  /**
   * Flows claiming to last longer than this are counted at their end time instead of being
   * spread (an exporter's bogus uptime can make a flow span years). Default 1 hour.
   */
  maxSpreadMs?: number;
}

interface Sums {
  bytes: number;
  packets: number;
  flows: number;
}

export class PartialSums {
  private readonly intervalMs: number;
  private readonly classes: number;
  private readonly maxSpreadMs: number;
  /** interval index → key → sums */
  private readonly open = new Map<number, Map<number, Sums>>();
  /** Reused per flow: the share of each covered interval, and (spread) the remainder order. */
  private shares = new Float64Array(64);
  private fractions = new Float64Array(64);
  private order = new Uint32Array(64);
  /** Flows longer than `maxSpreadMs`, counted at their end. */
  clampedFlows = 0;

  constructor(options: PartialSumsOptions) {
    if (!(options.intervalMs > 0)) throw new RangeError("intervalMs must be > 0");
    this.intervalMs = options.intervalMs;
    this.classes = Math.max(1, options.classes);
    this.maxSpreadMs = options.maxSpreadMs ?? 3_600_000;
  }

  /** Adds one flow's share for one (link, class, direction). */
  add(
    link: number,
    classIndex: number,
    direction: Direction,
    startMs: number,
    endMs: number,
    bytes: number,
    packets: number,
  ): void {
    const key = ((link + 1) * this.classes + classIndex) * 2 + direction;
    const iv = this.intervalMs;
    let first = Math.floor(startMs / iv);
    const last = Math.floor(endMs / iv);
    if (!(first <= last) || endMs - startMs > this.maxSpreadMs) {
      if (first < last) this.clampedFlows++;
      first = last;
    }
    if (first === last) {
      this.accumulate(last, key, bytes, packets, 1);
      return;
    }
    const n = last - first + 1;
    const span = endMs - startMs;
    if (this.shares.length < n) {
      this.shares = new Float64Array(n * 2);
      this.fractions = new Float64Array(n * 2);
      this.order = new Uint32Array(n * 2);
    }
    const shares = this.shares;
    for (let k = 0; k < n; k++) {
      const from = Math.max(startMs, (first + k) * iv);
      const to = Math.min(endMs, (first + k + 1) * iv);
      shares[k] = (to - from) / span;
    }
    this.spread(first, n, key, bytes, 0);
    this.spread(first, n, key, packets, 1);
    this.accumulate(last, key, 0, 0, 1);
  }

  /**
   * Splits `total` over the intervals by `shares`, in whole units with the remainder going to
   * the largest fractional parts, so the parts add up to `total` exactly.
   */
  private spread(first: number, n: number, key: number, total: number, field: 0 | 1): void {
    const shares = this.shares;
    const fractions = this.fractions;
    const order = this.order.subarray(0, n);
    const whole = Math.floor(total);
    let given = 0;
    // Parts as floors; remember fractions to hand out the remainder.
    for (let k = 0; k < n; k++) {
      const exact = whole * shares[k]!;
      const part = Math.floor(exact);
      given += part;
      fractions[k] = exact - part;
      order[k] = k;
      this.accumulate(first + k, key, field === 0 ? part : 0, field === 1 ? part : 0, 0);
    }
    let rest = whole - given;
    order.sort((a, b) => fractions[b]! - fractions[a]! || a - b);
    for (let j = 0; rest > 0; j = (j + 1) % n, rest--) {
      const k = order[j]!;
      this.accumulate(first + k, key, field === 0 ? 1 : 0, field === 1 ? 1 : 0, 0);
    }
    // A fractional total (a non-integer sampling rate) keeps its fraction in the last interval.
    const fraction = total - whole;
    if (fraction > 0) {
      this.accumulate(
        first + n - 1,
        key,
        field === 0 ? fraction : 0,
        field === 1 ? fraction : 0,
        0,
      );
    }
  }

  private accumulate(
    interval: number,
    key: number,
    bytes: number,
    packets: number,
    flows: number,
  ): void {
    let byKey = this.open.get(interval);
    if (byKey === undefined) {
      byKey = new Map();
      this.open.set(interval, byKey);
    }
    const s = byKey.get(key);
    if (s === undefined) byKey.set(key, { bytes, packets, flows });
    else {
      s.bytes += bytes;
      s.packets += packets;
      s.flows += flows;
    }
  }

  /** Removes and returns the sums of every interval that starts before `beforeMs`, oldest first. */
  drain(beforeMs: number): PartialSum[] {
    const out: PartialSum[] = [];
    const intervals = [...this.open.keys()]
      .filter((k) => k * this.intervalMs < beforeMs)
      .sort((a, b) => a - b);
    for (const interval of intervals) {
      for (const [key, s] of this.open.get(interval)!) {
        const direction = (key & 1) as Direction;
        const rest = key >>> 1;
        out.push({
          startMs: interval * this.intervalMs,
          link: Math.floor(rest / this.classes) - 1,
          classIndex: rest % this.classes,
          direction,
          bytes: s.bytes,
          packets: s.packets,
          flows: s.flows,
        });
      }
      this.open.delete(interval);
    }
    return out;
  }

  /** Everything still open (on stop). */
  drainAll(): PartialSum[] {
    return this.drain(Number.POSITIVE_INFINITY);
  }

  /** Number of open intervals (for metrics and bounds). */
  get openIntervals(): number {
    return this.open.size;
  }
}
