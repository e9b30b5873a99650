/**
 * The pages of issue 17 (the console and the portal): the server's time to render them and the
 * bytes a browser loads, over real HTTP on loopback, logged in with a session cookie.
 *
 *   npm run build && node dist/bench/web-pages.js                     # 10 000 customers
 *   node dist/bench/web-pages.js --customers 10000 --runs 20
 *
 * The store (embedded DuckDB) holds a month of every customer's traffic (2026-10, the rows of
 * bench/overview-rows.ts, as bench/overview-scale.ts, plus the last day's 1d row that sums its
 * 1h rows, as the aggregator writes it) and, for customer c0's one link, the year
 * before it (2025-10-01 – 2026-10-01) at the levels the graphs read, as the aggregator writes
 * them: 5-minute rows (kept 500 days, so none of the year counts as pruned), and the 1-hour and
 * 1-day rows that are their sums. The customers are
 * bench/customers-config.ts's. The server has accounts (a DuckDB account file in a temp dir, an
 * operator and a customer user, logged in through the login forms) and a fixed clock
 * (2026-11-10), so no date meets the real calendar.
 *
 * Timed, each the first request and the median / max of `--runs`: the console overview of the
 * month sorted by bytes down, its second page, sorted by name, its CSV link; the customer page
 * (year view of c0's link); the traffic and response-time calls its year graph makes (and the
 * day / week / month views' traffic calls); the portal page. Before timing the answers are
 * checked: the overview's first rows are the top customers by the written sums and equal the
 * API's JSON, the CSV link equals the API's CSV, and every graph call's bytes in sum to what was
 * written for its range.
 *
 * Page weight: each page's HTML and every asset it loads (its `<script src>` and `<link href>`),
 * raw, gzip (node:zlib, level 6) and brotli, and what crosses the wire when the client sends
 * `Accept-Encoding: gzip, br` (as browsers do).
 */

import { mkdtemp, rm } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { brotliCompressSync, gzipSync } from "node:zlib";
import pino from "pino";
import { createAccountStore } from "../accounts/account-store.js";
import { accountsConfigOf, createAccounts } from "../accounts/accounts.js";
import { buildCustomerModel } from "../collector/classify/customer-model.js";
import { parseConfigText } from "../config/load-config.js";
import { createApiServer } from "../query/api/index.js";
import { createDuckDbDriver } from "../registry/duckdb-registry.js";
import type { SeriesLevel, SeriesRowDelta } from "../schema/series-store.js";
import { createDuckDbStore } from "../store/duckdb-store.js";
import { customersConfig } from "./customers-config.js";
import { bytesOf, DAY, DAYS, expectedIn, linkRow, rows, T0, timedGet } from "./overview-rows.js";

const PASSWORD = "a long enough password";
const FIVE = 300_000;
/** The year of c0's link: the 365 days before the month. */
const YEAR0 = T0 - 365 * DAY;
/** The pages' clock: 2026-11-10, after the month. */
const NOW = T0 + 40 * DAY;
const MONTH = "period=month&month=2026-10";

/** Bytes of c0's link in 5-minute slot s of the year (s = 0 at YEAR0). */
const slotBytes = (s: number, direction: "in" | "out") =>
  10_000 + ((s * 7_919 + (direction === "in" ? 0 : 5)) % 500_000);

/** The year's rows, a day at a time: 288 5m rows, 24 1h rows and a 1d row per direction. */
function* yearRows(): Generator<SeriesRowDelta[]> {
  const row = (level: SeriesLevel, startMs: number, direction: "in" | "out", bytes: number) =>
    linkRow(0, level, startMs, direction, bytes);
  for (let day = 0; day < 365; day++) {
    const batch: SeriesRowDelta[] = [];
    for (const direction of ["in", "out"] as const) {
      let daySum = 0;
      for (let h = 0; h < 24; h++) {
        let hourSum = 0;
        for (let m = 0; m < 12; m++) {
          const s = day * 288 + h * 12 + m;
          const b = slotBytes(s, direction);
          hourSum += b;
          batch.push(row("5m", YEAR0 + s * FIVE, direction, b));
        }
        daySum += hourSum;
        batch.push(row("1h", YEAR0 + day * DAY + h * 3_600_000, direction, hourSum));
      }
      batch.push(row("1d", YEAR0 + day * DAY, direction, daySum));
    }
    yield batch;
  }
}

