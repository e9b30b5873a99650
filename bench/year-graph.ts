/**
 * The store reads of a year's traffic graph (issue 17: `traffic?step=1d` over 365 days of one
 * link), on the embedded store and on InfluxDB, in process: each read alone, and the traffic
 * call's reads as the endpoint makes them now (the 1d points, the 1-minute peaks, and the
 * 5-minute peaks and rank in one `sampleStats` call) and as it made them before (the 5-minute
 * peaks and the rank as two calls, `samplePeaks` and `sampleRank`).
 *
 *   npm run build && node dist/bench/year-graph.js                  # both stores, 20 runs
 *   node dist/bench/year-graph.js --store duckdb --runs 50
 *
 * The year is bench/web-pages.ts's (c0's link, 2025-10-01 – 2026-10-01: 5-minute rows and the
 * 1-day rows that sum them, 210 970 rows); the answers are checked against the generator first:
 * every day's peak and the year's 95th percentile.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pino from "pino";
import { validateConfig } from "../config/load-config.js";
import { p95Rank } from "../query/traffic.js";
import type { SeriesRowDelta, SeriesStore } from "../schema/series-store.js";
import { createDuckDbStore } from "../store/duckdb-store.js";
import { createInfluxStore } from "../store/influx-store.js";
import { DAY, linkRow, T0 } from "./overview-rows.js";
import { startInfluxd, type TestServer } from "./servers.js";

const FIVE = 300_000;
const YEAR0 = T0 - 365 * DAY;
const SLOTS = 365 * 288;

/** Bytes of the link in 5-minute slot s of the year (bench/web-pages.ts's). */
const slotBytes = (s: number, direction: "in" | "out") =>
  10_000 + ((s * 7_919 + (direction === "in" ? 0 : 5)) % 500_000);

function* yearRows(): Generator<SeriesRowDelta[]> {
  let batch: SeriesRowDelta[] = [];
  for (let day = 0; day < 365; day++) {
    for (const direction of ["in", "out"] as const) {
      let sum = 0;
      for (let k = 0; k < 288; k++) {
        const s = day * 288 + k;
        sum += slotBytes(s, direction);
        batch.push(linkRow(0, "5m", YEAR0 + s * FIVE, direction, slotBytes(s, direction)));
      }
      batch.push(linkRow(0, "1d", YEAR0 + day * DAY, direction, sum));
    }
    if (batch.length >= 20_000) {
      yield batch;
      batch = [];
    }
  }
  yield batch;
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`check failed: ${what}`);
}

