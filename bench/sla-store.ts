/**
 * The embedded store's response-time writes and the SLA series derived in them
 * (store/duckdb-writes.ts `addResponseTimes`, sla/series.ts): what the run pipeline writes at
 * each hand-over, timed on a real DuckDB file, for one or more builds of the store side by side
 * in the same run (so that the machine's load is the same for each).
 *
 *   npm run build && node dist/bench/sla-store.js                       # this build
 *   node dist/bench/sla-store.js --impl dist --impl /tmp/base/dist       # two builds, interleaved
 *   node dist/bench/sla-store.js --customers 2000 --minutes 20 --late 0.1 --rounds 3 --json
 *
 * Every minute, `--flushes` calls of `addResponseTimes` (the pipeline's hand-overs); each call
 * holds a delta for every (customer, class) at each level (1m, 5m, 1h, 1d) with a few sketch
 * bins, and `--late` of its 1-minute keys again for an earlier minute (late data: a minute
 * judged before is judged again). Each `--impl` (a dist directory holding
 * store/duckdb-store.js) writes the same rows into its own fresh file; the builds take turns
 * for `--rounds` rounds. After the writes the SLA rows of each build are read back and must be
 * equal across builds (the derivation's result, not only its speed). Reported per build:
 * rows/s over the calls' wall clock, ms per call (median, p90, max), CPU ms of the process
 * during the calls (DuckDB's threads included).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import type {
  ResponseTimeRowDelta,
  SeriesLevel,
  SeriesStore,
  SlaRow,
} from "../schema/series-store.js";
import type { DuckDbStoreOptions } from "../store/duckdb-store.js";
import { createRng } from "../test/fuzz/mutate.js";

const MINUTE = 60_000;
const LEVELS: ReadonlyArray<readonly [SeriesLevel, number]> = [
  ["1m", MINUTE],
  ["5m", 300_000],
  ["1h", 3_600_000],
  ["1d", 86_400_000],
];
const CLASSES = ["web", "mail", "voip"];
/** A fixed day far from the real clock. */
const T0 = Date.UTC(2026, 0, 5);

interface Options {
  customers: number;
  minutes: number;
  flushes: number;
  late: number;
  rounds: number;
  impls: string[];
  json: boolean;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      customers: { type: "string", default: "1000" },
      minutes: { type: "string", default: "10" },
      flushes: { type: "string", default: "4" },
      late: { type: "string", default: "0.05" },
      rounds: { type: "string", default: "2" },
      impl: { type: "string", multiple: true },
      json: { type: "boolean", default: false },
    },
  });
  const late = Number(values.late);
  if (!(late >= 0 && late <= 1)) throw new Error(`--late ${values.late}: expected 0 to 1`);
  return {
    customers: positive("customers", values.customers),
    minutes: positive("minutes", values.minutes),
    flushes: positive("flushes", values.flushes),
    late,
    rounds: positive("rounds", values.rounds),
    impls: values.impl ?? [join(import.meta.dirname, "..")],
    json: values.json,
  };
}

function positive(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`--${name} ${v}: expected a positive integer`);
  return n;
}

/** The calls of one minute's flush `f`: the same for every build (seeded by minute and flush). */
function flushRows(o: Options, minute: number, f: number): ResponseTimeRowDelta[] {
  const rng = createRng(minute * 1000 + f + 1);
  const rand = () => rng.float();
  const rows: ResponseTimeRowDelta[] = [];
  const startOf = (m: number, ms: number) => Math.floor((T0 + m * MINUTE) / ms) * ms;
  const row = (customer: number, cls: string, m: number, level: SeriesLevel, ms: number) => {
    const transactions = 1 + Math.floor(rand() * 20);
    const good = Math.floor(transactions * (0.6 + 0.4 * rand()));
    rows.push({
      level,
      startMs: startOf(m, ms),
      customer: `c${customer}`,
      site: "hq",
      link: "fiber",
      trafficClass: cls,
      transactions,
      good,
      retransmissions: Math.floor(rand() * 3),
      networkDelaySumUs: transactions * 20_000,
      networkDelayCount: transactions,
      serverDelaySumUs: transactions * 50_000,
      serverDelayCount: transactions,
      totalDelaySumUs: transactions * 90_000,
      estimated: 0,
      bins: [
        [100 + Math.floor(rand() * 50), transactions - 1],
        [200, 1],
      ],
    });
  };
  for (let c = 0; c < o.customers; c++) {
    for (const cls of CLASSES) {
      for (const [level, ms] of LEVELS) row(c, cls, minute, level, ms);
      if (minute > 0 && rand() < o.late) {
        const m = Math.max(0, minute - 1 - Math.floor(rand() * 5));
        for (const [level, ms] of LEVELS) row(c, cls, m, level, ms);
      }
    }
  }
  return rows;
}

