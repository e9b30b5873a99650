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

/**
 * The first of two parts of `total` split by shares s0 + s1 = 1 as `PartialSums.split` does:
 * whole units by largest remainder (a tie goes to the first), a fraction of the total to the
 * second part.
 */
function splitTwo(total: number, s0: number, s1: number): number {
  const whole = Math.floor(total);
  const e0 = whole * s0;
  const e1 = whole * s1;
  const p0 = Math.floor(e0);
  const p1 = Math.floor(e1);
  // At most one unit is left: it goes to the larger fractional part.
  return whole - p0 - p1 > 0 && e0 - p0 >= e1 - p1 ? p0 + 1 : p0;
}

/** Doubles per hash slot: interval, key, bytes, packets, flows. */
const SLOT = 5;

function emptySlots(capacity: number): Float64Array {
  const slots = new Float64Array(capacity * SLOT);
  for (let at = 0; at < slots.length; at += SLOT) slots[at] = Number.NaN;
  return slots;
}

export class PartialSums {
  private readonly intervalMs: number;
  private readonly classes: number;
  private readonly maxSpreadMs: number;
  /**
   * The open sums: a hash table with linear probing keyed by (interval index, key), each slot
   * five adjacent doubles [interval, key, bytes, packets, flows] so that a probe touches one
   * cache line (a NaN interval is an empty slot). No object per entry and no allocation per
   * record; `drain` rebuilds it without the drained entries (once per hand-over).
   */
  private capacity = 1024;
  private used = 0;
  private slots = emptySlots(1024);
  /** Reused per flow: the share of each covered interval, and (spread) the remainder order. */
  private shares = new Float64Array(64);
  private fractions = new Float64Array(64);
  private order = new Uint32Array(64);
  private byteParts = new Float64Array(64);
  private packetParts = new Float64Array(64);
  /** Flows longer than `maxSpreadMs`, counted at their end. */
  clampedFlows = 0;
  /** Flows whose end is not a finite time, left out. */
  invalidTimes = 0;

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
    // A NaN interval would read as an empty slot (the record sink drops such records first).
    if (!Number.isFinite(last)) {
      this.invalidTimes++;
      return;
    }
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
    if (n === 2) {
      // The common case, without the arrays: the same largest-remainder split as `split`.
      const s0 = ((first + 1) * iv - startMs) / span;
      const s1 = (endMs - (first + 1) * iv) / span;
      const b = splitTwo(bytes, s0, s1);
      const p = splitTwo(packets, s0, s1);
      this.accumulate(first, key, b, p, 0);
      this.accumulate(last, key, bytes - b, packets - p, 1);
      return;
    }
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
    // Fewer than n units are left (the fractions add up to less than n). Rounding can leave one
    // more or one too many; and whatever a caller passes, the loops below are bounded by n, never
    // by the total (a total past 2^53 once made this a loop of 8.8e12 turns).
    let rest = Math.min(whole - given, n);
    while (rest < 0) {
      // One unit too many was given: take it back from the smallest fraction that has one.
      let worst = -1;
      for (let k = 0; k < n; k++) {
        if (parts[k]! >= 1 && (worst < 0 || fractions[k]! < fractions[worst]!)) worst = k;
      }
      if (worst < 0) break;
      parts[worst]! -= 1;
      fractions[worst] = 2;
      rest++;
    }
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
    const mask = this.capacity - 1;
    const slots = this.slots;
    let i = (Math.imul(interval | 0, 0x9e3779b1) ^ Math.imul(key | 0, 0x85ebca6b)) & mask;
    for (;;) {
      const at = i * SLOT;
      const slotInterval = slots[at]!;
      if (slotInterval === interval && slots[at + 1] === key) {
        slots[at + 2]! += bytes;
        slots[at + 3]! += packets;
        slots[at + 4]! += flows;
        return;
      }
      if (Number.isNaN(slotInterval)) {
        slots[at] = interval;
        slots[at + 1] = key;
        slots[at + 2] = bytes;
        slots[at + 3] = packets;
        slots[at + 4] = flows;
        break;
      }
      i = (i + 1) & mask;
    }
    if (++this.used * 2 > this.capacity) this.rehash(this.capacity * 2, Number.NEGATIVE_INFINITY);
  }

  /**
   * Rebuilds the table at `capacity`, keeping the entries of intervals >= `keepFrom` and
   * returning the others (five numbers each, as in a slot).
   */
  private rehash(capacity: number, keepFrom: number): number[] {
    const old = this.slots;
    const gone: number[] = [];
    this.capacity = capacity;
    this.used = 0;
    this.slots = emptySlots(capacity);
    for (let at = 0; at < old.length; at += SLOT) {
      const interval = old[at]!;
      if (Number.isNaN(interval)) continue;
      if (interval < keepFrom) {
        gone.push(interval, old[at + 1]!, old[at + 2]!, old[at + 3]!, old[at + 4]!);
      } else {
        this.accumulate(interval, old[at + 1]!, old[at + 2]!, old[at + 3]!, old[at + 4]!);
      }
    }
    return gone;
  }

  /**
   * Removes and returns the sums of every interval that starts before `beforeMs`, oldest
   * first (then by link, class and direction).
   */
  drain(beforeMs: number): PartialSum[] {
    // The first interval to keep: the one holding `beforeMs` unless it starts exactly there.
    const keepFrom = Math.ceil(beforeMs / this.intervalMs);
    let any = false;
    for (let at = 0; at < this.slots.length; at += SLOT) {
      if (this.slots[at]! < keepFrom) {
        any = true;
        break;
      }
    }
    if (!any) return [];
    // Shrink while rebuilding when most of the table has gone.
    let capacity = this.capacity;
    const gone = this.rehash(capacity, keepFrom);
    while (capacity > 1024 && this.used * 8 < capacity) capacity /= 2;
    if (capacity !== this.capacity) this.rehash(capacity, Number.NEGATIVE_INFINITY);
    const out: PartialSum[] = [];
    for (let j = 0; j < gone.length; j += 5) {
      const key = gone[j + 1]!;
      const rest = Math.floor(key / 2);
      out.push({
        startMs: gone[j]! * this.intervalMs,
        link: Math.floor(rest / this.classes) - 1,
        classIndex: rest % this.classes,
        direction: (key % 2) as Direction,
        bytes: gone[j + 2]!,
        packets: gone[j + 3]!,
        flows: gone[j + 4]!,
      });
    }
    out.sort(
      (a, b) =>
        a.startMs - b.startMs ||
        a.link - b.link ||
        a.classIndex - b.classIndex ||
        a.direction - b.direction,
    );
    return out;
  }

  /** Everything still open (on stop). */
  drainAll(): PartialSum[] {
    return this.drain(Number.POSITIVE_INFINITY);
  }

  /** Number of open intervals (for metrics and bounds; scans the table). */
  get openIntervals(): number {
    const seen = new Set<number>();
    for (let at = 0; at < this.slots.length; at += SLOT) {
      if (!Number.isNaN(this.slots[at]!)) seen.add(this.slots[at]!);
    }
    return seen.size;
  }

  /** Open (interval, link, class, direction) sums. */
  get openEntries(): number {
    return this.used;
  }
}
