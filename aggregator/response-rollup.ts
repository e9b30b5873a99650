/**
 * The response-time side of the aggregator: merges response partials (collector/aggregate/
 * response-sums.ts) from any number of collectors into 1-minute buckets as the traffic rollup
 * does (MinuteBuckets: everything emitted at each flush), and emits additive deltas for every level: counts
 * and delay sums add, and so do the sketch bins, which is what makes a day's p95 exact within the
 * sketch's accuracy. Pure.
 */
import type { ResponsePartial } from "../collector/aggregate/response-sums.js";
import { type ResponseTimeSums, responseTimeCounters } from "../schema/series-store.js";
import { LEVELS, type LevelName, MinuteBuckets, type RollupStats } from "./rollup.js";

export type ResponseDelta = ResponseTimeSums & {
  level: LevelName;
  startMs: number;
  link: number;
  classIndex: number;
};

const COUNTERS = responseTimeCounters;

type Bucket = Omit<ResponseDelta, "level" | "startMs" | "bins"> & { bins: Map<number, number> };

export class ResponseRollup {
  private readonly buckets: MinuteBuckets<ResponsePartial, Bucket>;
  readonly stats: RollupStats;

  constructor(options: { latenessMs: number }) {
    this.buckets = new MinuteBuckets<ResponsePartial, Bucket>(options.latenessMs, {
      key: (p) => `${p.link}|${p.classIndex}`,
      create: ({ startMs: _start, bins, ...sums }) => ({ ...sums, bins: new Map(bins) }),
      merge: (b, p) => {
        for (const c of COUNTERS) b[c] += p[c];
        for (const [key, n] of p.bins) b.bins.set(key, (b.bins.get(key) ?? 0) + n);
      },
    });
    this.stats = this.buckets.stats;
  }

  add(partials: readonly ResponsePartial[], nowMs?: number): void {
    this.buckets.add(partials, nowMs);
  }

  flush(): ResponseDelta[] {
    return emit(this.buckets.flush());
  }
}

function emit(closed: ReadonlyArray<{ startMs: number; bucket: Bucket }>): ResponseDelta[] {
  const out: ResponseDelta[] = [];
  for (const { startMs, bucket } of closed) {
    const { bins: binMap, ...sums } = bucket;
    const bins = [...binMap].sort((a, b) => a[0] - b[0]);
    for (const level of LEVELS) {
      out.push({
        level: level.name,
        startMs: Math.floor(startMs / level.ms) * level.ms,
        ...sums,
        bins,
      });
    }
  }
  return out;
}