interface Build {
  impl: string;
  store: SeriesStore;
  dir: string;
  callsMs: number[];
  cpuUs: number;
  rows: number;
}

async function openBuild(impl: string): Promise<Build> {
  const url = pathToFileURL(join(resolve(impl), "store", "duckdb-store.js")).href;
  const mod = (await import(url)) as {
    createDuckDbStore: (o: DuckDbStoreOptions) => SeriesStore;
  };
  const dir = await mkdtemp(join(tmpdir(), "flowtally-bench-sla-store-"));
  const store = mod.createDuckDbStore({
    path: join(dir, "store.duckdb"),
    slaLevel: () => ({ thresholdMs: 100, targetPercent: 80 }),
  });
  await store.start();
  return { impl, store, dir, callsMs: [], cpuUs: 0, rows: 0 };
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

async function main(): Promise<void> {
  const o = parseOptions();
  const builds: Build[] = [];
  for (const impl of o.impls) builds.push(await openBuild(impl));
  const perRound = Math.ceil(o.minutes / o.rounds);
  // Builds take turns round by round, each writing the same minutes.
  for (let round = 0; round < o.rounds; round++) {
    for (const b of builds) {
      for (let m = round * perRound; m < Math.min(o.minutes, (round + 1) * perRound); m++) {
        for (let f = 0; f < o.flushes; f++) {
          const rows = flushRows(o, m, f);
          const cpu = process.cpuUsage();
          const t = performance.now();
          await b.store.addResponseTimes(rows);
          b.callsMs.push(performance.now() - t);
          const used = process.cpuUsage(cpu);
          b.cpuUs += used.user + used.system;
          b.rows += rows.length;
        }
      }
    }
  }
  // The derived SLA rows must not depend on the build.
  const read = async (s: SeriesStore) => {
    const out: SlaRow[] = [];
    for (const [level] of LEVELS) {
      out.push(...(await s.slaRows({ level, fromMs: T0 - 86_400_000, toMs: T0 + 2 * 86_400_000 })));
    }
    return JSON.stringify(out);
  };
  // A build without the SLA series (no slaRows, or none derived) is timed only, for their cost.
  const judged: Array<{ impl: string; rows: string }> = [];
  for (const b of builds) {
    if (typeof b.store.slaRows !== "function") continue;
    const rows = await read(b.store);
    if (rows !== "[]") judged.push({ impl: b.impl, rows });
  }
  for (const j of judged.slice(1)) {
    if (j.rows !== judged[0]!.rows) {
      throw new Error(`${j.impl}: SLA rows differ from ${judged[0]!.impl}`);
    }
  }
  const results = builds.map((b) => {
    const sorted = [...b.callsMs].sort((x, y) => x - y);
    const wall = b.callsMs.reduce((a, x) => a + x, 0);
    return {
      impl: b.impl,
      calls: b.callsMs.length,
      rows: b.rows,
      rowsPerSecond: Math.round(b.rows / (wall / 1000)),
      callMs: {
        median: +quantile(sorted, 0.5).toFixed(1),
        p90: +quantile(sorted, 0.9).toFixed(1),
        max: +sorted[sorted.length - 1]!.toFixed(1),
      },
      wallMs: Math.round(wall),
      cpuMs: Math.round(b.cpuUs / 1000),
    };
  });
  for (const b of builds) {
    await b.store.stop();
    await rm(b.dir, { recursive: true, force: true });
  }
  if (o.json) {
    console.log(JSON.stringify({ options: o, slaRowsCompared: judged.length, results }, null, 2));
    return;
  }
  console.log(
    `${o.customers} customers × ${CLASSES.length} classes × 4 levels, ${o.minutes} minutes × ${o.flushes} calls, late ${o.late}; SLA rows equal across the ${judged.length} builds that derive them`,
  );
  console.log("impl | calls | rows | rows/s | ms/call median, p90, max | wall ms | CPU ms");
  for (const r of results) {
    console.log(
      `${r.impl} | ${r.calls} | ${r.rows} | ${r.rowsPerSecond} | ${r.callMs.median}, ${r.callMs.p90}, ${r.callMs.max} | ${r.wallMs} | ${r.cpuMs}`,
    );
  }
}

await main();
