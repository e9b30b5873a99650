/**
 * customerSchema's common case without zod: a config of 100 000 customers spent a fifth of its
 * start-up (and 50 MB) in zod's per-object machinery. {@link plainCustomer} returns what
 * `customerSchema.parse(v)` returns (the same keys, in the same order, defaults filled in) when
 * `v` is plainly valid, and undefined for anything else: then zod parses it and says why, so
 * messages come from the schema alone. The same helpers decide (ID_PATTERN, reservedIdProblem,
 * isIP, parseBitRate); customer-fast-path.test.ts checks it against zod on valid and mutated
 * customers, and that it knows every key of the schema.
 */
import { isIP } from "node:net";
import { type CustomerConfig, ID_PATTERN } from "./config.js";
import { reservedIdProblem } from "./reserved-ids.js";
import { parseBitRate } from "./units.js";

/** The keys the fast path knows, by object: the test compares them with the schema's. */
export const FAST_PATH_KEYS = {
  customer: ["id", "name", "serviceType", "motd", "sites"],
  site: ["id", "name", "links"],
  link: ["id", "name", "prefixes", "router", "ifIndex", "commitRate"],
  /** Keys of customerSchema the fast path leaves to zod: a customer with one is parsed by zod. */
  zodOnly: [
    "billing",
    "billing.percentileOf",
    "billing.day",
    "billing.availabilityTarget",
    "billing.credits",
    "billing.credits.availability",
    "billing.credits.availability.below",
    "billing.credits.availability.percent",
    "billing.credits.availability[].below",
    "billing.credits.availability[].percent",
    "billing.credits.serviceLevel",
    "billing.credits.serviceLevel.below",
    "billing.credits.serviceLevel.percent",
    "billing.credits.serviceLevel[].below",
    "billing.credits.serviceLevel[].percent",
    "billing.credits.maxPercent",
    "billing.monthlyFee",
    "billing.currency",
    "billing.bills",
    "billing.bills[].id",
    "billing.bills[].links",
    "billing.bills[].commitRate",
    "portalTemplate",
  ],
} as const;

type Site = CustomerConfig["sites"][number];
type Link = Site["links"][number];

/**
 * Where plainCustomer may take the caller's objects and arrays as the result's, and the commit
 * rates to write into the links it takes (`[link, rate, ...]`), once the whole customer is valid.
 */
interface Reuse {
  rates: unknown[];
}

/**
 * `owned`: the caller gives `v` away, a tree in which each object and array appears once (read
 * from YAML text by config/yaml-fast-path.ts, no aliases): where an object or array of it already
 * has the result's shape (its keys in the schema's order, no default to fill in), it is the
 * result's, so that 100 000 customers are not built twice (30 MB, a tenth of the time). `v` is
 * changed (its commit rates parsed) only when plainly valid. Otherwise the result is all new
 * objects and arrays.
 */
export function plainCustomer(v: unknown, owned = false): CustomerConfig | undefined {
  const reuse: Reuse | undefined = owned ? { rates: [] } : undefined;
  const out = customer(v, reuse);
  const rates = reuse?.rates ?? [];
  if (out !== undefined) {
    for (let k = 0; k < rates.length; k += 2)
      (rates[k] as Link).commitRate = rates[k + 1] as number;
  }
  return out;
}

function customer(v: unknown, reuse: Reuse | undefined): CustomerConfig | undefined {
  const keys = plainKeys(v, FAST_PATH_KEYS.customer);
  if (keys === NOT_PLAIN) return undefined;
  const { id, name, serviceType, motd, sites } = v as Record<string, unknown>;
  if (!isId(id) || reservedIdProblem("customer", id) !== undefined) return undefined;
  if (typeof name !== "string" || name.length === 0) return undefined;
  if (motd !== undefined && (typeof motd !== "string" || motd.length > 4096)) return undefined;
  if (serviceType !== undefined && (typeof serviceType !== "string" || serviceType === "")) {
    return undefined;
  }
  if (!Array.isArray(sites) || sites.length === 0) return undefined;
  const outSites = plainEach(sites, plainSite, reuse);
  if (outSites === undefined) return undefined;
  if (keys === IN_ORDER && serviceType !== undefined && outSites === sites) {
    return v as CustomerConfig;
  }
  return motd === undefined
    ? { id, name, serviceType: serviceType ?? "default", sites: outSites }
    : { id, name, serviceType: serviceType ?? "default", motd, sites: outSites };
}

