/**
 * The collector's I/O shell towards the queue: delivers partials messages to BullMQ in order,
 * one `addBulk` per batch, with the message id as the job id (BullMQ ignores a job id it still
 * holds, and the aggregator applies an id once, so re-sending after an unanswered add is safe).
 *
 * While Redis is unreachable the messages wait in memory, bounded by `maxBufferedRows` (the
 * oldest are dropped beyond it, counted and logged), with one log line when Redis goes away, one
 * every 30 s while it stays away and one when it is back. On stop, what could not be delivered
 * is written to `spoolPath` and delivered by the next start, so a stop during an outage loses
 * nothing either.
 */
import { readFileSync, rmSync } from "node:fs";
import type { Queue } from "bullmq";
import type { Logger } from "pino";
import { checkPartialsMessage, type PartialsMessage } from "../schema/partials-message.js";
import { writeFileDurably } from "../wal/durable-file.js";
import { messageRows } from "./partials-batch.js";

/** Job options of every partials job. */
export const PARTIALS_JOB = {
  name: "partials",
  opts: {
    // Completed jobs are dropped soon (the aggregator's done-marks dedupe from then on).
    removeOnComplete: { age: 600, count: 100_000 },
    removeOnFail: { age: 7 * 86_400 },
    attempts: 100,
    backoff: { type: "exponential", delay: 1000 },
  },
} as const;

export interface ShipperStats {
  bufferedMessages: number;
  bufferedRows: number;
  shippedMessages: number;
  shippedRows: number;
  droppedRows: number;
  /** Whether the last delivery attempt reached Redis. */
  redisUp: boolean;
  lastError: string;
}

export interface PartialsShipper {
  readonly stats: ShipperStats;
  /** Queues messages for delivery, in order. */
  push(messages: readonly PartialsMessage[]): void;
  /** Whether the message is still waiting here (not delivered, not dropped). */
  holds(message: PartialsMessage): boolean;
  /** Delivers what is buffered, until done or Redis refuses; never rejects. */
  flush(): Promise<void>;
  /**
   * Delivers for up to `timeoutMs`, then writes what is left to the spool file. Does not close
   * the queue (the caller owns it).
   */
  stop(timeoutMs: number): Promise<void>;
}

export interface ShipperOptions {
  queue: Pick<Queue, "addBulk">;
  log: Logger;
  maxBufferedRows: number;
  /** "" disables the spool. */
  spoolPath: string;
  /** For reading the spool back: messages of other shard counts are refused. */
  shards: number;
  batch?: number;
  /**
   * An add that has not answered after this counts as failed (BullMQ waits for a connection that
   * never came up); if it lands later, the job id and the aggregator's dedup keep it single.
   */
  addTimeoutMs?: number;
  now?: () => number;
}

