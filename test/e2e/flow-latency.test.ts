/**
 * Latency from flow exports, through the real pipeline (one box, and scaled out through Redis into
 * InfluxDB): a generator draws TCP transactions with
 * known delays and exports them as Cisco AVC ART records (with and without the response-time
 * histogram) and nProbe records over IPFIX on loopback UDP to the built CLI's `flowtally run`;
 * after it stops, `flowtally query response-times` reads the stored series. Per minute and class:
 * transactions, good, estimated and the mean network, server and total delays equal what the
 * generator's transactions give, computed here from them:
 * - class `web` (threshold 100 ms, on a bucket edge): every good/bad verdict is exact and equals
 *   the true count of transactions under 100 ms; estimated is 0;
 * - class `api` (threshold 70 ms, inside the bucket [60, 80) ms): the histogram's verdict is the
 *   documented linear split of that bucket, the sums-only records' the mean rule, both counted
 *   in `estimated`; the true count of good transactions is within `estimated` of the figure.
 */
import { createSocket } from "node:dgram";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startAggregate, startServe } from "../../cli/aggregate-command.js";
import { startCollect } from "../../cli/collect-command.js";
import { parseConfigText } from "../../config/load-config.js";
import { freeUdpPort, runCli, startRun } from "../support/cli-process.js";
import {
  bucketOf,
  drawTransaction,
  type ExportGroup,
  latencyExports,
  prng,
  type Transaction,
} from "../support/latency-exports.js";
import { influxql, startInfluxd, startRedis, type TestServer } from "../support/servers.js";

const MINUTE = 60_000;
/** decoder.artHistogramBounds in the config: upper edges of buckets 1 to 6, ms. */
const EDGES_MS = [20, 40, 60, 80, 100, 150];
const CLASSES = {
  // Targets between the seeded scenario's good shares (web 30.6, 32.4, 44.8 %; api 20.5, 30.6,
  // 24.3 %), so that the SLA check below sees compliant and breached minutes in both classes.
  web: { port: 80, thresholdMs: 100, targetPercent: 32 },
  api: { port: 8443, thresholdMs: 70, targetPercent: 24.5 },
} as const;
type ClassId = keyof typeof CLASSES;

const TOKEN = "flow-latency-test-token-0123";

/** The config; `store` (with `queue` when scaled out) as YAML lines. */
function config(port: number, store: string): string {
  return `inputs:
  netflow:
    - listen: 127.0.0.1:${port}
      allowedExporters: [127.0.0.1/32]
api:
  listen: 127.0.0.1:0
  operatorTokens: [${TOKEN}]
${store}
decoder:
  artHistogramBounds: [${EDGES_MS.map((ms) => `${ms}ms`).join(", ")}]
classes:
  - id: web
    totalDelayThreshold: ${CLASSES.web.thresholdMs}ms
    serviceLevelTarget: ${CLASSES.web.targetPercent}
    match: { protocol: [tcp], ports: [${CLASSES.web.port}] }
  - id: api
    totalDelayThreshold: ${CLASSES.api.thresholdMs}ms
    serviceLevelTarget: ${CLASSES.api.targetPercent}
    match: { protocol: [tcp], ports: [${CLASSES.api.port}] }
customers:
  - id: acme
    name: Acme
    sites: [{ id: hq, links: [{ id: fiber, prefixes: [10.1.0.0/24] }] }]
`;
}

/** What each exporter kind reports for a transaction: network round trip and total delay (ms). */
function reported(kind: ExportGroup["kind"], t: Transaction): { network: number; total: number } {
  // nProbe sends half round trips and no total: total = network round trip + application latency.
  if (kind === "nprobe") {
    const network = 2 * (t.cndMs + t.sndMs);
    return { network, total: network + t.serverMs };
  }
  return { network: t.cndMs + t.sndMs, total: t.totalMs };
}

interface Expected {
  transactions: number;
  /** The figure flowtally must report (exact, or the documented estimate). */
  good: number;
  /** The true number of transactions under the threshold. */
  trueGood: number;
  estimated: number;
  retransmissions: number;
  networkSum: number;
  networkCount: number;
  serverSum: number;
  serverCount: number;
  totalSum: number;
}

