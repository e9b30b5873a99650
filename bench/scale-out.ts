/**
 * Scaled-out benchmark: one generated IPFIX stream split over 2 `flowtally collect` processes →
 * Redis (BullMQ) → 2 `flowtally aggregate` workers → InfluxDB 1.x, against the single-box
 * `flowtally run` on InfluxDB for the same stream, on this machine's cores. Servers are real
 * (redis-server and influxd on free loopback ports, temporary directories: bench/servers.ts).
 *
 *   npm run build && node dist/bench/scale-out.js --records 2000000 --rate 200000
 *   node dist/bench/scale-out.js --rate 100000,400000 --setups scaled     # only the scaled-out path
 *   node dist/bench/scale-out.js --appendfsync everysec --json
 *
 * Per run: records/s sent and received (0 loss expected), CPU seconds of every flowtally process
 * (user + system from /proc, start-up included) and of redis-server and influxd, records per
 * CPU-second over the flowtally processes, InfluxDB points written per second (series rows the
 * aggregators or `run` wrote, over the time from the first datagram to the last write), the
 * delay from the last record's arrival to every customer's totals being queryable in InfluxDB
 * and equal to the generator's ground truth, and that comparison itself (exact customers).
 *
 * The scaled-out path writes running totals every `queue.writeInterval` (1 s) once an interval
 * (10 s) has ended and `collector.shipAfter` (2 s) passed; `run` writes a minute when
 * `aggregation.lateness` has passed (set to 5 s here, so the delays compare).
 */
import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { stringify } from "yaml";
import { validateConfig } from "../config/load-config.js";
import { createInfluxStore } from "../store/influx-store.js";
import {
  createFlowGenerator,
  type DatagramPack,
  flowtallyCustomers,
  type GroundTruth,
  generateDatagrams,
} from "./flow-generator.js";
import { type Comparison, compare, flowtallyCli } from "./flowtally-side.js";
import {
  type CollectorTotals,
  freeUdpPort,
  type MeasuredProcess,
  processTreeCpu,
  spawnMeasured,
} from "./nfacctd.js";
import { freePort, startInfluxd, startRedis, type TestServer } from "./servers.js";
import { sendInWorker } from "./udp-sender.js";

type Setup = "scaled" | "single";

interface Options {
  records: number;
  rates: number[];
  customers: number;
  setups: Setup[];
  appendfsync: "always" | "everysec";
  json: boolean;
}

interface Result {
  setup: Setup;
  targetRate: number;
  sentRate: number;
  records: number;
  receivedRecords: number;
  kernelDrops: number;
  /** CPU seconds by process name ("collect-1", "aggregate-2", "run", "redis-server", "influxd"). */
  cpu: Record<string, number>;
  flowtallyCpuSeconds: number;
  recordsPerCpuSecond: number;
  pointsWritten: number;
  pointsPerSecond: number;
  /** Last record received → all totals queryable and exact, seconds. */
  delaySeconds: number;
  comparison: Comparison;
}

const TOKEN = "bench-scale-out-token-0123";
const log = (m: string) => process.stderr.write(`[${new Date().toISOString()}] ${m}\n`);

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      records: { type: "string", default: "2000000" },
      rate: { type: "string", default: "200000" },
      customers: { type: "string", default: "1000" },
      setups: { type: "string", default: "scaled,single" },
      appendfsync: { type: "string", default: "always" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      "node dist/bench/scale-out.js [--records N] [--rate R[,R...]] [--customers N] [--setups scaled,single] [--appendfsync always|everysec] [--json]\n",
    );
    process.exit(0);
  }
  const setups = values.setups.split(",") as Setup[];
  if (setups.some((s) => s !== "scaled" && s !== "single"))
    throw new Error("--setups: scaled, single");
  if (values.appendfsync !== "always" && values.appendfsync !== "everysec") {
    throw new Error("--appendfsync: always or everysec");
  }
  return {
    records: Number(values.records),
    rates: values.rate.split(",").map(Number),
    customers: Number(values.customers),
    setups,
    appendfsync: values.appendfsync,
    json: values.json,
  };
}

