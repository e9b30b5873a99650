/**
 * The Grafana dashboards of docs/grafana/ against real data: a day of known traffic and TCP
 * response times (2026-11-22, generated from a seed) goes through flowtally's own rollups and
 * InfluxDB store into an influxd started by the harness; then every query of every panel and
 * variable of flowtally-traffic.json is interpolated as Grafana does it (test/support/grafana.ts)
 * and run, and the answers are compared with figures computed here from the generated ground
 * truth, never from the store. A query that names a wrong measurement, field or tag, or a macro
 * Grafana does not know, fails. The Prometheus dashboard's metric and label names are checked
 * against the exposition flowtally's /metrics writes. The provisioning files are checked to
 * name what the dashboards use.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { ResponseRollup } from "../../aggregator/response-rollup.js";
import { Rollup } from "../../aggregator/rollup.js";
import { nameDeltas, nameResponseDeltas } from "../../aggregator/series-names.js";
import type { PartialSum } from "../../collector/aggregate/partial-sums.js";
import type { ResponsePartial } from "../../collector/aggregate/response-sums.js";
import { buildCustomerModel } from "../../collector/classify/customer-model.js";
import { validateConfig } from "../../config/load-config.js";
import { createMetrics } from "../../query/metrics.js";
import type { SeriesStore } from "../../schema/series-store.js";
import { createInfluxStore } from "../../store/influx-store.js";
import {
  type GrafanaRequest,
  interpolateInfluxQL,
  panelIntervalMs,
} from "../../test/support/grafana.js";
import { captureLog } from "../../test/support/log-capture.js";
import { influxql, startInfluxd, type TestServer } from "../../test/support/servers.js";

const here = (name: string) => new URL(name, import.meta.url);
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY0 = Date.UTC(2026, 10, 22);
const DB = "flowtally";

interface Target {
  refId: string;
  rawQuery?: boolean;
  query?: string;
  resultFormat?: string;
  datasource?: { type?: string; uid?: string };
  expr?: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  interval?: string;
  datasource?: { type: string; uid: string };
  targets?: Target[];
  gridPos: { x: number; y: number; w: number; h: number };
  panels?: Panel[];
}
interface Variable {
  type: string;
  name: string;
  query: string | { query: string };
  datasource?: { type: string; uid: string };
  multi?: boolean;
  includeAll?: boolean;
  current?: { text?: string; value?: string };
  options?: Array<{ text: string; value: string }>;
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
  time: { from: string; to: string };
}

const traffic = JSON.parse(readFileSync(here("flowtally-traffic.json"), "utf8")) as Dashboard;
const collectors = JSON.parse(readFileSync(here("flowtally-collectors.json"), "utf8")) as Dashboard;
const datasources = parseYaml(
  readFileSync(here("provisioning/datasources/flowtally.yaml"), "utf8"),
) as {
  apiVersion: number;
  datasources: Array<{
    name: string;
    uid: string;
    type: string;
    access: string;
    url: string;
    jsonData?: Record<string, unknown>;
  }>;
};
const providers = parseYaml(
  readFileSync(here("provisioning/dashboards/flowtally.yaml"), "utf8"),
) as {
  apiVersion: number;
  providers: Array<{ name: string; type: string; options: { path: string } }>;
};
/** The panels' data source: the dashboard's data source variable. */
const DATASOURCE = { type: "influxdb", uid: "$" + "{datasource}" };
const influxSource = datasources.datasources.find((d) => d.type === "influxdb")!;

// ---------------------------------------------------------------------------------------------
// Ground truth: what the routers "saw", by names, per minute.

