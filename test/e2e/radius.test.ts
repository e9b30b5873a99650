/**
 * The RADIUS client (accounts/radius-client.ts) against a real FreeRADIUS (Debian's freeradius,
 * started by the harness on a free loopback UDP port with a minimal config in a temporary
 * directory, requiring Message-Authenticator): accept, reject, failover, hold-down, a wrong
 * shared secret, forged replies, passwords of every length PAP allows, IPv6, and more requests
 * at once than one socket has Identifiers.
 */
import { createHash, createHmac } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import {
  createRadiusClient,
  type RadiusClientConfig,
  type RadiusServerConfig,
} from "../../accounts/radius-client.js";
import { type FreeradiusServer, startFreeradius } from "../support/servers.js";

const SECRET = "harness-shared-secret-0123456789";

/** Passwords of the lengths the hiding's blocks turn on, and UTF-8 beyond ASCII. */
const USERS = [
  { name: "alice", password: "correct horse battery staple" },
  { name: "p16", password: "0123456789abcdef" },
  { name: "p17", password: "0123456789abcdefg" },
  { name: "p100", password: `${"x".repeat(99)}!` },
  { name: "p128", password: "é".repeat(64) }, // 128 bytes, PAP's most
  { name: "utf8", password: "pässwörd-日本語-🔑" },
  { name: "quotes", password: 'a "quoted" \\ back\\slash' },
  { name: "Zoë", password: "name-not-ascii" },
];

let radius: FreeradiusServer;
const logLines: string[] = [];
const log = pino({ level: "trace" }, { write: (s: string) => void logLines.push(s) });

beforeAll(async () => {
  radius = await startFreeradius({ users: USERS, secret: SECRET });
}, 30_000);

afterAll(async () => {
  await radius?.close();
  // Nothing logged, at any level, holds a password or a secret.
  const all = logLines.join("");
  for (const u of USERS) expect(all).not.toContain(JSON.stringify(u.password).slice(1, -1));
  expect(all).not.toContain(SECRET);
  expect(all).not.toContain("wrong-password-");
});

const real = (over: Partial<RadiusServerConfig> = {}): RadiusServerConfig => ({
  host: "127.0.0.1",
  port: radius.port,
  secret: SECRET,
  ...over,
});

function client(servers: RadiusServerConfig[], over: Partial<RadiusClientConfig> = {}) {
  const c = createRadiusClient({ servers, timeout: 200, retries: 2, ...over }, { log });
  onTestFinished(() => c.stop());
  return c;
}

/** A UDP socket on a loopback port that takes datagrams and never answers: a dead server. */
async function silentServer(host = "127.0.0.1"): Promise<{ port: number; received: Buffer[] }> {
  const socket = createSocket(host.includes(":") ? "udp6" : "udp4");
  const received: Buffer[] = [];
  socket.on("message", (m) => received.push(m));
  await new Promise<void>((r) => socket.bind(0, host, () => r()));
  onTestFinished(() => new Promise<void>((r) => socket.close(() => r())));
  return { port: socket.address().port, received };
}

/**
 * A server that answers every Access-Request at once with what `forge` makes of it: an impostor
 * without the shared secret, or one that leaves the Message-Authenticator out.
 */
async function answeringServer(
  forge: (request: Buffer) => Buffer[],
): Promise<{ port: number; socket: Socket }> {
  const socket = createSocket("udp4");
  socket.on("message", (m, from) => {
    for (const reply of forge(m)) socket.send(reply, from.port, from.address);
  });
  await new Promise<void>((r) => socket.bind(0, "127.0.0.1", () => r()));
  onTestFinished(() => new Promise<void>((r) => socket.close(() => r())));
  return { port: socket.address().port, socket };
}

/** A reply to `request` as RFC 2865 §3 and RFC 3579 §3.2 make it, signed with `secret`. */
function signedReply(request: Buffer, code: number, secret: string, withMac: boolean): Buffer {
  const requestAuth = request.subarray(4, 20);
  const p = Buffer.concat([
    Buffer.from([code, request[1]!, 0, 0]),
    requestAuth,
    withMac ? Buffer.from([80, 18, ...Buffer.alloc(16)]) : Buffer.alloc(0),
  ]);
  p.writeUInt16BE(p.length, 2);
  if (withMac) createHmac("md5", secret).update(p).digest().copy(p, 22);
  createHash("md5")
    .update(p.subarray(0, 4))
    .update(requestAuth)
    .update(p.subarray(20))
    .update(secret)
    .digest()
    .copy(p, 4);
  return p;
}

