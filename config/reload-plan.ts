/**
 * What a SIGHUP can apply of a new config: the customers and the classes (with their
 * thresholds), which the collectors swap between two datagrams. Every other setting is read at
 * start only (sockets, the store, the queue, paths, aggregation): a change there is named so
 * the operator knows a restart is needed, and not applied. Pure.
 */
import type { Config } from "../schema/config.js";

/** The top-level keys a reload applies. */
export const RELOADED_KEYS = [
  "customers",
  "classes",
  "defaultClass",
  "defaultTotalDelayThreshold",
] as const;

/**
 * The settings that differ between `running` and `next` outside {@link RELOADED_KEYS}, as
 * config paths (two levels deep: `inputs.netflow`, `store.influx`, `api.listen`).
 */
export function restartNeeded(running: Config, next: Config): string[] {
  const reloaded = new Set<string>(RELOADED_KEYS);
  const out: string[] = [];
  const keys = new Set([...Object.keys(running), ...Object.keys(next)]);
  for (const key of [...keys].sort()) {
    if (reloaded.has(key)) continue;
    const a = (running as Record<string, unknown>)[key];
    const b = (next as Record<string, unknown>)[key];
    if (same(a, b)) continue;
    if (isObject(a) && isObject(b)) {
      const inner = new Set([...Object.keys(a), ...Object.keys(b)]);
      for (const k of [...inner].sort()) if (!same(a[k], b[k])) out.push(`${key}.${k}`);
    } else {
      out.push(key);
    }
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Deep equality of parsed config values (Infinity, "forever", kept apart from null). */
function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a, keep) === JSON.stringify(b, keep);
}

function keep(_: string, v: unknown): unknown {
  return typeof v === "number" && !Number.isFinite(v) ? String(v) : v;
}

/** `running` with the reloaded keys of `next`: what runs after a reload. */
export function applyReload(running: Config, next: Config): Config {
  return Object.freeze({
    ...running,
    customers: next.customers,
    classes: next.classes,
    defaultClass: next.defaultClass,
    defaultTotalDelayThreshold: next.defaultTotalDelayThreshold,
  });
}
