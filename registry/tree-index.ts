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
import { formatPrefix, type Prefix, parsePrefix } from "../collector/classify/prefix-table.js";
import { runSteps, type Steps } from "../collector/classify/steps.js";
import type { CustomerTree } from "../config/validate-model.js";
import { recordPath } from "./model.js";

/** What the rules read of a customer (a registry customer, or a config's). */
export type IndexedCustomer = CustomerTree[number];

/** A link where the index and the check find it: its ids and what the rules read of it. */
interface Owner {
  readonly c: string;
  readonly s: string;
  readonly l: string;
  readonly prefixes: readonly string[];
  readonly router?: string | undefined;
  readonly ifIndex?: number | undefined;
}
/** One occurrence of a key when it has several (a problem to report). */
interface Occurrence {
  readonly o: Owner;
  readonly pos: number;
}

/**
 * The owners of a valid tree's prefixes (by canonical text) and interfaces (`router|ifIndex`),
 * exactly one each. One small object per link, shared by its keys: 100 000 customers make
 * 300 000 keys.
 */
export interface TreeIndex {
  readonly prefixes: Map<PrefixKey, Owner>;
  readonly interfaces: Map<string, Owner>;
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
 * A prefix's key: equal for equal prefixes however written. An IPv4 prefix is a number (its
 * address and length: no text to build and hash for most of 300 000 prefixes), an IPv6 prefix
 * its canonical text.
 */
function keyOf(p: Prefix): PrefixKey {
  if (p.version === 6) return formatPrefix(p);
  const b = p.bytes;
  return (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) * 64 + p.length;
}
type PrefixKey = string | number;

/** The key of a prefix's text, or undefined when it does not parse. */
function prefixKey(text: string): PrefixKey | undefined {
  const p = parsePrefix(text);
  return "error" in p ? undefined : keyOf(p);
}

/** Where a link first gives the prefix `key` (the owner's position: the first one). */
function firstPosition(o: Owner, key: PrefixKey): number {
  return o.prefixes.findIndex((t) => prefixKey(t) === key);
}

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
  return runSteps(checkTouchedSteps(index, before, after));
}

/** Customers gathered in one step of {@link checkTouchedSteps} (~2 ms). */
const CUSTOMERS_PER_STEP = 2000;

