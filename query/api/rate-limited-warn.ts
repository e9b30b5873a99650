/**
 * A warning logged at most once per interval (a flood of hostile clients costs one line a
 * minute); the line says how many were held back since the previous one, under `heldKey`.
 */
import type { Logger } from "pino";

export function rateLimitedWarn(log: Logger, intervalMs: number, heldKey: string) {
  let lastAt = Number.NEGATIVE_INFINITY;
  let held = 0;
  return (nowMs: number, fields: Record<string, unknown>, message: string): void => {
    if (nowMs >= lastAt && nowMs - lastAt < intervalMs) {
      held += 1;
      return;
    }
    log.warn(held > 0 ? { ...fields, [heldKey]: held } : fields, message);
    lastAt = nowMs;
    held = 0;
  };
}
