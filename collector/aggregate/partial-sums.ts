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
  private byteParts = new Float64Array(64);
  private packetParts = new Float64Array(64);
  /** The interval last added to, and its sums: most records of a datagram share one. */
  private lastInterval = Number.NaN;
  private lastMap: Map<number, Sums> | undefined;
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
      this.byteParts = new Float64Array(n * 2);
      this.packetParts = new Float64Array(n * 2);
      this.order = new Uint32Array(n * 2);
    }
    const shares = this.shares;
    for (let k = 0; k < n; k++) {
      const from = Math.max(startMs, (first + k) * iv);
      const to = Math.min(endMs, (first + k + 1) * iv);
      shares[k] = (to - from) / span;
    }
    const byteParts = this.byteParts;
    const packetParts = this.packetParts;
    this.split(n, bytes, byteParts);
    this.split(n, packets, packetParts);
    for (let k = 0; k < n; k++) {
      this.accumulate(first + k, key, byteParts[k]!, packetParts[k]!, k === n - 1 ? 1 : 0);
    }
  }

  /**
   * Splits `total` over n intervals by `this.shares` into `parts`, in whole units with the
   * remainder going to the largest fractional parts (ties: the earlier interval), so the parts
   * add up to `total` exactly. A fractional total (a non-integer sampling rate) keeps its
   * fraction in the last interval.
   */
  private split(n: number, total: number, parts: Float64Array): void {
    const shares = this.shares;
    const fractions = this.fractions;
    const whole = Math.floor(total);
    let given = 0;
    for (let k = 0; k < n; k++) {
      const exact = whole * shares[k]!;
      const part = Math.floor(exact);
      given += part;
      fractions[k] = exact - part;
      parts[k] = part;
    }
    // Fewer than n units are left (the fractions add up to less than n).
    const rest = whole - given;
    if (rest > 0 && rest * n <= 256) {
      // Few: pick the largest remaining fraction `rest` times (no sort, no allocation).
      for (let r = 0; r < rest; r++) {
        let best = 0;
        for (let k = 1; k < n; k++) if (fractions[k]! > fractions[best]!) best = k;
        parts[best]! += 1;
        fractions[best] = -1;
      }
    } else if (rest > 0) {
      const order = this.order.subarray(0, n);
      for (let k = 0; k < n; k++) order[k] = k;
      order.sort((a, b) => fractions[b]! - fractions[a]! || a - b);
      for (let j = 0; j < rest; j++) parts[order[j]!]! += 1;
    }
    const fraction = total - whole;
    if (fraction > 0) parts[n - 1]! += fraction;
  }

  private accumulate(
    interval: number,
    key: number,
    bytes: number,
    packets: number,
    flows: number,
  ): void {
    let byKey = this.lastInterval === interval ? this.lastMap : this.open.get(interval);
    if (byKey === undefined) {
      byKey = new Map();
      this.open.set(interval, byKey);
    }
    this.lastInterval = interval;
    this.lastMap = byKey;
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
      if (interval === this.lastInterval) {
        this.lastInterval = Number.NaN;
        this.lastMap = undefined;
      }
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
