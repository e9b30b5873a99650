/**
 * RADIUS users over the real API, against FreeRADIUS started by the harness on a free loopback UDP
 * port: the config's `radius` section wired into the accounts (accountsFor), a RADIUS user's login
 * accepted, a wrong password and an unreachable server answered exactly as any failed login, and
 * the reason only in the audit log.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accountsFor } from "../../accounts/account-database.js";
import type { Accounts } from "../../accounts/accounts.js";
import { buildCustomerModel } from "../../collector/classify/customer-model.js";
import { validateConfig } from "../../config/load-config.js";
import { httpClient } from "../../test/support/http-client.js";
import { captureLog } from "../../test/support/log-capture.js";
import { type FreeradiusServer, startFreeradius } from "../../test/support/servers.js";
import { type ApiServer, createApiServer } from "./index.js";

const TOKEN = "operator-token-0123456789";
const SECRET = "radius-shared-secret-0123";

let dir: string;
let radius: FreeradiusServer;
let accounts: Accounts;
let api: ApiServer;
let http: ReturnType<typeof httpClient>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "flowtally-accounts-radius-"));
  radius = await startFreeradius({
    users: [{ name: "rad-ops", password: "radius password 1" }],
    secret: SECRET,
  });
  const cfg = validateConfig({
    dataDir: dir,
    api: { listen: "127.0.0.1:0", operatorTokens: [TOKEN] },
    radius: {
      servers: [{ host: "127.0.0.1", port: radius.port, secret: SECRET }],
      timeout: "300ms",
      retries: 0,
    },
  });
  const { log } = captureLog();
  accounts = accountsFor(cfg, { log });
  await accounts.start();
  api = createApiServer({ config: cfg, model: buildCustomerModel(cfg), log, accounts });
  const { port } = await api.listen();
  http = httpClient({ port });
  const made = await http("POST", "/api/v1/users", {
    headers: { authorization: `Bearer ${TOKEN}` },
    body: { id: "rad-ops", role: "operator", auth: "radius" },
  });
  expect(made.status).toBe(201);
}, 60_000);

afterAll(async () => {
  await api?.close();
  await accounts?.stop();
  await radius?.close();
  await rm(dir, { recursive: true, force: true });
});

const login = (password: string, localAddress: string) =>
  http("POST", "/api/v1/session", { body: { user: "rad-ops", password }, localAddress });

describe("RADIUS users", () => {
  it("log in when the server accepts, and fail as any login when it rejects or is away", async () => {
    const ok = await login("radius password 1", "127.0.0.1");
    expect(ok.status).toBe(200);
    expect(ok.json.user).toEqual({ id: "rad-ops", role: "operator" });
    const wrong = await login("not the password", "127.0.0.2");
    const unknown = await http("POST", "/api/v1/session", {
      body: { user: "nobody", password: "not the password" },
      localAddress: "127.0.0.2",
    });
    expect(wrong.status).toBe(401);
    expect(wrong.text).toBe(unknown.text);
    await radius.stop();
    try {
      const away = await login("radius password 1", "127.0.0.3");
      expect(away.status).toBe(401);
      expect(away.text).toBe(unknown.text);
    } finally {
      await radius.start();
    }
    const audit = await http("GET", "/api/v1/accounts/audit", {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const reasons = (audit.json.entries as Array<{ action: string; detail: { reason?: string } }>)
      .filter((e) => e.action === "login-failed")
      .map((e) => e.detail.reason);
    expect(reasons).toEqual(["radius-reject", "unknown-user", "radius-unavailable"]);
  }, 30_000);
});