/** mulberry32: a small seeded generator, so the day is the same on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface TrafficTruth {
  t: number;
  customer: string;
  site: string;
  link: string;
  cls: string;
  dir: "in" | "out";
  bytes: number;
  packets: number;
  flows: number;
}
interface ResponseTruth {
  t: number;
  customer: string;
  site: string;
  link: string;
  cls: string;
  transactions: number;
  good: number;
  retransmissions: number;
  networkDelaySumUs: number;
  networkDelayCount: number;
  serverDelaySumUs: number;
  serverDelayCount: number;
  totalDelaySumUs: number;
  estimated: number;
}

const LINKS = [
  { customer: "acme", site: "hq", link: "hq-fiber" },
  { customer: "acme", site: "branch", link: "branch-dsl" },
  { customer: "globex", site: "main", link: "main-1" },
  { customer: "initech", site: "office", link: "office-1" },
];
const CLASSES = ["web", "voip", "default"];
const NOBODY = { customer: "unattributed", site: "", link: "" };

function groundTruth(): { traffic: TrafficTruth[]; responses: ResponseTruth[] } {
  const r = random(20261122);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const out: TrafficTruth[] = [];
  const responses: ResponseTruth[] = [];
  const add = (
    t: number,
    where: (typeof LINKS)[number],
    cls: string,
    dir: "in" | "out",
    max: number,
  ) => {
    const bytes = int(1000, max);
    out.push({
      t,
      ...where,
      cls,
      dir,
      bytes,
      packets: Math.max(1, Math.floor(bytes / 900)),
      flows: int(1, 40),
    });
  };
  const respond = (t: number, where: (typeof LINKS)[number], cls: string) => {
    const transactions = int(1, 150);
    // Some minutes have no handshake seen (no network delay), as in a capture that began mid-flow.
    const networkDelayCount = r() < 0.25 ? 0 : int(1, transactions);
    const serverDelayCount = r() < 0.1 ? 0 : int(1, transactions);
    responses.push({
      t,
      ...where,
      cls,
      transactions,
      good: int(0, transactions),
      retransmissions: int(0, 6),
      networkDelaySumUs: networkDelayCount * int(800, 60_000),
      networkDelayCount,
      serverDelaySumUs: serverDelayCount * int(2000, 400_000),
      serverDelayCount,
      totalDelaySumUs: transactions * int(5000, 900_000),
      estimated: 0,
    });
  };
  const [hq, branch, globex, initech] = LINKS as [
    (typeof LINKS)[number],
    (typeof LINKS)[number],
    (typeof LINKS)[number],
    (typeof LINKS)[number],
  ];
  for (let m = 0; m < 1440; m++) {
    const t = DAY0 + m * MIN;
    const hour = Math.floor(m / 60);
    // acme: business hours on both links, every class, both directions.
    if (hour >= 6 && hour < 22) {
      for (const where of [hq, branch]) {
        for (const cls of CLASSES) {
          for (const dir of ["in", "out"] as const) {
            if (r() < 0.6) add(t, where, cls, dir, dir === "in" ? 30_000_000 : 8_000_000);
          }
          if (hour >= 8 && hour < 20 && cls !== "voip" && r() < 0.5) respond(t, where, cls);
        }
      }
    }
    // initech: office hours, web and default.
    if (hour >= 9 && hour < 18) {
      for (const cls of ["web", "default"]) {
        for (const dir of ["in", "out"] as const)
          if (r() < 0.3) add(t, initech, cls, dir, 5_000_000);
      }
    }
    // unattributed: a trickle all day.
    for (const cls of CLASSES) {
      for (const dir of ["in", "out"] as const) if (r() < 0.2) add(t, NOBODY, cls, dir, 200_000);
    }
  }
  // globex: a few large bursts, so that most of its 5-minute samples are 0 and the 95th
  // percentile depends on counting them (fill(0)).
  const bursts = new Set<number>();
  while (bursts.size < 30) bursts.add(int(0, 287));
  for (const b of bursts) {
    for (let k = 0; k < 5; k++) {
      if (r() < 0.6) {
        const t = DAY0 + b * 5 * MIN + k * MIN;
        add(t, globex, "web", "in", 900_000_000);
        add(t, globex, "web", "out", 50_000_000);
        respond(t, globex, "web");
      }
    }
  }
  // Just outside the day, on both sides: a range of the day must leave them out.
  add(DAY0 - MIN, hq, "web", "in", 1_000_000);
  add(DAY0 + 1440 * MIN, hq, "web", "in", 1_000_000);
  add(DAY0 + 1440 * MIN, NOBODY, "web", "out", 1_000_000);
  return { traffic: out, responses };
}

const truth = groundTruth();

// ---------------------------------------------------------------------------------------------
// The write path of `flowtally run`: partials → rollups (1m, 5m, 1h, 1d) → named rows → store.

const config = validateConfig({
  customers: [
    {
      id: "acme",
      name: "ACME",
      sites: [
        { id: "hq", links: [{ id: "hq-fiber", prefixes: ["203.0.113.0/26"] }] },
        { id: "branch", links: [{ id: "branch-dsl", prefixes: ["203.0.113.64/26"] }] },
      ],
    },
    {
      id: "globex",
      name: "Globex",
      sites: [{ id: "main", links: [{ id: "main-1", prefixes: ["198.51.100.0/25"] }] }],
    },
    {
      id: "initech",
      name: "Initech",
      sites: [{ id: "office", links: [{ id: "office-1", prefixes: ["198.51.100.128/25"] }] }],
    },
  ],
  classes: [
    { id: "web", match: { protocol: ["tcp"], ports: [80, 443] } },
    { id: "voip", match: { protocol: ["udp"], ports: [5060] } },
  ],
  defaultClass: "default",
});
const model = buildCustomerModel(config);
const linkIndex = (link: string) =>
  link === "" ? -1 : [...model.links].findIndex((l) => l.link === link);
const classIndex = (cls: string) => model.classIds.indexOf(cls);

async function writeThroughRollups(store: SeriesStore): Promise<void> {
  const rollup = new Rollup({ latenessMs: 0 });
  const responses = new ResponseRollup({ latenessMs: 0 });
  const first = Math.min(...truth.traffic.map((x) => x.t));
  const last = Math.max(...truth.traffic.map((x) => x.t));
  // An hour at a time, as `run` hands closed minutes to the store: rows of one period are added
  // to by later calls (read, add, write back), as they are in production.
  for (let h = Math.floor(first / HOUR) * HOUR; h <= last; h += HOUR) {
    const inHour = (t: number) => t >= h && t < h + HOUR;
    rollup.add(
      truth.traffic
        .filter((x) => inHour(x.t))
        .map(
          (x): PartialSum => ({
            startMs: x.t,
            link: linkIndex(x.link),
            classIndex: classIndex(x.cls),
            direction: x.dir === "in" ? 0 : 1,
            bytes: x.bytes,
            packets: x.packets,
            flows: x.flows,
          }),
        ),
    );
    responses.add(
      truth.responses
        .filter((x) => inHour(x.t))
        .map(
          ({ t, customer: _c, site: _s, link, cls, ...counters }): ResponsePartial => ({
            startMs: t,
            link: linkIndex(link),
            classIndex: classIndex(cls),
            ...counters,
            bins: [],
          }),
        ),
    );
    await store.addDeltas(nameDeltas(model, rollup.flush()));
    await store.addResponseTimes(nameResponseDeltas(model, responses.flush()));
  }
}

// ---------------------------------------------------------------------------------------------
// Expected answers, from the ground truth.

type Dir = "in" | "out";
const LEVEL_MS: Record<string, number> = { "1m": MIN, "5m": 5 * MIN, "1h": HOUR, "1d": 24 * HOUR };

/** InfluxDB keeps a level's point at its period start; $timeFilter keeps from ≤ start ≤ to. */
const inRange = (req: GrafanaRequest, level: string, t: number) => {
  const start = Math.floor(t / LEVEL_MS[level]!) * LEVEL_MS[level]!;
  return start >= req.fromMs && start <= req.toMs;
};

