/**
 * Work done in steps: a generator that yields between pieces of a long computation (building the
 * customer model of 100 000 customers takes 0.3 s of CPU), so that one process can either run it
 * through at once ({@link runSteps}) or hand the event loop back between slices of it
 * ({@link runStepsSliced}: `flowtally run`, whose API shares the loop with classification).
 */
import { setImmediate as nextTurn } from "node:timers/promises";

/** A computation that yields (nothing) between its steps and returns its result. */
export type Steps<T> = Generator<void, T, void>;

/** Runs every step at once and returns the result. */
export function runSteps<T>(steps: Steps<T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

export interface SliceOptions {
  /** Steps run back to back until this many ms have passed, then the loop turns (default 8). */
  sliceMs?: number;
  /** Called between slices (tests count them; the default waits for the loop's next turn). */
  between?: () => Promise<void>;
  /** The clock, in ms (default performance.now). */
  now?: () => number;
}

/** The slice length: a step must stay well under it for the loop to wait at most ~10 ms. */
export const DEFAULT_SLICE_MS = 8;

/**
 * Runs the steps in slices of about `sliceMs`, letting the event loop turn (I/O, timers) between
 * two slices: the loop waits at most one slice plus one step.
 */
export async function runStepsSliced<T>(steps: Steps<T>, options: SliceOptions = {}): Promise<T> {
  const sliceMs = options.sliceMs ?? DEFAULT_SLICE_MS;
  const now = options.now ?? (() => performance.now());
  const between = options.between ?? (() => nextTurn());
  for (;;) {
    const until = now() + sliceMs;
    do {
      const r = steps.next();
      if (r.done) return r.value;
    } while (now() < until);
    await between();
  }
}
