/**
 * A registry customer's own portal template (`portalTemplate`, a name of the config's
 * `portal.templates`), on the embedded registry and on PostgreSQL: set through the API by an
 * operator, the customer's page uses it and another customer's does not; a change through the API
 * shows at the next page without a restart; an unknown name (or a path) answers 422 naming the
 * field, a customer-admin 403 naming it; the list, the item and a dry run carry and check it.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseRegistry } from "../../query/api/index.js";
import { createDuckDbRegistry } from "../../registry/duckdb-registry.js";
import { createPostgresRegistry } from "../../registry/postgres-registry.js";
import type { RegistryStore } from "../../registry/sql-registry.js";
import { type PostgresServer, startPostgres } from "../../test/support/servers.js";
import {
  MARK,
  PASSWORD,
  startWebServer,
  TOKEN,
  type WebServer,
} from "../../test/support/web-fixture.js";

const GOLD = "GOLD-TEMPLATE-5e1b";
const PLAIN = "PLAIN-TEMPLATE-a07c";

let dir: string;
let pgServer: PostgresServer;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ft-registry-templates-"));
  writeFileSync(join(dir, "gold.html"), `<h1 id="t">${GOLD} {{customer.name}}</h1>{{motd}}`);
  writeFileSync(join(dir, "plain.html"), `<h1 id="t">${PLAIN} {{customer.id}}</h1>{{motd}}`);
  pgServer = await startPostgres();
}, 60_000);
afterAll(async () => {
  await pgServer?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function withServer(
  store: RegistryStore,
  exclusive: boolean,
  body: (s: WebServer) => Promise<void>,
): Promise<void> {
  await store.start();
  let s: WebServer | undefined;
  try {
    await store.apply(
      [
        { op: "add", customer: "acme", record: { name: "Acme Corp", motd: MARK.acme } },
        { op: "add", customer: "beta", record: { name: "Beta Ltd", motd: MARK.beta } },
      ],
      { actor: "test" },
    );
    s = await startWebServer({
      registry: databaseRegistry(store, { exclusive }),
      portal: {
        templates: { gold: join(dir, "gold.html"), plain: join(dir, "plain.html") },
      },
    });
    const admin = { user: "operator-token", role: "admin", via: "operator-token" } as const;
    await s.accounts.addUser(
      {
        id: "acme-admin",
        role: "customer-admin",
        customer: "acme",
        auth: "local",
        password: PASSWORD,
      } as never,
      admin,
      "test",
    );
    await body(s);
  } finally {
    await s?.close();
    await store.stop();
  }
}

async function templateFlow(s: WebServer): Promise<void> {
  const api = (method: string, path: string, body?: unknown) =>
    s.http(method, path, {
      headers: { authorization: `Bearer ${TOKEN}` },
      ...(body === undefined ? {} : { body }),
    });
  const login = async (user: string) => {
    const r = await s.http("POST", "/portal/login", {
      headers: { "content-type": "application/x-www-form-urlencoded" },
      raw: `user=${user}&password=${encodeURIComponent(PASSWORD)}`,
    });
    expect(r.status).toBe(303);
    return String(r.headers["set-cookie"]).split(";")[0]!;
  };
  const acme = await login("acme-user");
  const beta = await login("beta-user");
  const page = async (cookie: string, id: string) => {
    const r = await s.http("GET", `/portal/customers/${id}`, { headers: { cookie } });
    expect(r.status).toBe(200);
    return r.text;
  };

  // Before: both on the built-in page.
  expect(await page(acme, "acme")).toContain("Top classes");

  // An unknown name: 422 naming the field; a path is not even a name: 400 naming it. Nothing
  // written either way.
  const unknown = await api("PATCH", "/api/v1/customers/acme", { portalTemplate: "bronze" });
  expect([unknown.status, unknown.json.error.code]).toEqual([422, "FT_REGISTRY_INVALID"]);
  expect(unknown.json.error.problems).toEqual([
    {
      path: "portalTemplate",
      reason: '"bronze" is not a template of portal.templates (known: gold, plain)',
    },
  ]);
  for (const path of ["../../etc/passwd", "/etc/passwd", join(dir, "gold.html")]) {
    const r = await api("PATCH", "/api/v1/customers/acme", { portalTemplate: path });
    expect([r.status, r.json.error.code], path).toEqual([400, "FT_BAD_BODY"]);
    expect(r.json.error.problems[0].path, path).toBe("portalTemplate");
  }
  const created = await api("POST", "/api/v1/customers", {
    id: "gamma",
    name: "Gamma",
    portalTemplate: "silver",
  });
  expect([created.status, created.json.error.problems[0].path]).toEqual([422, "portalTemplate"]);
  const dry = await api("POST", "/api/v1/changes?dryRun=true", {
    changes: [{ op: "update", customer: "beta", set: { portalTemplate: "bronze" } }],
  });
  expect([dry.status, dry.json.error.problems[0].path]).toEqual([
    422,
    "customers/beta.portalTemplate",
  ]);
  const imported = await api("POST", "/api/v1/registry/import?dryRun=true", {
    format: "yaml",
    text: "customers:\n  - { id: acme, name: Acme Corp, portalTemplate: bronze }\n  - { id: beta, name: Beta Ltd }\n",
  });
  expect([imported.status, imported.json.error.problems[0].path]).toEqual([
    422,
    "customers/acme.portalTemplate",
  ]);
  expect((await api("GET", "/api/v1/customers/acme")).json.portalTemplate).toBeUndefined();

  // A customer-admin may not choose its template: 403 naming the field.
  const adminCookie = await login("acme-admin");
  const csrf = await s.http("GET", "/api/v1/me", { headers: { cookie: adminCookie } });
  const refused = await s.http("PATCH", "/api/v1/customers/acme", {
    headers: { cookie: adminCookie, "x-csrf-token": csrf.json.csrfToken },
    body: { portalTemplate: "gold" },
  });
  expect([refused.status, refused.json.error.code, refused.json.error.parameter]).toEqual([
    403,
    "FT_FORBIDDEN",
    "portalTemplate",
  ]);

  // The operator sets acme's: acme's page is the template's, beta's stays built-in.
  const set = await api("PATCH", "/api/v1/customers/acme", { portalTemplate: "gold" });
  expect(set.status).toBe(200);
  expect(set.json.portalTemplate).toBe("gold");
  const gold = await page(acme, "acme");
  expect(gold).toContain(`<h1 id="t">${GOLD} Acme Corp</h1>`);
  expect(gold).toContain(MARK.acme);
  expect(gold).not.toContain(MARK.beta);
  const betaPage = await page(beta, "beta");
  expect(betaPage).not.toContain(GOLD);
  expect(betaPage).toContain("Top classes");
  // beta cannot reach acme's page through the template either.
  const other = await s.http("GET", "/portal/customers/acme", { headers: { cookie: beta } });
  const none = await s.http("GET", "/portal/customers/zeta", { headers: { cookie: beta } });
  expect([other.status, other.text]).toEqual([404, none.text]);

  // The list shows the column and sorts by it.
  const list = await api("GET", "/api/v1/customers?fields=id,portalTemplate&sort=portalTemplate");
  expect(list.status).toBe(200);
  // Customers with a template first, those without after (the lists' rule for absent values).
  expect(list.json.items).toEqual([{ id: "acme", portalTemplate: "gold" }, { id: "beta" }]);

  // Another template, then none: each at the next page, no restart.
  expect((await api("PATCH", "/api/v1/customers/acme", { portalTemplate: "plain" })).status).toBe(
    200,
  );
  const plain = await page(acme, "acme");
  expect(plain).toContain(`<h1 id="t">${PLAIN} acme</h1>`);
  expect(plain).not.toContain(GOLD);
  expect((await api("PATCH", "/api/v1/customers/acme", { portalTemplate: null })).status).toBe(200);
  const back = await page(acme, "acme");
  expect(back).toContain("Top classes");
  expect(back).not.toContain(PLAIN);

  // A new customer with its template, through the change set.
  const add = await api("POST", "/api/v1/changes", {
    changes: [{ op: "add", customer: "gamma", record: { name: "Gamma", portalTemplate: "plain" } }],
  });
  expect(add.status).toBe(200);
  expect((await api("GET", "/api/v1/customers/gamma")).json.portalTemplate).toBe("plain");
}

describe("a registry customer's own portal template", () => {
  it("embedded registry: the customer's template, not another's; changed live; names checked", async () => {
    const store = createDuckDbRegistry({ path: join(dir, "registry.duckdb") });
    await withServer(store, true, templateFlow);
  }, 120_000);

  it("PostgreSQL: the same", async () => {
    const admin = new pg.Client({ connectionString: pgServer.url });
    await admin.connect();
    await admin.query("CREATE DATABASE registry_templates");
    await admin.end();
    const url = new URL(pgServer.url);
    url.pathname = "/registry_templates";
    await withServer(createPostgresRegistry({ url: url.toString() }), false, templateFlow);
  }, 120_000);
});
