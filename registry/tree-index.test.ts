/**
 * The incremental check (tree-index.ts, as applyChangeSet runs it) against the config's own
 * whole-tree rules (validateCustomers): random change sets over random trees, drawn from small
 * pools of ids, prefixes and interfaces so that conflicts, bad prefixes and equal prefixes
 * written differently come often. The tree each change set should produce is built here by a
 * plain reference model, independently of the core; validateCustomers on it gives the expected
 * verdict and messages.
 */
import { describe, expect, it } from "vitest";
import { validateCustomers } from "../config/validate-model.js";
import { isFlowtallyError } from "../schema/errors.js";
import {
  applyChangeSet,
  hasIndex,
  idRecordPath,
  prepareIndex,
  prepareIndexSteps,
} from "./change-set.js";
import { CustomerList } from "./customer-list.js";
import { type ChangeInput, EMPTY_SNAPSHOT, type RegistrySnapshot } from "./model.js";
import { checkTree } from "./tree-index.js";

/** mulberry32: a small seeded generator, so a failure replays. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Ids whose order differs between per-component and concatenated comparison ("a" < "a-b" < "a.b").
const CUSTOMERS = ["a", "a-b", "a.b", "A", "b", "a_1", "c9", "z"];
const SITES = ["s1", "s2", "S", "s-1"];
const LINKS = ["l1", "l2", "L-3", "l"];
const PREFIXES = [
  "192.0.2.0/28",
  "192.0.2.16/28",
  "192.0.2.0/24",
  "10.0.0.1/24", // host bits
  "2001:db8::/32",
  "2001:DB8:0::/32", // the same prefix written differently
  "2001:db8:1::/48",
  "nope",
  "198.51.100.7",
  "198.51.100.7/32", // the same as the bare address
];
const ROUTERS = ["198.51.100.1", "198.51.100.2"];

interface RefLink {
  id: string;
  prefixes: string[];
  router?: string;
  ifIndex?: number;
}
interface RefSite {
  id: string;
  links: RefLink[];
}
interface RefCustomer {
  id: string;
  sites: RefSite[];
}

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function linkFields(rnd: () => number): Omit<RefLink, "id"> {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const prefixes: string[] = [];
  const n = Math.floor(rnd() * 3);
  for (let k = 0; k < n; k++) prefixes.push(pick(PREFIXES));
  const out: Omit<RefLink, "id"> = { prefixes };
  const r = rnd();
  if (r < 0.3) {
    out.router = pick(ROUTERS);
    out.ifIndex = 1 + Math.floor(rnd() * 3);
  } else if (r < 0.35) out.router = pick(ROUTERS);
  else if (r < 0.4) out.ifIndex = 1;
  return out;
}

/** A change set of 1-4 operations valid in shape for `tree`, applied to `tree` as it is drawn. */
function drawChangeSet(rnd: () => number, tree: RefCustomer[]): ChangeInput[] {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const ops: ChangeInput[] = [];
  const count = 1 + Math.floor(rnd() * 4);
  for (let k = 0; k < count; k++) {
    const r = rnd();
    const customer = pick(CUSTOMERS);
    const c = tree.find((x) => x.id === customer);
    if (c === undefined) {
      // A new customer with a site and a link.
      const site = pick(SITES);
      const link = pick(LINKS);
      const fields = linkFields(rnd);
      ops.push(
        { op: "add", customer, record: { name: customer } },
        { op: "add", customer, site, record: {} },
        { op: "add", customer, site, link, record: { ...fields } },
      );
      tree.push({ id: customer, sites: [{ id: site, links: [{ id: link, ...fields }] }] });
      tree.sort(byId);
      continue;
    }
    if (r < 0.08) {
      ops.push({ op: "delete", customer });
      tree.splice(tree.indexOf(c), 1);
      continue;
    }
    if (r < 0.15) {
      ops.push({ op: "update", customer, set: { name: `${customer}!` } });
      continue;
    }
    const siteId = pick(SITES);
    const s = c.sites.find((x) => x.id === siteId);
    if (s === undefined) {
      ops.push({ op: "add", customer, site: siteId, record: {} });
      c.sites.push({ id: siteId, links: [] });
      c.sites.sort(byId);
      continue;
    }
    if (r < 0.2) {
      ops.push({ op: "delete", customer, site: siteId });
      c.sites.splice(c.sites.indexOf(s), 1);
      continue;
    }
    const linkId = pick(LINKS);
    const l = s.links.find((x) => x.id === linkId);
    const fields = linkFields(rnd);
    if (l === undefined) {
      ops.push({ op: "add", customer, site: siteId, link: linkId, record: { ...fields } });
      s.links.push({ id: linkId, ...fields });
      s.links.sort(byId);
    } else if (r < 0.35) {
      ops.push({ op: "delete", customer, site: siteId, link: linkId });
      s.links.splice(s.links.indexOf(l), 1);
    } else {
      // Every field given: null removes router/ifIndex when the new fields have none.
      ops.push({
        op: "update",
        customer,
        site: siteId,
        link: linkId,
        set: {
          prefixes: fields.prefixes,
          router: fields.router ?? null,
          ifIndex: fields.ifIndex ?? null,
        },
      });
      s.links[s.links.indexOf(l)] = { id: linkId, ...fields };
    }
  }
  return ops;
}

