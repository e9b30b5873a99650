/**
 * Availability at scale (docs/sla.md "Availability"):
 *
 * 1. Scaled out, the aggregator's cost of the link-status minutes (aggregator/redis-totals.ts):
 *    `--links` access links' closed minutes applied to Redis (one message per minute and shard,
 *    as collectors ship them) and written to a DuckDB store, against the same number of traffic
 *    rows (one per link and minute) through the same code, taking turns for `--rounds` rounds.
 *    A link makes one status row a minute; its traffic makes one row per class and direction per
 *    message (every second): the status rows are a small addition.
 * 2. `GET /api/v1/sla/breaches`' outages: `--customers` customers of one link each, a day of
 *    1-minute link-status rows, a 10-minute down period on every `--down-every`th link; the
 *    endpoint's time for the day (ms, median of 5) and the outages it lists (checked).
 *
 *   npm run build && nice -n -20 node dist/bench/link-status-scale.js --links 20000 --minutes 5
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { pino } from "pino";
import { applyMessage, defineTotalsCommands, writeDirty } from "../aggregator/redis-totals.js";
import { buildCustomerModel } from "../collector/classify/customer-model.js";
import { validateConfig } from "../config/load-config.js";
import { createSlaEndpoints } from "../query/api/sla-endpoints.js";
import {
  PARTIALS_MESSAGE_VERSION,
  type PartialsMessage,
  shardOf,
} from "../schema/partials-message.js";
import type { LinkStatusRow, SeriesStore } from "../schema/series-store.js";
import { linkStatusRows } from "../sla/link-status.js";
import { createDuckDbStore } from "../store/duckdb-store.js";
import { createInfluxStore } from "../store/influx-store.js";
import { influxql, startInfluxd, startRedis } from "./servers.js";

const MINUTE = 60_000;
const SHARDS = 16;
/** A fixed day far from the real clock. */
const T0 = Date.UTC(2031, 0, 6);

const { values } = parseArgs({
  options: {
    links: { type: "string", default: "20000" },
    minutes: { type: "string", default: "5" },
    rounds: { type: "string", default: "2" },
    customers: { type: "string", default: "500" },
    "down-every": { type: "string", default: "10" },
    store: { type: "string", default: "duckdb" },
  },
});
const LINKS = Number(values.links);
const MINUTES = Number(values.minutes);
const ROUNDS = Number(values.rounds);
const CUSTOMERS = Number(values.customers);
const DOWN_EVERY = Number(values["down-every"]);

const customerOf = (k: number) => `c${String(k).padStart(6, "0")}`;

/** One message per minute and shard, each link's row of that minute. */
function messages(kind: "status" | "traffic", round: number): PartialsMessage[] {
  const out: PartialsMessage[] = [];
  for (let m = 0; m < MINUTES; m++) {
    const startMs = T0 + (round * MINUTES + m) * MINUTE;
    const byShard = new Map<number, PartialsMessage>();
    for (let k = 0; k < LINKS; k++) {
      const customer = customerOf(k);
      const shard = shardOf(customer, SHARDS);
      let msg = byShard.get(shard);
      if (msg === undefined) {
        msg = {
          v: PARTIALS_MESSAGE_VERSION,
          id: `${kind}.${round}.${m}.${shard}`,
          collector: "bench",
          startMs,
          shard,
          traffic: [],
          responses: [],
          ...(kind === "status" ? { status: [] } : {}),
        };
        byShard.set(shard, msg);
      }
      if (kind === "status")
        msg.status!.push([customer, "s", "l", k % 7 === 0 ? 0 : 1, k % 7 === 0 ? 1 : 0]);
      else msg.traffic.push([customer, "s", "l", "web", "in", 1500 + k, 3, 1]);
    }
    out.push(...byShard.values());
  }
  return out;
}

