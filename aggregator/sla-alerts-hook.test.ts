/**
 * SLA alerts scaled out: an aggregator worker (real Redis, BullMQ, a DuckDB store) fed response
 * partials of one customer's two links judges each minute on the links summed, as the SLA report
 * does, and a loopback webhook gets the incident's start and end. Minute 2 is the case that
 * tells the sum from per-link judging: link b alone breaches (0 of 1), the customer does not
 * (9 + 0 of 10 + 1 = 81.8 % ≥ 80 %), so the incident ends there.
 */

import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bullPrefix, PARTIALS_QUEUE } from "../cli/redis-connection.js";
import { validateConfig } from "../config/load-config.js";
import {
  PARTIALS_MESSAGE_VERSION,
  type PartialsMessage,
  shardOf,
} from "../schema/partials-message.js";
import { responseTimeCounters, type SeriesStore } from "../schema/series-store.js";
import { createSlaAlerts } from "../sla/alerts/sla-alerts.js";
import { createDuckDbStore } from "../store/duckdb-store.js";
import { captureLog } from "../test/support/log-capture.js";
import { startRedis, type TestServer } from "../test/support/servers.js";
import { startAggregateWorker } from "./aggregate-worker.js";

const T0 = Date.UTC(2031, 2, 4, 10, 0);
const M = 60_000;
const SHARDS = 4;
const PREFIX = "ftsla";

let redis: TestServer;
let dir: string;
let store: SeriesStore;
const got: Array<{ event: string; body: Record<string, unknown> }> = [];
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = JSON.parse(Buffer.concat(chunks).toString());
    got.push({ event: body.event, body });
    res.writeHead(204).end();
  });
});

beforeAll(async () => {
  redis = await startRedis();
  dir = await mkdtemp(join(tmpdir(), "ft-sla-scaled-"));
  store = createDuckDbStore({ path: join(dir, "s.duckdb") });
  await store.start();
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
});
afterAll(async () => {
  await store.stop();
  await redis.close();
  await new Promise<void>((r) => receiver.close(() => r()));
  await rm(dir, { recursive: true, force: true });
});

let seq = 0;
/** One collector's partials of one minute: [link, transactions, good] for acme's class web. */
function message(minute: number, rows: Array<[string, number, number]>): PartialsMessage {
  return {
    v: PARTIALS_MESSAGE_VERSION,
    id: `c1.1.${seq++}`,
    collector: "c1",
    startMs: T0 + minute * M,
    shard: shardOf("acme", SHARDS),
    traffic: [],
    responses: rows.map(([link, transactions, good]) => [
      "acme",
      "hq",
      link,
      "web",
      responseTimeCounters.map((c) =>
        c === "transactions" ? transactions : c === "good" ? good : 0,
      ),
      [],
    ]),
  };
}

/** A worker with its own alerts, judging up to `until()`. */
function worker(id: string, until: () => number) {
  const { port } = receiver.address() as AddressInfo;
  const cfg = validateConfig({
    classes: [{ id: "web", match: { ports: [80] }, serviceLevelTarget: 80 }],
    sla: {
      webhooks: [{ name: "ops", url: `http://127.0.0.1:${port}/`, secret: "k", retryDelayMs: 20 }],
      statePath: "",
    },
  });
  const { log } = captureLog();
  const alerts = createSlaAlerts(cfg, { log, serviceTypeOf: () => undefined });
  alerts.start();
  const commands = new Redis({ port: redis.port, maxRetriesPerRequest: null });
  const workerConnection = new Redis({ port: redis.port, maxRetriesPerRequest: null });
  const w = startAggregateWorker({
    id,
    workerConnection,
    commands,
    queueName: PARTIALS_QUEUE,
    bullPrefix: bullPrefix(PREFIX),
    prefix: PREFIX,
    shards: SHARDS,
    store,
    log,
    concurrency: 1,
    stalledAfterMs: 5000,
    dedupForMs: 60_000,
    keepTotalsMs: 60_000,
    writeIntervalMs: 60_000,
    rollupWriteIntervalMs: 0,
    slaAlerts: alerts,
    slaUntil: until,
  });
  return {
    w,
    alerts,
    async close() {
      await w.close();
      await alerts.stop(5000);
      commands.disconnect();
      workerConnection.disconnect();
    },
  };
}

