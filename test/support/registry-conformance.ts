/**
 * The registry contract's conformance suite: the same cases with the same expected values, run
 * against every RegistryStore (registry/duckdb-registry.test.ts, registry/postgres-registry.test.ts),
 * on a clock that is a fixed date, never today's.
 */
import { expect, it, onTestFinished } from "vitest";
import type {
  ChangeInput,
  RegistryCustomer,
  RegistrySnapshot,
  RegistryStore,
} from "../../registry/index.js";
import { diffTree, exportTree, parseTree } from "../../registry/index.js";
import { type ErrorCode, isFlowtallyError } from "../../schema/errors.js";

/** The audit's clock in the suite: 2026-11-01T00:00:00Z, and one second later per call. */
export const REGISTRY_T0 = Date.UTC(2026, 10, 1);

export interface RegistryBackend {
  /**
   * A started store on a fresh, empty database; `again()` opens another store on the same
   * database (a restart, or another process). Both are stopped after the test.
   */
  open(now: () => number): Promise<{ store: RegistryStore; again(): Promise<RegistryStore> }>;
}

const acme: ChangeInput[] = [
  {
    op: "add",
    customer: "acme",
    record: { name: "ACME Corp", contact: "Ada", email: "noc@acme.example", motd: "Hi" },
  },
  {
    op: "add",
    customer: "acme",
    site: "hq",
    record: { name: "Head office", address: "Main St 1" },
  },
  {
    op: "add",
    customer: "acme",
    site: "hq",
    link: "l1",
    record: { prefixes: ["192.0.2.0/28", "2001:db8:1::/48"], commitRate: "100M" },
  },
  {
    op: "add",
    customer: "acme",
    site: "hq",
    link: "l2",
    record: { router: "198.51.100.1", ifIndex: 7, description: "backup" },
  },
];