/** The snapshot's tree reduced to what the rules read, to compare with the reference model. */
function shape(snapshot: RegistrySnapshot): RefCustomer[] {
  return snapshot.customers.toArray().map((c) => ({
    id: c.id,
    sites: c.sites.map((s) => ({
      id: s.id,
      links: s.links.map((l) => ({
        id: l.id,
        prefixes: [...l.prefixes],
        ...(l.router === undefined ? {} : { router: l.router }),
        ...(l.ifIndex === undefined ? {} : { ifIndex: l.ifIndex }),
      })),
    })),
  }));
}

function outcome(snapshot: RegistrySnapshot, changes: ChangeInput[], dryRun = false) {
  try {
    return {
      snapshot: applyChangeSet(snapshot, changes, { actor: "t", atMs: 0, commit: !dryRun })
        .snapshot,
    };
  } catch (e) {
    if (isFlowtallyError(e) && e.code === "FT_REGISTRY_INVALID") {
      return {
        problems: e.message
          .split("\n")
          .slice(1)
          .map((l) => l.trim()),
      };
    }
    throw e;
  }
}

describe("incremental tree check", () => {
  it("gives validateCustomers' verdict and messages on random change sets over random trees", () => {
    let refused = 0;
    let accepted = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const rnd = random(seed);
      let snapshot: RegistrySnapshot = EMPTY_SNAPSHOT;
      let tree: RefCustomer[] = [];
      for (let step = 0; step < 150; step++) {
        const next: RefCustomer[] = structuredClone(tree);
        const changes = drawChangeSet(rnd, next);
        const expected = validateCustomers(next, idRecordPath(next as never));
        const where = `seed ${seed} step ${step}: ${JSON.stringify(changes)}`;
        // A dry run first (the snapshot keeps its index), then the change set itself.
        const dry = outcome(snapshot, changes, true);
        const got = outcome(snapshot, changes);
        // The same change set on a copy of the snapshot, which has no index: the full check.
        const full = outcome(
          { version: snapshot.version, customers: CustomerList.from(snapshot.customers.toArray()) },
          changes,
          true,
        );
        if (expected.length > 0) {
          refused++;
          expect(got.problems, where).toEqual(expected);
          expect(dry.problems, where).toEqual(expected);
          expect(full.problems, where).toEqual(expected);
          continue;
        }
        accepted++;
        expect(got.problems, where).toBeUndefined();
        expect(dry.problems, where).toBeUndefined();
        expect(full.problems, where).toBeUndefined();
        expect(shape(got.snapshot!), where).toEqual(next);
        snapshot = got.snapshot!;
        tree = next;
      }
      // The tree reached is valid by both checks.
      const final = snapshot.customers.toArray();
      expect(checkTree(final).problems).toEqual([]);
      expect(validateCustomers(final, idRecordPath(final))).toEqual([]);
    }
    // Both verdicts came often enough for the comparison to mean something.
    expect(refused).toBeGreaterThan(500);
    expect(accepted).toBeGreaterThan(500);
    // 6 000 steps, each validated whole as well: 25-35 s on a machine busy with
    // other work; a limit for a hang, not a speed assertion.
  }, 120_000);

  it("checks a tree loaded elsewhere in full (prepareIndex), and keeps the old snapshot usable after a change", () => {
    const first = applyChangeSet(
      EMPTY_SNAPSHOT,
      [
        { op: "add", customer: "zz", record: { name: "Z" } },
        { op: "add", customer: "zz", site: "s", record: {} },
        { op: "add", customer: "zz", site: "s", link: "l", record: { prefixes: ["192.0.2.0/24"] } },
      ],
      { actor: "t", atMs: 0 },
    ).snapshot;
    // A copy as a store would load it: no index until prepareIndex.
    const loaded = {
      version: first.version,
      customers: CustomerList.from(structuredClone(first.customers.toArray())),
    };
    prepareIndex(loaded);
    const take: ChangeInput[] = [
      { op: "add", customer: "aa", record: { name: "A" } },
      { op: "add", customer: "aa", site: "s", record: {} },
      { op: "add", customer: "aa", site: "s", link: "l", record: { prefixes: ["192.0.2.0/24"] } },
    ];
    // The untouched owner "zz" comes after "aa" in tree order: it is the one named as the repeat.
    expect(outcome(loaded, take).problems).toEqual([
      'customers/zz/sites/s/links/l.prefixes[0]: "192.0.2.0/24" is also given to customers/aa/sites/s/links/l.prefixes[0]',
    ]);
    expect(hasIndex(loaded)).toBe(true);
    // A preview (the API's dry run) leaves the index with the snapshot it was made on.
    const preview = outcome(loaded, [{ op: "delete", customer: "zz" }, ...take], true);
    expect(preview.problems).toBeUndefined();
    expect([hasIndex(loaded), hasIndex(preview.snapshot!)]).toEqual([true, false]);
    const moved = outcome(loaded, [{ op: "delete", customer: "zz" }, ...take]);
    expect(moved.problems).toBeUndefined();
    expect([hasIndex(loaded), hasIndex(moved.snapshot!)]).toEqual([false, true]);
    // The old snapshot, whose index moved on, is checked on its own tree still.
    expect(outcome(loaded, take).problems).toHaveLength(1);
    expect(outcome(moved.snapshot!, [{ op: "delete", customer: "aa" }]).problems).toBeUndefined();
  });

  it("makes a loaded tree's index in steps before any change set (prepareIndexSteps); a change set that comes first finishes it", () => {
    // 5 000 customers of one link each, 10.x.y.0/24: several steps of the check.
    const changes: ChangeInput[] = [];
    for (let k = 0; k < 5000; k++) {
      const id = `c${String(k).padStart(4, "0")}`;
      changes.push(
        { op: "add", customer: id, record: { name: id } },
        { op: "add", customer: id, site: "s", record: {} },
        {
          op: "add",
          customer: id,
          site: "s",
          link: "l",
          record: { prefixes: [`10.${k >> 8}.${k & 255}.0/24`] },
        },
      );
    }
    const built = applyChangeSet(EMPTY_SNAPSHOT, changes, { actor: "t", atMs: 0 }).snapshot;
    const load = () => ({
      version: built.version,
      customers: CustomerList.from(structuredClone(built.customers.toArray())),
    });
    // Made in steps: not done after one, done after all of them; a second call adds nothing.
    const a = load();
    const steps = prepareIndexSteps(a);
    expect(steps.next().done).toBe(false);
    expect(hasIndex(a)).toBe(false);
    expect(prepareIndexSteps(a).next().done).toBe(true);
    let more = 0;
    while (!steps.next().done) more++;
    expect(more).toBeGreaterThan(0);
    expect(hasIndex(a)).toBe(true);
    // A change set before the steps are done: the store's prepareIndex (sql-group-commit.ts,
    // before the group) finishes them, and the steps are then over.
    const b = load();
    const left = prepareIndexSteps(b);
    left.next();
    prepareIndex(b);
    expect(hasIndex(b)).toBe(true);
    const conflict: ChangeInput[] = [
      { op: "add", customer: "zz", record: { name: "Z" } },
      { op: "add", customer: "zz", site: "s", record: {} },
      { op: "add", customer: "zz", site: "s", link: "l", record: { prefixes: ["10.19.135.0/24"] } },
    ];
    expect(outcome(b, conflict, true).problems).toEqual([
      'customers/zz/sites/s/links/l.prefixes[0]: "10.19.135.0/24" is also given to customers/c4999/sites/s/links/l.prefixes[0]',
    ]);
    expect(hasIndex(b)).toBe(true);
    expect(left.next().done).toBe(true);
    // A tree that breaks the rules gets no index: change sets on it are checked in full.
    const broken = load();
    const twice = broken.customers.toArray().map((c) =>
      c.id === "c0001"
        ? {
            ...c,
            sites: [
              { ...c.sites[0]!, links: [{ ...c.sites[0]!.links[0]!, prefixes: ["10.0.0.0/24"] }] },
            ],
          }
        : c,
    );
    const invalid = { version: built.version, customers: CustomerList.from(twice) };
    for (const _ of prepareIndexSteps(invalid));
    expect(hasIndex(invalid)).toBe(false);
  });
});
