/**
 * A real packet capture with known server delays, for the SLA proof (issue 18): two HTTP servers
 * on 127.0.0.3 (services `web` and `api`, each on a free port) answer every request
 * `GET /delay/<ms>` after `ms` milliseconds; a client on 127.0.0.2 runs the plan's connections one
 * after the other (each with its requests in order, keep-alive), while `tcpdump -i lo` records
 * them. The capture is then re-timed with {@link retimeCapture} so that each group of connections
 * starts at its planned second of its planned minute of a fixed date: a schedule spanning several
 * minutes is not practical live, and a test must never meet the real clock.
 *
 * Why a real capture and not a written one: the handshakes, the ACKs, the FIN exchanges and the
 * timestamps are the kernel's, exactly what a monitor on a mirror port sees. Only whole
 * connections are moved in time (every packet of a group by the same amount), so every delay
 * inside a connection is the measured one, to the microsecond of the capture.
 *
 * The manifest written beside the capture is the generator's ground truth: which connection
 * (client port) carried which requests with which delays, in which group, at which minute.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";

export const CLIENT_ADDRESS = "127.0.0.2";
export const SERVER_ADDRESS = "127.0.0.3";

export type DelayService = "web" | "api";

export interface ConnectionPlan {
  service: DelayService;
  /** One request per entry, in order on one connection: the server's delay in ms. */
  delaysMs: number[];
}

export interface GroupPlan {
  /** Minutes after the plan's start. */
  minute: number;
  /** Second of that minute the group's first packet is moved to (fractions allowed). */
  atSecond: number;
  connections: ConnectionPlan[];
}

export interface DelayPlan {
  /** ISO 8601 start of minute 0 (a fixed date, never the real clock). */
  start: string;
  groups: GroupPlan[];
}

export interface CapturedConnection {
  group: number;
  service: DelayService;
  clientPort: number;
  serverPort: number;
  delaysMs: number[];
}

export interface DelayManifest {
  plan: DelayPlan;
  client: string;
  server: string;
  ports: Record<DelayService, number>;
  connections: CapturedConnection[];
  /** What tcpdump said when it stopped (packets captured / dropped by kernel). */
  tcpdump: string;
}

const RESPONSE = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";

/** An HTTP/1.1 server answering `GET /delay/<ms>` after `ms` ms, keep-alive, one request at a time. */
function delayServer(): Server {
  return createServer((socket) => {
    let pending = "";
    socket.on("data", (chunk) => {
      pending += chunk.toString("latin1");
      for (let end = pending.indexOf("\r\n\r\n"); end >= 0; end = pending.indexOf("\r\n\r\n")) {
        const head = pending.slice(0, end);
        pending = pending.slice(end + 4);
        const ms = Number(/^GET \/delay\/(\d+) /.exec(head)?.[1] ?? 0);
        setTimeout(() => socket.write(RESPONSE), ms);
      }
    });
    socket.on("end", () => socket.end());
    socket.on("error", () => socket.destroy());
  });
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, SERVER_ADDRESS, () => {
      const a = server.address();
      resolve(typeof a === "object" && a !== null ? a.port : 0);
    });
  });
}

/** One connection: its requests in order (each waits for its whole response), then FIN. */
async function runConnection(port: number, delaysMs: readonly number[]): Promise<number> {
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = connect({ host: SERVER_ADDRESS, port, localAddress: CLIENT_ADDRESS }, () =>
      resolve(s),
    );
    s.once("error", reject);
  });
  const clientPort = socket.localPort ?? 0;
  let received = "";
  let waiting: (() => void) | undefined;
  socket.on("data", (chunk) => {
    received += chunk.toString("latin1");
    if (received.length >= RESPONSE.length && waiting !== undefined) {
      received = received.slice(RESPONSE.length);
      const w = waiting;
      waiting = undefined;
      w();
    }
  });
  for (const ms of delaysMs) {
    await new Promise<void>((resolve) => {
      waiting = resolve;
      socket.write(`GET /delay/${ms} HTTP/1.1\r\nHost: ${SERVER_ADDRESS}\r\n\r\n`);
    });
  }
  await new Promise<void>((resolve) => {
    socket.once("close", () => resolve());
    socket.end();
  });
  return clientPort;
}