function bytesBy<K>(
  rows: readonly TrafficTruth[],
  key: (x: TrafficTruth) => K | undefined,
): Map<K, number> {
  const out = new Map<K, number>();
  for (const x of rows) {
    const k = key(x);
    if (k !== undefined) out.set(k, (out.get(k) ?? 0) + x.bytes);
  }
  return out;
}

/** Per customer, bytes of one direction in the range at one level. */
function overviewExpected(req: GrafanaRequest, dir: Dir, level: string): Map<string, number> {
  return bytesBy(truth.traffic, (x) =>
    x.dir === dir && inRange(req, level, x.t) ? x.customer : undefined,
  );
}

/** Bit/s per `intervalMs` bucket, every bucket the range touches (fill(0)); none without data. */
function rateExpected(
  req: GrafanaRequest,
  customer: string,
  dir: Dir,
  intervalMs: number,
): Array<[number, number]> {
  const sums = bytesBy(truth.traffic, (x) =>
    x.customer === customer && x.dir === dir && inRange(req, "1m", x.t)
      ? Math.floor(x.t / intervalMs) * intervalMs
      : undefined,
  );
  if (sums.size === 0) return [];
  const out: Array<[number, number]> = [];
  const first = Math.floor(req.fromMs / intervalMs) * intervalMs;
  for (let b = first; b <= req.toMs; b += intervalMs) {
    out.push([b, ((sums.get(b) ?? 0) * 8) / (intervalMs / 1000)]);
  }
  return out;
}

