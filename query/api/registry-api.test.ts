/**
 * The customer registry's HTTP API against a real started server on loopback: the embedded
 * registry (DuckDB) in a temporary directory for every route, the same core flow on a PostgreSQL
 * started by the harness, and the config's customers read-only. Expected values come from the
 * requests made (versions count the writes, the actor is the token's digest computed here).
 */
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCustomerModel } from "../../collector/classify/customer-model.js";
import { validateConfig } from "../../config/load-config.js";
import { createDuckDbRegistry } from "../../registry/duckdb-registry.js";
import type { RegistryStore } from "../../registry/index.js";
import { createPostgresRegistry } from "../../registry/postgres-registry.js";
import type { SeriesStore } from "../../schema/series-store.js";
import { createDuckDbStore } from "../../store/duckdb-store.js";
import { captureLog } from "../../test/support/log-capture.js";
import { type PostgresServer, startPostgres } from "../../test/support/servers.js";
import { atAllLevels } from "../../test/support/store-conformance.js";
import {
  type ApiServer,
  configRegistry,
  createApiServer,
  databaseRegistry,
  OPENAPI_PATH,
} from "./index.js";

const TOKEN = "operator-token-0123456789";
const ACTOR = `operator-token:${createHash("sha256").update(TOKEN).digest("hex").slice(0, 4)}`;
const T0 = Date.UTC(2026, 10, 22);

let dir: string;
let series: SeriesStore;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "flowtally-registry-api-"));
  series = createDuckDbStore({ path: join(dir, "series.duckdb") });
  await series.start();
});

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await series.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: test JSON
  json: any;
}

type Client = (
  method: string,
  path: string,
  options?: { body?: unknown; raw?: string; headers?: Record<string, string> },
) => Promise<Answer>;

/** A POST announcing `length` bytes and sending a few: the answer the server gives at once. */
function announced(port: number, path: string, length: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: "POST",
        headers: {
          authorization: `Bearer ${TOKEN}`,
          "content-type": "application/json",
          "content-length": String(length),
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          text += c;
        });
        res.on("end", () => {
          req.destroy();
          resolve({
            status: res.statusCode ?? 0,
            headers: new Headers(),
            json: JSON.parse(text),
          });
        });
      },
    );
    req.on("error", reject);
    req.write("{");
  });
}

function clientOf(port: number): Client & { port: number } {
  const client: Client = async (method, path, options = {}) => {
    const headers: Record<string, string> = {
      authorization: `Bearer ${TOKEN}`,
      ...(options.body === undefined && options.raw === undefined
        ? {}
        : { "content-type": "application/json" }),
      ...options.headers,
    };
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers,
      ...(options.raw !== undefined
        ? { body: options.raw }
        : options.body === undefined
          ? {}
          : { body: JSON.stringify(options.body) }),
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      json: text === "" ? undefined : JSON.parse(text),
    };
  };
  return Object.assign(client, { port });
}

const emptyConfig = validateConfig({
  api: { listen: "127.0.0.1:0", operatorTokens: [TOKEN] },
  registry: { source: "database" },
});

let embedded = 0;
/** A started API on a fresh registry store. */
async function serve(
  store: RegistryStore,
  exclusive: boolean,
  cfg = emptyConfig,
): Promise<{ api: ApiServer; call: ReturnType<typeof clientOf>; store: RegistryStore }> {
  await store.start();
  const api = createApiServer({
    config: cfg,
    model: buildCustomerModel(cfg),
    store: series,
    log: captureLog().log,
    now: () => T0 + 12 * 3_600_000,
    registry: databaseRegistry(store, { exclusive }),
  });
  const { port } = await api.listen();
  cleanups.push(async () => {
    await api.close();
    await store.stop();
  });
  return { api, call: clientOf(port), store };
}

const freshEmbedded = () =>
  serve(createDuckDbRegistry({ path: join(dir, `registry-${++embedded}.duckdb`) }), true);

const ACME = { id: "acme", name: "ACME Corp", serviceType: "business", contact: "Ada" };
const HQ = { id: "hq", name: "Head office", address: "Main St 1" };
const L1 = {
  id: "l1",
  prefixes: ["192.0.2.0/28"],
  commitRate: "100M",
  router: "198.51.100.1",
  ifIndex: 7,
};

