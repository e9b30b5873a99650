/**
 * Data that cannot be decoded yet is held, not dropped: a data set whose template has not
 * arrived (common after an exporter or collector restart), or, with the `hold` sampling policy,
 * a data set whose sampling rate is not known yet. Held sets are bounded in count, bytes and
 * age; whatever leaves by a bound is counted.
 */
import type { SetContext } from "./exporter-state.js";

export interface HeldSetLimits {
  maxSets: number;
  maxBytes: number;
  maxAgeMs: number;
}

export const defaultHeldSetLimits: HeldSetLimits = {
  maxSets: 4096,
  maxBytes: 16 * 1024 * 1024,
  maxAgeMs: 60_000,
};

export interface HeldSet {
  reason: "template" | "sampling";
  /** The message header's context, as it was when the set arrived. */
  context: SetContext;
  templateId: number;
  /** A copy of the set's records (the datagram buffer is reused by the I/O shell). */
  data: Uint8Array;
  done: boolean;
}

/** A FIFO of held sets: oldest first, so expiry only looks at the head. */
export class HeldSets {
  private queue: HeldSet[] = [];
  private head = 0;
  count = 0;
  bytes = 0;

  constructor(readonly limits: HeldSetLimits) {}

  /** Adds a set; returns the sets evicted to stay within bounds (oldest first). */
  add(set: HeldSet, evicted: HeldSet[]): void {
    this.queue.push(set);
    this.count++;
    this.bytes += set.data.byteLength;
    while (this.count > this.limits.maxSets || this.bytes > this.limits.maxBytes) {
      const old = this.shift();
      if (old === undefined) break;
      evicted.push(old);
    }
    this.compact();
  }

  /** Removes and returns the live sets matching the predicate, in arrival order. */
  take(match: (s: HeldSet) => boolean): HeldSet[] {
    const out: HeldSet[] = [];
    if (this.count === 0) return out;
    for (let k = this.head; k < this.queue.length; k++) {
      const s = this.queue[k]!;
      if (!s.done && match(s)) out.push(this.release(s));
    }
    this.compact();
    return out;
  }

  /** Removes and returns sets held since before `nowMs - maxAgeMs`. */
  expire(nowMs: number): HeldSet[] {
    const out: HeldSet[] = [];
    const cutoff = nowMs - this.limits.maxAgeMs;
    while (this.head < this.queue.length) {
      const s = this.queue[this.head]!;
      if (!s.done && s.context.receivedMs > cutoff) break;
      this.head++;
      if (!s.done) out.push(this.release(s));
    }
    this.compact();
    return out;
  }

  private shift(): HeldSet | undefined {
    while (this.head < this.queue.length) {
      const s = this.queue[this.head++]!;
      if (!s.done) return this.release(s);
    }
    return undefined;
  }

  private release(s: HeldSet): HeldSet {
    s.done = true;
    this.count--;
    this.bytes -= s.data.byteLength;
    return s;
  }

  /**
   * Drops released entries (those before `head`, and those taken out of the middle) once they
   * outnumber the live ones, so the queue array stays bounded too, not just the held bytes.
   */
  private compact(): void {
    if (this.count === 0) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.queue.length > 2 * this.count + 64) {
      this.queue = this.queue.slice(this.head).filter((s) => !s.done);
      this.head = 0;
    }
  }
}
