/**
 * The pipeline fuzz, main side: runs a protocol's inputs in worker threads
 * (test/fuzz/pipeline-worker.ts) and watches each through shared memory
 * (test/fuzz/pipeline-heartbeat.ts). An input whose processing exceeds its time budget is a
 * hang: the worker is terminated, the input reported (index, seed name, source, time, bytes as
 * hex, enough to make it a fixed seed), and the same input sequence resumes after it in a new
 * worker with a fresh pipeline. Used by `bench/fuzz-pipeline.ts` and
 * `test/fuzz/pipeline.fuzz.test.ts`, which differ only in how a worker is started (built
 * JavaScript, or TypeScript sources).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Worker } from "node:worker_threads";
import type { PipelineProtocol } from "./extreme-datagrams.js";
import { extremeSeedsFor } from "./extreme-datagrams.js";
import { createHeartbeatBuffer, Heartbeat, InputKind, Phase } from "./pipeline-heartbeat.js";
import {
  bucketLimitMs,
  emptyStats,
  type Failure,
  type PhaseReport,
  type SegmentJob,
  type SegmentMessage,
  type SegmentStats,
  seedCount,
} from "./pipeline-stats.js";

export interface ProtocolRunOptions {
  protocol: PipelineProtocol;
  /** Mutants after the seeds. */
  count: number;
  seed: number;
  handOverEvery: number;
  postEvery: number;
  /** test/fixtures. */
  fixtures: string;
  /** Where segments put their store files (a directory per segment is made in it). */
  workDir: string;
  /** Longest time one input may take (decode → classify → partial sums). */
  inputBudgetMs: number;
  /** Longest time a hand-over (drain → rollup → store write) or the final checks may take. */
  handOverBudgetMs: number;
  /** Longest time a worker may take to start (load modules, open the store). */
  startBudgetMs: number;
  startWorker(job: SegmentJob): Worker;
  /** Progress lines, every `progressMs`. */
  progress?: (line: string) => void;
  progressMs?: number;
}

export interface Hang {
  index: number;
  /** What the worker was doing: "input", "hand-over" (after input `index`), "final", "start". */
  during: string;
  kind: string;
  /** The seed's name, when the input is one of the extreme seeds. */
  seed?: string;
  source: string;
  timeMs: number;
  tsNsec: number;
  linkType: number;
  payloadHex: string;
  budgetMs: number;
}

export interface ProtocolResult {
  protocol: PipelineProtocol;
  count: number;
  seed: number;
  /** Inputs processed (or started, for a hung one). */
  inputs: number;
  /**
   * Mutants processed by a segment that then hung or died: their phase was never checked
   * against the store. (A hang among the seeds reruns the seeds without it, so that every other
   * seed is checked.)
   */
  uncheckedInputs: number;
  seeds: number;
  mutants: number;
  cleanTemplates: number;
  hangs: number;
  crashes: number;
  violations: number;
  violationKinds: Record<string, number>;
  conservationFailures: number;
  recordsDecoded: number;
  recordsAccepted: number;
  seconds: number;
  inputsPerSecond: number;
  stepMaxMs: number;
  stepMaxIndex: number;
  stepP50Ms: number;
  stepP999Ms: number;
  handOvers: number;
  handOverMaxMs: number;
  peakRssMiB: number;
  partials: number;
  storeRowsWritten: number;
  storeRowsRefused: number;
  /** Summed over segments (the counters of a hung segment: as last posted). */
  sink: Record<string, number>;
  decoder: Record<string, number>;
  flowTable: Record<string, number>;
  segments: number;
  failures: Failure[];
  hangDetails: Hang[];
  phases: PhaseReport[];
}

const MAX_REPORTED = 8;
/** Bytes of an input shown in a message (the JSON result has them all). */
const HEX_SHOWN = 256;

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

interface SegmentOutcome {
  stats: SegmentStats;
  /** Phases the segment finished and checked. */
  phases: PhaseReport[];
  hang: Hang | null;
  /** A worker that died: its error. */
  died: string | null;
  /** The last input index started, -1 if none. */
  lastIndex: number;
  seconds: number;
}

