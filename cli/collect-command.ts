/**
 * `flowtally collect --config FILE`: a collector only (scaled out). The same inputs, decoders and
 * classification as `run`, but what is received goes to the queue as partials messages
 * (schema/partials-message.ts) instead of a store: every `collector.shipAfter` (at the one-second
 * tick), the open intervals too, one message per (interval, shard); aggregators add them up. Templates and sampling rates are shared with the other
 * collectors through Redis (collector/template-sharing.ts). The HTTP API serves /healthz,
 * /metrics and /api/v1/status.
 */
import { hostname } from "node:os";
import { Queue } from "bullmq";
import type { Logger } from "pino";
import { toMessages } from "../collector/partials-batch.js";
import { createPartialsShipper } from "../collector/partials-shipper.js";
import { startTemplateSharing } from "../collector/template-sharing.js";
import type { Config } from "../schema/config.js";
import { FlowtallyError } from "../schema/errors.js";
import type { LinkStatusRow } from "../schema/series-store.js";
import { completeBefore, floorTo } from "../store/levels.js";
import { openCollectorWal } from "../wal/collector-wal.js";
import { createCollectors } from "./collectors.js";
import { lockDataFiles } from "./data-lock.js";
import { scaledOutCompleteUntil } from "./freshness.js";
import { bullPrefix, connectRedis, PARTIALS_QUEUE, redactUrl } from "./redis-connection.js";
import {
  type RunningFlowtally,
  type RunSink,
  type RunTimings,
  startRun,
  walSummary,
} from "./run-command.js";

/** The queue section, or a config error naming the key a scaled-out command needs. */
export function requireQueue(cfg: Config, command: string): NonNullable<Config["queue"]> {
  if (cfg.queue === undefined) {
    throw new FlowtallyError(
      "FT_CONFIG_INVALID",
      `queue.redis.url: required by flowtally ${command} (the Redis that carries partials)`,
    );
  }
  return cfg.queue;
}

/** collector.id, or the host name made into an id. */
export function collectorId(cfg: Config): string {
  return (
    cfg.collector.id ??
    (hostname()
      .replace(/[^A-Za-z0-9_.-]/g, "-")
      .replace(/^[^A-Za-z0-9]+/, "")
      .slice(0, 64) ||
      "collector")
  );
}