async function applied(w: { stats: { applied: number } }, n: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (w.stats.applied < n) {
    if (Date.now() > deadline) throw new Error("messages not applied");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("SLA alerts in the aggregator worker", () => {
  it("a shard passing to another worker keeps its open incident: one start, one end", async () => {
    got.length = 0;
    const connection = new Redis({ port: redis.port, maxRetriesPerRequest: null });
    const queue = new Queue(PARTIALS_QUEUE, { connection, prefix: bullPrefix(PREFIX) });
    try {
      const first = worker("w-first", () => T0 + 12 * M);
      await queue.addBulk(
        [message(10, [["a", 10, 10]]), message(11, [["a", 10, 1]])].map((m) => ({
          name: "partials",
          data: m,
        })),
      );
      await applied(first.w, 2);
      await first.w.writeNow();
      expect(first.alerts.state().openIncidents.map((i) => i.start)).toEqual([
        "2031-03-04T10:11:00.000Z",
      ]);
      // Stopping writes and hands its shards over (the incident stays open).
      await first.close();
      const second = worker("w-second", () => T0 + 13 * M);
      await queue.add("partials", message(12, [["a", 10, 10]]));
      await applied(second.w, 1);
      await second.w.writeNow();
      await second.close();
      expect(got.map((g) => g.event)).toEqual(["incident.started", "incident.ended"]);
      expect(got[1]!.body).toMatchObject({
        incident: {
          id: "acme/web/2031-03-04T10:11:00.000Z",
          start: "2031-03-04T10:11:00.000Z",
          end: "2031-03-04T10:12:00.000Z",
          minutes: 1,
          good: 1,
          endReason: "compliant",
        },
      });
    } finally {
      await queue.close();
      connection.disconnect();
    }
  }, 30_000);

  it("judges minutes on the customer's links summed and alerts once per start and end", async () => {
    got.length = 0;
    const { port } = receiver.address() as AddressInfo;
    const cfg = validateConfig({
      classes: [{ id: "web", match: { ports: [80] }, serviceLevelTarget: 80 }],
      sla: {
        webhooks: [
          { name: "ops", url: `http://127.0.0.1:${port}/`, secret: "k", retryDelayMs: 20 },
        ],
        statePath: "",
      },
    });
    const { log } = captureLog();
    const alerts = createSlaAlerts(cfg, { log, serviceTypeOf: () => undefined });
    alerts.start();
    const commands = new Redis({ port: redis.port, maxRetriesPerRequest: null });
    const workerConnection = new Redis({ port: redis.port, maxRetriesPerRequest: null });
    let until = T0;
    const worker = startAggregateWorker({
      id: "w1",
      workerConnection,
      commands,
      queueName: PARTIALS_QUEUE,
      bullPrefix: bullPrefix(PREFIX),
      prefix: PREFIX,
      shards: SHARDS,
      store,
      log,
      concurrency: 1,
      stalledAfterMs: 5000,
      dedupForMs: 60_000,
      keepTotalsMs: 60_000,
      writeIntervalMs: 60_000,
      rollupWriteIntervalMs: 0,
      slaAlerts: alerts,
      slaUntil: () => until,
    });
    const queue = new Queue(PARTIALS_QUEUE, { connection: commands, prefix: bullPrefix(PREFIX) });
    try {
      const messages = [
        message(0, [["a", 10, 10]]),
        message(1, [["a", 10, 5]]),
        message(1, [["b", 10, 5]]),
        message(2, [["a", 10, 9]]),
        message(2, [["b", 1, 0]]),
        message(3, [["a", 4, 4]]),
      ];
      await queue.addBulk(messages.map((m) => ({ name: "partials", data: m })));
      const deadline = Date.now() + 15_000;
      while (worker.stats.applied < messages.length) {
        if (Date.now() > deadline) throw new Error("messages not applied");
        await new Promise((r) => setTimeout(r, 20));
      }
      // Minutes 0-3 complete, minute 3 left open by `until`.
      until = T0 + 3 * M;
      await worker.writeNow();
      await alerts.stop(5000);
      expect(alerts.state().minutes).toMatchObject({ minutes: 3, started: 1, ended: 1 });
      expect(got.map((g) => g.event)).toEqual(["incident.started", "incident.ended"]);
      expect(got[1]!.body).toMatchObject({
        customer: "acme",
        class: "web",
        incident: {
          start: "2031-03-04T10:01:00.000Z",
          end: "2031-03-04T10:02:00.000Z",
          minutes: 1,
          transactions: 20,
          good: 10,
          worstShare: 0.5,
          endReason: "compliant",
        },
        target: 80,
      });
    } finally {
      await queue.close();
      await worker.close();
      commands.disconnect();
      workerConnection.disconnect();
    }
  }, 30_000);
});
