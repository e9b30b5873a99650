/**
 * When data is complete, for the processes that cannot see the pipeline's own state (docs/api.md,
 * "Fresh and complete data"). Pure.
 */
import type { Config } from "../schema/config.js";
import { completeBefore } from "../store/levels.js";

/**
 * Scaled out, the serving process sees the store only: a minute is complete once the lateness has
 * passed and the aggregators have had the time to write it at every level (queue.writeInterval
 * for 1-minute rows, queue.rollupWriteInterval for the coarser ones), after the collectors'
 * one-second hand-over.
 */
export function scaledOutCompleteUntil(cfg: Config, nowMs: number): number {
  const q = cfg.queue;
  const shipped = Math.max(1000, cfg.collector.shipAfter);
  const writeDelay = shipped + (q === undefined ? 0 : q.writeInterval + q.rollupWriteInterval);
  return completeBefore(nowMs - writeDelay, cfg.aggregation.lateness);
}
