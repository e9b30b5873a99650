/**
 * Accounts over a real started API (HTTP, and HTTPS with a self-signed certificate made by
 * openssl): logins and their cookie, session rotation and timeouts (the clock injected), CSRF,
 * login limits across client addresses (127.0.0.x), personal tokens, disabling, and the isolation
 * of customers: a role × route matrix that every route of the table must have a row in, with two
 * look-alike customers (the same site and link names, adjacent prefixes) and a marker each that
 * must never reach the other's users.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAccountStore } from "../../accounts/account-store.js";
import { type Accounts, accountsConfigOf, createAccounts } from "../../accounts/accounts.js";
import type { Principal } from "../../accounts/model.js";
import { buildCustomerModel } from "../../collector/classify/customer-model.js";
import { validateConfig } from "../../config/load-config.js";
import { createDuckDbDriver, createDuckDbRegistry } from "../../registry/duckdb-registry.js";
import type { RegistryStore } from "../../registry/sql-registry.js";
import type { Config } from "../../schema/config.js";
import type { SeriesStore } from "../../schema/series-store.js";
import { emptySlaAlertsState } from "../../sla/alerts/sla-alerts.js";
import { createDuckDbStore } from "../../store/duckdb-store.js";
import {
  cookieOf,
  type HttpAnswer,
  type HttpOptions,
  httpClient,
} from "../../test/support/http-client.js";
import { captureLog } from "../../test/support/log-capture.js";
import { atAllLevels } from "../../test/support/store-conformance.js";
import { loadAssets } from "../../web/assets.js";
import { createMetrics, emptyMetricsSnapshot } from "../metrics.js";
import {
  type ApiServer,
  configRegistry,
  createApiServer,
  databaseRegistry,
  type RegistryAccess,
} from "./index.js";

const TOKEN = "operator-token-0123456789";
const MIN = 60_000;
const HOUR = 3_600_000;
/** 2026-11-22T00:00:00Z: the data's day; the clock starts at noon and is moved by the tests. */
const T0 = Date.UTC(2026, 10, 22);
const RANGE = "from=2026-11-22T10:00:00Z&to=2026-11-22T12:00:00Z";
const CHEAP = { ln: 10, r: 8, p: 1 };
const PASSWORD = "a long enough password";
/** Values that appear only in one customer's data, and must never in the other's answers. */
const MARK = { acme: "ACME-MOTD-7f3a", beta: "BETA-MOTD-9c1e" };
const BYTES = { acme: 4_511, beta: 777_713 };

function config(extra: Record<string, unknown> = {}): Readonly<Config> {
  const site = (prefix: string) => [{ id: "hq", links: [{ id: "fiber", prefixes: [prefix] }] }];
  return validateConfig({
    api: {
      listen: "127.0.0.1:0",
      operatorTokens: [TOKEN],
      sessions: { idleTimeout: "30m", absoluteTimeout: "12h" },
      login: { window: "15m", perAddress: 20, perUserAddress: 3, perUser: 6 },
      ...((extra.api as object | undefined) ?? {}),
    },
    motd: "Maintenance on Sunday",
    customers: [
      { id: "acme", name: "Acme", serviceType: "business", sites: site("198.51.100.0/28") },
      { id: "beta", name: "Acme", serviceType: "business", sites: site("198.51.100.16/28") },
    ],
  });
}

