/**
 * customerSchema's common case without zod: a config of 100 000 customers spent a fifth of its
 * start-up (and 50 MB) in zod's per-object machinery. {@link plainCustomer} returns what
 * `customerSchema.parse(v)` returns (the same keys, in the same order, defaults filled in, new
 * objects and arrays) when `v` is plainly valid, and undefined for anything else: then zod
 * parses it and says why, so messages come from the schema alone. The same helpers decide
 * (ID_PATTERN, reservedIdProblem, isIP, parseBitRate); customer-fast-path.test.ts checks it
 * against zod on valid and mutated customers, and that it knows every key of the schema.
 */
import { isIP } from "node:net";
import { type CustomerConfig, ID_PATTERN } from "./config.js";
import { reservedIdProblem } from "./reserved-ids.js";
import { parseBitRate } from "./units.js";

/** The keys the fast path knows, by object: the test compares them with the schema's. */
export const FAST_PATH_KEYS = {
  customer: ["id", "name", "serviceType", "sites"],
  site: ["id", "name", "links"],
  link: ["id", "name", "prefixes", "router", "ifIndex", "commitRate"],
} as const;

type Site = CustomerConfig["sites"][number];
type Link = Site["links"][number];

export function plainCustomer(v: unknown): CustomerConfig | undefined {
  if (!plainObject(v, FAST_PATH_KEYS.customer)) return undefined;
  const { id, name, serviceType, sites } = v;
  if (!isId(id) || reservedIdProblem("customer", id) !== undefined) return undefined;
  if (typeof name !== "string" || name.length === 0) return undefined;
  if (serviceType !== undefined && (typeof serviceType !== "string" || serviceType === "")) {
    return undefined;
  }
  if (!Array.isArray(sites) || sites.length === 0) return undefined;
  const outSites = plainEach(sites, plainSite);
  if (outSites === undefined) return undefined;
  return { id, name, serviceType: serviceType ?? "default", sites: outSites };
}

function plainSite(v: unknown): Site | undefined {
  if (!plainObject(v, FAST_PATH_KEYS.site)) return undefined;
  const { id, name, links } = v;
  if (!isId(id) || (name !== undefined && typeof name !== "string")) return undefined;
  if (!Array.isArray(links) || links.length === 0) return undefined;
  const outLinks = plainEach(links, plainLink);
  if (outLinks === undefined) return undefined;
  return name === undefined ? { id, links: outLinks } : { id, name, links: outLinks };
}

function plainLink(v: unknown): Link | undefined {
  if (!plainObject(v, FAST_PATH_KEYS.link)) return undefined;
  const { id, name, prefixes, router, ifIndex, commitRate } = v;
  if (!isId(id) || (name !== undefined && typeof name !== "string")) return undefined;
  if (prefixes !== undefined && !(Array.isArray(prefixes) && prefixes.every(isString))) {
    return undefined;
  }
  if (router !== undefined && (typeof router !== "string" || isIP(router) === 0)) return undefined;
  if (
    ifIndex !== undefined &&
    !(
      typeof ifIndex === "number" &&
      Number.isInteger(ifIndex) &&
      ifIndex >= 0 &&
      ifIndex <= 0xffffffff
    )
  ) {
    return undefined;
  }
  let rate: number | undefined;
  if (commitRate !== undefined) {
    if (typeof commitRate !== "string" && typeof commitRate !== "number") return undefined;
    rate = parseBitRate(commitRate);
    if (Number.isNaN(rate)) return undefined;
  }
  // In the schema's key order, as zod builds it (check-config prints it).
  const out = (name === undefined ? { id } : { id, name }) as Link;
  out.prefixes = prefixes === undefined ? [] : prefixes.slice();
  if (router !== undefined) out.router = router;
  if (ifIndex !== undefined) out.ifIndex = ifIndex;
  if (rate !== undefined) out.commitRate = rate;
  return out;
}

/**
 * `plain` of each item, or undefined if one is not plain. The array is made at its size: one
 * grown by push holds 17 entries or more (150 bytes for a customer's one site).
 */
function plainEach<T>(
  items: readonly unknown[],
  plain: (v: unknown) => T | undefined,
): T[] | undefined {
  const out = new Array<T>(items.length);
  for (let k = 0; k < items.length; k++) {
    const v = plain(items[k]);
    if (v === undefined) return undefined;
    out[k] = v;
  }
  return out;
}

/** A plain object with only these keys, none of them set to undefined (zod's cases then). */
function plainObject(v: unknown, keys: readonly string[]): v is Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  if (Object.getPrototypeOf(v) !== Object.prototype) return false;
  for (const k in v) {
    if (!Object.hasOwn(v, k) || !keys.includes(k)) return false;
    if ((v as Record<string, unknown>)[k] === undefined) return false;
  }
  return true;
}

function isId(v: unknown): v is string {
  return typeof v === "string" && ID_PATTERN.test(v);
}

function isString(v: unknown): v is string {
  return typeof v === "string";
}