async function measure(name: string, store: SeriesStore, runs: number): Promise<string[]> {
  const w0 = performance.now();
  for (const batch of yearRows()) await store.addDeltas(batch);
  const writeS = (performance.now() - w0) / 1000;
  const q = { customer: "c0", site: "site-0", link: "link-0", fromMs: YEAR0, toMs: T0 };
  const rank = p95Rank(SLOTS);
  const stepMs = DAY;

  // The answers, from the generator.
  const desc = Array.from({ length: SLOTS }, (_, s) => slotBytes(s, "in")).sort((a, b) => b - a);
  const stats = await store.sampleStats({ ...q, level: "5m", stepMs, rank });
  check(stats.rank?.bytesIn === desc[rank - 1], `${name}: rank ${stats.rank?.bytesIn}`);
  check(stats.peaks.length === 365, `${name}: ${stats.peaks.length} daily peaks`);
  stats.peaks.forEach((p, day) => {
    let max = 0;
    for (let s = day * 288; s < (day + 1) * 288; s++) max = Math.max(max, slotBytes(s, "in"));
    check(p.timeMs === YEAR0 + day * DAY && p.bytesIn === max, `${name}: day ${day}'s peak`);
  });

  const reads: Array<[string, () => Promise<unknown>]> = [
    ["traffic, level 1d (365 rows)", () => store.traffic({ ...q, level: "1d" })],
    [
      "samplePeaks, 1m, per day (none stored)",
      () => store.samplePeaks({ ...q, level: "1m", stepMs }),
    ],
    ["samplePeaks, 5m, per day", () => store.samplePeaks({ ...q, level: "5m", stepMs })],
    [
      `sampleRank, 5m, rank ${rank} of ${SLOTS}`,
      () => store.sampleRank({ ...q, level: "5m", rank }),
    ],
    [
      "sampleStats, 5m: the peaks and the rank",
      () => store.sampleStats({ ...q, level: "5m", stepMs, rank }),
    ],
    [
      "**the traffic call's reads, before** (4 calls)",
      () =>
        Promise.all([
          store.traffic({ ...q, level: "1d" }),
          store.samplePeaks({ ...q, level: "1m", stepMs }),
          store.samplePeaks({ ...q, level: "5m", stepMs }),
          store.sampleRank({ ...q, level: "5m", rank }),
        ]),
    ],
    [
      "**the traffic call's reads, now** (3 calls)",
      () =>
        Promise.all([
          store.traffic({ ...q, level: "1d" }),
          store.samplePeaks({ ...q, level: "1m", stepMs }),
          store.sampleStats({ ...q, level: "5m", stepMs, rank }),
        ]),
    ],
  ];
  const out: string[] = [];
  for (const [read, f] of reads) {
    await f(); // warm
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let k = 0; k < runs; k++) {
      const c0 = process.cpuUsage();
      const t = performance.now();
      await f();
      wall.push(performance.now() - t);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
    }
    wall.sort((a, b) => a - b);
    cpu.sort((a, b) => a - b);
    const mid = Math.floor(runs / 2);
    out.push(
      `| ${name} | ${read} | ${wall[mid]!.toFixed(1)} | ${wall[0]!.toFixed(1)} | ${wall[runs - 1]!.toFixed(0)} | ${cpu[mid]!.toFixed(1)} |`,
    );
  }
  process.stderr.write(`${name}: year written in ${writeS.toFixed(1)} s, answers checked\n`);
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      store: { type: "string", default: "both" },
      runs: { type: "string", default: "20" },
    },
  });
  const runs = Number(values.runs);
  const which = values.store;
  if (!(runs > 0) || !["both", "duckdb", "influx"].includes(which)) {
    throw new Error("--runs > 0, --store both | duckdb | influx");
  }
  const load0 = loadavg();
  const rows: string[] = [];
  if (which !== "influx") {
    const dir = await mkdtemp(join(tmpdir(), "flowtally-bench-year-"));
    const store = createDuckDbStore({ path: join(dir, "series.duckdb") });
    await store.start();
    try {
      rows.push(...(await measure("embedded (DuckDB)", store, runs)));
    } finally {
      await store.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }
  if (which !== "duckdb") {
    let influxd: TestServer | undefined;
    try {
      influxd = await startInfluxd();
      const url = `http://127.0.0.1:${influxd.port}`;
      const created = await fetch(`${url}/query`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ q: "CREATE DATABASE flowtally" }).toString(),
      });
      if (!created.ok) throw new Error(`influxd: CREATE DATABASE: ${created.status}`);
      // A year's reads take seconds on InfluxDB 1.6: the default timeout (10 s) is too short here.
      const cfg = validateConfig({
        store: { influx: { api: "v1", url, database: "flowtally", timeout: "120s" } },
      });
      const store = createInfluxStore(cfg.store.influx!, { log: pino({ level: "warn" }) });
      await store.start();
      try {
        rows.push(...(await measure("InfluxDB 1.6 (v1)", store, runs)));
      } finally {
        await store.stop();
      }
    } finally {
      await influxd?.close();
    }
  }
  const load1 = loadavg();
  process.stdout.write(
    `load average ${load0.map((x) => x.toFixed(1)).join(" ")} at the start, ${load1.map((x) => x.toFixed(1)).join(" ")} at the end; ${runs} runs per read\n\n` +
      `| store | read (a year of one link) | median ms | min ms | max ms | CPU ms (process) |\n|---|---|---:|---:|---:|---:|\n${rows.join("\n")}\n`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
