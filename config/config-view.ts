/**
 * The effective config as `check-config` prints it, so that it can be pasted into a ticket:
 * secrets hidden (redact-secrets.ts), a retention of Infinity as "forever", durations in ms,
 * and no character that would act on a terminal.
 */
import type { Config } from "../schema/config.js";
import { printable } from "./printable.js";
import { redactSecrets, replaceAt } from "./redact-secrets.js";

const RETENTIONS = [
  ["store", "embedded", "retention"],
  ["store", "influx", "retention"],
] as const;

export function configView(cfg: Readonly<Config>): string {
  let view = redactSecrets(cfg);
  for (const path of RETENTIONS) view = replaceAt(view, path, 0, forever);
  // JSON escapes control characters itself; printable() the bidirectional overrides it keeps.
  return printable(JSON.stringify(view, null, 2), true);
}

function forever(retention: unknown): unknown {
  if (retention === null || typeof retention !== "object") return retention;
  return Object.fromEntries(
    Object.entries(retention).map(([k, v]) => [k, v === Number.POSITIVE_INFINITY ? "forever" : v]),
  );
}