/** The figures of one (minute, class), computed from the generator's transactions. */
function expectedOf(groups: readonly ExportGroup[], thresholdMs: number): Expected {
  const e: Expected = {
    transactions: 0,
    good: 0,
    trueGood: 0,
    estimated: 0,
    retransmissions: 0,
    networkSum: 0,
    networkCount: 0,
    serverSum: 0,
    serverCount: 0,
    totalSum: 0,
  };
  for (const g of groups) {
    const n = g.transactions.length;
    const totals = g.transactions.map((t) => reported(g.kind, t).total);
    e.transactions += n;
    e.trueGood += totals.filter((ms) => ms < thresholdMs).length;
    // nProbe's latency template carries no retransmission count.
    if (g.kind !== "nprobe") e.retransmissions += g.retransmissions;
    e.serverSum += g.transactions.reduce((a, t) => a + t.serverMs, 0);
    e.serverCount += n;
    e.totalSum += totals.reduce((a, b) => a + b, 0);
    if (g.kind === "nprobe") {
      for (const t of g.transactions) {
        e.networkSum += reported("nprobe", t).network;
        e.networkCount++;
      }
    } else {
      for (const t of g.transactions.slice(0, g.connections)) e.networkSum += t.cndMs + t.sndMs;
      e.networkCount += g.connections;
    }
    if (g.kind === "nprobe" || n === 1) {
      // One transaction per record: its own delay decides.
      e.good += totals.filter((ms) => ms < thresholdMs).length;
    } else if (g.kind === "art") {
      // Whole buckets under the threshold count; the one holding it is split linearly.
      const edges = [0, ...EDGES_MS, Number.POSITIVE_INFINITY];
      for (let k = 0; k < 7; k++) {
        const inBucket = totals.filter((ms) => bucketOf(ms, EDGES_MS) === k).length;
        const [lo, hi] = [edges[k]!, edges[k + 1]!];
        if (hi <= thresholdMs) e.good += inBucket;
        else if (lo < thresholdMs) {
          if (hi !== Number.POSITIVE_INFINITY)
            e.good += (inBucket * (thresholdMs - lo)) / (hi - lo);
          e.estimated += inBucket;
        }
      }
    } else {
      // Sums only: the mean decides for all of them, late responses are not good.
      const mean = totals.reduce((a, b) => a + b, 0) / n;
      if (mean < thresholdMs) e.good += n - g.lateResponses;
      e.estimated += n;
    }
  }
  return e;
}

/** Groups for one minute: for `web` only exact kinds, for `api` every kind. */
function minuteGroups(rand: () => number, minuteStartMs: number): Record<ClassId, ExportGroup[]> {
  const draw = (n: number, max: number) =>
    Array.from({ length: n }, () => drawTransaction(rand, max));
  const group = (
    kind: ExportGroup["kind"],
    cls: ClassId,
    transactions: Transaction[],
    at: number,
  ): ExportGroup => ({
    kind,
    client: `10.1.0.${1 + Math.floor(rand() * 200)}`,
    server: "192.0.2.80",
    serverPort: CLASSES[cls].port,
    endMs: minuteStartMs + at,
    transactions,
    connections: Math.max(1, Math.ceil(transactions.length / 3)),
    lateResponses: transactions.filter((t) => t.totalMs >= 150).length,
    retransmissions: Math.floor(rand() * 4),
  });
  return {
    web: [
      group("art", "web", draw(12 + Math.floor(rand() * 10), 220), 5_000),
      group("art", "web", draw(7, 160), 21_000),
      group("art-sums-only", "web", draw(1, 200), 33_000),
      group("nprobe", "web", draw(9, 200), 41_000),
    ],
    api: [
      group("art", "api", draw(15 + Math.floor(rand() * 10), 180), 7_000),
      group("art-sums-only", "api", draw(6, 140), 25_000),
      group("art-sums-only", "api", draw(5, 60), 37_000),
      group("nprobe", "api", draw(8, 200), 52_000),
    ],
  };
}

