/**
 * Rate-limited logging of decode problems (Akvorado's sampled error logger, in spirit): the hot
 * path only counts; this reports what was counted since the last report, at most once per
 * interval, so a flood of malformed datagrams costs one log line per interval, not one per packet.
 */
import type { Logger } from "pino";
import {
  type DecodeProblem,
  decodeProblems,
  emptyProblemCounts,
  type ProblemCounts,
} from "./decoders/decode-problems.js";

export interface ProblemReporter {
  /** Logs the problems counted since the last report if `intervalMs` has passed (or `force`). */
  report(nowMs: number, problems: Readonly<ProblemCounts>, force?: boolean): void;
}

/** Problems that are normal operation, not trouble: logged at info, the rest at warn. */
const informational: ReadonlySet<DecodeProblem> = new Set(["data-held"]);

export function createProblemReporter(log: Logger, intervalMs = 60_000): ProblemReporter {
  const last = emptyProblemCounts();
  let lastAt = Number.NEGATIVE_INFINITY;
  return {
    report(nowMs, problems, force = false) {
      if (!force && nowMs - lastAt < intervalMs) return;
      lastAt = nowMs;
      const warn: Partial<Record<DecodeProblem, number>> = {};
      const info: Partial<Record<DecodeProblem, number>> = {};
      for (const p of decodeProblems) {
        const delta = problems[p] - last[p];
        last[p] = problems[p];
        if (delta > 0) (informational.has(p) ? info : warn)[p] = delta;
      }
      if (Object.keys(warn).length > 0) log.warn({ problems: warn }, "flow decode problems");
      if (Object.keys(info).length > 0) log.info({ problems: info }, "flow decode events");
    },
  };
}