/** Every route's happy path, one after the other; each write moves the version by one. */
async function coreFlow(call: Client) {
  let r = await call("POST", "/api/v1/customers", { body: ACME });
  expect(r.status).toBe(201);
  expect(r.headers.get("location")).toBe("/api/v1/customers/acme");
  expect(r.headers.get("etag")).toBe('"1"');
  expect(r.headers.get("registry-version")).toBe("1");
  expect(r.json).toEqual({ ...ACME, revision: 1, siteCount: 0, linkCount: 0 });

  r = await call("GET", "/api/v1/customers/acme");
  expect([r.status, r.headers.get("etag")]).toEqual([200, '"1"']);
  r = await call("GET", "/api/v1/customers/acme", { headers: { "if-none-match": '"1"' } });
  expect([r.status, r.headers.get("etag"), r.json]).toEqual([304, '"1"', undefined]);
  r = await call("GET", "/api/v1/customers/acme", { headers: { "if-none-match": '"0"' } });
  expect(r.status).toBe(200);

  r = await call("POST", "/api/v1/customers/acme/sites", { body: HQ });
  expect([r.status, r.headers.get("registry-version")]).toEqual([201, "2"]);
  expect(r.headers.get("location")).toBe("/api/v1/customers/acme/sites/hq");
  r = await call("POST", "/api/v1/customers/acme/sites/hq/links", { body: L1 });
  expect([r.status, r.headers.get("registry-version")]).toEqual([201, "3"]);
  expect(r.json).toEqual({ ...L1, commitRate: 100_000_000, revision: 3 });

  r = await call("GET", "/api/v1/customers");
  expect(r.json).toEqual({
    items: [{ ...ACME, revision: 1, siteCount: 1, linkCount: 1 }],
    total: 1,
    registryVersion: 3,
    next: null,
  });
  r = await call("GET", "/api/v1/customers/acme/sites");
  expect(r.json.items).toEqual([{ ...HQ, revision: 2, linkCount: 1 }]);
  r = await call("GET", "/api/v1/customers/acme/sites/hq/links?fields=prefixes");
  expect(r.json.items).toEqual([{ id: "l1", prefixes: ["192.0.2.0/28"] }]);
  r = await call("GET", "/api/v1/customers/acme/sites/hq");
  expect([r.status, r.headers.get("etag")]).toEqual([200, '"2"']);
  r = await call("GET", "/api/v1/customers/acme/sites/hq/links/l1");
  expect([r.status, r.headers.get("etag")]).toEqual([200, '"3"']);

  // PATCH with If-Match: null removes an optional field.
  r = await call("PATCH", "/api/v1/customers/acme", {
    body: { name: "Acme", contact: null },
    headers: { "if-match": '"1"' },
  });
  expect([r.status, r.headers.get("etag"), r.headers.get("registry-version")]).toEqual([
    200,
    '"4"',
    "4",
  ]);
  expect(r.json).toEqual({
    id: "acme",
    name: "Acme",
    serviceType: "business",
    revision: 4,
    siteCount: 1,
    linkCount: 1,
  });
  // The whole list's rows, whose text is kept between pages: the changed one is new.
  r = await call("GET", "/api/v1/customers");
  expect(r.json.items).toEqual([
    { id: "acme", name: "Acme", serviceType: "business", revision: 4, siteCount: 1, linkCount: 1 },
  ]);
  r = await call("PATCH", "/api/v1/customers/acme/sites/hq", {
    body: { description: "3rd floor" },
  });
  expect([r.status, r.json.description, r.json.revision]).toEqual([200, "3rd floor", 5]);
  r = await call("PATCH", "/api/v1/customers/acme/sites/hq/links/l1", {
    body: { prefixes: ["192.0.2.0/27"] },
    headers: { "if-match": "*" },
  });
  expect([r.status, r.json.prefixes, r.json.revision]).toEqual([200, ["192.0.2.0/27"], 6]);

  r = await call("DELETE", "/api/v1/customers/acme/sites/hq/links/l1", {
    headers: { "if-match": '"6"' },
  });
  expect([r.status, r.headers.get("registry-version")]).toEqual([204, "7"]);
  r = await call("GET", "/api/v1/customers/acme/sites/hq/links/l1");
  expect([r.status, r.json.error.code]).toEqual([404, "FT_NOT_FOUND"]);
  // The list's counts follow a change under the customer (its rows are kept between versions).
  r = await call("GET", "/api/v1/customers?fields=linkCount,siteCount&sort=linkCount");
  expect(r.json.items).toEqual([{ id: "acme", siteCount: 1, linkCount: 0 }]);
  r = await call("DELETE", "/api/v1/customers/acme/sites/hq");
  expect([r.status, r.headers.get("registry-version")]).toEqual([204, "8"]);
  r = await call("DELETE", "/api/v1/customers/acme", { headers: { "if-match": '"4"' } });
  expect([r.status, r.headers.get("registry-version")]).toEqual([204, "9"]);
  r = await call("GET", "/api/v1/customers/acme");
  expect(r.status).toBe(404);

  r = await call("GET", "/api/v1/registry/audit?limit=5");
  expect(r.json.entries.map((e: { op: string; path: string }) => `${e.op} ${e.path}`)).toEqual([
    "add customers/acme",
    "add customers/acme/sites/hq",
    "add customers/acme/sites/hq/links/l1",
    "update customers/acme",
    "update customers/acme/sites/hq",
  ]);
  expect(new Set(r.json.entries.map((e: { actor: string }) => e.actor))).toEqual(new Set([ACTOR]));
  expect(r.json.entries[3].before).toMatchObject({ name: "ACME Corp", contact: "Ada" });
  const next = await call("GET", `/api/v1/registry/audit?limit=5&cursor=${r.json.next}`);
  expect(next.json.entries.map((e: { version: number }) => e.version)).toEqual([6, 7, 8, 9]);
  expect(next.json.next).toBeNull();
  r = await call("GET", "/api/v1/registry/audit?since=8");
  expect(r.json.entries.map((e: { path: string }) => e.path)).toEqual(["customers/acme"]);
}

