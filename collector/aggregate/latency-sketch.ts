/**
 * Latency distributions as DDSketch bins (Datadog's `@datadog/sketches-js`): logarithmic buckets
 * with a relative accuracy guarantee, mergeable exactly by adding bin counts. flowtally keeps a
 * sketch per (interval, link, class) on the collector, ships its bins (key → count) in the
 * partials, and the store adds bin counts like any other sum; quantiles are read back by loading
 * the summed bins into a sketch. So partials from any number of collectors, late data and
 * rollups to 5 m / 1 h / 1 d all merge as exactly as the sketch allows: the p95 of a day is the
 * p95 of every transaction of that day, within the accuracy, not an average of p95s.
 *
 * Values are microseconds, at least 1 (a delay the monitor could not resolve counts as 1 µs).
 */
import { DDSketch } from "@datadog/sketches-js";

/** Relative accuracy of every latency quantile flowtally reports (2 %). */
export const LATENCY_RELATIVE_ACCURACY = 0.02;

/** A sketch with flowtally's accuracy (the bins of all sketches must share one mapping). */
export function createLatencySketch(): DDSketch {
  return new DDSketch({ relativeAccuracy: LATENCY_RELATIVE_ACCURACY });
}

/** Adds a delay in microseconds (clamped to at least 1 µs). */
export function addLatency(sketch: DDSketch, us: number, count = 1): void {
  sketch.accept(us >= 1 ? us : 1, count);
}

/** The non-empty bins of a sketch as [key, count] pairs, keys ascending. */
export function sketchBins(sketch: DDSketch): Array<[number, number]> {
  const store = sketch.store;
  const out: Array<[number, number]> = [];
  if (store.count === 0) return out;
  for (let key = store.minKey; key <= store.maxKey; key++) {
    const n = store.bins[key - store.offset] ?? 0;
    if (n > 0) out.push([key, n]);
  }
  return out;
}

/** A sketch holding `bins` (keys of {@link sketchBins} of sketches made here). */
export function sketchFromBins(bins: Iterable<readonly [number, number]>): DDSketch {
  const sketch = createLatencySketch();
  const mapping = sketch.mapping;
  for (const [key, count] of bins) {
    if (count > 0) sketch.accept(mapping.value(key), count);
  }
  return sketch;
}

/** Quantiles (e.g. 0.5, 0.95, 0.99) of summed bins, in microseconds; null without data. */
export function binQuantiles(
  bins: Iterable<readonly [number, number]>,
  quantiles: readonly number[],
): Array<number | null> {
  const sketch = sketchFromBins(bins);
  return quantiles.map((q) => (sketch.count > 0 ? sketch.getValueAtQuantile(q) : null));
}