let dir: string;
let store: SeriesStore;
let registryFiles = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "flowtally-accounts-api-"));
  store = createDuckDbStore({ path: join(dir, "series.duckdb") });
  await store.start();
  for (const customer of ["acme", "beta"] as const) {
    const key = { customer, site: "hq", link: "fiber", trafficClass: "default" };
    await store.addDeltas(
      atAllLevels({ ...key, direction: "in" }, T0 + 10 * HOUR, BYTES[customer], 5, 1),
    );
  }
});
afterAll(async () => {
  await store.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Started {
  api: ApiServer;
  accounts: Accounts;
  http: (method: string, path: string, o?: HttpOptions) => Promise<HttpAnswer>;
  clock: { now: number };
  close(): Promise<void>;
}

async function start(
  options: {
    cfg?: Readonly<Config>;
    tls?: { ca: string };
    params?: typeof CHEAP;
    registry?: RegistryAccess;
    /** The running process's endpoints too (status, metrics, interfaces, exporters). */
    process?: boolean;
  } = {},
): Promise<Started> {
  const cfg = options.cfg ?? config();
  const clock = { now: T0 + 12 * HOUR };
  const now = () => clock.now;
  const accounts = createAccounts(accountsConfigOf(cfg.api), {
    store: createAccountStore(
      createDuckDbDriver({ path: join(dir, `registry-${++registryFiles}.duckdb`) }),
    ),
    now,
    passwordParams: options.params ?? CHEAP,
  });
  await accounts.start();
  const { log } = captureLog();
  const api = createApiServer({
    config: cfg,
    model: buildCustomerModel(cfg),
    store,
    log,
    now,
    accounts,
    // The SLA webhooks' route, operator-only (what it lists names customers).
    slaWebhooks: () => ({
      ...emptySlaAlertsState(),
      openIncidents: [
        {
          id: `beta/web/2031-03-04T10:01:00.000Z`,
          customer: "beta",
          class: "web",
          start: "2031-03-04T10:01:00.000Z",
          end: "2031-03-04T10:02:00.000Z",
          minutes: 1,
        },
      ],
    }),
    // With a registry, the customers' messages of the day are the registry's own.
    ...(options.registry === undefined
      ? { customerMotd: (c: string) => MARK[c as keyof typeof MARK] }
      : { registry: options.registry }),
    ...(options.process === true
      ? {
          status: () => ({ uptimeSeconds: 1 }),
          metrics: createMetrics(emptyMetricsSnapshot),
          interfaces: () => [],
          exporters: () => ({ flow: [], domains: [], sflow: [] }),
        }
      : {}),
  });
  const { port } = await api.listen();
  return {
    api,
    accounts,
    http: httpClient({ port, ...(options.tls === undefined ? {} : { tls: options.tls }) }),
    clock,
    async close() {
      await api.close();
      await accounts.stop();
    },
  };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const ADMIN: Principal = { user: "operator-token", role: "admin", via: "operator-token" };

async function addUsers(s: Started) {
  const add = (body: object) =>
    s.http("POST", "/api/v1/users", {
      headers: bearer(TOKEN),
      body: { password: PASSWORD, ...body },
    });
  for (const u of [
    { id: "root", role: "admin" },
    { id: "ops", role: "operator" },
    { id: "acme-user", role: "customer", customer: "acme" },
    { id: "acme-boss", role: "customer-admin", customer: "acme" },
    { id: "beta-user", role: "customer", customer: "beta" },
  ]) {
    const r = await add(u);
    expect(r.status, r.text).toBe(201);
  }
}

async function login(s: Started, user: string, o: HttpOptions = {}) {
  const r = await s.http("POST", "/api/v1/session", { ...o, body: { user, password: PASSWORD } });
  expect(r.status, r.text).toBe(200);
  return { cookie: cookieOf(r), csrf: r.json.csrfToken as string, answer: r };
}

describe("login and sessions", () => {
  let s: Started;
  beforeAll(async () => {
    s = await start();
    await addUsers(s);
  });
  afterAll(() => s.close());

  it("sets a __Host- cookie (Secure, HttpOnly, SameSite=Strict, Path=/) and answers the user and a CSRF token", async () => {
    const { answer, cookie, csrf } = await login(s, "acme-user");
    expect(answer.json).toEqual({
      user: { id: "acme-user", role: "customer", customer: "acme" },
      csrfToken: csrf,
    });
    const set = String(answer.headers["set-cookie"]);
    const attributes = set.split("; ").slice(1);
    expect(attributes.sort()).toEqual(
      ["HttpOnly", `Max-Age=${12 * 3600}`, "Path=/", "SameSite=Strict", "Secure"].sort(),
    );
    expect(cookie).toMatch(/^__Host-flowtally_session=[A-Za-z0-9_-]{43}$/);
    const me = await s.http("GET", "/api/v1/me", { headers: { cookie } });
    expect(me.status).toBe(200);
    expect(me.json).toEqual({
      id: "acme-user",
      role: "customer",
      customer: "acme",
      via: "session",
      csrfToken: csrf,
      motd: { global: "Maintenance on Sunday", customer: MARK.acme },
    });
  });

  it("gives a new session at every login; logout ends only that one and clears the cookie", async () => {
    const a = await login(s, "ops");
    const b = await login(s, "ops");
    expect(a.cookie).not.toBe(b.cookie);
    expect(a.csrf).not.toBe(b.csrf);
    const out = await s.http("DELETE", "/api/v1/session", {
      headers: { cookie: a.cookie, "x-csrf-token": a.csrf },
    });
    expect(out.status).toBe(204);
    expect(String(out.headers["set-cookie"])).toMatch(/^__Host-flowtally_session=; .*Max-Age=0/);
    const gone = await s.http("GET", "/api/v1/me", { headers: { cookie: a.cookie } });
    expect(gone.status).toBe(401);
    expect(gone.json.error.code).toBe("FT_UNAUTHORIZED");
    expect((await s.http("GET", "/api/v1/me", { headers: { cookie: b.cookie } })).status).toBe(200);
    // Logging in again with the old cookie still sent ends that session: never two ids for one login.
    const c = await login(s, "ops", { headers: { cookie: b.cookie } });
    expect(c.cookie).not.toBe(b.cookie);
    expect((await s.http("GET", "/api/v1/me", { headers: { cookie: b.cookie } })).status).toBe(401);
    expect((await s.http("GET", "/api/v1/me", { headers: { cookie: c.cookie } })).status).toBe(200);
  });

  it("ends a session 30 minutes after its last use, and 12 hours after the login however used", async () => {
    const start = s.clock.now;
    try {
      const idle = await login(s, "ops");
      s.clock.now += 29 * MIN;
      expect((await s.http("GET", "/api/v1/me", { headers: { cookie: idle.cookie } })).status).toBe(
        200,
      );
      // Used at +29 min: good until +59 min.
      s.clock.now += 29 * MIN;
      expect((await s.http("GET", "/api/v1/me", { headers: { cookie: idle.cookie } })).status).toBe(
        200,
      );
      s.clock.now += 30 * MIN;
      expect((await s.http("GET", "/api/v1/me", { headers: { cookie: idle.cookie } })).status).toBe(
        401,
      );

      const busy = await login(s, "ops");
      const loggedIn = s.clock.now;
      while (s.clock.now + 20 * MIN < loggedIn + 12 * HOUR) {
        s.clock.now += 20 * MIN;
        const r = await s.http("GET", "/api/v1/me", { headers: { cookie: busy.cookie } });
        expect(r.status).toBe(200);
      }
      s.clock.now = loggedIn + 12 * HOUR;
      const r = await s.http("GET", "/api/v1/me", { headers: { cookie: busy.cookie } });
      expect(r.status).toBe(401);
      expect(String(r.headers["set-cookie"])).toContain("Max-Age=0");
    } finally {
      s.clock.now = start;
    }
  });

  it("answers an unknown user exactly as a wrong password", async () => {
    const wrong = await s.http("POST", "/api/v1/session", {
      body: { user: "acme-boss", password: "not the password" },
      localAddress: "127.0.0.5",
    });
    const unknown = await s.http("POST", "/api/v1/session", {
      body: { user: "nobody-here", password: "not the password" },
      localAddress: "127.0.0.5",
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(wrong.status);
    expect(unknown.text).toBe(wrong.text);
    expect(wrong.json.error.code).toBe("FT_LOGIN_FAILED");
    const names = (h: HttpAnswer) =>
      Object.keys(h.headers)
        .filter((n) => n !== "date")
        .sort();
    expect(names(unknown)).toEqual(names(wrong));
    expect(unknown.headers["set-cookie"]).toBeUndefined();
  });

  it("refuses a body that is not JSON, has unknown fields or lacks one, naming the field", async () => {
    const notJson = await s.http("POST", "/api/v1/session", {
      raw: "user=a",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(notJson.status).toBe(415);
    const extra = await s.http("POST", "/api/v1/session", {
      body: { user: "a", password: "b", admin: true },
    });
    expect(extra.status).toBe(400);
    expect(extra.json.error).toMatchObject({ code: "FT_BAD_BODY", parameter: "admin" });
    const missing = await s.http("POST", "/api/v1/session", { body: { user: "a" } });
    expect(missing.json.error).toMatchObject({ code: "FT_BAD_BODY", parameter: "password" });
  });
});

describe("CSRF", () => {
  let s: Started;
  beforeAll(async () => {
    s = await start();
    await addUsers(s);
  });
  afterAll(() => s.close());

  it("refuses a cookie request that changes something without the session's X-CSRF-Token", async () => {
    const { cookie, csrf } = await login(s, "ops");
    const none = await s.http("POST", "/api/v1/tokens", {
      headers: { cookie },
      body: { name: "ci" },
    });
    expect(none.status).toBe(403);
    expect(none.json.error.code).toBe("FT_CSRF");
    const other = await login(s, "ops");
    const foreign = await s.http("POST", "/api/v1/tokens", {
      headers: { cookie, "x-csrf-token": other.csrf },
      body: { name: "ci" },
    });
    expect(foreign.status).toBe(403);
    const right = await s.http("POST", "/api/v1/tokens", {
      headers: { cookie, "x-csrf-token": csrf },
      body: { name: "ci" },
    });
    expect(right.status).toBe(201);
  });

  it("refuses a foreign Origin, takes this server's own, and exempts bearer tokens", async () => {
    const { cookie, csrf } = await login(s, "ops");
    const evil = await s.http("POST", "/api/v1/tokens", {
      headers: { cookie, "x-csrf-token": csrf, origin: "https://evil.example" },
      body: { name: "ci" },
    });
    expect(evil.status).toBe(403);
    expect(evil.json.error.code).toBe("FT_CSRF");
    const port = (s.api.server.address() as { port: number }).port;
    const own = await s.http("POST", "/api/v1/tokens", {
      headers: { cookie, "x-csrf-token": csrf, origin: `http://127.0.0.1:${port}` },
      body: { name: "ci" },
    });
    expect(own.status).toBe(201);
    // A login from another site's page is refused too (login CSRF).
    const crossLogin = await s.http("POST", "/api/v1/session", {
      headers: { origin: "https://evil.example" },
      body: { user: "ops", password: PASSWORD },
    });
    expect(crossLogin.status).toBe(403);
    // A bearer token: no cookie the browser adds by itself, so no CSRF check.
    const byToken = await s.http("POST", "/api/v1/tokens", {
      headers: { ...bearer(own.json.token), origin: "https://evil.example" },
      body: { name: "from-token" },
    });
    expect(byToken.status).toBe(201);
    // GET needs no token.
    expect((await s.http("GET", "/api/v1/tokens", { headers: { cookie } })).status).toBe(200);
  });
});

describe("login limits", () => {
  it("stop guessing from one address without locking the user out from another", async () => {
    const s = await start();
    try {
      await addUsers(s);
      const attempt = (from: string, password: string) =>
        s.http("POST", "/api/v1/session", { body: { user: "ops", password }, localAddress: from });
      // perUserAddress is 3: the 4th try from 127.0.0.2 is refused, even with the right password.
      for (let k = 0; k < 3; k++)
        expect((await attempt("127.0.0.2", `guess ${k}`)).status).toBe(401);
      const blocked = await attempt("127.0.0.2", PASSWORD);
      expect(blocked.status).toBe(429);
      expect(blocked.json.error.code).toBe("FT_TOO_MANY_LOGINS");
      expect(Number(blocked.headers["retry-after"])).toBe(15 * 60);
      // Refused again and again: one audit entry for the refusal, not one per request.
      for (let k = 0; k < 5; k++) expect((await attempt("127.0.0.2", "guess")).status).toBe(429);
      const audited = await s.http("GET", "/api/v1/accounts/audit", { headers: bearer(TOKEN) });
      const refusals = (audited.json.entries as Array<Record<string, unknown>>).filter(
        (e) => e.action === "login-refused",
      );
      expect(refusals.map((e) => [e.target, e.client, e.detail])).toEqual([
        ["ops", "127.0.0.2", { limit: "perUserAddress", retryAfterSeconds: 15 * 60 }],
      ]);
      // The user from its own address is not locked out.
      expect((await attempt("127.0.0.1", PASSWORD)).status).toBe(200);
      // Attackers on more addresses spend the per-user budget (6)...
      for (const from of ["127.0.0.3", "127.0.0.4", "127.0.0.5"]) {
        expect((await attempt(from, "guess")).status).toBe(401);
      }
      expect((await attempt("127.0.0.6", PASSWORD)).status).toBe(429);
      // ...but the address ops logged in from still works.
      expect((await attempt("127.0.0.1", PASSWORD)).status).toBe(200);
      // An unknown name is limited the same way (a 429 says nothing about whether it exists).
      for (let k = 0; k < 3; k++) {
        const r = await s.http("POST", "/api/v1/session", {
          body: { user: "ghost", password: "x" },
          localAddress: "127.0.0.7",
        });
        expect(r.status).toBe(401);
      }
      const ghost = await s.http("POST", "/api/v1/session", {
        body: { user: "ghost", password: "x" },
        localAddress: "127.0.0.7",
      });
      expect(ghost.status).toBe(429);
      // The window ends: the address may try again.
      s.clock.now += 15 * MIN;
      expect((await attempt("127.0.0.2", PASSWORD)).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it("count a trusted proxy's clients by X-Forwarded-For, and nobody else's", async () => {
    const s = await start({ cfg: config({ api: { trustedProxies: ["127.0.0.1"] } }) });
    try {
      await addUsers(s);
      const attempt = (xff: string, password: string, localAddress = "127.0.0.1") =>
        s.http("POST", "/api/v1/session", {
          body: { user: "ops", password },
          headers: { "x-forwarded-for": xff },
          localAddress,
        });
      // The client writes its own X-Forwarded-For first; the proxy appends the real address.
      for (let k = 0; k < 3; k++) {
        expect((await attempt(`203.0.113.${k}, 198.51.100.7`, "guess")).status).toBe(401);
      }
      expect((await attempt("198.51.100.7", PASSWORD)).status).toBe(429);
      // Another client behind the same proxy is not blocked.
      expect((await attempt("198.51.100.8", PASSWORD)).status).toBe(200);
      // From an address that is not a trusted proxy the header is ignored: the peer counts.
      for (let k = 0; k < 3; k++) {
        expect((await attempt("198.51.100.9", "guess", "127.0.0.2")).status).toBe(401);
      }
      expect((await attempt("198.51.100.10", PASSWORD, "127.0.0.2")).status).toBe(429);
      const audit = await s.http("GET", "/api/v1/accounts/audit", { headers: bearer(TOKEN) });
      const clients = (audit.json.entries as Array<{ action: string; client: string }>)
        .filter((e) => e.action.startsWith("login"))
        .map((e) => e.client);
      expect(clients).toEqual([
        "198.51.100.7",
        "198.51.100.7",
        "198.51.100.7",
        "198.51.100.7",
        "198.51.100.8",
        "127.0.0.2",
        "127.0.0.2",
        "127.0.0.2",
        "127.0.0.2",
      ]);
    } finally {
      await s.close();
    }
  });

  it("make an unknown user cost as much as a wrong password (a dummy hash at the same parameters)", async () => {
    const s = await start({ params: { ln: 15, r: 8, p: 1 } });
    try {
      await s.http("POST", "/api/v1/users", {
        headers: bearer(TOKEN),
        body: { id: "timed", role: "operator", password: PASSWORD },
      });
      const time = async (user: string, k: number) => {
        const t = performance.now();
        const r = await s.http("POST", "/api/v1/session", {
          body: { user, password: "wrong password!" },
          localAddress: `127.0.1.${k}`,
        });
        expect(r.status).toBe(401);
        return performance.now() - t;
      };
      const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const wrong: number[] = [];
      const unknown: number[] = [];
      for (let k = 1; k <= 5; k++) {
        wrong.push(await time("timed", k));
        unknown.push(await time(`nobody${k}`, k + 10));
      }
      // One scrypt at 2^15 takes tens of ms; a lookup without one well under a millisecond.
      const ratio = median(unknown) / median(wrong);
      expect(ratio).toBeGreaterThan(0.5);
      expect(ratio).toBeLessThan(2);
    } finally {
      await s.close();
    }
  }, 60_000);
});

describe("personal tokens and disabling", () => {
  let s: Started;
  beforeAll(async () => {
    s = await start();
    await addUsers(s);
  });
  afterAll(() => s.close());

  it("are shown once, listed without the secret, work as bearer tokens and are revoked by their owner", async () => {
    const { cookie, csrf } = await login(s, "acme-user");
    const made = await s.http("POST", "/api/v1/tokens", {
      headers: { cookie, "x-csrf-token": csrf },
      body: { name: "grafana" },
    });
    expect(made.status).toBe(201);
    const token: string = made.json.token;
    expect(token).toMatch(/^ftk_[A-Za-z0-9_-]{43}$/);
    const list = await s.http("GET", "/api/v1/tokens", { headers: bearer(token) });
    expect(list.json.tokens).toEqual([
      {
        id: made.json.info.id,
        user: "acme-user",
        name: "grafana",
        createdAt: new Date(s.clock.now).toISOString(),
        expiresAt: null,
        lastUsedAt: new Date(s.clock.now).toISOString(),
      },
    ]);
    expect(list.text).not.toContain(token.slice(4));
    const me = await s.http("GET", "/api/v1/me", { headers: bearer(token) });
    expect(me.json).toMatchObject({ id: "acme-user", via: "token", customer: "acme" });
    // Another user cannot revoke it: as if it did not exist.
    const ops = await login(s, "ops");
    const notTheirs = await s.http("DELETE", `/api/v1/tokens/${made.json.info.id}`, {
      headers: { cookie: ops.cookie, "x-csrf-token": ops.csrf },
    });
    expect(notTheirs.status).toBe(404);
    const revoked = await s.http("DELETE", `/api/v1/tokens/${made.json.info.id}`, {
      headers: bearer(token),
    });
    expect(revoked.status).toBe(204);
    const after = await s.http("GET", "/api/v1/me", { headers: bearer(token) });
    expect(after.status).toBe(401);
    expect(after.json.error.code).toBe("FT_UNAUTHORIZED");
  });

  it("expire after expiresIn", async () => {
    const made = await s.http("POST", "/api/v1/tokens", {
      headers: bearer(TOKEN),
      body: { name: "x" },
    });
    // An operator token is not a user: it has no personal tokens.
    expect(made.status).toBe(403);
    const t = await s.accounts.createToken(
      { user: "ops", role: "operator", via: "session" },
      { name: "short", expiresIn: 60 },
      "test",
    );
    expect((await s.http("GET", "/api/v1/me", { headers: bearer(t.token) })).status).toBe(200);
    s.clock.now += 60_000;
    try {
      expect((await s.http("GET", "/api/v1/me", { headers: bearer(t.token) })).status).toBe(401);
    } finally {
      s.clock.now -= 60_000;
    }
  });

  it("end, with every session, when the user is disabled, and stay ended when enabled again", async () => {
    const a = await login(s, "beta-user");
    const b = await login(s, "beta-user");
    const t = await s.http("POST", "/api/v1/tokens", {
      headers: { cookie: a.cookie, "x-csrf-token": a.csrf },
      body: { name: "t" },
    });
    const patch = (body: object) =>
      s.http("PATCH", "/api/v1/users/beta-user", { headers: bearer(TOKEN), body });
    const disabled = await patch({ disabled: true });
    expect(disabled.status).toBe(200);
    expect(disabled.json).toMatchObject({ id: "beta-user", disabled: true });
    for (const cookie of [a.cookie, b.cookie]) {
      expect((await s.http("GET", "/api/v1/me", { headers: { cookie } })).status).toBe(401);
    }
    expect((await s.http("GET", "/api/v1/me", { headers: bearer(t.json.token) })).status).toBe(401);
    // A disabled user cannot log in: the same answer as a wrong password.
    const refused = await s.http("POST", "/api/v1/session", {
      body: { user: "beta-user", password: PASSWORD },
      localAddress: "127.0.0.9",
    });
    expect(refused.status).toBe(401);
    expect(refused.json.error.code).toBe("FT_LOGIN_FAILED");
    expect((await patch({ disabled: false })).status).toBe(200);
    expect((await s.http("GET", "/api/v1/me", { headers: { cookie: a.cookie } })).status).toBe(401);
    expect((await s.http("GET", "/api/v1/me", { headers: bearer(t.json.token) })).status).toBe(401);
    await login(s, "beta-user");
  });

  it("end when the user changes its password, which needs the current one", async () => {
    const a = await login(s, "acme-boss");
    const change = (current: string, next: string) =>
      s.http("POST", "/api/v1/session/password", {
        headers: { cookie: a.cookie, "x-csrf-token": a.csrf },
        body: { currentPassword: current, password: next },
      });
    const short = await change(PASSWORD, "short");
    expect(short.status).toBe(400);
    expect(short.json.error).toMatchObject({ code: "FT_BAD_BODY", parameter: "password" });
    const wrong = await change("not it at all", "another long password");
    expect(wrong.json.error).toMatchObject({ code: "FT_BAD_BODY", parameter: "currentPassword" });
    expect((await change(PASSWORD, "another long password")).status).toBe(204);
    expect((await s.http("GET", "/api/v1/me", { headers: { cookie: a.cookie } })).status).toBe(401);
    const again = await s.http("POST", "/api/v1/session", {
      body: { user: "acme-boss", password: "another long password" },
    });
    expect(again.status).toBe(200);
  });

  it("are deleted with their user", async () => {
    const created = await s.http("POST", "/api/v1/users", {
      headers: bearer(TOKEN),
      body: { id: "temp", role: "operator", password: PASSWORD },
    });
    expect(created.status).toBe(201);
    const t = await login(s, "temp");
    expect((await s.http("DELETE", "/api/v1/users/temp", { headers: bearer(TOKEN) })).status).toBe(
      204,
    );
    expect((await s.http("GET", "/api/v1/me", { headers: { cookie: t.cookie } })).status).toBe(401);
    expect((await s.http("GET", "/api/v1/users/temp", { headers: bearer(TOKEN) })).status).toBe(
      404,
    );
  });
});

describe("users API", () => {
  let s: Started;
  beforeAll(async () => {
    s = await start();
    await addUsers(s);
  });
  afterAll(() => s.close());
  const post = (body: object) => s.http("POST", "/api/v1/users", { headers: bearer(TOKEN), body });

  it("refuses bad users naming the field, and a taken id with 409", async () => {
    const cases: Array<[object, number, string]> = [
      [{ id: "x1", role: "operator", password: "short" }, 400, "password"],
      [{ id: "x1", role: "customer", password: PASSWORD }, 400, "customer"],
      [{ id: "x1", role: "customer", customer: "nope", password: PASSWORD }, 400, "customer"],
      [{ id: "x/1", role: "operator", password: PASSWORD }, 400, "id"],
      [{ id: "x1", role: "root", password: PASSWORD }, 400, "role"],
      [{ id: "x1", role: "operator", password: PASSWORD, salary: 1 }, 400, "salary"],
      [{ id: "x1", role: "operator", password: "€".repeat(342) }, 400, "password"],
      [{ id: "ops", role: "operator", password: PASSWORD }, 409, "id"],
    ];
    for (const [body, status, parameter] of cases) {
      const r = await post(body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(r.json.error.parameter, JSON.stringify(body)).toBe(parameter);
      expect(r.text).not.toContain(PASSWORD);
    }
  });

  it("lists users without any password hash, and adds RADIUS users without a password", async () => {
    const radius = await post({ id: "rad", role: "operator", auth: "radius" });
    expect(radius.status).toBe(201);
    const list = await s.http("GET", "/api/v1/users", { headers: bearer(TOKEN) });
    expect(list.json.users.map((u: { id: string }) => u.id)).toEqual([
      "acme-boss",
      "acme-user",
      "beta-user",
      "ops",
      "rad",
      "root",
    ]);
    expect(list.text).not.toMatch(/scrypt|password/i);
    // No RADIUS client here: a RADIUS user's login fails as a wrong password does.
    const r = await s.http("POST", "/api/v1/session", {
      body: { user: "rad", password: PASSWORD },
    });
    expect(r.status).toBe(401);
    expect(r.json.error.code).toBe("FT_LOGIN_FAILED");
  });

  it("writes logins, failures and changes to the audit log, never a password", async () => {
    await s.http("POST", "/api/v1/session", {
      body: { user: "ops", password: "wrong password one" },
      localAddress: "127.0.0.8",
    });
    await s.http("POST", "/api/v1/session", {
      body: { user: "wrong password two", password: "x" },
      localAddress: "127.0.0.8",
    });
    await login(s, "ops");
    const r = await s.http("GET", "/api/v1/accounts/audit", { headers: bearer(TOKEN) });
    expect(r.status).toBe(200);
    const entries = r.json.entries as Array<Record<string, unknown>>;
    expect(entries.slice(0, 5).map((e) => [e.action, e.target, e.actor])).toEqual([
      ["user-add", "root", "operator-token"],
      ["user-add", "ops", "operator-token"],
      ["user-add", "acme-user", "operator-token"],
      ["user-add", "acme-boss", "operator-token"],
      ["user-add", "beta-user", "operator-token"],
    ]);
    const tail = entries.slice(-3).map((e) => [e.action, e.target, e.client, e.detail]);
    expect(tail).toEqual([
      ["login-failed", "ops", "127.0.0.8", { reason: "wrong-password" }],
      ["login-failed", "(not a user id)", "127.0.0.8", { reason: "unknown-user" }],
      ["login", "ops", "127.0.0.1", { role: "operator" }],
    ]);
    expect(r.text).not.toContain("wrong password");
    expect(r.text).not.toContain(PASSWORD);
    const since = await s.http("GET", `/api/v1/accounts/audit?since=${entries.length - 1}`, {
      headers: bearer(TOKEN),
    });
    expect(since.json.entries).toHaveLength(1);
  });
});

describe("message of the day", () => {
  it("a customer's users get the global one and their customer's own from the config", async () => {
    const base = config();
    const cfg = validateConfig({
      api: { listen: "127.0.0.1:0", operatorTokens: [TOKEN] },
      motd: "Maintenance on Sunday",
      customers: base.customers.map((c) => ({ ...c, motd: MARK[c.id as keyof typeof MARK] })),
    });
    const s = await start({ cfg, registry: configRegistry(cfg.customers) });
    try {
      await addUsers(s);
      for (const [user, customer] of [
        ["acme-user", "acme"],
        ["beta-user", "beta"],
      ] as const) {
        const { cookie } = await login(s, user);
        const me = await s.http("GET", "/api/v1/me", { headers: { cookie } });
        expect(me.json.motd).toEqual({ global: "Maintenance on Sunday", customer: MARK[customer] });
      }
      const { cookie } = await login(s, "ops");
      const ops = await s.http("GET", "/api/v1/me", { headers: { cookie } });
      expect(ops.json.motd).toEqual({ global: "Maintenance on Sunday", customer: null });
    } finally {
      await s.close();
    }
  });
});

describe("isolation: every route × role", () => {
  type Role = "anonymous" | "admin" | "operator" | "customer" | "customerAdmin";
  const ROLES: Role[] = ["anonymous", "admin", "operator", "customer", "customerAdmin"];
  /** [method, path as the table declares it, the request path, body, status per role]. */
  type Row = [string, string, string, object | string | undefined, Record<Role, number>];
  /** A JSON body, or a form's (a string). */
  const sent = (body: object | string | undefined, headers: Record<string, string>) =>
    body === undefined
      ? { headers }
      : typeof body === "string"
        ? {
            headers: { ...headers, "content-type": "application/x-www-form-urlencoded" },
            raw: body,
          }
        : { headers, body };
  const all = (n: number): Record<Role, number> => ({
    anonymous: n,
    admin: n,
    operator: n,
    customer: n,
    customerAdmin: n,
  });
  const signedIn = (n: number) => ({ ...all(n), anonymous: 401 });
  const admins = (n: number) => ({ ...all(403), anonymous: 401, admin: n });
  const operators = (n: number) => ({ ...all(403), anonymous: 401, admin: n, operator: n });
  const otherCustomer = (n: number) => ({ ...all(404), anonymous: 401, admin: n, operator: n });
  /** A page: without credentials, the login page (303) instead of 401. */
  const pages = (r: Record<Role, number>) => ({ ...r, anonymous: 303 });
  const ASSET = loadAssets(config().portal.branding.colors).htmx.path;
  const rows: Row[] = [
    ["GET", "/healthz", "/healthz", undefined, all(200)],
    ["GET", "/metrics", "/metrics", undefined, operators(200)],
    ["GET", "/api/v1/status", "/api/v1/status", undefined, operators(200)],
    ["GET", "/api/v1/interfaces", "/api/v1/interfaces", undefined, operators(200)],
    ["GET", "/api/v1/exporters", "/api/v1/exporters", undefined, operators(200)],
    ["GET", "/api/v1/overview", `/api/v1/overview?${RANGE}`, undefined, operators(200)],
    [
      "GET",
      "/api/v1/customers/{id}/traffic",
      `/api/v1/customers/beta/traffic?${RANGE}`,
      undefined,
      otherCustomer(200),
    ],
    [
      "GET",
      "/api/v1/customers/{id}/response-times",
      `/api/v1/customers/beta/response-times?${RANGE}`,
      undefined,
      otherCustomer(200),
    ],
    [
      "GET",
      "/api/v1/customers/{id}/sla",
      `/api/v1/customers/beta/sla?${RANGE}`,
      undefined,
      otherCustomer(200),
    ],
    [
      "GET",
      "/api/v1/customers/{id}/totals",
      `/api/v1/customers/beta/totals?${RANGE}&by=link&format=csv`,
      undefined,
      otherCustomer(200),
    ],
    ["GET", "/api/v1/sla/breaches", `/api/v1/sla/breaches?${RANGE}`, undefined, operators(200)],
    // Declared outages: the customer reads its own; operators write (beta's, or ids of none).
    [
      "GET",
      "/api/v1/customers/{id}/outages",
      "/api/v1/customers/beta/outages",
      undefined,
      otherCustomer(200),
    ],
    [
      "POST",
      "/api/v1/customers/{id}/outages",
      "/api/v1/customers/beta/outages",
      {},
      operators(400),
    ],
    [
      "PATCH",
      "/api/v1/customers/{id}/outages/{outage}",
      "/api/v1/customers/beta/outages/nope",
      {},
      operators(404),
    ],
    [
      "DELETE",
      "/api/v1/customers/{id}/outages/{outage}",
      "/api/v1/customers/beta/outages/nope",
      undefined,
      operators(404),
    ],
    ["GET", "/api/v1/openapi.json", "/api/v1/openapi.json", undefined, operators(200)],
    ["POST", "/api/v1/session", "/api/v1/session", {}, all(400)],
    ["DELETE", "/api/v1/session", "/api/v1/session", undefined, signedIn(204)],
    ["POST", "/api/v1/session/password", "/api/v1/session/password", {}, signedIn(400)],
    ["GET", "/api/v1/me", "/api/v1/me", undefined, signedIn(200)],
    ["POST", "/api/v1/users", "/api/v1/users", {}, admins(400)],
    ["GET", "/api/v1/users", "/api/v1/users", undefined, admins(200)],
    ["GET", "/api/v1/users/{id}", "/api/v1/users/nobody", undefined, admins(404)],
    ["PATCH", "/api/v1/users/{id}", "/api/v1/users/nobody", {}, admins(404)],
    ["DELETE", "/api/v1/users/{id}", "/api/v1/users/nobody", undefined, admins(404)],
    ["POST", "/api/v1/tokens", "/api/v1/tokens", {}, signedIn(400)],
    ["GET", "/api/v1/tokens", "/api/v1/tokens", undefined, signedIn(200)],
    ["DELETE", "/api/v1/tokens/{id}", "/api/v1/tokens/nope", undefined, signedIn(404)],
    ["GET", "/api/v1/accounts/audit", "/api/v1/accounts/audit", undefined, admins(200)],
    // The portal's settings (web/admin/settings-api.ts): admins only; an empty change is none.
    ["GET", "/api/v1/settings/branding", "/api/v1/settings/branding", undefined, admins(200)],
    ["PUT", "/api/v1/settings/branding", "/api/v1/settings/branding", {}, admins(200)],
    ["GET", "/api/v1/settings/motd", "/api/v1/settings/motd", undefined, admins(200)],
    ["PUT", "/api/v1/settings/motd", "/api/v1/settings/motd", {}, admins(400)],
    // The customer registry (registry.source: database): acme and beta as in the config, beta's
    // records carrying its marker. Writes go to beta, or to ids that do not exist.
    ["GET", "/api/v1/customers", "/api/v1/customers", undefined, operators(200)],
    ["POST", "/api/v1/customers", "/api/v1/customers", {}, operators(400)],
    ["GET", "/api/v1/customers/{id}", "/api/v1/customers/beta", undefined, otherCustomer(200)],
    [
      "PATCH",
      "/api/v1/customers/{id}",
      "/api/v1/customers/beta",
      { description: "patched" },
      otherCustomer(200),
    ],
    ["DELETE", "/api/v1/customers/{id}", "/api/v1/customers/nobody", undefined, operators(404)],
    [
      "GET",
      "/api/v1/customers/{id}/sites",
      "/api/v1/customers/beta/sites",
      undefined,
      otherCustomer(200),
    ],
    ["POST", "/api/v1/customers/{id}/sites", "/api/v1/customers/beta/sites", {}, operators(400)],
    [
      "GET",
      "/api/v1/customers/{id}/sites/{site}",
      "/api/v1/customers/beta/sites/hq",
      undefined,
      otherCustomer(200),
    ],
    [
      "PATCH",
      "/api/v1/customers/{id}/sites/{site}",
      "/api/v1/customers/beta/sites/hq",
      { description: "patched" },
      otherCustomer(200),
    ],
    [
      "DELETE",
      "/api/v1/customers/{id}/sites/{site}",
      "/api/v1/customers/beta/sites/nosite",
      undefined,
      operators(404),
    ],
    [
      "GET",
      "/api/v1/customers/{id}/sites/{site}/links",
      "/api/v1/customers/beta/sites/hq/links",
      undefined,
      otherCustomer(200),
    ],
    [
      "POST",
      "/api/v1/customers/{id}/sites/{site}/links",
      "/api/v1/customers/beta/sites/hq/links",
      {},
      operators(400),
    ],
    [
      "GET",
      "/api/v1/customers/{id}/sites/{site}/links/{link}",
      "/api/v1/customers/beta/sites/hq/links/fiber",
      undefined,
      otherCustomer(200),
    ],
    [
      "PATCH",
      "/api/v1/customers/{id}/sites/{site}/links/{link}",
      "/api/v1/customers/beta/sites/hq/links/fiber",
      { description: "patched" },
      otherCustomer(200),
    ],
    [
      "DELETE",
      "/api/v1/customers/{id}/sites/{site}/links/{link}",
      "/api/v1/customers/beta/sites/hq/links/nolink",
      undefined,
      operators(404),
    ],
    ["POST", "/api/v1/changes", "/api/v1/changes", {}, operators(400)],
    ["GET", "/api/v1/registry/audit", "/api/v1/registry/audit", undefined, operators(200)],
    ["GET", "/api/v1/sla/webhooks", "/api/v1/sla/webhooks", undefined, operators(200)],
    ["GET", "/api/v1/registry/tree", "/api/v1/registry/tree", undefined, operators(200)],
    ["GET", "/api/v1/registry/export", "/api/v1/registry/export", undefined, operators(200)],
    ["POST", "/api/v1/registry/import", "/api/v1/registry/import?dryRun=true", {}, operators(400)],
    [
      "DELETE",
      "/api/v1/customers/{id}/series",
      "/api/v1/customers/nobody/series",
      undefined,
      operators(200),
    ],
    // The pages of web/ (a string body is sent as a form). Without credentials a page answers
    // 303 to its login page; another customer's id gets the 404 page of an unknown one.
    ["GET", "/assets/{file}", ASSET, undefined, all(200)],
    ["GET", "/console/login", "/console/login", undefined, all(200)],
    ["POST", "/console/login", "/console/login", "user=&password=", all(400)],
    ["GET", "/portal/login", "/portal/login", undefined, all(200)],
    ["POST", "/portal/login", "/portal/login", "user=&password=", all(400)],
    ["POST", "/logout", "/logout", "area=console", all(303)],
    [
      "GET",
      "/console",
      `/console?period=custom&from=2026-11-22T10:00&to=2026-11-22T12:00`,
      undefined,
      pages(operators(200)),
    ],
    ["GET", "/console/status", "/console/status", undefined, pages(operators(200))],
    [
      "GET",
      "/console/manage",
      "/console/manage?customer=beta&site=hq",
      undefined,
      pages(operators(200)),
    ],
    ["GET", "/console/customers/{id}", "/console/customers/beta", undefined, pages(operators(200))],
    [
      "GET",
      "/console/customers/{id}/sites/{site}",
      "/console/customers/beta/sites/hq",
      undefined,
      pages(operators(200)),
    ],
    [
      "GET",
      "/console/customers/{id}/sites/{site}/links/{link}",
      "/console/customers/beta/sites/hq/links/fiber",
      undefined,
      pages(operators(200)),
    ],
    ["GET", "/portal", "/portal", undefined, all(303)],
    // The admin pages (web/admin/): admins only; one's own API tokens: every signed-in user.
    ["GET", "/console/admin/users", "/console/admin/users", undefined, pages(admins(200))],
    ["POST", "/console/admin/users", "/console/admin/users", "id=", pages(admins(400))],
    [
      "GET",
      "/console/admin/users/{id}",
      "/console/admin/users/nobody",
      undefined,
      pages(admins(404)),
    ],
    [
      "POST",
      "/console/admin/users/{id}",
      "/console/admin/users/nobody",
      "action=disable",
      pages(admins(404)),
    ],
    ["GET", "/console/tokens", "/console/tokens", undefined, pages(signedIn(200))],
    ["POST", "/console/tokens", "/console/tokens", "action=revoke&id=nope", pages(signedIn(404))],
    [
      "GET",
      "/console/admin/motd",
      "/console/admin/motd?customer=beta",
      undefined,
      pages(admins(200)),
    ],
    [
      "POST",
      "/console/admin/motd",
      "/console/admin/motd",
      "action=preview-global&text=hi",
      pages(admins(200)),
    ],
    ["GET", "/console/admin/branding", "/console/admin/branding", undefined, pages(admins(200))],
    [
      "POST",
      "/console/admin/branding",
      "/console/admin/branding",
      "action=save&title=",
      pages(admins(400)),
    ],
    [
      "POST",
      "/console/admin/branding/logo",
      "/console/admin/branding/logo",
      "logo=",
      pages(admins(400)),
    ],
    ["GET", "/console/admin/audit", "/console/admin/audit", undefined, pages(admins(200))],
    [
      "GET",
      "/portal/customers/{id}",
      "/portal/customers/beta",
      undefined,
      pages(otherCustomer(200)),
    ],
  ];

  let s: Started;
  let registryStore: RegistryStore;
  const credentials = {} as Record<Role, Record<string, string>>;
  beforeAll(async () => {
    registryStore = createDuckDbRegistry({ path: join(dir, "matrix-registry.duckdb") });
    await registryStore.start();
    const site = (prefix: string, words: string) => [
      { op: "add", site: "hq", record: { name: "HQ", description: words } },
      {
        op: "add",
        site: "hq",
        link: "fiber",
        record: { name: "Fiber", description: words, prefixes: [prefix] },
      },
    ];
    await registryStore.apply(
      (
        [
          ["acme", "198.51.100.0/28", MARK.acme],
          ["beta", "198.51.100.16/28", MARK.beta],
        ] as const
      ).flatMap(([customer, prefix, mark]) => [
        { op: "add", customer, record: { name: "Acme", serviceType: "business", motd: mark } },
        ...site(prefix, mark).map((c) => ({ ...c, customer })),
      ]),
      { actor: "test" },
    );
    s = await start({
      registry: databaseRegistry(registryStore, { exclusive: true }),
      process: true,
    });
    await addUsers(s);
    credentials.anonymous = {};
    const users: Array<[Role, string]> = [
      ["admin", "root"],
      ["operator", "ops"],
      ["customer", "acme-user"],
      ["customerAdmin", "acme-boss"],
    ];
    for (const [role, id] of users) {
      const u = await s.accounts.getUser(id);
      const t = await s.accounts.createToken(
        {
          user: id,
          role: u.role,
          ...(u.customer === undefined ? {} : { customer: u.customer }),
          via: "session",
        },
        { name: "matrix" },
        "test",
      );
      credentials[role] = bearer(t.token);
    }
  });
  afterAll(async () => {
    await s.close();
    await registryStore.stop();
  });

  it("has a row for every route of the table, and every answer is the row's", async () => {
    const declared = [...s.api.routes, ...s.api.pages]
      .map((r) => `${r.method ?? "GET"} ${r.path}`)
      .sort();
    expect(rows.map(([m, p]) => `${m} ${p}`).sort()).toEqual(declared);
    const texts: Record<Role, string[]> = {
      anonymous: [],
      admin: [],
      operator: [],
      customer: [],
      customerAdmin: [],
    };
    for (const [method, , path, body, expected] of rows) {
      for (const role of ROLES) {
        const r = await s.http(method, path, sent(body, credentials[role]));
        expect(r.status, `${role} ${method} ${path}: ${r.text}`).toBe(expected[role]);
        texts[role].push(r.text);
      }
    }
    // Beta's marker and figures never reach acme's users; acme's own do.
    for (const role of ["customer", "customerAdmin"] as const) {
      const everything = texts[role].join("\n");
      expect(everything).not.toContain(MARK.beta);
      expect(everything).not.toContain(String(BYTES.beta));
      // "beta" itself appears only where the caller sent it: the 404 of an unknown id echoes it.
      expect(everything.replaceAll('no customer \\"beta\\"', "")).not.toContain("beta");
    }
  });

  it("answers another customer's id exactly as an unknown id, and the own customer's data", async () => {
    for (const role of ["customer", "customerAdmin"] as const) {
      for (const route of ["traffic", "response-times", "totals"]) {
        const other = await s.http("GET", `/api/v1/customers/beta/${route}?${RANGE}`, {
          headers: credentials[role],
        });
        const unknown = await s.http("GET", `/api/v1/customers/zeta/${route}?${RANGE}`, {
          headers: credentials.operator,
        });
        expect(other.status).toBe(404);
        expect(other.text.replace("beta", "zeta")).toBe(unknown.text);
        const own = await s.http("GET", `/api/v1/customers/acme/${route}?${RANGE}`, {
          headers: credentials[role],
        });
        expect(own.status).toBe(200);
      }
    }
    const traffic = await s.http("GET", `/api/v1/customers/acme/traffic?${RANGE}`, {
      headers: credentials.customer,
    });
    expect(traffic.text).toContain(String(BYTES.acme));
    const me = await s.http("GET", "/api/v1/me", { headers: credentials.customer });
    expect(me.json.motd).toEqual({ global: "Maintenance on Sunday", customer: MARK.acme });
    // Customer credentials on an operator route: 403, not 404.
    const overview = await s.http("GET", `/api/v1/overview?${RANGE}`, {
      headers: credentials.customer,
    });
    expect(overview.status).toBe(403);
    expect(overview.json.error.code).toBe("FT_FORBIDDEN");
  });

  it("registry records: a customer's users read their own; a customer-admin changes only names and descriptions", async () => {
    for (const role of ["customer", "customerAdmin"] as const) {
      const own = await s.http("GET", "/api/v1/customers/acme/sites/hq/links", {
        headers: credentials[role],
      });
      expect(own.status, own.text).toBe(200);
      expect(own.text).toContain(MARK.acme);
      expect(own.text).not.toContain(MARK.beta);
      const other = await s.http("GET", "/api/v1/customers/beta", { headers: credentials[role] });
      const unknown = await s.http("GET", "/api/v1/customers/zeta", {
        headers: credentials.operator,
      });
      expect(other.status).toBe(404);
      expect(other.text.replace("beta", "zeta")).toBe(unknown.text);
    }
    const link = "/api/v1/customers/acme/sites/hq/links/fiber";
    const patch = (role: Role, body: object) =>
      s.http("PATCH", link, { headers: credentials[role], body });
    expect((await patch("customer", { name: "Mine" })).status).toBe(403);
    const renamed = await patch("customerAdmin", { name: "Main fiber", description: "ours" });
    expect(renamed.status, renamed.text).toBe(200);
    expect(renamed.json).toMatchObject({ name: "Main fiber", description: "ours" });
    const prefixes = await patch("customerAdmin", { prefixes: ["198.51.100.16/28"] });
    expect(prefixes.status).toBe(403);
    expect(prefixes.json.error).toMatchObject({ code: "FT_FORBIDDEN", parameter: "prefixes" });
    const rate = await s.http("PATCH", "/api/v1/customers/acme", {
      headers: credentials.customerAdmin,
      body: { serviceType: "premium" },
    });
    expect([rate.status, rate.json.error.parameter]).toEqual([403, "serviceType"]);
    const after = await s.http("GET", link, { headers: credentials.operator });
    expect(after.json.prefixes).toEqual(["198.51.100.0/28"]);
  });

  it("puts the security headers on every answer, errors included", async () => {
    const answers: HttpAnswer[] = [];
    for (const [method, , path, body] of rows) {
      for (const role of ["anonymous", "admin", "customer"] as const) {
        answers.push(await s.http(method, path, sent(body, credentials[role])));
      }
    }
    answers.push(await s.http("GET", "/nowhere"));
    answers.push(await s.http("GET", "/api/v1/nowhere", { headers: credentials.admin }));
    answers.push(await s.http("PUT", "/api/v1/me", { headers: credentials.admin }));
    for (const a of answers) {
      expect(a.headers["content-security-policy"]).toBe(
        "default-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'",
      );
      expect(a.headers["x-content-type-options"]).toBe("nosniff");
      expect(a.headers["referrer-policy"]).toBe("no-referrer");
      expect(a.headers["x-frame-options"]).toBe("DENY");
      // The assets of web/ are named by their content: cached for a year; nothing else is.
      expect(a.headers["cache-control"]).toBe(
        a.headers["content-type"]?.startsWith("text/javascript")
          ? "public, max-age=31536000, immutable"
          : "no-store",
      );
      // Plain HTTP: no HSTS (a browser ignores it there anyway).
      expect(a.headers["strict-transport-security"]).toBeUndefined();
    }
  });

  it("documents every route with its method in the OpenAPI document", async () => {
    const doc = (await s.http("GET", "/api/v1/openapi.json", { headers: credentials.admin })).json;
    for (const r of s.api.routes) {
      const op = doc.paths[r.path]?.[(r.method ?? "GET").toLowerCase()];
      expect(op, `${r.method ?? "GET"} ${r.path}`).toBeDefined();
      expect(op["x-access"]).toBe(r.access);
    }
    const documented = Object.entries(doc.paths as Record<string, object>).flatMap(([p, ms]) =>
      Object.keys(ms).map((m) => `${m.toUpperCase()} ${p}`),
    );
    expect(documented.sort()).toEqual(
      s.api.routes.map((r) => `${r.method ?? "GET"} ${r.path}`).sort(),
    );
  });
});

describe("HTTPS", () => {
  let tlsDir: string;
  beforeAll(async () => {
    tlsDir = await mkdtemp(join(tmpdir(), "flowtally-tls-"));
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "-keyout",
        join(tlsDir, "key.pem"),
        "-out",
        join(tlsDir, "cert.pem"),
      ],
      { stdio: "ignore" },
    );
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=other",
        "-keyout",
        join(tlsDir, "other-key.pem"),
        "-out",
        join(tlsDir, "other-cert.pem"),
      ],
      { stdio: "ignore" },
    );
  });
  afterAll(() => rm(tlsDir, { recursive: true, force: true }));

  it("serves the API over TLS with api.tls, cookies and HSTS included", async () => {
    const cfg = config({
      api: { tls: { cert: join(tlsDir, "cert.pem"), key: join(tlsDir, "key.pem") } },
    });
    const ca = await readFile(join(tlsDir, "cert.pem"), "utf8");
    const s = await start({ cfg, tls: { ca } });
    try {
      await addUsers(s);
      const { cookie, csrf } = await login(s, "acme-user");
      const me = await s.http("GET", "/api/v1/me", { headers: { cookie } });
      expect(me.status).toBe(200);
      expect(me.json.csrfToken).toBe(csrf);
      expect(me.headers["strict-transport-security"]).toBe("max-age=31536000; includeSubDomains");
      const health = await s.http("GET", "/healthz");
      expect(health.headers["strict-transport-security"]).toBe(
        "max-age=31536000; includeSubDomains",
      );
      // Plain HTTP to the TLS port gets no API answer.
      const port = (s.api.server.address() as { port: number }).port;
      const plain = await httpClient({ port })("GET", "/healthz").catch((e: Error) => e);
      expect(plain instanceof Error || plain.status === 400).toBe(true);
    } finally {
      await s.close();
    }
  });

  it("checks api.tls at config load, naming the key and the reason", () => {
    const load = (tls: object) => () => config({ api: { tls } });
    expect(load({ cert: join(tlsDir, "cert.pem") })).toThrow(
      /api\.tls\.key: is required with api\.tls\.cert/,
    );
    expect(load({ cert: join(tlsDir, "missing.pem"), key: join(tlsDir, "key.pem") })).toThrow(
      /api\.tls\.cert: ".*missing\.pem" cannot be read: ENOENT/,
    );
    expect(load({ cert: join(tlsDir, "key.pem"), key: join(tlsDir, "key.pem") })).toThrow(
      /api\.tls\.cert: ".*key\.pem" is not a PEM X\.509 certificate/,
    );
    expect(load({ cert: join(tlsDir, "cert.pem"), key: join(tlsDir, "other-key.pem") })).toThrow(
      /api\.tls\.key: ".*other-key\.pem" is not the key of the certificate/,
    );
  });
});

it("keeps the operator token working as admin, and ADMIN is what it acts as", async () => {
  const s = await start();
  try {
    const me = await s.http("GET", "/api/v1/me", { headers: bearer(TOKEN) });
    expect(me.json).toMatchObject({ id: ADMIN.user, role: "admin", via: "operator-token" });
    const wrong = await s.http("GET", "/api/v1/me", { headers: bearer("not-the-operator-token") });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error.message).toBe("the bearer token is not one of api.operatorTokens");
  } finally {
    await s.close();
  }
});
