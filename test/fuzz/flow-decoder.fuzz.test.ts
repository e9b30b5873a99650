/**
 * The short fuzz run of the test suite: mutated real datagrams through one long-lived decoder per
 * protocol, so that state learnt from damaged packets (templates, rates, held sets) meets the
 * packets that follow. The long run is `bench/fuzz-decoders.ts`.
 *
 * Clean template datagrams are interleaved so that mutated data sets meet real templates as
 * well as mutated ones. Small limits make the template and held-set bounds bite.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import type { DecodeProblem } from "../../collector/decoders/decode-problems.js";
import {
  createFlowDecoder,
  type FlowDecoder,
  type FlowDecoderOptions,
} from "../../collector/decoders/flow-decoder.js";
import { FlowBatch } from "../../schema/flow-record.js";
import { captureDatagrams, FLOW_CAPTURE_DIRS } from "../support/decode-capture.js";
import {
  carriesTemplates,
  createRng,
  MAX_DATAGRAM,
  mutateDatagram,
  netflowVersion,
  type Rng,
} from "./mutate.js";

const FLOWS = fileURLToPath(new URL("../fixtures/flows/", import.meta.url));
const CORPUS_DIRS = FLOW_CAPTURE_DIRS;

const MUTANTS_PER_PROTOCOL = 20_000;
/** One clean template datagram for every this many mutants. */
const CLEAN_TEMPLATE_EVERY = 8;
/** Checking the per-exporter template count allocates; every packet would be wasteful. */
const TEMPLATE_CHECK_EVERY = 256;
const BATCH_CLEAR_EVERY = 64;

const limits = {
  templates: { maxTemplatesPerExporter: 64 },
  held: { maxSets: 32, maxBytes: 64 * 1024, maxAgeMs: 2_000 },
} as const;

type Version = 5 | 9 | 10;

interface Protocol {
  name: string;
  version: Version;
  /** v9 holds data until a rate is known, so the sampling hold path is fuzzed as well. */
  options: FlowDecoderOptions;
  seed: number;
  /** A capture replayed unmutated after the run, and its record count (tshark, 2-pass). */
  clean: { file: string; records: number };
  /** Problems the run must provoke: if the small limits never bite, the bound checks prove nothing. */
  provokes: DecodeProblem[];
}

const protocols: Protocol[] = [
  {
    name: "netflow-v5",
    version: 5,
    options: limits,
    seed: 0x5eed0005,
    clean: { file: "exported-from-packets/fprobe-v5__ndpi__1kxun.pcap", records: 272 },
    provokes: ["v5-count-mismatch"],
  },
  {
    name: "netflow-v9",
    version: 9,
    options: { ...limits, unknownSampling: "hold" },
    seed: 0x5eed0009,
    clean: { file: "exported-from-packets/pmacctd-nfprobe-v9__ndpi__1kxun.pcap", records: 297 },
    provokes: ["template-limit", "held-overflow", "sampling-hold-expired"],
  },
  {
    name: "ipfix",
    version: 10,
    options: limits,
    seed: 0x5eed000a,
    clean: { file: "exported-from-packets/pmacctd-nfprobe-v10__ndpi__1kxun.pcap", records: 297 },
    provokes: ["template-limit", "held-overflow"],
  },
];

interface Datagram {
  exporter: string;
  payload: Uint8Array;
}

function loadCorpus(): Map<Version, Datagram[]> {
  const corpus = new Map<Version, Datagram[]>([
    [5, []],
    [9, []],
    [10, []],
  ]);
  for (const dir of CORPUS_DIRS) {
    for (const file of readdirSync(join(FLOWS, dir)).sort()) {
      if (!file.endsWith(".pcap")) continue;
      for (const d of captureDatagrams(join(FLOWS, dir, file))) {
        corpus.get(netflowVersion(d.payload) as Version)?.push(d);
      }
    }
  }
  return corpus;
}

/** Collects broken invariants; the test asserts the list is empty, so one failure shows many. */
class Violations {
  readonly list: string[] = [];
  add(message: string): void {
    if (this.list.length < 20) this.list.push(message);
  }
}

/**
 * Checks one decode: a sane count, a batch that grew by exactly that count, and finite,
 * non-negative counters in the new rows.
 */
function checkDecode(
  count: number,
  batch: FlowBatch,
  before: number,
  packet: number,
  v: Violations,
): void {
  if (!(count >= 0)) v.add(`packet ${packet}: decode returned ${count}`);
  if (batch.length !== before + count) {
    v.add(`packet ${packet}: batch grew by ${batch.length - before}, decode returned ${count}`);
  }
  for (let i = before; i < batch.length; i++) {
    const bytes = batch.bytes[i]!;
    const packets = batch.packets[i]!;
    if (!(Number.isFinite(bytes) && bytes >= 0 && Number.isFinite(packets) && packets >= 0)) {
      v.add(`packet ${packet}: row ${i} bytes=${bytes} packets=${packets}`);
    }
  }
}

