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

/** Customers per part of {@link configViewParts}: about 50 KB of text. */
const CUSTOMERS_PER_PART = 256;

export function configView(cfg: Readonly<Config>): string {
  return [...configViewParts(cfg)].join("");
}

/**
 * {@link configView} in parts, to write one after the other: the view of 100 000 customers is
 * 20 MB, and each copy of it made whole (the lines, their join, the escaping, the bytes to write)
 * is memory the process touches for the first time, at about 3 ms a MB on a VM.
 */
export function* configViewParts(cfg: Readonly<Config>): Generator<string> {
  let view = redactSecrets(cfg);
  for (const path of RETENTIONS) view = replaceAt(view, path, 0, forever);
  // One customer per line (its sites and links with it): `grep` finds a customer whole, and
  // 100 000 customers print as 20 MB instead of 40.
  const marker = `"\u0000customers\u0000"`;
  const text = JSON.stringify({ ...(view as object), customers: marker }, null, 2);
  const slot = JSON.stringify(marker);
  const at = text.indexOf(slot);
  // JSON escapes control characters itself; printable() the bidirectional overrides it keeps
  // (one character at a time: the parts are escaped as the whole would be).
  yield printable(text.slice(0, at), true);
  const customers = cfg.customers;
  if (customers.length === 0) yield "[]";
  for (let first = 0; first < customers.length; first += CUSTOMERS_PER_PART) {
    const lines: string[] = [];
    const end = Math.min(first + CUSTOMERS_PER_PART, customers.length);
    for (let k = first; k < end; k++) lines.push(`    ${JSON.stringify(customers[k])}`);
    const open = first === 0 ? "[\n" : ",\n";
    const close = end === customers.length ? "\n  ]" : "";
    yield printable(`${open}${lines.join(",\n")}${close}`, true);
  }
  yield printable(text.slice(at + slot.length), true);
}

function forever(retention: unknown): unknown {
  if (retention === null || typeof retention !== "object") return retention;
  return Object.fromEntries(
    Object.entries(retention).map(([k, v]) => [k, v === Number.POSITIVE_INFINITY ? "forever" : v]),
  );
}
