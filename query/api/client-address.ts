/**
 * The client a request comes from, as the rate limits and the audit log name it: the socket's
 * peer address, or, when that peer is one of api.trustedProxies (a TLS-terminating proxy in
 * front), the address that proxy put last in `X-Forwarded-For` — walking the header from the
 * right past any further trusted proxies, so that a client cannot choose its address by
 * sending the header itself. Then as `clientKey` makes it (IPv6 by its /64).
 */
import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";
import { formatAddress, parseAddress } from "../../collector/classify/prefix-table.js";
import { clientKey } from "../auth-failures.js";

/** An address written one way (IPv4-mapped IPv6 as IPv4, IPv6 compressed), or undefined. */
export function canonicalAddress(text: string): string | undefined {
  const s = text.trim();
  if (isIP(s) === 0) return undefined;
  const parsed = parseAddress(s);
  if ("error" in parsed) return undefined;
  const b = parsed.bytes;
  if (
    b.length === 16 &&
    b.subarray(0, 10).every((x) => x === 0) &&
    b[10] === 0xff &&
    b[11] === 0xff
  ) {
    return formatAddress(b.subarray(12));
  }
  return formatAddress(b);
}

export type ClientOf = (incoming: IncomingMessage | undefined) => string;

export function createClientOf(trustedProxies: readonly string[]): ClientOf {
  const trusted = new Set(trustedProxies.map((a) => canonicalAddress(a) ?? a));
  return (incoming) => {
    const peer = incoming?.socket.remoteAddress;
    if (peer === undefined || trusted.size === 0) return clientKey(peer);
    const peerAddress = canonicalAddress(peer);
    if (peerAddress === undefined || !trusted.has(peerAddress)) return clientKey(peer);
    const header = incoming?.headers["x-forwarded-for"];
    const hops = (Array.isArray(header) ? header.join(",") : (header ?? "")).split(",").reverse();
    for (const hop of hops) {
      const a = canonicalAddress(hop);
      if (a === undefined) break; // a hop the proxy did not write: stop at the last good one
      if (!trusted.has(a)) return clientKey(a);
    }
    return clientKey(peer);
  };
}