function checkBounds(decoder: FlowDecoder, packet: number, v: Violations): void {
  const held = decoder.heldSets();
  if (held.bytes > limits.held.maxBytes || held.count > limits.held.maxSets || held.bytes < 0) {
    v.add(`packet ${packet}: held ${held.count} sets, ${held.bytes} bytes`);
  }
}

function checkTemplateCounts(decoder: FlowDecoder, packet: number, v: Violations): void {
  for (const e of decoder.exporterStats()) {
    if (e.templates > limits.templates.maxTemplatesPerExporter || e.templates < 0) {
      v.add(`packet ${packet}: exporter ${e.exporter} has ${e.templates} templates`);
    }
  }
}

/** The templates actually stored (from a snapshot) must match the per-exporter counters. */
function checkStoredTemplates(decoder: FlowDecoder, v: Violations): void {
  const counted = new Map(decoder.exporterStats().map((e) => [e.exporter, e.templates]));
  for (const e of decoder.snapshot().exporters) {
    const stored = e.domains.reduce((n, d) => n + d.templates.length, 0);
    if (stored > limits.templates.maxTemplatesPerExporter) {
      v.add(`exporter ${e.address} stores ${stored} templates`);
    }
    if (stored !== counted.get(e.address)) {
      v.add(`exporter ${e.address} stores ${stored} templates, counts ${counted.get(e.address)}`);
    }
  }
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.below(items.length)]!;
}

interface FuzzRun {
  decoder: FlowDecoder;
  clockMs: number;
  violations: Violations;
}

function fuzz(p: Protocol, datagrams: readonly Datagram[]): FuzzRun {
  const decoder = createFlowDecoder(p.options);
  const templates = datagrams.filter((d) => carriesTemplates(d.payload));
  const rng = createRng(p.seed);
  const work = new Uint8Array(MAX_DATAGRAM);
  const batch = new FlowBatch(4096);
  const violations = new Violations();
  // Receive time advances 1 ms a packet, so held data expires within the run.
  let clockMs = Date.UTC(2024, 0, 1);

  for (let n = 0; n < MUTANTS_PER_PROTOCOL; n++) {
    if (n % BATCH_CLEAR_EVERY === 0) batch.clear();
    if (templates.length > 0 && rng.below(CLEAN_TEMPLATE_EVERY) === 0) {
      const t = pick(rng, templates);
      const before = batch.length;
      checkDecode(
        decoder.decode(t.payload, t.exporter, clockMs, batch),
        batch,
        before,
        n,
        violations,
      );
    }
    const d = pick(rng, datagrams);
    const mutant = mutateDatagram(rng, d.payload, pick(rng, datagrams).payload, work);
    const before = batch.length;
    clockMs++;
    checkDecode(decoder.decode(mutant, d.exporter, clockMs, batch), batch, before, n, violations);
    checkBounds(decoder, n, violations);
    if (n % TEMPLATE_CHECK_EVERY === 0) checkTemplateCounts(decoder, n, violations);
  }
  checkTemplateCounts(decoder, MUTANTS_PER_PROTOCOL, violations);
  checkStoredTemplates(decoder, violations);
  return { decoder, clockMs, violations };
}

/**
 * Replays a capture unmutated under a fresh exporter address, on the run's clock, then expires
 * whatever is still held (v9 holds for a sampling rate). Returns the records, bytes and packets
 * of that exporter only: held sets of the fuzzed exporters are released into the same batch.
 */
function replayClean(
  decoder: FlowDecoder,
  path: string,
  exporter: string,
  startMs: number,
): { records: number; bytes: number; packets: number } {
  const batch = new FlowBatch(1024);
  let clockMs = startMs;
  for (const d of captureDatagrams(path)) decoder.decode(d.payload, exporter, ++clockMs, batch);
  decoder.expire(clockMs + 24 * 3600_000, batch);
  const sum = { records: 0, bytes: 0, packets: 0 };
  for (let i = 0; i < batch.length; i++) {
    if (batch.exporterNames[batch.exporterId[i]!] !== exporter) continue;
    sum.records++;
    sum.bytes += batch.bytes[i]!;
    sum.packets += batch.packets[i]!;
  }
  return sum;
}

describe("flow decoder under mutated real datagrams", () => {
  const corpus = loadCorpus();

  test.each(protocols)("$name: never throws, stays within bounds, good data still decodes", (p) => {
    const datagrams = corpus.get(p.version)!;
    expect(datagrams.length).toBeGreaterThan(50);

    const run = fuzz(p, datagrams);
    expect(run.violations.list).toEqual([]);
    expect(run.decoder.problems["internal-error"]).toBe(0);
    for (const problem of p.provokes)
      expect(run.decoder.problems[problem], problem).toBeGreaterThan(0);

    // Damage learnt from other exporters must not reach a clean exporter's data.
    const path = join(FLOWS, p.clean.file);
    const fresh = replayClean(createFlowDecoder(p.options), path, "198.51.100.7", run.clockMs);
    const afterFuzz = replayClean(run.decoder, path, "198.51.100.7", run.clockMs);
    expect(fresh.records).toBe(p.clean.records);
    expect(afterFuzz).toEqual(fresh);
    expect(run.decoder.problems["internal-error"]).toBe(0);
  });
});
