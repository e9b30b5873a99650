/**
 * Embedded store benchmark (store/duckdb-store.ts): write throughput of `addDeltas` and the
 * latency of the reads the portals make, on a real DuckDB file.
 *
 *   npm run build && node dist/bench/store.js            # 1000 customers × 1 day: 5.76 M deltas
 *   node dist/bench/store.js --customers 100 --days 30   # a month of 1-minute rows
 *   node dist/bench/store.js --order random --days 3  # late data: keys and minutes at random
 *   node dist/bench/store.js --keys 4 --batch 20000 --path /var/tmp/bench.duckdb --keep --json
 *
 * Writes what the aggregator writes: for every minute and every customer, `--keys` series
 * (site/link/class/direction combinations), each as one delta per level (1m, 5m, 1h, 1d), in
 * `addDeltas` calls of `--batch` rows. `--order time` (default) writes minute after minute, as
 * the aggregator does; `--order random` draws each delta's minute, customer and series at
 * random (the same count), the worst case for the primary-key index and for merging a batch. Then, after `stop()` and a new `start()`
 * on the same file (a cold store), times each read `--repeat` times and prints the median:
 * a month's overview of all customers (whole days, and with ragged edges that need every
 * level), the same month summed from the 1-minute rows by raw SQL (the alternative that
 * `overview` avoids), one customer's traffic for a day (1m and 1h points), and its 5-minute
 * samples for a month (the 95th percentile's input).
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DuckDBInstance } from "@duckdb/node-api";
import type { SeriesLevel, SeriesRowDelta, SeriesStore } from "../schema/series-store.js";
import { createDuckDbStore } from "../store/duckdb-store.js";
import { createRng } from "../test/fuzz/mutate.js";

const MINUTE = 60_000;
const DAY = 86_400_000;
const LEVELS: ReadonlyArray<readonly [SeriesLevel, number]> = [
  ["1m", MINUTE],
  ["5m", 300_000],
  ["1h", 3_600_000],
  ["1d", DAY],
];
const MIB = 1024 * 1024;

interface Options {
  customers: number;
  days: number;
  keys: number;
  batch: number;
  order: "time" | "random";
  repeat: number;
  path: string | undefined;
  keep: boolean;
  json: boolean;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      customers: { type: "string", default: "1000" },
      days: { type: "string", default: "1" },
      keys: { type: "string", default: "1" },
      batch: { type: "string", default: "10000" },
      order: { type: "string", default: "time" },
      repeat: { type: "string", default: "5" },
      path: { type: "string" },
      keep: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  if (values.order !== "time" && values.order !== "random") {
    throw new Error(`--order ${values.order}: expected time or random`);
  }
  return {
    customers: positiveInteger("customers", values.customers),
    days: positiveInteger("days", values.days),
    keys: positiveInteger("keys", values.keys),
    batch: positiveInteger("batch", values.batch),
    order: values.order,
    repeat: positiveInteger("repeat", values.repeat),
    path: values.path,
    keep: values.keep,
    json: values.json,
  };
}

function positiveInteger(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new Error(`--${name} ${text}: expected a positive integer`);
  return n;
}

/** The data starts at a UTC midnight so that `--days` whole days fill the 1d level. */
const T0 = Date.UTC(2026, 9, 1);

/** Deterministic byte counts of a busy access link: up to 3 GB a minute (400 Mbit/s). */
function bytesFor(customer: number, key: number, minute: number): number {
  return 1_000_000 + ((customer * 7_919 + key * 104_729 + minute * 15_485_863) % 3_000_000_000);
}

/**
 * Deltas, `batch` rows at a time. Adds the bytes of each customer into `totals` in JS: what
 * `overview` must then return exactly.
 */
