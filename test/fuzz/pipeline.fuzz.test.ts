/**
 * The short pipeline fuzz of the test suite: per protocol (NetFlow v5, v9, IPFIX, sFlow, the
 * packet path), the extreme seeds (test/fuzz/extreme-datagrams.ts) and then a few thousand
 * mutated real inputs through decode → classify → partial sums → rollup → the embedded store,
 * with the invariants and the conservation of bytes, packets and flows from the record sink to
 * the store's overview (test/fuzz/pipeline-fuzz.ts). The long run is `bench/fuzz-pipeline.ts`.
 *
 * The pipeline runs in a worker thread watched from this one: an input that takes longer than
 * its budget fails the test with the input's name and bytes, instead of hanging the suite.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { typeScriptWorker } from "../support/typescript-worker.js";
import { PIPELINE_PROTOCOLS, seedCount } from "./pipeline-stats.js";
import { describeFailures, runProtocol } from "./pipeline-watchdog.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));
const WORKER = new URL("./pipeline-worker.ts", import.meta.url);
const MUTANTS = 2000;
/** A hang is an input that takes longer than this (the slowest seen take a few ms). */
const INPUT_BUDGET_MS = 1000;

describe("the pipeline under extreme and mutated inputs", () => {
  const workDir = mkdtempSync(join(tmpdir(), "ft-pipeline-fuzz-"));
  afterAll(() => rmSync(workDir, { recursive: true, force: true }));

  test.each(PIPELINE_PROTOCOLS)(
    "%s: no hang, no crash, every value finite and >= 0, totals conserved down to the store",
    async (protocol) => {
      const r = await runProtocol({
        protocol,
        count: MUTANTS,
        seed: 1,
        // Two hand-overs and the final one: each is a store transaction (~0.1 s).
        handOverEvery: 1000,
        postEvery: 1000,
        fixtures: FIXTURES,
        workDir,
        inputBudgetMs: INPUT_BUDGET_MS,
        handOverBudgetMs: 20_000,
        startBudgetMs: 60_000,
        startWorker: (job) => typeScriptWorker(WORKER, { workerData: job }),
      });
      // Everything that went wrong, with the inputs that did it, in one message.
      expect(describeFailures(r)).toBe("");
      expect(r.seeds).toBe(seedCount(protocol));
      expect(r.mutants).toBe(MUTANTS);
      expect(r.recordsAccepted).toBeGreaterThan(0);
      // The checks ran: both phases compared their totals, and mutants reached the store (the
      // seeds may all be dropped at the record sink, as they are for v9 and IPFIX).
      expect(r.phases.map((p) => p.phase)).toEqual(["seeds", "mutants"]);
      for (const p of r.phases) expect(p.conservation.length).toBeGreaterThan(0);
      expect(r.phases[1]!.storedRows["1m"]!.rows).toBeGreaterThan(0);
    },
    120_000,
  );
});