const during: Record<number, string> = {
  [Phase.Starting]: "start",
  [Phase.Input]: "input",
  [Phase.HandOver]: "hand-over",
  [Phase.Final]: "final",
};

function kindName(kind: number): string {
  return kind === InputKind.Seed ? "seed" : kind === InputKind.Mutant ? "mutant" : "clean-template";
}

/** Runs one worker from `resumeFrom`; resolves when it is done, hangs or dies. */
function runSegment(
  o: ProtocolRunOptions,
  resumeFrom: number,
  skip: readonly number[],
  dir: string,
): Promise<SegmentOutcome> {
  const heartbeat = createHeartbeatBuffer();
  const hb = new Heartbeat(heartbeat);
  mkdirSync(dir, { recursive: true });
  const job: SegmentJob = {
    protocol: o.protocol,
    count: o.count,
    seed: o.seed,
    resumeFrom,
    skip: [...skip],
    handOverEvery: o.handOverEvery,
    postEvery: o.postEvery,
    storeDir: dir,
    fixtures: o.fixtures,
    heartbeat,
  };
  const seeds = extremeSeedsFor(o.protocol);
  const worker = o.startWorker(job);
  const started = performance.now();
  let stats = emptyStats();
  const phases: PhaseReport[] = [];
  let lastSequence = hb.sequence();
  let lastChange = started;
  let lastProgress = started;
  let settled = false;

  return new Promise((resolve) => {
    const finish = (
      outcome: Omit<SegmentOutcome, "stats" | "seconds" | "lastIndex" | "phases">,
    ) => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      const snap = hb.snapshot();
      resolve({
        ...outcome,
        stats,
        phases,
        lastIndex: hb.sequence() === 0 ? -1 : snap.index,
        seconds: (performance.now() - started) / 1000,
      });
    };
    const timer = setInterval(() => {
      const now = performance.now();
      const sequence = hb.sequence();
      if (sequence !== lastSequence) {
        lastSequence = sequence;
        lastChange = now;
      } else {
        const snap = hb.snapshot();
        const phase = sequence === 0 ? Phase.Starting : snap.phase;
        const budget =
          phase === Phase.Input
            ? o.inputBudgetMs
            : phase === Phase.Starting
              ? o.startBudgetMs
              : o.handOverBudgetMs;
        if (now - lastChange > budget) {
          const hang: Hang = {
            index: sequence === 0 ? -1 : snap.index,
            during: during[phase] ?? String(phase),
            kind: kindName(snap.kind),
            ...(snap.seed >= 0 && snap.kind === InputKind.Seed
              ? { seed: seeds[snap.seed]?.name ?? "?" }
              : {}),
            source: snap.source,
            timeMs: snap.timeMs,
            tsNsec: snap.tsNsec,
            linkType: snap.linkType,
            payloadHex: snap.payloadHex,
            budgetMs: budget,
          };
          void worker.terminate();
          finish({ hang, died: null });
          return;
        }
      }
      if (o.progress !== undefined && now - lastProgress >= (o.progressMs ?? 10_000)) {
        lastProgress = now;
        o.progress(
          `${o.protocol}: input ${hb.snapshot().index}, crashes ${stats.crashes}, violations ${stats.violations}, ` +
            `slowest input ${round(stats.stepMaxMs, 1)} ms`,
        );
      }
    }, 50);
    worker.on("message", (m: SegmentMessage) => {
      stats = m.stats;
      if (m.kind === "phase") phases.push(m.phase);
      if (m.kind === "done") finish({ hang: null, died: null });
    });
    worker.on("error", (err) => {
      finish({ hang: null, died: err.stack ?? err.message });
    });
    worker.on("exit", (code) => {
      finish({ hang: null, died: `the worker exited (code ${code}) before it was done` });
    });
  });
}

