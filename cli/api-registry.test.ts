/**
 * `flowtally serve` and `flowtally run` with `registry.source: database`: the registry is opened
 * at start and given to the API (a write survives a restart; run lets go of the file at stop),
 * and a registry that cannot be opened stops the start with FT_REGISTRY_OPEN, leaving nothing
 * open behind.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateConfig } from "../config/load-config.js";
import { isFlowtallyError } from "../schema/errors.js";
import { freeUdpPort, startRun } from "../test/support/cli-process.js";
import { captureLog } from "../test/support/log-capture.js";
import { startServe } from "./aggregate-command.js";

const TOKEN = "operator-token-0123456789";
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "flowtally-api-registry-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const config = (registryPath: string, source: "config" | "database" = "database") =>
  validateConfig({
    api: { listen: "127.0.0.1:0", operatorTokens: [TOKEN] },
    store: { embedded: { path: join(dir, "series.duckdb") } },
    registry: { source, embedded: { path: registryPath } },
  });

async function call(port: number, method: string, path: string, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  // biome-ignore lint/suspicious/noExplicitAny: test JSON
  const json = (await res.json()) as Record<string, any>;
  return { status: res.status, json };
}

describe("flowtally serve with registry.source: database", () => {
  it("writes through the registry store the process follows: the status has the version at once", async () => {
    const cfg = config(join(dir, "registry-shared.duckdb"));
    // No poll: only the store's own notice of the API's commit can move the applied version.
    const serve = await startServe(cfg, captureLog().log, { registryPollMs: 3_600_000 });
    try {
      let r = await call(serve.api.port, "GET", "/api/v1/status");
      expect(r.json.registry).toMatchObject({ source: "database", appliedVersion: 0 });
      r = await call(serve.api.port, "POST", "/api/v1/customers", { id: "acme", name: "ACME" });
      expect(r.status).toBe(201);
      const until = Date.now() + 2000;
      while (serve.registry!.appliedVersion() !== 1 && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      r = await call(serve.api.port, "GET", "/api/v1/status");
      expect(r.json.registry).toMatchObject({ source: "database", appliedVersion: 1 });
      expect(serve.registry!.current().model.customers.map((c) => c.id)).toEqual(["acme"]);
    } finally {
      await serve.stop();
    }
  });

  it("opens the registry for the API, and a change survives a restart", async () => {
    const cfg = config(join(dir, "registry.duckdb"));
    let serve = await startServe(cfg, captureLog().log);
    let r = await call(serve.api.port, "POST", "/api/v1/customers", { id: "acme", name: "ACME" });
    expect(r.status).toBe(201);
    await serve.stop();
    serve = await startServe(cfg, captureLog().log);
    r = await call(serve.api.port, "GET", "/api/v1/customers/acme");
    expect([r.status, r.json.name, r.json.revision]).toEqual([200, "ACME", 1]);
    await serve.stop();
  });

  it("stops the start with FT_REGISTRY_OPEN when the registry cannot be opened", async () => {
    const blocker = join(dir, "not-a-directory");
    await writeFile(blocker, "x");
    const { log } = captureLog();
    const failure = await startServe(config(join(blocker, "registry.duckdb")), log).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isFlowtallyError(failure) && failure.code).toBe("FT_REGISTRY_OPEN");
    expect((failure as Error).message).toContain(join(blocker, "registry.duckdb"));
    // Nothing is left open: the series store opens again at once.
    const serve = await startServe(config(join(dir, "registry-2.duckdb")), log);
    await serve.stop();
  });

  it("serves the config's customers read-only with registry.source: config", async () => {
    const serve = await startServe(config(join(dir, "unused.duckdb"), "config"), captureLog().log);
    const r = await call(serve.api.port, "POST", "/api/v1/customers", { id: "x", name: "X" });
    expect([r.status, r.json.error.code]).toEqual([409, "FT_REGISTRY_READONLY"]);
    await serve.stop();
  });
});

describe("flowtally run with registry.source: database (the built CLI)", () => {
  it("serves the registry API, logs the registry opened, and closes it at stop", async () => {
    const port = await freeUdpPort();
    const file = join(dir, "run.yaml");
    const registry = join(dir, "run-registry.duckdb");
    await writeFile(
      file,
      [
        `inputs: { netflow: [{ listen: "127.0.0.1:${port}" }] }`,
        `store: { embedded: { path: ${JSON.stringify(join(dir, "run-series.duckdb"))} } }`,
        `decoder: { statePath: ${JSON.stringify(join(dir, "run-state.json"))} }`,
        `api: { listen: "127.0.0.1:0", operatorTokens: ["${TOKEN}"] }`,
        `registry: { source: database, embedded: { path: ${JSON.stringify(registry)} } }`,
        "",
      ].join("\n"),
    );
    const run = await startRun(file);
    const apiPort = Number(new URL(run.apiUrl).port);
    const r = await call(apiPort, "POST", "/api/v1/customers", { id: "acme", name: "ACME" });
    expect([r.status, r.json.revision]).toEqual([201, 1]);
    const audit = await call(apiPort, "GET", "/api/v1/registry/audit");
    expect(audit.json.entries[0].actor).toMatch(/^operator-token:[0-9a-f]{4}$/);
    expect(run.stderr()).toContain("customer registry opened (registry.source: database)");
    const stopped = await run.stop();
    expect(stopped.status).toBe(0);
    // run let go of the file: another process opens it and finds the customer.
    const again = await startServe(config(registry), captureLog().log);
    const got = await call(again.api.port, "GET", "/api/v1/customers/acme");
    expect(got.json.name).toBe("ACME");
    await again.stop();
  }, 60_000);
});
