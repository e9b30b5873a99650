/**
 * What a valid config may still get wrong: settings that are accepted but look like a mistake.
 * `check-config` prints them and `run`/`collect`/`replay` log them at start. Pure, over a config
 * that has passed validation.
 *
 * A customer prefix shorter than /8 (IPv4) or /16 (IPv6) that reaches into unicast space. A /8 is the unit IANA handed out
 * IPv4 space in, to a whole regional registry or the largest legacy holders; an IPv6 /16 is a
 * sixteenth of the /12 IANA gives a whole regional registry and 65 536 times the /32 a registry
 * gives a provider. No customer's access link holds more: a shorter prefix is a typo or a default
 * route (0.0.0.0/0, ::/0). Accepted, since the config is still consistent, but the longest prefix
 * wins, so it attributes to one customer all the traffic of a big part of the Internet that no
 * other customer's prefix holds: the overview's `unattributed` row empties into it and that
 * customer's figures mean nothing.
 */
import { type Prefix, parsePrefix } from "../collector/classify/prefix-table.js";
import type { Config } from "../schema/config.js";
import { formatPath } from "./path.js";

/** The shortest prefix lengths that are not suspicious. */
export const SHORTEST_CUSTOMER_PREFIX = { ipv4: 8, ipv6: 16 } as const;

export interface ConfigWarning {
  /** The config path, `customers[0].sites[0].links[0].prefixes[0]`. */
  path: string;
  reason: string;
}

export function configWarnings(cfg: Config): ConfigWarning[] {
  const out: ConfigWarning[] = [];
  const customers = cfg.customers;
  for (let ci = 0; ci < customers.length; ci++) {
    const { id, sites } = customers[ci]!;
    for (let si = 0; si < sites.length; si++) {
      const links = sites[si]!.links;
      for (let li = 0; li < links.length; li++) {
        const prefixes = links[li]!.prefixes;
        for (let pi = 0; pi < prefixes.length; pi++) {
          const reason = shortPrefixReason(prefixes[pi]!, id);
          if (reason === undefined) continue;
          out.push({
            path: formatPath(["customers", ci, "sites", si, "links", li, "prefixes", pi]),
            reason,
          });
        }
      }
    }
  }
  for (const [k, server] of (cfg.radius?.servers ?? []).entries()) {
    const secret = server.secret;
    if (secret !== undefined && Buffer.byteLength(secret) < RADIUS_SECRET_MIN_BYTES) {
      out.push({
        path: formatPath(["radius", "servers", k, "secret"]),
        reason: `is shorter than ${RADIUS_SECRET_MIN_BYTES} bytes: RFC 2865 asks for at least 16, since the secret hides passwords and signs replies (a short one can be guessed from one captured request)`,
      });
    }
  }
  out.push(...unusedServiceTypes(cfg));
  return out;
}

/**
 * A `serviceTypes[]` entry no configured customer has: a typo of `customers[].serviceType`, or a
 * type set up ahead of its customers. Accepted (its billing applies to whoever gets the type), and
 * not looked at with `registry.source: database`, whose customers are not in the config.
 */
function unusedServiceTypes(cfg: Config): ConfigWarning[] {
  if (cfg.serviceTypes.length === 0 || cfg.registry.source === "database") return [];
  const used = new Set(cfg.customers.map((c) => c.serviceType));
  return cfg.serviceTypes.flatMap((t, k) =>
    used.has(t.id)
      ? []
      : [
          {
            path: formatPath(["serviceTypes", k, "id"]),
            reason: `"${t.id}" is the serviceType of no customer: its billing applies to none (a typo?)`,
          },
        ],
  );
}

/** RFC 2865 §3: the shared secret SHOULD be at least 16 octets. */
export const RADIUS_SECRET_MIN_BYTES = 16;

/** Logs each warning (at start of `run`, `collect`, `replay` ...). */
export function logConfigWarnings(cfg: Config, log: { warn(o: object, msg: string): void }): void {
  for (const w of configWarnings(cfg)) log.warn({ key: w.path }, `config: ${formatWarning(w)}`);
}

/** One line per warning, `path: reason`, as config errors are written. */
export function formatWarning(w: ConfigWarning): string {
  return `${w.path}: ${w.reason}`;
}

/** A prefix at least this long is not short in either family. */
const NEVER_SHORT = Math.max(SHORTEST_CUSTOMER_PREFIX.ipv4, SHORTEST_CUSTOMER_PREFIX.ipv6);

/**
 * Why a validated prefix is suspiciously short, or undefined. Asked of each of the 150 000
 * prefixes of 100 000 customers at every start: most are told apart by their length alone.
 */
function shortPrefixReason(text: string, customer: string): string | undefined {
  const slash = text.indexOf("/");
  if (slash < 0) return undefined; // an address: /32 or /128
  const length = lengthAfter(text, slash);
  if (length >= NEVER_SHORT) return undefined;
  const ipv6 = text.includes(":");
  const shortest = ipv6 ? SHORTEST_CUSTOMER_PREFIX.ipv6 : SHORTEST_CUSTOMER_PREFIX.ipv4;
  if (length >= shortest) return undefined;
  const p = parsePrefix(text);
  if ("error" in p || !coversUnicast(p)) return undefined;
  const family = ipv6 ? "IPv6" : "IPv4";
  const share =
    length === 0 ? `every ${family} address` : `1/${2 ** length} of all ${family} addresses`;
  return (
    `"${text}" is shorter than /${shortest}: it holds ${share}, so the traffic of all of them ` +
    `that no longer prefix matches is attributed to customer "${customer}" (a default route or a typo?)`
  );
}

/** The digits after the slash of a validated prefix (at most 3, no sign), as a number. */
function lengthAfter(text: string, slash: number): number {
  let n = 0;
  for (let i = slash + 1; i < text.length; i++) n = n * 10 + text.charCodeAt(i) - 48;
  return n;
}

/**
 * Whether a prefix reaches into the Internet's unicast space: IPv4 outside 224.0.0.0/3
 * (multicast and the reserved 240/4), IPv6 inside 2000::/3 (global unicast). A short prefix
 * that holds only multicast (224.0.0.0/4, ff00::/8), link-local (fe80::/10) or unique local
 * (fc00::/7) addresses is a deliberate pseudo-customer, as config/demo.yaml's `multicast`.
 */
function coversUnicast(p: Prefix): boolean {
  const first = p.bytes[0]!;
  if (p.length < 3) return true;
  return p.version === 4 ? first < 224 : (first & 0xe0) === 0x20;
}
