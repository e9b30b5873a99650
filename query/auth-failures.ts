/**
 * Failed authentications per client, for the API's lockout (docs/api.md#limits): after `limit`
 * failures within `windowMs` of a client's first failure, the client is blocked until that window
 * ends; then it starts afresh. Pure (the caller passes the time) and bounded: at most
 * `maxAddresses` clients are tracked, and a new one takes the place of the one whose window
 * started first (counted), so a flood of distinct addresses costs a fixed amount of memory.
 *
 * Entries are kept in a Map in the order their windows started, so the stale ones are at its
 * head: each failure drops the stale entries it finds there, and eviction takes the head.
 */
import { formatAddress, parseAddress } from "../collector/classify/prefix-table.js";

export interface AuthFailureLimits {
  /** Failures within the window that block a client. */
  limit: number;
  windowMs: number;
  /** Clients tracked at once. */
  maxAddresses: number;
}

export interface AuthFailureTable {
  /** Milliseconds until `client` may try again; 0 when it is not blocked. */
  blockedFor(client: string, nowMs: number): number;
  /** Counts a failure of `client`; true when this failure blocks it. */
  fail(client: string, nowMs: number): boolean;
  /** Clients blocked at `nowMs`. */
  blocked(nowMs: number): number;
  /** Clients tracked (at most `maxAddresses`). */
  readonly size: number;
  /** Clients dropped to make room for another. */
  readonly evictions: number;
}

interface Entry {
  /** The window's start: the client's first failure in it. */
  since: number;
  failures: number;
}

export function createAuthFailureTable(limits: AuthFailureLimits): AuthFailureTable {
  const { limit, windowMs, maxAddresses } = limits;
  const entries = new Map<string, Entry>();
  let evictions = 0;
  const stale = (e: Entry, nowMs: number) => nowMs >= e.since + windowMs;
  const remaining = (e: Entry, nowMs: number) =>
    // A clock that went back never makes a block longer than a window.
    e.failures >= limit && !stale(e, nowMs) ? Math.min(e.since + windowMs - nowMs, windowMs) : 0;

  return {
    blockedFor(client, nowMs) {
      const e = entries.get(client);
      return e === undefined ? 0 : remaining(e, nowMs);
    },
    fail(client, nowMs) {
      for (const [key, e] of entries) {
        if (!stale(e, nowMs)) break;
        entries.delete(key);
      }
      let e = entries.get(client);
      if (e !== undefined && stale(e, nowMs)) {
        entries.delete(client);
        e = undefined;
      }
      if (e === undefined) {
        if (entries.size >= maxAddresses) {
          const oldest = entries.keys().next().value as string;
          entries.delete(oldest);
          evictions += 1;
        }
        e = { since: nowMs, failures: 0 };
        entries.set(client, e);
      }
      e.failures += 1;
      return e.failures === limit;
    },
    blocked(nowMs) {
      let n = 0;
      for (const e of entries.values()) if (remaining(e, nowMs) > 0) n += 1;
      return n;
    },
    get size() {
      return entries.size;
    },
    get evictions() {
      return evictions;
    },
  };
}

/**
 * The client an address is limited as: an IPv4 address (also written IPv4-mapped, as a dual-stack
 * socket reports it) as itself, an IPv6 address by its /64, the block one subscriber or host gets,
 * so that stepping through the addresses of one's own /64 gains nothing. A zone id is ignored.
 */
export function clientKey(address: string | undefined): string {
  if (address === undefined) return "unknown";
  const zone = address.indexOf("%");
  const parsed = parseAddress(zone < 0 ? address : address.slice(0, zone));
  if ("error" in parsed) return address;
  const { bytes } = parsed;
  if (parsed.version === 4) return formatAddress(bytes);
  const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff;
  if (mapped && bytes[11] === 0xff) return formatAddress(bytes.subarray(12));
  const network = new Uint8Array(16);
  network.set(bytes.subarray(0, 8));
  return `${formatAddress(network)}/64`;
}