function* batches(o: Options, totals: Float64Array): Generator<SeriesRowDelta[]> {
  const minutes = o.days * 1440;
  const random = createRng(1).float;
  let batch: SeriesRowDelta[] = [];
  for (let minute = 0; minute < minutes; minute++) {
    for (let c = 0; c < o.customers; c++) {
      for (let k = 0; k < o.keys; k++) {
        let [m, cu, key] = [minute, c, k];
        if (o.order === "random") {
          m = Math.floor(random() * minutes);
          cu = Math.floor(random() * o.customers);
          key = Math.floor(random() * o.keys);
        }
        const minuteMs = T0 + m * MINUTE;
        const bytes = bytesFor(cu, key, m);
        totals[cu]! += bytes;
        for (const [level, ms] of LEVELS) {
          batch.push({
            customer: `customer-${cu}`,
            site: `site-${key % 2}`,
            link: `link-${key}`,
            trafficClass: key % 3 === 0 ? "default" : "voip",
            direction: key % 2 === 0 ? "in" : "out",
            level,
            startMs: Math.floor(minuteMs / ms) * ms,
            bytes,
            packets: Math.ceil(bytes / 1200),
            flows: 1 + (bytes % 50),
          });
          if (batch.length === o.batch) {
            yield batch;
            batch = [];
          }
        }
      }
    }
  }
  if (batch.length > 0) yield batch;
}

interface WriteResult {
  deltas: number;
  calls: number;
  seconds: number;
  cpuSeconds: number;
  deltasPerSecond: number;
  /** Median and slowest `addDeltas` call. */
  callMsMedian: number;
  callMsMax: number;
  stopMs: number;
  fileMiB: number;
  rssMiB: number;
}

async function write(
  store: SeriesStore,
  o: Options,
  path: string,
  totals: Float64Array,
): Promise<WriteResult> {
  const callMs: number[] = [];
  let deltas = 0;
  let generating = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  let lastReport = start;
  const it = batches(o, totals);
  for (;;) {
    const g = performance.now();
    const next = it.next();
    generating += performance.now() - g;
    if (next.done) break;
    const t = performance.now();
    await store.addDeltas(next.value);
    const now = performance.now();
    callMs.push(now - t);
    deltas += next.value.length;
    if (now - lastReport > 10_000) {
      const rate = deltas / ((now - start - generating) / 1000);
      process.stderr.write(`  ${deltas} deltas, ${Math.round(rate)}/s\n`);
      lastReport = now;
    }
  }
  // Generating the deltas is the benchmark's own work, not the store's.
  const seconds = (performance.now() - start - generating) / 1000;
  const used = process.cpuUsage(cpu);
  const rssMiB = process.memoryUsage().rss / MIB;
  const s = performance.now();
  await store.stop();
  const stopMs = performance.now() - s;
  callMs.sort((a, b) => a - b);
  return {
    deltas,
    calls: callMs.length,
    seconds,
    cpuSeconds: (used.user + used.system) / 1e6,
    deltasPerSecond: deltas / seconds,
    callMsMedian: callMs[Math.floor(callMs.length / 2)] ?? 0,
    callMsMax: callMs[callMs.length - 1] ?? 0,
    stopMs,
    fileMiB: (await stat(path)).size / MIB,
    rssMiB,
  };
}

interface ReadResult {
  name: string;
  rows: number;
  msMedian: number;
  msFirst: number;
}

async function timed(
  name: string,
  repeat: number,
  run: () => Promise<number>,
): Promise<ReadResult> {
  const ms: number[] = [];
  let rows = 0;
  for (let i = 0; i < repeat; i++) {
    const t = performance.now();
    rows = await run();
    ms.push(performance.now() - t);
  }
  const first = ms[0] ?? 0;
  ms.sort((a, b) => a - b);
  return { name, rows, msMedian: ms[Math.floor(ms.length / 2)] ?? 0, msFirst: first };
}

