import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from "vitest";
import { CustomerModelUpdater } from "../collector/classify/customer-model-update.js";
import type { SliceOptions } from "../collector/classify/steps.js";
import { parseConfigText } from "../config/load-config.js";
import type { Config } from "../schema/config.js";
import { type PostgresServer, startPostgres } from "../test/support/servers.js";
import { createDuckDbRegistry } from "./duckdb-registry.js";
import type { ChangeInput } from "./model.js";
import {
  createPostgresRegistry,
  LISTEN_APPLICATION_NAME,
  REGISTRY_CHANNEL,
} from "./postgres-registry.js";
import { type AppliedRegistry, createRegistryRuntime } from "./registry-runtime.js";
import type { RegistryStore } from "./sql-registry.js";

const silent = pino({ level: "silent" });

function databaseConfig(): Config {
  return parseConfigText(
    "registry: { source: database }\nclasses: [{ id: web, match: { ports: [80] } }]",
    "t.yaml",
    "/tmp",
  );
}

/** Customer `id` (named in upper case) added with site s and its link l holding `prefix`. */
function customerWithLink(id: string, prefix: string): ChangeInput[] {
  return [
    { op: "add", customer: id, record: { name: id.toUpperCase() } },
    { op: "add", customer: id, site: "s", record: {} },
    { op: "add", customer: id, site: "s", link: "l", record: { prefixes: [prefix] } },
  ];
}

/** Customers a and b, one link each: a holds 192.0.2.0/28, b holds 198.51.100.0/28. */
const TWO: ChangeInput[] = [
  ...customerWithLink("a", "192.0.2.0/28"),
  ...customerWithLink("b", "198.51.100.0/28"),
];

/** The prefix 192.0.2.0/28 moved from a to b, in one change set. */
const MOVE: ChangeInput[] = [
  { op: "update", customer: "a", site: "s", link: "l", set: { prefixes: ["203.0.113.0/28"] } },
  {
    op: "update",
    customer: "b",
    site: "s",
    link: "l",
    set: { prefixes: ["198.51.100.0/28", "192.0.2.0/28"] },
  },
];

/** The customer an address is attributed to by `model`, or "unattributed". */
function owner(applied: AppliedRegistry, address: string): string {
  const link = applied.model.prefixes.lookup(address);
  return link < 0 ? "unattributed" : applied.model.links.get(link)!.customer;
}

function waitFor(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const check = () => {
      if (ok()) resolve();
      else if (Date.now() > until) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(check, 10);
    };
    check();
  });
}

/** An in-memory registry holding TWO at version 1, and a runtime started on it. */
async function runtimeOnTwo(slice?: SliceOptions) {
  const store = createDuckDbRegistry({ path: ":memory:" });
  await store.start();
  await store.apply(TWO, { actor: "t" });
  const runtime = createRegistryRuntime(databaseConfig(), {
    log: silent,
    store,
    pollMs: 3_600_000,
    ...(slice === undefined ? {} : { slice }),
  });
  await runtime.start();
  onTestFinished(() => runtime.stop());
  return { store, runtime };
}

