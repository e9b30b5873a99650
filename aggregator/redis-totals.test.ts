import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  PARTIALS_MESSAGE_VERSION,
  type PartialsMessage,
  shardOf,
} from "../schema/partials-message.js";
import type { SeriesStore } from "../schema/series-store.js";
import { createDuckDbStore } from "../store/duckdb-store.js";
import { startRedis, type TestServer } from "../test/support/servers.js";
import { applyMessage, defineTotalsCommands, shardKeys, writeDirty } from "./redis-totals.js";

const SHARDS = 4;
const PREFIX = "fttest";
const T0 = Date.UTC(2026, 10, 1, 12, 0, 0);

let server: TestServer;
let redis: ReturnType<typeof defineTotalsCommands>;
let store: SeriesStore;
let dir: string;

beforeAll(async () => {
  server = await startRedis();
  redis = defineTotalsCommands(new Redis({ port: server.port, host: "127.0.0.1" }));
});

afterAll(async () => {
  redis.disconnect();
  await server.close();
});

beforeEach(async (ctx) => {
  await redis.flushall();
  dir = await mkdtemp(join(tmpdir(), "ft-totals-"));
  store = createDuckDbStore({ path: join(dir, "s.duckdb") });
  await store.start();
  ctx.onTestFinished(async () => {
    await store.stop();
    await rm(dir, { recursive: true, force: true });
  });
});

/** Write options: every level at every call unless `rollupEveryMs` says otherwise. */
function opts(keepSeconds: number, rollupEveryMs = 0, nowMs = Date.now()) {
  return { keepSeconds, rollupEveryMs, nowMs };
}

let seq = 0;
function message(customer: string, startMs: number, bytes: number, packets = 1): PartialsMessage {
  return {
    v: PARTIALS_MESSAGE_VERSION,
    id: `c1.1.${seq++}`,
    collector: "c1",
    startMs,
    shard: shardOf(customer, SHARDS),
    traffic: [[customer, "s1", "l1", "web", "in", bytes, packets, 1]],
    responses: [],
  };
}

async function writeAll(keepSeconds = 3600) {
  let rows = 0;
  for (let shard = 0; shard < SHARDS; shard++) {
    rows += (await writeDirty(redis, PREFIX, shard, store, opts(keepSeconds))).seriesRows;
  }
  return rows;
}

async function bytesIn(customer: string, fromMs: number, toMs: number) {
  const rows = await store.overview({ fromMs, toMs, customers: [customer] });
  return rows[0]?.bytesIn ?? 0;
}