function emptyResult(o: ProtocolRunOptions): ProtocolResult {
  return {
    protocol: o.protocol,
    count: o.count,
    seed: o.seed,
    inputs: 0,
    uncheckedInputs: 0,
    seeds: 0,
    mutants: 0,
    cleanTemplates: 0,
    hangs: 0,
    crashes: 0,
    violations: 0,
    violationKinds: {},
    conservationFailures: 0,
    recordsDecoded: 0,
    recordsAccepted: 0,
    seconds: 0,
    inputsPerSecond: 0,
    stepMaxMs: 0,
    stepMaxIndex: -1,
    stepP50Ms: 0,
    stepP999Ms: 0,
    handOvers: 0,
    handOverMaxMs: 0,
    peakRssMiB: 0,
    partials: 0,
    storeRowsWritten: 0,
    storeRowsRefused: 0,
    sink: {},
    decoder: {},
    flowTable: {},
    segments: 0,
    failures: [],
    hangDetails: [],
    phases: [],
  };
}

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

function percentile(histogram: readonly number[], q: number): number {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let b = 0; b < histogram.length; b++) {
    seen += histogram[b]!;
    if (seen >= rank) return bucketLimitMs(b);
  }
  return bucketLimitMs(histogram.length - 1);
}

/** Adds a segment's stats into the protocol's result. */
function merge(r: ProtocolResult, s: SegmentStats, histogram: number[]): void {
  r.seeds += s.seeds;
  r.mutants += s.mutants;
  r.cleanTemplates += s.cleanTemplates;
  r.crashes += s.crashes;
  r.violations += s.violations;
  addCounts(r.violationKinds, s.violationKinds);
  r.recordsDecoded += s.recordsDecoded;
  r.recordsAccepted += s.recordsAccepted;
  if (s.stepMaxMs > r.stepMaxMs) {
    r.stepMaxMs = s.stepMaxMs;
    r.stepMaxIndex = s.stepMaxIndex;
  }
  s.stepHistogram.forEach((n, b) => {
    histogram[b] = (histogram[b] ?? 0) + n;
  });
  r.handOvers += s.handOvers;
  r.handOverMaxMs = Math.max(r.handOverMaxMs, s.handOverMaxMs);
  r.peakRssMiB = Math.max(r.peakRssMiB, round(s.peakRss / 2 ** 20, 1));
  r.partials += s.partials;
  r.storeRowsWritten += s.storeRowsWritten;
  r.storeRowsRefused += s.storeRowsRefused;
  addCounts(r.sink, s.sink);
  addCounts(r.decoder, s.decoder);
  addCounts(r.flowTable, s.flowTable);
  for (const f of s.failures) if (r.failures.length < MAX_REPORTED) r.failures.push(f);
}

/**
 * Every input of one protocol, in as many segments as hangs and deaths make it take. A seed that
 * hangs is left out and the seeds run again from the first (so that every other seed is checked
 * against the store); a mutant that hangs is left behind and the run goes on after it.
 */