/** Starts tcpdump on lo for the two server ports; resolves once it listens. */
function startTcpdump(out: string, ports: readonly number[]): Promise<ChildProcess> {
  const filter = `host ${SERVER_ADDRESS} and (${ports.map((p) => `tcp port ${p}`).join(" or ")})`;
  const p = spawn(
    "tcpdump",
    ["-i", "lo", "--immediate-mode", "-U", "-n", "-s", "256", "-w", out, filter],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let err = "";
  return new Promise((resolve, reject) => {
    const early = (code: number | null) => reject(new Error(`tcpdump exited (${code}): ${err}`));
    p.once("error", reject);
    p.once("exit", early);
    const ready = (d: Buffer) => {
      err += String(d);
      if (!err.includes("listening on")) return;
      p.off("exit", early);
      p.stderr?.off("data", ready);
      resolve(p);
    };
    p.stderr?.on("data", ready);
  });
}

function stopTcpdump(p: ChildProcess): Promise<string> {
  let err = "";
  p.stderr?.on("data", (d) => {
    err += String(d);
  });
  return new Promise((resolve) => {
    p.once("exit", () => resolve(err.trim()));
    p.kill("SIGINT");
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs the plan live on loopback under tcpdump (`rawPcap`), then writes the re-timed capture
 * (`outPcap`) and returns the manifest (also written to `manifestPath` when given).
 */
export async function recordDelayCapture(
  plan: DelayPlan,
  paths: { rawPcap: string; outPcap: string; manifestPath?: string },
): Promise<DelayManifest> {
  const servers = { web: delayServer(), api: delayServer() };
  const ports = { web: await listen(servers.web), api: await listen(servers.api) };
  const connections: CapturedConnection[] = [];
  let tcpdump: ChildProcess | undefined;
  let tcpdumpSaid = "";
  try {
    tcpdump = await startTcpdump(paths.rawPcap, [ports.web, ports.api]);
    for (const [g, group] of plan.groups.entries()) {
      for (const c of group.connections) {
        const clientPort = await runConnection(ports[c.service], c.delaysMs);
        connections.push({
          group: g,
          service: c.service,
          clientPort,
          serverPort: ports[c.service],
          delaysMs: [...c.delaysMs],
        });
      }
      // The last FIN's ACK, before the next group starts.
      await sleep(20);
    }
    // tcpdump hands over packets in blocks (libpcap's 1 s timeout) even in immediate mode on
    // some kernels: give the last ones time to reach the file before SIGINT.
    await sleep(1500);
  } finally {
    if (tcpdump !== undefined) tcpdumpSaid = await stopTcpdump(tcpdump);
    servers.web.close();
    servers.api.close();
  }
  const manifest: DelayManifest = {
    plan,
    client: CLIENT_ADDRESS,
    server: SERVER_ADDRESS,
    ports,
    connections,
    tcpdump: tcpdumpSaid
      .split("\n")
      .filter((l) => /captured|dropped/.test(l))
      .join("; "),
  };
  retimeCapture(paths.rawPcap, paths.outPcap, manifest);
  if (paths.manifestPath !== undefined) {
    writeFileSync(paths.manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  }
  return manifest;
}

/**
 * Re-times a libpcap capture of the plan (Ethernet frames of IPv4/TCP, as tcpdump writes on Linux
 * lo): every packet of a group's connections (found by client port) is moved by the same amount,
 * so that the group's first packet falls at its planned minute and second; the packets are then
 * written in time order. Throws on a packet of no planned connection.
 */
export function retimeCapture(rawPath: string, outPath: string, manifest: DelayManifest): void {
  const raw = readFileSync(rawPath);
  const le = raw.readUInt32LE(0) === 0xa1b2c3d4;
  const nano = raw.readUInt32LE(0) === 0xa1b23c4d;
  if (!le && !nano) throw new Error(`${rawPath}: not a little-endian libpcap file`);
  if (raw.readUInt32LE(20) !== 1) throw new Error(`${rawPath}: link type is not Ethernet`);
  const perSec = nano ? 1e9 : 1e6;
  const groupOf = new Map(manifest.connections.map((c) => [c.clientPort, c.group]));
  const packets: Array<{ group: number; ts: number; bytes: Buffer }> = [];
  for (let at = 24; at < raw.length; ) {
    const caplen = raw.readUInt32LE(at + 8);
    const ts = raw.readUInt32LE(at) * perSec + raw.readUInt32LE(at + 4);
    const bytes = raw.subarray(at, at + 16 + caplen);
    const ip = at + 16 + 14;
    const ihl = (raw[ip]! & 0x0f) * 4;
    const src = raw.readUInt16BE(ip + ihl);
    const dst = raw.readUInt16BE(ip + ihl + 2);
    const group = groupOf.get(src) ?? groupOf.get(dst);
    if (group === undefined)
      throw new Error(`${rawPath}: a packet ${src} → ${dst} of no connection`);
    packets.push({ group, ts, bytes });
    at += 16 + caplen;
  }
  const firstOf = new Map<number, number>();
  for (const p of packets) if (!firstOf.has(p.group)) firstOf.set(p.group, p.ts);
  const startMs = Date.parse(manifest.plan.start);
  const out = packets.map((p) => {
    const g = manifest.plan.groups[p.group]!;
    const targetUnits = (startMs / 1000 + g.minute * 60) * perSec + Math.round(g.atSecond * perSec);
    return { ts: targetUnits + (p.ts - firstOf.get(p.group)!), bytes: p.bytes };
  });
  out.sort((a, b) => a.ts - b.ts);
  const chunks: Buffer[] = [raw.subarray(0, 24)];
  for (const p of out) {
    const rec = Buffer.from(p.bytes);
    rec.writeUInt32LE(Math.floor(p.ts / perSec), 0);
    rec.writeUInt32LE(p.ts % perSec, 4);
    chunks.push(rec);
  }
  writeFileSync(outPath, Buffer.concat(chunks));
}

/**
 * The plan the committed fixture was recorded with (test/fixtures/packets/generated/): delays of
 * 5, 20, 80, 150 and 400 ms on two services over six minutes of 2026-11-01 from 10:00 UTC, with a
 * minute without transactions (10:02) and a transaction whose request starts at 10:04:59.8 and
 * whose response ends at 10:05:00.2 (counted in the minute it ended, 10:05).
 */
export const FIXTURE_PLAN: DelayPlan = {
  start: "2026-11-01T10:00:00Z",
  groups: [
    {
      minute: 0,
      atSecond: 5,
      connections: [
        { service: "web", delaysMs: [5] },
        { service: "web", delaysMs: [20] },
        { service: "web", delaysMs: [80] },
        { service: "web", delaysMs: [150] },
        { service: "web", delaysMs: [400] },
        { service: "api", delaysMs: [5, 20, 80] },
      ],
    },
    {
      minute: 1,
      atSecond: 20,
      connections: [
        { service: "web", delaysMs: [5, 5, 20, 20] },
        { service: "web", delaysMs: [80, 80, 80, 150] },
        { service: "api", delaysMs: [5, 20, 20, 5] },
      ],
    },
    {
      minute: 3,
      atSecond: 0.5,
      connections: [
        { service: "web", delaysMs: [20, 150, 400, 5] },
        { service: "web", delaysMs: [80] },
        { service: "api", delaysMs: [80, 150, 5] },
      ],
    },
    { minute: 4, atSecond: 30, connections: [{ service: "web", delaysMs: [5, 20] }] },
    { minute: 4, atSecond: 59.8, connections: [{ service: "web", delaysMs: [400] }] },
    {
      minute: 5,
      atSecond: 10,
      connections: [
        { service: "web", delaysMs: [150, 150, 5] },
        { service: "api", delaysMs: [400] },
      ],
    },
  ],
};
