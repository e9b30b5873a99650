/**
 * The tree rules of config/validate-model.ts (validateCustomers) checked incrementally: an index
 * kept with a valid registry tree (each prefix → the link and position that own it, each router
 * and ifIndex → the link), so that a change set is checked by looking only at the customers it
 * touches, in time proportional to them rather than to the 100 000 customers of the tree.
 *
 * Same rules, same words, same order as validateCustomers on the resulting tree (a differential
 * test feeds both random trees and change sets): first the per-link problems (router and ifIndex
 * together, an interface given twice, a link nothing can match) in tree order, then the prefix
 * problems (not a prefix, given twice naming the first owner in tree order) in tree order and
 * position. Ids are unique among siblings by construction in the registry, so their rule never
 * fires here.
 *
 * Why only the touched customers: the tree before the change set was valid (its index exists
 * only then), so any new problem involves a link of a touched customer; the owner an untouched
 * link holds comes from the index.
 */
import { formatPrefix, parsePrefix } from "../collector/classify/prefix-table.js";
import { recordPath } from "./model.js";

/** What the rules read of a customer (a registry customer, or a config's). */
export interface IndexedCustomer {
  readonly id: string;
  readonly sites: ReadonlyArray<{
    readonly id: string;
    readonly links: ReadonlyArray<{
      readonly id: string;
      readonly prefixes: readonly string[];
      readonly router?: string | undefined;
      readonly ifIndex?: number | undefined;
    }>;
  }>;
}

interface Owner {
  readonly c: string;
  readonly s: string;
  readonly l: string;
}
interface InterfaceOwner extends Owner {
  readonly router: string;
  readonly ifIndex: number;
}
interface PrefixOwner extends Owner {
  readonly pos: number;
  readonly text: string;
}

/** The owners of a valid tree's prefixes and interfaces (exactly one each). */
export interface TreeIndex {
  readonly prefixes: Map<string, PrefixOwner>;
  readonly interfaces: Map<string, InterfaceOwner>;
}

export interface TreeCheck {
  /** `path: reason` lines, as validateCustomers words and orders them; empty when valid. */
  readonly problems: string[];
  /** The index of the resulting tree (valid only): `index` updated in place, or a new one. */
  commit(): TreeIndex;
}

/** Tree order of two links: customers, sites and links are each sorted by id. */
function compareOwners(a: Owner, b: Owner): number {
  if (a.c !== b.c) return a.c < b.c ? -1 : 1;
  if (a.s !== b.s) return a.s < b.s ? -1 : 1;
  if (a.l !== b.l) return a.l < b.l ? -1 : 1;
  return 0;
}

const path = (o: Owner): string => recordPath({ customer: o.c, site: o.s, link: o.l });
const interfaceKey = (router: string, ifIndex: number): string => `${router}|${ifIndex}`;

/**
 * Checks the tree that results from replacing the customers `before` (their versions in the
 * indexed tree; absent: new) with `after` (absent: deleted). With no `index`, `after` is the
 * whole tree and `before` empty: a full check that builds the index.
 */
