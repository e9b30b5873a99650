/**
 * Webhook delivery against a real HTTP receiver on loopback (node:http in the test): a receiver
 * that answers 500 to the first attempts, then 200, gets the incident's start and end once each,
 * in that order, signed (checked with an HMAC computed here), after retries spaced by the
 * backoff. Also: giving up after maxAttempts, timeouts, the bounded queue, scoping, credentials
 * in the URL, and deliveries kept at stop and sent after a restart.
 */
import { createHmac } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { SlaWebhookConfig } from "../../schema/config.js";
import { captureLog } from "../../test/support/log-capture.js";
import type { IncidentEvent, LiveIncident } from "../incident-tracker.js";
import { verifySignature } from "./alert-body.js";
import { createWebhookSender, inScope, retryDelay, type WebhookSender } from "./webhook-sender.js";

const T0 = Date.UTC(2031, 2, 4, 10, 0);
const M = 60_000;
const SECRET = "s3cret-for-tests";

interface Received {
  atMs: number;
  headers: IncomingMessage["headers"];
  body: string;
  status: number;
}

/** A receiver answering `answer(n)` to its n-th request (from 1); `hang` never answers. */
async function receiver(answer: (n: number) => number | "hang") {
  const got: Received[] = [];
  const hanging: Array<() => void> = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const a = answer(got.length + 1);
      const status = a === "hang" ? 0 : a;
      got.push({
        atMs: performance.now(),
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
        status,
      });
      if (a === "hang") {
        hanging.push(() => res.destroy());
        return;
      }
      res.writeHead(a, { "content-type": "text/plain" }).end(a === 200 ? "ok" : "nope");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  servers.push(() => {
    for (const h of hanging) h();
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { url: `http://127.0.0.1:${port}/hook`, port, got };
}

const servers: Array<() => Promise<void>> = [];
const senders: WebhookSender[] = [];
afterEach(async () => {
  for (const s of senders.splice(0)) s.stop();
  for (const close of servers.splice(0)) await close();
});

function webhook(url: string, over: Partial<SlaWebhookConfig> = {}): SlaWebhookConfig {
  return {
    name: "ops",
    url,
    secret: SECRET,
    timeoutMs: 2000,
    maxAttempts: 5,
    retryDelayMs: 100,
    maxPending: 100,
    ...over,
  };
}

const incident: LiveIncident = {
  id: "acme/web/2031-03-04T10:01:00.000Z",
  customer: "acme",
  trafficClass: "web",
  startMs: T0 + M,
  endMs: T0 + 2 * M,
  minutes: 1,
  worstMinuteMs: T0 + M,
  worstShare: 0.5,
  transactions: 10,
  good: 5,
  targetPercent: 95,
  thresholdMs: 200,
};
const started: IncidentEvent = { event: "incident.started", incident };
const ended: IncidentEvent = {
  event: "incident.ended",
  incident: { ...incident, endMs: T0 + 4 * M, minutes: 3, transactions: 30, good: 12 },
  reason: "compliant",
};

async function until(what: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
}

function start(hooks: SlaWebhookConfig[], random = () => 0.5) {
  const { log, lines } = captureLog();
  const sender = createWebhookSender(hooks, { log, random });
  senders.push(sender);
  return { sender, lines };
}

describe("webhook sender", () => {
  it("retries a receiver that fails the first attempts: start and end arrive once each, signed, after the backoff", async () => {
    const r = await receiver((n) => (n <= 2 ? 500 : 200));
    const { sender } = start([webhook(r.url)]);
    const sentAt = Date.now();
    sender.send(started, "business");
    sender.send(ended, "business");
    await until(() => sender.state()[0]!.delivered === 2);

    // started: 500, 500, 200; then ended: 200 (it waited behind the start).
    expect(r.got.map((g) => [JSON.parse(g.body).event, g.status])).toEqual([
      ["incident.started", 500],
      ["incident.started", 500],
      ["incident.started", 200],
      ["incident.ended", 200],
    ]);
    const ok = r.got.filter((g) => g.status === 200).map((g) => JSON.parse(g.body));
    expect(ok.map((b) => b.event)).toEqual(["incident.started", "incident.ended"]);
    // The same delivery id on each attempt of one delivery; another for the end.
    const ids = r.got.map((g) => g.headers["x-flowtally-delivery"]);
    expect(new Set(ids.slice(0, 3)).size).toBe(1);
    expect(ids[3]).not.toBe(ids[0]);
    expect(JSON.parse(r.got[0]!.body).id).toBe(ids[0]);

    // Every attempt is signed: HMAC-SHA256(secret, "<timestamp>.<body>") computed here.
    for (const g of r.got) {
      const ts = Number(g.headers["x-flowtally-timestamp"]);
      expect(Math.abs(ts - Math.floor(sentAt / 1000))).toBeLessThanOrEqual(5);
      const hex = createHmac("sha256", SECRET).update(`${ts}.${g.body}`).digest("hex");
      expect(g.headers["x-flowtally-signature"]).toBe(`sha256=${hex}`);
      expect(g.headers["content-type"]).toBe("application/json");
      expect(g.headers["x-flowtally-event"]).toBe(JSON.parse(g.body).event);
    }
    // The body, field by field.
    expect(ok[1]).toMatchObject({
      event: "incident.ended",
      webhook: "ops",
      customer: "acme",
      class: "web",
      incident: {
        id: "acme/web/2031-03-04T10:01:00.000Z",
        start: "2031-03-04T10:01:00.000Z",
        end: "2031-03-04T10:04:00.000Z",
        minutes: 3,
        worstMinute: "2031-03-04T10:01:00.000Z",
        worstShare: 0.5,
        transactions: 30,
        good: 12,
        endReason: "compliant",
      },
      target: 95,
      threshold: 200,
    });

    // Backoff with jitter 0.5: 100 × 2^(n-1) × (0.5 + 0.5/2) = 75 ms, then 150 ms.
    const gap1 = r.got[1]!.atMs - r.got[0]!.atMs;
    const gap2 = r.got[2]!.atMs - r.got[1]!.atMs;
    // (Lower bounds only: a loaded machine may add to any wait, never take from it.)
    expect(gap1).toBeGreaterThanOrEqual(74);
    expect(gap2).toBeGreaterThanOrEqual(149);
    expect(gap1).toBeLessThan(1000);
    expect(gap2).toBeLessThan(1000);

    const [state] = sender.state();
    expect(state).toMatchObject({
      name: "ops",
      pending: 0,
      delivered: 2,
      failed: 0,
      dropped: 0,
      attempts: 4,
      failedAttempts: 2,
    });
    expect(state!.lastDeliveries.map((d) => [d.event, d.state, d.attempts, d.lastStatus])).toEqual([
      ["incident.ended", "delivered", 1, 200],
      ["incident.started", "delivered", 3, 200],
    ]);
  });

  it("gives up after maxAttempts and goes on with the next delivery", async () => {
    const r = await receiver((n) => (n <= 2 ? 503 : 200));
    const { sender, lines } = start([webhook(r.url, { maxAttempts: 2, retryDelayMs: 10 })]);
    sender.send(started, undefined);
    sender.send(ended, undefined);
    await until(() => sender.state()[0]!.delivered === 1);
    const [state] = sender.state();
    expect(state).toMatchObject({ delivered: 1, failed: 1, attempts: 3, failedAttempts: 2 });
    expect(state!.lastDeliveries[1]).toMatchObject({
      event: "incident.started",
      state: "failed",
      attempts: 2,
      lastStatus: 503,
    });
    expect(lines.some((l) => l.includes("delivery failed after its last attempt"))).toBe(true);
  });

  it("an attempt that gets no answer within timeoutMs fails as a timeout", async () => {
    const r = await receiver((n) => (n === 1 ? "hang" : 200));
    // The retry waits 500 × 0.75 ms: time to see the failed attempt before it.
    const { sender } = start([webhook(r.url, { timeoutMs: 200, retryDelayMs: 500 })]);
    sender.send(started, undefined);
    let seen: ReturnType<WebhookSender["state"]>[number] | undefined;
    await until(() => {
      const s = sender.state()[0]!;
      if (s.failedAttempts === 1) seen = s;
      return seen !== undefined;
    });
    expect(seen!.pendingDeliveries[0]).toMatchObject({
      attempts: 1,
      lastError: "timeout",
      lastStatus: null,
    });
    await until(() => sender.state()[0]!.delivered === 1);
    expect(sender.state()[0]).toMatchObject({ attempts: 2, failedAttempts: 1 });
  });

  it("never blocks: a full queue drops new deliveries, counted and logged once", async () => {
    const r = await receiver(() => 500);
    const { sender, lines } = start([
      webhook(r.url, { maxPending: 2, retryDelayMs: 60_000, maxAttempts: 3 }),
    ]);
    const t = performance.now();
    for (let k = 0; k < 1000; k++) sender.send(started, undefined);
    expect(performance.now() - t).toBeLessThan(200);
    const [state] = sender.state();
    expect(state).toMatchObject({ pending: 2, dropped: 998 });
    expect(lines.filter((l) => l.includes("maxPending")).length).toBe(1);
  });

  it("deliveries left at stop come back with restore and are sent", async () => {
    const r = await receiver((n) => (n === 1 ? 500 : 200));
    const first = start([webhook(r.url, { retryDelayMs: 60_000 })]).sender;
    first.send(started, undefined);
    await until(() => r.got.length === 1 && first.state()[0]!.failedAttempts === 1);
    const left = JSON.parse(JSON.stringify(first.stop()));
    expect(left).toHaveLength(1);
    const second = start([webhook(r.url, { retryDelayMs: 60_000 })]).sender;
    second.restore(left);
    await until(() => second.state()[0]!.delivered === 1);
    expect(r.got.map((g) => g.status)).toEqual([500, 200]);
    expect(second.state()[0]!.lastDeliveries[0]!.attempts).toBe(2);
  });

  it("sends credentials of the URL as basic authorization and shows the URL without its password", async () => {
    const r = await receiver(() => 200);
    const url = `http://alerts:pa%24s@127.0.0.1:${r.port}/hook`;
    const { sender } = start([webhook(url)]);
    sender.send(started, undefined);
    await until(() => sender.state()[0]!.delivered === 1);
    expect(r.got[0]!.headers.authorization).toBe(
      `Basic ${Buffer.from("alerts:pa$s").toString("base64")}`,
    );
    expect(sender.state()[0]!.url).toBe(`http://alerts:***@127.0.0.1:${r.port}/hook`);
  });

  it("scopes webhooks by class, customer and service type", () => {
    expect(inScope({}, started, undefined)).toBe(true);
    expect(inScope({ classes: ["web"] }, started, undefined)).toBe(true);
    expect(inScope({ classes: ["voip"] }, started, undefined)).toBe(false);
    expect(inScope({ customers: ["beta"] }, started, undefined)).toBe(false);
    expect(inScope({ serviceTypes: ["business"] }, started, "business")).toBe(true);
    expect(inScope({ serviceTypes: ["business"] }, started, "home")).toBe(false);
    expect(inScope({ serviceTypes: ["business"] }, started, undefined)).toBe(false);
    expect(inScope({ classes: ["web"], customers: ["acme"] }, started, "x")).toBe(true);
  });

  it("verifySignature takes the HMAC computed independently and refuses a changed body or time", () => {
    const body = '{"event":"incident.started"}';
    const hex = createHmac("sha256", SECRET).update(`1900000000.${body}`).digest("hex");
    expect(verifySignature(SECRET, 1900000000, body, `sha256=${hex}`)).toBe(true);
    expect(verifySignature(SECRET, 1900000001, body, `sha256=${hex}`)).toBe(false);
    expect(verifySignature(SECRET, 1900000000, `${body} `, `sha256=${hex}`)).toBe(false);
    expect(verifySignature("other", 1900000000, body, `sha256=${hex}`)).toBe(false);
    expect(verifySignature(SECRET, 1900000000, body, hex)).toBe(false);
  });

  it("backs off exponentially with jitter, at most 10 minutes", () => {
    expect([1, 2, 3, 4].map((n) => retryDelay(1000, n, 0))).toEqual([500, 1000, 2000, 4000]);
    expect([1, 2, 3].map((n) => retryDelay(1000, n, 0.999999))).toEqual([1000, 2000, 4000]);
    expect(retryDelay(1000, 40, 0)).toBe(300_000);
  });
});
