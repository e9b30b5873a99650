/**
 * One aggregator worker (`flowtally aggregate`): takes partials jobs from BullMQ, applies each
 * once to the running totals in Redis (redis-totals.ts), and writes dirty totals to the store.
 *
 * Writes are split by shard: a worker writes the shards whose writer lock it holds, and takes
 * about its fair share of them (shards / live workers, from heartbeats), so that workers share
 * the writing as they share the jobs. A worker that dies stops renewing its locks; another takes
 * its shards once they expire (queue.stalledAfter, as for its jobs). A lock is checked again just before each store write, so a worker
 * that lost its lock while stalled does not overwrite a newer writer's totals with older ones.
 */
import { randomBytes } from "node:crypto";
import { type Job, Queue, UnrecoverableError, Worker } from "bullmq";
import type { Cluster, Redis } from "ioredis";
import type { Logger } from "pino";
import { BadPartialsMessage, checkPartialsMessage, shardOf } from "../schema/partials-message.js";
import type { SeriesStore } from "../schema/series-store.js";
import type { SlaAlerts } from "../sla/alerts/sla-alerts.js";
import type { LiveIncident } from "../sla/incident-tracker.js";
import {
  applyMessage,
  defineTotalsCommands,
  MAX_PERIODS_PER_WRITE,
  shardKeys,
  writeDirty,
} from "./redis-totals.js";

export interface AggregateWorkerOptions {
  id: string;
  /** BullMQ's connection (blocking; retries for ever) and one for our own commands. */
  workerConnection: Redis | Cluster;
  commands: Redis | Cluster;
  /** BullMQ queue name and key prefix. */
  queueName: string;
  bullPrefix: string;
  /** Prefix of the totals' keys (queue.prefix). */
  prefix: string;
  shards: number;
  store: SeriesStore;
  log: Logger;
  concurrency: number;
  stalledAfterMs: number;
  dedupForMs: number;
  keepTotalsMs: number;
  writeIntervalMs: number;
  rollupWriteIntervalMs: number;
  /**
   * SLA alerts (sla/alerts/): fed the 1-minute response rows this worker writes (its shards'
   * customers), judged after each write cycle that wrote every owned shard, up to `slaUntil`.
   */
  slaAlerts?: SlaAlerts;
  /** The first minute that may still change at `nowMs` (scaled out: lateness and write delays). */
  slaUntil?: (nowMs: number) => number;
}

export interface AggregateStats {
  applied: number;
  duplicates: number;
  rejected: number;
  applyErrors: number;
  seriesRowsWritten: number;
  responseRowsWritten: number;
  writes: number;
  writeErrors: number;
  /** The last write's error ("" once a write succeeds again), and which dependency failed. */
  lastWriteError: string;
  down: Array<"redis" | "store">;
  shardsOwned: number[];
}

export interface AggregateWorker {
  readonly stats: AggregateStats;
  /** Jobs waiting and active in the queue, and the age of the oldest waiting one. */
  queueState(): Promise<{ waiting: number; active: number; lagSeconds: number }>;
  /** Writes everything dirty in the shards it owns now (tests, stop). */
  writeNow(): Promise<void>;
  /** Stops taking jobs, waits for the active ones, writes, releases its shards. */
  close(): Promise<void>;
}

const RENEW_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;
const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** The promise's value, or `fallback` if it has not settled (or failed) within `ms`. */
async function within<T>(ms: number, p: Promise<T>, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  try {
    return await Promise.race([p.catch(() => fallback), late]);
  } finally {
    clearTimeout(timer);
  }
}

