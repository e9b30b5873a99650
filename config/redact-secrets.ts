/**
 * A config to show (check-config, a ticket, a log): every secret key of the schema
 * (SECRET_KEYS, schema/secrets.ts) replaced by what may be shown of it. Copies only the objects
 * on the way to a secret; the rest (the customers) is shared with the config.
 */
import { type Config, SECRET_KEYS } from "../schema/config.js";
import { type KeyPath, redactUrl, type SecretKey, type SecretMark } from "../schema/secrets.js";

export function redactSecrets(
  cfg: Readonly<Config>,
  keys: readonly SecretKey[] = SECRET_KEYS,
): unknown {
  let out: unknown = cfg;
  for (const key of keys) out = replaceAt(out, key.path, 0, (v) => shown(key.shown, v));
  return out;
}

/** `value` with what `path` (from `i` on) leads to replaced by `fn` of it; absent keys stay absent. */
export function replaceAt(
  value: unknown,
  path: KeyPath,
  i: number,
  fn: (v: unknown) => unknown,
): unknown {
  if (i === path.length) return fn(value);
  if (value === null || typeof value !== "object") return value;
  const key = path[i]!;
  if (key === "[]") {
    return Array.isArray(value) ? value.map((v) => replaceAt(v, path, i + 1, fn)) : value;
  }
  if (!Object.hasOwn(value, key)) return value;
  const inner = (value as Record<string, unknown>)[key];
  return { ...value, [key]: replaceAt(inner, path, i + 1, fn) };
}

function shown(how: SecretMark["shown"], v: unknown): unknown {
  if (v === undefined) return v;
  switch (how) {
    case "set":
      return "(set)";
    case "count":
      return Array.isArray(v) ? `(${v.length} set)` : "(set)";
    case "url":
      return typeof v === "string" ? redactUrl(v) : "(set)";
  }
}
