/**
 * The effective config as `check-config` prints it, so that it can be pasted into a ticket:
 * secrets hidden (redact-secrets.ts), a retention of Infinity as "forever", durations in ms,
 * and no character that would act on a terminal. Valid JSON.
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
  // One customer per line (its sites and links with it): `grep` finds a customer whole, and
  // 100 000 customers print as 20 MB instead of 40.
  const marker = `"\u0000customers\u0000"`;
  const text = JSON.stringify({ ...(view as object), customers: marker }, null, 2);
  const customers =
    cfg.customers.length === 0
      ? "[]"
      : `[\n${cfg.customers.map((c) => `    ${JSON.stringify(c)}`).join(",\n")}\n  ]`;
  // JSON escapes control characters itself; printable() the bidirectional overrides it keeps.
  return printable(
    text.replace(JSON.stringify(marker), () => customers),
    true,
  );
}

function forever(retention: unknown): unknown {
  if (retention === null || typeof retention !== "object") return retention;
  return Object.fromEntries(
    Object.entries(retention).map(([k, v]) => [k, v === Number.POSITIVE_INFINITY ? "forever" : v]),
  );
}
