/**
 * How fresh the API is: the delay from a record's arrival (the datagram sent over loopback) to
 * the overview answering with it ("visible"), and to the answer marking its minute complete
 * ("final"), on one box (`flowtally run`, the built CLI, embedded store) and scaled out
 * (`collect` → Redis → `aggregate` → InfluxDB ← `serve`, real servers on free ports), all with
 * the default settings.
 *
 *   npm run build && node dist/bench/freshness.js                  # 20 samples each
 *   node dist/bench/freshness.js --samples 50 --final               # also one "final" (≈ 3 min)
 *
 * A sample: one NetFlow v5 datagram of one 1000-byte record for customer a, ending a second
 * before it is sent, then GET /api/v1/overview (no `to`) every 20 ms until a's bytes grow by
 * 1000. Samples are spaced by a random 0.3–1.3 s, so they fall at every phase of the one-second
 * hand-over and the write intervals.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { influxql, startInfluxd, startRedis, type TestServer } from "./servers.js";

const cli = new URL("../cli/flowtally.js", import.meta.url).pathname;
const TOKEN = "freshness-bench-token-0123";
const MINUTE = 60_000;

/** A UDP port free now on 127.0.0.1. */
async function freeUdpPort(): Promise<number> {
  const s = createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function v5(sequence: number): Buffer {
  const now = Date.now();
  const b = Buffer.alloc(24 + 48);
  b.writeUInt16BE(5, 0);
  b.writeUInt16BE(1, 2);
  b.writeUInt32BE(60_000, 4); // sysUptime
  b.writeUInt32BE(Math.floor(now / 1000), 8);
  b.writeUInt32BE((now % 1000) * 1_000_000, 12);
  b.writeUInt32BE(sequence, 16);
  const r = 24;
  b.set([192, 0, 2, 1], r); // src
  b.set([10, 0, 0, 1], r + 4); // dst: customer a
  b.writeUInt32BE(1, r + 16); // packets
  b.writeUInt32BE(1000, r + 20); // bytes
  b.writeUInt32BE(58_000, r + 24); // first
  b.writeUInt32BE(59_000, r + 28); // last
  b[r + 38] = 6;
  return b;
}

interface Started {
  apiUrl: string;
  udpPort: number;
  stop(): Promise<void>;
}

function startCli(args: string[], cwd: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [cli, ...args], {
    cwd,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  return new Promise((resolve, reject) => {
    child.stderr!.on("data", (d) => {
      err += d;
      const line = err.split("\n").find((l) => /"(query|HTTP) API listening"/.test(l));
      if (line !== undefined) resolve({ child, port: (JSON.parse(line) as { port: number }).port });
    });
    child.on("exit", () => reject(new Error(`${args[0]} exited: ${err.slice(-2000)}`)));
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

const customers = `customers:
  - { id: a, name: A, sites: [{ id: s, links: [{ id: l, prefixes: [10.0.0.0/24] }] }] }
`;

async function oneBox(dir: string): Promise<Started> {
  const udpPort = await freeUdpPort();
  await writeFile(
    join(dir, "run.yaml"),
    `inputs: { netflow: [{ listen: "127.0.0.1:${udpPort}", allowedExporters: [127.0.0.1/32] }] }
api: { listen: "127.0.0.1:0", operatorTokens: [${TOKEN}] }
dataDir: ${join(dir, "run")}
${customers}`,
  );
  const run = await startCli(["run", "-c", join(dir, "run.yaml")], dir);
  return {
    apiUrl: `http://127.0.0.1:${run.port}`,
    udpPort,
    stop: () => stopChild(run.child),
  };
}

async function scaledOut(dir: string, redis: TestServer, influx: TestServer): Promise<Started> {
  const udpPort = await freeUdpPort();
  await influxql(influx, "CREATE DATABASE fresh");
  const base = `api: { listen: "127.0.0.1:0", operatorTokens: [${TOKEN}] }
store: { influx: { api: v1, url: "http://127.0.0.1:${influx.port}", database: fresh } }
queue: { redis: { url: "redis://127.0.0.1:${redis.port}" }, prefix: fresh }
${customers}`;
  await writeFile(
    join(dir, "collect.yaml"),
    `inputs: { netflow: [{ listen: "127.0.0.1:${udpPort}", allowedExporters: [127.0.0.1/32] }] }
dataDir: ${join(dir, "collect")}
collector: { id: edge }
${base}`,
  );
  await writeFile(join(dir, "back.yaml"), `dataDir: ${join(dir, "back")}\n${base}`);
  const collect = await startCli(["collect", "-c", join(dir, "collect.yaml")], dir);
  const aggregate = await startCli(["aggregate", "-c", join(dir, "back.yaml")], dir);
  const serve = await startCli(["serve", "-c", join(dir, "back.yaml")], dir);
  return {
    apiUrl: `http://127.0.0.1:${serve.port}`,
    udpPort,
    async stop() {
      await stopChild(collect.child);
      await stopChild(aggregate.child);
      await stopChild(serve.child);
    },
  };
}

interface Overview {
  complete: boolean;
  rows: Array<{ customer: string; bytesIn: number }>;
}

async function overview(apiUrl: string, from: string, to?: string): Promise<Overview> {
  const res = await fetch(
    `${apiUrl}/api/v1/overview?from=${from}${to === undefined ? "" : `&to=${to}`}`,
    { headers: { authorization: `Bearer ${TOKEN}` } },
  );
  if (res.status !== 200) throw new Error(`overview: ${res.status} ${await res.text()}`);
  return (await res.json()) as Overview;
}

const bytesOfA = (o: Overview) => o.rows.find((r) => r.customer === "a")?.bytesIn ?? 0;

/** Delays (ms) from sending to the overview showing the record, one per sample. */
async function visibleDelays(s: Started, samples: number): Promise<number[]> {
  const from = new Date(Math.floor(Date.now() / MINUTE) * MINUTE - 30 * MINUTE).toISOString();
  const socket = createSocket("udp4");
  const out: number[] = [];
  try {
    let before = bytesOfA(await overview(s.apiUrl, from));
    for (let k = 0; k < samples; k++) {
      await sleep(300 + Math.random() * 1000);
      const sentAt = performance.now();
      await new Promise<void>((r, j) =>
        socket.send(v5(k + 1), s.udpPort, "127.0.0.1", (e) => (e ? j(e) : r())),
      );
      for (;;) {
        const now = bytesOfA(await overview(s.apiUrl, from));
        if (now >= before + 1000) {
          out.push(performance.now() - sentAt);
          before = now;
          break;
        }
        if (performance.now() - sentAt > 60_000) throw new Error("not visible within 60 s");
        await sleep(20);
      }
    }
  } finally {
    socket.close();
  }
  return out;
}

/** One record: the delay until the overview of its minute says complete. */
async function finalDelay(s: Started): Promise<number> {
  const socket = createSocket("udp4");
  const sentAt = Date.now();
  await new Promise<void>((r, j) =>
    socket.send(v5(999), s.udpPort, "127.0.0.1", (e) => (e ? j(e) : r())),
  );
  socket.close();
  // The record ends a second before it is sent: its minute is the one of sentAt - 1 s.
  const minute = Math.floor((sentAt - 1000) / MINUTE) * MINUTE;
  const from = new Date(minute).toISOString();
  const to = new Date(minute + MINUTE).toISOString();
  for (;;) {
    if ((await overview(s.apiUrl, from, to)).complete) return Date.now() - sentAt;
    await sleep(200);
  }
}

function summary(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return `median ${at(0.5).toFixed(0)} ms, p95 ${at(0.95).toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms (${ms.length} samples)`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      samples: { type: "string", default: "20" },
      final: { type: "boolean", default: false },
    },
  });
  const samples = Number(values.samples);
  const dir = await mkdtemp(join(tmpdir(), "ft-freshness-"));
  const [redis, influx] = await Promise.all([startRedis(), startInfluxd()]);
  try {
    for (const [name, start] of [
      ["one box (run, embedded store)", () => oneBox(dir)],
      [
        "scaled out (collect → Redis → aggregate → InfluxDB ← serve)",
        () => scaledOut(dir, redis, influx),
      ],
    ] as const) {
      const s = await start();
      try {
        const visible = await visibleDelays(s, samples);
        console.log(`${name}: visible: ${summary(visible)}`);
        if (values.final)
          console.log(`${name}: final (complete): ${(await finalDelay(s)) / 1000} s`);
      } finally {
        await s.stop();
      }
    }
  } finally {
    await Promise.all([redis.close(), influx.close()]);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