/**
 * The 95th percentile of the 5-minute rates of the range, 5-minute periods without traffic as 0:
 * nearest rank, rank = ceil(0.95 n) as in the API (aggregator/rollup.ts percentile95). InfluxDB's
 * percentile() takes rank floor(0.95 n + 0.5); the two agree for the ranges used here (n = 288
 * and n = 48: 273.6 and 45.6 round up either way), which the test asserts.
 */
function p95Expected(req: GrafanaRequest, customer: string, dir: Dir): number {
  const sums = bytesBy(truth.traffic, (x) =>
    x.customer === customer && x.dir === dir && inRange(req, "5m", x.t)
      ? Math.floor(x.t / (5 * MIN)) * 5 * MIN
      : undefined,
  );
  const samples: number[] = [];
  const first = Math.floor(req.fromMs / (5 * MIN)) * 5 * MIN;
  for (let s = first; s <= req.toMs; s += 5 * MIN) samples.push(((sums.get(s) ?? 0) * 8) / 300);
  samples.sort((a, b) => a - b);
  const n = samples.length;
  expect(Math.ceil(0.95 * n), "the API's rank and InfluxDB's agree for this range").toBe(
    Math.floor(0.95 * n + 0.5),
  );
  return samples[Math.ceil(0.95 * n) - 1]!;
}

type Counter = keyof Omit<ResponseTruth, "t" | "customer" | "site" | "link" | "cls">;

/** Per class, per bucket with a count: sum(sum) / sum(count) / 1000 (ms). */
function delayExpected(
  req: GrafanaRequest,
  customer: string,
  sum: Counter,
  count: Counter,
  intervalMs: number,
): Map<string, Array<[number, number]>> {
  const acc = new Map<string, Map<number, [number, number]>>();
  for (const x of truth.responses) {
    if (x.customer !== customer || x[count] === 0 || !inRange(req, "1m", x.t)) continue;
    const byTime = acc.get(x.cls) ?? new Map<number, [number, number]>();
    acc.set(x.cls, byTime);
    const b = Math.floor(x.t / intervalMs) * intervalMs;
    const [s, c] = byTime.get(b) ?? [0, 0];
    byTime.set(b, [s + x[sum], c + x[count]]);
  }
  return new Map(
    [...acc].map(([cls, byTime]) => [
      cls,
      [...byTime]
        .sort((a, b) => a[0] - b[0])
        .map(([t, [s, c]]) => [t, s / c / 1000] as [number, number]),
    ]),
  );
}

/** Per class over the range: transactions, good %, retransmissions, mean total delay (ms). */
function transactionsExpected(req: GrafanaRequest, customer: string): Map<string, number[]> {
  const acc = new Map<string, [number, number, number, number]>();
  for (const x of truth.responses) {
    if (x.customer !== customer || !inRange(req, "1m", x.t)) continue;
    const [n, good, retrans, total] = acc.get(x.cls) ?? [0, 0, 0, 0];
    acc.set(x.cls, [
      n + x.transactions,
      good + x.good,
      retrans + x.retransmissions,
      total + x.totalDelaySumUs,
    ]);
  }
  return new Map(
    [...acc].map(([cls, [n, good, retrans, total]]) => [
      cls,
      [n, (good / n) * 100, retrans, total / n / 1000],
    ]),
  );
}