function plainSite(v: unknown, reuse: Reuse | undefined): Site | undefined {
  const keys = plainKeys(v, FAST_PATH_KEYS.site);
  if (keys === NOT_PLAIN) return undefined;
  const { id, name, links } = v as Record<string, unknown>;
  if (!isId(id) || (name !== undefined && typeof name !== "string")) return undefined;
  if (!Array.isArray(links) || links.length === 0) return undefined;
  const outLinks = plainEach(links, plainLink, reuse);
  if (outLinks === undefined) return undefined;
  if (keys === IN_ORDER && outLinks === links) return v as Site;
  return name === undefined ? { id, links: outLinks } : { id, name, links: outLinks };
}

function plainLink(v: unknown, reuse: Reuse | undefined): Link | undefined {
  const keys = plainKeys(v, FAST_PATH_KEYS.link);
  if (keys === NOT_PLAIN) return undefined;
  const { id, name, prefixes, router, ifIndex, commitRate } = v as Record<string, unknown>;
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
  if (reuse !== undefined && keys === IN_ORDER && prefixes !== undefined) {
    if (rate !== commitRate) reuse.rates.push(v, rate);
    return v as Link;
  }
  // In the schema's key order, as zod builds it (check-config prints it).
  const out = (name === undefined ? { id } : { id, name }) as Link;
  out.prefixes = prefixes === undefined ? [] : prefixes.slice();
  if (router !== undefined) out.router = router as string;
  if (ifIndex !== undefined) out.ifIndex = ifIndex as number;
  if (rate !== undefined) out.commitRate = rate;
  return out;
}

/**
 * `plain` of each item, or undefined if one is not plain. A new array is made at its size (one
 * grown by push holds 17 entries or more: 150 bytes for a customer's one site), unless `reuse`
 * and each item is its own result: then `items` is.
 */
function plainEach<T>(
  items: readonly unknown[],
  plain: (v: unknown, reuse: Reuse | undefined) => T | undefined,
  reuse: Reuse | undefined,
): T[] | undefined {
  let out: T[] | undefined;
  for (let k = 0; k < items.length; k++) {
    const v = plain(items[k], reuse);
    if (v === undefined) return undefined;
    if (out === undefined && (reuse === undefined || v !== items[k])) {
      out = new Array<T>(items.length);
      for (let j = 0; j < k; j++) out[j] = items[j] as T;
    }
    if (out !== undefined) out[k] = v;
  }
  return out ?? (reuse === undefined ? [] : (items as T[]));
}

/** What {@link plainKeys} found. */
const NOT_PLAIN = 0;
const ANY_ORDER = 1;
const IN_ORDER = 2;

/**
 * Whether `v` is a plain object with only these keys, none of them set to undefined (zod's cases
 * then), and whether they come in this order.
 */
function plainKeys(
  v: unknown,
  keys: readonly string[],
): typeof NOT_PLAIN | typeof ANY_ORDER | typeof IN_ORDER {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return NOT_PLAIN;
  if (Object.getPrototypeOf(v) !== Object.prototype) return NOT_PLAIN;
  let order: typeof ANY_ORDER | typeof IN_ORDER = IN_ORDER;
  let last = -1;
  for (const k in v) {
    const at = keys.indexOf(k);
    if (at < 0 || !Object.hasOwn(v, k)) return NOT_PLAIN;
    if ((v as Record<string, unknown>)[k] === undefined) return NOT_PLAIN;
    if (at < last) order = ANY_ORDER;
    last = at;
  }
  return order;
}

function isId(v: unknown): v is string {
  return typeof v === "string" && ID_PATTERN.test(v);
}

function isString(v: unknown): v is string {
  return typeof v === "string";
}
