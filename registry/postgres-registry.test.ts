import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { registryConformance } from "../test/support/registry-conformance.js";
import { type PostgresServer, startPostgres } from "../test/support/servers.js";
import { createPostgresDriver, createPostgresRegistry } from "./postgres-registry.js";
import { createSqlRegistry, type SqlDriver } from "./sql-registry.js";

let server: PostgresServer;
let databases = 0;

beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(() => server?.close());

/** A fresh database on the test server for each test. */
async function freshDatabase(): Promise<string> {
  return server.database(`registry_${++databases}`);
}

describe("PostgreSQL registry", () => {
  registryConformance({
    async open(now) {
      const url = await freshDatabase();
      const store = createPostgresRegistry({ url }, { now });
      await store.start();
      return {
        store,
        again: async () => {
          const s = createPostgresRegistry({ url }, { now });
          await s.start();
          return s;
        },
      };
    },
  });

  it("writes text exactly on a server whose strings are not standard (standard_conforming_strings off)", async () => {
    const url = await freshDatabase();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const name = new URL(url).pathname.slice(1);
    await admin.query(`ALTER DATABASE "${name}" SET standard_conforming_strings = off`);
    await admin.end();
    const store = createPostgresRegistry({ url });
    await store.start();
    onTestFinished(() => store.stop());
    const name1 = "back\\slash \\' x'); DROP TABLE registry_customers; --";
    await store.apply([{ op: "add", customer: "odd", record: { name: name1 } }], { actor: "t" });
    await store.apply([{ op: "update", customer: "odd", set: { description: "\\'" } }], {
      actor: "t",
    });
    const again = createPostgresRegistry({ url });
    await again.start();
    onTestFinished(() => again.stop());
    const odd = (await again.snapshot()).customers.at(0)!;
    expect([odd.name, odd.description]).toEqual([name1, "\\'"]);
  });

  it("a read that began before this process's commit answers the newer tree, without reading the whole tree again", async () => {
    const url = await freshDatabase();
    const driver = createPostgresDriver({ url });
    // The driver as the store sees it: a read transaction can be held right after it read the
    // version; every read of a whole table (the tree's) is counted.
    let hold: Promise<void> | undefined;
    let heldRead: (() => void) | undefined;
    let wholeTableReads = 0;
    const watched: SqlDriver = {
      ...driver,
      open: () => driver.open(),
      close: () => driver.close(),
      transaction: (kind, fn) =>
        driver.transaction(kind, (s) =>
          fn({
            ...s,
            run: (sql, params) => s.run(sql, params),
            async rows(sql, params) {
              if (sql.includes("string_agg")) wholeTableReads++;
              const rows = await s.rows(sql, params);
              if (kind === "read" && sql.startsWith("SELECT version") && hold !== undefined) {
                const wait = hold;
                hold = undefined;
                heldRead?.();
                await wait;
              }
              return rows;
            },
          }),
        ),
    };
    const store = createSqlRegistry(watched);
    await store.start();
    onTestFinished(() => store.stop());
    await store.apply([{ op: "add", customer: "a", record: { name: "A" } }], { actor: "t" });
    const readsAtStart = wholeTableReads;

    let release!: () => void;
    hold = new Promise((r) => {
      release = r;
    });
    const held = new Promise<void>((r) => {
      heldRead = r;
    });
    const read = store.snapshot();
    await held; // the read saw version 1 and waits
    await store.apply([{ op: "add", customer: "b", record: { name: "B" } }], { actor: "t" });
    release();
    const answer = await read;
    expect(answer.version).toBe(2);
    expect(answer.customers.toArray().map((c) => c.id)).toEqual(["a", "b"]);
    expect((await store.snapshot()).version).toBe(2);
    expect(wholeTableReads - readsAtStart).toBe(0);
  });

  it("serialises change sets from several processes: none lost, none applied on a stale tree", async () => {
    const url = await freshDatabase();
    const stores = [0, 1, 2].map(() => createPostgresRegistry({ url }));
    await Promise.all(stores.map((s) => s.start()));
    onTestFinished(async () => {
      await Promise.all(stores.map((s) => s.stop()));
    });
    await stores[0]!.apply([{ op: "add", customer: "c", record: { name: "C" } }], { actor: "a" });
    // Each store adds a site whose link takes the same prefix: exactly one may win.
    const results = await Promise.allSettled(
      stores.map((s, k) =>
        s.apply(
          [
            { op: "add", customer: "c", site: `s${k}`, record: {} },
            {
              op: "add",
              customer: "c",
              site: `s${k}`,
              link: "l",
              record: { prefixes: ["192.0.2.0/24"] },
            },
          ],
          { actor: `p${k}` },
        ),
      ),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results) {
      if (r.status === "rejected") expect(r.reason).toMatchObject({ code: "FT_REGISTRY_INVALID" });
    }
    for (const s of stores) {
      const snap = await s.snapshot();
      expect(snap.version).toBe(2);
      expect(snap.customers.at(0)!.sites).toHaveLength(1);
    }
  });

  it("a process re-reads only what another one changed, and checks its next change set against it", async () => {
    const url = await freshDatabase();
    const [a, b] = [createPostgresRegistry({ url }), createPostgresRegistry({ url })];
    await Promise.all([a.start(), b.start()]);
    onTestFinished(async () => {
      await Promise.all([a.stop(), b.stop()]);
    });
    const customer = (id: string, prefix: string) => [
      { op: "add", customer: id, record: { name: id.toUpperCase() } },
      { op: "add", customer: id, site: "s", record: {} },
      { op: "add", customer: id, site: "s", link: "l", record: { prefixes: [prefix] } },
    ];
    await a.apply([...customer("c1", "192.0.2.0/28"), ...customer("c2", "192.0.2.16/28")], {
      actor: "a",
    });
    expect((await b.snapshot()).version).toBe(1);
    // A writes three versions: a prefix freed, a customer deleted, a site added.
    await a.apply(
      [
        {
          op: "update",
          customer: "c1",
          site: "s",
          link: "l",
          set: { prefixes: ["198.51.100.0/24"] },
        },
      ],
      { actor: "a" },
    );
    await a.apply([{ op: "delete", customer: "c2" }], { actor: "a" });
    await a.apply(
      [
        { op: "add", customer: "c1", site: "t", record: { name: "T" } },
        {
          op: "add",
          customer: "c1",
          site: "t",
          link: "m",
          record: { prefixes: ["203.0.113.0/24"] },
        },
      ],
      { actor: "a" },
    );
    // B takes the prefix A freed, and the one c2 had (its tree re-read: c2 deleted, c1 moved).
    expect(
      (
        await b.apply([...customer("c3", "192.0.2.0/28"), ...customer("c0", "192.0.2.16/28")], {
          actor: "b",
        })
      ).version,
    ).toBe(5);
    // The one A gave to c1/t is refused, and the refusal leaves B's tree as it was.
    const taken = await b
      .apply(customer("c4", "203.0.113.0/24"), { actor: "b" })
      .catch((e: { message: string }) => e.message);
    expect(taken).toContain(
      'customers/c4/sites/s/links/l.prefixes[0]: "203.0.113.0/24" is also given to customers/c1/sites/t/links/m.prefixes[0]',
    );
    await a.apply([{ op: "delete", customer: "c1", site: "t" }], { actor: "a" });
    expect((await b.apply(customer("c4", "203.0.113.0/24"), { actor: "b" })).version).toBe(7);
    const [sa, sb] = [await a.snapshot(), await b.snapshot()];
    expect(sb).toEqual(sa);
    expect(sa.customers.toArray().map((c) => [c.id, c.sites.map((s) => s.id)])).toEqual([
      ["c0", ["s"]],
      ["c1", ["s"]],
      ["c3", ["s"]],
      ["c4", ["s"]],
    ]);
  });

  it("answers FT_REGISTRY_OPEN when the server cannot be reached", async () => {
    const url = new URL(server.url);
    url.port = "1";
    const store = createPostgresRegistry({ url: url.toString() });
    await expect(store.start()).rejects.toMatchObject({ code: "FT_REGISTRY_OPEN" });
  });
});