async function reads(
  path: string,
  o: Options,
  expected: Float64Array,
): Promise<{ storedRows: number; results: ReadResult[] }> {
  const store = createDuckDbStore({ path });
  await store.start();
  const end = T0 + o.days * DAY;
  const monthFrom = end - 30 * DAY;
  const ragged = { fromMs: monthFrom + 7 * 3_600_000 + 23 * MINUTE, toMs: end - 17 * MINUTE };
  const customer = `customer-${Math.floor(o.customers / 2)}`;
  const lastDay = { customer, fromMs: end - DAY, toMs: end };
  const results: ReadResult[] = [];
  try {
    const all = await store.overview({ fromMs: monthFrom, toMs: end });
    const got = new Map(all.map((r) => [r.customer, r.bytesIn + r.bytesOut]));
    for (const [c, want] of expected.entries()) {
      const bytes = got.get(`customer-${c}`) ?? 0;
      if (bytes !== want)
        throw new Error(`overview: customer-${c} ${bytes} bytes, expected ${want}`);
    }
    results.push(
      await timed("overview, 30 days, whole days (1d rows)", o.repeat, async () => {
        return (await store.overview({ fromMs: monthFrom, toMs: end })).length;
      }),
      await timed("overview, 30 days, ragged edges (1d+1h+5m+1m rows)", o.repeat, async () => {
        return (await store.overview(ragged)).length;
      }),
      await timed("overview, 30 days, 10 customers", o.repeat, async () => {
        const customers = Array.from({ length: 10 }, (_, i) => `customer-${i}`);
        return (await store.overview({ fromMs: monthFrom, toMs: end, customers })).length;
      }),
      await timed("traffic, 1 customer, 1 day, 1m points", o.repeat, async () => {
        return (await store.traffic({ ...lastDay, level: "1m" })).length;
      }),
      await timed("traffic, 1 customer, 1 day, 1h points", o.repeat, async () => {
        return (await store.traffic({ ...lastDay, level: "1h" })).length;
      }),
      await timed("samples, 1 customer, 30 days, 5m", o.repeat, async () => {
        return (await store.samples({ customer, fromMs: monthFrom, toMs: end, level: "5m" }))
          .length;
      }),
    );
  } finally {
    await store.stop();
  }
  // The alternative to tiling: the month summed from the 1-minute rows. Raw SQL on the same file.
  const instance = await DuckDBInstance.create(path);
  const connection = await instance.connect();
  try {
    const count = await connection.runAndReadAll("SELECT count(*) FROM series");
    const storedRows = Number(count.getRowsJS()[0]?.[0]);
    results.push(
      await timed("(raw SQL) overview, 30 days, from 1m rows only", o.repeat, async () => {
        const reader = await connection.runAndReadAll(
          `SELECT customer, sum(bytes) FILTER (WHERE direction = 'in'),
             sum(bytes) FILTER (WHERE direction = 'out'), sum(flows)
           FROM series_1m WHERE start_ms >= $1 AND start_ms < $2 GROUP BY customer`,
          [BigInt(monthFrom), BigInt(end)],
        );
        return reader.currentRowCount;
      }),
    );
    return { storedRows, results };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function main(): Promise<void> {
  const o = parseOptions();
  const dir = o.path === undefined ? await mkdtemp(join(tmpdir(), "flowtally-bench-")) : undefined;
  const path = o.path ?? join(dir!, "series.duckdb");
  try {
    const store = createDuckDbStore({ path });
    await store.start();
    const totals = new Float64Array(o.customers);
    const w = await write(store, o, path, totals);
    const { storedRows, results: r } = await reads(path, o, totals);
    if (o.json) {
      console.log(JSON.stringify({ options: o, write: w, storedRows, reads: r }, null, 2));
      return;
    }
    console.log(
      `${o.customers} customers × ${o.keys} series × ${o.days * 1440} minutes × 4 levels, ${o.order} order, batches of ${o.batch}: ${w.deltas} deltas → ${storedRows} stored rows\n`,
    );
    console.log(
      "| deltas | calls | s | deltas/s | deltas/CPU-s | ms/call median, max | stop (CHECKPOINT) ms | file MiB | RSS MiB |",
    );
    console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    console.log(
      `| ${w.deltas} | ${w.calls} | ${w.seconds.toFixed(1)} | ${Math.round(w.deltasPerSecond)} | ${Math.round(w.deltas / w.cpuSeconds)} | ${w.callMsMedian.toFixed(1)}, ${w.callMsMax.toFixed(1)} | ${w.stopMs.toFixed(0)} | ${w.fileMiB.toFixed(1)} | ${w.rssMiB.toFixed(0)} |`,
    );
    console.log(`\n| read (after a restart) | rows | ms median of ${o.repeat} | ms first |`);
    console.log("|---|---:|---:|---:|");
    for (const x of r) {
      console.log(`| ${x.name} | ${x.rows} | ${x.msMedian.toFixed(1)} | ${x.msFirst.toFixed(1)} |`);
    }
  } finally {
    if (dir !== undefined && !o.keep) await rm(dir, { recursive: true, force: true });
    else console.log(`\nkept ${path}`);
  }
}

await main();
