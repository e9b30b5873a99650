/**
 * `GET /api/v1/sla/breaches` at scale (docs/sla.md "Breaches"): `--customers` customers of one
 * link each, `--minutes` minutes of 1-minute SLA rows (class web, 95 % / 200 ms: 100 of 100
 * good) and link-status rows (up), written straight into the embedded store's tables by SQL (the
 * SLA derivation is bench/sla-store.ts's subject); one customer in `--every` breaches in minutes
 * 20–29 (50 of 100) and has its link down in minutes 30–39. `--impl` (a dist directory, this
 * one by default) answers the day's breach list `--runs` times: the time is the endpoint's
 * (median, min, max), with the size of the JSON and its SHA-256 (run the builds of an A/B in
 * turn, one process each: two builds' API schemas cannot load in one process; their digests
 * must be equal). Checked: one incident and one outage per breaching customer.
 *
 *   npm run build && nice -n -20 node dist/bench/sla-breaches-scale.js --customers 100000
 *   nice -n -20 node dist/bench/sla-breaches-scale.js --customers 10000 --impl /tmp/base/dist
 *   nice -n -20 node dist/bench/sla-breaches-scale.js --customers 10000 --store influx
 *
 * With `--store influx` the same rows go to a real influxd (line protocol, 5 000 lines a request;
 * the link-status 1d rows too) and the build's InfluxDB store reads them.
 */
import { createHash } from "node:crypto";
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { DuckDBInstance } from "@duckdb/node-api";
import { pino } from "pino";
import { buildCustomerModel } from "../collector/classify/customer-model.js";
import { validateConfig } from "../config/load-config.js";
import type { SlaEndpoints } from "../query/api/sla-endpoints.js";
import type { SeriesStore } from "../schema/series-store.js";
import { influxql, startInfluxd } from "./servers.js";

const MINUTE = 60_000;
const T0 = Date.UTC(2031, 0, 6);

const { values } = parseArgs({
  options: {
    customers: { type: "string", default: "10000" },
    minutes: { type: "string", default: "60" },
    every: { type: "string", default: "10" },
    runs: { type: "string", default: "3" },
    impl: { type: "string" },
    store: { type: "string", default: "duckdb" },
  },
});
const CUSTOMERS = Number(values.customers);
const MINUTES = Number(values.minutes);
const EVERY = Number(values.every);
const RUNS = Number(values.runs);
const builds = [values.impl ?? join(import.meta.dirname, "..")];

const customerOf = (k: number) => `c${String(k).padStart(6, "0")}`;

/** The tables filled by SQL: every row of the range, breaches and downs as the header says. */
async function fill(path: string): Promise<void> {
  const instance = await DuckDBInstance.create(path);
  const c = await instance.connect();
  const grid = `SELECT k, m, 'c' || lpad(k::VARCHAR, 6, '0') AS customer,
      ${T0}::BIGINT + m * ${MINUTE} AS start_ms
    FROM range(${CUSTOMERS}) AS a(k), range(${MINUTES}) AS b(m)`;
  await c.run(`INSERT INTO sla_1m (start_ms, customer, site, link, traffic_class, transactions,
      good, estimated, compliant_minutes, breach_minutes, no_data_minutes, threshold_ms, target_percent)
    SELECT start_ms, customer, 's', 'l', 'web', 100,
      CASE WHEN breach THEN 50 ELSE 100 END, 0,
      CASE WHEN breach THEN 0 ELSE 1 END, CASE WHEN breach THEN 1 ELSE 0 END, 0, 200, 95
    FROM (SELECT *, k % ${EVERY} = 0 AND m >= 20 AND m < 30 AS breach FROM (${grid}))`);
  await c.run(`INSERT INTO link_status_1m (start_ms, customer, site, link, up_minutes, down_minutes)
    SELECT start_ms, customer, 's', 'l', CASE WHEN down THEN 0 ELSE 1 END, CASE WHEN down THEN 1 ELSE 0 END
    FROM (SELECT *, k % ${EVERY} = 0 AND m >= 30 AND m < 40 AS down FROM (${grid}))`);
  await c.run(`INSERT INTO link_status_1d (start_ms, customer, site, link, up_minutes, down_minutes)
    SELECT ${T0}, customer, site, link, sum(up_minutes), sum(down_minutes)
    FROM link_status_1m GROUP BY customer, site, link`);
  c.closeSync();
  instance.closeSync();
}

