/**
 * The scaled-out pipeline against real servers: generated exports with known totals over UDP
 * → `flowtally collect` → BullMQ on a real redis-server → `flowtally aggregate` → the store,
 * and the stored per-customer totals compared with the generators' ground truth, exactly, after
 * each fault the issue lists.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { stringify } from "yaml";
import {
  createFlowGenerator,
  flowtallyCustomers,
  generateDatagrams,
} from "../../bench/flow-generator.js";
import { startAggregate } from "../../cli/aggregate-command.js";
import { startCollect } from "../../cli/collect-command.js";
import { bullPrefix, PARTIALS_QUEUE } from "../../cli/redis-connection.js";
import { parseConfigText } from "../../config/load-config.js";
import type { Config } from "../../schema/config.js";
import { createDuckDbStore } from "../../store/duckdb-store.js";
import { captureLog } from "../support/log-capture.js";
import { collectorConfig, eventually, expectStoredTotals, sendPack } from "../support/scale-out.js";
import { freePort, startRedis, startRedisCluster, type TestServer } from "../support/servers.js";

const CUSTOMERS = 300;
const silent = pino({ level: "silent" });

let redis: TestServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.close();
});

function config(
  dir: string,
  queueRedis: { url: string; cluster?: boolean } = { url: `redis://127.0.0.1:${redis.port}` },
): Config {
  const gen = createFlowGenerator({ seed: 1, customers: CUSTOMERS, version: 10, startMs: 0 });
  return parseConfigText(
    stringify({
      inputs: { netflow: [{ listen: "127.0.0.1:0" }] },
      store: { embedded: { path: join(dir, "ft.duckdb") } },
      decoder: { statePath: "" },
      api: { listen: "127.0.0.1:0", operatorTokens: ["scale-out-test-token-0123"] },
      queue: {
        redis: queueRedis,
        prefix: `t${Date.now().toString(36)}`,
        shards: 4,
        stalledAfter: "2s",
        writeInterval: "200ms",
        rollupWriteInterval: "1s",
      },
      collector: { shipAfter: "0s", spoolPath: join(dir, "spool.json") },
      wal: { path: join(dir, "wal") },
      customers: flowtallyCustomers(gen.customers),
    }),
  );
}

describe("collect → Redis → aggregate", () => {
  it("stores exact per-customer totals from two collectors, and counts redelivered messages once", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ft-scale-"));
    const cfg = config(dir);
    const startMs = Date.now() - 120_000;
    const gens = [
      createFlowGenerator({ seed: 21, customers: CUSTOMERS, version: 10, startMs }),
      createFlowGenerator({ seed: 22, customers: CUSTOMERS, version: 9, startMs, domain: 3 }),
    ];
    const packs = gens.map((g) => generateDatagrams(g, 20_000));
    const collectors = await Promise.all(
      ["c1", "c2"].map((id) =>
        startCollect(collectorConfig(cfg, dir, id), silent, { tickMs: 100 }),
      ),
    );
    const aggregator = await startAggregate(cfg, silent, { writeIntervalMs: 200 });
    try {
      await Promise.all(packs.map((p, k) => sendPack(p, collectors[k]!.inputs[0]!.address.port)));
      await eventually("records received", () =>
        collectors.every((c, k) => c.stats().records === packs[k]!.records),
      );
      const shipped = await Promise.all(collectors.map((c) => c.stop()));
      expect(shipped.map((s) => s.queue?.bufferedMessages)).toEqual([0, 0]);
      const messages = shipped.reduce((n, s) => n + (s.queue?.shippedMessages ?? 0), 0);
      await eventually("all messages applied", () => aggregator.worker!.stats.applied === messages);

      // Redelivery: the same messages again under new job ids (as after BullMQ lost their ids).
      const connection = new Redis({ port: redis.port, maxRetriesPerRequest: null });
      const queue = new Queue(PARTIALS_QUEUE, {
        connection,
        prefix: bullPrefix(cfg.queue!.prefix),
      });
      const done = await queue.getJobs(["completed"]);
      expect(done.length).toBe(messages);
      await queue.addBulk(
        done.map((j) => ({ name: "partials", data: j.data, opts: { jobId: `again-${j.id}` } })),
      );
      await eventually("duplicates seen", () => aggregator.worker!.stats.duplicates === messages);
      const metrics = await fetch(`http://127.0.0.1:${aggregator.api.port}/metrics`, {
        headers: { authorization: "Bearer scale-out-test-token-0123" },
      }).then((r) => r.text());
      expect(metrics).toContain(`flowtally_partials_applied_total ${messages}\n`);
      expect(metrics).toContain(`flowtally_partials_duplicates_total ${messages}\n`);
      expect(metrics).toContain(`flowtally_queue_jobs{state="waiting"} 0\n`);
      await queue.close();
      connection.disconnect();
      await aggregator.worker!.writeNow();
    } finally {
      await aggregator.stop();
    }
    try {
      await expectStoredTotals(
        createDuckDbStore({ path: cfg.store.embedded.path }),
        gens.map((g) => g.truth()),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it.each([
    ["one Redis", false],
    ["a Redis Cluster of three nodes", true],
  ])(
    "decodes data on one collector whose templates only another collector received, through %s",
    async (_name, cluster) => {
      const dir = await mkdtemp(join(tmpdir(), "ft-scale-"));
      const nodes = cluster ? await startRedisCluster() : [];
      onTestFinished(async () => {
        for (const n of nodes) await n.close();
      });
      const cfg = config(
        dir,
        cluster ? { url: `redis://127.0.0.1:${nodes[0]!.port}`, cluster: true } : undefined,
      );
      const gen = createFlowGenerator({
        seed: 31,
        customers: CUSTOMERS,
        version: 10,
        startMs: Date.now() - 120_000,
      });
      const pack = generateDatagrams(gen, 10_000);
      // A UDP load balancer that happens to send every template to c1 and all data to c2.
      const collectors = await Promise.all(
        ["c1", "c2"].map((id) =>
          startCollect(collectorConfig(cfg, dir, id), silent, { tickMs: 100 }),
        ),
      );
      const aggregator = await startAggregate(cfg, silent, { writeIntervalMs: 200 });
      try {
        const [c1, c2] = collectors.map((c) => c.inputs[0]!.address.port) as [number, number];
        for (let k = 0; k < pack.datagrams; k++) {
          await sendPack(pack, pack.recordCounts[k] === 0 ? c1 : c2, k, k + 1);
        }
        await eventually(
          "c2 decodes every record",
          () => collectors[1]!.stats().records === pack.records,
        );
        expect(collectors[0]!.stats().records).toBe(0);
        const shipped = await Promise.all(collectors.map((c) => c.stop()));
        const messages = shipped.reduce((n, s) => n + (s.queue?.shippedMessages ?? 0), 0);
        await eventually(
          "all messages applied",
          () => aggregator.worker!.stats.applied === messages,
        );
        await aggregator.worker!.writeNow();
      } finally {
        await aggregator.stop();
      }
      try {
        await expectStoredTotals(createDuckDbStore({ path: cfg.store.embedded.path }), [
          gen.truth(),
        ]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );

  it("a collector starts, receives and stops while Redis is unreachable, spooling what it has", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ft-scale-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const cfg = config(dir, { url: `redis://127.0.0.1:${await freePort()}` });
    const gen = createFlowGenerator({
      seed: 41,
      customers: CUSTOMERS,
      version: 10,
      startMs: Date.now() - 120_000,
    });
    const pack = generateDatagrams(gen, 2000);
    const started = Date.now();
    const collector = await startCollect(cfg, silent, { tickMs: 100 });
    expect(Date.now() - started).toBeLessThan(3000);
    await sendPack(pack, collector.inputs[0]!.address.port);
    await eventually("records received", () => collector.stats().records === pack.records);
    const stats = await collector.stop();
    expect(stats.queue).toMatchObject({ redisUp: false, shippedMessages: 0 });
    const spooled = JSON.parse(readFileSync(join(dir, "spool.json"), "utf8")) as unknown[];
    expect(spooled.length).toBe(stats.queue!.bufferedMessages);
    expect(spooled.length).toBeGreaterThan(0);
  }, 30_000);

  it("an aggregator starts, reports and stops while Redis is unreachable", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ft-scale-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const cfg = config(dir, { url: `redis://127.0.0.1:${await freePort()}` });
    const { log, lines } = captureLog();
    const aggregator = await startAggregate(cfg, log, { writeIntervalMs: 200, statsMs: 100 });
    const base = `http://127.0.0.1:${aggregator.api.port}`;
    const health = await fetch(`${base}/healthz`);
    expect([health.status, await health.json()]).toEqual([
      503,
      { status: "degraded", down: ["redis"] },
    ]);
    const metrics = await fetch(`${base}/metrics`, {
      headers: { authorization: "Bearer scale-out-test-token-0123" },
    });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain("flowtally_partials_applied_total 0\n");
    // The periodic stats line says it too, as a warning.
    await eventually("a stats warning", () => lines.some((l) => l.includes('"stats: redis down')));
    const stopping = Date.now();
    await aggregator.stop();
    expect(Date.now() - stopping).toBeLessThan(5000);
  }, 30_000);

  it("an aggregator logs its stats periodically, like run: rate, counters, queue", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ft-scale-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const cfg = config(dir);
    const gen = createFlowGenerator({
      seed: 41,
      customers: CUSTOMERS,
      version: 10,
      startMs: Date.now() - 120_000,
    });
    const pack = generateDatagrams(gen, 2000);
    const collector = await startCollect(cfg, silent, { tickMs: 100 });
    const { log, lines } = captureLog();
    const aggregator = await startAggregate(cfg, log, { writeIntervalMs: 200, statsMs: 100 });
    type Line = {
      level: number;
      msg: string;
      applied: number;
      partialsPerSecond: number;
      seriesRowsWritten: number;
      queue: { waiting: number; active: number; lagSeconds: number };
    };
    const statsLines = () =>
      lines.map((l) => JSON.parse(l) as Line).filter((l) => l.msg === "stats");
    try {
      await sendPack(pack, collector.inputs[0]!.address.port);
      await eventually("records received", () => collector.stats().records === pack.records);
      const shipped = (await collector.stop()).queue!.shippedMessages;
      expect(shipped).toBeGreaterThan(0);
      await eventually("all messages applied", () => aggregator.worker!.stats.applied === shipped);
      await eventually("a stats line with every message", () =>
        statsLines().some((l) => l.applied === shipped && l.seriesRowsWritten > 0),
      );
    } finally {
      await aggregator.stop();
    }
    const all = statsLines();
    expect(all.every((l) => l.level === 30)).toBe(true);
    // Each line's rate covers the time since the line before.
    expect(all.some((l) => l.partialsPerSecond > 0)).toBe(true);
    expect(all.at(-1)!.queue).toMatchObject({ waiting: 0 });
    const applied = all.map((l) => l.applied);
    expect(applied).toEqual([...applied].sort((a, b) => a - b));
  }, 60_000);
});
