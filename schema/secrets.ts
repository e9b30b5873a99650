/**
 * Secret config keys, marked where they are declared: a schema registered in {@link secrets}
 * says how it may be shown. {@link secretKeys} finds every marked key of a schema, so what
 * `check-config` hides comes from the schema itself, and a test over the whole schema makes sure
 * that a key named like a secret is either marked or listed as not secret.
 */
import { z } from "zod";

export interface SecretMark {
  /**
   * How `check-config` shows it: `set` as "(set)", `count` (a list) as "(2 set)", `url` with
   * the password of the URL (and of its query) as "***".
   */
  shown: "set" | "count" | "url";
}

export const secrets = z.registry<SecretMark>();

/** A config path with "[]" for "every element of the list": `["api", "operatorTokens"]`. */
export type KeyPath = readonly string[];

export interface SecretKey extends SecretMark {
  path: KeyPath;
}

/**
 * Calls `visit` for every key of a (config) schema, depth first, with its path and the schema
 * under it; list elements are "[]". Looks through optional, default, prefault, pipes (the input
 * side, what a user writes) and every side of unions, so one path may be visited several times,
 * once per schema it goes through.
 */
export function walkSchema(
  schema: z.core.$ZodType,
  visit: (path: KeyPath, schema: z.core.$ZodType) => void,
  path: KeyPath = [],
): void {
  visit(path, schema);
  const def = schema._zod.def as z.core.$ZodTypeDef & Record<string, unknown>;
  switch (def.type) {
    case "object":
      for (const [key, child] of Object.entries(def.shape as Record<string, z.core.$ZodType>)) {
        walkSchema(child, visit, [...path, key]);
      }
      return;
    case "array":
      walkSchema(def.element as z.core.$ZodType, visit, [...path, "[]"]);
      return;
    case "union":
      for (const option of def.options as z.core.$ZodType[]) walkSchema(option, visit, path);
      return;
    case "pipe":
      walkSchema(def.in as z.core.$ZodType, visit, path);
      return;
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "nonoptional":
    case "readonly":
    case "catch":
      walkSchema(def.innerType as z.core.$ZodType, visit, path);
      return;
  }
}

/** Every secret key of a schema, once each, in schema order. */
export function secretKeys(schema: z.core.$ZodType): SecretKey[] {
  const found = new Map<string, SecretKey>();
  walkSchema(schema, (path, s) => {
    const mark = secrets.get(s);
    if (mark !== undefined) found.set(path.join("."), { path, ...mark });
  });
  return [...found.values()];
}

/** The dotted form of a key path, as docs and messages write it: `api.operatorTokens`. */
export function formatKeyPath(path: KeyPath): string {
  return path.join(".").replaceAll(".[]", "[]");
}

/**
 * A URL with its password ("***"), and the value of every query parameter named like a
 * credential, hidden: ioredis also takes `redis://host:6379?password=...`.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    for (const key of [...u.searchParams.keys()]) {
      if (/pass|secret|token|auth|key/i.test(key)) u.searchParams.set(key, "***");
    }
    return u.toString();
  } catch {
    return "(unparseable URL)";
  }
}