/** The pack's datagrams dealt alternately to `parts` packs; template datagrams go to each. */
function splitPack(pack: DatagramPack, parts: number): DatagramPack[] {
  return Array.from({ length: parts }, (_, part) => {
    const picked: number[] = [];
    let data = 0;
    for (let k = 0; k < pack.datagrams; k++) {
      if (pack.recordCounts[k] === 0 || data++ % parts === part) picked.push(k);
    }
    const size = picked.reduce((n, k) => n + pack.offsets[k + 1]! - pack.offsets[k]!, 0);
    const bytes = new Uint8Array(new SharedArrayBuffer(size));
    const offsets = new Uint32Array(picked.length + 1);
    const recordCounts = new Uint16Array(picked.length);
    let at = 0;
    picked.forEach((k, i) => {
      bytes.set(pack.bytes.subarray(pack.offsets[k], pack.offsets[k + 1]), at);
      offsets[i] = at;
      at += pack.offsets[k + 1]! - pack.offsets[k]!;
      recordCounts[i] = pack.recordCounts[k]!;
    });
    offsets[picked.length] = at;
    const records = recordCounts.reduce((n, c) => n + c, 0);
    return { bytes, offsets, recordCounts, datagrams: picked.length, records };
  });
}

interface Proc {
  name: string;
  api: number;
  udp?: number;
  measured: MeasuredProcess;
}

async function status<T>(p: Proc): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${p.api}/api/v1/status`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  if (!res.ok) throw new Error(`${p.name}: /api/v1/status ${res.status}`);
  return (await res.json()) as T;
}

async function until(what: string, ms: number, done: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await done().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function runOnce(o: Options, setup: Setup, rate: number): Promise<Result> {
  const dir = await mkdtemp(join(tmpdir(), "flowtally-scale-"));
  const servers: TestServer[] = [];
  const procs: Proc[] = [];
  try {
    const redis = await startRedis({ appendfsync: o.appendfsync });
    const influx = await startInfluxd();
    servers.push(redis, influx);
    const created = await fetch(`http://127.0.0.1:${influx.port}/query`, {
      method: "POST",
      body: new URLSearchParams({ q: "CREATE DATABASE flowtally" }),
    });
    if (!created.ok) throw new Error(`influxd: CREATE DATABASE: ${created.status}`);

    const startMs = Date.now() + 5000;
    const gen = createFlowGenerator({
      seed: 1,
      customers: o.customers,
      version: 10,
      startMs,
      recordsPerSecond: rate,
    });
    const pack = generateDatagrams(gen, o.records);
    const truth: GroundTruth = gen.truth();
    const influxCfg = { api: "v1", url: `http://127.0.0.1:${influx.port}`, database: "flowtally" };
    const base = {
      store: { influx: influxCfg },
      decoder: { statePath: "" },
      aggregation: { lateness: "5s" },
      queue: { redis: { url: `redis://127.0.0.1:${redis.port}` } },
      customers: flowtallyCustomers(gen.customers),
    };
    const start = async (command: string, name: string, extra: Record<string, unknown>) => {
      const api = await freePort();
      const path = join(dir, `${name}.yaml`);
      writeFileSync(
        path,
        stringify({
          ...base,
          ...extra,
          api: { listen: `127.0.0.1:${api}`, operatorTokens: [TOKEN] },
        }),
      );
      const measured = await spawnMeasured(
        process.execPath,
        [flowtallyCli(), command, "--config", path],
        { workDir: dir, name },
      );
      const p: Proc = { name, api, measured };
      procs.push(p);
      await until(`${name} up`, 20_000, async () => {
        await status(p);
        return true;
      });
      return p;
    };
    const receivers: Proc[] = [];
    const writers: Proc[] = [];
    if (setup === "scaled") {
      for (const k of [1, 2]) {
        const udp = await freeUdpPort();
        const p = await start("collect", `collect-${k}`, {
          inputs: { netflow: [{ listen: `127.0.0.1:${udp}` }] },
          collector: { id: `c${k}`, spoolPath: "" },
        });
        p.udp = udp;
        receivers.push(p);
      }
      for (const k of [1, 2]) writers.push(await start("aggregate", `aggregate-${k}`, {}));
    } else {
      const udp = await freeUdpPort();
      const p = await start("run", "run", {
        inputs: { netflow: [{ listen: `127.0.0.1:${udp}` }] },
      });
      p.udp = udp;
      receivers.push(p);
      writers.push(p);
    }

    const packs = splitPack(pack, receivers.length);
    const sentAt = Date.now();
    log(
      `${setup}: sending ${pack.records} records at ${rate} records/s to ${receivers.length} collector(s)`,
    );
    const sent = await Promise.all(
      receivers.map((p, k) =>
        sendInWorker({
          pack: packs[k]!,
          ports: [p.udp!],
          recordsPerSecond: rate / receivers.length,
        }),
      ),
    );
    let received = 0;
    let kernelDrops = 0;
    await until("every record received", 60_000, async () => {
      const all = await Promise.all(
        receivers.map((p) => status<{ records: number; kernelDrops: number | null }>(p)),
      );
      received = all.reduce((n, s) => n + s.records, 0);
      kernelDrops = all.reduce((n, s) => n + (s.kernelDrops ?? 0), 0);
      return received >= pack.records;
    });
    const lastReceived = Date.now();
    log(`${setup}: ${received} records received; waiting for InfluxDB to hold the exact totals`);

    const reader = createInfluxStore(
      validateConfig({ store: { influx: influxCfg } }).store.influx!,
      {
        log: pino({ level: "silent" }),
      },
    );
    await reader.start();
    let comparison: Comparison | undefined;
    try {
      await until("exact totals in InfluxDB", 180_000, async () => {
        const rows = await reader.overview({ fromMs: 0, toMs: Date.UTC(2100, 0, 1) });
        const un = rows.find((r) => r.customer === "unattributed");
        const stored: CollectorTotals = {
          customers: new Map(rows.filter((r) => r !== un).map((r) => [r.customer, r])),
          unattributed: {
            bytes: un?.bytesIn ?? 0,
            packets: un?.packetsIn ?? 0,
            flows: un?.flows ?? 0,
          },
          unknownNetworks: [],
        };
        comparison = compare(truth, stored);
        return comparison.exactCustomers === comparison.customers;
      });
    } finally {
      await reader.stop();
    }
    const done = Date.now();
    const cpu: Record<string, number> = {};
    for (const p of procs) cpu[p.name] = processTreeCpu(p.measured.rootPid).seconds;
    const written = await Promise.all(writers.map((p) => status<{ seriesRowsWritten: number }>(p)));
    const pointsWritten = written.reduce((n, s) => n + s.seriesRowsWritten, 0);
    for (const s of servers) cpu[s === redis ? "redis-server" : "influxd"] = serverCpu(s);
    const flowtallyCpu = procs.reduce((n, p) => n + (cpu[p.name] ?? 0), 0);
    return {
      setup,
      targetRate: rate,
      sentRate: sent.reduce((n, s) => n + s.recordsPerSecond, 0),
      records: pack.records,
      receivedRecords: received,
      kernelDrops,
      cpu,
      flowtallyCpuSeconds: flowtallyCpu,
      recordsPerCpuSecond: pack.records / flowtallyCpu,
      pointsWritten,
      pointsPerSecond: pointsWritten / ((done - sentAt) / 1000),
      delaySeconds: (done - lastReceived) / 1000,
      comparison: comparison!,
    };
  } finally {
    for (const p of procs) await p.measured.stop("SIGTERM", 30_000).catch(() => undefined);
    for (const s of servers) await s.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** CPU seconds of a test server's process (its pid from the server's port, via /proc). */