/** The same rows as `fill`, as line protocol into a fresh influxd's database "bench". */
async function fillInflux(port: number): Promise<void> {
  const lines: string[] = [];
  const flush = async (force: boolean) => {
    if (lines.length === 0 || (!force && lines.length < 5000)) return;
    const res = await fetch(`http://127.0.0.1:${port}/write?db=bench&precision=ms`, {
      method: "POST",
      body: lines.join("\n"),
    });
    if (!res.ok) throw new Error(`influxd /write: HTTP ${res.status}: ${await res.text()}`);
    lines.length = 0;
  };
  for (let k = 0; k < CUSTOMERS; k++) {
    const customer = customerOf(k);
    let down = 0;
    for (let m = 0; m < MINUTES; m++) {
      const t = T0 + m * MINUTE;
      const breach = k % EVERY === 0 && m >= 20 && m < 30;
      const isDown = k % EVERY === 0 && m >= 30 && m < 40;
      if (isDown) down++;
      lines.push(
        `sla_1m,customer=${customer},site=s,link=l,class=web transactions=100,good=${breach ? 50 : 100},estimated=0,` +
          `compliantMinutes=${breach ? 0 : 1},breachMinutes=${breach ? 1 : 0},noDataMinutes=0,thresholdMs=200,targetPercent=95 ${t}`,
        `link_status_1m,customer=${customer},site=s,link=l upMinutes=${isDown ? 0 : 1},downMinutes=${isDown ? 1 : 0} ${t}`,
      );
      await flush(false);
    }
    lines.push(
      `link_status_1d,customer=${customer},site=s,link=l upMinutes=${MINUTES - down},downMinutes=${down} ${T0}`,
    );
  }
  await flush(true);
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "ft-bench-breaches-"));
  const path = join(dir, "s.duckdb");
  try {
    const cfg = validateConfig({
      classes: [{ id: "web", totalDelayThreshold: 200, serviceLevelTarget: 95 }],
      customers: Array.from({ length: CUSTOMERS }, (_, k) => ({
        id: customerOf(k),
        name: customerOf(k),
        sites: [
          {
            id: "s",
            links: [{ id: "l", prefixes: [`10.${k >> 16}.${(k >> 8) & 255}.${k & 255}/32`] }],
          },
        ],
      })),
    });
    const model = buildCustomerModel(cfg);
    const stores: Array<{ dist: string; store: SeriesStore; endpoints: SlaEndpoints }> = [];
    const influx = values.store === "influx" ? await startInfluxd() : undefined;
    for (const dist of builds) {
      const from = (file: string) => pathToFileURL(join(resolve(dist), file)).href;
      const { createDuckDbStore } = (await import(
        from("store/duckdb-store.js")
      )) as typeof import("../store/duckdb-store.js");
      const { createInfluxStore } = (await import(
        from("store/influx-store.js")
      )) as typeof import("../store/influx-store.js");
      const { createSlaEndpoints } = (await import(
        from("query/api/sla-endpoints.js")
      )) as typeof import("../query/api/sla-endpoints.js");
      let store: SeriesStore;
      if (influx !== undefined) {
        await influxql(influx, "CREATE DATABASE bench");
        const t = performance.now();
        await fillInflux(influx.port);
        console.log(
          `${CUSTOMERS} customers × ${MINUTES} minutes of SLA and link-status rows written to influxd in ${Math.round(performance.now() - t)} ms`,
        );
        store = createInfluxStore(
          validateConfig({
            store: {
              influx: { api: "v1", url: `http://127.0.0.1:${influx.port}`, database: "bench" },
            },
          }).store.influx!,
          { log: pino({ level: "silent" }) },
        );
        await store.start();
      } else {
        if (stores.length === 0) {
          // The tables made by the store, then filled; each build reads a copy of the file.
          const maker = createDuckDbStore({ path });
          await maker.start();
          await maker.stop();
          const t = performance.now();
          await fill(path);
          console.log(
            `${CUSTOMERS} customers × ${MINUTES} minutes of SLA and link-status rows filled in ${Math.round(performance.now() - t)} ms`,
          );
        }
        const mine = join(dir, `s${stores.length}.duckdb`);
        await copyFile(path, mine);
        store = createDuckDbStore({ path: mine });
        await store.start();
      }
      const endpoints = createSlaEndpoints({
        config: cfg,
        model,
        now: () => T0 + 2 * 86_400_000,
        seriesStore: () => store,
        scopeOf: async () => undefined,
      });
      stores.push({ dist, store, endpoints });
    }
    const search = `from=${new Date(T0).toISOString()}&to=${new Date(T0 + 86_400_000).toISOString()}`;
    const times = new Map<string, number[]>(builds.map((b) => [b, []]));
    let first: string | undefined;
    let size = 0;
    for (let run = 0; run < RUNS; run++) {
      for (const { dist, endpoints } of run % 2 === 0 ? stores : [...stores].reverse()) {
        const t = performance.now();
        const r = await endpoints.slaBreaches(search);
        times.get(dist)!.push(performance.now() - t);
        const body = r.body as string;
        if (first === undefined) {
          first = body;
          size = body.length;
          const b = JSON.parse(body) as { incidents: unknown[]; outages: unknown[] };
          const want = Math.ceil(CUSTOMERS / EVERY);
          if (b.incidents.length !== want || b.outages.length !== want) {
            throw new Error(
              `incidents ${b.incidents.length}, outages ${b.outages.length}; expected ${want} each`,
            );
          }
        } else if (body !== first)
          throw new Error(`${dist}: another answer than the first build's`);
      }
    }
    for (const [dist, ms] of times) {
      ms.sort((a, b) => a - b);
      console.log(
        `${dist}: GET /api/v1/sla/breaches (${Math.ceil(CUSTOMERS / EVERY)} incidents and outages, ${(size / 1e6).toFixed(2)} MB JSON): ` +
          `median ${Math.round(ms[ms.length >> 1]!)} ms (min ${Math.round(ms[0]!)}, max ${Math.round(ms[ms.length - 1]!)}; ${ms.length} runs); ` +
          `sha256 ${createHash("sha256")
            .update(first ?? "")
            .digest("hex")
            .slice(0, 16)}`,
      );
    }
    for (const { store } of stores) await store.stop();
    await influx?.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
