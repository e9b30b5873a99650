/**
 * Registry CRUD benchmark: latency of the customer registry's API (GET, list, PATCH, POST,
 * DELETE) under concurrent clients, over real HTTP on loopback, with many customers.
 *
 *   npm run build && node dist/bench/registry-api.js                  # 100 000 customers, 50 clients, 20 s
 *   node dist/bench/registry-api.js --customers 20000 --clients 50 --seconds 10
 *   node dist/bench/registry-api.js --postgres   # on a PostgreSQL started here (initdb, free port)
 *   node dist/bench/registry-api.js --profile api.cpuprofile   # the API thread's CPU profile of the load
 *   node dist/bench/registry-api.js --heap-profile api.heapprofile   # where the API thread allocates
 *   node dist/bench/registry-api.js --runtime serve   # with the registry runtime as `serve` has it (or `run`),
 *                                                     # billing-profile recorder included
 *   node dist/bench/registry-api.js --patch link      # PATCH each client's first access link, not its customer
 *   node dist/bench/registry-api.js --client node     # the clients on node:http (default: a lean client, as autocannon)
 *
 * The registry (embedded DuckDB in a temporary directory, or PostgreSQL with --postgres) is
 * filled with one change set of `--customers` customers, each with one site and two access links
 * (a /28 each: 200 000 links for 100 000 customers); the API (createApiServer) runs in this
 * process. A worker thread (its own event loop, the machine's other core) runs `--clients`
 * clients, each one request at a time on a keep-alive connection, for `--seconds` after
 * `--warmup`, picking at random: GET a customer (60 %), GET a page of the list (20 %: 100 rows
 * after a random cursor position, sorted by id or by name), PATCH its own customer with If-Match
 * (10 %: a description; a new registry version each), POST then DELETE a new customer (10 %).
 * `--writes 0` for reads only (`--writes 0.2`, the default, is the mix above).
 * Prints each request kind's count and p50 / p99 / max in ms (POST and DELETE each on its own:
 * the CRUD target is per request; the pair, one after the other, as `create+delete`), and the
 * memory (RSS at the end of the load; the heap and RSS after a full GC); before the load, 40
 * PATCHes of one client alone (what a write costs without waiting for others).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { Agent, request } from "node:http";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import pino from "pino";
import { buildCustomerModel } from "../collector/classify/customer-model.js";
import { validateConfig } from "../config/load-config.js";
import { createApiServer, databaseRegistry } from "../query/api/index.js";
import { createDuckDbRegistry } from "../registry/duckdb-registry.js";
import type { ChangeInput, RegistryStore } from "../registry/index.js";
import { createPostgresRegistry } from "../registry/postgres-registry.js";
import { createRegistryRuntime, liveModel } from "../registry/registry-runtime.js";
import { createProfileRecorder } from "../sla/profile-recorder.js";
import { createDuckDbStore } from "../store/duckdb-store.js";
import { createRawClient, type RawClient } from "./raw-http-client.js";
import { startPostgres } from "./servers.js";

const TOKEN = "bench-operator-token-0123456789";
/** The operations the clients pick; POST + DELETE is one pick, two requests. */
const PICKS = ["get", "list", "patch", "create+delete"] as const;
type Pick = (typeof PICKS)[number];
/** What is timed: each request on its own (the target is per request), and the pair. */
const OPS = ["get", "list", "patch", "post", "delete", "create+delete"] as const;
type Op = (typeof OPS)[number];

interface Load {
  port: number;
  customers: number;
  clients: number;
  warmupMs: number;
  seconds: number;
  /** The share of writes (half PATCH, half POST + DELETE); the rest 3/4 GET, 1/4 list. */
  writeShare: number;
  /** What a PATCH changes: the client's own customer, or its first access link. */
  patch: "customer" | "link";
  /** The clients' HTTP: the lean client (bench/raw-http-client.ts) or node's http module. */
  client: "raw" | "node";
}