export function startAggregateWorker(o: AggregateWorkerOptions): AggregateWorker {
  const redis = defineTotalsCommands(o.commands as Redis);
  redis.defineCommand("ftRenew", { numberOfKeys: 1, lua: RENEW_LUA });
  redis.defineCommand("ftRelease", { numberOfKeys: 1, lua: RELEASE_LUA });
  const locks = redis as unknown as {
    ftRenew(key: string, token: string, ms: number): Promise<number>;
    ftRelease(key: string, token: string): Promise<number>;
  };
  const token = `${o.id}.${randomBytes(6).toString("hex")}`;
  // A dead writer's shards pass on after the same time as a dead worker's jobs.
  const lockMs = Math.max(o.stalledAfterMs, 5 * o.writeIntervalMs);
  const heartbeats = `${o.prefix}:aggregators`;
  const owned = new Set<number>();
  const stats: AggregateStats = {
    applied: 0,
    duplicates: 0,
    rejected: 0,
    applyErrors: 0,
    seriesRowsWritten: 0,
    responseRowsWritten: 0,
    writes: 0,
    writeErrors: 0,
    lastWriteError: "",
    down: [],
    shardsOwned: [],
  };
  let lastErrorLog = 0;
  let lastQueueState = { waiting: 0, active: 0, lagSeconds: 0 };
  let closing = false;

  const worker = new Worker(
    o.queueName,
    async (job: Job) => {
      let message: ReturnType<typeof checkPartialsMessage>;
      try {
        message = checkPartialsMessage(job.data, o.shards);
      } catch (e) {
        if (!(e instanceof BadPartialsMessage)) throw e;
        stats.rejected++;
        o.log.error({ job: job.id, reason: e.message }, "partials message refused (not retried)");
        throw new UnrecoverableError(e.message);
      }
      try {
        const fresh = await applyMessage(redis, o.prefix, message, Math.ceil(o.dedupForMs / 1000));
        if (fresh) stats.applied++;
        else stats.duplicates++;
      } catch (e) {
        stats.applyErrors++;
        throw e;
      }
    },
    {
      connection: o.workerConnection,
      prefix: o.bullPrefix,
      concurrency: o.concurrency,
      lockDuration: o.stalledAfterMs,
      stalledInterval: o.stalledAfterMs,
      // A job left by a killed worker is always handed on, never failed.
      maxStalledCount: 1_000_000,
      autorun: true,
    },
  );
  worker.on("error", (e) => logDown("redis", e));
  /** For the queue's counts only (metrics). */
  const queue = new Queue(o.queueName, { connection: o.commands, prefix: o.bullPrefix });
  queue.on("error", () => {}); // reported by the worker

  function logDown(what: "redis" | "store", e: unknown): void {
    if (!stats.down.includes(what)) stats.down.push(what);
    const t = Date.now();
    if (t - lastErrorLog < 30_000) return;
    lastErrorLog = t;
    o.log.error(
      { err: e, dirtyKeptIn: "redis" },
      what === "store"
        ? "store write failed: totals stay in Redis and are written when the store is back"
        : "Redis unreachable: jobs wait in the queue, totals are written when it is back",
    );
  }

  function up(what: "redis" | "store"): void {
    if (!stats.down.includes(what)) return;
    stats.down = stats.down.filter((d) => d !== what);
    o.log.info(`${what} reachable again`);
  }

  /** Renews held locks, then takes or gives up shards to hold about a fair share. */
  async function balance(): Promise<void> {
    const t = Date.now();
    await redis.zadd(heartbeats, t, token);
    await redis.zremrangebyscore(heartbeats, 0, t - lockMs);
    const live = Math.max(1, await redis.zcard(heartbeats));
    const fair = Math.ceil(o.shards / live);
    for (const shard of [...owned]) {
      if ((await locks.ftRenew(shardKeys(o.prefix, shard).writer, token, lockMs)) !== 1) {
        owned.delete(shard);
        lost(shard);
      }
    }
    for (const shard of [...owned].slice(fair)) {
      await writeShard(shard);
      await locks.ftRelease(shardKeys(o.prefix, shard).writer, token);
      owned.delete(shard);
      lost(shard);
    }
    // Start at a different shard per worker, so that workers don't race for the same ones.
    const first = Number.parseInt(token.slice(-6), 16) % o.shards;
    for (let k = 0; k < o.shards && owned.size < fair; k++) {
      const shard = (first + k) % o.shards;
      if (owned.has(shard)) continue;
      const got = await redis.set(shardKeys(o.prefix, shard).writer, token, "PX", lockMs, "NX");
      if (got === "OK") {
        owned.add(shard);
        await adoptIncidents(shard);
      }
    }
    stats.shardsOwned = [...owned].sort((a, b) => a - b);
  }

  /** The SLA incidents its previous writer left open for a shard this worker now writes. */
  async function adoptIncidents(shard: number): Promise<void> {
    if (o.slaAlerts === undefined) return;
    const kept = await redis.hvals(shardKeys(o.prefix, shard).slaIncidents);
    const incidents: LiveIncident[] = [];
    for (const text of kept) {
      try {
        incidents.push(JSON.parse(text) as LiveIncident);
      } catch {
        // A value not written by us: ignored (rewritten at the next cycle).
      }
    }
    o.slaAlerts.adopt(incidents);
  }

  /** Keeps the open SLA incidents of each owned shard in Redis, for whoever writes it next. */
  async function keepIncidents(): Promise<void> {
    if (o.slaAlerts === undefined) return;
    const open = o.slaAlerts.openIncidents(() => true);
    for (const shard of owned) {
      // One transaction per shard: its keys share a slot (Redis Cluster).
      const key = shardKeys(o.prefix, shard).slaIncidents;
      const mine = open.filter((i) => shardOf(i.customer, o.shards) === shard);
      const tx = redis.multi().del(key);
      if (mine.length > 0) {
        tx.hset(
          key,
          ...mine.flatMap((i) => [`${i.customer}\x1f${i.trafficClass}`, JSON.stringify(i)]),
        );
      }
      await tx.exec();
    }
  }

  /** A shard passed to another worker: its customers' incidents are tracked there now. */
  function lost(shard: number): void {
    o.slaAlerts?.forget((customer) => shardOf(customer, o.shards) === shard);
  }

  async function writeShard(shard: number): Promise<void> {
    for (;;) {
      // Still ours? A worker that stalled past its lock must not write older totals.
      if ((await locks.ftRenew(shardKeys(o.prefix, shard).writer, token, lockMs)) !== 1) {
        owned.delete(shard);
        lost(shard);
        return;
      }
      const r = await writeDirty(redis, o.prefix, shard, o.store, {
        keepSeconds: Math.ceil(o.keepTotalsMs / 1000),
        // Stopping writes everything.
        rollupEveryMs: closing ? 0 : o.rollupWriteIntervalMs,
        nowMs: Date.now(),
        ...(o.slaAlerts === undefined
          ? {}
          : { onResponseRows: (rows) => o.slaAlerts?.putTotals(rows) }),
      });
      stats.writes++;
      stats.seriesRowsWritten += r.seriesRows;
      stats.responseRowsWritten += r.responseRows;
      if (r.periods < MAX_PERIODS_PER_WRITE) return;
    }
  }

  let cycle: Promise<void> = Promise.resolve();
  async function writeCycle(): Promise<void> {
    try {
      await balance();
      up("redis");
    } catch (e) {
      logDown("redis", e);
      return;
    }
    for (const shard of [...owned]) {
      try {
        await writeShard(shard);
        stats.lastWriteError = "";
        up("store");
      } catch (e) {
        stats.writeErrors++;
        stats.lastWriteError = e instanceof Error ? e.message : String(e);
        // A Redis error while writing shows up as Redis down, anything else as the store.
        const redisDown = o.commands.status !== "ready";
        logDown(redisDown ? "redis" : "store", e);
        return;
      }
    }
    // Every owned shard written: the minutes complete by now are all in the store and here.
    if (o.slaAlerts !== undefined && o.slaUntil !== undefined) {
      o.slaAlerts.judge(o.slaUntil(Date.now()));
      try {
        await keepIncidents();
      } catch (e) {
        logDown("redis", e);
      }
    }
  }
  const timer = setInterval(() => {
    cycle = cycle.then(writeCycle);
  }, o.writeIntervalMs);
  timer.unref();

  return {
    stats,
    async queueState() {
      // BullMQ waits for a connection while Redis is away: a scrape gets the last known counts.
      const read = async () => {
        const c = await queue.getJobCounts("waiting", "active", "prioritized", "delayed");
        const [oldest] = await queue.getWaiting(0, 0);
        return {
          waiting: (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0),
          active: c.active ?? 0,
          lagSeconds: oldest === undefined ? 0 : (Date.now() - oldest.timestamp) / 1000,
        };
      };
      lastQueueState = await within(1000, read(), lastQueueState);
      return lastQueueState;
    },
    writeNow() {
      cycle = cycle.then(writeCycle);
      return cycle;
    },
    async close() {
      clearInterval(timer);
      closing = true;
      // Waits for the jobs in hand, unless Redis is away: they could not be acknowledged, and
      // BullMQ hands them to another worker after queue.stalledAfter.
      if (o.commands.status === "ready") await within(o.stalledAfterMs, worker.close(), undefined);
      else await within(2000, worker.close(true), undefined);
      await cycle;
      if (o.commands.status === "ready") await writeCycle();
      for (const shard of owned) {
        await locks.ftRelease(shardKeys(o.prefix, shard).writer, token).catch(() => 0);
      }
      await redis.zrem(heartbeats, token).catch(() => 0);
      owned.clear();
      await within(2000, queue.close(), undefined);
    },
  };
}