describe("Redis totals", () => {
  it("applies a message once, however often it is delivered, at every level", async () => {
    const m = message("acme", T0 + 10_000, 3_000_000_000, 7);
    expect(await applyMessage(redis, PREFIX, m, 3600)).toBe(true);
    expect(await applyMessage(redis, PREFIX, m, 3600)).toBe(false);
    await applyMessage(redis, PREFIX, message("acme", T0 + 70_000, 5), 3600);
    // Two 1-minute rows, one each of 5m, 1h and 1d.
    expect(await writeAll()).toBe(5);
    expect(await bytesIn("acme", T0, T0 + 120_000)).toBe(3_000_000_005);
    const day = await store.readSeries([
      {
        customer: "acme",
        site: "s1",
        link: "l1",
        trafficClass: "web",
        direction: "in",
        level: "1d",
        startMs: Date.UTC(2026, 10, 1),
      },
    ]);
    expect(day.map((r) => [r.bytes, r.packets, r.flows])).toEqual([[3_000_000_005, 8, 2]]);
    // Written: nothing dirty is left, and writing again writes nothing.
    expect(await writeAll()).toBe(0);
  });

  it("writes the same totals again after a failed store write, and loses no apply racing it", async () => {
    await applyMessage(redis, PREFIX, message("acme", T0, 100), 3600);
    const failing: SeriesStore = {
      ...store,
      putSeries: async () => {
        throw new Error("store down");
      },
    };
    const shard = shardOf("acme", SHARDS);
    await expect(writeDirty(redis, PREFIX, shard, failing, opts(3600))).rejects.toThrow(
      "store down",
    );
    // An apply that lands while a write is in flight stays dirty for the next write.
    const racing: SeriesStore = {
      ...store,
      putSeries: async (rows) => {
        await applyMessage(redis, PREFIX, message("acme", T0, 11), 3600);
        await store.putSeries(rows);
      },
    };
    await writeDirty(redis, PREFIX, shard, racing, opts(3600));
    expect(await bytesIn("acme", T0, T0 + 60_000)).toBe(100);
    await writeAll();
    expect(await bytesIn("acme", T0, T0 + 60_000)).toBe(111);
  });

  it("writes a series that appeared during the base step only once it knows its base", async () => {
    await applyMessage(redis, PREFIX, message("acme", T0, 100), 3600);
    // While the writer reads the stored values, a new series shows up in the same periods.
    const racing: SeriesStore = {
      ...store,
      readSeries: async (keys) => {
        await applyMessage(
          redis,
          PREFIX,
          { ...message("acme", T0, 7), traffic: [["acme", "s1", "l1", "web", "out", 7, 1, 1]] },
          3600,
        );
        return store.readSeries(keys);
      },
    };
    await writeDirty(redis, PREFIX, shardOf("acme", SHARDS), racing, opts(3600));
    await writeAll();
    await writeAll();
    const rows = await store.overview({ fromMs: 0, toMs: T0 + 86_400_000, customers: ["acme"] });
    expect(rows.map((r) => [r.bytesIn, r.bytesOut])).toEqual([[100, 7]]);
  });

  it("rewrites the 5m, 1h and 1d totals at most every rollupEveryMs, the 1m ones every call", async () => {
    const shard = shardOf("acme", SHARDS);
    const t = Date.UTC(2026, 10, 22, 10);
    const write = (nowMs: number) =>
      writeDirty(redis, PREFIX, shard, store, opts(3600, 30_000, nowMs));
    await applyMessage(redis, PREFIX, message("acme", T0, 100), 3600);
    expect((await write(t)).seriesRows).toBe(4); // new periods: all four levels at once
    await applyMessage(redis, PREFIX, message("acme", T0 + 60_000, 5), 3600);
    expect((await write(t + 1000)).seriesRows).toBe(1); // the new minute only
    const day = {
      customer: "acme",
      fromMs: Date.UTC(2026, 10, 1),
      toMs: Date.UTC(2026, 10, 2),
      level: "1d" as const,
    };
    expect((await store.traffic(day))[0]?.bytesIn).toBe(100);
    expect((await write(t + 31_000)).seriesRows).toBe(3); // 5m, 1h, 1d caught up
    expect((await store.traffic(day))[0]?.bytesIn).toBe(105);
    expect((await write(t + 62_000)).seriesRows).toBe(0);
  });

  it("adds late data to the stored value after the totals expired", async () => {
    await applyMessage(redis, PREFIX, message("acme", T0, 1000), 3600);
    await writeAll(1);
    const keys = shardKeys(PREFIX, shardOf("acme", SHARDS));
    expect(await redis.ttl(keys.totals(`1m:${T0}`))).toBeGreaterThan(0);
    await redis.del(keys.totals(`1m:${T0}`), keys.totals(`1d:${Date.UTC(2026, 10, 1)}`));
    await applyMessage(redis, PREFIX, message("acme", T0 + 20_000, 24), 3600);
    await writeAll();
    expect(await bytesIn("acme", T0, T0 + 60_000)).toBe(1024);
    expect(
      (await store.traffic({ customer: "acme", fromMs: T0, toMs: T0 + 60_000, level: "1d" }))[0],
    ).toBeUndefined();
    expect(
      (
        await store.traffic({
          customer: "acme",
          fromMs: Date.UTC(2026, 10, 1),
          toMs: Date.UTC(2026, 10, 2),
          level: "1d",
        })
      )[0]?.bytesIn,
    ).toBe(1024);
  });

  it("carries link-status minutes once per message id, summed into 5m, 1h and 1d, late ones onto the stored value", async () => {
    const status = (id: string, startMs: number, rows: Array<[string, number, number]>) => ({
      ...message("acme", startMs, 0),
      id,
      traffic: [],
      status: rows.map(([link, up, down]): [string, string, string, number, number] => [
        "acme",
        "s1",
        link,
        up,
        down,
      ]),
    });
    // Minutes 0–3 of l1: up, down, down, up (one message each; minute 1 delivered twice); l2 up.
    expect(
      await applyMessage(
        redis,
        PREFIX,
        status("st.0", T0, [
          ["l1", 1, 0],
          ["l2", 1, 0],
        ]),
        3600,
      ),
    ).toBe(true);
    const down = status("st.1", T0 + 60_000, [["l1", 0, 1]]);
    expect(await applyMessage(redis, PREFIX, down, 3600)).toBe(true);
    expect(await applyMessage(redis, PREFIX, down, 3600)).toBe(false);
    await applyMessage(redis, PREFIX, status("st.2", T0 + 120_000, [["l1", 0, 1]]), 3600);
    await applyMessage(redis, PREFIX, status("st.3", T0 + 180_000, [["l1", 1, 0]]), 3600);
    await writeAll(1);
    const range = { customer: "acme", fromMs: T0, toMs: T0 + 86_400_000 };
    const short = (
      rows: Array<{ startMs: number; link: string; upMinutes: number; downMinutes: number }>,
    ) => rows.map((r) => [(r.startMs - T0) / 60_000, r.link, r.upMinutes, r.downMinutes]);
    expect(short(await store.linkStatus({ ...range, level: "1m", link: "l1" }))).toEqual([
      [0, "l1", 1, 0],
      [1, "l1", 0, 1],
      [2, "l1", 0, 1],
      [3, "l1", 1, 0],
    ]);
    expect(short(await store.linkStatus({ ...range, level: "5m" }))).toEqual([
      [0, "l1", 2, 2],
      [0, "l2", 1, 0],
    ]);
    // Written again (nothing new): the same rows, not doubled.
    const keys = shardKeys(PREFIX, shardOf("acme", SHARDS));
    await redis.sadd(keys.dirty, `5m:${T0}`);
    await redis.hset(keys.marks(`5m:${T0}`), ["s", "acme", "s1", "l1"].join("\x1f"), "1");
    await writeAll(1);
    expect(short(await store.linkStatus({ ...range, level: "5m", link: "l1" }))).toEqual([
      [0, "l1", 2, 2],
    ]);
    // The 5m and 1h totals expire; a late minute (4, down) adds to what the store holds.
    await redis.del(keys.totals(`5m:${T0}`), keys.totals(`1h:${T0}`));
    await applyMessage(redis, PREFIX, status("st.4", T0 + 240_000, [["l1", 0, 1]]), 3600);
    await writeAll();
    expect(short(await store.linkStatus({ ...range, level: "5m", link: "l1" }))).toEqual([
      [0, "l1", 2, 3],
    ]);
    expect(short(await store.linkStatus({ ...range, level: "1h", link: "l1" }))).toEqual([
      [0, "l1", 2, 3],
    ]);
    expect(
      short(
        await store.linkStatus({ ...range, fromMs: T0 - 720 * 60_000, level: "1d", link: "l1" }),
      ),
    ).toEqual([[-720, "l1", 2, 3]]);
  });

  it("keeps response-time counters and sketch bins exact", async () => {
    const m: PartialsMessage = {
      ...message("acme", T0, 10),
      responses: [["acme", "s1", "l1", "web", [3, 2, 1, 3000, 3, 600, 2, 9000, 1], [5, 1, 9, 2]]],
    };
    await applyMessage(redis, PREFIX, m, 3600);
    await applyMessage(redis, PREFIX, { ...m, id: "other" }, 3600);
    await writeAll();
    const rows = await store.readResponseTimes([
      { customer: "acme", site: "s1", link: "l1", trafficClass: "web", level: "1m", startMs: T0 },
    ]);
    expect(rows).toEqual([
      {
        customer: "acme",
        site: "s1",
        link: "l1",
        trafficClass: "web",
        level: "1m",
        startMs: T0,
        transactions: 6,
        good: 4,
        retransmissions: 2,
        networkDelaySumUs: 6000,
        networkDelayCount: 6,
        serverDelaySumUs: 1200,
        serverDelayCount: 4,
        totalDelaySumUs: 18000,
        estimated: 2,
        bins: [
          [5, 2],
          [9, 4],
        ],
      },
    ]);
  });

  it("keeps 1000 messages over 50 customers exact, with a write every 250 messages", async () => {
    const truth = new Map<string, number>();
    for (let i = 0; i < 1000; i++) {
      const customer = `c${(i * 7919) % 50}`;
      const bytes = 1 + ((i * 104729) % 1_000_000_007);
      truth.set(customer, (truth.get(customer) ?? 0) + bytes);
      await applyMessage(redis, PREFIX, message(customer, T0 + (i % 360) * 10_000, bytes), 3600);
      if (i % 250 === 249) await writeAll();
    }
    await writeAll();
    const rows = await store.overview({ fromMs: T0, toMs: T0 + 3_600_000 });
    expect(new Map(rows.map((r) => [r.customer, r.bytesIn]))).toEqual(truth);
  });
});