// ---------------------------------------------------------------------------------------------
// Running a dashboard's queries.

interface Series {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: Array<Array<number | string | null>>;
}

let influxd: TestServer;
const { log } = captureLog();

/** What Grafana's backend asks InfluxDB for one target: GET /query with db, q and epoch=ms. */
async function run(q: string): Promise<Series[]> {
  const url = new URL(`http://127.0.0.1:${influxd.port}/query`);
  url.search = new URLSearchParams({ db: DB, q, epoch: "ms" }).toString();
  const res = await fetch(url);
  const body = (await res.json()) as { results?: Array<{ series?: Series[]; error?: string }> };
  const result = body.results?.[0];
  if (res.status !== 200 || result === undefined || result.error !== undefined) {
    throw new Error(`influxd refused ${q}: HTTP ${res.status} ${JSON.stringify(body)}`);
  }
  return result.series ?? [];
}

const close = (actual: number | string | null | undefined, expected: number, what: string) => {
  expect(typeof actual, what).toBe("number");
  const a = actual as number;
  expect(Math.abs(a - expected), `${what}: ${a} vs ${expected}`).toBeLessThanOrEqual(
    Math.abs(expected) * 1e-12 + 1e-9,
  );
};

/** One series per tag value; each series one [time, value] row per expected point. */
function expectSeries(
  got: Series[],
  tag: string | undefined,
  expected: Map<string, Array<[number, number]>>,
  what: string,
): void {
  const byTag = new Map(got.map((s) => [tag === undefined ? "" : (s.tags?.[tag] ?? ""), s]));
  expect([...byTag.keys()].sort(), `${what}: series`).toEqual([...expected.keys()].sort());
  for (const [key, points] of expected) {
    const s = byTag.get(key)!;
    expect(
      s.values.map((v) => v[0]),
      `${what} ${key}: times`,
    ).toEqual(points.map((p) => p[0]));
    for (const [i, [t, v]] of points.entries()) {
      close(s.values[i]![1], v, `${what} ${key} at ${new Date(t).toISOString()}`);
    }
  }
}

const allPanels = (d: Dashboard): Panel[] => d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);

type Check = (panel: Panel, target: Target, req: GrafanaRequest, sql: string) => Promise<void>;

/** Every query of the traffic dashboard, by panel title and refId, with what it must answer. */
const checks: Record<string, Record<string, Check>> = {
  "Customers: bytes in and out over the range": {
    A: async (_p, _t, req, sql) => {
      const level = req.variables.level!;
      const expected = overviewExpected(req, "in", level);
      expectSeries(
        await run(sql),
        "customer",
        new Map([...expected].map(([c, v]) => [c, [[req.fromMs, v]]])),
        `overview in (${level})`,
      );
    },
    B: async (_p, _t, req, sql) => {
      const level = req.variables.level!;
      const expected = overviewExpected(req, "out", level);
      expectSeries(
        await run(sql),
        "customer",
        new Map([...expected].map(([c, v]) => [c, [[req.fromMs, v]]])),
        `overview out (${level})`,
      );
    },
  },
  "$customer: bit/s in and out": {
    A: rateCheck("$customer", "in"),
    B: rateCheck("$customer", "out"),
  },
  "$customer: 95th percentile": {
    A: p95Check("in"),
    B: p95Check("out"),
  },
  "$customer: mean delays per class (ms)": {
    A: delayCheck("networkDelaySumUs", "networkDelayCount"),
    B: delayCheck("serverDelaySumUs", "serverDelayCount"),
    C: delayCheck("totalDelaySumUs", "transactions"),
  },
  "$customer: transactions per class over the range": {
    A: async (_p, _t, req, sql) => {
      const expected = transactionsExpected(req, req.variables.customer!);
      const got = await run(sql);
      expect(got.map((s) => s.tags?.class).sort()).toEqual([...expected.keys()].sort());
      for (const s of got) {
        expect(s.columns).toEqual([
          "time",
          "transactions",
          "good %",
          "retransmissions",
          "mean total ms",
        ]);
        const want = expected.get(s.tags!.class!)!;
        for (const [i, v] of want.entries()) {
          close(s.values[0]![i + 1], v, `${s.tags!.class} ${s.columns[i + 1]}`);
        }
      }
    },
  },
  "Unattributed traffic: bit/s in and out": {
    A: rateCheck("unattributed", "in"),
    B: rateCheck("unattributed", "out"),
  },
};