async function send(port: number, datagrams: Uint8Array[]): Promise<void> {
  const s = createSocket("udp4");
  for (const d of datagrams) {
    await new Promise<void>((r, j) => s.send(d, port, "127.0.0.1", (e) => (e ? j(e) : r())));
  }
  await new Promise<void>((r) => s.close(() => r()));
}

interface Point {
  time: string;
  transactions: number;
  goodTransactions: number;
  estimated: number;
  retransmissions: number;
  meanNetworkDelayMs: number | null;
  meanServerDelayMs: number | null;
  meanTotalDelayMs: number | null;
}

/** Three whole minutes that ended before now (within aggregation.maxPast), and their exports. */
function scenario() {
  const rand = prng(20261206);
  const firstMinute = Math.floor(Date.now() / MINUTE) * MINUTE - 4 * MINUTE;
  const minutes = [0, 1, 2].map((m) => firstMinute + m * MINUTE);
  const plan = minutes.map((start) => minuteGroups(rand, start));
  const datagrams = latencyExports(
    plan.flatMap((p) => [...p.web, ...p.api]),
    EDGES_MS,
    Math.floor(Date.now() / 1000),
  );
  return { firstMinute, minutes, plan, datagrams };
}

type Scenario = ReturnType<typeof scenario>;

function checkPoints(s: Scenario, cls: ClassId, points: Point[]): void {
  expect(points.map((p) => Date.parse(p.time))).toEqual(s.minutes);
  s.plan.forEach((p, m) => {
    const e = expectedOf(p[cls], CLASSES[cls].thresholdMs);
    const got = points[m]!;
    const where = `${cls} minute ${m}`;
    expect(got.transactions, where).toBe(e.transactions);
    expect(got.goodTransactions, where).toBeCloseTo(e.good, 9);
    expect(got.estimated, where).toBe(e.estimated);
    expect(got.retransmissions, where).toBe(e.retransmissions);
    expect(got.meanNetworkDelayMs, where).toBeCloseTo(e.networkSum / e.networkCount, 9);
    expect(got.meanServerDelayMs, where).toBeCloseTo(e.serverSum / e.serverCount, 9);
    expect(got.meanTotalDelayMs, where).toBeCloseTo(e.totalSum / e.transactions, 9);
    // The estimate is never further from the truth than the verdicts it estimated.
    expect(Math.abs(got.goodTransactions - e.trueGood), where).toBeLessThanOrEqual(e.estimated);
    if (cls === "web") {
      expect(e.estimated, where).toBe(0);
      expect(got.goodTransactions, where).toBe(e.trueGood);
    } else {
      expect(e.estimated, where).toBeGreaterThan(0);
    }
  });
}

const range = (s: Scenario) =>
  `from=${new Date(s.firstMinute).toISOString()}&to=${new Date(s.firstMinute + 3 * MINUTE).toISOString()}`;

test("Cisco ART and nProbe latency reach the response-time series: exact on a bucket edge, estimated and counted inside a bucket", async () => {
  const dir = mkdtempSync(join(tmpdir(), "flowtally-flow-latency-"));
  const port = await freeUdpPort();
  const file = join(dir, "flowtally.yaml");
  writeFileSync(file, config(port, `store:\n  embedded:\n    path: ${join(dir, "store.duckdb")}`));
  const s = scenario();
  const run = await startRun(file);
  await send(port, s.datagrams);
  await sleep(500);
  const stopped = await run.stop();
  expect(stopped.status, stopped.stderr).toBe(0);

  for (const cls of Object.keys(CLASSES) as ClassId[]) {
    const r = runCli([
      "query",
      "response-times",
      "acme",
      "--config",
      file,
      "--from",
      new Date(s.firstMinute).toISOString(),
      "--to",
      new Date(s.firstMinute + 3 * MINUTE).toISOString(),
      "--step",
      "1m",
      "--class",
      cls,
      "-f",
      "json",
    ]);
    expect(r.status, r.stderr).toBe(0);
    checkPoints(s, cls, (JSON.parse(r.stdout) as { points: Point[] }).points);
  }
});

