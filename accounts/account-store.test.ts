/**
 * The account store against both databases it runs on, the same cases and expectations each:
 * the embedded DuckDB file and PostgreSQL (started by the harness on a free loopback port, a fresh
 * database per case).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { createDuckDbDriver, createDuckDbRegistry } from "../registry/duckdb-registry.js";
import { createPostgresDriver } from "../registry/postgres-registry.js";
import { shareDriver } from "../registry/shared-driver.js";
import { createSqlRegistry } from "../registry/sql-registry.js";
import { type PostgresServer, startPostgres } from "../test/support/servers.js";
import { type AccountStore, type AuditInput, createAccountStore } from "./account-store.js";
import type { StoredUser } from "./model.js";

const T = 1_700_000_000_000;
const audit = (action: string, target: string): AuditInput => ({
  at: T,
  actor: "admin",
  action,
  target,
  client: "192.0.2.9",
  detail: { n: 1 },
});
const user = (id: string, over: Partial<StoredUser> = {}): StoredUser => ({
  id,
  role: "operator",
  auth: "local",
  disabled: false,
  createdAt: T,
  updatedAt: T,
  passwordHash: `$scrypt$ln=1,r=1,p=1$c2FsdHNhbHQ=$${id}`,
  ...over,
});

function conformance(
  open: () => Promise<{ store: AccountStore; reopen: () => Promise<AccountStore> }>,
) {
  async function started() {
    const o = await open();
    onTestFinished(() => o.store.stop());
    return o;
  }

  it("adds, reads, lists, updates and deletes users; an id is taken once", async () => {
    const { store } = await started();
    expect(
      await store.addUser(
        user("bob", { role: "customer", customer: "acme" }),
        audit("user-add", "bob"),
      ),
    ).toBe(true);
    expect(await store.addUser(user("ann"), audit("user-add", "ann"))).toBe(true);
    expect(await store.addUser(user("ann", { role: "admin" }), audit("user-add", "ann"))).toBe(
      false,
    );
    expect(await store.getUser("bob")).toEqual(user("bob", { role: "customer", customer: "acme" }));
    expect(await store.getUser("nobody")).toBeUndefined();
    expect((await store.listUsers()).map((u) => u.id)).toEqual(["ann", "bob"]);
    expect(
      await store.updateUser(
        "ann",
        {
          role: "admin",
          customer: null,
          auth: "radius",
          passwordHash: null,
          disabled: true,
          updatedAt: T + 5,
        },
        { endCredentials: false, audit: audit("user-update", "ann") },
      ),
    ).toBe(true);
    const { passwordHash: _, ...annWithoutHash } = user("ann");
    expect(await store.getUser("ann")).toEqual({
      ...annWithoutHash,
      role: "admin",
      auth: "radius",
      disabled: true,
      updatedAt: T + 5,
    });
    expect(
      await store.updateUser(
        "zed",
        {
          role: "admin",
          customer: null,
          auth: "local",
          passwordHash: null,
          disabled: false,
          updatedAt: T,
        },
        { endCredentials: false, audit: audit("user-update", "zed") },
      ),
    ).toBe(false);
    expect(await store.deleteUser("bob", audit("user-delete", "bob"))).toBe(true);
    expect(await store.deleteUser("bob", audit("user-delete", "bob"))).toBe(false);
    expect((await store.listUsers()).map((u) => u.id)).toEqual(["ann"]);
  });

  it("keeps sessions and tokens by digest, touches them, and ends a user's all at once", async () => {
    const { store } = await started();
    await store.addUser(user("ann"), audit("user-add", "ann"));
    await store.addUser(user("bob"), audit("user-add", "bob"));
    await store.addSession("d-ann-1", { user: "ann", createdAt: T, lastSeenAt: T });
    await store.addSession("d-ann-2", { user: "ann", createdAt: T, lastSeenAt: T });
    await store.addSession("d-bob-1", { user: "bob", createdAt: T, lastSeenAt: T });
    await store.touchSession("d-ann-1", T + 1000);
    expect(await store.getSession("d-ann-1")).toEqual({
      user: "ann",
      createdAt: T,
      lastSeenAt: T + 1000,
    });
    const tok = {
      id: "t1",
      user: "ann",
      name: "ci",
      createdAt: T,
      expiresAt: T + 60_000,
      lastUsedAt: null,
    };
    await store.addToken("tok-digest-1", tok, audit("token-add", "ann"));
    await store.addToken(
      "tok-digest-2",
      { ...tok, id: "t2", user: "bob", expiresAt: null },
      audit("token-add", "bob"),
    );
    expect(await store.getToken("tok-digest-1")).toEqual(tok);
    await store.touchToken("tok-digest-1", T + 7);
    expect((await store.getToken("tok-digest-1"))?.lastUsedAt).toBe(T + 7);
    expect((await store.listTokens("ann")).map((t) => t.id)).toEqual(["t1"]);
    expect((await store.listTokens()).map((t) => t.id)).toEqual(["t1", "t2"]);
    // A password change (endCredentials) takes every session and token of ann, none of bob's.
    await store.updateUser(
      "ann",
      {
        role: "operator",
        customer: null,
        auth: "local",
        passwordHash: "x",
        disabled: false,
        updatedAt: T,
      },
      { endCredentials: true, audit: audit("password-change", "ann") },
    );
    expect(await store.getSession("d-ann-1")).toBeUndefined();
    expect(await store.getSession("d-ann-2")).toBeUndefined();
    expect(await store.getToken("tok-digest-1")).toBeUndefined();
    expect(await store.getSession("d-bob-1")).toBeDefined();
    expect(await store.getToken("tok-digest-2")).toBeDefined();
    // Deleting bob takes his too.
    await store.deleteUser("bob", audit("user-delete", "bob"));
    expect(await store.getSession("d-bob-1")).toBeUndefined();
    expect(await store.getToken("tok-digest-2")).toBeUndefined();
  });

  it("revokes a token by id, only its owner's unless no owner is given; deletes ended sessions", async () => {
    const { store } = await started();
    const tok = {
      id: "t1",
      user: "ann",
      name: "ci",
      createdAt: T,
      expiresAt: null,
      lastUsedAt: null,
    };
    await store.addToken("dig1", tok, audit("token-add", "ann"));
    expect(await store.deleteToken("t1", "bob", audit("token-revoke", "t1"))).toBe(false);
    expect(await store.getToken("dig1")).toBeDefined();
    expect(await store.deleteToken("t1", "ann", audit("token-revoke", "t1"))).toBe(true);
    expect(await store.getToken("dig1")).toBeUndefined();
    await store.addToken("dig2", { ...tok, id: "t2" }, audit("token-add", "ann"));
    expect(await store.deleteToken("t2", undefined, audit("token-revoke", "t2"))).toBe(true);

    await store.addSession("old-idle", { user: "ann", createdAt: T, lastSeenAt: T });
    await store.addSession("old-created", { user: "ann", createdAt: T - 100, lastSeenAt: T + 500 });
    await store.addSession("fresh", { user: "ann", createdAt: T + 50, lastSeenAt: T + 500 });
    expect(await store.deleteSessionsBefore(T, T - 100)).toBe(2);
    expect(await store.getSession("fresh")).toBeDefined();
    await store.deleteSession("fresh");
    expect(await store.getSession("fresh")).toBeUndefined();
  });

  it("numbers audit entries in order and keeps them across a restart", async () => {
    const { store, reopen } = await started();
    await store.addUser(user("ann"), audit("user-add", "ann"));
    await store.audit({ ...audit("login", "ann"), at: T + 1, detail: { role: "operator" } });
    await store.addUser(user("ann"), audit("user-add", "ann")); // taken: no entry
    await store.deleteUser("ann", audit("user-delete", "ann"));
    const all = await store.readAudit({});
    expect(all.map((e) => [e.seq, e.action])).toEqual([
      [1, "user-add"],
      [2, "login"],
      [3, "user-delete"],
    ]);
    expect(all[1]).toEqual({
      seq: 2,
      at: T + 1,
      actor: "admin",
      action: "login",
      target: "ann",
      client: "192.0.2.9",
      detail: { role: "operator" },
    });
    expect((await store.readAudit({ since: 1, limit: 1 })).map((e) => e.seq)).toEqual([2]);
    await store.stop();
    const again = await reopen();
    onTestFinished(() => again.stop());
    await again.audit(audit("logout", "ann"));
    expect((await again.readAudit({ since: 2 })).map((e) => [e.seq, e.action])).toEqual([
      [3, "user-delete"],
      [4, "logout"],
    ]);
  });

  it("refuses calls before start with FT_REGISTRY_OPEN", async () => {
    const { reopen } = await started();
    const s = await reopen();
    await s.stop();
    await expect(s.getUser("x")).rejects.toMatchObject({ code: "FT_REGISTRY_OPEN" });
  });
}

describe("account store on the embedded DuckDB file", () => {
  let dir: string;
  let n = 0;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "flowtally-accounts-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  conformance(async () => {
    const path = join(dir, `registry-${++n}.duckdb`);
    const store = createAccountStore(createDuckDbDriver({ path }));
    await store.start();
    return {
      store,
      reopen: async () => {
        const s = createAccountStore(createDuckDbDriver({ path }));
        await s.start();
        return s;
      },
    };
  });

  it("shares one file with the customer registry in one process (shareDriver)", async () => {
    const path = join(dir, "shared.duckdb");
    const driver = shareDriver(createDuckDbDriver({ path }));
    const registry = createSqlRegistry(driver);
    const accounts = createAccountStore(driver);
    await registry.start();
    await accounts.start();
    await registry.apply([{ op: "add", customer: "acme", record: { name: "Acme" } }], {
      actor: "t",
    });
    await accounts.addUser(
      user("ann", { role: "customer", customer: "acme" }),
      audit("user-add", "ann"),
    );
    await registry.stop();
    // The registry stopped; the file stays open for the accounts.
    expect((await accounts.getUser("ann"))?.customer).toBe("acme");
    await accounts.stop();
    const reopened = createDuckDbRegistry({ path });
    await reopened.start();
    expect((await reopened.snapshot()).customers.toArray().map((c) => c.id)).toEqual(["acme"]);
    await reopened.stop();
  });
});

describe("account store on PostgreSQL", () => {
  let server: PostgresServer;
  let n = 0;
  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(() => server?.close());

  async function freshDatabase(): Promise<string> {
    return server.database(`accounts_${++n}`);
  }

  conformance(async () => {
    const url = await freshDatabase();
    const store = createAccountStore(createPostgresDriver({ url }));
    await store.start();
    return {
      store,
      reopen: async () => {
        const s = createAccountStore(createPostgresDriver({ url }));
        await s.start();
        return s;
      },
    };
  });
});