export function checkTouched(
  index: TreeIndex | undefined,
  before: readonly IndexedCustomer[],
  after: readonly IndexedCustomer[],
): TreeCheck {
  const touched = new Set<string>();
  for (const c of before) touched.add(c.id);
  for (const c of after) touched.add(c.id);
  const linkProblems: Array<{ o: Owner; reason: string }> = [];
  const prefixProblems: Array<{ o: Owner; pos: number; reason: string }> = [];
  // One occurrence per key, an array only when a key repeats (rare): a full check has 300 000.
  const interfaces = new Map<string, InterfaceOwner | InterfaceOwner[]>();
  const prefixes = new Map<string, PrefixOwner | PrefixOwner[]>();
  const sorted = after.slice().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  for (const c of sorted) {
    for (const s of c.sites) {
      for (const l of s.links) {
        const o: Owner = { c: c.id, s: s.id, l: l.id };
        if ((l.router === undefined) !== (l.ifIndex === undefined)) {
          linkProblems.push({ o, reason: "router and ifIndex go together: give both or neither" });
        } else if (l.router !== undefined) {
          const key = interfaceKey(l.router, l.ifIndex!);
          const occurrence = { ...o, router: l.router, ifIndex: l.ifIndex! };
          const have = interfaces.get(key);
          if (have === undefined) interfaces.set(key, occurrence);
          else if (Array.isArray(have)) have.push(occurrence);
          else interfaces.set(key, [have, occurrence]);
        } else if (l.prefixes.length === 0) {
          linkProblems.push({
            o,
            reason: "has no prefixes and no router/ifIndex: nothing can match it",
          });
        }
        const texts = l.prefixes;
        for (let pos = 0; pos < texts.length; pos++) {
          const text = texts[pos]!;
          const p = parsePrefix(text);
          if ("error" in p) {
            prefixProblems.push({ o, pos, reason: `"${text}" is not a prefix: ${p.error}` });
            continue;
          }
          const key = formatPrefix(p);
          const occurrence: PrefixOwner = { ...o, pos, text };
          const have = prefixes.get(key);
          if (have === undefined) prefixes.set(key, occurrence);
          else if (Array.isArray(have)) have.push(occurrence);
          else prefixes.set(key, [have, occurrence]);
        }
      }
    }
  }

  /** The key's occurrences with the untouched owner from the index, in tree order. */
  const group = <T extends Owner>(
    have: T | T[],
    owner: T | undefined,
    order: (a: T, b: T) => number,
  ): T[] | undefined => {
    const all = Array.isArray(have) ? have.slice() : [have];
    if (owner !== undefined && !touched.has(owner.c)) all.push(owner);
    if (all.length < 2) return undefined;
    return all.sort(order);
  };
  for (const [key, have] of interfaces) {
    if (!Array.isArray(have) && index === undefined) continue;
    const all = group(have, index?.interfaces.get(key), compareOwners);
    if (all === undefined) continue;
    const first = all[0]!;
    for (const o of all.slice(1)) {
      linkProblems.push({
        o,
        reason: `router ${o.router} ifIndex ${o.ifIndex} is also ${path(first)}`,
      });
    }
  }
  const byPosition = (a: PrefixOwner, b: PrefixOwner) => compareOwners(a, b) || a.pos - b.pos;
  for (const [key, have] of prefixes) {
    if (!Array.isArray(have) && index === undefined) continue;
    const all = group(have, index?.prefixes.get(key), byPosition);
    if (all === undefined) continue;
    const first = all[0]!;
    for (const o of all.slice(1)) {
      prefixProblems.push({
        o,
        pos: o.pos,
        reason: `"${o.text}" is also given to ${path(first)}.prefixes[${first.pos}]`,
      });
    }
  }

  // A link has at most one of the first kind (the rules are exclusive); sort is stable.
  linkProblems.sort((a, b) => compareOwners(a.o, b.o));
  prefixProblems.sort((a, b) => compareOwners(a.o, b.o) || a.pos - b.pos);
  const problems = [
    ...linkProblems.map((p) => `${path(p.o)}: ${p.reason}`),
    ...prefixProblems.map((p) => `${path(p.o)}.prefixes[${p.pos}]: ${p.reason}`),
  ];

  return {
    problems,
    commit() {
      if (problems.length > 0) throw new Error("an invalid tree has no index");
      const out: TreeIndex = index ?? { prefixes: new Map(), interfaces: new Map() };
      if (index !== undefined) {
        for (const c of before) {
          for (const s of c.sites) {
            for (const l of s.links) {
              if (l.router !== undefined && l.ifIndex !== undefined) {
                const key = interfaceKey(l.router, l.ifIndex);
                const owner = out.interfaces.get(key);
                if (owner?.c === c.id && owner.s === s.id && owner.l === l.id) {
                  out.interfaces.delete(key);
                }
              }
              l.prefixes.forEach((text, pos) => {
                const p = parsePrefix(text);
                if ("error" in p) return;
                const key = formatPrefix(p);
                const owner = out.prefixes.get(key);
                if (
                  owner?.c === c.id &&
                  owner.s === s.id &&
                  owner.l === l.id &&
                  owner.pos === pos
                ) {
                  out.prefixes.delete(key);
                }
              });
            }
          }
        }
      }
      // The resulting tree is valid: every key has the one occurrence gathered above.
      for (const [key, o] of interfaces) out.interfaces.set(key, o as InterfaceOwner);
      for (const [key, o] of prefixes) out.prefixes.set(key, o as PrefixOwner);
      return out;
    },
  };
}

/** A full check of a whole tree (validateCustomers' verdict) and its index when valid. */
export function checkTree(tree: readonly IndexedCustomer[]): TreeCheck {
  return checkTouched(undefined, [], tree);
}