describe("registry API on the embedded registry (DuckDB)", () => {
  it("answers every route's happy path, with ETags, versions and the audit", async () => {
    const { call } = await freshEmbedded();
    await coreFlow(call);
  });

  it("documents every registry route with its method and request body", async () => {
    const { call } = await freshEmbedded();
    const doc = (await call("GET", OPENAPI_PATH)).json;
    expect(Object.keys(doc.paths["/api/v1/customers/{id}"]).sort()).toEqual([
      "delete",
      "get",
      "patch",
    ]);
    expect(Object.keys(doc.paths["/api/v1/customers"]).sort()).toEqual(["get", "post"]);
    expect(doc.paths["/api/v1/changes"].post.requestBody.content["application/json"]).toBeDefined();
    expect(doc.paths["/api/v1/customers/{id}/sites/{site}/links"].post.requestBody).toBeDefined();
    expect(doc.paths["/api/v1/customers/{id}/series"].delete).toBeDefined();
    expect(doc.paths["/api/v1/registry/audit"].get).toBeDefined();
  });

  it("never lets a stale edit overwrite: two clients racing with the same If-Match", async () => {
    const { call } = await freshEmbedded();
    await call("POST", "/api/v1/customers", { body: ACME });
    const etag = (await call("GET", "/api/v1/customers/acme")).headers.get("etag")!;
    const [a, b] = await Promise.all(
      ["Alpha", "Beta"].map((name) =>
        call("PATCH", "/api/v1/customers/acme", { body: { name }, headers: { "if-match": etag } }),
      ),
    );
    const statuses = [a!.status, b!.status].sort();
    expect(statuses).toEqual([200, 412]);
    const [won, lost] = a!.status === 200 ? [a!, b!] : [b!, a!];
    expect(lost.json.error.code).toBe("FT_REGISTRY_CONFLICT");
    expect(lost.json.error.revision).toBe(2);
    expect(lost.headers.get("etag")).toBe('"2"');
    const now = await call("GET", "/api/v1/customers/acme");
    expect(now.json.name).toBe(won.json.name);
    // A stale DELETE is refused too; the current ETag goes through.
    let r = await call("DELETE", "/api/v1/customers/acme", { headers: { "if-match": '"1"' } });
    expect([r.status, r.json.error.revision]).toEqual([412, 2]);
    r = await call("DELETE", "/api/v1/customers/acme", { headers: { "if-match": 'W/"2"' } });
    expect(r.status).toBe(412); // a weak tag never matches If-Match
    r = await call("DELETE", "/api/v1/customers/acme", { headers: { "if-match": '"7", "2"' } });
    expect(r.status).toBe(204);
  });

  it("applies a change set atomically: one bad operation writes nothing; a prefix moves in one set", async () => {
    const { call } = await freshEmbedded();
    const setup = {
      changes: [
        { op: "add", customer: "a", record: { name: "A" } },
        { op: "add", customer: "a", site: "s", record: {} },
        {
          op: "add",
          customer: "a",
          site: "s",
          link: "x",
          record: { prefixes: ["203.0.113.0/24"] },
        },
        { op: "add", customer: "b", record: { name: "B" } },
        { op: "add", customer: "b", site: "s", record: {} },
        {
          op: "add",
          customer: "b",
          site: "s",
          link: "y",
          record: { prefixes: ["198.51.100.0/24"] },
        },
      ],
    };
    let r = await call("POST", "/api/v1/changes", { body: setup });
    expect([r.status, r.json.registryVersion, r.json.summary]).toEqual([
      200,
      1,
      { add: 6, update: 0, delete: 0 },
    ]);
    expect(r.headers.get("registry-version")).toBe("1");

    // The third operation gives b a prefix a keeps: refused, and the two good ones with it.
    r = await call("POST", "/api/v1/changes", {
      body: {
        changes: [
          { op: "update", customer: "a", set: { name: "A2" } },
          { op: "add", customer: "c", record: { name: "C" } },
          {
            op: "update",
            customer: "b",
            site: "s",
            link: "y",
            set: { prefixes: ["203.0.113.0/24"] },
          },
        ],
      },
    });
    expect([r.status, r.json.error.code]).toEqual([422, "FT_REGISTRY_INVALID"]);
    expect(r.json.error.problems.map((p: { path: string }) => p.path)).toContain(
      "customers/b/sites/s/links/y.prefixes[0]",
    );
    expect((await call("GET", "/api/v1/customers/a")).json.name).toBe("A");
    expect((await call("GET", "/api/v1/customers/c")).status).toBe(404);
    expect((await call("GET", "/api/v1/customers")).json.registryVersion).toBe(1);

    // The same prefix moves from a to b in one set: a dry run first, which writes nothing.
    const move = {
      changes: [
        {
          op: "update",
          customer: "a",
          site: "s",
          link: "x",
          set: { prefixes: ["192.0.2.0/24"] },
          ifRevision: 1,
        },
        {
          op: "update",
          customer: "b",
          site: "s",
          link: "y",
          set: { prefixes: ["203.0.113.0/24"] },
        },
      ],
    };
    r = await call("POST", "/api/v1/changes?dryRun=true", { body: move });
    expect([
      r.status,
      r.json.dryRun,
      r.json.registryVersion,
      r.headers.get("registry-version"),
    ]).toEqual([200, true, 1, null]);
    expect(r.json.changes[1]).toMatchObject({
      op: "update",
      path: "customers/b/sites/s/links/y",
      before: { prefixes: ["198.51.100.0/24"] },
      after: { prefixes: ["203.0.113.0/24"] },
    });
    expect((await call("GET", "/api/v1/customers/b/sites/s/links/y")).json.prefixes).toEqual([
      "198.51.100.0/24",
    ]);
    r = await call("POST", "/api/v1/changes", { body: move });
    expect([r.status, r.json.registryVersion]).toEqual([200, 2]);
    expect((await call("GET", "/api/v1/customers/b/sites/s/links/y")).json.prefixes).toEqual([
      "203.0.113.0/24",
    ]);
    // The same set again: its ifRevision is stale now.
    r = await call("POST", "/api/v1/changes", { body: move });
    expect([r.status, r.json.error.code]).toEqual([412, "FT_REGISTRY_CONFLICT"]);
  });

  it("walks 2 100 customers page by page exactly once while others are added", async () => {
    const { call } = await freshEmbedded();
    const ids = Array.from({ length: 2100 }, (_, k) => `c${String(k * 2).padStart(5, "0")}`);
    const r = await call("POST", "/api/v1/changes", {
      body: {
        changes: ids.map((id) => ({ op: "add", customer: id, record: { name: `N ${id}` } })),
      },
    });
    expect(r.status).toBe(200);
    const seen: string[] = [];
    let cursor: string | null = null;
    let added = 0;
    let pages = 0;
    do {
      const page: Answer = await call(
        "GET",
        `/api/v1/customers?limit=97&fields=id${cursor === null ? "" : `&cursor=${cursor}`}`,
      );
      expect(page.status).toBe(200);
      seen.push(...page.json.items.map((i: { id: string }) => i.id));
      cursor = page.json.next;
      pages += 1;
      // Between pages, a customer lands before the position and one after it (odd ids).
      const before = `c${String(Math.max(0, pages * 40 - 39) * 2 - 1).padStart(5, "0")}`;
      const after = `c${String(pages * 97 * 2 + 301).padStart(5, "0")}`;
      for (const id of [before, after]) {
        const w = await call("POST", "/api/v1/customers", { body: { id, name: id } });
        if (w.status === 201) added += 1;
      }
    } while (cursor !== null);
    expect(added).toBeGreaterThan(40);
    // Every customer there all along exactly once, in order; none twice.
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((id) => ids.includes(id))).toEqual(ids);
    expect([...seen].sort()).toEqual(seen);
  });

  it("a list after this process's writes shows exactly them (rows patched, not rebuilt)", async () => {
    const { call } = await freshEmbedded();
    const r = await call("POST", "/api/v1/changes", {
      body: {
        changes: ["b", "d", "f", "h"].map((id) => ({
          op: "add",
          customer: id,
          record: { name: `N-${id}` },
        })),
      },
    });
    expect(r.status).toBe(200);
    const list = async (sort: string) =>
      (await call("GET", `/api/v1/customers?fields=id,name&sort=${sort}`)).json.items;
    // The rows and both sorted orders made at this version.
    expect((await list("id")).map((i: { id: string }) => i.id)).toEqual(["b", "d", "f", "h"]);
    expect((await list("name")).length).toBe(4);
    // Three writes: one added before the first, one renamed, one deleted.
    expect(
      (await call("POST", "/api/v1/customers", { body: { id: "a", name: "N-z" } })).status,
    ).toBe(201);
    expect((await call("PATCH", "/api/v1/customers/f", { body: { name: "N-a" } })).status).toBe(
      200,
    );
    expect((await call("DELETE", "/api/v1/customers/d")).status).toBe(204);
    expect(await list("id")).toEqual([
      { id: "a", name: "N-z" },
      { id: "b", name: "N-b" },
      { id: "f", name: "N-a" },
      { id: "h", name: "N-h" },
    ]);
    expect((await list("name")).map((i: { id: string }) => i.id)).toEqual(["f", "b", "h", "a"]);
    // An order first asked for now is made from the patched rows.
    expect((await list("serviceType")).map((i: { id: string }) => i.id).sort()).toEqual([
      "a",
      "b",
      "f",
      "h",
    ]);
  });

  it("sorts by any column, selects fields, filters, and refuses unknown fields and sorts", async () => {
    const { call } = await freshEmbedded();
    await call("POST", "/api/v1/changes", {
      body: {
        changes: [
          {
            op: "add",
            customer: "a1",
            record: { name: "Zeta", serviceType: "home", description: "north" },
          },
          { op: "add", customer: "a2", record: { name: "Alpha", serviceType: "business" } },
          { op: "add", customer: "a3", record: { name: "Mid", serviceType: "business" } },
          { op: "add", customer: "a3", site: "s1", record: {} },
          { op: "add", customer: "a3", site: "s2", record: {} },
          { op: "add", customer: "a2", site: "s1", record: {} },
        ],
      },
    });
    const ids = async (q: string) => {
      const r = await call("GET", `/api/v1/customers?${q}`);
      expect(r.status, q).toBe(200);
      return r.json.items.map((i: { id: string }) => i.id);
    };
    expect(await ids("sort=name")).toEqual(["a2", "a3", "a1"]);
    expect(await ids("sort=name&order=desc")).toEqual(["a1", "a3", "a2"]);
    expect(await ids("sort=siteCount&order=desc")).toEqual(["a3", "a2", "a1"]);
    expect(await ids("serviceType=business")).toEqual(["a2", "a3"]);
    expect(await ids("q=NORTH")).toEqual(["a1"]);
    expect(await ids("q=alp")).toEqual(["a2"]);
    // Sorted pages, two at a time, desc by name.
    const first = await call("GET", "/api/v1/customers?sort=name&order=desc&limit=2");
    expect(first.json.items.map((i: { id: string }) => i.id)).toEqual(["a1", "a3"]);
    expect(first.json.total).toBe(3);
    const second = await call(
      "GET",
      `/api/v1/customers?sort=name&order=desc&limit=2&cursor=${first.json.next}`,
    );
    expect([second.json.items.map((i: { id: string }) => i.id), second.json.next]).toEqual([
      ["a2"],
      null,
    ]);
    const other = await call("GET", `/api/v1/customers?sort=id&limit=2&cursor=${first.json.next}`);
    expect([other.status, other.json.error.parameter]).toEqual([400, "cursor"]);

    const f = await call("GET", "/api/v1/customers?fields=name,serviceType&limit=1");
    expect(f.json.items).toEqual([{ id: "a1", name: "Zeta", serviceType: "home" }]);
    let r = await call("GET", "/api/v1/customers?fields=name,secret");
    expect([r.status, r.json.error.parameter]).toEqual([400, "fields"]);
    expect(r.json.error.message).toContain('"secret"');
    r = await call("GET", "/api/v1/customers?sort=password");
    expect([r.status, r.json.error.parameter]).toEqual([400, "sort"]);
    r = await call("GET", "/api/v1/customers?limit=1001");
    expect([r.status, r.json.error.parameter]).toEqual([400, "limit"]);
  });

  it("refuses bad bodies with 4xx naming the field", async () => {
    const { call } = await freshEmbedded();
    let r = await call("POST", "/api/v1/customers", {
      body: { id: "x", name: "X", colour: "red" },
    });
    expect([r.status, r.json.error.code]).toEqual([400, "FT_BAD_BODY"]);
    expect(r.json.error.problems).toEqual([
      { path: "colour", reason: "is not a field of this record" },
    ]);
    r = await call("POST", "/api/v1/customers", { body: { id: "bad id!", name: "X" } });
    expect([r.status, r.json.error.problems[0].path]).toEqual([400, "id"]);
    expect(r.json.error.problems[0].reason).toMatch(/letters, digits/);
    r = await call("POST", "/api/v1/customers", { body: { id: "x" } });
    expect([r.status, r.json.error.problems[0].path]).toEqual([400, "name"]);
    r = await call("POST", "/api/v1/customers", { raw: "{not json" });
    expect([r.status, r.json.error.code]).toEqual([400, "FT_BAD_BODY"]);
    r = await call("POST", "/api/v1/customers", {
      raw: JSON.stringify({ id: "x", name: "X" }),
      headers: { "content-type": "text/plain" },
    });
    expect([r.status, r.json.error.code]).toEqual([415, "FT_UNSUPPORTED_MEDIA_TYPE"]);
    // A body over 1 MiB is refused from its Content-Length, before it is read.
    const big = await announced(call.port, "/api/v1/customers", 1024 * 1024 + 1);
    expect([big.status, big.json.error.code]).toEqual([413, "FT_BODY_TOO_LARGE"]);
    expect(big.json.error.message).toBe("the request body is larger than 1048576 bytes");
    // A change set may be larger (api.maxChangeSetBytes, 16 MiB by default) but not unbounded.
    const huge = await announced(call.port, "/api/v1/changes", 16 * 1024 * 1024 + 1);
    expect([huge.status, huge.json.error.message]).toEqual([
      413,
      "the request body is larger than 16777216 bytes",
    ]);
    // A change set may be larger than an item (api.maxChangeSetBytes, 16 MiB by default).
    r = await call("POST", "/api/v1/changes", {
      body: {
        changes: [
          { op: "add", customer: "big", record: { name: "B", description: "d".repeat(4000) } },
        ],
        pad: "x".repeat(1024 * 1024),
      },
    });
    expect([r.status, r.json.error.problems]).toEqual([
      400,
      [{ path: "pad", reason: "is not a field of this record" }],
    ]);

    await call("POST", "/api/v1/customers", { body: { id: "x", name: "X" } });
    r = await call("POST", "/api/v1/customers", { body: { id: "x", name: "X" } });
    expect([r.status, r.json.error.code]).toEqual([409, "FT_REGISTRY_EXISTS"]);
    await call("POST", "/api/v1/customers/x/sites", { body: { id: "s" } });
    r = await call("POST", "/api/v1/customers/x/sites/s/links", {
      body: { id: "l", prefixes: ["10.0.0.1/24"] },
    });
    expect([r.status, r.json.error.code]).toEqual([422, "FT_REGISTRY_INVALID"]);
    expect(r.json.error.problems[0].path).toBe("prefixes[0]");
    expect(r.json.error.problems[0].reason).toMatch(/host bits/);
    r = await call("PATCH", "/api/v1/customers/x", { body: { id: "y" } });
    expect([r.status, r.json.error.problems[0].path]).toEqual([400, "id"]);
    r = await call("PATCH", "/api/v1/customers/x", { body: { motd: 5 } });
    expect([r.status, r.json.error.problems[0].path]).toEqual([400, "motd"]);
    r = await call("PATCH", "/api/v1/customers/x/sites/s", { body: { prefixes: [] } });
    expect([r.status, r.json.error.problems[0].path]).toEqual([400, "prefixes"]);
    r = await call("PATCH", "/api/v1/customers/x", { body: { name: null } });
    expect([r.status, r.json.error.problems[0].path]).toEqual([422, "name"]);
    // Unknown customers and sites: 404, the same body shape whichever id.
    for (const path of [
      "/api/v1/customers/nobody",
      "/api/v1/customers/nobody/sites",
      "/api/v1/customers/x/sites/none/links",
    ]) {
      r = await call("GET", path);
      expect([r.status, Object.keys(r.json.error).sort()], path).toEqual([
        404,
        ["code", "message"],
      ]);
    }
    r = await call("POST", "/api/v1/customers/nobody/sites", { body: { id: "s" } });
    expect(r.status).toBe(404);
    r = await call("PUT", "/api/v1/customers/x", { body: {} });
    expect([r.status, r.headers.get("allow")]).toEqual([405, "GET, HEAD, PATCH, DELETE"]);
  });

  it("answers 503 without the cause when the registry cannot be reached", async () => {
    const { call, store } = await freshEmbedded();
    await store.stop();
    const r = await call("GET", "/api/v1/customers");
    expect([r.status, r.json.error]).toEqual([
      503,
      {
        code: "FT_REGISTRY_UNAVAILABLE",
        message: "the customer registry cannot be reached; see the server log",
      },
    ]);
  });

  it("keeps a deleted customer's series readable until an explicit purge removes them", async () => {
    const { call } = await freshEmbedded();
    await call("POST", "/api/v1/customers", { body: { id: "gone", name: "Gone" } });
    const key = { customer: "gone", site: "s", link: "l", trafficClass: "default" };
    await series.addDeltas(
      atAllLevels({ ...key, direction: "in" }, T0 + 10 * 3_600_000, 4_500, 5, 1),
    );
    const range = "from=2026-11-22T10:00:00Z&to=2026-11-22T12:00:00Z";
    const bytes = async () => {
      const r = await call("GET", `/api/v1/customers/gone/traffic?${range}`);
      return r.status === 200 ? r.json.points.map((p: { bytesIn: number }) => p.bytesIn) : r.status;
    };
    expect(await bytes()).toEqual([4_500, 0]);
    expect((await call("DELETE", "/api/v1/customers/gone")).status).toBe(204);
    expect((await call("GET", "/api/v1/customers/gone")).status).toBe(404);
    expect(await bytes()).toEqual([4_500, 0]);
    const purged = await call("DELETE", "/api/v1/customers/gone/series");
    expect(purged.status).toBe(200);
    expect(purged.json.customer).toBe("gone");
    expect(purged.json.removed).toMatchObject({
      traffic_1m: 1,
      traffic_5m: 1,
      traffic_1h: 1,
      traffic_1d: 1,
    });
    expect(await bytes()).toBe(404);
  });
});