async function aggregatorPart(): Promise<void> {
  const server = await startRedis({ appendfsync: "everysec" });
  const redis = defineTotalsCommands(new Redis({ port: server.port, host: "127.0.0.1" }));
  const dir = await mkdtemp(join(tmpdir(), "ft-bench-status-"));
  const influx = values.store === "influx" ? await startInfluxd() : undefined;
  if (influx !== undefined) await influxql(influx, "CREATE DATABASE bench");
  const store: SeriesStore =
    influx === undefined
      ? createDuckDbStore({ path: join(dir, "s.duckdb") })
      : createInfluxStore(
          validateConfig({
            store: {
              influx: { api: "v1", url: `http://127.0.0.1:${influx.port}`, database: "bench" },
            },
          }).store.influx!,
          { log: pino({ level: "silent" }) },
        );
  await store.start();
  const times: Record<string, { apply: number[]; write: number[] }> = {
    status: { apply: [], write: [] },
    traffic: { apply: [], write: [] },
  };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const kind of round % 2 === 0
        ? (["status", "traffic"] as const)
        : (["traffic", "status"] as const)) {
        const list = messages(kind, round);
        const t0 = performance.now();
        for (const m of list) await applyMessage(redis, "bench", m, 3600);
        const t1 = performance.now();
        for (let shard = 0; shard < SHARDS; shard++) {
          for (;;) {
            const r = await writeDirty(redis, "bench", shard, store, {
              keepSeconds: 3600,
              rollupEveryMs: 0,
              nowMs: Date.now(),
            });
            if (r.periods < 256) break;
          }
        }
        const t2 = performance.now();
        times[kind]!.apply.push(t1 - t0);
        times[kind]!.write.push(t2 - t1);
      }
    }
    // Checked: the stored 5-minute rows of the status kind hold every minute.
    const got = await store.linkStatus({
      customer: customerOf(7),
      fromMs: T0,
      toMs: T0 + 86_400_000,
      level: "1d",
    });
    if (got[0]?.downMinutes !== MINUTES * ROUNDS)
      throw new Error(`status rows lost: ${JSON.stringify(got)}`);
    const rows = LINKS * MINUTES;
    for (const [kind, t] of Object.entries(times)) {
      const apply = t.apply.reduce((a, b) => a + b, 0);
      const write = t.write.reduce((a, b) => a + b, 0);
      console.log(
        `${kind}: ${rows} rows a round × ${ROUNDS}; apply ${Math.round((rows * ROUNDS * 1000) / apply)} rows/s, ` +
          `write (4 levels) ${Math.round((rows * ROUNDS * 1000) / write)} rows/s; per round apply ${t.apply.map((x) => Math.round(x)).join("/")} ms, write ${t.write.map((x) => Math.round(x)).join("/")} ms`,
      );
    }
  } finally {
    redis.disconnect();
    await store.stop();
    await rm(dir, { recursive: true, force: true });
    await server.close();
    await influx?.close();
  }
}

async function breachesPart(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "ft-bench-breaches-"));
  const store = createDuckDbStore({ path: join(dir, "s.duckdb") });
  await store.start();
  try {
    const cfg = validateConfig({
      customers: Array.from({ length: CUSTOMERS }, (_, k) => ({
        id: customerOf(k),
        name: customerOf(k),
        sites: [{ id: "s", links: [{ id: "l", prefixes: [`10.${k >> 8}.${k & 255}.0/24`] }] }],
      })),
    });
    const t0 = performance.now();
    let downLinks = 0;
    for (let k = 0; k < CUSTOMERS; k++) {
      const down = k % DOWN_EVERY === 0;
      if (down) downLinks++;
      const rows: LinkStatusRow[] = [];
      for (let m = 0; m < 1440; m++) {
        rows.push(
          ...linkStatusRows(
            { customer: customerOf(k), site: "s", link: "l" },
            T0 + m * MINUTE,
            down && m >= 600 && m < 610,
          ),
        );
      }
      await store.addLinkStatus(rows);
    }
    const written = performance.now() - t0;
    const endpoints = createSlaEndpoints({
      config: cfg,
      model: buildCustomerModel(cfg),
      now: () => T0 + 2 * 86_400_000,
      seriesStore: () => store,
      scopeOf: async () => undefined,
    });
    const search = `from=${new Date(T0).toISOString()}&to=${new Date(T0 + 86_400_000).toISOString()}`;
    const ms: number[] = [];
    let outages = 0;
    for (let i = 0; i < 5; i++) {
      const s = performance.now();
      const r = await endpoints.slaBreaches(search);
      ms.push(performance.now() - s);
      outages = (JSON.parse(r.body) as { outages: unknown[] }).outages.length;
    }
    if (outages !== downLinks) throw new Error(`outages ${outages}, expected ${downLinks}`);
    ms.sort((a, b) => a - b);
    console.log(
      `breaches: ${CUSTOMERS} customers × 1 link × 1440 minutes (written in ${Math.round(written)} ms), ${outages} outages listed; ` +
        `GET /api/v1/sla/breaches for the day: median ${Math.round(ms[2]!)} ms (min ${Math.round(ms[0]!)}, max ${Math.round(ms[4]!)})`,
    );
  } finally {
    await store.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await aggregatorPart();
if (values.store !== "influx") await breachesPart();
