/**
 * CustomerList (customer-list.ts) against a plain sorted array, the reference: random adds,
 * replaces and removes (few per version: the chunk edits; many: the rebuild), enough of them for
 * chunks to split and to join; every query compared after each version, every older version
 * checked untouched after newer ones are made, and a write group's in-place edits on its own list.
 */
import { describe, expect, it } from "vitest";
import { prng as random } from "../test/support/latency-exports.js";
import { CustomerList } from "./customer-list.js";
import type { RegistryCustomer } from "./model.js";

const customer = (id: string, revision: number): RegistryCustomer =>
  ({ id, name: id, revision, sites: [] }) as unknown as RegistryCustomer;

/** The reference: `base` with `changes` applied, sorted by id. */
function reference(
  base: readonly RegistryCustomer[],
  changes: ReadonlyMap<string, RegistryCustomer | null>,
): RegistryCustomer[] {
  return [
    ...base.filter((c) => !changes.has(c.id)),
    ...[...changes.values()].filter((c) => c !== null),
  ].sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** The reference of `changesTo`: customers of `a` and `b` (sorted) that are not the same object. */
function differences(
  a: readonly RegistryCustomer[],
  b: readonly RegistryCustomer[],
): Array<[string, RegistryCustomer | undefined, RegistryCustomer | undefined]> {
  const before = new Map(a.map((c) => [c.id, c]));
  const after = new Map(b.map((c) => [c.id, c]));
  return [...new Set([...before.keys(), ...after.keys()])]
    .sort()
    .filter((id) => before.get(id) !== after.get(id))
    .map((id) => [id, before.get(id), after.get(id)]);
}

/** What `changesTo` yields, the pauses counted apart. */
function walk(a: CustomerList, b: CustomerList, every?: number) {
  const got: Array<[string, RegistryCustomer | undefined, RegistryCustomer | undefined]> = [];
  let pauses = 0;
  for (const d of a.changesTo(b, every)) {
    if (d === undefined) pauses++;
    else got.push([(d[0] ?? d[1])!.id, d[0], d[1]]);
  }
  return { got, pauses };
}

/** Every query of `list` compared with the sorted array `want` (same objects). */
function expectSame(list: CustomerList, want: readonly RegistryCustomer[], probes: string[]) {
  expect(list.length).toBe(want.length);
  const all = list.toArray();
  expect(all.length).toBe(want.length);
  expect(all.every((c, k) => c === want[k])).toBe(true);
  expect([...list].every((c, k) => c === want[k])).toBe(true);
  for (const k of [0, 1, want.length >> 1, want.length - 1, want.length, -1]) {
    expect(list.at(k)).toBe(want[k]);
  }
  for (let k = 0; k < 20 && want.length > 0; k++) {
    const i = (k * 7919) % want.length;
    expect(list.at(i)).toBe(want[i]);
  }
  for (const id of probes) {
    const at = want.findIndex((c) => c.id === id);
    expect(list.positionOf(id)).toBe(at);
    expect(list.get(id)).toBe(at < 0 ? undefined : want[at]);
    const point = want.findIndex((c) => c.id >= id);
    expect(list.insertionPoint(id)).toBe(point < 0 ? want.length : point);
  }
  const n = want.length;
  for (const [from, to] of [
    [0, n],
    [0, 3],
    [n - 5, n + 3],
    [n >> 2, (n >> 2) + 2500],
    [-10, undefined],
    [7, 3],
  ] as const) {
    const got = list.slice(from, to);
    const expected = want.slice(from, to);
    expect(got.length).toBe(expected.length);
    expect(got.every((c, k) => c === expected[k])).toBe(true);
  }
}

/** The sizes of the list's chunks (its private layout, read to see the test reach splits and joins). */
function chunkSizes(list: CustomerList): number[] {
  return (list as unknown as { chunks: unknown[][] }).chunks.map((c) => c.length);
}

describe("CustomerList", () => {
  it("answers as a sorted array through random versions, older versions untouched", () => {
    const next = random(7);
    const below = (n: number) => Math.floor(next() * n);
    // Ids drawn from the whole space, or (while the list grows) from its first fifth, so that
    // the chunks there fill up and split.
    let space = 100_000;
    const id = () => `c${below(space).toString().padStart(6, "0")}`;
    const start = [...new Set(Array.from({ length: 5000 }, id))].sort().map((i) => customer(i, 1));
    let list = CustomerList.from(start);
    let want = start;
    // Versions kept with what they held when made, checked again at the end.
    const kept: Array<{ list: CustomerList; want: RegistryCustomer[] }> = [];
    let splits = false;
    let joins = false;
    for (let round = 0; round < 300; round++) {
      const changes = new Map<string, RegistryCustomer | null>();
      // Mostly a few changes; now and then many (the rebuild); phases that grow then shrink the
      // list, so that chunks split and join.
      const count = round === 150 || round === 270 ? 600 + below(400) : 1 + below(60);
      const growing = Math.floor(round / 60) % 2 === 0;
      const removeShare = growing ? 0.1 : 0.9;
      space = growing ? 20_000 : 100_000;
      for (let k = 0; k < count; k++) {
        // Existing ids too (while it shrinks, mostly from the list's start: chunks there empty).
        const existing = Math.min(want.length, growing ? want.length : 500);
        const i = next() < (growing ? 0.2 : 0.9) && existing > 0 ? want[below(existing)]!.id : id();
        changes.set(i, next() < removeShare ? null : customer(i, 2 + round));
      }
      const expected = reference(want, changes);
      const made = list.with(changes);
      expectSame(made, expected, [...changes.keys(), "", "c", "d", id()]);
      // What changed from the version before, found by the walk that skips shared chunks.
      const walked = walk(list, made);
      expect(walked.got).toEqual(differences(want, expected));
      // The version it came from is unchanged.
      expect(list.toArray().every((c, k) => c === want[k])).toBe(true);
      if (round % 10 === 0) kept.push({ list, want });
      const sizes = chunkSizes(made);
      const before = chunkSizes(list).length;
      splits ||= sizes.length > before && changes.size < 100;
      expect(Math.max(...sizes, 0)).toBeLessThanOrEqual(2048);
      joins ||= sizes.length < before && changes.size < 100;
      list = made;
      want = expected;
    }
    for (const k of kept) {
      expectSame(k.list, k.want, [k.want[0]?.id ?? "x"]);
      // Across many versions (splits and joins in between), both ways, and against a list built
      // afresh (no chunk shared: every customer compared, pauses included).
      expect(walk(k.list, list).got).toEqual(differences(k.want, want));
      expect(walk(list, k.list).got).toEqual(differences(want, k.want));
      const fresh = walk(CustomerList.from(k.want), k.list, 100);
      expect(fresh.got).toEqual([]);
      expect(fresh.pauses).toBe(Math.floor(k.want.length / 100));
    }
    // The rounds did reach the chunk edits' corners: a version of a few changes with more chunks
    // than the one before (a split), and one with fewer (a chunk emptied or joined).
    expect(splits).toBe(true);
    expect(joins).toBe(true);
  });

  it("changes a list it owns in place, copying only what it shares", () => {
    const next = random(23);
    const below = (n: number) => Math.floor(next() * n);
    const id = () => `k${below(30_000).toString().padStart(5, "0")}`;
    const start = [...new Set(Array.from({ length: 9000 }, id))].sort().map((i) => customer(i, 1));
    const published = CustomerList.from(start);
    for (let group = 0; group < 20; group++) {
      // A write group: the first change set makes a new list, the next ones change it in place.
      const i = id();
      const first = new Map<string, RegistryCustomer | null>([[i, customer(i, 2)]]);
      const owned = published.with(first);
      let want = reference(start, first);
      for (let set = 0; set < 30; set++) {
        const changes = new Map<string, RegistryCustomer | null>();
        // Now and then more than the chunk edits take (the in-place rebuild).
        const count = set === 29 ? 1200 : 1 + below(60);
        for (let k = 0; k < count; k++) {
          const i = next() < 0.5 && want.length > 0 ? want[below(want.length)]!.id : id();
          changes.set(i, next() < 0.45 ? null : customer(i, 3 + set));
        }
        owned.changeInPlace(changes);
        want = reference(want, changes);
        expectSame(owned, want, [...changes.keys()].slice(0, 50));
        // The list it was made from, which readers hold, never changes.
        expect(published.toArray().every((c, k) => c === start[k])).toBe(true);
      }
    }
  });

  it("walks two versions in what they do not share, not every customer", () => {
    const all = Array.from({ length: 50_000 }, (_, k) => customer(`c${100_000 + 2 * k}`, 1));
    const list = CustomerList.from(all);
    const one = customer("c120000", 2);
    const added = customer("c130001", 2);
    const next = list.with(
      new Map([
        [one.id, one],
        [added.id, added],
        ["c140000", null],
      ]),
    );
    const walked = walk(list, next, 1);
    expect(walked.got).toEqual(differences(all, next.toArray()));
    expect(walked.got.map(([id]) => id)).toEqual(["c120000", "c130001", "c140000"]);
    // Every compare paused (every = 1): three chunks of at most 2 × 1 024 customers each, not the
    // 50 000 of the lists.
    expect(walked.pauses).toBeLessThanOrEqual(3 * 2 * 1024 + 1);
    expect(walked.pauses).toBeGreaterThan(0);
  });

  it("starts empty, grows from nothing, and refuses to change the shared empty list", () => {
    expect(CustomerList.EMPTY.length).toBe(0);
    expect([...CustomerList.EMPTY]).toEqual([]);
    expect(CustomerList.EMPTY.get("a")).toBeUndefined();
    expect(CustomerList.EMPTY.insertionPoint("a")).toBe(0);
    const a = customer("a", 1);
    const b = customer("b", 1);
    const one = CustomerList.EMPTY.with(new Map([["b", b]]));
    const two = one.with(new Map([["a", a]]));
    expect(two.toArray()).toEqual([a, b]);
    expect(one.toArray()).toEqual([b]);
    expect(
      two.with(
        new Map([
          ["a", null],
          ["b", null],
        ]),
      ).length,
    ).toBe(0);
    expect(() => CustomerList.EMPTY.changeInPlace(new Map([["a", a]]))).toThrow();
    // As JSON (the API's tree), the array it stands for.
    expect(JSON.stringify({ customers: two })).toBe(JSON.stringify({ customers: [a, b] }));
    expect(JSON.stringify(CustomerList.EMPTY)).toBe("[]");
    expect(CustomerList.EMPTY.length).toBe(0);
  });
});
