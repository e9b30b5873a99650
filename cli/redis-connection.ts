/**
 * Redis connections for the scaled-out processes (queue.redis): one URL, Redis or Redis Cluster.
 * Three kinds, because BullMQ and our own commands want different failure behaviour:
 * - "producer" (a collector's Queue) and "commands" (the aggregators' Lua scripts) fail at once
 *   while Redis is away (no offline queue), so the caller buffers or retries on its own terms;
 * - "worker" (BullMQ's blocking Worker connection) retries for ever, as BullMQ requires.
 * Reconnection is attempted every second at most, for ever.
 */
import { Cluster, Redis, type RedisOptions } from "ioredis";
import type { Config } from "../schema/config.js";

export type RedisKind = "producer" | "worker" | "commands";

/** The URL with its password replaced, for logs and messages (schema/secrets.ts). */
export { redactUrl } from "../schema/secrets.js";

export function connectRedis(
  queue: NonNullable<Config["queue"]>,
  kind: RedisKind,
  name: string,
): Redis | Cluster {
  const u = new URL(queue.redis.url);
  const options: RedisOptions = {
    connectionName: name,
    ...(u.username === "" ? {} : { username: decodeURIComponent(u.username) }),
    ...(u.password === "" ? {} : { password: decodeURIComponent(u.password) }),
    ...(u.protocol === "rediss:" ? { tls: {} } : {}),
    ...(u.pathname.length > 1 ? { db: Number(u.pathname.slice(1)) } : {}),
    retryStrategy: (times) => Math.min(200 * times, 1000),
    ...(kind === "worker"
      ? { maxRetriesPerRequest: null }
      : { maxRetriesPerRequest: 1, enableOfflineQueue: false }),
  };
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = u.port === "" ? 6379 : Number(u.port);
  if (queue.redis.cluster) {
    return new Cluster([{ host, port }], {
      redisOptions: options,
      clusterRetryStrategy: (times) => Math.min(200 * times, 1000),
      ...(kind === "worker" ? {} : { enableOfflineQueue: false }),
    });
  }
  return new Redis({ ...options, host, port });
}

/** Resolves when the connection is ready, or after `ms` (false): callers go on either way. */
export function whenReady(redis: Redis | Cluster, ms: number): Promise<boolean> {
  if (redis.status === "ready") return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      redis.off("ready", onReady);
      resolve(false);
    }, ms);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    redis.once("ready", onReady);
  });
}

/** BullMQ's key prefix: one hash tag, so that a queue's keys share a Redis Cluster slot. */
export function bullPrefix(prefix: string): string {
  return `{${prefix}}`;
}

export const PARTIALS_QUEUE = "partials";
