/**
 * The aggregator's core: merges partial sums from any number of collectors into 1-minute
 * buckets, keeps each bucket open for the configured lateness, then emits it as an additive
 * delta for every rollup level (1 m, 5 m, 1 h, 1 d). Data arriving after its bucket closed is
 * not lost: it becomes a further delta that the store adds to what it already holds. Every
 * stored value is a sum, so totals equal what was received, exactly, however late it came.
 *
 * Rates are derived at query time from these sums: average = bytes over the period, peak = the
 * highest 1-minute rate in the period, 95th percentile = over the period's 5-minute samples
 * (zero for 5 minutes without traffic). Pure: the caller passes the time.
 */
import type { PartialSum } from "../collector/aggregate/partial-sums.js";

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

export class Rollup {
  private readonly latenessMs: number;
  /** 1-minute bucket start → key → sums, for buckets still open. */
  private readonly open = new Map<number, Map<string, Bucket>>();
  /** Buckets ending at or before this have been written; partials for them are late. */
  private closedBefore = Number.NEGATIVE_INFINITY;
  /** Late partials waiting for the next flush. */
  private late: Bucket[] = [];
  private lateStarts: number[] = [];
  readonly stats: RollupStats = { partials: 0, latePartials: 0, openBuckets: 0 };

  constructor(options: { latenessMs: number }) {
    this.latenessMs = options.latenessMs;
  }

  add(partials: readonly PartialSum[]): void {
    for (const p of partials) {
      this.stats.partials++;
      const start = Math.floor(p.startMs / BUCKET_MS) * BUCKET_MS;
      if (start + BUCKET_MS <= this.closedBefore) {
        this.stats.latePartials++;
        this.late.push({
          link: p.link,
          classIndex: p.classIndex,
          direction: p.direction,
          bytes: p.bytes,
          packets: p.packets,
          flows: p.flows,
        });
        this.lateStarts.push(start);
        continue;
      }
      let byKey = this.open.get(start);
      if (byKey === undefined) {
        byKey = new Map();
        this.open.set(start, byKey);
      }
      const key = `${p.link}|${p.classIndex}|${p.direction}`;
      const b = byKey.get(key);
      if (b === undefined) {
        byKey.set(key, {
          link: p.link,
          classIndex: p.classIndex,
          direction: p.direction,
          bytes: p.bytes,
          packets: p.packets,
          flows: p.flows,
        });
      } else {
        b.bytes += p.bytes;
        b.packets += p.packets;
        b.flows += p.flows;
      }
    }
    this.stats.openBuckets = this.open.size;
  }

  /**
   * Closes the buckets that ended more than the lateness before `nowMs` and returns their deltas
   * at every level, followed by the corrections for late data.
   */
  flush(nowMs: number): SeriesDelta[] {
    return this.closeBefore(nowMs - this.latenessMs);
  }

  /** Closes everything (on stop, or at the end of a replay). */
  flushAll(): SeriesDelta[] {
    return this.closeBefore(Number.POSITIVE_INFINITY);
  }

  private closeBefore(cutoffMs: number): SeriesDelta[] {
    const out: SeriesDelta[] = [];
    const starts = [...this.open.keys()]
      .filter((s) => s + BUCKET_MS <= cutoffMs)
      .sort((a, b) => a - b);
    for (const start of starts) {
      for (const b of this.open.get(start)!.values()) emit(out, start, b);
      this.open.delete(start);
    }
    if (starts.length > 0) {
      this.closedBefore = Math.max(this.closedBefore, starts[starts.length - 1]! + BUCKET_MS);
    }
    for (let k = 0; k < this.late.length; k++) emit(out, this.lateStarts[k]!, this.late[k]!);
    this.late = [];
    this.lateStarts = [];
    this.stats.openBuckets = this.open.size;
    return out;
  }
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