export function createPartialsShipper(o: ShipperOptions): PartialsShipper {
  const now = o.now ?? Date.now;
  const batchSize = o.batch ?? 64;
  const addTimeoutMs = o.addTimeoutMs ?? 5000;
  let buffer: PartialsMessage[] = [];
  /** The messages in `buffer`, for `holds`. */
  const waiting = new Set<PartialsMessage>();
  const waitingIds = new Set<string>();
  const stats: ShipperStats = {
    bufferedMessages: 0,
    bufferedRows: 0,
    shippedMessages: 0,
    shippedRows: 0,
    droppedRows: 0,
    redisUp: true,
    lastError: "",
  };
  let downSince = 0;
  let lastDownLog = 0;
  let flushing: Promise<void> | undefined;
  let spoolLoaded = false;

  if (o.spoolPath !== "") {
    try {
      const data = JSON.parse(readFileSync(o.spoolPath, "utf8")) as unknown[];
      let bad = 0;
      for (const m of Array.isArray(data) ? data : []) {
        try {
          buffer.push(checkPartialsMessage(m, o.shards));
        } catch {
          bad++;
        }
      }
      spoolLoaded = true;
      o.log.info(
        { path: o.spoolPath, messages: buffer.length, refused: bad },
        "partials spooled at the last stop: delivering them",
      );
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
        o.log.error({ err: e, path: o.spoolPath }, "collector.spoolPath unreadable: ignored");
      }
    }
  }
  recount();

  function recount(): void {
    waiting.clear();
    waitingIds.clear();
    for (const m of buffer) {
      waiting.add(m);
      waitingIds.add(m.id);
    }
    stats.bufferedMessages = buffer.length;
    stats.bufferedRows = buffer.reduce((n, m) => n + messageRows(m), 0);
  }

  function push(messages: readonly PartialsMessage[]): void {
    for (const m of messages) {
      // A message waits once (the spool and the write-ahead log may both bring it back).
      if (waitingIds.has(m.id)) continue;
      buffer.push(m);
      waiting.add(m);
      waitingIds.add(m.id);
      stats.bufferedRows += messageRows(m);
    }
    let dropped = 0;
    while (stats.bufferedRows > o.maxBufferedRows && buffer.length > 1) {
      const m = buffer.shift() as PartialsMessage;
      waiting.delete(m);
      waitingIds.delete(m.id);
      stats.bufferedRows -= messageRows(m);
      dropped += messageRows(m);
    }
    stats.bufferedMessages = buffer.length;
    if (dropped > 0) {
      stats.droppedRows += dropped;
      o.log.error(
        { droppedRows: dropped, maxBufferedRows: o.maxBufferedRows, since: new Date(downSince) },
        "partials dropped: Redis has been unreachable too long for collector.maxBufferedRows",
      );
    }
  }

  async function deliver(): Promise<void> {
    while (buffer.length > 0) {
      const batch = buffer.slice(0, batchSize);
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          o.queue.addBulk(
            batch.map((m) => ({
              name: PARTIALS_JOB.name,
              data: m,
              opts: { ...PARTIALS_JOB.opts, jobId: m.id },
            })),
          ),
          new Promise((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`no answer from Redis in ${addTimeoutMs} ms`)),
              addTimeoutMs,
            );
          }),
        ]);
      } catch (e) {
        stats.lastError = e instanceof Error ? e.message : String(e);
        const t = now();
        if (stats.redisUp) {
          stats.redisUp = false;
          downSince = t;
          lastDownLog = t;
          o.log.error(
            { err: e, bufferedMessages: buffer.length, bufferedRows: stats.bufferedRows },
            "Redis unreachable: partials are kept in memory until it is back",
          );
        } else if (t - lastDownLog >= 30_000) {
          lastDownLog = t;
          o.log.warn(
            {
              downSeconds: Math.round((t - downSince) / 1000),
              bufferedMessages: buffer.length,
              bufferedRows: stats.bufferedRows,
              maxBufferedRows: o.maxBufferedRows,
            },
            "Redis still unreachable",
          );
        }
        return;
      } finally {
        clearTimeout(timer);
      }
      // Delivered: this batch may have shifted if push dropped old messages meanwhile.
      const delivered = new Set(batch);
      const rows = batch.reduce((n, m) => n + messageRows(m), 0);
      buffer = buffer.filter((m) => !delivered.has(m));
      stats.shippedMessages += batch.length;
      stats.shippedRows += rows;
      recount();
      if (!stats.redisUp) {
        stats.redisUp = true;
        stats.lastError = "";
        o.log.info(
          { downSeconds: Math.round((now() - downSince) / 1000), bufferedMessages: buffer.length },
          "Redis reachable again: delivering buffered partials",
        );
      }
    }
    if (spoolLoaded && o.spoolPath !== "") {
      rmSync(o.spoolPath, { force: true });
      spoolLoaded = false;
    }
  }

  function flush(): Promise<void> {
    flushing ??= deliver().finally(() => {
      flushing = undefined;
    });
    return flushing;
  }

  async function stop(timeoutMs: number): Promise<void> {
    const deadline = now() + timeoutMs;
    await flush();
    while (buffer.length > 0 && now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      await flush();
    }
    if (buffer.length === 0) return;
    if (o.spoolPath === "") {
      o.log.error(
        { messages: buffer.length, rows: stats.bufferedRows },
        "partials not delivered at stop are lost (collector.spoolPath is off)",
      );
      return;
    }
    writeFileDurably(o.spoolPath, JSON.stringify(buffer));
    o.log.warn(
      { path: o.spoolPath, messages: buffer.length, rows: stats.bufferedRows },
      "Redis unreachable at stop: partials spooled for the next start",
    );
  }

  return { stats, push, holds: (m) => waiting.has(m), flush, stop };
}
