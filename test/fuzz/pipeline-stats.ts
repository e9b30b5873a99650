/**
 * The pipeline fuzz's vocabulary, shared by the worker (test/fuzz/pipeline-fuzz.ts) and the
 * watchdog (test/fuzz/pipeline-watchdog.ts): the protocols, the job a worker is given, the stats
 * and reports it posts. Light on purpose: the watchdog's thread loads this, not the pipeline.
 */
import type { ConservationCheck } from "./exact-sum.js";
import { extremeSeedsFor, type PipelineProtocol } from "./extreme-datagrams.js";

export const PIPELINE_PROTOCOLS: readonly PipelineProtocol[] = [
  "v5",
  "v9",
  "ipfix",
  "sflow",
  "packets",
];

/** Inputs before the first mutant: the protocol's seeds'. */
export function seedCount(protocol: PipelineProtocol): number {
  return extremeSeedsFor(protocol).reduce((n, s) => n + s.inputs.length, 0);
}

export interface Failure {
  /** The input being processed, or the last one before a hand-over. */
  index: number;
  /** "seed" | "mutant" | "clean-template" | "hand-over" | "final". */
  at: string;
  seed?: string;
  what: string;
  source?: string;
  timeMs?: number;
  payloadHex?: string;
}

/** Step times, microseconds: 1 µs buckets to 1 ms, then 1 % wide ones. */
export const HISTOGRAM_BUCKETS = 2048;
export function histogramBucket(us: number): number {
  if (us < 1000) return Math.max(0, Math.floor(us));
  return Math.min(HISTOGRAM_BUCKETS - 1, 1000 + Math.floor(Math.log2(us / 1000) * 100));
}
/** The upper bound of a bucket, ms. */
export function bucketLimitMs(b: number): number {
  return b < 1000 ? (b + 1) / 1000 : 2 ** ((b - 1000 + 1) / 100);
}

export interface SegmentStats {
  /** Inputs processed (seeds, mutants and clean templates). */
  inputs: number;
  seeds: number;
  mutants: number;
  cleanTemplates: number;
  crashes: number;
  violations: number;
  /** Broken invariants by kind. */
  violationKinds: Record<string, number>;
  recordsDecoded: number;
  /** Records the sink did not drop (flows: known per record; packets: the sink's count). */
  recordsAccepted: number;
  stepMaxMs: number;
  stepMaxIndex: number;
  /** Per {@link histogramBucket}. */
  stepHistogram: number[];
  handOvers: number;
  handOverMaxMs: number;
  peakRss: number;
  /** The record sink's counters, by name (records, unattributed, future, drops by reason...). */
  sink: Record<string, number>;
  /** The decoder's problem counters that are not 0 (flows), the packet parser's results (packets). */
  decoder: Record<string, number>;
  /** The flow table's counters (packets). */
  flowTable: Record<string, number>;
  partials: number;
  storeRowsWritten: number;
  storeRowsRefused: number;
  failures: Failure[];
}

export interface PhaseReport {
  phase: "seeds" | "mutants";
  /** The first and last input index of the phase in this segment. */
  from: number;
  to: number;
  conservation: ConservationCheck[];
  /** Rows the store holds per level, and those with a non-finite or negative value. */
  storedRows: Record<string, { rows: number; bad: number }>;
  storedResponseRows: Record<string, { rows: number; bad: number }>;
}

export function emptyStats(): SegmentStats {
  return {
    inputs: 0,
    seeds: 0,
    mutants: 0,
    cleanTemplates: 0,
    crashes: 0,
    violations: 0,
    violationKinds: {},
    recordsDecoded: 0,
    recordsAccepted: 0,
    stepMaxMs: 0,
    stepMaxIndex: -1,
    stepHistogram: new Array<number>(HISTOGRAM_BUCKETS).fill(0),
    handOvers: 0,
    handOverMaxMs: 0,
    peakRss: 0,
    sink: {},
    decoder: {},
    flowTable: {},
    partials: 0,
    storeRowsWritten: 0,
    storeRowsRefused: 0,
    failures: [],
  };
}

export interface SegmentJob {
  protocol: PipelineProtocol;
  /** Mutants after the seeds. */
  count: number;
  seed: number;
  /** Inputs before this index are generated (to keep the sequence) but not processed. */
  resumeFrom: number;
  /** Inputs not processed either: seeds that hung in an earlier segment. */
  skip: number[];
  /** Mutant inputs between hand-overs (drain → rollup → store write). */
  handOverEvery: number;
  /** Stats are posted every this many inputs. */
  postEvery: number;
  /** A directory of its own: the phases' store files go there. */
  storeDir: string;
  /** test/fixtures. */
  fixtures: string;
  heartbeat: SharedArrayBuffer;
}

export type SegmentMessage =
  | { kind: "stats"; stats: SegmentStats }
  /** A phase is over and checked (sent as soon as it is, so that a later hang keeps it). */
  | { kind: "phase"; stats: SegmentStats; phase: PhaseReport }
  | { kind: "done"; stats: SegmentStats };