describe("registry runtime, one process (embedded)", () => {
  it("reads the registry at start, and swaps in each committed version at once, built whole", async () => {
    const { store, runtime } = await runtimeOnTwo();
    expect(runtime.appliedVersion()).toBe(1);
    expect(runtime.status()).toMatchObject({ source: "database", appliedVersion: 1 });
    expect(owner(runtime.current(), "192.0.2.5")).toBe("a");
    expect(owner(runtime.current(), "198.51.100.1")).toBe("b");
    const seen: AppliedRegistry[] = [];
    runtime.onApplied((a) => {
      seen.push(a);
    });
    await store.apply(MOVE, { actor: "t" });
    // Seen at once: the store tells the runtime of its own commits.
    await waitFor("version 2", () => runtime.appliedVersion() === 2, 500);
    expect(owner(runtime.current(), "192.0.2.5")).toBe("b");
    expect(owner(runtime.current(), "203.0.113.1")).toBe("a");
    await store.apply([{ op: "delete", customer: "b" }], { actor: "t" });
    await waitFor("version 3", () => runtime.appliedVersion() === 3);
    expect(owner(runtime.current(), "192.0.2.5")).toBe("unattributed");
    expect(runtime.current().model.customers.map((c) => c.id)).toEqual(["a"]);
    expect(seen.map((a) => a.version)).toEqual([2, 3]);
    // The classes are the config's, as with customers in the file.
    expect(runtime.current().model.classIds).toEqual(["web", "default"]);
    const status = runtime.status();
    expect(status.appliedVersion).toBe(3);
    expect(Date.parse(status.appliedAt!)).toBe(runtime.current().appliedAtMs);
    expect(runtime.health()).toEqual([]);
    // SIGHUP: the file's classes change, the customers stay the registry's.
    const rebased = runtime.rebase(
      parseConfigText(
        "registry: { source: database }\nclasses: [{ id: voip, match: { ports: [5060] } }]",
        "t.yaml",
        "/tmp",
      ),
    );
    expect(rebased.version).toBe(3);
    expect(rebased.model.classIds).toEqual(["voip", "default"]);
    expect(owner(rebased, "203.0.113.1")).toBe("a");
    expect(runtime.current()).toBe(rebased);
  });

  it("without a listener (serve), makes a version's model only when asked for, and it is that version's", async () => {
    const { store, runtime } = await runtimeOnTwo();
    await store.apply(MOVE, { actor: "t" });
    await waitFor("version 2", () => runtime.appliedVersion() === 2, 500);
    // Not made on the way in (a getter, not a value), made right when read.
    const applied = runtime.current();
    expect(typeof Object.getOwnPropertyDescriptor(applied, "model")?.get).toBe("function");
    expect(owner(applied, "192.0.2.5")).toBe("b");
    expect(owner(applied, "203.0.113.1")).toBe("a");
    expect(applied.config.customers.map((c) => c.id)).toEqual(["a", "b"]);
    // With a listener (run swaps each version in), it is made before the listener is called.
    const seen: AppliedRegistry[] = [];
    runtime.onApplied((a) => {
      seen.push(a);
    });
    await store.apply([{ op: "delete", customer: "b" }], { actor: "t" });
    await waitFor("version 3", () => runtime.appliedVersion() === 3, 500);
    expect(Object.getOwnPropertyDescriptor(seen[0]!, "model")?.get).toBeUndefined();
    expect(owner(seen[0]!, "192.0.2.5")).toBe("unattributed");
  });

  it("run: the start version's model, asked for once something classifies, is made for the updates: made once, and the first change is derived from it", async () => {
    const build = vi.spyOn(CustomerModelUpdater.prototype, "build");
    const update = vi.spyOn(CustomerModelUpdater.prototype, "update");
    onTestFinished(() => {
      build.mockRestore();
      update.mockRestore();
    });
    const { store, runtime } = await runtimeOnTwo();
    const seen: AppliedRegistry[] = [];
    // As run-command.ts does: listen for versions, then classify with the start version.
    runtime.onApplied((a) => {
      seen.push(a);
    });
    // Not made ahead as the listener comes (it would be made twice: whole for the read below,
    // then for the updates), but by that read, for the updates.
    expect(build).not.toHaveBeenCalled();
    const start = runtime.current();
    expect(owner(start, "192.0.2.5")).toBe("a");
    expect(build).toHaveBeenCalledTimes(1);
    await runtime.following();
    await new Promise((r) => setImmediate(r));
    expect(build).toHaveBeenCalledTimes(1);
    await store.apply(MOVE, { actor: "t" });
    await waitFor("version 2", () => runtime.appliedVersion() === 2);
    expect(build).toHaveBeenCalledTimes(1);
    expect(update).toHaveBeenCalledTimes(1);
    expect(owner(seen[0]!, "192.0.2.5")).toBe("b");
    expect(owner(seen[0]!, "203.0.113.1")).toBe("a");
    // The start version's model is its own, untouched by the update (snapshots share chunks).
    expect(owner(start, "192.0.2.5")).toBe("a");
    expect(owner(start, "203.0.113.1")).toBe("unattributed");
  });

  it("serve: the start version's model is built whole when asked for, with no updater state kept", async () => {
    const build = vi.spyOn(CustomerModelUpdater.prototype, "build");
    onTestFinished(() => build.mockRestore());
    const { runtime } = await runtimeOnTwo();
    expect(owner(runtime.current(), "198.51.100.1")).toBe("b");
    await new Promise((r) => setImmediate(r));
    expect(build).not.toHaveBeenCalled();
  });

  it("onVersion (the billing-profile recorder) gets each version without making its model; a version tells which customers changed since an earlier one", async () => {
    const { store, runtime } = await runtimeOnTwo();
    const start = runtime.current();
    const seen: AppliedRegistry[] = [];
    runtime.onVersion((a) => {
      seen.push(a);
    });
    await store.apply(MOVE, { actor: "t" });
    await waitFor("version 2", () => runtime.appliedVersion() === 2, 500);
    // Still serve's way: the model is a getter, made when asked.
    expect(seen.map((a) => a.version)).toEqual([2]);
    expect(typeof Object.getOwnPropertyDescriptor(seen[0]!, "model")?.get).toBe("function");
    // Its config's customers too: reading its service types does not make them.
    expect(seen[0]!.config.serviceTypes).toEqual([]);
    expect(typeof Object.getOwnPropertyDescriptor(seen[0]!.config, "customers")?.get).toBe(
      "function",
    );
    const ids = (changes: ReturnType<AppliedRegistry["changedSince"]>) =>
      changes?.map((c) => [
        c.id,
        c.after === undefined ? "removed" : c.after.sites[0]!.links[0]!.prefixes,
      ]);
    expect(ids(seen[0]!.changedSince(start))).toEqual([
      ["a", ["203.0.113.0/28"]],
      ["b", ["198.51.100.0/28", "192.0.2.0/28"]],
    ]);
    await store.apply([{ op: "update", customer: "a", set: { name: "Renamed" } }], { actor: "t" });
    await waitFor("version 3", () => runtime.appliedVersion() === 3, 500);
    await store.apply([{ op: "delete", customer: "b" }], { actor: "t" });
    await waitFor("version 4", () => runtime.appliedVersion() === 4, 500);
    const [v2, v3, v4] = seen;
    /**
     * What `later` tells since `earlier`: it may name more customers than changed (those of the
     * versions between share one record of changes), each as `later` has it.
     */
    const told = (later: AppliedRegistry, earlier: AppliedRegistry) => {
      const changes = later.changedSince(earlier)!;
      const now = new Map(later.config.customers.map((c) => [c.id, c]));
      for (const c of changes) expect(c.after).toBe(now.get(c.id));
      return new Map(changes.map((c) => [c.id, c.after?.name ?? "removed"]));
    };
    expect(told(v3!, v2!).get("a")).toBe("Renamed");
    expect(told(v4!, v3!).get("b")).toBe("removed");
    expect(told(v4!, start)).toEqual(
      new Map([
        ["a", "Renamed"],
        ["b", "removed"],
      ]),
    );
    expect(v4!.changedSince(v4!)).toEqual([]);
    // With onApplied too (run), the model is made before both are called.
    runtime.onApplied(() => {});
    await store.apply(customerWithLink("c", "203.0.113.16/28"), { actor: "t" });
    await waitFor("version 5", () => runtime.appliedVersion() === 5, 2000);
    expect(Object.getOwnPropertyDescriptor(seen[3]!, "model")?.get).toBeUndefined();
    expect(told(seen[3]!, v4!).get("c")).toBe("C");
    // Past the registry's record of one run of changes (256 customers): the trees are walked.
    const many = Array.from({ length: 300 }, (_, k) =>
      customerWithLink(`m${k}`, `10.${k >> 8}.${k & 255}.0/28`),
    ).flat();
    await store.apply(many, { actor: "t" });
    await store.apply([{ op: "update", customer: "a", set: { name: "Again" } }], { actor: "t" });
    await waitFor("version 7", () => runtime.appliedVersion() === 7, 5000);
    const across = told(seen[5]!, seen[3]!);
    expect(across.size).toBe(301);
    expect(across.get("a")).toBe("Again");
    expect(across.get("m299")).toBe("M299");
  });

  /**
   * A runtime whose builds turn the loop after every step; `during()` runs once, at the first
   * turn of the next build (the API's work between two slices, in `run`).
   */
  async function slicedRuntime() {
    let during: (() => Promise<void>) | undefined;
    let turns = 0;
    const { store, runtime } = await runtimeOnTwo({
      sliceMs: 0,
      between: async () => {
        turns++;
        const hook = during;
        during = undefined;
        await hook?.();
      },
    });
    const seen: AppliedRegistry[] = [];
    runtime.onApplied((a) => {
      seen.push(a);
    });
    return {
      store,
      runtime,
      seen,
      turns: () => turns,
      whileBuilding(hook: () => Promise<void>) {
        during = hook;
      },
    };
  }

  it("run: builds a version in slices, the old one classifying meanwhile; versions committed during a build are folded into the next, the newest winning", async () => {
    const { store, runtime, seen, turns, whileBuilding } = await slicedRuntime();
    let midBuild: { version: number; owner: string } | undefined;
    whileBuilding(async () => {
      midBuild = {
        version: runtime.appliedVersion(),
        owner: owner(runtime.current(), "192.0.2.5"),
      };
      await store.apply([{ op: "delete", customer: "b" }], { actor: "t" }); // version 3
      await store.apply(customerWithLink("c", "192.0.2.0/28"), { actor: "t" }); // version 4
    });
    await store.apply(MOVE, { actor: "t" }); // version 2
    await waitFor("version 4", () => runtime.appliedVersion() === 4);
    expect(midBuild).toEqual({ version: 1, owner: "a" });
    expect(turns()).toBeGreaterThan(1);
    // Version 2, then one build for 3 and 4 together: its tree is 4's.
    expect(seen.map((a) => a.version)).toEqual([2, 4]);
    expect(owner(seen[0]!, "192.0.2.5")).toBe("b");
    expect(owner(runtime.current(), "192.0.2.5")).toBe("c");
    expect(owner(runtime.current(), "203.0.113.1")).toBe("a");
    expect(owner(runtime.current(), "198.51.100.1")).toBe("unattributed");
    expect(runtime.current().model.customers.map((c) => c.id)).toEqual(["a", "c"]);
    expect(runtime.status().appliedVersion).toBe(4);
  });

  it("run: a SIGHUP during a version's build gives that version the new classes", async () => {
    const { store, runtime, seen, whileBuilding } = await slicedRuntime();
    whileBuilding(async () => {
      runtime.rebase(
        parseConfigText(
          "registry: { source: database }\nclasses: [{ id: voip, match: { ports: [5060] } }]",
          "t.yaml",
          "/tmp",
        ),
      );
    });
    await store.apply(MOVE, { actor: "t" });
    await waitFor("version 2", () => runtime.appliedVersion() === 2);
    expect(seen.map((a) => a.version)).toEqual([2]);
    expect(seen[0]!.model.classIds).toEqual(["voip", "default"]);
    expect(seen[0]!.config.classes.map((c) => c.id)).toEqual(["voip"]);
    expect(owner(seen[0]!, "192.0.2.5")).toBe("b");
  });

  it("keeps the config's customers with registry.source: config (version 0, no store)", async () => {
    const cfg = parseConfigText(
      "customers: [{ id: c, name: C, sites: [{ id: s, links: [{ id: l, prefixes: [10.0.0.0/24] }] }] }]",
      "t.yaml",
      "/tmp",
    );
    const runtime = createRegistryRuntime(cfg, { log: silent });
    await runtime.start();
    expect(runtime.store).toBeUndefined();
    expect(runtime.status()).toEqual({ source: "config", appliedVersion: 0, appliedAt: null });
    expect(owner(runtime.current(), "10.0.0.9")).toBe("c");
    // Nothing to tell between two configs (a SIGHUP): the recorder compares them whole.
    expect(runtime.rebase(cfg).changedSince(runtime.current())).toBeUndefined();
    await runtime.stop();
  });
});