function serverCpu(s: TestServer): number {
  return s.pid === undefined ? Number.NaN : processTreeCpu(s.pid).seconds;
}

function table(results: readonly Result[]): string {
  const k = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : `${(x / 1e3).toFixed(0)} k`);
  const rows = [
    "| setup | target rec/s | sent rec/s | records | received | kernel drops | flowtally CPU-s (by process) | records/CPU-s | redis CPU-s | influxd CPU-s | points written | points/s | delay s | customers exact |",
    "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of results) {
    const by = Object.entries(r.cpu)
      .filter(([n]) => n !== "redis-server" && n !== "influxd")
      .map(([n, s]) => `${n} ${s.toFixed(2)}`)
      .join(", ");
    rows.push(
      `| ${r.setup} | ${k(r.targetRate)} | ${k(r.sentRate)} | ${k(r.records)} | ${k(r.receivedRecords)} | ${r.kernelDrops} | ` +
        `${r.flowtallyCpuSeconds.toFixed(2)} (${by}) | ${k(r.recordsPerCpuSecond)} | ${r.cpu["redis-server"]?.toFixed(2)} | ` +
        `${r.cpu.influxd?.toFixed(2)} | ${r.pointsWritten} | ${Math.round(r.pointsPerSecond)} | ${r.delaySeconds.toFixed(1)} | ` +
        `${r.comparison.exactCustomers}/${r.comparison.customers} |`,
    );
  }
  return rows.join("\n");
}

async function main(): Promise<number> {
  const o = parseOptions();
  const results: Result[] = [];
  for (const rate of o.rates) {
    for (const setup of o.setups) results.push(await runOnce(o, setup, rate));
  }
  process.stdout.write(`${table(results)}\n`);
  if (o.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  return results.every((r) => r.comparison.exactCustomers === r.comparison.customers) ? 0 : 1;
}

process.exitCode = await main();