describe("registry API with registry.source: config", () => {
  it("reads the config's customers at revision 0 and refuses writes with 409 naming the setting", async () => {
    const cfg = validateConfig({
      api: { listen: "127.0.0.1:0", operatorTokens: [TOKEN] },
      customers: [
        {
          id: "zed",
          name: "Zed",
          sites: [{ id: "s", links: [{ id: "l", prefixes: ["192.0.2.0/28"] }] }],
        },
        {
          id: "abc",
          name: "Abc",
          serviceType: "home",
          sites: [{ id: "s", links: [{ id: "l", prefixes: ["192.0.2.16/28"] }] }],
        },
      ],
    });
    const api = createApiServer({
      config: cfg,
      model: buildCustomerModel(cfg),
      log: captureLog().log,
      registry: configRegistry(cfg.customers),
    });
    const { port } = await api.listen();
    cleanups.push(() => api.close());
    const call = clientOf(port);
    let r = await call("GET", "/api/v1/customers");
    expect(r.json).toEqual({
      items: [
        { id: "abc", name: "Abc", serviceType: "home", revision: 0, siteCount: 1, linkCount: 1 },
        { id: "zed", name: "Zed", serviceType: "default", revision: 0, siteCount: 1, linkCount: 1 },
      ],
      total: 2,
      registryVersion: 0,
      next: null,
    });
    r = await call("GET", "/api/v1/customers/zed/sites/s/links/l");
    expect([r.status, r.headers.get("etag"), r.json.prefixes]).toEqual([
      200,
      '"0"',
      ["192.0.2.0/28"],
    ]);
    for (const [method, path, body] of [
      ["POST", "/api/v1/customers", { id: "new", name: "New" }],
      ["PATCH", "/api/v1/customers/zed", { name: "Z" }],
      ["DELETE", "/api/v1/customers/zed", undefined],
      ["POST", "/api/v1/customers/zed/sites", { id: "s2" }],
      ["POST", "/api/v1/changes", { changes: [{ op: "delete", customer: "zed" }] }],
    ] as const) {
      r = await call(method, path, body === undefined ? {} : { body });
      expect([r.status, r.json.error.code, r.json.error.parameter], `${method} ${path}`).toEqual([
        409,
        "FT_REGISTRY_READONLY",
        "registry.source",
      ]);
      expect(r.json.error.message).toContain("registry.source is config");
    }
    expect((await call("GET", "/api/v1/customers/zed")).json.name).toBe("Zed");
  });
});

describe("registry API on PostgreSQL", () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    // The API and its pool first: PostgreSQL waits for its clients before it stops.
    for (const c of cleanups.splice(0).reverse()) await c();
    await server?.close();
  });

  it("runs the core CRUD flow and refuses a stale edit", async () => {
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query("CREATE DATABASE registry_api");
    await admin.end();
    const url = new URL(server.url);
    url.pathname = "/registry_api";
    const { call } = await serve(createPostgresRegistry({ url: url.toString() }), false);
    await coreFlow(call);
    await call("POST", "/api/v1/customers", { body: ACME });
    const [a, b] = await Promise.all(
      ["A", "B"].map((name) =>
        call("PATCH", "/api/v1/customers/acme", {
          body: { name },
          headers: { "if-match": '"10"' },
        }),
      ),
    );
    expect([a!.status, b!.status].sort()).toEqual([200, 412]);
  });
});