const customerId = (k: number) => `c${String(k).padStart(6, "0")}`;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** The worker: `clients` loops, each one request at a time; latencies per operation (ms). */
async function load(l: Load): Promise<Record<Op, number[]>> {
  type Call = (
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ) => Promise<{ status: number; etag: string | undefined; text: string }>;
  const auth = { authorization: `Bearer ${TOKEN}` };
  const agent = new Agent({ keepAlive: true, maxSockets: l.clients });
  /** Node's http client: the pool of keep-alive connections its agent keeps. */
  const nodeCall: Call = (method, path, body, headers = {}) =>
    new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        {
          host: "127.0.0.1",
          port: l.port,
          path,
          method,
          agent,
          headers: {
            ...auth,
            ...(data === undefined ? {} : { "content-type": "application/json" }),
            ...headers,
          },
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => {
            text += c;
          });
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, etag: res.headers.etag, text }),
          );
        },
      );
      req.on("error", reject);
      req.end(data);
    });
  const raws: RawClient[] = [];
  /** A client's own connection: node's client, or the lean one (bench/raw-http-client.ts). */
  function callFor(): Call {
    if (l.client === "node") return nodeCall;
    const raw = createRawClient(l.port);
    raws.push(raw);
    return (method, path, body, headers = {}) =>
      raw.call(
        method,
        path,
        body === undefined ? undefined : JSON.stringify(body),
        body === undefined
          ? { ...auth, ...headers }
          : { ...auth, "content-type": "application/json", ...headers },
      );
  }
  const latencies = Object.fromEntries(OPS.map((o) => [o, [] as number[]])) as Record<Op, number[]>;
  const startAt = performance.now();
  const measureFrom = startAt + l.warmupMs;
  const endAt = measureFrom + l.seconds * 1000;
  let created = 0;
  let failures = 0;
  async function client(k: number): Promise<void> {
    const call = callFor();
    const own = customerId((k * 7919) % l.customers);
    const ownPath =
      l.patch === "link"
        ? `/api/v1/customers/${own}/sites/hq/links/l1`
        : `/api/v1/customers/${own}`;
    let etag = (await call("GET", ownPath)).etag ?? "*";
    while (performance.now() < endAt) {
      const r = Math.random();
      const w = l.writeShare;
      const op: Pick =
        r < w / 2 ? "patch" : r < w ? "create+delete" : r < w + (1 - w) * 0.75 ? "get" : "list";
      const t = performance.now();
      let ok = true;
      if (op === "get") {
        const id = customerId(Math.floor(Math.random() * l.customers));
        ok = (await call("GET", `/api/v1/customers/${id}`)).status === 200;
      } else if (op === "list") {
        const byName = Math.random() < 0.5;
        // A cursor in the middle of the list: the position of a random customer.
        const at = customerId(Math.floor(Math.random() * l.customers));
        const cursor = Buffer.from(
          JSON.stringify([
            JSON.stringify([byName ? "name" : "id", "asc", null, null]),
            byName ? `Customer ${at}` : at,
            at,
          ]),
        ).toString("base64url");
        const res = await call(
          "GET",
          `/api/v1/customers?limit=100&sort=${byName ? "name" : "id"}&cursor=${cursor}`,
        );
        ok = res.status === 200;
      } else if (op === "patch") {
        const res = await call(
          "PATCH",
          ownPath,
          { description: `edited ${t}` },
          { "if-match": etag },
        );
        ok = res.status === 200;
        etag = res.etag ?? (await call("GET", ownPath)).etag ?? "*";
      } else {
        const id = `new-${k}-${created++}`;
        const a = await call("POST", "/api/v1/customers", { id, name: id });
        const between = performance.now();
        const b = await call("DELETE", `/api/v1/customers/${id}`, undefined, {
          "if-match": a.etag ?? "*",
        });
        ok = a.status === 201 && b.status === 204;
        if (t >= measureFrom) {
          latencies.post.push(between - t);
          latencies.delete.push(performance.now() - between);
        }
      }
      if (!ok) failures += 1;
      if (t >= measureFrom) latencies[op].push(performance.now() - t);
    }
  }
  await Promise.all(Array.from({ length: l.clients }, (_, k) => client(k)));
  agent.destroy();
  for (const raw of raws) raw.close();
  if (failures > 0) console.error(`${failures} requests failed`);
  return latencies;
}

