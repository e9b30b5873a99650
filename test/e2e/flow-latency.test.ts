/**
 * Latency from flow exports, through the real pipeline (one box, and scaled out through Redis into
 * InfluxDB): a generator draws TCP transactions with known delays and exports them as Cisco AVC
 * ART records (with and without the response-time histogram) and nProbe records over IPFIX on
 * loopback UDP to the built CLI's `flowtally run`; after it stops, `flowtally query
 * response-times` reads the stored series. Per minute and class: transactions, good, estimated
 * and the mean network, server and total delays equal what the generator's transactions give
 * (test/support/latency-scenario.ts computes them and says what is exact and what estimated).
 * NetFlow v9 carries the same records in flow-latency-v9.test.ts.
 */
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
  CLASSES,
  type ClassId,
  checkPoints,
  config,
  expectedOf,
  MINUTE,
  type Point,
  range,
  scenario,
  send,
  TOKEN,
  verdictOf,
} from "../support/latency-scenario.js";
import { influxql, startInfluxd, startRedis, type TestServer } from "../support/servers.js";

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
        const verdicts = per.map((e) => verdictOf(e, c.targetPercent));
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
