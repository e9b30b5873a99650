/**
 * The InfluxDB store against real servers started by the test harness: the contract's
 * conformance suite on influxd 1.6.7 (v1 API), the v2 write path against VictoriaMetrics (read
 * back with VictoriaMetrics' own export API), and the failures a deployment meets.
 */

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { validateConfig } from "../config/load-config.js";
import type { InfluxConfig } from "../schema/config.js";
import { isFlowtallyError } from "../schema/errors.js";
import {
  type ResponseTimeRowDelta,
  type SeriesRowDelta,
  type SeriesStore,
  zeroResponseTimeCounters,
} from "../schema/series-store.js";
import type { LevelLookup } from "../sla/config-levels.js";
import { describeLinkStatusConformance } from "../test/support/link-status-conformance.js";
import { captureLog } from "../test/support/log-capture.js";
import {
  freePort,
  influxql,
  startInfluxd,
  startVictoriaMetrics,
  type TestServer,
} from "../test/support/servers.js";
import { describeSlaConformance } from "../test/support/sla-conformance.js";
import {
  atAllLevels,
  CALENDAR_T0S,
  describeStoreConformance,
  isoDay,
  key,
  T0,
} from "../test/support/store-conformance.js";
import { createInfluxStore } from "./influx-store.js";

const DAY = 86_400_000;
const DEFAULT_T0 = T0;

const { log, lines: logLines } = captureLog();

/** A store config as `flowtally` parses it from a file. */
function influxConfig(influx: Record<string, unknown>): InfluxConfig {
  return validateConfig({ store: { influx: { timeout: "5s", ...influx } } }).store.influx!;
}

async function failureOf(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error("expected a failure");
    },
    (e: unknown) => e as Error,
  );
}

let influxd: TestServer;
let databases = 0;
const started: SeriesStore[] = [];

beforeAll(async () => {
  influxd = await startInfluxd();
}, 60_000);

afterAll(async () => {
  await influxd?.close();
});

afterEach(async () => {
  for (const s of started.splice(0)) await s.stop();
});

/** A started v1 store on a new database of the test server. */
async function openV1(
  extra: Record<string, unknown> = {},
  slaLevel?: LevelLookup,
): Promise<SeriesStore> {
  const database = `flowtally_${++databases}`;
  await influxql(influxd, `CREATE DATABASE ${database}`);
  const store = createInfluxStore(
    influxConfig({ api: "v1", url: `http://127.0.0.1:${influxd.port}`, database, ...extra }),
    { log, ...(slaLevel === undefined ? {} : { slaLevel }) },
  );
  await store.start();
  started.push(store);
  return store;
}

// Read-modify-write over HTTP is slower than DuckDB's upsert: the random case uses fewer deltas
// (the same generator and checks).
describeStoreConformance("InfluxDB v1 store (influxd 1.6.7)", {
  open: () => openV1(),
  randomDeltas: 10_000,
});
for (const t0 of Object.values(CALENDAR_T0S)) {
  describeStoreConformance("InfluxDB v1 store (influxd 1.6.7)", {
    open: () => openV1(),
    t0,
    randomDeltas: 1000,
  });
}

for (const t0 of [DEFAULT_T0, CALENDAR_T0S.past, CALENDAR_T0S.y2100]) {
  describeSlaConformance("InfluxDB v1 store (influxd 1.6.7)", {
    open: (slaLevel) => openV1({}, slaLevel),
    t0,
  });
}

describeLinkStatusConformance("InfluxDB v1 store (influxd 1.6.7)", {
  open: () => openV1({}),
  t0: DEFAULT_T0,
});