export async function runProtocol(o: ProtocolRunOptions): Promise<ProtocolResult> {
  const r = emptyResult(o);
  const histogram: number[] = [];
  const firstMutant = seedCount(o.protocol);
  const skip: number[] = [];
  let resumeFrom = 0;
  for (let segment = 0; ; segment++) {
    const out = await runSegment(o, resumeFrom, skip, join(o.workDir, `${o.protocol}-${segment}`));
    r.segments++;
    r.seconds += out.seconds;
    r.phases.push(...out.phases);
    if (out.hang === null && out.died === null) {
      merge(r, out.stats, histogram);
      r.inputs += out.stats.inputs;
      break;
    }
    // Stopped on this input (hung in it or in the hand-over after it), -1 before the first.
    const stoppedAt = out.hang?.index ?? out.lastIndex;
    if (out.hang !== null) {
      r.hangs++;
      if (r.hangDetails.length < MAX_REPORTED) r.hangDetails.push(out.hang);
      o.progress?.(
        `${o.protocol}: HANG during ${out.hang.during} of input ${out.hang.index}` +
          `${out.hang.seed === undefined ? "" : ` (seed ${out.hang.seed})`} over ${out.hang.budgetMs} ms; resuming after it`,
      );
    } else {
      r.crashes++;
      if (r.failures.length < MAX_REPORTED) {
        r.failures.push({ index: out.lastIndex, at: "worker", what: out.died ?? "" });
      }
      o.progress?.(`${o.protocol}: the worker died after input ${out.lastIndex}: ${out.died}`);
    }
    // A worker that stops before its first input would stop again: give up on the protocol.
    if (stoppedAt < resumeFrom) break;
    if (stoppedAt < firstMutant) {
      // The seeds again without this one; what this segment counted is counted again.
      r.inputs++;
      skip.push(stoppedAt);
      resumeFrom = 0;
      continue;
    }
    merge(r, out.stats, histogram);
    // Inputs from resumeFrom up to the one it stopped on were all started.
    const started = stoppedAt - Math.max(resumeFrom, firstMutant) + 1;
    const seedsDone =
      resumeFrom < firstMutant ? firstMutant - resumeFrom - skipped(skip, resumeFrom) : 0;
    r.inputs += seedsDone + started;
    r.uncheckedInputs += started;
    resumeFrom = stoppedAt + 1;
  }
  for (const p of r.phases) r.conservationFailures += p.conservation.filter((c) => !c.ok).length;
  r.stepP50Ms = round(percentile(histogram, 0.5), 3);
  r.stepP999Ms = round(percentile(histogram, 0.999), 3);
  r.stepMaxMs = round(r.stepMaxMs, 2);
  r.handOverMaxMs = round(r.handOverMaxMs, 1);
  r.inputsPerSecond = r.seconds > 0 ? Math.round(r.inputs / r.seconds) : 0;
  r.seconds = round(r.seconds, 1);
  return r;
}

function skipped(skip: readonly number[], from: number): number {
  return skip.filter((i) => i >= from).length;
}

export function failed(r: ProtocolResult): boolean {
  return r.hangs > 0 || r.crashes > 0 || r.violations > 0 || r.conservationFailures > 0;
}

/** What went wrong, for people: hangs first (with the input as hex), then the rest. */
export function describeFailures(r: ProtocolResult): string {
  const lines: string[] = [];
  const hex = (h: string) =>
    h.length <= 2 * HEX_SHOWN
      ? h
      : `${h.slice(0, 2 * HEX_SHOWN)}... (${h.length / 2} bytes, the first ${HEX_SHOWN} shown)`;
  for (const h of r.hangDetails) {
    lines.push(
      `${r.protocol}: HANG: input ${h.index} (${h.kind}${h.seed === undefined ? "" : ` "${h.seed}"`}) ` +
        `still in its ${h.during} after ${h.budgetMs} ms; source ${h.source || "-"}, time ${h.timeMs} ms` +
        `${h.linkType > 0 ? `, link type ${h.linkType}, ns ${h.tsNsec}` : ""}; bytes (hex): ${hex(h.payloadHex)}`,
    );
  }
  for (const f of r.failures) {
    lines.push(
      `${r.protocol}: ${f.at} ${f.index}${f.seed === undefined ? "" : ` "${f.seed}"`}: ${f.what}` +
        `${f.payloadHex === undefined ? "" : `; source ${f.source}, time ${f.timeMs}; bytes (hex): ${hex(f.payloadHex)}`}`,
    );
  }
  for (const p of r.phases) {
    for (const c of p.conservation) {
      if (c.ok) continue;
      lines.push(
        `${r.protocol} ${p.phase} (inputs ${p.from}-${p.to}): ${c.from} ${c.fromValue} ≠ ${c.to} ${c.toValue} ` +
          `(difference ${c.difference}, ${c.exact ? "exact arithmetic" : `tolerance ${c.tolerance}`})`,
      );
    }
  }
  return lines.join("\n");
}