async function rejection(p: Promise<unknown>): Promise<{ code: ErrorCode; message: string }> {
  try {
    await p;
  } catch (e) {
    if (isFlowtallyError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error("expected a rejection");
}

export function registryConformance(backend: RegistryBackend): void {
  let tick = 0;
  const now = () => REGISTRY_T0 + 1000 * tick++;
  const open = async () => {
    tick = 0;
    const opened = await backend.open(now);
    onTestFinished(() => opened.store.stop());
    return {
      store: opened.store,
      again: async () => {
        const s = await opened.again();
        onTestFinished(() => s.stop());
        return s;
      },
    };
  };

  it("starts empty at version 0", async () => {
    const { store } = await open();
    expect(await store.version()).toBe(0);
    expect(plain(await store.snapshot())).toEqual({ version: 0, customers: [] });
    expect(await store.audit()).toEqual([]);
  });

  it("applies a change set as one version: records with defaults, parsed rates, revisions", async () => {
    const { store } = await open();
    const applied = await store.apply(acme, { actor: "op1" });
    expect(applied.version).toBe(1);
    expect(await store.version()).toBe(1);
    // The tree it hands back is the one it stored.
    expect(plain(applied.snapshot!)).toEqual(plain(await store.snapshot()));
    expect(plain(await store.snapshot())).toEqual({
      version: 1,
      customers: [
        {
          id: "acme",
          name: "ACME Corp",
          serviceType: "default",
          contact: "Ada",
          email: "noc@acme.example",
          motd: "Hi",
          revision: 1,
          sites: [
            {
              id: "hq",
              name: "Head office",
              address: "Main St 1",
              revision: 1,
              links: [
                {
                  id: "l1",
                  prefixes: ["192.0.2.0/28", "2001:db8:1::/48"],
                  commitRate: 100_000_000,
                  revision: 1,
                },
                {
                  id: "l2",
                  prefixes: [],
                  router: "198.51.100.1",
                  ifIndex: 7,
                  description: "backup",
                  revision: 1,
                },
              ],
            },
          ],
        },
      ],
    });
  });

  it("refuses a change set that breaks the config's rules, naming records by id, and writes none of it", async () => {
    const { store } = await open();
    await store.apply(acme, { actor: "op1" });
    const bad = await rejection(
      store.apply(
        [
          { op: "update", customer: "acme", set: { name: "Renamed" } },
          { op: "add", customer: "beta", record: { name: "Beta" } },
          { op: "add", customer: "beta", site: "s", record: {} },
          {
            op: "add",
            customer: "beta",
            site: "s",
            link: "x",
            record: { prefixes: ["192.0.2.0/28", "10.0.0.1/24"] },
          },
          {
            op: "add",
            customer: "beta",
            site: "s",
            link: "y",
            record: { router: "198.51.100.1", ifIndex: 7 },
          },
          { op: "add", customer: "beta", site: "s", link: "z", record: {} },
        ],
        { actor: "op2" },
      ),
    );
    expect(bad.code).toBe("FT_REGISTRY_INVALID");
    expect(
      bad.message
        .split("\n")
        .slice(1)
        .map((l) => l.trim()),
    ).toEqual([
      "customers/beta/sites/s/links/y: router 198.51.100.1 ifIndex 7 is also customers/acme/sites/hq/links/l2",
      "customers/beta/sites/s/links/z: has no prefixes and no router/ifIndex: nothing can match it",
      'customers/beta/sites/s/links/x.prefixes[0]: "192.0.2.0/28" is also given to customers/acme/sites/hq/links/l1.prefixes[0]',
      'customers/beta/sites/s/links/x.prefixes[1]: "10.0.0.1/24" is not a prefix: "10.0.0.1/24" has host bits set (did you mean 10.0.0.0/24?)',
    ]);
    expect(await store.version()).toBe(1);
    const snap = await store.snapshot();
    expect(snap.customers.toArray().map((c) => [c.id, c.name])).toEqual([["acme", "ACME Corp"]]);
    expect(await store.audit({ since: 1 })).toEqual([]);
  });

  it("checks each record with the config's schema: unknown keys, reserved ids, bad addresses", async () => {
    const { store } = await open();
    const bad = await rejection(
      store.apply(
        [
          { op: "add", customer: "Unattributed", record: { name: "x" } },
          { op: "add", customer: "c", record: { name: "C", colour: "red" } },
          { op: "add", customer: "c", site: "s", record: {} },
          {
            op: "add",
            customer: "c",
            site: "s",
            link: "l",
            record: { router: "nope", ifIndex: 1 },
          },
        ],
        { actor: "op" },
      ),
    );
    expect(bad.code).toBe("FT_REGISTRY_INVALID");
    expect(bad.message).toContain(
      'customers/Unattributed.id: "Unattributed" is reserved: the pseudo-customer of traffic that matches no link',
    );
    expect(bad.message).toContain('customers/c: unknown key "colour"');
    expect(bad.message).toContain("customers/c/sites/s/links/l.router: is not an IP address");
    const shape = await rejection(store.apply([{ op: "rename", customer: "c" }], { actor: "op" }));
    expect(shape.code).toBe("FT_REGISTRY_INVALID");
    expect(shape.message).toContain("changes[0].op");
    expect(await store.version()).toBe(0);
  });

  it("moves a prefix between links in one change set (validated on the resulting tree)", async () => {
    const { store } = await open();
    await store.apply(
      [
        ...acme,
        { op: "add", customer: "beta", record: { name: "Beta" } },
        { op: "add", customer: "beta", site: "s", record: {} },
        {
          op: "add",
          customer: "beta",
          site: "s",
          link: "x",
          record: { prefixes: ["203.0.113.0/24"] },
        },
      ],
      { actor: "op" },
    );
    const give = {
      op: "update",
      customer: "beta",
      site: "s",
      link: "x",
      set: { prefixes: ["203.0.113.0/24", "2001:db8:1::/48"] },
    } as const;
    const twice = await rejection(store.apply([give], { actor: "op" }));
    expect(twice.message).toContain(
      'customers/beta/sites/s/links/x.prefixes[1]: "2001:db8:1::/48" is also given to customers/acme/sites/hq/links/l1.prefixes[1]',
    );
    const moved = await store.apply(
      [
        give,
        {
          op: "update",
          customer: "acme",
          site: "hq",
          link: "l1",
          set: { prefixes: ["192.0.2.0/28"] },
        },
      ],
      { actor: "op" },
    );
    expect(moved.version).toBe(2);
    const snap = await store.snapshot();
    expect(snap.customers.at(1)!.sites[0]!.links[0]).toEqual({
      id: "x",
      prefixes: ["203.0.113.0/24", "2001:db8:1::/48"],
      revision: 2,
    });
  });

  it("refuses a stale revision (FT_REGISTRY_CONFLICT), takes the current one, and never overwrites silently", async () => {
    const { store } = await open();
    await store.apply(acme, { actor: "op1" });
    await store.apply([{ op: "update", customer: "acme", site: "hq", set: { name: "HQ" } }], {
      actor: "op1",
    });
    const snap = await store.snapshot();
    expect(snap.customers.at(0)!.revision).toBe(1);
    expect(snap.customers.at(0)!.sites[0]!.revision).toBe(2);
    const stale = await rejection(
      store.apply(
        [{ op: "update", customer: "acme", site: "hq", set: { name: "Mine" }, ifRevision: 1 }],
        { actor: "op2" },
      ),
    );
    expect(stale).toEqual({
      code: "FT_REGISTRY_CONFLICT",
      message:
        "changes[0] (update customers/acme/sites/hq): customers/acme/sites/hq is at revision 2, not 1: it changed since it was read",
    });
    await store.apply(
      [{ op: "update", customer: "acme", site: "hq", set: { name: "Mine" }, ifRevision: 2 }],
      { actor: "op2" },
    );
    const after = (await store.snapshot()).customers.at(0)!.sites[0]!;
    expect([after.name, after.revision]).toEqual(["Mine", 3]);
    const deleteStale = await rejection(
      store.apply([{ op: "delete", customer: "acme", ifRevision: 0 }], { actor: "op2" }),
    );
    expect(deleteStale.code).toBe("FT_REGISTRY_CONFLICT");
    expect(await store.version()).toBe(3);
  });

  it("answers FT_REGISTRY_EXISTS and FT_REGISTRY_NOT_FOUND, and refuses to change an id", async () => {
    const { store } = await open();
    await store.apply(acme, { actor: "op" });
    expect((await rejection(store.apply([acme[0]!], { actor: "op" }))).code).toBe(
      "FT_REGISTRY_EXISTS",
    );
    expect(
      (await rejection(store.apply([{ op: "delete", customer: "nobody" }], { actor: "op" }))).code,
    ).toBe("FT_REGISTRY_NOT_FOUND");
    expect(
      (
        await rejection(
          store.apply([{ op: "add", customer: "acme", site: "nosite", link: "l", record: {} }], {
            actor: "op",
          }),
        )
      ).message,
    ).toBe(
      "changes[0] (add customers/acme/sites/nosite/links/l): customers/acme/sites/nosite does not exist",
    );
    const idChange = await rejection(
      store.apply([{ op: "update", customer: "acme", set: { id: "acme2" } }], { actor: "op" }),
    );
    expect(idChange.code).toBe("FT_REGISTRY_INVALID");
    expect(await store.version()).toBe(1);
  });

  it("updates fields, removes them with null, and deletes a customer with everything under it", async () => {
    const { store } = await open();
    await store.apply(acme, { actor: "op" });
    await store.apply(
      [{ op: "update", customer: "acme", set: { motd: null, phone: "+1 555 0100" } }],
      { actor: "op" },
    );
    const c = (await store.snapshot()).customers.at(0)!;
    expect(c).toMatchObject({ phone: "+1 555 0100", revision: 2 });
    expect("motd" in c).toBe(false);
    await store.apply([{ op: "delete", customer: "acme", ifRevision: 2 }], { actor: "op" });
    expect(plain(await store.snapshot())).toEqual({ version: 3, customers: [] });
    // The same ids can be used again: nothing of the deleted customer is left behind.
    await store.apply(acme, { actor: "op" });
    expect((await store.snapshot()).customers.at(0)!.sites[0]!.links).toHaveLength(2);
  });

  it("keeps an audit entry per operation: who, when, what, before and after", async () => {
    const { store } = await open();
    await store.apply(acme, { actor: "op1" });
    await store.apply(
      [
        { op: "update", customer: "acme", site: "hq", link: "l2", set: { ifIndex: 8 } },
        { op: "delete", customer: "acme", site: "hq", link: "l1" },
      ],
      { actor: "op2" },
    );
    await store.apply([{ op: "delete", customer: "acme" }], { actor: "op3" });
    const all = await store.audit();
    expect(all.map((a) => [a.version, a.index, a.actor, a.op, a.path, a.atMs])).toEqual([
      [1, 0, "op1", "add", "customers/acme", REGISTRY_T0],
      [1, 1, "op1", "add", "customers/acme/sites/hq", REGISTRY_T0],
      [1, 2, "op1", "add", "customers/acme/sites/hq/links/l1", REGISTRY_T0],
      [1, 3, "op1", "add", "customers/acme/sites/hq/links/l2", REGISTRY_T0],
      [2, 0, "op2", "update", "customers/acme/sites/hq/links/l2", REGISTRY_T0 + 1000],
      [2, 1, "op2", "delete", "customers/acme/sites/hq/links/l1", REGISTRY_T0 + 1000],
      [3, 0, "op3", "delete", "customers/acme", REGISTRY_T0 + 2000],
    ]);
    expect(all[4]).toMatchObject({
      before: { id: "l2", prefixes: [], router: "198.51.100.1", ifIndex: 7, description: "backup" },
      after: { id: "l2", prefixes: [], router: "198.51.100.1", ifIndex: 8, description: "backup" },
    });
    expect(all[0]!.before).toBeNull();
    expect(all[6]!.after).toBeNull();
    // A deleted customer's entry keeps everything that went with it.
    expect(all[6]!.before).toEqual({
      id: "acme",
      name: "ACME Corp",
      serviceType: "default",
      contact: "Ada",
      email: "noc@acme.example",
      motd: "Hi",
      sites: [
        {
          id: "hq",
          name: "Head office",
          address: "Main St 1",
          links: [
            { id: "l2", prefixes: [], router: "198.51.100.1", ifIndex: 8, description: "backup" },
          ],
        },
      ],
    });
    expect((await store.audit({ since: 1, limit: 1 })).map((a) => [a.version, a.index])).toEqual([
      [2, 0],
    ]);
    expect(await store.audit({ since: 3 })).toEqual([]);
  });

  it("stores text exactly as given (quotes, SQL, backslashes, placeholders, unicode), across a restart", async () => {
    const { store, again } = await open();
    const hostile = {
      name: "O'Brien's ''; DROP TABLE registry_customers; --",
      description: "back\\slash \\' $1 $2 E'x' \t tab, ünïcødé 🚀 \u2028 \"quoted\"",
      contact: "$10",
    };
    await store.apply([{ op: "add", customer: "odd", record: hostile }], { actor: "op'x" });
    await store.apply([{ op: "update", customer: "odd", set: { address: "1 Rue de l'Église" } }], {
      actor: "op",
    });
    await store.stop();
    const reopened = await again();
    const odd = (await reopened.snapshot()).customers.toArray().find((c) => c.id === "odd");
    expect(odd).toMatchObject({ ...hostile, address: "1 Rue de l'Église" });
    const audit = await reopened.audit();
    expect(audit[0]).toMatchObject({ actor: "op'x", after: { name: hostile.name } });
  });

  it("keeps everything across a restart, and a second store sees the first one's changes", async () => {
    const { store, again } = await open();
    await store.apply(acme, { actor: "op" });
    const before = await store.snapshot();
    await store.stop();
    const reopened = await again();
    expect(plain(await reopened.snapshot())).toEqual(plain(before));
    await reopened.apply([{ op: "update", customer: "acme", set: { name: "ACME" } }], {
      actor: "op",
    });
    expect((await reopened.audit()).length).toBe(5);
    expect(await reopened.version()).toBe(2);
  });

  it("round-trips the whole tree through YAML: export, import diff of nothing, then an import applied", async () => {
    const { store } = await open();
    await store.apply(acme, { actor: "op" });
    const snap = await store.snapshot();
    const yaml = exportTree(snap);
    expect(diffTree(snap, parseTree(yaml)).changes).toEqual([]);
    const edited = yaml
      .replace("name: Head office", "name: Head office 2")
      .replace("      - id: l2", "      - id: l3");
    const diff = diffTree(snap, parseTree(edited));
    expect([diff.added, diff.updated, diff.deleted]).toEqual([1, 1, 1]);
    expect((await store.apply(diff.changes, { actor: "import" })).version).toBe(2);
    const after = await store.snapshot();
    expect(after.customers.at(0)!.sites[0]!.name).toBe("Head office 2");
    expect(after.customers.at(0)!.sites[0]!.links.map((l) => l.id)).toEqual(["l1", "l3"]);
    expect(diffTree(after, parseTree(edited)).changes).toEqual([]);
  });

  it("change sets that arrive together are each applied once, in order, or refused alone", async () => {
    const { store, again } = await open();
    const add = (k: number, prefix: string) => [
      { op: "add", customer: `g${k}`, record: { name: `G${k}` } },
      { op: "add", customer: `g${k}`, site: "s", record: {} },
      { op: "add", customer: `g${k}`, site: "s", link: "l", record: { prefixes: [prefix] } },
    ];
    // 40 at once; the 13th claims the 3rd's prefix, the 29th repeats the 7th's id.
    const calls = Array.from({ length: 40 }, (_, k) =>
      store
        .apply(
          k === 13
            ? add(k, "10.9.3.0/28")
            : k === 29
              ? add(7, "10.9.99.0/28")
              : add(k, `10.9.${k}.0/28`),
          { actor: `c${k}` },
        )
        .then(
          (r) => ({ k, version: r.version }),
          (e: unknown) => ({ k, code: (e as { code?: string }).code }),
        ),
    );
    const results = await Promise.all(calls);
    const refused = results.filter((r) => "code" in r);
    expect(refused).toEqual([
      { k: 13, code: "FT_REGISTRY_INVALID" },
      { k: 29, code: "FT_REGISTRY_EXISTS" },
    ]);
    // Every accepted one has its own version, 1..38, in the order the calls were made.
    const versions = results
      .filter((r) => "version" in r)
      .map((r) => (r as { version: number }).version);
    expect(versions).toEqual(Array.from({ length: 38 }, (_, k) => k + 1));
    const tree = await store.snapshot();
    expect(tree.version).toBe(38);
    expect(tree.customers).toHaveLength(38);
    // A store opened afresh reads the same tree and one audit entry per operation.
    const second = await again();
    expect(plain(await second.snapshot())).toEqual(plain(tree));
    expect((await second.audit({ limit: 1000 })).length).toBe(38 * 3);
  });

  it("a group written together leaves the database as the same change sets one by one (random, with deletes under re-adds)", async () => {
    const grouped = await open();
    const oneByOne = await open();
    let seed = 42;
    const below = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    // A small id space, so that one group adds, changes, deletes and adds again the same records.
    const change = (): ChangeInput => {
      const c = below(4);
      const customer = `c${c}`;
      const depth = below(3);
      const op = (["add", "update", "delete"] as const)[below(3)]!;
      const words = { description: `d${below(1000)}` };
      if (depth === 0) {
        return op === "add"
          ? { op, customer, record: { name: `C${c}` } }
          : op === "update"
            ? { op, customer, set: words }
            : { op, customer };
      }
      const s = below(2);
      const site = `s${s}`;
      if (depth === 1) {
        return op === "add"
          ? { op, customer, site, record: {} }
          : op === "update"
            ? { op, customer, site, set: words }
            : { op, customer, site };
      }
      const l = below(2);
      const link = `l${l}`;
      return op === "add"
        ? { op, customer, site, link, record: { prefixes: [`10.${c}.${s * 2 + l}.0/28`] } }
        : op === "update"
          ? { op, customer, site, link, set: words }
          : { op, customer, site, link };
    };
    const outcome = (p: Promise<{ version: number }>) =>
      p.then(
        (r) => `v${r.version}`,
        (e: unknown) => (e as { code?: string }).code ?? "?",
      );
    for (let round = 0; round < 60; round++) {
      const sets = Array.from({ length: 1 + below(20) }, () =>
        Array.from({ length: 1 + below(3) }, change),
      );
      const together = await Promise.all(
        sets.map((set) => outcome(grouped.store.apply(set, { actor: "g" }))),
      );
      const apart: string[] = [];
      for (const set of sets) apart.push(await outcome(oneByOne.store.apply(set, { actor: "o" })));
      expect(together, `round ${round}`).toEqual(apart);
    }
    // What the database holds, read afresh, not the stores' caches.
    const [a, b] = [await grouped.again(), await oneByOne.again()];
    const tree = await a.snapshot();
    expect(tree.customers.length).toBeGreaterThan(0);
    expect(plain(tree)).toEqual(plain(await b.snapshot()));
    expect(plain(tree)).toEqual(plain(await grouped.store.snapshot()));
  });

  it("refuses calls while stopped with FT_REGISTRY_OPEN", async () => {
    const { store } = await open();
    await store.stop();
    expect((await rejection(store.snapshot())).code).toBe("FT_REGISTRY_OPEN");
  });
}

/** A snapshot with its customers as a plain array, for toEqual. */
function plain(s: RegistrySnapshot): { version: number; customers: RegistryCustomer[] } {
  return { version: s.version, customers: s.customers.toArray() };
}
