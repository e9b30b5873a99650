/**
 * The API's limits over real HTTP on loopback (docs/api.md#limits): failed authentications per
 * client address (other loopback addresses, 127.0.0.2 and up, as the client's source), the
 * connection limit, the header, request and keep-alive timeouts and the header size. The clock of
 * the failure windows is the API's `now`, moved by the test; the timeouts are Node's, so their
 * cases run with timeouts of a few hundred milliseconds.
 */
import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { buildCustomerModel } from "../../collector/classify/customer-model.js";
import { validateConfig } from "../../config/load-config.js";
import { captureLog } from "../../test/support/log-capture.js";
import { createMetrics, emptyMetricsSnapshot } from "../metrics.js";
import { type ApiServer, createApiServer } from "./index.js";

const TOKEN = "operator-token-0123456789";
const WRONG = "wrong-token-guess-000000";
/** 2026-11-22T12:00:00Z */
const T0 = Date.UTC(2026, 10, 22, 12);

const servers: ApiServer[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) await s.close();
});

interface Started {
  port: number;
  api: ApiServer;
  lines: string[];
  clock: { now: number };
}

/** An API on 127.0.0.1:0 with `api` config on top of one operator token, as api.test.ts starts it. */
async function start(api: Record<string, unknown> = {}): Promise<Started> {
  const cfg = validateConfig({
    api: { listen: "127.0.0.1:0", operatorTokens: [TOKEN], ...api },
  });
  const { log, lines } = captureLog();
  const clock = { now: T0 };
  const server = createApiServer({
    config: cfg,
    model: buildCustomerModel(cfg),
    log,
    now: () => clock.now,
    status: () => ({ role: "test" }),
    metrics: createMetrics(emptyMetricsSnapshot),
  });
  servers.push(server);
  const { port } = await server.listen();
  return { port, api: server, lines, clock };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test JSON
  json: any;
}

/** One request on its own connection, from `from` (a loopback address). */
function get(
  port: number,
  path: string,
  opts: { token?: string | null; from?: string; authorization?: string } = {},
): Promise<Reply> {
  const { token = TOKEN, from = "127.0.0.1" } = opts;
  const headers: Record<string, string> = {};
  if (opts.authorization !== undefined) headers.authorization = opts.authorization;
  else if (token !== null) headers.authorization = `Bearer ${token}`;
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path, localAddress: from, agent: false, headers },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          text += d;
        });
        res.on("end", () => {
          const json = res.headers["content-type"]?.startsWith("application/json")
            ? JSON.parse(text)
            : undefined;
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** A raw connection; resolves when connected. */
function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: "127.0.0.1" }, () => resolve(s));
    sockets.push(s);
    s.once("error", reject);
  });
}

/** Everything the server sends until it closes the connection, and when it closed it. */
function untilClosed(s: Socket): Promise<{ text: string; closedAt: number }> {
  return new Promise((resolve) => {
    let text = "";
    s.setEncoding("latin1");
    s.on("data", (d: string) => {
      text += d;
    });
    s.on("error", () => {}); // a reset is a close too
    s.on("close", () => resolve({ text, closedAt: performance.now() }));
  });
}