describe("scaled out", () => {
  let redis: TestServer;
  let influx: TestServer;
  beforeAll(async () => {
    [redis, influx] = await Promise.all([startRedis(), startInfluxd()]);
    await influxql(influx, "CREATE DATABASE latency");
  });
  afterAll(async () => {
    await Promise.all([redis.close(), influx.close()]);
  });

  test("the same figures through collect → Redis → aggregate → InfluxDB ← serve", async () => {
    const dir = mkdtempSync(join(tmpdir(), "flowtally-flow-latency-scaled-"));
    const cfg = parseConfigText(
      `dataDir: ${dir}
${config(0, "")}
store:
  influx: { api: v1, url: "http://127.0.0.1:${influx.port}", database: latency }
queue:
  redis: { url: "redis://127.0.0.1:${redis.port}" }
  prefix: latency${Date.now().toString(36)}
`,
    );
    const silent = pino({ level: "silent" });
    const s = scenario();
    const collector = await startCollect(
      { ...cfg, collector: { ...cfg.collector, id: "c1" } },
      silent,
    );
    const aggregator = await startAggregate(cfg, silent);
    const serve = await startServe(cfg, silent);
    try {
      await send(collector.inputs[0]!.address.port, s.datagrams);
      const apiUrl = `http://127.0.0.1:${serve.api.port}`;
      for (const cls of Object.keys(CLASSES) as ClassId[]) {
        const url = `${apiUrl}/api/v1/customers/acme/response-times?${range(s)}&step=1m&class=${cls}`;
        const want = s.plan.map((p) => expectedOf(p[cls], CLASSES[cls].thresholdMs).transactions);
        let points: Point[] = [];
        const until = Date.now() + 20_000;
        while (Date.now() < until) {
          const r = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
          expect(r.status, await r.clone().text()).toBe(200);
          points = ((await r.json()) as { points: Point[] }).points;
          if (points.map((p) => p.transactions).join() === want.join()) break;
          await sleep(200);
        }
        checkPoints(s, cls, points);
      }
      // The SLA series, derived by the store from those rows, through the same path: per class
      // the sums and each minute's verdict as docs/sla.md's integer rule gives them on the
      // generator's figures (computed here), the estimated flag where buckets were split.
      const sla = await fetch(`${apiUrl}/api/v1/customers/acme/sla?${range(s)}`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(sla.status, await sla.clone().text()).toBe(200);
      const report = (await sla.json()) as {
        classes: Array<{
          class: string;
          target: number;
          threshold: number;
          transactions: number;
          good: number;
          minutes: number;
          compliantMinutes: number;
          breachMinutes: number;
          noDataMinutes: number;
          estimated: boolean;
        }>;
      };
      for (const cls of Object.keys(CLASSES) as ClassId[]) {
        const c = CLASSES[cls];
        const per = s.plan.map((p) => expectedOf(p[cls], c.thresholdMs));
        const verdicts = per.map((e) =>
          e.transactions === 0
            ? "none"
            : e.good * 100_000 >= Math.round(c.targetPercent * 1000) * e.transactions
              ? "ok"
              : "breach",
        );
        expect(verdicts, cls).toContain("ok");
        expect(verdicts, cls).toContain("breach");
        const got = report.classes.find((x) => x.class === cls)!;
        expect(got, cls).toBeDefined();
        expect([got.threshold, got.target, got.minutes], cls).toEqual([
          c.thresholdMs,
          c.targetPercent,
          3,
        ]);
        expect(got.transactions, cls).toBe(per.reduce((a, e) => a + e.transactions, 0));
        expect(got.good, cls).toBeCloseTo(
          per.reduce((a, e) => a + e.good, 0),
          9,
        );
        expect(
          [got.compliantMinutes, got.breachMinutes, got.noDataMinutes],
          `${cls}: ${verdicts.join(" ")}`,
        ).toEqual([
          verdicts.filter((v) => v === "ok").length,
          verdicts.filter((v) => v === "breach").length,
          verdicts.filter((v) => v === "none").length,
        ]);
        expect(got.estimated, cls).toBe(per.some((e) => e.estimated > 0));
      }
    } finally {
      await collector.stop();
      await aggregator.stop();
      await serve.stop();
    }
  }, 60_000);
});
