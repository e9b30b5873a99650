/**
 * The periodic stats line of the long-running commands (`run`, `collect`, `aggregate`): every
 * `everyMs` a sample of the counters is taken and the command's `line` turns it, with the sample
 * before and the seconds between them (for rates), into one log line at the level it says.
 */
import type { Logger } from "pino";

/** How often the stats line is logged by default. */
export const STATS_EVERY_MS = 60_000;

export interface StatsLine {
  level: "info" | "warn";
  fields: Record<string, unknown>;
  message: string;
}

export interface StatsLog {
  /** Stops the timer (a sample being taken is still logged). */
  stop(): void;
}

/** Counts per second between two samples, rounded. */
export function perSecond(now: number, before: number, seconds: number): number {
  return Math.round((now - before) / seconds);
}

/**
 * Starts the periodic line. `sample` must return a copy (counters that go on changing would make
 * the previous sample move too); an async one is waited for, and a tick that finds the last one
 * still running is skipped.
 */
export function startStatsLog<S>(opts: {
  log: Logger;
  everyMs: number;
  /** The counters at start: the first line's rates are since then. */
  initial: S;
  sample: () => S | Promise<S>;
  line: (now: S, previous: S, seconds: number) => StatsLine;
  clock?: () => number;
}): StatsLog {
  const clock = opts.clock ?? Date.now;
  let previous = opts.initial;
  let at = clock();
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const now = await opts.sample();
      const t = clock();
      const { level, fields, message } = opts.line(now, previous, Math.max((t - at) / 1000, 1e-3));
      opts.log[level](fields, message);
      previous = now;
      at = t;
    } catch (e) {
      opts.log.error({ err: e }, "stats not logged");
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), opts.everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
