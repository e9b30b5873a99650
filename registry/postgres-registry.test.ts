import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { registryConformance } from "../test/support/registry-conformance.js";
import { type PostgresServer, startPostgres } from "../test/support/servers.js";
import { createPostgresRegistry } from "./postgres-registry.js";

let server: PostgresServer;
let databases = 0;

beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(() => server?.close());

/** A fresh database on the test server for each test. */
async function freshDatabase(): Promise<string> {
  const name = `registry_${++databases}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  return url.toString();
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
      expect(snap.customers[0]!.sites).toHaveLength(1);
    }
  });

  it("answers FT_REGISTRY_OPEN when the server cannot be reached", async () => {
    const url = new URL(server.url);
    url.port = "1";
    const store = createPostgresRegistry({ url: url.toString() });
    await expect(store.start()).rejects.toMatchObject({ code: "FT_REGISTRY_OPEN" });
  });
});