/** What c0's link wrote in, over [fromMs, toMs) (whole 5-minute slots). */
function yearIn(fromMs: number, toMs: number): number {
  let sum = 0;
  for (let t = Math.max(fromMs, YEAR0); t < Math.min(toMs, T0); t += FIVE) {
    sum += slotBytes((t - YEAR0) / FIVE, "in");
  }
  return sum;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The bytes that crossed the wire (compressed if the server compressed). */
  wire: Buffer;
}

/** One GET over node:http (no automatic decompression: the wire bytes are what is counted). */
function get(base: string, path: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, wire: Buffer.concat(chunks) }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** A timed GET with the session cookie (bench/overview-rows.ts timedGet). */
const timed = (url: string, cookie: string, runs: number) => timedGet(url, { cookie }, runs);

const decodeHtml = (s: string) =>
  s
    .replaceAll("&amp;", "&")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&quot;", '"')
    .replaceAll("&#39;", "'");

/** The customer ids of the overview table's rows, in order. */
function tableIds(text: string): string[] {
  const body = text.split("<tbody>")[1]?.split("</tbody>")[0] ?? "";
  return [...body.matchAll(/<tr><td><a href="\/console\/customers\/([^"?]+)/g)].map((m) => m[1]!);
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`check failed: ${what}`);
}

