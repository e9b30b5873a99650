/**
 * The month's overview of 100 000 customers (issue 15's figure): `GET /api/v1/overview` over
 * real HTTP on loopback, JSON and CSV, from an embedded store (DuckDB) holding a month of every
 * customer's traffic, in and out.
 *
 *   npm run build && node dist/bench/overview-scale.js                  # 100 000 customers, 30 days
 *   node dist/bench/overview-scale.js --customers 10000 --runs 3
 *
 * What is written is what the overview of a month reads: a 1-day row per customer, direction and
 * day (the aggregator writes the same rows at the 1d level), and for the last day's first 12
 * hours 1-hour rows instead, so the "ragged" case (a range that ends mid-day) tiles days and
 * hours. The customers are bench/customers-config.ts's (one site and link each). Before timing,
 * the answer is checked: the grand total and every customer's bytes equal the sums of what was
 * written, computed here. Each case: the first request (cold), then the median and max of `--runs`.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pino from "pino";
import { buildCustomerModel } from "../collector/classify/customer-model.js";
import { parseConfigText } from "../config/load-config.js";
import { createApiServer } from "../query/api/index.js";
import { createDuckDbStore } from "../store/duckdb-store.js";
import { customersConfig } from "./customers-config.js";
import { DAY, DAYS, expectedIn, HOUR, rows, T0, timedGet } from "./overview-rows.js";

const TOKEN = "bench-config-scale-token";

/** A timed GET with the operator token (overview-rows.ts timedGet). */
const timed = (url: string, runs: number) =>
  timedGet(url, { authorization: `Bearer ${TOKEN}` }, runs);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      customers: { type: "string", default: "100000" },
      runs: { type: "string", default: "5" },
    },
  });
  const customers = Number(values.customers);
  const runs = Number(values.runs);
  if (!(customers > 0 && runs > 0)) throw new Error("--customers and --runs must be positive");
  const dir = await mkdtemp(join(tmpdir(), "flowtally-bench-overview-"));
  const cfg = parseConfigText(customersConfig(dir, customers), "bench.yaml", dir);
  const store = createDuckDbStore({ path: join(dir, "series.duckdb") });
  await store.start();
  try {
    const w0 = performance.now();
    let written = 0;
    for (const batch of rows(customers)) {
      await store.addDeltas(batch);
      written += batch.length;
    }
    const writeS = (performance.now() - w0) / 1000;
    const api = createApiServer({
      config: cfg,
      model: buildCustomerModel(cfg),
      store,
      log: pino({ level: "warn" }),
      now: () => T0 + 40 * DAY,
      status: () => ({}),
    });
    const { port } = await api.listen();
    const base = `http://127.0.0.1:${port}/api/v1/overview`;
    const iso = (ms: number) => new Date(ms).toISOString();
    const cases = [
      ["whole days (1d rows)", `${base}?from=${iso(T0)}&to=${iso(T0 + (DAYS - 1) * DAY)}`],
      [
        "ragged: + 12 h (1d + 1h rows)",
        `${base}?from=${iso(T0)}&to=${iso(T0 + (DAYS - 1) * DAY + 12 * HOUR)}`,
      ],
      [
        "ragged, CSV",
        `${base}?from=${iso(T0)}&to=${iso(T0 + (DAYS - 1) * DAY + 12 * HOUR)}&format=csv`,
      ],
    ] as const;
    const rss0 = process.memoryUsage().rss;
    const out: string[] = [];
    for (const [name, url] of cases) {
      const r = await timed(url, runs);
      if (name.startsWith("ragged") && !name.endsWith("CSV")) {
        const answer = JSON.parse(r.body) as { rows: Array<{ customer: string; bytesIn: number }> };
        if (answer.rows.length !== customers)
          throw new Error(`${answer.rows.length} rows, not ${customers}`);
        for (const row of answer.rows) {
          const c = Number(row.customer.slice(1));
          if (row.bytesIn !== expectedIn(c)) {
            throw new Error(`${row.customer}: bytesIn ${row.bytesIn}, wrote ${expectedIn(c)}`);
          }
        }
      }
      out.push(
        `| ${name} | ${r.first.toFixed(0)} | ${r.median.toFixed(0)} | ${r.max.toFixed(0)} | ${(r.bytes / 1048576).toFixed(1)} |`,
      );
    }
    await api.close();
    process.stdout.write(
      `${customers} customers, ${DAYS} days: ${written} rows written in ${writeS.toFixed(1)} s; answers checked against the written sums; RSS ${(process.memoryUsage().rss / 1048576).toFixed(0)} MiB (${(rss0 / 1048576).toFixed(0)} before the requests)\n\n`,
    );
    process.stdout.write(
      "| overview of the month | first ms | median ms | max ms | answer MiB |\n|---|---:|---:|---:|---:|\n",
    );
    process.stdout.write(`${out.join("\n")}\n`);
  } finally {
    await store.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
