/**
 * Exactly-once totals for the scaled-out aggregator, kept in Redis and written to the store.
 *
 * Applying a message (schema/partials-message.ts) is one Lua script, atomic in Redis: it marks the
 * message id as done (SET NX, kept `doneTtlSeconds`) and only if it was not done already adds
 * every row to the running totals of its period at each level (1 m, 5 m, 1 h, 1 d), and marks
 * those series dirty. So a message delivered twice, retried after a worker was killed, or
 * re-sent by a collector after a lost acknowledgement counts once, and no partial state is ever
 * visible (a killed worker has applied a message wholly or not at all).
 *
 * Writing: the totals are absolute, so the store write (`putSeries`, idempotent) can be repeated
 * as often as needed: a writer that dies half-way, or a store that is down for minutes, leaves
 * the series dirty and the next write puts the same (or newer) totals. A dirty mark carries a
 * version that each apply bumps; the writer clears a mark only if its version did not change
 * while it wrote, so an apply racing a write is never lost.
 *
 * Memory: a period's totals stay in Redis for `keepSeconds` after their last successful write
 * (the window for cheap late data), then expire. Data for a period whose totals expired starts
 * new totals that do not know what the store holds: before their first write the writer reads
 * the stored values once and adds them in (a `base` mark per series says it did), so late data
 * still corrects the stored value instead of replacing it. Totals that are dirty never expire:
 * an outage of the store buffers in Redis, not in the process.
 *
 * Keys: everything of one shard shares the hash tag `{<prefix>:<shard>}`, so that each script
 * touches one Redis Cluster slot and shards spread over the cluster.
 */
import type { Redis } from "ioredis";
import type { PartialsMessage } from "../schema/partials-message.js";
import {
  type LinkStatusRow,
  type ResponseTimeRowDelta,
  type ResponseTimeRowKey,
  responseTimeCounters,
  type SeriesLevel,
  type SeriesRowDelta,
  type SeriesRowKey,
  type SeriesStore,
  type TrafficDirection,
  zeroResponseTimeCounters,
} from "../schema/series-store.js";
import { LEVELS } from "./rollup.js";
import { statusPairs, statusRow, statusSeriesId } from "./status-totals.js";

/** Separates the parts of a series id, and a series id from its counter name. */
const PART = "\x1f";
const FIELD = "\x1e";

const APPLY_LUA = `
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) == false then return 0 end
local n = #ARGV
for l = 0, 3 do
  local acc = KEYS[3 + 2 * l]
  local dirty = KEYS[4 + 2 * l]
  local last = nil
  for i = 6, n, 3 do
    local sid = ARGV[i]
    redis.call('HINCRBYFLOAT', acc, sid .. '${FIELD}' .. ARGV[i + 1], ARGV[i + 2])
    if sid ~= last then
      redis.call('HINCRBY', dirty, sid, 1)
      last = sid
    end
  end
  redis.call('PERSIST', acc)
  redis.call('SADD', KEYS[2], ARGV[2 + l])
end
return 1`;

/** Adds stored values to new totals, once per series (the `base` mark). */
const BASE_LUA = `
local added = 0
local i = 1
while i <= #ARGV do
  local sid = ARGV[i]
  local k = tonumber(ARGV[i + 1])
  local first = redis.call('HSETNX', KEYS[1], sid .. '${FIELD}base', '1') == 1
  for j = 0, k - 1 do
    if first then
      redis.call('HINCRBYFLOAT', KEYS[1], sid .. '${FIELD}' .. ARGV[i + 2 + 2 * j], ARGV[i + 3 + 2 * j])
    end
  end
  if first then added = added + 1 end
  i = i + 2 + 2 * k
end
return added`;

/**
 * Clears the dirty marks written (if unchanged) and notes when the period was written; a period
 * with no marks left expires later.
 */
const CLEAN_LUA = `
redis.call('HSET', KEYS[2], '${FIELD}written', ARGV[3])
for i = 4, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    redis.call('HDEL', KEYS[1], ARGV[i])
  end
end
if redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[3], ARGV[2])
  redis.call('EXPIRE', KEYS[2], ARGV[1])
end
return 1`;

interface TotalsCommands {
  ftApply(...args: Array<string | number>): Promise<number>;
  ftBase(...args: Array<string | number>): Promise<number>;
  ftClean(...args: Array<string | number>): Promise<number>;
}