describe("createInfluxStore (v1)", () => {
  it("refuses what line protocol cannot carry, naming the row, and writes nothing", async () => {
    const store = await openV1();
    const good = atAllLevels(key("acme", "in"), T0, 1, 1, 1);
    await expect(store.addDeltas([...good, { ...good[0]!, site: "two\nlines" }])).rejects.toThrow(
      /addDeltas: rows\[4\]: .*newline or a backslash/,
    );
    await expect(store.putSeries([{ ...good[0]!, link: "back\\slash" }])).rejects.toThrow(
      /putSeries: rows\[0\]/,
    );
    expect(await store.overview({ fromMs: T0, toMs: T0 + DAY })).toEqual([]);
  });

  it("writes each level into its retention policy and reads it from there", async () => {
    const database = `flowtally_${++databases}`;
    await influxql(influxd, `CREATE DATABASE ${database}`);
    await influxql(
      influxd,
      `CREATE RETENTION POLICY "minutes" ON ${database} DURATION 30d REPLICATION 1`,
    );
    const url = `http://127.0.0.1:${influxd.port}/`;
    const open = async (retentionPolicy: unknown) => {
      const store = createInfluxStore(influxConfig({ api: "v1", url, database, retentionPolicy }), {
        log,
      });
      await store.start();
      started.push(store);
      return store;
    };
    const perLevel = await open({ "1m": "minutes", "5m": "minutes" });
    // Recent enough for a 30-day policy.
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const day = Math.floor(minute / DAY) * DAY;
    await perLevel.addDeltas(atAllLevels(key("acme", "in"), minute, 5, 1, 1));
    const count = async (from: string) =>
      (await influxql(influxd, `SELECT sum(bytes) FROM ${from}`)).results?.[0]?.series?.[0]
        ?.values[0]?.[1];
    expect(await count(`"${database}"."minutes"."traffic_1m"`)).toBe(5);
    expect(await count(`"${database}"."autogen"."traffic_1m"`)).toBeUndefined();
    expect(await count(`"${database}"."autogen"."traffic_1d"`)).toBe(5);
    const q = { customer: "acme", fromMs: day, toMs: day + DAY };
    expect(await perLevel.samples({ ...q, level: "1m" })).toEqual([
      { timeMs: minute, bytesIn: 5, bytesOut: 0 },
    ]);
    expect((await perLevel.traffic({ ...q, level: "1d" })).map((p) => p.bytesIn)).toEqual([5]);
    expect((await perLevel.overview(q))[0]?.bytesIn).toBe(5);
    // One policy for every level.
    const one = await open("minutes");
    await one.putSeries([
      { ...key("beta", "in"), level: "1d", startMs: day, bytes: 9, packets: 1, flows: 1 },
    ]);
    expect(await count(`"${database}"."minutes"."traffic_1d"`)).toBe(9);
    expect((await one.overview({ ...q, customers: ["beta"] }))[0]?.bytesIn).toBe(9);
  });

  it("reports an unreachable server as FT_STORE_UNREACHABLE naming the URL", async () => {
    const port = await freePort();
    const store = createInfluxStore(
      influxConfig({
        api: "v1",
        url: `http://127.0.0.1:${port}`,
        database: "x",
        username: "u",
        password: "s3cret-pass",
      }),
      { log },
    );
    const e = await failureOf(store.start());
    expect(isFlowtallyError(e, "FT_STORE_UNREACHABLE")).toBe(true);
    expect(e.message).toContain(`http://127.0.0.1:${port}: InfluxDB could not be reached`);
    expect(e.message).toMatch(/ECONNREFUSED/);
    expect(e.message).not.toContain("s3cret-pass");
  });

  it("reports InfluxDB's error body: a database that does not exist, a field type conflict", async () => {
    const url = `http://127.0.0.1:${influxd.port}`;
    const missing = createInfluxStore(influxConfig({ api: "v1", url, database: "nope" }), { log });
    const e = await failureOf(missing.start());
    expect(isFlowtallyError(e, "FT_STORE_QUERY")).toBe(true);
    expect(e.message).toBe(`${url}: InfluxDB refused a query: database not found: nope`);

    const store = await openV1();
    const row: SeriesRowDelta = {
      ...key("acme", "in"),
      level: "1m",
      startMs: T0,
      bytes: 1,
      packets: 1,
      flows: 1,
    };
    await store.putSeries([row]);
    // Another writer made `bytes` an integer field in a new shard (a day later).
    const database = `flowtally_${databases}`;
    const res = await fetch(`${url}/write?db=${database}&precision=ms`, {
      method: "POST",
      body: `traffic_1m,customer=acme bytes=1i ${T0 + 7 * DAY}`,
    });
    expect(res.status).toBe(204);
    const w = await failureOf(store.putSeries([{ ...row, startMs: T0 + 7 * DAY }]));
    expect(isFlowtallyError(w, "FT_STORE_WRITE")).toBe(true);
    expect(w.message).toMatch(
      new RegExp(`^${url}: InfluxDB refused a write: HTTP 400: .*field type conflict`),
    );

    // The database dropped under a started store: reads and writes say so.
    await influxql(influxd, `DROP DATABASE ${database}`);
    const q = await failureOf(store.overview({ fromMs: T0, toMs: T0 + DAY }));
    expect(isFlowtallyError(q, "FT_STORE_QUERY")).toBe(true);
    expect(q.message).toContain("database not found");
    const w2 = await failureOf(store.putSeries([row]));
    expect(isFlowtallyError(w2, "FT_STORE_WRITE")).toBe(true);
    expect(w2.message).toMatch(/HTTP 404: database not found/);
  });

  it("reports a wrong password or token (401) without repeating it", async () => {
    const secured = await startInfluxd({ auth: true });
    try {
      // With authentication on and no user yet, InfluxDB lets the first admin be created.
      await influxql(
        secured,
        "CREATE USER admin WITH PASSWORD 'right-password' WITH ALL PRIVILEGES",
      );
      const basic = `Basic ${Buffer.from("admin:right-password").toString("base64")}`;
      await influxql(secured, "CREATE DATABASE flowtally", basic);
      const url = `http://127.0.0.1:${secured.port}`;
      const good = createInfluxStore(
        influxConfig({
          api: "v1",
          url,
          database: "flowtally",
          username: "admin",
          password: "right-password",
        }),
        { log },
      );
      await good.start();
      await good.addDeltas(atAllLevels(key("acme", "in"), T0, 7, 1, 1));
      expect((await good.overview({ fromMs: T0, toMs: T0 + DAY }))[0]?.bytesIn).toBe(7);
      await good.stop();

      for (const credentials of [
        { username: "admin", password: "wrong-password" },
        { token: "wrong-token-value" },
        {},
      ]) {
        const store = createInfluxStore(
          influxConfig({ api: "v1", url, database: "flowtally", ...credentials }),
          { log },
        );
        const e = await failureOf(store.start());
        expect(isFlowtallyError(e, "FT_STORE_QUERY"), e.message).toBe(true);
        expect(e.message).toMatch(/HTTP 401 \(check store.influx username\/password or token\)/);
        for (const secret of ["wrong-password", "wrong-token-value", "right-password"]) {
          expect(e.message).not.toContain(secret);
        }
      }
      expect(logLines.join("")).not.toMatch(/wrong-password|wrong-token-value|right-password/);
    } finally {
      await secured.close();
    }
  }, 60_000);
});

