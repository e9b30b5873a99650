/**
 * What a graph needs from a range's samples (`SeriesStore.sampleStats`), taken from the samples
 * as columns: the highest sample of each step and the rank-th highest of the range. Pure: the
 * embedded store reads the samples (one sum per period, in and out) as three columns and hands
 * them here, instead of sorting them in SQL (a year's 105 120 5-minute samples: two sorts and a
 * second GROUP BY in DuckDB cost about three times the one read, bench/README.md).
 */
import type { SampleSums } from "../schema/series-store.js";

/** One range's samples: entry k is one period's start and its byte sums, in any order. */
export interface SampleColumns {
  timeMs: Float64Array;
  bytesIn: Float64Array;
  bytesOut: Float64Array;
}

/**
 * The highest sample, in and out on their own, of each step-long period (aligned to the epoch,
 * `floor(timeMs / stepMs) * stepMs`) that holds a sample, in time order.
 */
export function peaksPerStep(s: SampleColumns, stepMs: number): SampleSums[] {
  const byPeriod = new Map<number, SampleSums>();
  const n = s.timeMs.length;
  for (let k = 0; k < n; k++) {
    const timeMs = Math.floor(s.timeMs[k]! / stepMs) * stepMs;
    const bytesIn = s.bytesIn[k]!;
    const bytesOut = s.bytesOut[k]!;
    const peak = byPeriod.get(timeMs);
    if (peak === undefined) byPeriod.set(timeMs, { timeMs, bytesIn, bytesOut });
    else {
      if (bytesIn > peak.bytesIn) peak.bytesIn = bytesIn;
      if (bytesOut > peak.bytesOut) peak.bytesOut = bytesOut;
    }
  }
  return [...byPeriod.values()].sort((a, b) => a.timeMs - b.timeMs);
}

/**
 * The `rank`-th highest of `values` (rank 1: the highest), 0 when there are fewer values. Reorders
 * `values` (a selection, not a sort: linear time on average).
 */
export function rankedValue(values: Float64Array, rank: number): number {
  const n = values.length;
  if (rank > n) return 0;
  return select(values, n - rank);
}

/**
 * The k-th smallest (0-based) of `a`, found by partitioning in place around the median of three
 * (Hoare's FIND): each pass keeps the side that holds position k.
 */
function select(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const mid = lo + ((hi - lo) >> 1);
    // Median of three as the pivot: sorted input, common in time series, stays linear.
    if (a[mid]! < a[lo]!) swap(a, mid, lo);
    if (a[hi]! < a[lo]!) swap(a, hi, lo);
    if (a[hi]! < a[mid]!) swap(a, hi, mid);
    const pivot = a[mid]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        swap(a, i, j);
        i++;
        j--;
      }
    }
    // Now a[lo..j] ≤ pivot ≤ a[i..hi], and a[j+1..i-1] (if any) equal the pivot.
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}