/** Registers the scripts on a connection (ioredis runs them with EVALSHA, loading on demand). */
export function defineTotalsCommands(redis: Redis): Redis & TotalsCommands {
  redis.defineCommand("ftApply", { lua: APPLY_LUA });
  redis.defineCommand("ftBase", { lua: BASE_LUA });
  redis.defineCommand("ftClean", { lua: CLEAN_LUA });
  return redis as Redis & TotalsCommands;
}

/** The key names of one shard. */
export function shardKeys(prefix: string, shard: number) {
  const tag = `{${prefix}:${shard}}`;
  return {
    done: (id: string) => `${tag}:done:${id}`,
    /** Set of the periods ("<level>:<start>") with dirty series. */
    dirty: `${tag}:dirty`,
    /** Hash: "<series id>\x1e<counter>" → running total. */
    totals: (period: string) => `${tag}:totals:${period}`,
    /** Hash: series id → version of its dirty mark. */
    marks: (period: string) => `${tag}:marks:${period}`,
    writer: `${tag}:writer`,
    /** Hash: "<customer>\x1f<class>" → an open SLA incident (JSON), kept by the shard's writer. */
    slaIncidents: `${tag}:sla-incidents`,
  };
}

export function trafficSeriesId(
  customer: string,
  site: string,
  link: string,
  trafficClass: string,
  direction: TrafficDirection,
): string {
  return ["t", customer, site, link, trafficClass, direction].join(PART);
}

export function responseSeriesId(
  customer: string,
  site: string,
  link: string,
  trafficClass: string,
): string {
  return ["r", customer, site, link, trafficClass].join(PART);
}

/** The periods ("1m:<start>" ...) a partial of `startMs` adds to, finest first. */
export function periodsOf(startMs: number): string[] {
  return LEVELS.map((l) => `${l.name}:${Math.floor(startMs / l.ms) * l.ms}`);
}

/** The arguments of the apply script for one message: (series id, counter, value) triples. */
export function applyTriples(m: PartialsMessage): Array<string | number> {
  const out: Array<string | number> = [];
  const add = (sid: string, name: string, value: number) => {
    if (value !== 0) out.push(sid, name, value);
  };
  for (const [customer, site, link, cls, dir, bytes, packets, flows] of m.traffic) {
    const sid = trafficSeriesId(customer, site, link, cls, dir);
    add(sid, "bytes", bytes);
    add(sid, "packets", packets);
    add(sid, "flows", flows);
  }
  for (const [customer, site, link, cls, counters, bins] of m.responses) {
    const sid = responseSeriesId(customer, site, link, cls);
    responseTimeCounters.forEach((name, k) => {
      add(sid, name, counters[k] ?? 0);
    });
    for (let k = 0; k + 1 < bins.length; k += 2) add(sid, `b${bins[k]}`, bins[k + 1]!);
  }
  for (const [customer, site, link, up, down] of m.status ?? []) {
    const sid = statusSeriesId(customer, site, link);
    add(sid, "up", up);
    add(sid, "down", down);
  }
  return out;
}

/** Applies one message once; false if its id was applied before (a duplicate). */
export async function applyMessage(
  redis: Redis & TotalsCommands,
  prefix: string,
  m: PartialsMessage,
  doneTtlSeconds: number,
): Promise<boolean> {
  const keys = shardKeys(prefix, m.shard);
  const periods = periodsOf(m.startMs);
  const keyList = [
    keys.done(m.id),
    keys.dirty,
    ...periods.flatMap((p) => [keys.totals(p), keys.marks(p)]),
  ];
  const applied = await redis.ftApply(
    keyList.length,
    ...keyList,
    doneTtlSeconds,
    ...periods,
    ...applyTriples(m),
  );
  return applied === 1;
}

interface SeriesTotals {
  sid: string;
  values: Map<string, number>;
  based: boolean;
}

/** Groups a totals hash (HGETALL) by series id. */
export function parseTotals(hash: Record<string, string>): Map<string, SeriesTotals> {
  const out = new Map<string, SeriesTotals>();
  for (const [field, value] of Object.entries(hash)) {
    const cut = field.lastIndexOf(FIELD);
    if (cut < 0) continue;
    const sid = field.slice(0, cut);
    if (sid === "") continue; // the period's own fields (when it was written)
    const name = field.slice(cut + 1);
    let s = out.get(sid);
    if (s === undefined) {
      s = { sid, values: new Map(), based: false };
      out.set(sid, s);
    }
    if (name === "base") s.based = true;
    else s.values.set(name, Number(value));
  }
  return out;
}

function parsePeriod(period: string): { level: SeriesLevel; startMs: number } {
  const [level, start] = period.split(":");
  return { level: level as SeriesLevel, startMs: Number(start) };
}