describe("against FreeRADIUS", () => {
  it("accepts the right password, rejects a wrong one and an unknown user", async () => {
    const c = client([real()]);
    expect(await c.authenticate("alice", "correct horse battery staple")).toBe("accept");
    expect(await c.authenticate("alice", "wrong-password-1")).toBe("reject");
    expect(await c.authenticate("alice", "correct horse battery stapl")).toBe("reject");
    expect(await c.authenticate("mallory", "correct horse battery staple")).toBe("reject");
    expect(radius.output()).toMatch(/Login OK: \[alice\]/);
  });

  it("passwords of 16, 17, 100 and 128 bytes, UTF-8, quotes and backslashes; a non-ASCII user name", async () => {
    const c = client([real()]);
    for (const u of USERS) {
      expect(await c.authenticate(u.name, u.password), u.name).toBe("accept");
      // One byte more, one byte less: wrong.
      if (Buffer.byteLength(u.password) < 128) {
        expect(await c.authenticate(u.name, `${u.password}x`), u.name).toBe("reject");
      }
      expect(await c.authenticate(u.name, u.password.slice(0, -1)), u.name).toBe("reject");
    }
    // Over PAP's 128 bytes, or empty: refused without asking.
    expect(await c.authenticate("p128", `${"é".repeat(64)}x`)).toBe("reject");
    expect(await c.authenticate("alice", "")).toBe("reject");
  });

  it("over IPv6 loopback", async () => {
    const c = client([real({ host: "::1" })]);
    expect(await c.authenticate("alice", "correct horse battery staple")).toBe("accept");
    expect(await c.authenticate("alice", "wrong-password-2")).toBe("reject");
  });

  it("fails over from a dead server to the next within timeout × (retries + 1), then holds the dead one down", async () => {
    const dead = await silentServer();
    const c = client([real({ port: dead.port }), real()]);
    const t0 = performance.now();
    expect(await c.authenticate("alice", "correct horse battery staple")).toBe("accept");
    const took = performance.now() - t0;
    // Three sends of 200 ms each to the dead one, then the real one's quick answer (the margin
    // is for a loaded machine).
    expect(took).toBeGreaterThanOrEqual(600 - 5);
    expect(took).toBeLessThan(600 + 600);
    // The same request each time: one Identifier, one Request Authenticator (a retransmission).
    expect(dead.received).toHaveLength(3);
    expect(dead.received[1]).toEqual(dead.received[0]);
    expect(dead.received[2]).toEqual(dead.received[0]);
    // Held down: the next request goes straight to the live server.
    expect(await c.authenticate("alice", "wrong-password-3")).toBe("reject");
    expect(dead.received).toHaveLength(3);
  });

  it("asks a held-down server again once the hold-down ends", async () => {
    const dead = await silentServer();
    const c = client([real({ port: dead.port }), real()], { holdDown: 300 });
    expect(await c.authenticate("alice", "correct horse battery staple")).toBe("accept");
    expect(dead.received).toHaveLength(3);
    await new Promise((r) => setTimeout(r, 350));
    expect(await c.authenticate("alice", "correct horse battery staple")).toBe("accept");
    expect(dead.received).toHaveLength(6);
  });

  it("is unavailable when no server answers, and tries them again (once each) while all are held down", async () => {
    const a = await silentServer();
    const b = await silentServer("::1");
    const c = client([real({ port: a.port }), real({ host: "::1", port: b.port })]);
    const t0 = performance.now();
    expect(await c.authenticate("alice", "correct horse battery staple")).toBe("unavailable");
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(2 * 600 - 10);
    expect(took).toBeLessThan(2 * 600 + 600);
    expect([a.received.length, b.received.length]).toEqual([3, 3]);
    // Both held down: each asked once, not given up on.
    expect(await c.authenticate("alice", "correct horse battery staple")).toBe("unavailable");
    expect([a.received.length, b.received.length]).toEqual([4, 4]);
  });

  it("with a wrong shared secret: the server drops the request, the client answers unavailable, never accept", async () => {
    const c = client([real({ secret: "not-the-harness-shared-secret" })]);
    expect(await c.authenticate("alice", "correct horse battery staple")).toBe("unavailable");
    expect(radius.output()).toMatch(/invalid Message-Authenticator/);
  });

  it("drops replies that do not verify: another secret, no Message-Authenticator, then believes none", async () => {
    // An impostor answers Access-Accept at once, signed with a secret of its own, and one
    // correctly signed but without Message-Authenticator (what BlastRADIUS forges).
    const impostor = await answeringServer((req) => [
      signedReply(req, 2, "impostor-secret", true),
      signedReply(req, 2, SECRET, false),
    ]);
    const c = client([real({ port: impostor.port })]);
    expect(await c.authenticate("alice", "anything")).toBe("unavailable");
    expect(logLines.join("")).toMatch(/radius replies dropped/);
    // The same impostor with the secret and a Message-Authenticator is believed: what it
    // takes is the secret.
    const honest = await answeringServer((req) => [signedReply(req, 3, SECRET, true)]);
    expect(await client([real({ port: honest.port })]).authenticate("alice", "x")).toBe("reject");
  });

  it("takes an Access-Challenge as a reject", async () => {
    const challenger = await answeringServer((req) => [signedReply(req, 11, SECRET, true)]);
    const c = client([real({ port: challenger.port }), real()]);
    expect(await c.authenticate("alice", "correct horse battery staple")).toBe("reject");
  });

  it("answers 600 requests at once over one socket (more than its 256 Identifiers)", async () => {
    const c = client([real()], { timeout: 3000, retries: 1 });
    const asks = Array.from({ length: 600 }, (_, k) =>
      k % 3 === 0
        ? { user: "p17", password: "0123456789abcdefg", expect: "accept" }
        : k % 3 === 1
          ? { user: "p17", password: `wrong-password-${k}`, expect: "reject" }
          : { user: `nobody-${k}`, password: "x", expect: "reject" },
    );
    const answers = await Promise.all(asks.map((a) => c.authenticate(a.user, a.password)));
    expect(answers).toEqual(asks.map((a) => a.expect));
    // Never two requests in flight with one Identifier (FreeRADIUS would give the first up).
    expect(radius.output()).not.toMatch(/conflicting packet/);
  });

  it("past 256 in flight and maxWaiting waiting for an Identifier, a login goes to the next server, and the busy one is not held down", async () => {
    const next = await silentServer();
    const lines: string[] = [];
    const c = createRadiusClient(
      {
        servers: [real(), real({ port: next.port })],
        timeout: 1000,
        retries: 0,
        maxWaiting: 10,
      },
      { log: pino({ level: "info" }, { write: (l: string) => void lines.push(l) }) },
    );
    onTestFinished(() => c.stop());
    const answers = await Promise.all(
      Array.from({ length: 300 }, () => c.authenticate("p16", "0123456789abcdef")),
    );
    expect(answers.filter((a) => a === "accept")).toHaveLength(256 + 10);
    // The 34 others went to the next server, which did not answer.
    expect(answers.filter((a) => a === "unavailable")).toHaveLength(300 - 266);
    expect(next.received).toHaveLength(34);
    const heldDown = lines.filter((l) => l.includes("held down")).map((l) => JSON.parse(l).server);
    expect(heldDown).toEqual([`127.0.0.1:${next.port}`]);
    expect(lines.join("")).toMatch(/too many requests waiting/);
  });

  it("stop() answers the requests in flight unavailable at once, and every later one", async () => {
    const dead = await silentServer();
    const c = createRadiusClient(
      { servers: [real({ port: dead.port })], timeout: 5000, retries: 2 },
      { log },
    );
    const pending = c.authenticate("alice", "correct horse battery staple");
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    await c.stop();
    expect(await pending).toBe("unavailable");
    expect(performance.now() - t0).toBeLessThan(500);
    expect(await c.authenticate("alice", "correct horse battery staple")).toBe("unavailable");
  });
});
