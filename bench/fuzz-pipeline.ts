/**
 * The long pipeline fuzz: per protocol (NetFlow v5, v9, IPFIX, sFlow, the packet path), the
 * extreme seeds (test/fuzz/extreme-datagrams.ts), then `--count` mutated real inputs, through
 * decode → classify → partial sums → drain → rollup → the embedded DuckDB store, with the
 * invariants and the conservation of bytes, packets and flows checked from the record sink to
 * the store's overview (test/fuzz/pipeline-fuzz.ts). The short run is
 * test/fuzz/pipeline.fuzz.test.ts.
 *
 *   npm run build && npm run fuzz:pipeline
 *   node dist/bench/fuzz-pipeline.js --count 1000000 --seed 1 --protocol ipfix --input-ms 1000
 *
 * Each protocol runs in a worker thread watched from the main thread through shared memory: an
 * input that takes longer than `--input-ms` (a hand-over longer than `--hand-over-ms`) is a hang;
 * the worker is terminated, the input reported with its bytes as hex (to become a fixed seed),
 * and the sequence resumes after it with a fresh pipeline and store.
 *
 * Progress goes to stderr; the result (JSON, then tables) to stdout. Exit code 1 on any hang,
 * crash (an exception escaping a step, a store refusing rows), broken invariant or conservation
 * failure.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import type { PipelineProtocol } from "../test/fuzz/extreme-datagrams.js";
import { PIPELINE_PROTOCOLS } from "../test/fuzz/pipeline-stats.js";
import {
  describeFailures,
  failed,
  type ProtocolResult,
  runProtocol,
} from "../test/fuzz/pipeline-watchdog.js";

/** dist/bench/ after a build, bench/ when run from source: the fixtures are found either way. */
function fixturesDir(): string {
  for (const rel of ["../../test/fixtures/", "../test/fixtures/"]) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(dir, "flows"))) return dir;
  }
  throw new Error("test/fixtures not found next to this script");
}

/** The worker's main module, built beside this one (dist/test/fuzz/pipeline-worker.js). */
const WORKER = new URL("../test/fuzz/pipeline-worker.js", import.meta.url);

function table(results: readonly ProtocolResult[]): string {
  const rows = [
    "| protocol | inputs (seeds + mutants + clean templates) | hangs | crashes | violations | conservation failures | records decoded | records accepted | inputs/s | max ms/input | p99.9 ms | p50 ms | max hand-over ms | peak RSS MiB |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of results) {
    rows.push(
      `| ${r.protocol} | ${r.inputs} (${r.seeds} + ${r.mutants} + ${r.cleanTemplates}) | ${r.hangs} | ` +
        `${r.crashes} | ${r.violations} | ${r.conservationFailures} | ${r.recordsDecoded} | ` +
        `${r.recordsAccepted} | ${r.inputsPerSecond} | ${r.stepMaxMs} | ${r.stepP999Ms} | ` +
        `${r.stepP50Ms} | ${r.handOverMaxMs} | ${r.peakRssMiB} |`,
    );
  }
  rows.push("", "| protocol | broken invariant | count |", "|---|---|---:|");
  for (const r of results) {
    for (const [kind, n] of Object.entries(r.violationKinds))
      rows.push(`| ${r.protocol} | ${kind} | ${n} |`);
  }
  rows.push("", "| protocol | record sink counter | count |", "|---|---|---:|");
  for (const r of results) {
    for (const [name, n] of Object.entries(r.sink)) rows.push(`| ${r.protocol} | ${name} | ${n} |`);
  }
  rows.push("", "| protocol | decoder problem / packet result | count |", "|---|---|---:|");
  for (const r of results) {
    for (const [name, n] of Object.entries(r.decoder))
      rows.push(`| ${r.protocol} | ${name} | ${n} |`);
  }
  rows.push(
    "",
    "| protocol | phase | conservation checks | exact | within rounding | failed |",
    "|---|---|---:|---:|---:|---:|",
  );
  for (const r of results) {
    for (const p of r.phases) {
      const c = p.conservation;
      rows.push(
        `| ${r.protocol} | ${p.phase} ${p.from}-${p.to} | ${c.length} | ${c.filter((x) => x.ok && x.exact).length} | ` +
          `${c.filter((x) => x.ok && !x.exact).length} | ${c.filter((x) => !x.ok).length} |`,
      );
    }
  }
  return rows.join("\n");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      count: { type: "string", default: "1000000" },
      seed: { type: "string", default: "1" },
      protocol: { type: "string", multiple: true },
      "input-ms": { type: "string", default: "1000" },
      "hand-over-ms": { type: "string", default: "60000" },
      "hand-over-every": { type: "string", default: "4096" },
      "keep-stores": { type: "boolean", default: false },
    },
  });
  const count = Number(values.count);
  const seed = Number(values.seed);
  const inputBudgetMs = Number(values["input-ms"]);
  const handOverBudgetMs = Number(values["hand-over-ms"]);
  const handOverEvery = Number(values["hand-over-every"]);
  const wanted = (values.protocol ?? PIPELINE_PROTOCOLS) as PipelineProtocol[];
  if (
    !(Number.isInteger(count) && count >= 0) ||
    !Number.isInteger(seed) ||
    !(inputBudgetMs > 0 && handOverBudgetMs > 0 && handOverEvery > 0) ||
    wanted.some((p) => !PIPELINE_PROTOCOLS.includes(p))
  ) {
    process.stderr.write(
      `usage: fuzz-pipeline [--count N] [--seed N] [--protocol ${PIPELINE_PROTOCOLS.join("|")}]... ` +
        "[--input-ms MS] [--hand-over-ms MS] [--hand-over-every N] [--keep-stores]\n",
    );
    return 2;
  }
  const workDir = mkdtempSync(join(tmpdir(), "ft-fuzz-pipeline-"));
  const results: ProtocolResult[] = [];
  const started = new Date();
  try {
    for (const protocol of PIPELINE_PROTOCOLS) {
      if (!wanted.includes(protocol)) continue;
      process.stderr.write(`${protocol}: seeds, then ${count} mutants (seed ${seed})\n`);
      const r = await runProtocol({
        protocol,
        count,
        seed,
        handOverEvery,
        postEvery: 4096,
        fixtures: fixturesDir(),
        workDir,
        inputBudgetMs,
        handOverBudgetMs,
        startBudgetMs: 120_000,
        startWorker: (job) => new Worker(WORKER, { workerData: job }),
        progress: (line) => process.stderr.write(`${line}\n`),
      });
      results.push(r);
      const problems = describeFailures(r);
      if (problems !== "") process.stderr.write(`${problems}\n`);
    }
  } finally {
    if (values["keep-stores"]) process.stderr.write(`stores kept in ${workDir}\n`);
    else rmSync(workDir, { recursive: true, force: true });
  }
  const report = {
    node: process.version,
    cpu: cpus()[0]?.model ?? "unknown",
    cpus: cpus().length,
    started: started.toISOString(),
    count,
    seed,
    inputBudgetMs,
    handOverEvery,
    maxRssMiB: Math.round(process.resourceUsage().maxRSS / 102.4) / 10,
    results,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n\n${table(results)}\n`);
  return results.some(failed) ? 1 : 0;
}

process.exitCode = await main();