/** Sends a request on a kept-alive connection and waits for its whole (small) answer. */
function ask(s: Socket, path: string): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    const onData = (d: Buffer) => {
      text += d.toString("latin1");
      if (/\r\n\r\n[\s\S]*\n$/.test(text)) {
        s.off("data", onData);
        resolve(text);
      }
    };
    s.on("data", onData);
    s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n`);
  });
}

const metric = (text: string, name: string): number | undefined => {
  const m = new RegExp(`^${name.replace(/[{}]/g, "\\$&")} (\\S+)$`, "m").exec(text);
  return m === null ? undefined : Number(m[1]);
};

async function until(cond: () => boolean, ms = 2_000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("failed authentications", () => {
  it("blocks an address after `limit` wrong tokens: 429 with Retry-After, also for a right token", async () => {
    const { port, lines } = await start({ authFailures: { limit: 3, window: "1m" } });
    for (let i = 0; i < 3; i += 1) {
      const r = await get(port, "/api/v1/status", { token: WRONG });
      expect(r.status).toBe(401);
      expect(r.json.error.code).toBe("FT_UNAUTHORIZED");
    }
    for (const token of [WRONG, TOKEN, null]) {
      const r = await get(port, "/api/v1/status", { token });
      expect(r.status, String(token)).toBe(429);
      expect(r.headers["retry-after"]).toBe("60");
      expect(r.headers["content-type"]).toBe("application/json; charset=utf-8");
      expect(r.json).toEqual({
        error: {
          code: "FT_TOO_MANY_AUTH_FAILURES",
          message: "too many failed authentications from this address; try again in 60 s",
        },
      });
    }
    expect((await get(port, "/metrics")).status).toBe(429);
    // What needs no token still answers.
    expect((await get(port, "/healthz", { token: null })).status).toBe(200);
    // One warning, naming the address, never the token tried.
    const warned = lines.filter((l) => l.includes("client address blocked"));
    expect(warned).toHaveLength(1);
    expect(JSON.parse(warned[0]!)).toMatchObject({
      level: 40,
      client: "127.0.0.1",
      failures: 3,
      blockedSeconds: 60,
    });
    expect(lines.join("")).not.toContain(WRONG);
  });

  it("leaves other addresses alone", async () => {
    const { port } = await start({ authFailures: { limit: 2, window: "1m" } });
    for (let i = 0; i < 2; i += 1) await get(port, "/api/v1/status", { token: WRONG });
    expect((await get(port, "/api/v1/status")).status).toBe(429);
    const other = await get(port, "/api/v1/status", { from: "127.0.0.2" });
    expect(other.status).toBe(200);
    expect(other.json).toEqual({ role: "test" });
    // Its own failures count on their own.
    expect((await get(port, "/api/v1/status", { from: "127.0.0.2", token: WRONG })).status).toBe(
      401,
    );
    expect((await get(port, "/api/v1/status", { from: "127.0.0.2" })).status).toBe(200);
  });

  it("ends the block when the window that began with the first failure ends", async () => {
    const { port, clock } = await start({ authFailures: { limit: 3, window: "1m" } });
    await get(port, "/api/v1/status", { token: WRONG });
    clock.now = T0 + 20_000;
    await get(port, "/api/v1/status", { token: WRONG });
    await get(port, "/api/v1/status", { token: WRONG });
    expect((await get(port, "/api/v1/status")).headers["retry-after"]).toBe("40");
    clock.now = T0 + 59_001;
    const last = await get(port, "/api/v1/status");
    expect([last.status, last.headers["retry-after"]]).toEqual([429, "1"]);
    clock.now = T0 + 60_000;
    expect((await get(port, "/api/v1/status")).status).toBe(200);
    // A new window: the count starts over.
    for (let i = 0; i < 2; i += 1) {
      expect((await get(port, "/api/v1/status", { token: WRONG })).status).toBe(401);
    }
    expect((await get(port, "/api/v1/status")).status).toBe(200);
    expect((await get(port, "/api/v1/status", { token: WRONG })).status).toBe(401);
    expect((await get(port, "/api/v1/status")).status).toBe(429);
  });

  it("counts wrong schemes but not requests without credentials; a success resets nothing", async () => {
    const { port } = await start({ authFailures: { limit: 3, window: "1m" } });
    for (let i = 0; i < 20; i += 1) {
      expect((await get(port, "/api/v1/status", { token: null })).status).toBe(401);
    }
    expect((await get(port, "/api/v1/status")).status).toBe(200);
    const basic = `Basic ${Buffer.from(`x:${TOKEN}`).toString("base64")}`;
    expect((await get(port, "/api/v1/status", { authorization: basic })).status).toBe(401);
    expect((await get(port, "/api/v1/status", { authorization: "Bearer" })).status).toBe(401);
    expect((await get(port, "/api/v1/status")).status).toBe(200);
    expect((await get(port, "/api/v1/status", { token: WRONG })).status).toBe(401);
    expect((await get(port, "/api/v1/status")).status).toBe(429);
  });

  it("is counted in /metrics, and one warning a minute covers a flood of blocked addresses", async () => {
    const { port, lines, clock } = await start({ authFailures: { limit: 1, window: "1m" } });
    for (let k = 1; k <= 4; k += 1) {
      expect(
        (await get(port, "/api/v1/status", { from: `127.0.1.${k}`, token: WRONG })).status,
      ).toBe(401);
      expect((await get(port, "/api/v1/status", { from: `127.0.1.${k}` })).status).toBe(429);
    }
    expect(lines.filter((l) => l.includes("client address blocked"))).toHaveLength(1);
    const m = (await get(port, "/metrics")).text;
    expect(metric(m, "flowtally_api_auth_failures_total")).toBe(4);
    expect(metric(m, "flowtally_api_auth_blocked_requests_total")).toBe(4);
    expect(metric(m, "flowtally_api_auth_blocked_addresses")).toBe(4);
    expect(metric(m, "flowtally_api_auth_addresses_evicted_total")).toBe(0);
    // A minute later the next block is logged, with the three held back.
    clock.now = T0 + 60_000;
    await get(port, "/api/v1/status", { from: "127.0.1.5", token: WRONG });
    const warned = lines.filter((l) => l.includes("client address blocked"));
    expect(warned).toHaveLength(2);
    expect(JSON.parse(warned[1]!)).toMatchObject({ client: "127.0.1.5", alsoBlocked: 3 });
    const later = (await get(port, "/metrics")).text;
    expect(metric(later, "flowtally_api_auth_blocked_addresses")).toBe(1);
  });

  it("tracks at most maxAddresses addresses: the oldest make room, counted", async () => {
    const { port, api } = await start({
      authFailures: { limit: 1, window: "1m", maxAddresses: 4 },
    });
    for (let k = 1; k <= 8; k += 1) {
      await get(port, "/api/v1/status", { from: `127.0.2.${k}`, token: WRONG });
    }
    // 127.0.2.1-4 were dropped to make room for 5-8: only the last four are blocked.
    for (let k = 1; k <= 8; k += 1) {
      const r = await get(port, "/api/v1/status", { from: `127.0.2.${k}` });
      expect(r.status, `127.0.2.${k}`).toBe(k <= 4 ? 200 : 429);
    }
    expect(api.stats()).toMatchObject({ authBlockedAddresses: 4, authAddressesEvicted: 4 });
    const m = (await get(port, "/metrics", { from: "127.0.2.100" })).text;
    expect(metric(m, "flowtally_api_auth_addresses_evicted_total")).toBe(4);
  });
});

describe("connections and timeouts", () => {
  it("uses the limits of the config, with sane defaults", async () => {
    const { api } = await start();
    expect(api.server.maxConnections).toBe(256);
    expect(api.server.headersTimeout).toBe(10_000);
    expect(api.server.requestTimeout).toBe(30_000);
    expect(api.server.keepAliveTimeout).toBe(5_000);
    const set = await start({
      maxConnections: 7,
      headersTimeout: "2s",
      requestTimeout: "3s",
      keepAliveTimeout: "1s",
    });
    expect(set.api.server.maxConnections).toBe(7);
    expect(set.api.server.headersTimeout).toBe(2_000);
    expect(set.api.server.requestTimeout).toBe(3_000);
    expect(set.api.server.keepAliveTimeout).toBe(1_000);
  });

  it("closes connections beyond api.maxConnections at once, counts them, serves again when one ends", async () => {
    const { port, api, lines } = await start({ maxConnections: 3, keepAliveTimeout: "30s" });
    const held: Socket[] = [];
    for (let i = 0; i < 3; i += 1) {
      const s = await open(port);
      expect(await ask(s, "/healthz")).toMatch(/^HTTP\/1\.1 200 /);
      held.push(s);
    }
    expect(api.stats().connections).toBe(3);
    const extra = await open(port);
    const closed = untilClosed(extra);
    const started = performance.now();
    extra.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    const { text, closedAt } = await closed;
    expect(text).toBe("");
    expect(closedAt - started).toBeLessThan(1_000);
    expect(api.stats().connectionsRefused).toBe(1);
    expect(lines.some((l) => l.includes("connection limit reached"))).toBe(true);
    // The three held connections still work.
    expect(await ask(held[0]!, "/healthz")).toMatch(/^HTTP\/1\.1 200 /);
    // One ends: a new connection is served, and the refusal is in /metrics.
    held[2]!.destroy();
    await until(() => api.stats().connections === 2);
    const m = await get(port, "/metrics");
    expect(m.status).toBe(200);
    expect(metric(m.text, "flowtally_api_connections_refused_total")).toBe(1);
    expect(metric(m.text, "flowtally_api_connections")).toBe(3);
  });

  it("cuts off a client that sends its headers too slowly, or nothing, after api.headersTimeout", async () => {
    const { port, api } = await start({ headersTimeout: "300ms", requestTimeout: "1s" });
    const slow = await open(port);
    const slowClosed = untilClosed(slow);
    const started = performance.now();
    slow.write("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    // A header byte every 50 ms: never idle, never done.
    const drip = setInterval(() => slow.write("X-Slow: a\r\n"), 50);
    const idle = await open(port);
    const idleClosed = untilClosed(idle);
    try {
      const s = await slowClosed;
      expect(s.text).toMatch(/^HTTP\/1\.1 408 /);
      expect(s.closedAt - started).toBeGreaterThanOrEqual(250);
      expect(s.closedAt - started).toBeLessThan(1_500);
      const i = await idleClosed;
      expect(i.text).toMatch(/^HTTP\/1\.1 408 /);
      expect(i.closedAt - started).toBeLessThan(1_500);
    } finally {
      clearInterval(drip);
    }
    expect(api.stats().clientErrors.timeout).toBe(2);
    const m = await get(port, "/metrics");
    expect(metric(m.text, 'flowtally_api_client_errors_total{reason="timeout"}')).toBe(2);
  });

  it("cuts off a request body that is too slow after api.requestTimeout", async () => {
    const { port, api } = await start({ headersTimeout: "200ms", requestTimeout: "600ms" });
    const s = await open(port);
    const closed = untilClosed(s);
    const started = performance.now();
    s.write("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
    const drip = setInterval(() => s.write("a"), 50);
    try {
      const { text, closedAt } = await closed;
      // The answer to the headers first (GET ignores a body), then the cut.
      expect(text).toMatch(/^HTTP\/1\.1 200 [\s\S]*HTTP\/1\.1 408 /);
      expect(closedAt - started).toBeGreaterThanOrEqual(550);
      expect(closedAt - started).toBeLessThan(2_000);
    } finally {
      clearInterval(drip);
    }
    expect(api.stats().clientErrors.timeout).toBe(1);
  });

  it("closes an idle keep-alive connection after api.keepAliveTimeout (and Node's extra second)", async () => {
    const { port } = await start({ keepAliveTimeout: "200ms" });
    const s = await open(port);
    expect(await ask(s, "/healthz")).toMatch(/^HTTP\/1\.1 200 /);
    const answered = performance.now();
    const { closedAt } = await untilClosed(s);
    expect(closedAt - answered).toBeGreaterThanOrEqual(150);
    expect(closedAt - answered).toBeLessThan(2_500);
  });

  it("answers 431 to headers over api.maxHeaderSize, counted", async () => {
    const { port, api } = await start({ maxHeaderSize: 2048 });
    const s = await open(port);
    const closed = untilClosed(s);
    s.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(3000)}\r\n\r\n`);
    expect((await closed).text).toMatch(/^HTTP\/1\.1 431 /);
    const ok = await get(port, "/healthz", { token: null });
    expect(ok.status).toBe(200);
    expect(api.stats().clientErrors["headers-too-large"]).toBe(1);
  });
});

