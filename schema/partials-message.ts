/**
 * The queue contract of the scaled-out setup: what a collector ships to aggregators through
 * BullMQ. One message holds the partial sums of one interval for the customers of one shard,
 * with named keys (customer, site, link, class), so that an aggregator never depends on the
 * collector's config indexes. Never raw flows: a message is per interval and shard, so a
 * collector sends about `queue.shards` small messages per interval, whatever its record rate.
 *
 * Every message has an id unique across collectors and restarts (`<collector>.<epoch>.<seq>`):
 * the aggregator applies a message id once, whatever BullMQ delivers twice. Pure.
 */
import {
  type ResponseTimeCounter,
  responseTimeCounters,
  type TrafficDirection,
} from "./series-store.js";

export const PARTIALS_MESSAGE_VERSION = 1;

/** [customer, site, link, class, direction, bytes, packets, flows] */
export type TrafficPartialRow = [
  string,
  string,
  string,
  string,
  TrafficDirection,
  number,
  number,
  number,
];

/**
 * [customer, site, link, class, counters (in `responseTimeCounters` order), bins as
 * [key, count, key, count, ...]]
 */
export type ResponsePartialRow = [string, string, string, string, number[], number[]];

/**
 * [customer, site, link, up minutes, down minutes]: one access link's verdict of the message's
 * minute (sla/link-status.ts), made by the collector once the minute is complete.
 */
export type StatusPartialRow = [string, string, string, number, number];

export interface PartialsMessage {
  v: typeof PARTIALS_MESSAGE_VERSION;
  /** Unique per message: `<collector id>.<collector start, ms>.<sequence>`. */
  id: string;
  collector: string;
  /** Start of the interval every row belongs to, ms since the epoch. */
  startMs: number;
  shard: number;
  traffic: TrafficPartialRow[];
  responses: ResponsePartialRow[];
  /**
   * Link-status minutes (optional: messages from before it have none), every row of the minute
   * that starts at `startMs`.
   */
  status?: StatusPartialRow[];
}

/** FNV-1a of the customer id: the shard its series live in. Stable across processes. */
export function shardOf(customer: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < customer.length; i++) {
    h ^= customer.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}

/** A message that cannot be applied: it is counted and dropped, never retried. */
export class BadPartialsMessage extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BadPartialsMessage";
  }
}

const isText = (v: unknown): v is string => typeof v === "string" && v.length <= 256;
const isCount = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v >= 0;

/**
 * Checks a message received from the queue (anything could be there: an old version, another
 * program's job). Returns it typed, or throws BadPartialsMessage saying what is wrong.
 */
export function checkPartialsMessage(data: unknown, shards: number): PartialsMessage {
  const bad = (why: string): never => {
    throw new BadPartialsMessage(why);
  };
  if (typeof data !== "object" || data === null) return bad("not an object");
  const m = data as Record<string, unknown>;
  if (m.v !== PARTIALS_MESSAGE_VERSION) return bad(`version ${String(m.v)}: expected 1`);
  if (!isText(m.id) || m.id === "") return bad("id: not a string");
  if (!isText(m.collector)) return bad("collector: not a string");
  if (!Number.isSafeInteger(m.startMs)) return bad("startMs: not whole milliseconds");
  const shard = m.shard;
  if (typeof shard !== "number" || !Number.isInteger(shard) || shard < 0 || shard >= shards) {
    return bad(`shard ${String(shard)}: expected 0 to ${shards - 1} (queue.shards differs?)`);
  }
  if (!Array.isArray(m.traffic) || !Array.isArray(m.responses)) {
    return bad("traffic and responses must be arrays");
  }
  m.traffic.forEach((row: unknown, i) => {
    const r = row as unknown[];
    if (
      !Array.isArray(r) ||
      r.length !== 8 ||
      !r.slice(0, 4).every(isText) ||
      (r[4] !== "in" && r[4] !== "out") ||
      !r.slice(5).every(isCount)
    ) {
      bad(`traffic[${i}]: expected [customer, site, link, class, in|out, bytes, packets, flows]`);
    }
    if (shardOf(r[0] as string, shards) !== shard) bad(`traffic[${i}]: customer not in shard`);
  });
  m.responses.forEach((row: unknown, i) => {
    const r = row as unknown[];
    if (
      !Array.isArray(r) ||
      r.length !== 6 ||
      !r.slice(0, 4).every(isText) ||
      !Array.isArray(r[4]) ||
      !countersLengthOk(r[4].length) ||
      !r[4].every(isCount) ||
      !Array.isArray(r[5]) ||
      r[5].length % 2 !== 0 ||
      !r[5].every((v, k) => (k % 2 === 0 ? Number.isSafeInteger(v) : isCount(v)))
    ) {
      bad(`responses[${i}]: expected [customer, site, link, class, counters, bins]`);
    }
    if (shardOf(r[0] as string, shards) !== shard) bad(`responses[${i}]: customer not in shard`);
  });
  if (m.status !== undefined) {
    if (!Array.isArray(m.status)) return bad("status must be an array");
    if ((m.startMs as number) % 60_000 !== 0) bad("status: startMs must be a whole minute");
    m.status.forEach((row: unknown, i) => {
      const r = row as unknown[];
      if (
        !Array.isArray(r) ||
        r.length !== 5 ||
        !r.slice(0, 3).every(isText) ||
        !r.slice(3).every((v) => v === 0 || v === 1) ||
        (r[3] as number) + (r[4] as number) !== 1
      ) {
        bad(`status[${i}]: expected [customer, site, link, up 0|1, down 0|1], one of them 1`);
      }
      if (shardOf(r[0] as string, shards) !== shard) bad(`status[${i}]: customer not in shard`);
    });
  }
  return data as PartialsMessage;
}

/**
 * A response row's counters: every one of `responseTimeCounters`, or all but the last
 * (`estimated`, added later: a message or log from before it reads it as 0).
 */
export function countersLengthOk(n: number): boolean {
  return n === responseTimeCounters.length || n === responseTimeCounters.length - 1;
}

/** The counters of a response row by name. */
export function responseCounters(row: ResponsePartialRow): Record<ResponseTimeCounter, number> {
  const out = {} as Record<ResponseTimeCounter, number>;
  responseTimeCounters.forEach((name, k) => {
    out[name] = row[4][k] ?? 0;
  });
  return out;
}