/** The stored row of one traffic series' totals. */
export function trafficRow(period: string, s: SeriesTotals): SeriesRowDelta {
  const [, customer = "", site = "", link = "", trafficClass = "", direction] = s.sid.split(PART);
  return {
    ...parsePeriod(period),
    customer,
    site,
    link,
    trafficClass,
    direction: direction as TrafficDirection,
    bytes: s.values.get("bytes") ?? 0,
    packets: s.values.get("packets") ?? 0,
    flows: s.values.get("flows") ?? 0,
  };
}

/** The stored row of one response-time series' totals (bins in key order). */
export function responseRow(period: string, s: SeriesTotals): ResponseTimeRowDelta {
  const [, customer = "", site = "", link = "", trafficClass = ""] = s.sid.split(PART);
  const counters = zeroResponseTimeCounters();
  const bins: Array<[number, number]> = [];
  for (const [name, v] of s.values) {
    if (name.startsWith("b")) bins.push([Number(name.slice(1)), v]);
    else if (name in counters) counters[name as keyof typeof counters] = v;
  }
  bins.sort((a, b) => a[0] - b[0]);
  return { ...parsePeriod(period), customer, site, link, trafficClass, ...counters, bins };
}

/** What a series' stored row adds to new totals: (counter, value) pairs. */
function storedPairs(
  r: SeriesRowDelta | ResponseTimeRowDelta | LinkStatusRow,
): Array<[string, number]> {
  if ("upMinutes" in r) return statusPairs(r);
  if ("direction" in r) {
    return [
      ["bytes", r.bytes],
      ["packets", r.packets],
      ["flows", r.flows],
    ];
  }
  return [
    ...responseTimeCounters.map((c): [string, number] => [c, r[c]]),
    ...r.bins.map(([k, c]): [string, number] => [`b${k}`, c]),
  ];
}

function seriesIdOf(r: SeriesRowKey | ResponseTimeRowKey | LinkStatusRow): string {
  if ("upMinutes" in r) return statusSeriesId(r.customer, r.site, r.link);
  return "direction" in r
    ? trafficSeriesId(r.customer, r.site, r.link, r.trafficClass, r.direction)
    : responseSeriesId(r.customer, r.site, r.link, r.trafficClass);
}

/** Periods one `writeDirty` call writes at most (bounds the rows held and sent at once). */
export const MAX_PERIODS_PER_WRITE = 256;

export interface WriteResult {
  periods: number;
  seriesRows: number;
  responseRows: number;
  statusRows: number;
  /** Series whose totals were new and got the stored values added first. */
  based: number;
}

/**
 * Writes the dirty totals of one shard to the store (at most `maxPeriods` periods per call) and
 * clears their marks. Throws if the store refuses: the marks stay, the next call writes again.
 */
export interface WriteOptions {
  /** How long written totals stay in Redis. */
  keepSeconds: number;
  /**
   * The 5m, 1h and 1d totals are rewritten at most this often (0: every call), so that a series'
   * coarse rows are not rewritten each time one of its intervals adds to them.
   */
  rollupEveryMs: number;
  nowMs: number;
  maxPeriods?: number;
  /** Called with the response-time rows once the store took them (SLA alerts). */
  onResponseRows?: (rows: readonly ResponseTimeRowDelta[]) => void;
}

/**
 * Writes the dirty totals of one shard to the store (at most `maxPeriods` periods per call) and
 * clears their marks. Throws if the store refuses: the marks stay, the next call writes again.
 */
