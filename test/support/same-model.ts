/**
 * Two customer models compared as classification sees them, whatever their numbering: a model
 * derived version by version (collector/classify/customer-model-update.ts) against one built
 * whole from the same customers (buildCustomerModel), the reference.
 */
import { expect } from "vitest";
import type { CustomerModel } from "../../collector/classify/customer-model.js";
import { formatAddress, parsePrefix } from "../../collector/classify/prefix-table.js";
import { prng } from "./latency-exports.js";

/** Seeded random draws, for the generators of random customer trees and their changes. */
export class Draws {
  readonly rand: () => number;

  constructor(seed: number) {
    this.rand = prng(seed);
  }

  /** An integer from 0 to n - 1. */
  int(n: number): number {
    return Math.floor(this.rand() * n);
  }
}

/** A link named by its ids (`customer/site/link`), or null for no link. */
export function linkName(m: CustomerModel, link: number): string | null {
  if (link < 0) return null;
  const l = m.links.get(link)!;
  return `${l.customer}/${l.site}/${l.link}`;
}

/** The interface map as `router#ifIndex=customer/site/link` texts. */
export function interfaces(m: CustomerModel): string[] {
  return [...m.interfaces].flatMap(([router, byIf]) =>
    [...byIf].map(([ifIndex, link]) => `${router}#${ifIndex}=${linkName(m, link)}`),
  );
}

/**
 * Addresses at, just outside and inside each prefix (IPv4: first, last, the ones before and
 * after, one at random; IPv6: first and last), and 2000 random ones in the IPv4 prefix `within`.
 */
export function probeAddresses(
  prefixes: Iterable<string>,
  rand: () => number,
  within: string,
): string[] {
  const v4 = (a: number) =>
    formatAddress(Uint8Array.of(a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255));
  const netOf = (b: Uint8Array) => ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  const out: string[] = [];
  for (const text of prefixes) {
    const p = parsePrefix(text);
    if ("error" in p) throw new Error(p.error);
    if (p.version === 4) {
      const net = netOf(p.bytes);
      const size = 2 ** (32 - p.length);
      const inside = net + Math.floor(rand() * size);
      for (const a of [net, net + size - 1, net - 1, net + size, inside]) out.push(v4(a >>> 0));
    } else {
      const last = p.bytes.slice();
      for (let bit = p.length; bit < 128; bit++) last[bit >> 3]! |= 0x80 >> (bit & 7);
      out.push(formatAddress(p.bytes), formatAddress(last));
    }
  }
  const w = parsePrefix(within);
  if ("error" in w || w.version !== 4) throw new Error(`${within}: not an IPv4 prefix`);
  const size = 2 ** (32 - w.length);
  for (let k = 0; k < 2000; k++) out.push(v4((netOf(w.bytes) + Math.floor(rand() * size)) >>> 0));
  return out;
}

/** Every customer, link, interface and lookup of `inc` as in `whole`, by name. */
export function expectSameModel(
  inc: CustomerModel,
  whole: CustomerModel,
  addresses: readonly string[],
): void {
  expect(inc.customers.length).toBe(whole.customers.length);
  expect(inc.links.length).toBe(whole.links.length);
  expect(inc.customers.map((c) => c.index)).toEqual(inc.customers.map((_, i) => i));
  expect(inc.links.map((l) => l.index)).toEqual(inc.links.map((_, i) => i));
  const customers = new Map(inc.customers.map((c) => [c.id, c]));
  for (const c of whole.customers) {
    expect({ ...customers.get(c.id), index: 0 }).toEqual({ ...c, index: 0 });
  }
  const links = new Map(inc.links.map((l) => [`${l.customer}/${l.site}/${l.link}`, l]));
  for (const l of whole.links) {
    const mine = links.get(`${l.customer}/${l.site}/${l.link}`);
    expect(mine).toBeDefined();
    expect(mine!.commitRate).toBe(l.commitRate);
    expect(inc.customers.get(mine!.customerIndex)!.id).toBe(l.customer);
  }
  expect(new Set(interfaces(inc))).toEqual(new Set(interfaces(whole)));
  expect(inc.interfaces.size).toBe(whole.interfaces.size);
  const { prefixes4, prefixes6 } = whole.prefixes.stats();
  expect(inc.prefixes.stats()).toMatchObject({ prefixes4, prefixes6 });
  const differ: string[] = [];
  for (const a of addresses) {
    const mine = linkName(inc, inc.prefixes.lookup(a));
    const theirs = linkName(whole, whole.prefixes.lookup(a));
    if (mine !== theirs) differ.push(`${a}: ${mine} vs ${theirs}`);
  }
  expect(differ.slice(0, 5)).toEqual([]);
  expect(inc.classIds).toEqual(whole.classIds);
}