function fail(what: string): never {
  throw new Error(`check failed: ${what}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      customers: { type: "string", default: "10000" },
      runs: { type: "string", default: "10" },
    },
  });
  const customers = Number(values.customers);
  const runs = Number(values.runs);
  if (!(customers >= 200 && runs > 0)) throw new Error("--customers ≥ 200 and --runs > 0");
  const load0 = loadavg();
  const dir = await mkdtemp(join(tmpdir(), "flowtally-bench-web-"));
  const parsed = parseConfigText(customersConfig(dir, customers), "bench.yaml", dir);
  // 5-minute rows kept 500 days (default 400): the year before the month is 405 days before the
  // clock, and its graph should take its peaks and 95th percentile from them all.
  const embedded = parsed.store.embedded;
  const cfg = {
    ...parsed,
    store: {
      ...parsed.store,
      embedded: { ...embedded, retention: { ...embedded.retention, "5m": 500 * DAY } },
    },
  };
  const store = createDuckDbStore({ path: join(dir, "series.duckdb") });
  await store.start();
  const accounts = createAccounts(accountsConfigOf(cfg.api), {
    store: createAccountStore(createDuckDbDriver({ path: join(dir, "registry.duckdb") })),
    now: () => NOW,
  });
  await accounts.start();
  try {
    const w0 = performance.now();
    let written = 0;
    for (const batch of rows(customers)) {
      await store.addDeltas(batch);
      written += batch.length;
    }
    // The month's last day as the aggregator would have it: a 1d row beside its 1h rows (the
    // sum of them), so that the month's whole days read every byte written.
    const lastDay: SeriesRowDelta[] = [];
    for (let c = 0; c < customers; c++) {
      for (const direction of ["in", "out"] as const) {
        let bytes = 0;
        for (let h = 0; h < 12; h++) bytes += bytesOf(c, 100 + h, direction);
        lastDay.push({
          customer: `c${c}`,
          site: `site-${c}`,
          link: `link-${c}`,
          trafficClass: "web",
          direction,
          level: "1d",
          startMs: T0 + (DAYS - 1) * DAY,
          bytes,
          packets: Math.ceil(bytes / 1200),
          flows: 1,
        });
      }
    }
    await store.addDeltas(lastDay);
    written += lastDay.length;
    let year: SeriesRowDelta[] = [];
    for (const batch of yearRows()) {
      year.push(...batch);
      if (year.length >= 20_000) {
        await store.addDeltas(year);
        written += year.length;
        year = [];
      }
    }
    await store.addDeltas(year);
    written += year.length;
    const writeS = (performance.now() - w0) / 1000;

    const admin = { user: "bench", role: "admin", via: "operator-token" } as const;
    await accounts.addUser(
      { id: "ops", role: "operator", auth: "local", password: PASSWORD, disabled: false },
      admin,
      "bench",
    );
    await accounts.addUser(
      {
        id: "c0-user",
        role: "customer",
        customer: "c0",
        auth: "local",
        password: PASSWORD,
        disabled: false,
      } as never,
      admin,
      "bench",
    );
    const api = createApiServer({
      config: cfg,
      model: buildCustomerModel(cfg),
      store,
      log: pino({ level: "warn" }),
      now: () => NOW,
      completeUntil: () => NOW,
      status: () => ({}),
      accounts,
    });
    const { port } = await api.listen();
    const base = `http://127.0.0.1:${port}`;
    try {
      const login = async (area: string, user: string) => {
        const r = await fetch(`${base}/${area}/login`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ user, password: PASSWORD }).toString(),
          redirect: "manual",
        });
        await r.text();
        check(r.status === 303, `${area} login answers 303, not ${r.status}`);
        return (r.headers.get("set-cookie") ?? "").split(";", 1)[0]!;
      };
      const ops = await login("console", "ops");
      const c0 = await login("portal", "c0-user");

      // The answers, checked before timing.
      const expected = Array.from({ length: customers }, (_, c) => ({
        id: `c${c}`,
        bytesIn: expectedIn(c),
      })).sort((a, b) => b.bytesIn - a.bytesIn || a.id.localeCompare(b.id));
      const overviewPath = `/console?${MONTH}&sort=bytesIn&order=desc`;
      const page1 = await timed(`${base}${overviewPath}`, ops, 0);
      const ids1 = tableIds(page1.body);
      check(ids1.length === 100, `page 1 shows 100 rows, not ${ids1.length}`);
      const apiUrl = `/api/v1/overview?from=${new Date(T0).toISOString()}&to=${new Date(T0 + 31 * DAY).toISOString()}&sort=bytesIn&order=desc`;
      const apiJson = JSON.parse((await timed(`${base}${apiUrl}`, ops, 0)).body) as {
        rows: Array<{ customer: string; bytesIn: number }>;
      };
      check(apiJson.rows.length === customers, "the API's overview has every customer");
      for (let k = 0; k < 200; k++) {
        check(
          apiJson.rows[k]!.customer === expected[k]!.id,
          `API row ${k} is ${expected[k]!.id}: ${JSON.stringify(apiJson.rows.slice(0, 2))}, ${JSON.stringify(expected.slice(0, 2))}`,
        );
        check(apiJson.rows[k]!.bytesIn === expected[k]!.bytesIn, `API row ${k}'s bytes in`);
      }
      ids1.forEach((id, k) => {
        check(id === expected[k]!.id, `page 1 row ${k} is ${expected[k]!.id}, not ${id}`);
      });
      const page2Path = `/console?${MONTH}&sort=bytesIn&order=desc&page=2`;
      const ids2 = tableIds((await timed(`${base}${page2Path}`, ops, 0)).body);
      ids2.forEach((id, k) => {
        check(id === expected[100 + k]!.id, `page 2 row ${k} is ${expected[100 + k]!.id}`);
      });
      const byNamePath = `/console?${MONTH}&sort=name&order=asc`;
      const names = Array.from({ length: customers }, (_, c) => ({
        id: `c${c}`,
        name: `Customer ${c}`,
      }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        .slice(0, 100)
        .map((x) => x.id);
      const idsByName = tableIds((await timed(`${base}${byNamePath}`, ops, 0)).body);
      check(
        idsByName[0] === names[0],
        `sorted by name, the first row is ${names[0]}, not ${idsByName[0]}`,
      );
      const csvHref = /<a href="([^"]+)" download hx-boost="false" data-csv>/.exec(page1.body)?.[1];
      const csvPath =
        csvHref === undefined ? fail("the overview has a CSV link") : decodeHtml(csvHref);
      const csv = (await timed(`${base}${csvPath}`, ops, 0)).body;
      // Every column, in the page's order (the rates beside the bytes).
      const fields =
        "customer,name,serviceType,bytesIn,bytesOut,bpsIn,bpsOut,packetsIn,packetsOut,flows";
      const apiCsv = (await timed(`${base}${apiUrl}&format=csv&fields=${fields}`, ops, 0)).body;
      check(csv === apiCsv, "the CSV link's answer equals the API's CSV");
      check(csv.trim().split("\n").length === customers + 1, "the CSV has a line per customer");

      const at = new Date(T0 - DAY).toISOString().slice(0, 10); // 2026-09-30, the year's last day
      const customerPath = `/console/customers/c0/sites/site-0/links/link-0?${MONTH}&view=year&at=${at}`;
      const customerPage = (await timed(`${base}${customerPath}`, ops, 0)).body;
      const trafficHref = /data-traffic="([^"]+)"/.exec(customerPage)?.[1];
      const rtHref = /data-response-times="([^"]+)"/.exec(customerPage)?.[1];
      if (trafficHref === undefined || rtHref === undefined)
        fail("the customer page has its graphs");
      const yearTraffic = decodeHtml(trafficHref);
      const yearRt = decodeHtml(rtHref);
      const yq = new URL(yearTraffic, base);
      check(
        yq.pathname === "/api/v1/customers/c0/traffic" &&
          yq.searchParams.get("from") === new Date(YEAR0).toISOString() &&
          yq.searchParams.get("to") === new Date(T0).toISOString() &&
          yq.searchParams.get("step") === "1d" &&
          yq.searchParams.get("link") === "link-0",
        `the year graph asks ${yearTraffic}`,
      );
      const views: Array<[string, string, number, number]> = [];
      for (const view of ["day", "week", "month"] as const) {
        const p = (
          await timed(
            `${base}/console/customers/c0/sites/site-0/links/link-0?${MONTH}&view=${view}&at=${at}`,
            ops,
            0,
          )
        ).body;
        const href = /data-traffic="([^"]+)"/.exec(p)?.[1] ?? fail(`the ${view} view has a graph`);
        const days = { day: 1, week: 7, month: 30 }[view];
        views.push([view, decodeHtml(href), T0 - days * DAY, days]);
      }
      const graphCalls: Array<[string, string, number]> = [
        ["year traffic (1d)", yearTraffic, 365],
        ...views.map(([v, u, , d]): [string, string, number] => [
          `${v} traffic (${v === "day" ? "5m" : "1h"})`,
          u,
          v === "day" ? 288 : d * 24,
        ]),
      ];
      for (const [name, url, points] of graphCalls) {
        const json = JSON.parse((await timed(`${base}${url}`, ops, 0)).body) as {
          points: Array<{ bytesIn: number }>;
        };
        const q = new URL(url, base).searchParams;
        const want = yearIn(Date.parse(q.get("from")!), Date.parse(q.get("to")!));
        check(
          json.points.length === points,
          `${name}: ${json.points.length} points, not ${points}`,
        );
        const got = json.points.reduce((s, p) => s + p.bytesIn, 0);
        check(got === want, `${name}: bytes in ${got}, wrote ${want}`);
      }
      {
        // The year's 95th percentile and daily peaks, from the bytes written (every slot has some).
        const json = JSON.parse((await timed(`${base}${yearTraffic}`, ops, 0)).body) as {
          points: Array<{ peakBpsIn: number }>;
          p95BpsIn: number;
        };
        const slots = (T0 - YEAR0) / FIVE;
        const all = Array.from({ length: slots }, (_, s) => slotBytes(s, "in")).sort(
          (a, b) => a - b,
        );
        const p95 = (all[Math.ceil(0.95 * slots) - 1]! * 8) / 300;
        check(json.p95BpsIn === p95, `year graph: p95 in ${json.p95BpsIn}, wrote ${p95}`);
        for (const day of [0, 200, 364]) {
          let max = 0;
          for (let s = day * 288; s < (day + 1) * 288; s++) max = Math.max(max, slotBytes(s, "in"));
          const peak = (max * 8) / 300;
          const got = json.points[day]?.peakBpsIn;
          check(got === peak, `year graph: day ${day}'s peak in ${got}, wrote ${peak}`);
        }
      }
      const portalPath = "/portal/customers/c0?period=LAST-7-DAYS";
      const portal = (await timed(`${base}${portalPath}`, c0, 0)).body;
      check(portal.includes("Customer 0"), "the portal page is c0's");

      // Timing.
      const cases: Array<[string, string, string]> = [
        ["console overview, month, by bytes down (page 1 of 100)", overviewPath, ops],
        ["  the same, page 2", page2Path, ops],
        ["  sorted by name", byNamePath, ops],
        ["  its CSV link (every customer)", csvPath, ops],
        ["API overview JSON (every customer)", apiUrl, ops],
        ["customer page, link, year view", customerPath, ops],
        ["  year graph: traffic (365 × 1d)", yearTraffic, ops],
        ["  year graph: response times", yearRt, ops],
        ...graphCalls
          .slice(1)
          .map(([name, url]): [string, string, string] => [
            `  ${name.replace(" traffic", " graph: traffic")}`,
            url,
            ops,
          ]),
        ["portal page of c0, LAST-7-DAYS", portalPath, c0],
      ];
      const out: string[] = [];
      for (const [name, path, cookie] of cases) {
        const r = await timed(`${base}${path}`, cookie, runs);
        out.push(
          `| ${name} | ${r.first.toFixed(0)} | ${r.median.toFixed(1)} | ${r.max.toFixed(0)} | ${(Buffer.byteLength(r.body) / 1024).toFixed(1)} |`,
        );
      }

      // Where the year graph's time goes: the store's reads of its traffic call (the day sums,
      // the days' highest 1m samples, and in one sampleStats read the days' highest 5m samples
      // and the 95th percentile's 5m sample; before, samplePeaks and sampleRank apart), in
      // process; and the 5-minute samples themselves, which the call read before the store took
      // the peaks and the percentile.
      const breakdown: string[] = [];
      const yearQ = { customer: "c0", site: "site-0", link: "link-0", fromMs: YEAR0, toMs: T0 };
      const storeReads: Array<[string, () => Promise<unknown[]>]> = [
        ["store.traffic, level 1d", () => store.traffic({ ...yearQ, level: "1d" })],
        [
          "store.samplePeaks, level 5m, per day",
          () => store.samplePeaks({ ...yearQ, level: "5m", stepMs: DAY }),
        ],
        [
          "store.samplePeaks, level 1m, per day",
          () => store.samplePeaks({ ...yearQ, level: "1m", stepMs: DAY }),
        ],
        [
          "store.sampleRank, level 5m, rank 5 257 of 105 120",
          async () => [await store.sampleRank({ ...yearQ, level: "5m", rank: 5_257 })],
        ],
        [
          "store.sampleStats, level 5m: per-day peaks and rank 5 257 (the traffic call's one read)",
          async () =>
            (await store.sampleStats({ ...yearQ, level: "5m", stepMs: DAY, rank: 5_257 })).peaks,
        ],
        ["(before: store.samples, level 5m)", () => store.samples({ ...yearQ, level: "5m" })],
      ];
      for (const [name, read] of storeReads) {
        const times: number[] = [];
        let n = 0;
        for (let k = 0; k < runs; k++) {
          const t = performance.now();
          n = (await read()).length;
          times.push(performance.now() - t);
        }
        times.sort((a, b) => a - b);
        breakdown.push(
          `| ${name} (a year of c0's link) | ${n} | ${times[Math.floor(times.length / 2)]!.toFixed(1)} | ${times[times.length - 1]!.toFixed(0)} |`,
        );
      }

      // Page weight.
      const weights: string[] = [];
      const pages: Array<[string, string, string]> = [
        ["/console (overview, 100 rows)", overviewPath, ops],
        ["/console/customers/… (year view)", customerPath, ops],
        ["/portal/customers/c0", portalPath, c0],
        ["/console/login", "/console/login", ""],
        ["/portal/login", "/portal/login", ""],
      ];
      const seen = new Map<string, { raw: number; gz: number; br: number; wire: number }>();
      const weigh = async (path: string, cookie: string) => {
        const headers: Record<string, string> = cookie === "" ? {} : { cookie };
        const plain = await get(base, path, headers);
        check(plain.status === 200, `${path}: ${plain.status}`);
        const sent = await get(base, path, { ...headers, "accept-encoding": "gzip, br" });
        const raw = plain.wire;
        return {
          raw: raw.length,
          gz: gzipSync(raw).length,
          br: brotliCompressSync(raw).length,
          wire: sent.wire.length,
          text: raw.toString("utf8"),
        };
      };
      const kb = (n: number) => (n / 1024).toFixed(1);
      for (const [name, path, cookie] of pages) {
        const page = await weigh(path, cookie);
        const refs = [
          ...page.text.matchAll(/<script src="([^"]+)"/g),
          ...page.text.matchAll(/<link [^>]*href="([^"]+)"/g),
        ].map((m) => decodeHtml(m[1]!));
        const sum = { raw: 0, gz: 0, br: 0, wire: 0 };
        for (const ref of refs) {
          let a = seen.get(ref);
          if (a === undefined) {
            const w = await weigh(ref, "");
            a = { raw: w.raw, gz: w.gz, br: w.br, wire: w.wire };
            seen.set(ref, a);
          }
          sum.raw += a.raw;
          sum.gz += a.gz;
          sum.br += a.br;
          sum.wire += a.wire;
        }
        weights.push(
          `| ${name} | ${kb(page.raw)} / ${kb(page.gz)} / ${kb(page.br)} | ${refs.length} | ${kb(sum.raw)} / ${kb(sum.gz)} / ${kb(sum.br)} | ${kb(page.wire + sum.wire)} |`,
        );
      }
      const assetRows = [...seen].map(
        ([ref, a]) => `| ${ref} | ${kb(a.raw)} | ${kb(a.gz)} | ${kb(a.br)} | ${kb(a.wire)} |`,
      );

      const load1 = loadavg();
      process.stdout.write(
        `${customers} customers, a month (${DAYS} days) each + a year of c0's link (5m/1h/1d): ${written} rows written in ${writeS.toFixed(1)} s; answers checked; load average ${load0.map((x) => x.toFixed(1)).join(" ")} at the start, ${load1.map((x) => x.toFixed(1)).join(" ")} at the end; ${runs} runs per case\n\n`,
      );
      process.stdout.write(
        `| request (session cookie, loopback) | first ms | median ms | max ms | answer KiB |\n|---|---:|---:|---:|---:|\n${out.join("\n")}\n\n`,
      );
      process.stdout.write(
        `| the year graph's store reads | rows | median ms | max ms |\n|---|---:|---:|---:|\n${breakdown.join("\n")}\n\n`,
      );
      process.stdout.write(
        `| page | HTML KiB raw / gzip / br | assets | assets KiB raw / gzip / br | on the wire KiB (Accept-Encoding: gzip, br) |\n|---|---|---:|---|---:|\n${weights.join("\n")}\n\n`,
      );
      process.stdout.write(
        `| asset | raw KiB | gzip KiB | br KiB | on the wire KiB |\n|---|---:|---:|---:|---:|\n${assetRows.join("\n")}\n`,
      );
    } finally {
      await api.close();
    }
  } finally {
    await accounts.stop();
    await store.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