if (!isMainThread) {
  const l = workerData as Load;
  load(l).then((r) => parentPort!.postMessage(r));
} else {
  const { values } = parseArgs({
    options: {
      customers: { type: "string", default: "100000" },
      clients: { type: "string", default: "50" },
      seconds: { type: "string", default: "20" },
      warmup: { type: "string", default: "2" },
      postgres: { type: "boolean", default: false },
      writes: { type: "string", default: "0.2" },
      /** What the PATCHes change: `customer` (the default) or `link` (the customer's first link). */
      patch: { type: "string", default: "customer" },
      /** The clients' HTTP: raw (a lean keep-alive client, as autocannon) or node (node:http). */
      client: { type: "string", default: "raw" },
      runtime: { type: "string" },
      /** A CPU profile of the API's thread during the load (warm-up included), to this file. */
      profile: { type: "string" },
      /**
       * A sampling heap profile of the API's thread during the load, to this file: where the
       * bytes are allocated, those the young generation's collections reclaimed included.
       */
      "heap-profile": { type: "string" },
    },
  });
  const customers = Number(values.customers);
  const dir = await mkdtemp(join(tmpdir(), "flowtally-bench-registry-"));
  const pg = values.postgres ? await startPostgres() : undefined;
  const store: RegistryStore =
    pg === undefined
      ? createDuckDbRegistry({ path: join(dir, "registry.duckdb") })
      : createPostgresRegistry({ url: pg.url });
  try {
    await store.start();
    const changes: ChangeInput[] = [];
    for (let k = 0; k < customers; k++) {
      const customer = customerId(k);
      // A /28 in 10.0.0.0/8 and one in 11.0.0.0/8 per customer, never overlapping.
      const a = k * 16;
      const ip = (first: number, n: number) =>
        `${first}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xf0}/28`;
      changes.push(
        {
          op: "add",
          customer,
          record: { name: `Customer ${customer}`, serviceType: k % 3 === 0 ? "home" : "business" },
        },
        { op: "add", customer, site: "hq", record: { name: "Head office" } },
        {
          op: "add",
          customer,
          site: "hq",
          link: "l1",
          record: { prefixes: [ip(10, a)], commitRate: "100M" },
        },
        { op: "add", customer, site: "hq", link: "l2", record: { prefixes: [ip(11, a)] } },
      );
    }
    let t = performance.now();
    await store.apply(changes, { actor: "bench" });
    const importS = (performance.now() - t) / 1000;
    t = performance.now();
    await store.snapshot();
    const cfg = validateConfig({
      api: { listen: "127.0.0.1:0", operatorTokens: [TOKEN], maxConnections: 1000 },
      registry: { source: "database" },
    });
    // --runtime serve|run: the registry runtime follows the store, as in those commands, on the
    // API's event loop; `run` classifies, so each version's customer model is built as it comes
    // (a listener swaps it in), `serve` builds one only when a traffic query asks.
    if (!["raw", "node"].includes(values.client)) {
      throw new Error(`--client ${values.client}: expected raw or node`);
    }
    if (!["customer", "link"].includes(values.patch)) {
      throw new Error(`--patch ${values.patch}: expected customer or link`);
    }
    if (values.runtime !== undefined && !["serve", "run"].includes(values.runtime)) {
      throw new Error(`--runtime ${values.runtime}: expected serve or run`);
    }
    const runtime =
      values.runtime === undefined
        ? undefined
        : createRegistryRuntime(cfg, { log: pino({ level: "warn" }), store, pollMs: 3_600_000 });
    await runtime?.start();
    if (values.runtime === "run") runtime?.onApplied(() => undefined);
    // Both commands record each version's billing profiles in their series store (an embedded
    // one here, in the same temporary directory), from the versions' changed customers. The
    // load runs as after a restart: the first start's 100 000 versions are written by a store
    // closed before it (its close checkpoints them; otherwise the checkpoint falls in the load,
    // a one-time second of the first start that stalls the registry's commits beside it).
    const seriesPath = join(dir, "series.duckdb");
    if (runtime !== undefined) {
      const first = createDuckDbStore({ path: seriesPath });
      await first.start();
      await createProfileRecorder({ store: first, log: pino({ level: "warn" }) }).record(
        runtime.current(),
        true,
      );
      await first.stop();
    }
    const series = runtime === undefined ? undefined : createDuckDbStore({ path: seriesPath });
    await series?.start();
    const profiles =
      series === undefined
        ? undefined
        : createProfileRecorder({ store: series, log: pino({ level: "warn" }) });
    const unRecorded =
      profiles === undefined ? undefined : runtime?.onVersion((a) => void profiles.record(a));
    await profiles?.record(runtime!.current(), true);
    const api = createApiServer({
      config: cfg,
      model:
        runtime === undefined ? buildCustomerModel(cfg) : liveModel(() => runtime.current().model),
      log: pino({ level: "warn" }),
      registry: databaseRegistry(store, { exclusive: pg === undefined }),
    });
    const { port } = await api.listen();
    // The first list request builds the rows and the sorted orders of this version.
    t = performance.now();
    await fetch(`http://127.0.0.1:${port}/api/v1/customers?sort=name&limit=1`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const firstListMs = performance.now() - t;
    // One client alone: what a write costs without a queue (PATCH with If-Match, 40 times).
    const alone: number[] = [];
    const tag = "*";
    for (let k = 0; k < 40; k++) {
      const t1 = performance.now();
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/customers/${customerId(k)}`, {
        method: "PATCH",
        headers: {
          authorization: `Bearer ${TOKEN}`,
          "content-type": "application/json",
          "if-match": tag,
        },
        body: JSON.stringify({ description: `alone ${k}` }),
      });
      await res.text();
      if (res.status !== 200) throw new Error(`PATCH alone: ${res.status}`);
      alone.push(performance.now() - t1);
    }
    alone.sort((a, b) => a - b);
    const l: Load = {
      port,
      customers,
      clients: Number(values.clients),
      warmupMs: Number(values.warmup) * 1000,
      seconds: Number(values.seconds),
      writeShare: Number(values.writes),
      patch: values.patch === "link" ? "link" : "customer",
      client: values.client === "node" ? "node" : "raw",
    };
    const profiler = values.profile === undefined ? undefined : new Session();
    profiler?.connect();
    await profiler?.post("Profiler.enable");
    await profiler?.post("Profiler.start");
    const heap = values["heap-profile"] === undefined ? undefined : new Session();
    heap?.connect();
    await heap?.post("HeapProfiler.startSampling", {
      samplingInterval: 16384,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    // How long the API's event loop keeps a ready callback waiting: what every request pays.
    const loopDelay = monitorEventLoopDelay({ resolution: 1 });
    loopDelay.enable();
    const worker = new Worker(new URL(import.meta.url), { workerData: l });
    const result = await new Promise<Record<Op, number[]>>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
    loopDelay.disable();
    if (profiler !== undefined) {
      const { profile } = await profiler.post("Profiler.stop");
      await writeFile(values.profile!, JSON.stringify(profile));
      profiler.disconnect();
    }
    if (heap !== undefined) {
      const { profile } = await heap.post("HeapProfiler.stopSampling");
      await writeFile(values["heap-profile"]!, JSON.stringify(profile));
      heap.disconnect();
    }
    await worker.terminate();
    // RSS at the end of the load counts garbage V8 has not collected yet (its old generation
    // grows to well over a GB between two full collections); the heap left by a full collection
    // is what the process holds.
    const rssAtEnd = process.memoryUsage().rss;
    setFlagsFromString("--expose-gc");
    (runInNewContext("gc") as () => void)();
    const afterGc = process.memoryUsage();
    await api.close();
    unRecorded?.();
    await profiles?.settled();
    await series?.stop();
    await runtime?.stop();
    console.log(
      `registry ${pg === undefined ? "embedded (DuckDB)" : "PostgreSQL"}: ${customers} customers, ${2 * customers} links; import ${importS.toFixed(1)} s; first sorted list ${firstListMs.toFixed(0)} ms; ${l.clients} clients (${l.client === "raw" ? "lean HTTP client" : "node:http"}), ${l.seconds} s`,
    );
    console.log(
      `${"patch alone".padEnd(14)} ${String(alone.length).padStart(7)} requests  p50 ${percentile(alone, 50).toFixed(1)} ms  p99 ${percentile(alone, 99).toFixed(1)} ms  (one client, before the load)`,
    );
    const all: number[] = [];
    for (const op of OPS) {
      const xs = result[op].sort((a, b) => a - b);
      // Requests: the pair is its POST and its DELETE, counted once each.
      if (op !== "create+delete") all.push(...xs);
      console.log(
        `${op.padEnd(14)} ${String(xs.length).padStart(7)} requests  p50 ${percentile(xs, 50).toFixed(1)} ms  p99 ${percentile(xs, 99).toFixed(1)} ms  max ${(xs.at(-1) ?? Number.NaN).toFixed(1)} ms`,
      );
    }
    all.sort((a, b) => a - b);
    const ms = (ns: number) => (ns / 1e6).toFixed(1);
    console.log(
      `${"loop delay".padEnd(14)} p50 ${ms(loopDelay.percentile(50))} ms  p99 ${ms(loopDelay.percentile(99))} ms  max ${ms(loopDelay.max)} ms  (the API's event loop, during the load)`,
    );
    console.log(
      `${"all".padEnd(14)} ${String(all.length).padStart(7)} requests  p50 ${percentile(all, 50).toFixed(1)} ms  p99 ${percentile(all, 99).toFixed(1)} ms  (${(all.length / l.seconds).toFixed(0)} requests/s)`,
    );
    const gb = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GB`;
    console.log(
      `${"memory".padEnd(14)} RSS ${gb(rssAtEnd)} at the end of the load; after a full GC: heap ${gb(afterGc.heapUsed)} live of ${gb(afterGc.heapTotal)} held, RSS ${gb(afterGc.rss)}`,
    );
  } finally {
    await store.stop();
    await pg?.close();
    await rm(dir, { recursive: true, force: true });
  }
}