/** {@link checkTouched} in steps: a full check can be made in slices (prepareIndexSteps). */
export function* checkTouchedSteps(
  index: TreeIndex | undefined,
  before: readonly IndexedCustomer[],
  after: readonly IndexedCustomer[],
): Steps<TreeCheck> {
  const touched = new Set<string>();
  if (index !== undefined) {
    for (const c of before) touched.add(c.id);
    for (const c of after) touched.add(c.id);
  }
  const linkProblems: Array<{ o: Owner; reason: string }> = [];
  const prefixProblems: Array<{ o: Owner; pos: number; reason: string }> = [];
  // The first owner of each key; the other occurrences of a repeated key (rare) beside it.
  const interfaces = new Map<string, Owner>();
  const prefixes = new Map<PrefixKey, Owner>();
  const repeatedInterfaces = new Map<string, Owner[]>();
  const repeatedPrefixes = new Map<PrefixKey, Occurrence[]>();
  const sorted = after.slice().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  for (let k = 0; k < sorted.length; k++) {
    if (k % CUSTOMERS_PER_STEP === CUSTOMERS_PER_STEP - 1) yield;
    const c = sorted[k]!;
    for (const s of c.sites) {
      for (const l of s.links) {
        const o: Owner = {
          c: c.id,
          s: s.id,
          l: l.id,
          prefixes: l.prefixes,
          router: l.router,
          ifIndex: l.ifIndex,
        };
        if ((l.router === undefined) !== (l.ifIndex === undefined)) {
          linkProblems.push({ o, reason: "router and ifIndex go together: give both or neither" });
        } else if (l.router !== undefined) {
          const key = interfaceKey(l.router, l.ifIndex!);
          const have = interfaces.get(key);
          if (have === undefined) interfaces.set(key, o);
          else {
            const more = repeatedInterfaces.get(key);
            if (more === undefined) repeatedInterfaces.set(key, [have, o]);
            else more.push(o);
          }
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
          const key = keyOf(p);
          const have = prefixes.get(key);
          if (have === undefined) prefixes.set(key, o);
          else {
            const more = repeatedPrefixes.get(key);
            if (more === undefined) {
              repeatedPrefixes.set(key, [
                { o: have, pos: firstPosition(have, key) },
                { o, pos },
              ]);
            } else more.push({ o, pos });
          }
        }
      }
    }
  }

  /** The untouched owner the index holds for a key, if any. */
  const untouched = (owner: Owner | undefined): Owner | undefined =>
    owner !== undefined && !touched.has(owner.c) ? owner : undefined;
  const groups: Array<[string, Owner[]]> = [...repeatedInterfaces];
  if (index !== undefined) {
    for (const [key, o] of interfaces) {
      const owner = untouched(index.interfaces.get(key));
      if (owner === undefined) continue;
      const more = repeatedInterfaces.get(key);
      if (more === undefined) groups.push([key, [o, owner]]);
      else more.push(owner);
    }
  }
  for (const [, all] of groups) {
    all.sort(compareOwners);
    const first = all[0]!;
    for (const o of all.slice(1)) {
      linkProblems.push({
        o,
        reason: `router ${o.router} ifIndex ${o.ifIndex} is also ${path(first)}`,
      });
    }
  }
  const prefixGroups: Occurrence[][] = [...repeatedPrefixes.values()];
  if (index !== undefined) {
    for (const [key, o] of prefixes) {
      const owner = untouched(index.prefixes.get(key));
      if (owner === undefined) continue;
      const ownerAt = { o: owner, pos: firstPosition(owner, key) };
      const more = repeatedPrefixes.get(key);
      if (more === undefined) prefixGroups.push([{ o, pos: firstPosition(o, key) }, ownerAt]);
      else more.push(ownerAt);
    }
  }
  for (const all of prefixGroups) {
    all.sort((a, b) => compareOwners(a.o, b.o) || a.pos - b.pos);
    const first = all[0]!;
    for (const { o, pos } of all.slice(1)) {
      prefixProblems.push({
        o,
        pos,
        reason: `"${o.prefixes[pos]}" is also given to ${path(first.o)}.prefixes[${first.pos}]`,
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
      // The resulting tree is valid: every key has the one owner gathered above.
      if (index === undefined) return { prefixes, interfaces };
      const mine = (o: Owner | undefined, c: string, s: string, l: string) =>
        o !== undefined && o.c === c && o.s === s && o.l === l;
      for (const c of before) {
        for (const s of c.sites) {
          for (const l of s.links) {
            if (l.router !== undefined && l.ifIndex !== undefined) {
              const key = interfaceKey(l.router, l.ifIndex);
              if (mine(index.interfaces.get(key), c.id, s.id, l.id)) index.interfaces.delete(key);
            }
            for (const text of l.prefixes) {
              const key = prefixKey(text);
              if (key !== undefined && mine(index.prefixes.get(key), c.id, s.id, l.id)) {
                index.prefixes.delete(key);
              }
            }
          }
        }
      }
      for (const [key, o] of interfaces) index.interfaces.set(key, o);
      for (const [key, o] of prefixes) index.prefixes.set(key, o);
      return index;
    },
  };
}

/** A full check of a whole tree (validateCustomers' verdict) and its index when valid. */
export function checkTree(tree: readonly IndexedCustomer[]): TreeCheck {
  return checkTouched(undefined, [], tree);
}

/** {@link checkTree} in steps. */
export function checkTreeSteps(tree: readonly IndexedCustomer[]): Steps<TreeCheck> {
  return checkTouchedSteps(undefined, [], tree);
}