export async function writeDirty(
  redis: Redis & TotalsCommands,
  prefix: string,
  shard: number,
  store: SeriesStore,
  o: WriteOptions,
): Promise<WriteResult> {
  const keys = shardKeys(prefix, shard);
  const dirty = (await redis.smembers(keys.dirty)) as string[];
  let due = dirty;
  const coarse = o.rollupEveryMs > 0 ? dirty.filter((p) => !p.startsWith("1m:")) : [];
  if (coarse.length > 0) {
    const pipe = redis.pipeline();
    for (const p of coarse) pipe.hget(keys.totals(p), `${FIELD}written`);
    const replies = (await pipe.exec()) ?? [];
    const wait = new Set(
      coarse.filter((_, k) => o.nowMs - Number(replies[k]?.[1] ?? 0) < o.rollupEveryMs),
    );
    due = dirty.filter((p) => !wait.has(p));
  }
  const periods = due.slice(0, o.maxPeriods ?? MAX_PERIODS_PER_WRITE);
  const result: WriteResult = {
    periods: periods.length,
    seriesRows: 0,
    responseRows: 0,
    statusRows: 0,
    based: 0,
  };
  if (periods.length === 0) return result;
  const read = async () => {
    const pipe = redis.pipeline();
    for (const p of periods) pipe.hgetall(keys.marks(p)).hgetall(keys.totals(p));
    const replies = (await pipe.exec()) ?? [];
    return periods.map((p, k) => {
      const [e1, marks] = replies[2 * k] ?? [];
      const [e2, totals] = replies[2 * k + 1] ?? [];
      if (e1 || e2) throw e1 ?? e2;
      return {
        period: p,
        marks: marks as Record<string, string>,
        totals: parseTotals(totals as Record<string, string>),
      };
    });
  };
  let state = await read();

  // New totals first get what the store already holds for their series (late data after
  // the totals expired): period → series id → stored (counter, value) pairs, none if nothing.
  const need = new Map<string, Map<string, Array<[string, number]>>>();
  const needTraffic: SeriesRowKey[] = [];
  const needResponse: ResponseTimeRowKey[] = [];
  const needStatus: LinkStatusRow[] = [];
  for (const { period, marks, totals } of state) {
    for (const sid of Object.keys(marks)) {
      const s = totals.get(sid);
      if (s === undefined || s.based) continue;
      const bySid = need.get(period) ?? new Map<string, Array<[string, number]>>();
      need.set(period, bySid);
      bySid.set(sid, []);
      if (sid.startsWith("t")) {
        const { bytes: _b, packets: _p, flows: _f, ...key } = trafficRow(period, s);
        needTraffic.push(key);
      } else if (sid.startsWith("s")) {
        needStatus.push(statusRow(period, sid, new Map()));
      } else {
        const { level, startMs, customer, site, link, trafficClass } = responseRow(period, s);
        needResponse.push({ level, startMs, customer, site, link, trafficClass });
      }
    }
  }
  if (need.size > 0) {
    const stored: Array<SeriesRowDelta | ResponseTimeRowDelta | LinkStatusRow> = [
      ...(needTraffic.length > 0 ? await store.readSeries(needTraffic) : []),
      ...(needResponse.length > 0 ? await store.readResponseTimes(needResponse) : []),
      ...(needStatus.length > 0 ? await store.readLinkStatus(needStatus) : []),
    ];
    for (const r of stored) need.get(`${r.level}:${r.startMs}`)?.set(seriesIdOf(r), storedPairs(r));
    for (const [period, bySid] of need) {
      const args: Array<string | number> = [];
      for (const [sid, pairs] of bySid) {
        const kept = pairs.filter(([, v]) => v !== 0);
        args.push(sid, kept.length, ...kept.flat());
      }
      result.based += await redis.ftBase(1, keys.totals(period), ...args);
    }
    state = await read();
  }

  // Only series that know their base are written (one that appeared since the base step waits
  // for the next call), and only their marks are cleared.
  const seriesRows: SeriesRowDelta[] = [];
  const responseRows: ResponseTimeRowDelta[] = [];
  const statusRows: LinkStatusRow[] = [];
  const written = state.map(({ period, marks, totals }) => {
    const pairs: string[] = [];
    for (const [sid, version] of Object.entries(marks)) {
      const s = totals.get(sid);
      if (s === undefined || !s.based) continue;
      if (sid.startsWith("t")) seriesRows.push(trafficRow(period, s));
      else if (sid.startsWith("s")) statusRows.push(statusRow(period, sid, s.values));
      else responseRows.push(responseRow(period, s));
      pairs.push(sid, version);
    }
    return { period, pairs };
  });
  if (seriesRows.length > 0) await store.putSeries(seriesRows);
  if (responseRows.length > 0) {
    await store.putResponseTimes(responseRows);
    o.onResponseRows?.(responseRows);
  }
  if (statusRows.length > 0) await store.putLinkStatus(statusRows);
  result.seriesRows = seriesRows.length;
  result.responseRows = responseRows.length;
  result.statusRows = statusRows.length;

  const pipe = redis.pipeline();
  for (const { period, pairs } of written) {
    (pipe as unknown as TotalsCommands).ftClean(
      3,
      keys.marks(period),
      keys.totals(period),
      keys.dirty,
      o.keepSeconds,
      period,
      o.nowMs,
      ...pairs,
    );
  }
  for (const [err] of (await pipe.exec()) ?? []) if (err) throw err;
  return result;
}