// VictoriaMetrics refuses points more than two days ahead of its clock (and drops those older
// than -retentionPeriod, which the harness sets to its longest, 100 years): the v2 path runs at T0
// and at the past date, the one every fixture reaches as the years go by.
for (const T0 of [DEFAULT_T0, CALENDAR_T0S.past]) {
  describe(`createInfluxStore (v2 write path, against VictoriaMetrics), fixtures from ${isoDay(T0)}`, () => {
    let vm: TestServer;

    beforeAll(async () => {
      vm = await startVictoriaMetrics();
    }, 60_000);

    afterAll(async () => {
      await vm?.close();
    });

    function openV2(extra: Record<string, unknown> = {}): SeriesStore {
      return createInfluxStore(
        influxConfig({
          api: "v2",
          url: `http://127.0.0.1:${vm.port}`,
          org: "isp",
          bucket: "flowtally",
          token: "v2-token-secret",
          ...extra,
        }),
        { log },
      );
    }

    interface Exported {
      metric: Record<string, string>;
      values: number[];
      timestamps: number[];
    }

    /** Every sample VictoriaMetrics holds for metrics matching `name` (a regex), by its export API. */
    async function exported(name: string): Promise<Exported[]> {
      // Samples become searchable after VictoriaMetrics flushes its in-memory buffers.
      await fetch(`http://127.0.0.1:${vm.port}/internal/force_flush`);
      const params = new URLSearchParams({
        "match[]": `{__name__=~"${name}"}`,
        start: String((T0 - DAY) / 1000),
        end: String((T0 + 30 * DAY) / 1000),
      });
      const res = await fetch(`http://127.0.0.1:${vm.port}/api/v1/export?${params}`);
      expect(res.status).toBe(200);
      const text = await res.text();
      return text
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as Exported);
    }

    it("writes traffic and response-time points through /api/v2/write with their tags and values", async () => {
      const store = openV2();
      await store.start();
      const hostile = "x' OR '1'='1, a=b";
      const rows: SeriesRowDelta[] = [
        {
          ...key("acme", "in", { site: "hq", link: "fiber", trafficClass: "web" }),
          level: "1m",
          startMs: T0,
          bytes: 2 ** 40 + 1,
          packets: 3,
          flows: 0.5,
        },
        {
          ...key(hostile, "out", { site: "", link: "" }),
          level: "1m",
          startMs: T0 + 60_000,
          bytes: 1500,
          packets: 1,
          flows: 1,
        },
      ];
      // Once: VictoriaMetrics, unlike InfluxDB, keeps both samples of a point written twice.
      await store.putSeries(rows);
      const response: ResponseTimeRowDelta = {
        level: "5m",
        startMs: T0,
        customer: "acme",
        site: "hq",
        link: "fiber",
        trafficClass: "web",
        ...zeroResponseTimeCounters(),
        transactions: 4,
        good: 3,
        totalDelaySumUs: 12_345,
        bins: [
          [-2, 1],
          [517, 3],
        ],
      };
      await store.putResponseTimes([response]);
      await store.stop();

      const bytes = await exportedUntil(() => exported("traffic_1m_bytes"), 2);
      const byCustomer = new Map(bytes.map((s) => [s.metric.customer, s]));
      expect(byCustomer.get("acme")).toEqual({
        metric: {
          __name__: "traffic_1m_bytes",
          customer: "acme",
          site: "hq",
          link: "fiber",
          class: "web",
          direction: "in",
        },
        values: [2 ** 40 + 1],
        timestamps: [T0],
      });
      expect(byCustomer.get(hostile)).toEqual({
        // Empty site and link are left out, as InfluxDB does.
        metric: {
          __name__: "traffic_1m_bytes",
          customer: hostile,
          class: "default",
          direction: "out",
        },
        values: [1500],
        timestamps: [T0 + 60_000],
      });
      const flows = await exported("traffic_1m_flows");
      expect(flows.map((s) => s.values).sort()).toEqual([[0.5], [1]]);
      const rt = await exportedUntil(() => exported("response_5m_.*"), 10);
      const fields = new Map(rt.map((s) => [s.metric.__name__, s.values]));
      expect(fields.get("response_5m_transactions")).toEqual([4]);
      expect(fields.get("response_5m_good")).toEqual([3]);
      expect(fields.get("response_5m_totalDelaySumUs")).toEqual([12_345]);
      expect(fields.get("response_5m_bin_-2")).toEqual([1]);
      expect(fields.get("response_5m_bin_517")).toEqual([3]);
      expect(rt[0]?.metric).toMatchObject({
        customer: "acme",
        site: "hq",
        link: "fiber",
        class: "web",
      });
      expect(rt.every((s) => s.timestamps[0] === T0)).toBe(true);
    });

    it("prunes nothing on v2 and says the bucket's retention applies", async () => {
      const store = openV2();
      await store.start();
      expect(await store.prune({ "1m": T0 })).toEqual({ "1m": 0, "5m": 0, "1h": 0, "1d": 0 });
      expect(logLines.some((l) => l.includes("the bucket's retention period applies"))).toBe(true);
      await store.stop();
    });

    it("retries a write while the server is down, and resolves once it is written", async () => {
      const store = openV2({ maxRetries: 5, minRetryDelay: "200ms", maxRetryTime: "30s" });
      await store.start();
      await vm.stop();
      const row: SeriesRowDelta = {
        ...key("retry", "in"),
        level: "1h",
        startMs: T0,
        bytes: 99,
        packets: 1,
        flows: 1,
      };
      const writing = store.putSeries([row]);
      await new Promise((r) => setTimeout(r, 300));
      await vm.start();
      await writing;
      await store.stop();
      const got = await exportedUntil(() => exported("traffic_1h_bytes"), 1);
      expect(got.map((s) => [s.metric.customer, s.values])).toEqual([["retry", [99]]]);
    }, 60_000);

    it("fails with FT_STORE_UNREACHABLE once the retries are spent, without the token in the message", async () => {
      const port = await freePort();
      const down = createInfluxStore(
        influxConfig({
          api: "v2",
          url: `http://127.0.0.1:${port}`,
          org: "o",
          bucket: "b",
          token: "tok-secret",
          maxRetries: 0,
        }),
        { log },
      );
      expect(isFlowtallyError(await failureOf(down.start()), "FT_STORE_UNREACHABLE")).toBe(true);

      const store = openV2({ maxRetries: 1, minRetryDelay: "100ms" });
      await store.start();
      await vm.stop();
      const e = await failureOf(
        store.putSeries([
          { ...key("x", "in"), level: "1m", startMs: T0, bytes: 1, packets: 1, flows: 1 },
        ]),
      );
      expect(isFlowtallyError(e, "FT_STORE_UNREACHABLE"), e.message).toBe(true);
      expect(e.message).toContain(`http://127.0.0.1:${vm.port}: InfluxDB could not be reached`);
      expect(e.message).not.toContain("v2-token-secret");
      await vm.start();
      await store.stop();
      expect(logLines.join("")).not.toContain("v2-token-secret");
    }, 60_000);

    it("reports a refused v2 write as FT_STORE_WRITE with the status and body (1.6 has no /api/v2)", async () => {
      const url = `http://127.0.0.1:${influxd.port}`;
      const store = createInfluxStore(
        influxConfig({ api: "v2", url, org: "o", bucket: "b", token: "v2-token-secret" }),
        { log },
      );
      await store.start();
      const e = await failureOf(
        store.putSeries([
          { ...key("x", "in"), level: "1m", startMs: T0, bytes: 1, packets: 1, flows: 1 },
        ]),
      );
      expect(isFlowtallyError(e, "FT_STORE_WRITE"), e.message).toBe(true);
      expect(e.message).toMatch(new RegExp(`^${url}: InfluxDB refused a write: HTTP 404`));
      expect(e.message).not.toContain("v2-token-secret");
      await store.stop();
    });

    /** Polls `read` until it returns at least `n` series (VictoriaMetrics indexes asynchronously). */
    async function exportedUntil(read: () => Promise<Exported[]>, n: number): Promise<Exported[]> {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const got = await read();
        if (got.length >= n || Date.now() > deadline) return got;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  });
}

