import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { Queue } from "bullmq";
import { pino } from "pino";
import { describe, expect, it, onTestFinished } from "vitest";
import { bullPrefix, connectRedis, PARTIALS_QUEUE } from "../cli/redis-connection.js";
import { validateConfig } from "../config/load-config.js";
import {
  PARTIALS_MESSAGE_VERSION,
  type PartialsMessage,
  shardOf,
} from "../schema/partials-message.js";
import { freePort, startRedis } from "../test/support/servers.js";
import { createPartialsShipper } from "./partials-shipper.js";

const SHARDS = 4;

function message(seq: number, rows: number): PartialsMessage {
  return {
    v: PARTIALS_MESSAGE_VERSION,
    id: `edge1.t.${seq}`,
    collector: "edge1",
    startMs: Date.UTC(2026, 10, 1) + seq * 10_000,
    shard: shardOf("acme", SHARDS),
    traffic: Array.from({ length: rows }, () => ["acme", "hq", "fiber", "web", "in", 100, 1, 1]),
    responses: [],
  };
}

/** A logger whose lines are kept as objects. */
function capture() {
  const lines: Array<{ msg: string; [k: string]: unknown }> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { log: pino({ level: "info" }, stream), lines };
}

async function queueAt(port: number) {
  const cfg = validateConfig({ queue: { redis: { url: `redis://127.0.0.1:${port}` } } });
  const connection = connectRedis(cfg.queue!, "producer", "test");
  connection.on("error", () => {});
  const queue = new Queue(PARTIALS_QUEUE, { connection, prefix: bullPrefix("fttest") });
  queue.on("error", () => {});
  onTestFinished(async () => {
    await queue.close().catch(() => {});
    connection.disconnect();
  });
  return queue;
}

describe("partials shipper", () => {
  it("bounds its buffer while Redis is away, spools at stop, and the next start delivers the spool", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ft-shipper-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const spoolPath = join(dir, "spool.json");
    const down = capture();
    const away = createPartialsShipper({
      queue: await queueAt(await freePort()), // nothing listens there
      log: down.log,
      maxBufferedRows: 100,
      spoolPath,
      shards: SHARDS,
      addTimeoutMs: 100,
    });
    for (let seq = 0; seq < 30; seq++) {
      away.push([message(seq, 10)]);
      await away.flush();
    }
    expect(away.stats).toMatchObject({
      redisUp: false,
      bufferedMessages: 10,
      bufferedRows: 100,
      droppedRows: 200,
      shippedMessages: 0,
    });
    expect(down.lines.filter((l) => /^Redis unreachable/.test(l.msg))).toHaveLength(1);
    expect(down.lines.some((l) => /^partials dropped/.test(l.msg))).toBe(true);
    await away.stop(300);
    expect(down.lines.some((l) => /spooled for the next start/.test(l.msg))).toBe(true);
    // The newest ten survive, in order.
    const spooled = JSON.parse(readFileSync(spoolPath, "utf8")) as PartialsMessage[];
    expect(spooled.map((m) => m.id)).toEqual(
      Array.from({ length: 10 }, (_, k) => `edge1.t.${20 + k}`),
    );
    // A damaged entry is refused, the others delivered.
    writeFileSync(spoolPath, JSON.stringify([...spooled, { v: 9 }]));

    const redis = await startRedis();
    onTestFinished(() => redis.close());
    const queue = await queueAt(redis.port);
    const up = capture();
    const back = createPartialsShipper({
      queue,
      log: up.log,
      maxBufferedRows: 100,
      spoolPath,
      shards: SHARDS,
    });
    expect(up.lines[0]).toMatchObject({ messages: 10, refused: 1 });
    await back.flush();
    expect(back.stats).toMatchObject({ bufferedMessages: 0, shippedMessages: 10, redisUp: true });
    expect(existsSync(spoolPath)).toBe(false);
    const jobs = await queue.getJobs(["waiting"]);
    expect(jobs.map((j) => j.id).sort()).toEqual(spooled.map((m) => m.id).sort());
    // Shipping the same message again adds no second job (its id is the job id).
    back.push([spooled[0]!]);
    await back.flush();
    expect(await queue.getJobCountByTypes("waiting")).toBe(10);
  }, 30_000);
});
