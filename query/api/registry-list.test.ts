/**
 * The list index's patched orders against orders sorted afresh: after versions that add, change
 * and delete rows, every kept order (sorted by any column, filtered or not) equals the one a new
 * sort of the version's rows gives, and pages walk it in order.
 */
import { describe, expect, it } from "vitest";
import {
  createListIndex,
  filterAndSort,
  type ListRequest,
  type ListRow,
  listPage,
} from "./registry-list.js";

/** A deterministic generator (no clock, no Math.random). */
function rng(seed: number) {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

describe("createListIndex", () => {
  it("patches its sorted orders across versions to what a fresh sort gives", () => {
    const next = rng(7);
    const row = (id: string): ListRow => ({
      id,
      name: `N${Math.floor(next() * 50)}`,
      serviceType: next() < 0.5 ? "home" : "business",
      siteCount: Math.floor(next() * 4),
      ...(next() < 0.3 ? {} : { email: `e${Math.floor(next() * 9)}` }),
    });
    let rows = Array.from({ length: 400 }, (_, k) => row(`c${String(k).padStart(4, "0")}`));
    const index = createListIndex();
    const requests: ListRequest[] = [
      { sort: "id", order: "asc", limit: 50 },
      { sort: "name", order: "asc", limit: 50 },
      { sort: "siteCount", order: "desc", limit: 50 },
      { sort: "email", order: "asc", limit: 50 },
      { sort: "name", order: "asc", limit: 50, serviceType: "home" },
      { sort: "id", order: "asc", limit: 50, q: "n1" },
    ];
    for (let version = 1; version <= 30; version++) {
      for (const r of requests) {
        const kept = index.sorted(version, () => rows, r);
        const fresh = filterAndSort(rows, r);
        expect(kept, `v${version} ${JSON.stringify(r)}`).toEqual(fresh);
        // The version's own row objects, not equal-looking ones of an older version.
        expect(
          kept.every((row, k) => row === fresh[k]),
          `v${version} ${JSON.stringify(r)}: rows of another version`,
        ).toBe(true);
      }
      // The next version: a few rows changed (new objects), deleted and added.
      const removed = new Set<ListRow>();
      const added: ListRow[] = [];
      const out = rows.filter((r) => {
        const p = next();
        if (p < 0.02) {
          removed.add(r);
          return false;
        }
        return true;
      });
      for (let k = 0; k < out.length; k++) {
        const p = next();
        if (p < 0.02) {
          removed.add(out[k]!);
          out[k] = row(out[k]!.id);
          added.push(out[k]!);
        } else if (p < 0.06) {
          // An edit of one field (as a PATCH of a description): most sort values stay.
          removed.add(out[k]!);
          out[k] = { ...out[k]!, [next() < 0.5 ? "email" : "serviceType"]: `x${version}` };
          added.push(out[k]!);
        }
      }
      for (let k = 0; k < 5; k++) {
        const r = row(`d${version}-${k}`);
        out.push(r);
        added.push(r);
      }
      out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      index.advance(version, version + 1, removed, added);
      rows = out;
    }
  });

  it("walks pages of a sort with ties and missing values once each, either order", () => {
    const rows: ListRow[] = Array.from({ length: 23 }, (_, k) => ({
      id: `c${String(k).padStart(2, "0")}`,
      ...(k % 4 === 0 ? {} : { name: `n${k % 3}` }),
    }));
    for (const order of ["asc", "desc"] as const) {
      const r: ListRequest = { sort: "name", order, limit: 4 };
      const sorted = filterAndSort(rows, r);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page = listPage(sorted, { ...r, ...(cursor === null ? {} : { cursor }) });
        seen.push(...page.items.map((i) => String(i.id)));
        cursor = page.next;
      } while (cursor !== null);
      const expected = sorted.map((x) => x.id);
      expect(seen).toEqual(order === "asc" ? expected : [...expected].reverse());
    }
  });
});
