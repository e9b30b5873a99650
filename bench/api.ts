/**
 * HTTP API benchmark: requests/s and latency of a few endpoints over real HTTP on loopback.
 *
 *   npm run build && node dist/bench/api.js                 # every case, 5 s each, 10 connections
 *   node dist/bench/api.js overview --seconds 10 --connections 50
 *   node dist/bench/api.js --list
 *
 * The API (createApiServer) runs in this process on an embedded store (DuckDB in a temporary
 * directory) holding a day of traffic of `--customers` customers (a minute of each hour, in and
 * out, written at every level: the day's overview reads the 1d rows); the load comes from a worker thread (its own event loop, the machine's other core) that
 * keeps `--connections` keep-alive connections busy with node:http, one request at a time each,
 * for `--seconds` after `--warmup`. Cases:
 *
 * - `healthz`: no token, no store: what the HTTP layer itself costs per request.
 * - `status`: a bearer token checked, a small JSON answer (the process counters).
 * - `overview`: the day's overview of every customer, JSON (auth, parameters, a store read, sort).
 * - `overview-csv`: the same as CSV.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import pino from "pino";
import { buildCustomerModel } from "../collector/classify/customer-model.js";
import { validateConfig } from "../config/load-config.js";
import { createApiServer } from "../query/api/index.js";
import type { SeriesLevel, SeriesRowDelta } from "../schema/series-store.js";
import { createDuckDbStore } from "../store/duckdb-store.js";

const TOKEN = "bench-operator-token-0123456789";
const MINUTE = 60_000;
/** A UTC midnight: the day of data fills the 1d row. */
const T0 = Date.UTC(2026, 9, 1);
const LEVELS: ReadonlyArray<readonly [SeriesLevel, number]> = [
  ["1m", MINUTE],
  ["5m", 300_000],
  ["1h", 3_600_000],
  ["1d", 86_400_000],
];
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const OVERVIEW = `/api/v1/overview?from=${day(T0)}&to=${day(T0 + 86_400_000)}`;
const CASES: Record<string, { path: string; token: boolean }> = {
  healthz: { path: "/healthz", token: false },
  status: { path: "/api/v1/status", token: true },
  overview: { path: OVERVIEW, token: true },
  "overview-csv": { path: `${OVERVIEW}&format=csv`, token: true },
};

interface Load {
  port: number;
  path: string;
  token: boolean;
  connections: number;
  warmupMs: number;
  seconds: number;
}

interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  /** Latencies of the measured requests, ms, sorted. */
  latencies: number[];
}

/** The worker: `connections` loops of one request at a time on kept-alive connections. */
async function runLoad(load: Load): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: load.connections });
  const headers: Record<string, string> = load.token ? { authorization: `Bearer ${TOKEN}` } : {};
  const once = () =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port: load.port, path: load.path, agent, headers },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end();
    });
  const start = performance.now();
  const measureFrom = start + load.warmupMs;
  const end = measureFrom + load.seconds * 1000;
  const latencies: number[] = [];
  let errors = 0;
  const loop = async () => {
    for (;;) {
      const t = performance.now();
      if (t >= end) return;
      const status = await once();
      const done = performance.now();
      if (t >= measureFrom && done <= end) {
        if (status === 200) latencies.push(done - t);
        else errors += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: load.connections }, loop));
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length, errors, seconds: load.seconds, latencies };
}

function parseOptions() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      customers: { type: "string", default: "1000" },
      connections: { type: "string", default: "10" },
      seconds: { type: "string", default: "5" },
      warmup: { type: "string", default: "1" },
      list: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  for (const name of positionals) {
    if (!(name in CASES)) throw new Error(`unknown case ${name}; --list lists them`);
  }
  const n = (name: string, text: string) => {
    const v = Number(text);
    if (!(v > 0)) throw new Error(`--${name} ${text}: expected a positive number`);
    return v;
  };
  return {
    cases: positionals.length > 0 ? positionals : Object.keys(CASES),
    customers: Math.floor(n("customers", values.customers)),
    connections: Math.floor(n("connections", values.connections)),
    seconds: n("seconds", values.seconds),
    warmup: n("warmup", values.warmup),
    list: values.list,
    json: values.json,
  };
}