describe("registry runtime, scaled out (PostgreSQL)", () => {
  let server: PostgresServer;
  let databases = 0;
  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(() => server?.close());

  async function freshDatabase(): Promise<string> {
    return server.database(`live_${++databases}`);
  }

  async function started(url: string): Promise<RegistryStore> {
    const store = createPostgresRegistry({ url, reconnectMs: { min: 50, max: 200 } });
    await store.start();
    onTestFinished(() => store.stop());
    return store;
  }

  it("follows another process's commits through NOTIFY, also after its listening connection drops", async () => {
    const url = await freshDatabase();
    const writer = await started(url);
    await writer.apply(TWO, { actor: "t" });
    const reader = await started(url);
    // No poll during the test: only notifications (and the reconnect's read) can bring a version.
    const runtime = createRegistryRuntime(databaseConfig(), {
      log: silent,
      store: reader,
      pollMs: 3_600_000,
    });
    await runtime.start();
    onTestFinished(() => runtime.stop());
    expect(owner(runtime.current(), "192.0.2.5")).toBe("a");
    const t0 = Date.now();
    const { version } = await writer.apply(MOVE, { actor: "t" });
    await waitFor("the moved prefix", () => runtime.appliedVersion() === version);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(owner(runtime.current(), "192.0.2.5")).toBe("b");
    // The reader read only what changed: its tree equals a fresh full read.
    const fresh = await started(url);
    expect((await reader.snapshot()).customers.toArray()).toEqual(
      (await fresh.snapshot()).customers.toArray(),
    );
    expect((await reader.snapshot()).version).toBe((await fresh.snapshot()).version);

    // The listening connection is killed, and a change committed while it is down.
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    onTestFinished(() => admin.end());
    const killed = await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
      [LISTEN_APPLICATION_NAME],
    );
    expect(killed.rowCount).toBeGreaterThan(0);
    const deleted = await writer.apply([{ op: "delete", customer: "b" }], { actor: "t" });
    await waitFor("the deletion", () => runtime.appliedVersion() === deleted.version);
    expect(owner(runtime.current(), "192.0.2.5")).toBe("unattributed");
    expect((await reader.snapshot()).customers.toArray()).toEqual(
      (await fresh.snapshot()).customers.toArray(),
    );
    expect((await reader.snapshot()).version).toBe((await fresh.snapshot()).version);
    // A notification with no change behind it (sent by hand) leaves the version as it is.
    await admin.query(`SELECT pg_notify('${REGISTRY_CHANNEL}', '999')`);
    await new Promise((r) => setTimeout(r, 200));
    expect(runtime.appliedVersion()).toBe(deleted.version);
    const more = await writer.apply([{ op: "add", customer: "c", record: { name: "C" } }], {
      actor: "t",
    });
    await waitFor("a later version", () => runtime.appliedVersion() === more.version);
  });

  it("keeps classifying with the last version while the database is away, says so in health, and catches up", async () => {
    const own = await startPostgres();
    onTestFinished(() => own.close(), 30_000);
    const writer = createPostgresRegistry({ url: own.url });
    await writer.start();
    await writer.apply(TWO, { actor: "t" });
    await writer.stop();
    const reader = createPostgresRegistry({ url: own.url, reconnectMs: { min: 50, max: 200 } });
    const runtime = createRegistryRuntime(databaseConfig(), {
      log: silent,
      store: reader,
      pollMs: 100,
    });
    await runtime.start();
    onTestFinished(() => runtime.stop());
    // Every connection of the reader is cut, and new ones refused, as when the database is away.
    const adminUrl = new URL(own.url);
    adminUrl.pathname = "/postgres";
    const admin = new pg.Client({ connectionString: adminUrl.toString() });
    admin.on("error", () => undefined);
    await admin.connect();
    await admin.query("ALTER DATABASE flowtally ALLOW_CONNECTIONS false");
    await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'flowtally'",
    );
    await waitFor("health names the registry", () => runtime.health().length > 0);
    expect(runtime.health()).toEqual([{ name: "registry", code: "FT_REGISTRY_OPEN" }]);
    expect(runtime.appliedVersion()).toBe(1);
    expect(owner(runtime.current(), "192.0.2.5")).toBe("a");
    await admin.query("ALTER DATABASE flowtally ALLOW_CONNECTIONS true");
    await admin.end();
    const back = createPostgresRegistry({ url: own.url });
    await back.start();
    onTestFinished(() => back.stop());
    const moved = await back.apply(MOVE, { actor: "t" });
    await waitFor("caught up", () => runtime.appliedVersion() === moved.version);
    expect(runtime.health()).toEqual([]);
    expect(owner(runtime.current(), "192.0.2.5")).toBe("b");
  }, 60_000);
});
