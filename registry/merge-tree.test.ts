/**
 * mergeTree (change-set.ts): the tree a change set's customers make from the one before, against
 * a plain reference (every customer of the old tree not changed, the changed ones not deleted,
 * sorted by id): random trees and changes that replace, delete and add customers, several added
 * at the same place, few (the binary-search path) and many (the walk).
 */
import { describe, expect, it } from "vitest";
import { prng as random } from "../test/support/latency-exports.js";
import { mergeTree } from "./change-set.js";
import { CustomerList } from "./customer-list.js";
import type { RegistryCustomer } from "./model.js";

const customer = (id: string, revision: number): RegistryCustomer =>
  ({ id, name: id, revision, sites: [] }) as unknown as RegistryCustomer;

describe("mergeTree", () => {
  it("gives the reference tree for random replacements, deletions and additions", () => {
    const next = random(11);
    const below = (n: number) => Math.floor(next() * n);
    // Ids from a small space (three letters of four), so additions meet at the same places.
    const id = () => Array.from({ length: 1 + below(3) }, () => "abcd"[below(4)]).join("");
    for (let round = 0; round < 400; round++) {
      const ids = [...new Set(Array.from({ length: below(60) }, id))].sort();
      const base = ids.map((i) => customer(i, 1));
      const changed = new Map<string, RegistryCustomer | null>();
      const count = round % 4 === 0 ? 70 + below(30) : 1 + below(12);
      for (let k = 0; k < count; k++) {
        const i = id();
        changed.set(i, next() < 0.3 ? null : customer(i, 2 + round));
      }
      const expected = [
        ...base.filter((c) => !changed.has(c.id)),
        ...[...changed.values()].filter((c) => c !== null),
      ].sort((a, b) => (a.id < b.id ? -1 : 1));
      const list = CustomerList.from(base);
      const tree = mergeTree(list, changed).toArray();
      expect(tree, `round ${round}`).toEqual(expected);
      // The same objects, every position set, and the old tree untouched.
      expect(tree.every((c, k) => c === expected[k])).toBe(true);
      expect(Object.keys(tree)).toHaveLength(tree.length);
      expect(base.map((c) => c.id)).toEqual(ids);
      expect(list.toArray()).toEqual(base);
    }
  });
});
