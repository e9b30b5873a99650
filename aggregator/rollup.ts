/**
 * The aggregator's core: merges partial sums from any number of collectors into 1-minute
 * buckets and emits them, at each flush, as additive deltas for every rollup level (1 m, 5 m,
 * 1 h, 1 d). A flush emits every bucket, the current minute's too: the store adds each delta to
 * what it holds, so the current minute is readable a second after its records arrived and grows
 * until it is whole. Nothing waits for the lateness any more: it only says when a minute is
 * complete (`completeUntil`, no more data expected) and which partials came after that (counted
 * as late; still added, never lost). Every stored value is a sum, so totals equal what was
 * received, exactly, however late it came.
 *
 * Rates are derived at query time from these sums: average = bytes over the period, peak = the
 * highest 1-minute rate in the period, 95th percentile = over the period's 5-minute samples
 * (zero for 5 minutes without traffic). Pure: the caller passes the time.
 */
import type { PartialSum } from "../collector/aggregate/partial-sums.js";
import { completeBefore } from "../store/levels.js";

export { completeBefore };

export const LEVELS = [
  { name: "1m", ms: 60_000 },
  { name: "5m", ms: 300_000 },
  { name: "1h", ms: 3_600_000 },
  { name: "1d", ms: 86_400_000 },
] as const;
export type LevelName = (typeof LEVELS)[number]["name"];

const BUCKET_MS = LEVELS[0].ms;

/** One additive change to a stored series row. */
export interface SeriesDelta {
  level: LevelName;
  startMs: number;
  link: number;
  classIndex: number;
  direction: number;
  bytes: number;
  packets: number;
  flows: number;
}

interface Bucket {
  link: number;
  classIndex: number;
  direction: number;
  bytes: number;
  packets: number;
  flows: number;
}

export interface RollupStats {
  partials: number;
  /** Partials for a bucket already written: emitted as corrections. */
  latePartials: number;
  openBuckets: number;
}

/**
 * The bucketing both rollups share: partials of any interval length merged into 1-minute buckets
 * by key, emitted (and forgotten) at each flush. A partial for a minute that was already complete
 * when it was added (its end more than the lateness before `nowMs`) is counted as late.
 */
export class MinuteBuckets<P extends { startMs: number }, B> {
  private readonly latenessMs: number;
  private readonly ops: {
    key(p: P): string;
    create(p: P): B;
    merge(into: B, p: P): void;
  };
  /** 1-minute bucket start → key → bucket, since the last flush. */
  private readonly open = new Map<number, Map<string, B>>();
  readonly stats: RollupStats = { partials: 0, latePartials: 0, openBuckets: 0 };

  constructor(latenessMs: number, ops: MinuteBuckets<P, B>["ops"]) {
    this.latenessMs = latenessMs;
    this.ops = ops;
  }

  /** `nowMs`: the time they reached the rollup (for the late count only). */
  add(partials: readonly P[], nowMs = Number.NEGATIVE_INFINITY): void {
    const complete = completeBefore(nowMs, this.latenessMs);
    for (const p of partials) {
      this.stats.partials++;
      const start = Math.floor(p.startMs / BUCKET_MS) * BUCKET_MS;
      if (start < complete) this.stats.latePartials++;
      let byKey = this.open.get(start);
      if (byKey === undefined) {
        byKey = new Map();
        this.open.set(start, byKey);
      }
      const key = this.ops.key(p);
      const b = byKey.get(key);
      if (b === undefined) byKey.set(key, this.ops.create(p));
      else this.ops.merge(b, p);
    }
    this.stats.openBuckets = this.open.size;
  }

  /** Every bucket added since the last flush, oldest minute first. */
  flush(): Array<{ startMs: number; bucket: B }> {
    const out: Array<{ startMs: number; bucket: B }> = [];
    const starts = [...this.open.keys()].sort((a, b) => a - b);
    for (const start of starts) {
      for (const bucket of this.open.get(start)!.values()) out.push({ startMs: start, bucket });
    }
    this.open.clear();
    this.stats.openBuckets = 0;
    return out;
  }
}

export class Rollup {
  private readonly buckets: MinuteBuckets<PartialSum, Bucket>;
  readonly stats: RollupStats;

  constructor(options: { latenessMs: number }) {
    this.buckets = new MinuteBuckets<PartialSum, Bucket>(options.latenessMs, {
      key: (p) => `${p.link}|${p.classIndex}|${p.direction}`,
      create: (p) => ({
        link: p.link,
        classIndex: p.classIndex,
        direction: p.direction,
        bytes: p.bytes,
        packets: p.packets,
        flows: p.flows,
      }),
      merge: (b, p) => {
        b.bytes += p.bytes;
        b.packets += p.packets;
        b.flows += p.flows;
      },
    });
    this.stats = this.buckets.stats;
  }

  /** `nowMs`: when they reached the rollup, for the late count (see MinuteBuckets). */
  add(partials: readonly PartialSum[], nowMs?: number): void {
    this.buckets.add(partials, nowMs);
  }

  /** The deltas, at every level, of everything added since the last flush. */
  flush(): SeriesDelta[] {
    return emitAll(this.buckets.flush());
  }
}

function emitAll(closed: ReadonlyArray<{ startMs: number; bucket: Bucket }>): SeriesDelta[] {
  const out: SeriesDelta[] = [];
  for (const { startMs, bucket } of closed) emit(out, startMs, bucket);
  return out;
}

function emit(out: SeriesDelta[], start: number, b: Bucket): void {
  for (const level of LEVELS) {
    out.push({
      level: level.name,
      startMs: Math.floor(start / level.ms) * level.ms,
      link: b.link,
      classIndex: b.classIndex,
      direction: b.direction,
      bytes: b.bytes,
      packets: b.packets,
      flows: b.flows,
    });
  }
}

/**
 * The 95th percentile (nearest rank, the billing convention) of `samples`, padded with zeros up
 * to `count` samples: 5-minute intervals without traffic are samples of 0 bits/s.
 */
export function percentile95(samples: readonly number[], count: number): number {
  const n = Math.max(count, samples.length);
  if (n === 0) return 0;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil(0.95 * n); // 1-based
  const zeros = n - sorted.length;
  if (rank <= zeros) return 0;
  return sorted[rank - zeros - 1]!;
}