export function startCollect(
  cfg: Config,
  log: Logger,
  timings: Partial<RunTimings> = {},
): Promise<RunningFlowtally> {
  const queueCfg = requireQueue(cfg, "collect");
  // `withCustomers`: cfg with the registry's customers (registry.source: database).
  return startRun(cfg, log, timings, async (withCustomers) => {
    const id = collectorId(cfg);
    // Released by close, after the shipper wrote what it could not deliver.
    const spoolLock = lockDataFiles(
      [
        ["collector.spoolPath", cfg.collector.spoolPath],
        ["wal.path", cfg.wal.enabled ? cfg.wal.path : ""],
      ],
      log,
    );
    let parts: ReturnType<typeof createCollectors>;
    let wal: Awaited<ReturnType<typeof openCollectorWal>>;
    try {
      parts = createCollectors(withCustomers, log);
      wal = await openCollectorWal(cfg, queueCfg.shards, log);
    } catch (e) {
      spoolLock.release();
      throw e;
    }
    const connection = connectRedis(queueCfg, "producer", `flowtally-collect-${id}`);
    // Errors surface on the adds (buffered, logged by the shipper); not as unhandled events.
    connection.on("error", () => {});
    const queue = new Queue(PARTIALS_QUEUE, { connection, prefix: bullPrefix(queueCfg.prefix) });
    queue.on("error", () => {});
    const shipper = createPartialsShipper({
      queue,
      log,
      maxBufferedRows: cfg.collector.maxBufferedRows,
      spoolPath: cfg.collector.spoolPath,
      shards: queueCfg.shards,
    });
    shipper.push(wal.replay);
    const subscriber = connectRedis(queueCfg, "worker", `flowtally-collect-${id}-templates`);
    subscriber.on("error", () => {});
    const sharing = startTemplateSharing({
      redis: connection,
      subscriber,
      prefix: queueCfg.prefix,
      snapshot: () => parts.decoder.snapshot(),
      learn: (snapshot) => parts.collector.learn(snapshot, Date.now()),
      log,
    });
    const ids = {
      collector: id,
      epoch: `${Date.now().toString(36)}${process.pid.toString(36)}`,
      next: 0,
    };
    log.info(
      { collector: id, redis: redactUrl(queueCfg.redis.url), shards: queueCfg.shards },
      "collector: shipping partials to the queue",
    );
    // Said at once when Redis is not there at start, not only when the first partials fail to
    // ship (collector.shipAfter later); /healthz says it from the start.
    const notReady = setTimeout(() => {
      if (connection.status !== "ready") {
        log.error(
          { redis: redactUrl(queueCfg.redis.url), status: connection.status },
          "Redis unreachable at start: partials are kept in memory until it is back",
        );
      }
    }, 5000);
    notReady.unref();
    let busy: Promise<void> = Promise.resolve();
    let shippedAt = Number.NEGATIVE_INFINITY;
    /**
     * Everything received, the open intervals too (aggregators add what later messages bring),
     * as messages: logged, then queued in the shipper.
     */
    const take = (
      model = parts.model,
      drained?: ReturnType<typeof parts.reload>,
      status: readonly LinkStatusRow[] = [],
    ) => {
      const packets = parts.packetsIfUsed;
      const sources =
        packets === undefined
          ? [parts.collector, parts.sflow]
          : [parts.collector, parts.sflow, packets];
      const traffic = drained?.traffic ?? sources.flatMap((c) => c.drainAll());
      const responses = drained?.responses ?? [
        ...parts.collector.drainAllResponses(),
        ...(packets === undefined ? [] : packets.drainAllResponses()),
      ];
      const messages = toMessages(model, queueCfg.shards, ids, traffic, responses, status);
      wal.log(messages);
      shipper.push(messages);
    };
    const persist = async (status: readonly LinkStatusRow[] = []) => {
      take(undefined, undefined, status);
      try {
        parts.saveStateIfChanged();
      } catch (e) {
        log.error({ err: e }, "decoder state not saved");
      }
      await wal.sync();
    };
    const step = async (nowMs: number, final: boolean) => {
      await sharing.publish();
      if (!final && nowMs - shippedAt < cfg.collector.shipAfter) return;
      shippedAt = nowMs;
      // Links' interface status minutes once complete (the same lateness as `run`; at a stop,
      // those that ended), shipped in the messages of their minute and logged with them.
      const status = parts.linkStatus.close(
        final ? floorTo(nowMs, 60_000) : completeBefore(nowMs, cfg.aggregation.lateness),
      );
      await persist(status);
      await shipper.flush();
      await wal.settle((m) => shipper.holds(m));
    };
    const sink: RunSink = {
      handOver(nowMs, final) {
        busy = busy.then(() => step(nowMs, final));
        return busy;
      },
      // Down while the connection is not ready (at start, or lost since) or the last delivery
      // failed: the connection alone can be up while Redis refuses the writes.
      completeUntil: (nowMs) => scaledOutCompleteUntil(cfg, nowMs),
      health: () =>
        shipper.stats.redisUp && connection.status === "ready" ? [] : [{ name: "redis" }],
      stats: () => ({
        seriesRowsWritten: 0,
        storeErrors: 0,
        pendingRows: shipper.stats.bufferedRows,
        latePartials: 0,
        queue: shipper.stats,
        wal: walSummary(wal.stats()),
      }),
      persist: () => persist(),
      persistEveryMs: cfg.wal.syncInterval,
      async close() {
        clearTimeout(notReady);
        await shipper.stop(5000);
        await wal.settle((m) => shipper.holds(m));
        await wal.close();
        sharing.close();
        // BullMQ's close waits for a connection that may never come: bounded.
        await Promise.race([
          queue.close().catch(() => {}),
          new Promise((r) => setTimeout(r, 2000).unref()),
        ]);
        connection.disconnect();
        subscriber.disconnect();
        spoolLock.release();
        return { errors: [], spooled: null };
      },
      reloadModel(next, model) {
        // Named with the model they were made with, queued before any sum of the new model.
        const drained = parts.reload(next, model);
        take(drained.previous, drained);
      },
    };
    return { parts, sink };
  });
}