describe("request targets and bodies", () => {
  /** One raw request on its own connection; everything the server sent until it closed. */
  async function raw(port: number, request: string): Promise<string> {
    const s = await open(port);
    const closed = untilClosed(s);
    s.write(request);
    return (await closed).text;
  }
  const body = (text: string) => JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4));

  it("routes the exact path: no dot segments resolved, no percent-decoding, no trailing slash", async () => {
    const { port } = await start();
    for (const path of [
      "/api/v1/x/../status",
      "/api/v1/./status",
      "/api/v1/%73tatus",
      "/api/v1/status/",
    ]) {
      const text = await raw(
        port,
        `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`,
      );
      expect(text, path).toMatch(/^HTTP\/1\.1 404 /);
      expect(body(text).error).toEqual({
        code: "FT_NOT_FOUND",
        message: `no endpoint ${JSON.stringify(path)}`,
      });
    }
    expect((await get(port, "/api/v1/status")).status).toBe(200);
  });

  it("answers HTTP/1.0 without a Host header; a target no URL can be made of is a JSON 400", async () => {
    const { port } = await start();
    expect(await raw(port, "GET /healthz HTTP/1.0\r\n\r\n")).toMatch(/^HTTP\/1\.1 200 /);
    const text = await raw(
      port,
      "GET /api\\v1\\status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    expect(text).toMatch(/^HTTP\/1\.1 400 /);
    expect(text).toMatch(/\r\ncache-control: no-store\r\n/i);
    expect(body(text).error.code).toBe("FT_BAD_REQUEST");
  });

  it("refuses a body over 1 MiB with 413 before anything else; a smaller one gets the 405", async () => {
    const { port, api } = await start();
    const big = await raw(
      port,
      `POST /api/v1/status HTTP/1.1\r\nHost: x\r\nContent-Length: ${1024 * 1024 + 1}\r\n\r\nabc`,
    );
    expect(big).toMatch(/^HTTP\/1\.1 413 /);
    expect(body(big).error).toEqual({
      code: "FT_BODY_TOO_LARGE",
      message: "the request body is larger than 1048576 bytes",
    });
    expect(api.stats().authFailures).toBe(0);
    const small = await raw(
      port,
      `POST /api/v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc`,
    );
    expect(small).toMatch(/^HTTP\/1\.1 405 /);
    expect(small).toMatch(/\r\nallow: GET, HEAD\r\n/i);
    // Sent in chunks, with no length announced: counted as it comes, refused all the same.
    const size = (1024 * 1024 + 1).toString(16);
    const chunked = await raw(
      port,
      `POST /api/v1/status HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${size}\r\n${"a".repeat(1024 * 1024 + 1)}\r\n0\r\n\r\n`,
    );
    expect(chunked).toMatch(/^HTTP\/1\.1 413 /);
    expect(body(chunked).error.code).toBe("FT_BODY_TOO_LARGE");
    expect(api.stats().authFailures).toBe(0);
  });
});