describe("SLA series and per-level retention policies (v1)", () => {
  it("sla_1m goes to the 5m level's policy: minutes are kept as long as the 5-minute rows", async () => {
    const database = `flowtally_${++databases}`;
    await influxql(influxd, `CREATE DATABASE ${database}`);
    await influxql(
      influxd,
      `CREATE RETENTION POLICY "short" ON ${database} DURATION INF REPLICATION 1`,
    );
    await influxql(
      influxd,
      `CREATE RETENTION POLICY "long" ON ${database} DURATION INF REPLICATION 1`,
    );
    const store = createInfluxStore(
      influxConfig({
        api: "v1",
        url: `http://127.0.0.1:${influxd.port}`,
        database,
        retentionPolicy: { "1m": "short", "5m": "long" },
      }),
      { log, slaLevel: () => ({ thresholdMs: 100, targetPercent: 90 }) },
    );
    await store.start();
    started.push(store);
    const row = {
      level: "1m" as const,
      startMs: T0,
      customer: "acme",
      site: "s1",
      link: "l1",
      trafficClass: "web",
      transactions: 10,
      good: 9,
      retransmissions: 0,
      networkDelaySumUs: 0,
      networkDelayCount: 0,
      serverDelaySumUs: 0,
      serverDelayCount: 0,
      totalDelaySumUs: 0,
      estimated: 0,
      bins: [] as Array<[number, number]>,
    };
    await store.addResponseTimes([row]);
    await store.addResponseTimes([{ ...row, transactions: 10, good: 0 }]); // 9 of 20: a breach
    const sum = async (from: string) =>
      (await influxql(influxd, `SELECT sum("breachMinutes") FROM ${from}`)).results?.[0]
        ?.series?.[0]?.values[0]?.[1];
    expect(await sum(`"${database}"."long"."sla_1m"`)).toBe(1);
    expect(await sum(`"${database}"."short"."sla_1m"`)).toBeUndefined();
    expect(await sum(`"${database}"."long"."sla_5m"`)).toBe(1);
    const read = await store.slaRows({ fromMs: T0, toMs: T0 + DAY, level: "1m" });
    expect(read.map((r) => [r.transactions, r.good, r.breachMinutes, r.targetPercent])).toEqual([
      [20, 9, 1, 90],
    ]);
  });
});
