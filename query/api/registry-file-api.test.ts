/**
 * The registry's import and export over HTTP (`GET /api/v1/registry/export`, `POST
 * /api/v1/registry/import`) against a real started API on an embedded registry in a temp dir:
 * a file's dry run answers the diff and writes nothing, the import applies it as one version, the
 * export gives the tree back in both formats, a bad file names its place, an edit made after the
 * dry run refuses the diff's change set, and the config's registry refuses with the setting named.
 * Expected values are the files written here.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { buildCustomerModel } from "../../collector/classify/customer-model.js";
import { validateConfig } from "../../config/load-config.js";
import { createDuckDbRegistry } from "../../registry/duckdb-registry.js";
import type { RegistryStore } from "../../registry/index.js";
import { httpClient } from "../../test/support/http-client.js";
import { captureLog } from "../../test/support/log-capture.js";
import { type ApiServer, configRegistry, createApiServer, databaseRegistry } from "./index.js";

const TOKEN = "operator-token-0123456789";
let dir: string;
let store: RegistryStore;
let api: ApiServer;
let basePort: number;

const FILE = `customers:
  - id: acme
    name: ACME Corp
    serviceType: business
    sites:
      - id: hq
        name: Head office
        links:
          - id: l1
            prefixes: [192.0.2.0/28]
            commitRate: 100M
  - id: beta
    name: Beta
    sites: []
`;

/** A request with the operator token; `port`: another server than the test's. */
function call(method: string, path: string, body?: unknown, port = basePort) {
  return httpClient({ port })(method, path, {
    headers: { authorization: `Bearer ${TOKEN}` },
    ...(body === undefined ? {} : { body }),
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "flowtally-registry-file-"));
  store = createDuckDbRegistry({ path: join(dir, "registry.duckdb") });
  await store.start();
  const cfg = validateConfig({
    api: { listen: "127.0.0.1:0", operatorTokens: [TOKEN] },
    registry: { source: "database" },
  });
  api = createApiServer({
    config: cfg,
    model: buildCustomerModel(cfg),
    log: captureLog().log,
    registry: databaseRegistry(store, { exclusive: true }),
  });
  basePort = (await api.listen()).port;
});
afterAll(async () => {
  await api?.close();
  await store?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("registry import and export over HTTP", () => {
  it("dry run shows the diff and writes nothing; the import applies it as one version", async () => {
    let r = await call("POST", "/api/v1/registry/import?dryRun=true", {
      format: "yaml",
      text: FILE,
    });
    expect(r.status, r.text).toBe(200);
    expect(r.json.dryRun).toBe(true);
    expect(r.json.registryVersion).toBe(0);
    expect(r.json.summary).toEqual({ add: 4, update: 0, delete: 0 });
    expect(r.json.lines).toEqual([
      "+ customers/acme",
      "+ customers/acme/sites/hq",
      "+ customers/acme/sites/hq/links/l1",
      "+ customers/beta",
      "4 to add, 0 to change, 0 to delete",
    ]);
    expect(await store.version()).toBe(0);

    r = await call("POST", "/api/v1/registry/import", { format: "yaml", text: FILE });
    expect(r.status, r.text).toBe(200);
    expect([r.json.dryRun, r.json.registryVersion, r.headers["registry-version"]]).toEqual([
      false,
      1,
      "1",
    ]);
    expect(await store.version()).toBe(1);

    r = await call("GET", "/api/v1/registry/export?format=yaml");
    expect(r.status).toBe(200);
    expect(r.headers["content-disposition"]).toBe('attachment; filename="customers.yaml"');
    expect(parse(r.text)).toEqual({
      customers: [
        {
          id: "acme",
          name: "ACME Corp",
          serviceType: "business",
          sites: [
            {
              id: "hq",
              name: "Head office",
              links: [{ id: "l1", prefixes: ["192.0.2.0/28"], commitRate: 100_000_000 }],
            },
          ],
        },
        { id: "beta", name: "Beta", serviceType: "default", sites: [] },
      ],
    });
    const csv = await call("GET", "/api/v1/registry/export?format=csv");
    expect(csv.headers["content-type"]).toBe("text/csv; charset=utf-8");
    expect(csv.text).toContain("192.0.2.0/28");
    // The CSV imports back to the same tree: nothing to change.
    r = await call("POST", "/api/v1/registry/import?dryRun=true", {
      format: "csv",
      text: csv.text,
    });
    expect(r.json.summary).toEqual({ add: 0, update: 0, delete: 0 });
  });

  it("a bad file names the place and the reason; an edit after the dry run refuses its changes", async () => {
    const bad = FILE.replace("192.0.2.0/28", "192.0.2.1/28");
    let r = await call("POST", "/api/v1/registry/import?dryRun=true", {
      format: "yaml",
      text: bad,
    });
    expect(r.status).toBe(422);
    expect(r.json.error.problems).toEqual([
      {
        path: "customers[0].sites[0].links[0].prefixes[0]",
        reason:
          '"192.0.2.1/28" is not a prefix: "192.0.2.1/28" has host bits set (did you mean 192.0.2.0/28?)',
      },
    ]);
    r = await call("POST", "/api/v1/registry/import?dryRun=true", {
      format: "yaml",
      text: FILE.replace("name: Beta", "name: Beta Ltd"),
    });
    expect(r.json.lines).toEqual(["~ customers/beta: name", "0 to add, 1 to change, 0 to delete"]);
    const changes = r.json.changes;
    // Another operator renames beta meanwhile: the dry run's change set no longer applies.
    expect((await call("PATCH", "/api/v1/customers/beta", { name: "Beta GmbH" })).status).toBe(200);
    r = await call("POST", "/api/v1/changes", { changes });
    expect(r.status).toBe(412);
    expect(r.json.error.message).toContain("customers/beta is at revision");
    r = await call("GET", "/api/v1/customers/beta");
    expect(r.json.name).toBe("Beta GmbH");
    r = await call("POST", "/api/v1/registry/import", { format: "xml", text: FILE });
    expect([r.status, r.json.error.code]).toEqual([400, "FT_BAD_BODY"]);
    r = await call("GET", "/api/v1/registry/export?format=xml");
    expect([r.status, r.json.error.parameter]).toEqual([400, "format"]);
  });

  it("with registry.source: config the export gives the config's customers and import refuses", async () => {
    const cfg = validateConfig({
      api: { listen: "127.0.0.1:0", operatorTokens: [TOKEN] },
      customers: [
        {
          id: "cfg",
          name: "From config",
          sites: [{ id: "s", links: [{ id: "l", prefixes: ["203.0.113.0/24"] }] }],
        },
      ],
    });
    const ro = createApiServer({
      config: cfg,
      model: buildCustomerModel(cfg),
      log: captureLog().log,
      registry: configRegistry(cfg.customers),
    });
    const roPort = (await ro.listen()).port;
    try {
      const r = await call("GET", "/api/v1/registry/export", undefined, roPort);
      expect(parse(r.text).customers[0].id).toBe("cfg");
      const i = await call(
        "POST",
        "/api/v1/registry/import",
        { format: "yaml", text: FILE },
        roPort,
      );
      expect([i.status, i.json.error.code, i.json.error.parameter]).toEqual([
        409,
        "FT_REGISTRY_READONLY",
        "registry.source",
      ]);
    } finally {
      await ro.close();
    }
  });
});
