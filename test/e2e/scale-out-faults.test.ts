/**
 * Faults of the scaled-out pipeline, with real processes (`dist/cli/flowtally.js collect` and
 * `aggregate`) and a real redis-server: after each, the stored per-customer totals must equal the
 * generators' ground truth exactly.
 */
import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { pino } from "pino";
import { beforeEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import {
  createFlowGenerator,
  type DatagramPack,
  flowtallyCustomers,
  type GroundTruth,
  generateDatagrams,
} from "../../bench/flow-generator.js";
import { validateConfig } from "../../config/load-config.js";
import { createDuckDbStore } from "../../store/duckdb-store.js";
import { createInfluxStore } from "../../store/influx-store.js";
import {
  eventually,
  expectStoredTotals,
  type FlowtallyProcess,
  sendPack,
  spawnFlowtally,
  splitPoint,
} from "../support/scale-out.js";
import {
  freePort,
  influxql,
  startInfluxd,
  startRedis,
  type TestServer,
} from "../support/servers.js";

const CUSTOMERS = 200;
/**
 * How long InfluxDB stays down after the last message is applied (the outage lasts about 10 s
 * more). Nothing in the design depends on it: totals wait in Redis however long it takes.
 * `FLOWTALLY_TEST_STORE_OUTAGE_SECONDS=300` runs the several-minute outage of the issue.
 */
const OUTAGE_SECONDS = Number(process.env.FLOWTALLY_TEST_STORE_OUTAGE_SECONDS ?? 5);
const TOKEN = "scale-out-faults-token-01";

interface Setup {
  dir: string;
  redis: TestServer;
  udpPort: number;
  pack: DatagramPack;
  truth: GroundTruth;
  /** Writes the config of one process and returns its path and API port. */
  config(role: string, extra?: Record<string, unknown>): Promise<{ path: string; api: number }>;
  processes: FlowtallyProcess[];
  start(role: "collect" | "aggregate", extra?: Record<string, unknown>): Promise<FlowtallyProcess>;
  /** Partials messages the aggregators applied (done marks in Redis). */
  applied(): Promise<number>;
  /** Periods with totals not yet written (dirty sets in Redis). */
  unwritten(): Promise<number>;
}

let s: Setup;

beforeEach(async () => {
  const dir = await mkdtemp(join(tmpdir(), "ft-faults-"));
  const redis = await startRedis();
  // 1 record per 20 ms of flow time, 1-second intervals, 8 shards: ~1500 small messages.
  const gen = createFlowGenerator({
    seed: 5,
    customers: CUSTOMERS,
    version: 10,
    startMs: Date.now() - 3_600_000,
    recordsPerSecond: 50,
  });
  const pack = generateDatagrams(gen, 12_000);
  const udpPort = await freePort();
  const processes: FlowtallyProcess[] = [];
  const admin = new Redis({ port: redis.port, lazyConnect: true });
  const scan = async (pattern: string): Promise<string[]> => {
    if (admin.status !== "ready") await admin.connect();
    const out: string[] = [];
    let cursor = "0";
    do {
      const [next, keys] = await admin.scan(cursor, "MATCH", pattern, "COUNT", 10_000);
      cursor = next;
      out.push(...keys);
    } while (cursor !== "0");
    return out;
  };
  s = {
    dir,
    redis,
    udpPort,
    pack,
    truth: gen.truth(),
    processes,
    async config(role, extra = {}) {
      const api = await freePort();
      const path = join(dir, `${role}-${api}.yaml`);
      writeFileSync(
        path,
        stringify({
          inputs: { netflow: [{ listen: `127.0.0.1:${udpPort}` }] },
          store: { embedded: { path: join(dir, "ft.duckdb") } },
          decoder: { statePath: join(dir, "decoder-state.json") },
          aggregation: { interval: "1s" },
          api: { listen: `127.0.0.1:${api}`, operatorTokens: [TOKEN] },
          queue: {
            redis: { url: `redis://127.0.0.1:${redis.port}` },
            shards: 8,
            stalledAfter: "2s",
            writeInterval: "200ms",
            rollupWriteInterval: "1s",
          },
          collector: { id: "edge1", shipAfter: "0s", spoolPath: join(dir, "spool.json") },
          wal: { path: join(dir, "wal") },
          customers: flowtallyCustomers(gen.customers),
          ...extra,
        }),
      );
      return { path, api };
    },
    async start(role, extra) {
      const { path, api } = await s.config(role, extra);
      const p = await spawnFlowtally([role, "--config", path, "--log-level", "info"], api, TOKEN);
      processes.push(p);
      return p;
    },
    async applied() {
      return (await scan("{flowtally:*}:done:*")).length;
    },
    async unwritten() {
      let n = 0;
      for (const key of await scan("{flowtally:*}:dirty")) n += await admin.scard(key);
      return n;
    },
  };
  return async () => {
    for (const p of processes) if (p.child.exitCode === null) await p.kill();
    admin.disconnect();
    await redis.close();
    await rm(dir, { recursive: true, force: true });
  };
});

interface CollectStatus {
  records: number;
  queue: { shippedMessages: number; bufferedMessages: number; redisUp: boolean };
}

async function sendAndWait(c: FlowtallyProcess, from: number, to: number, records: number) {
  await sendPack(s.pack, s.udpPort, from, to);
  let last = 0;
  try {
    await eventually("records received", async () => {
      last = (await c.get<CollectStatus>("/api/v1/status")).records;
      return last === records;
    });
  } catch (e) {
    throw new Error(`${(e as Error).message}: ${last} of ${records}\n${c.output().slice(-3000)}`);
  }
}

/** Records in datagrams [0, to). */
function recordsUpTo(to: number): number {
  let n = 0;
  for (let k = 0; k < to; k++) n += s.pack.recordCounts[k] ?? 0;
  return n;
}

/** Waits until `messages` are applied and the queue is empty, stops the aggregator, checks totals. */
async function finish(aggregator: FlowtallyProcess, messages: number) {
  await eventually(
    `${messages} messages applied`,
    async () => (await s.applied()) === messages,
    60_000,
  );
  // Stopping writes what is still dirty.
  expect(await aggregator.stop()).toBe(0);
  await expectStoredTotals(createDuckDbStore({ path: join(s.dir, "ft.duckdb") }), [s.truth]);
}

/**
 * Messages a collector shipped, from its stop line on stdout (spooled ones are shipped and
 * counted by the next start).
 */
function shippedBy(p: FlowtallyProcess, o: { spooled?: boolean } = {}): number {
  const m = /partials messages shipped: (\d+), still buffered: (\d+)/.exec(p.output());
  if (m === null) throw new Error(`no stop line:\n${p.output()}`);
  if (o.spooled === true) expect(Number(m[2])).toBeGreaterThan(0);
  else expect(Number(m[2])).toBe(0);
  return Number(m[1]);
}

describe("scale-out faults", () => {
  it("a collector restart, then an aggregator killed (SIGKILL) in the middle of the queue", async () => {
    const half = splitPoint(s.pack, 0.5);
    let collector = await s.start("collect");
    await sendAndWait(collector, 0, half, recordsUpTo(half));
    expect(await collector.stop()).toBe(0);
    let messages = shippedBy(collector);
    // The restart: templates come back from the decoder state file.
    collector = await s.start("collect");
    await sendAndWait(collector, half, s.pack.datagrams, s.pack.records - recordsUpTo(half));
    expect(await collector.stop()).toBe(0);
    messages += shippedBy(collector);
    expect(messages).toBeGreaterThan(1000);

    const first = await s.start("aggregate");
    await eventually("some messages applied", async () => (await s.applied()) > 200, 30_000);
    await first.kill();
    const appliedAtKill = await s.applied();
    expect(appliedAtKill).toBeLessThan(messages);
    // Jobs the killed worker held are handed on after queue.stalledAfter.
    const second = await s.start("aggregate");
    await finish(second, messages);
  }, 120_000);

  it("a Redis restart while collecting, with a collector stopped (and spooling) during the outage", async () => {
    const thirds = [splitPoint(s.pack, 1 / 3), splitPoint(s.pack, 2 / 3), s.pack.datagrams];
    const aggregator = await s.start("aggregate");
    let collector = await s.start("collect");
    await sendAndWait(collector, 0, thirds[0]!, recordsUpTo(thirds[0]!));
    await eventually("shipped", async () => {
      const st = await collector.get<CollectStatus>("/api/v1/status");
      return st.queue.shippedMessages > 0 && st.queue.bufferedMessages === 0;
    });
    let messages = 0;
    await s.redis.kill();
    await sendAndWait(collector, thirds[0]!, thirds[1]!, recordsUpTo(thirds[1]!));
    await eventually("the collector to see Redis down", async () => {
      const st = await collector.get<CollectStatus>("/api/v1/status");
      return !st.queue.redisUp && st.queue.bufferedMessages > 0;
    });
    expect(await collector.healthz()).toEqual({ status: 503, down: ["redis"] });
    expect(await collector.stop()).toBe(0);
    expect(collector.output()).toMatch(/spooled for the next start/);
    messages += shippedBy(collector, { spooled: true });
    await s.redis.start();
    collector = await s.start("collect");
    await sendAndWait(collector, thirds[1]!, thirds[2]!, s.pack.records - recordsUpTo(thirds[1]!));
    expect(await collector.stop()).toBe(0);
    messages += shippedBy(collector);
    await finish(aggregator, messages);
  }, 120_000);

  it(
    "two aggregators writing to InfluxDB, an InfluxDB outage, and one aggregator killed during it",
    async () => {
      const influx = await startInfluxd();
      try {
        await influxql(influx, "CREATE DATABASE flowtally");
        const store = {
          store: {
            influx: {
              api: "v1",
              url: `http://127.0.0.1:${influx.port}`,
              database: "flowtally",
              timeout: "2s",
            },
          },
        };
        const aggregators = [await s.start("aggregate", store), await s.start("aggregate", store)];
        const collector = await s.start("collect", store);
        const half = splitPoint(s.pack, 0.5);
        await sendAndWait(collector, 0, half, recordsUpTo(half));
        await eventually(
          "the first half written",
          async () => (await s.applied()) > 0 && (await s.unwritten()) === 0,
          30_000,
        );

        // InfluxDB goes away: totals wait in Redis, the aggregators say so.
        await influx.stop();
        await sendAndWait(collector, half, s.pack.datagrams, s.pack.records);
        expect(await collector.stop()).toBe(0);
        const messages = shippedBy(collector);
        await eventually(
          `${messages} messages applied`,
          async () => (await s.applied()) === messages,
          30_000,
        );
        await eventually("an aggregator to report the store down", async () => {
          const h = await aggregators[0]!.healthz();
          return h.status === 503 && h.down.includes("store");
        });
        expect(await s.unwritten()).toBeGreaterThan(0);
        expect(aggregators[0]!.output()).toMatch(/store write failed: totals stay in Redis/);
        await aggregators[1]!.kill();
        await new Promise((r) => setTimeout(r, OUTAGE_SECONDS * 1000));
        await influx.start();
        // The survivor takes the killed one's shards (queue.stalledAfter) and writes everything.
        await eventually("every total written", async () => (await s.unwritten()) === 0, 60_000);
        expect(await aggregators[0]!.healthz()).toEqual({ status: 200, down: [] });
        expect(await aggregators[0]!.stop()).toBe(0);
        const reader = createInfluxStore(validateConfig(store).store.influx!, {
          log: pino({ level: "silent" }),
        });
        await expectStoredTotals(reader, [s.truth]);
      } finally {
        await influx.close();
      }
    },
    180_000 + OUTAGE_SECONDS * 1000,
  );
});