function rateCheck(who: string, dir: Dir): Check {
  return async (panel, _t, req, sql) => {
    const customer = who === "$customer" ? req.variables.customer! : who;
    const intervalMs = panelIntervalMs(req, panel.interval);
    const expected = rateExpected(req, customer, dir, intervalMs);
    expect(
      expected.length,
      `${customer} ${dir}: the fixture has traffic in the range`,
    ).toBeGreaterThan(0);
    expectSeries(await run(sql), undefined, new Map([["", expected]]), `${customer} ${dir} bit/s`);
  };
}

function p95Check(dir: Dir): Check {
  return async (_p, _t, req, sql) => {
    const got = await run(sql);
    expect(got).toHaveLength(1);
    expect(got[0]!.values).toHaveLength(1);
    close(got[0]!.values[0]![1], p95Expected(req, req.variables.customer!, dir), `p95 ${dir}`);
  };
}

function delayCheck(sum: Counter, count: Counter): Check {
  return async (panel, _t, req, sql) => {
    const expected = delayExpected(
      req,
      req.variables.customer!,
      sum,
      count,
      panelIntervalMs(req, panel.interval),
    );
    expect(expected.size, `${sum}: the fixture has delays in the range`).toBeGreaterThan(0);
    expectSeries(await run(sql), "class", expected, `${sum} / ${count}`);
  };
}

/** The variable's query, interpolated (variable queries get $timeFilter too, from refresh: 2). */
const variableQuery = (v: Variable) => (typeof v.query === "string" ? v.query : v.query.query);

const DAY_RANGE = { fromMs: DAY0, toMs: DAY0 + 24 * HOUR - 1 };
const AFTERNOON = { fromMs: DAY0 + 10 * HOUR, toMs: DAY0 + 14 * HOUR - 1 };

/** Grafana's requests the queries are run for: ranges, panel widths, variable values. */
function requests(): GrafanaRequest[] {
  const out: GrafanaRequest[] = [];
  const ds = influxSource.jsonData?.timeInterval as string | undefined;
  const base = ds === undefined ? {} : { dataSourceInterval: ds };
  for (const customer of ["acme", "globex"]) {
    // A day at 1 000 px (1 m points) and at 200 px (5 m points), the overview at every level.
    for (const maxDataPoints of [1000, 200]) {
      for (const level of ["1m", "1h", "1d"]) {
        out.push({ ...DAY_RANGE, maxDataPoints, variables: { customer, level }, ...base });
      }
    }
  }
  // Four hours of acme's afternoon: the 1d point lies outside (its period starts at midnight).
  for (const level of ["1m", "1h", "1d"]) {
    out.push({
      ...AFTERNOON,
      maxDataPoints: 1000,
      variables: { customer: "acme", level },
      ...base,
    });
  }
  return out;
}

