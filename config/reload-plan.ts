/**
 * What a SIGHUP can apply of a new config: the customers and the classes (with their
 * thresholds), which the collectors swap between two datagrams, the service types' billing, and
 * the log level. Every other
 * setting is read at start only (sockets, the store, the queue, paths, aggregation): a change
 * there is named so the operator knows a restart is needed, and not applied. Pure.
 */
import type { Config } from "../schema/config.js";
import type { LogLevel } from "../schema/log-levels.js";

/** The top-level keys of the customer model, which `run` and `collect` swap. */
export const MODEL_KEYS = [
  "customers",
  "classes",
  "defaultClass",
  "defaultTotalDelayThreshold",
  "defaultServiceLevelTarget",
] as const;

/**
 * The top-level keys a reload of `run` or `collect` applies: the model's, the service types'
 * billing (the SLA report's, and the billing profiles stored: docs/sla.md "Profile versions").
 */
export const RELOADED_KEYS = [...MODEL_KEYS, "serviceTypes", "log"] as const;

/** What `serve` applies: its API's customers, classes and billing (the same keys as `run`). */
export const API_KEYS = RELOADED_KEYS;

/** What `aggregate` applies. */
export const LOG_ONLY_KEYS = ["log"] as const;

export type ReloadedKey = (typeof RELOADED_KEYS)[number];

/**
 * The settings that differ between `running` and `next` outside `reloaded`, as config paths
 * (two levels deep: `inputs.netflow`, `store.influx`, `api.listen`).
 */
export function restartNeeded(
  running: Config,
  next: Config,
  reloadedKeys: readonly ReloadedKey[] = RELOADED_KEYS,
): string[] {
  const reloaded = new Set<string>(reloadedKeys);
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
export function applyReload(
  running: Config,
  next: Config,
  reloadedKeys: readonly ReloadedKey[] = RELOADED_KEYS,
): Config {
  const out: Record<string, unknown> = { ...running };
  for (const key of reloadedKeys) out[key] = next[key];
  return Object.freeze(out as Config);
}

/**
 * The log level to run with: `--log-level` when it is on the command line, else the config's
 * `log.level`, else the command's default.
 */
export function effectiveLogLevel(
  cfg: Config,
  commandLine: LogLevel | undefined,
  fallback: LogLevel,
): LogLevel {
  return commandLine ?? cfg.log.level ?? fallback;
}