/** A minute of each hour of the day for every customer, written at every level. */
function* deltas(customers: number): Generator<SeriesRowDelta[]> {
  for (let minute = 0; minute < 1440; minute += 60) {
    const batch: SeriesRowDelta[] = [];
    for (let c = 0; c < customers; c += 1) {
      const bytes = 1_000 + ((c * 7_919 + minute * 104_729) % 1_000_000);
      for (const direction of ["in", "out"] as const) {
        for (const [level, ms] of LEVELS) {
          const startMs = Math.floor((T0 + minute * MINUTE) / ms) * ms;
          batch.push({
            customer: `c${c}`,
            site: "s",
            link: "l",
            trafficClass: "default",
            direction,
            level,
            startMs,
            bytes,
            packets: Math.ceil(bytes / 1200),
            flows: 1,
          });
        }
      }
    }
    yield batch;
  }
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

async function main(): Promise<void> {
  const o = parseOptions();
  if (o.list) {
    for (const [name, c] of Object.entries(CASES)) process.stdout.write(`${name}\t${c.path}\n`);
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), "flowtally-bench-api-"));
  const store = createDuckDbStore({ path: join(dir, "series.duckdb") });
  await store.start();
  try {
    for (const batch of deltas(o.customers)) await store.addDeltas(batch);
    const cfg = validateConfig({
      api: { listen: "127.0.0.1:0", operatorTokens: [TOKEN] },
      customers: Array.from({ length: o.customers }, (_, c) => ({
        id: `c${c}`,
        name: `Customer ${c}`,
        serviceType: c % 2 === 0 ? "business" : "retail",
        sites: [
          {
            id: "s",
            links: [{ id: "l", prefixes: [`10.${c >> 8}.${c & 255}.0/24`] }],
          },
        ],
      })),
    });
    const api = createApiServer({
      config: cfg,
      model: buildCustomerModel(cfg),
      store,
      log: pino({ level: "warn" }),
      now: () => T0 + 2 * 86_400_000,
      status: () => ({ uptimeSeconds: 1, datagrams: 0, records: 0 }),
    });
    const { port } = await api.listen();
    const rows: Array<Record<string, number | string>> = [];
    for (const name of o.cases) {
      const c = CASES[name]!;
      const load: Load = {
        port,
        path: c.path,
        token: c.token,
        connections: o.connections,
        warmupMs: o.warmup * 1000,
        seconds: o.seconds,
      };
      const worker = new Worker(new URL(import.meta.url), { workerData: load });
      const result = await new Promise<LoadResult>((resolve, reject) => {
        worker.once("message", resolve);
        worker.once("error", reject);
      });
      await worker.terminate();
      rows.push({
        case: name,
        requests: result.requests,
        errors: result.errors,
        perSecond: Math.round(result.requests / result.seconds),
        p50Ms: Number(quantile(result.latencies, 0.5).toFixed(2)),
        p99Ms: Number(quantile(result.latencies, 0.99).toFixed(2)),
      });
    }
    await api.close();
    process.stdout.write(
      `customers ${o.customers}, ${o.connections} connections, ${o.seconds} s per case (${o.warmup} s warm-up)\n\n`,
    );
    process.stdout.write(
      "| case | requests/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|\n",
    );
    for (const r of rows) {
      process.stdout.write(
        `| \`${r.case}\` | ${r.perSecond} | ${r.p50Ms} | ${r.p99Ms} | ${r.errors} |\n`,
      );
    }
    if (o.json) process.stdout.write(`${JSON.stringify(rows)}\n`);
  } finally {
    await store.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (isMainThread) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  });
} else {
  runLoad(workerData as Load).then((r) => parentPort!.postMessage(r));
}