describe("docs/grafana dashboards", () => {
  let store: SeriesStore;

  beforeAll(async () => {
    influxd = await startInfluxd();
    await influxql(influxd, `CREATE DATABASE ${DB}`);
    store = createInfluxStore(
      validateConfig({
        store: { influx: { api: "v1", url: `http://127.0.0.1:${influxd.port}`, database: DB } },
      }).store.influx!,
      { log },
    );
    await store.start();
    await writeThroughRollups(store);
  }, 120_000);

  afterAll(async () => {
    await store?.stop();
    await influxd?.close();
  });

  it("the traffic dashboard is a Grafana dashboard a file provider loads", () => {
    expect(traffic.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(traffic.schemaVersion).toBeGreaterThanOrEqual(36);
    expect((traffic as unknown as { id?: unknown }).id ?? null).toBeNull();
    const ids = allPanels(traffic).map((p) => p.id);
    expect(new Set(ids).size, "panel ids are unique").toBe(ids.length);
    for (const p of allPanels(traffic)) {
      expect(p.gridPos.x + p.gridPos.w, `${p.title}: within 24 columns`).toBeLessThanOrEqual(24);
      if (p.type === "row" || p.type === "text") continue;
      expect(p.datasource, p.title).toEqual(DATASOURCE);
      for (const t of p.targets ?? []) {
        expect(t.rawQuery, `${p.title} ${t.refId}: raw InfluxQL`).toBe(true);
        expect(typeof t.query).toBe("string");
        expect(["time_series", "table"]).toContain(t.resultFormat);
      }
    }
    const [dsVar] = traffic.templating.list;
    expect(dsVar).toMatchObject({ type: "datasource", name: "datasource", query: "influxdb" });
    expect(dsVar!.current?.value, "defaults to the provisioned data source").toBe(influxSource.uid);
    for (const v of traffic.templating.list) {
      expect(v.multi ?? false, v.name).toBe(false);
      expect(v.includeAll ?? false, v.name).toBe(false);
    }
  });

  it("the provisioning files name the data sources and the folder of the dashboards", () => {
    expect(datasources.apiVersion).toBe(1);
    expect(influxSource).toMatchObject({ type: "influxdb", access: "proxy" });
    expect(influxSource.jsonData).toMatchObject({ dbName: DB, version: "InfluxQL" });
    const prometheus = datasources.datasources.find((d) => d.type === "prometheus")!;
    expect(prometheus.uid).toBe(
      collectors.templating.list.find((v) => v.type === "datasource")!.current?.value,
    );
    expect(providers.apiVersion).toBe(1);
    expect(providers.providers[0]).toMatchObject({ type: "file" });
    expect(providers.providers[0]!.options.path).toMatch(/^\//);
  });

  it("the fixture went through flowtally's store: the day's total agrees with the ground truth", async () => {
    const got = await store.overview({ fromMs: DAY_RANGE.fromMs, toMs: DAY_RANGE.toMs + 1 });
    const acme = got.find((c) => c.customer === "acme")!;
    expect(acme.bytesIn).toBe(
      truth.traffic
        .filter(
          (x) => x.customer === "acme" && x.dir === "in" && x.t >= DAY0 && x.t < DAY0 + 24 * HOUR,
        )
        .reduce((a, x) => a + x.bytes, 0),
    );
  });

  it("every query of every panel answers the ground truth's figures", async () => {
    const targets = allPanels(traffic).flatMap((p) =>
      (p.targets ?? []).map((t) => [p, t] as const),
    );
    // Every target has a check, and every check a target: a panel added without one fails here.
    expect(targets.map(([p, t]) => `${p.title} ${t.refId}`).sort()).toEqual(
      Object.entries(checks)
        .flatMap(([title, byRef]) => Object.keys(byRef).map((r) => `${title} ${r}`))
        .sort(),
    );
    let ran = 0;
    for (const req of requests()) {
      for (const [panel, target] of targets) {
        const sql = interpolateInfluxQL(target.query!, panel.interval, req);
        await checks[panel.title]![target.refId]!(panel, target, req, sql);
        ran++;
      }
    }
    expect(ran).toBe(targets.length * requests().length);
  });

  it("the customer variable lists the customers, unattributed included", async () => {
    const v = traffic.templating.list.find((x) => x.name === "customer")!;
    expect(v.datasource).toEqual(DATASOURCE);
    const sql = interpolateInfluxQL(variableQuery(v), undefined, {
      ...DAY_RANGE,
      maxDataPoints: 1000,
      variables: {},
    });
    const got = await run(sql);
    const values = got.flatMap((s) => s.values.map((row) => row[1]));
    expect(values.sort()).toEqual([...new Set(truth.traffic.map((x) => x.customer))].sort());
    const level = traffic.templating.list.find((x) => x.name === "level")!;
    expect(level.options?.map((o) => o.value)).toEqual(["1m", "1h", "1d"]);
    expect(level.current?.value).toBe("1m");
  });

  it("a wrong measurement, field or tag in any query fails its check", async () => {
    const req: GrafanaRequest = {
      ...DAY_RANGE,
      maxDataPoints: 1000,
      variables: { customer: "acme", level: "1m" },
    };
    const mutations: Array<[RegExp, string]> = [
      [/FROM "([a-z_$]+)"/, 'FROM "$1_"'],
      [/sum\("(\w+)"\)/, 'sum("$1_")'],
      [/"customer" = '/, '"customer" = \'x'],
      [/"direction" = '(in|out)'/, `"direction" = 'inout'`],
    ];
    let failed = 0;
    let mutated = 0;
    for (const panel of allPanels(traffic)) {
      for (const target of panel.targets ?? []) {
        for (const [pattern, replacement] of mutations) {
          const wrong = target.query!.replace(pattern, replacement);
          if (wrong === target.query) continue;
          mutated++;
          try {
            const sql = interpolateInfluxQL(wrong, panel.interval, req);
            await checks[panel.title]![target.refId]!(panel, target, req, sql);
          } catch {
            failed++;
          }
        }
      }
    }
    expect(mutated).toBeGreaterThan(20);
    expect(failed).toBe(mutated);
    // A macro Grafana has no InfluxQL meaning for is refused before InfluxDB sees it.
    expect(() => interpolateInfluxQL("SELECT 1 WHERE $__timeFilter", undefined, req)).toThrow(
      /__timeFilter/,
    );
  });

  it("the collectors dashboard's PromQL names metrics and labels flowtally's /metrics has", async () => {
    const metrics = createMetrics(() => ({
      exporters: [
        { exporter: "192.0.2.1", datagrams: 5, records: 50, lostRecords: 1, templates: 2 },
      ],
      problems: { "template-unknown": 3 },
      inputs: [{ listen: "0.0.0.0:2055", datagrams: 5, refusedDatagrams: 1, kernelDrops: 0 }],
      rcvbufErrors: 0,
      records: 50,
      unattributedRecords: 4,
      droppedRecords: { "too-old": 2 },
      seriesRowsWritten: 10,
      storeErrors: 0,
      pendingRows: 0,
      heldSets: 0,
      queue: { bufferedMessages: 0, bufferedRows: 0, shippedMessages: 3, droppedRows: 0 },
      aggregator: { applied: 3, duplicates: 0, rejected: 0, waiting: 0, active: 0, lagSeconds: 0 },
    }));
    const text = await metrics.text();
    /** metric name → its label names, from the exposition's sample lines. */
    const exposed = new Map<string, Set<string>>();
    for (const line of text.split("\n")) {
      const m = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? /.exec(line);
      if (m === null) continue;
      const labels = exposed.get(m[1]!) ?? new Set<string>();
      for (const l of (m[2] ?? "").matchAll(/(\w+)="/g)) labels.add(l[1]!);
      exposed.set(m[1]!, labels);
    }
    const exprs = allPanels(collectors).flatMap((p) =>
      (p.targets ?? []).map((t) => [p.title, t.expr ?? ""] as const),
    );
    expect(exprs.length).toBeGreaterThan(5);
    for (const [title, expr] of exprs) {
      const names = [...expr.matchAll(/\b(flowtally_\w+)/g)].map((m) => m[1]!);
      expect(names.length, `${title}: names a flowtally metric`).toBeGreaterThan(0);
      for (const name of names) {
        expect(exposed.has(name), `${title}: ${name} is exposed`).toBe(true);
        // Labels it groups or matches by: every metric of the expression must have them, or
        // be the process's own (instance and job are added by Prometheus at scrape).
        const labels = [
          ...[...expr.matchAll(/\bby \(([^)]*)\)/g)].flatMap((m) => m[1]!.split(",")),
          ...[...expr.matchAll(/\{([^}]*)\}/g)].flatMap((m) =>
            [...m[1]!.matchAll(/(\w+)\s*=~?/g)].map((x) => x[1]!),
          ),
        ]
          .map((l) => l.trim())
          .filter((l) => l !== "" && l !== "instance" && l !== "job");
        for (const l of labels)
          expect(exposed.get(name)!.has(l), `${title}: ${name}{${l}}`).toBe(true);
      }
    }
  });
});
