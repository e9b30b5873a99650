/**
 * The long fuzz run: `--count` mutated real datagrams per protocol (v5, v9, IPFIX) through one
 * long-lived decoder each, with clean template datagrams interleaved, as in
 * `test/fuzz/flow-decoder.fuzz.test.ts` but for millions of packets.
 *
 *   npm run build && node dist/bench/fuzz-decoders.js --count 1000000 --seed 1
 *
 * Each protocol runs in a worker thread that publishes the packet it is decoding (index and
 * bytes) in shared memory: a decode that never returns cannot be caught in its own thread, so
 * the main thread watches, reports it as a hang with the datagram, and resumes the same mutant
 * sequence after it with a fresh decoder. (The hung segment's counters other than packets are
 * those last posted, at most 4096 packets before the hang.)
 *
 * Run with `node --expose-gc` to have the heap measured after a full GC at the start and end of
 * each protocol: growth then means state that is never freed.
 *
 * Progress goes to stderr every ~10 s; the result (JSON, then a table) to stdout. Exit code 1
 * when a decode threw or hung, the decoder counted an internal error, an invariant broke, or a
 * clean capture replayed after the run decoded differently from a fresh decoder.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import {
  createFlowDecoder,
  type FlowDecoder,
  type FlowDecoderOptions,
} from "../collector/decoders/flow-decoder.js";
import { FlowBatch } from "../schema/flow-record.js";
import {
  carriesTemplates,
  createRng,
  MAX_DATAGRAM,
  mutateDatagram,
  netflowVersion,
} from "../test/fuzz/mutate.js";
import { captureDatagrams, FLOW_CAPTURE_DIRS } from "../test/support/decode-capture.js";

const CORPUS_DIRS = FLOW_CAPTURE_DIRS;
const CLEAN_TEMPLATE_EVERY = 8;
const BATCH_CLEAR_EVERY = 64;
/** How often (in packets) RSS and template counts are looked at and stats are posted. */
const SAMPLE_EVERY = 4096;
const PROGRESS_MS = 10_000;
const SLOW_DECODE_MS = 10;
const MAX_REPORTED_FAILURES = 5;
const CLEAN_EXPORTER = "198.51.100.7";

/** The limits of the test run: small, so that the template and held-set bounds bite. */
const limits = {
  templates: { maxTemplatesPerExporter: 64 },
  held: { maxSets: 32, maxBytes: 64 * 1024, maxAgeMs: 2_000 },
} as const;

type Version = 5 | 9 | 10;

interface Protocol {
  name: string;
  version: Version;
  options: FlowDecoderOptions;
  /** Replayed unmutated after the run under a new exporter address. */
  cleanCapture: string;
}

const protocols: Protocol[] = [
  {
    name: "v5",
    version: 5,
    options: limits,
    cleanCapture: "exported-from-packets/fprobe-v5__ndpi__1kxun.pcap",
  },
  {
    name: "v9",
    version: 9,
    // Holding for a sampling rate puts the hold/release/expiry path under fuzz too.
    options: { ...limits, unknownSampling: "hold" },
    cleanCapture: "exported-from-packets/pmacctd-nfprobe-v9__ndpi__1kxun.pcap",
  },
  {
    name: "ipfix",
    version: 10,
    options: limits,
    cleanCapture: "exported-from-packets/pmacctd-nfprobe-v10__ndpi__1kxun.pcap",
  },
];

interface Datagram {
  exporter: string;
  payload: Uint8Array;
}

interface Failure {
  packet: number;
  what: string;
  exporter?: string;
  /** The datagram, hex (state learnt from earlier packets may also be needed to reproduce). */
  payloadHex?: string;
}

/** What one worker has done so far; posted every {@link SAMPLE_EVERY} packets and at the end. */
interface SegmentStats {
  packets: number;
  cleanTemplates: number;
  crashes: number;
  violations: number;
  records: number;
  peakRss: number;
  maxDecodeMs: number;
  maxDecodePacket: number;
  slowDecodes: number;
  /** Heap used before the first and after the last packet; after a full GC under --expose-gc. */
  heapStart: number;
  heapEnd: number;
  problems: Record<string, number>;
  templates: { learnt: number; redefinitions: number; withdrawn: number; exporters: number };
  failures: Failure[];
  /** Only in the final message of a segment that ran to the end. */
  cleanReplay?: { records: number; expected: number; ok: boolean };
}

interface WorkerJob {
  protocol: string;
  count: number;
  seed: number;
  /** Mutants before this index are generated (to keep the sequence) but not decoded. */
  resumeFrom: number;
  flows: string;
  heartbeat: SharedArrayBuffer;
}

type WorkerMessage = { kind: "stats"; stats: SegmentStats } | { kind: "done"; stats: SegmentStats };

/** dist/bench/ after a build, bench/ when run from source: the fixtures are found either way. */
function fixturesDir(): string {
  for (const rel of ["../../test/fixtures/flows/", "../test/fixtures/flows/"]) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(dir)) return dir;
  }
  throw new Error("test/fixtures/flows not found next to this script");
}

function loadCorpus(flows: string, version: Version): Datagram[] {
  const out: Datagram[] = [];
  for (const dir of CORPUS_DIRS) {
    for (const file of readdirSync(join(flows, dir)).sort()) {
      if (!file.endsWith(".pcap")) continue;
      for (const d of captureDatagrams(join(flows, dir, file))) {
        if (netflowVersion(d.payload) === version) out.push(d);
      }
    }
  }
  return out;
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

// ---------------------------------------------------------------------------------------------
// Shared memory between a worker and the watchdog: the packet being decoded and its bytes.

const HB_PACKET = 0;
const HB_LENGTH = 1;
const HB_DATAGRAM = 2;
const HB_HEADER_BYTES = 16;

function createHeartbeat(): SharedArrayBuffer {
  return new SharedArrayBuffer(HB_HEADER_BYTES + MAX_DATAGRAM);
}

class Heartbeat {
  readonly words: Int32Array;
  /** The worker mutates straight into this buffer, so publishing a mutant costs nothing. */
  readonly payload: Uint8Array;

  constructor(buf: SharedArrayBuffer) {
    this.words = new Int32Array(buf, 0, HB_HEADER_BYTES / 4);
    this.payload = new Uint8Array(buf, HB_HEADER_BYTES, MAX_DATAGRAM);
  }

  publish(packet: number, datagram: number, length: number): void {
    this.words[HB_LENGTH] = length;
    this.words[HB_DATAGRAM] = datagram;
    Atomics.store(this.words, HB_PACKET, packet);
  }

  packet(): number {
    return Atomics.load(this.words, HB_PACKET);
  }

  datagram(): number {
    return this.words[HB_DATAGRAM]!;
  }

  bytes(): Uint8Array {
    return this.payload.subarray(0, this.words[HB_LENGTH]!);
  }
}

// ---------------------------------------------------------------------------------------------
// Worker side: one decoder, one segment of the mutant sequence.

function emptyStats(): SegmentStats {
  return {
    packets: 0,
    cleanTemplates: 0,
    crashes: 0,
    violations: 0,
    records: 0,
    peakRss: 0,
    maxDecodeMs: 0,
    maxDecodePacket: -1,
    slowDecodes: 0,
    heapStart: 0,
    heapEnd: 0,
    problems: {},
    templates: { learnt: 0, redefinitions: 0, withdrawn: 0, exporters: 0 },
    failures: [],
  };
}

/** Heap in use; settled by a full GC when node runs with --expose-gc, so growth means a leak. */
function settledHeap(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

function fail(s: SegmentStats, f: Failure): void {
  if (s.failures.length < MAX_REPORTED_FAILURES) s.failures.push(f);
}

/** Decodes one datagram, catching what should never be thrown, and checks the rows it added. */
function decodeChecked(
  decoder: FlowDecoder,
  exporter: string,
  payload: Uint8Array,
  clockMs: number,
  batch: FlowBatch,
  packet: number,
  s: SegmentStats,
): void {
  const before = batch.length;
  const internalBefore = decoder.problems["internal-error"];
  const t0 = performance.now();
  let count: number;
  try {
    count = decoder.decode(payload, exporter, clockMs, batch);
  } catch (err) {
    s.crashes++;
    const what = `threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
    fail(s, { packet, what, exporter, payloadHex: toHex(payload) });
    batch.clear();
    return;
  }
  const ms = performance.now() - t0;
  if (ms > s.maxDecodeMs) {
    s.maxDecodeMs = ms;
    s.maxDecodePacket = packet;
  }
  if (ms > SLOW_DECODE_MS) s.slowDecodes++;
  if (decoder.problems["internal-error"] !== internalBefore) {
    // The decoder caught its own exception: keep the datagram that caused it.
    fail(s, { packet, what: "internal-error counted", exporter, payloadHex: toHex(payload) });
  }
  if (!(count >= 0) || batch.length !== before + count) {
    s.violations++;
    const what = `returned ${count}, batch grew by ${batch.length - before}`;
    fail(s, { packet, what, exporter, payloadHex: toHex(payload) });
    return;
  }
  s.records += count;
  const bad = badCounterRows(batch, before);
  if (bad > 0) {
    s.violations += bad;
    const i = batch.length - 1;
    const what = `${bad} rows with bad counters, e.g. bytes=${batch.bytes[i]} packets=${batch.packets[i]}`;
    fail(s, { packet, what, exporter, payloadHex: toHex(payload) });
  }
}

/** Rows from `from` on whose bytes or packets are not finite and >= 0. */
function badCounterRows(batch: FlowBatch, from: number): number {
  let bad = 0;
  for (let i = from; i < batch.length; i++) {
    const bytes = batch.bytes[i]!;
    const packets = batch.packets[i]!;
    if (!(Number.isFinite(bytes) && bytes >= 0 && Number.isFinite(packets) && packets >= 0)) bad++;
  }
  return bad;
}

function checkBounds(decoder: FlowDecoder, packet: number, s: SegmentStats, all: boolean): void {
  const held = decoder.heldSets();
  if (held.bytes > limits.held.maxBytes || held.count > limits.held.maxSets || held.bytes < 0) {
    s.violations++;
    fail(s, { packet, what: `held ${held.count} sets, ${held.bytes} bytes` });
  }
  if (!all) return;
  for (const e of decoder.exporterStats()) {
    if (e.templates > limits.templates.maxTemplatesPerExporter || e.templates < 0) {
      s.violations++;
      fail(s, { packet, what: `exporter ${e.exporter} has ${e.templates} templates` });
    }
  }
}

/** Copies the decoder's counters into the stats about to be posted. */
function snapshotDecoder(decoder: FlowDecoder, s: SegmentStats): void {
  s.problems = {};
  for (const [reason, n] of Object.entries(decoder.problems)) if (n > 0) s.problems[reason] = n;
  s.templates = { learnt: 0, redefinitions: 0, withdrawn: 0, exporters: 0 };
  for (const e of decoder.exporterStats()) {
    s.templates.exporters++;
    s.templates.learnt += e.templatesLearnt;
    s.templates.redefinitions += e.templateRedefinitions;
    s.templates.withdrawn += e.templatesWithdrawn;
  }
  s.peakRss = Math.max(s.peakRss, process.memoryUsage.rss());
}

/** Records of `exporter` after an unmutated replay of `path` (held data expired at the end). */
function cleanRecords(decoder: FlowDecoder, path: string, startMs: number): number {
  const batch = new FlowBatch(1024);
  let clockMs = startMs;
  for (const d of captureDatagrams(path))
    decoder.decode(d.payload, CLEAN_EXPORTER, ++clockMs, batch);
  decoder.expire(clockMs + 24 * 3600_000, batch);
  let records = 0;
  for (let i = 0; i < batch.length; i++) {
    if (batch.exporterNames[batch.exporterId[i]!] === CLEAN_EXPORTER) records++;
  }
  return records;
}

/** The rng seed of a protocol: different streams for different protocols under one `--seed`. */
function protocolSeed(seed: number, version: Version): number {
  return (seed ^ Math.imul(version, 0x9e3779b9)) >>> 0;
}

function fuzzSegment(job: WorkerJob, post: (m: WorkerMessage) => void): void {
  const p = protocols.find((x) => x.name === job.protocol)!;
  const datagrams = loadCorpus(job.flows, p.version);
  const templates = datagrams.filter((d) => carriesTemplates(d.payload));
  const decoder = createFlowDecoder(p.options);
  const rng = createRng(protocolSeed(job.seed, p.version));
  const hb = new Heartbeat(job.heartbeat);
  const batch = new FlowBatch(4096);
  const s = emptyStats();
  let clockMs = Date.UTC(2024, 0, 1);
  s.heapStart = settledHeap();

  for (let n = 0; n < job.count; n++) {
    const decoding = n >= job.resumeFrom;
    if (n % BATCH_CLEAR_EVERY === 0) batch.clear();
    if (templates.length > 0 && rng.below(CLEAN_TEMPLATE_EVERY) === 0) {
      const t = templates[rng.below(templates.length)]!;
      if (decoding) {
        hb.payload.set(t.payload);
        hb.publish(n, -1, t.payload.byteLength);
        s.cleanTemplates++;
        decodeChecked(decoder, t.exporter, hb.bytes(), clockMs, batch, n, s);
      }
    }
    const di = rng.below(datagrams.length);
    const d = datagrams[di]!;
    const donor = datagrams[rng.below(datagrams.length)]!;
    const mutant = mutateDatagram(rng, d.payload, donor.payload, hb.payload);
    clockMs++;
    if (!decoding) continue;
    hb.publish(n, di, mutant.byteLength);
    decodeChecked(decoder, d.exporter, mutant, clockMs, batch, n, s);
    s.packets++;
    const sample = n % SAMPLE_EVERY === 0;
    checkBounds(decoder, n, s, sample);
    if (sample) {
      snapshotDecoder(decoder, s);
      post({ kind: "stats", stats: s });
    }
  }
  checkBounds(decoder, job.count, s, true);
  snapshotDecoder(decoder, s);
  batch.clear();
  s.heapEnd = settledHeap();
  const cleanPath = join(job.flows, p.cleanCapture);
  const expected = cleanRecords(createFlowDecoder(p.options), cleanPath, clockMs);
  const records = cleanRecords(decoder, cleanPath, clockMs);
  s.cleanReplay = { records, expected, ok: records === expected };
  post({ kind: "done", stats: s });
}

// ---------------------------------------------------------------------------------------------
// Main side: a watchdog per protocol, segments resumed after a hang, the report.

interface Hang {
  packet: number;
  exporter: string;
  payloadHex: string;
}

interface ProtocolResult {
  protocol: string;
  packets: number;
  cleanTemplateDatagrams: number;
  crashes: number;
  hangs: number;
  internalErrors: number;
  invariantViolations: number;
  recordsDecoded: number;
  seconds: number;
  packetsPerSecond: number;
  peakRssMiB: number;
  slowestDecodeMs: number;
  slowestDecodePacket: number;
  decodesOver10ms: number;
  /** Of the last segment (a hang restarts with a fresh decoder). */
  heapUsedMiB: { start: number; end: number; settledByGc: boolean };
  templates: SegmentStats["templates"];
  cleanReplay: { records: number; expected: number; ok: boolean };
  problems: Record<string, number>;
  failures: Failure[];
  hangDetails: Hang[];
}

interface SegmentOutcome {
  stats: SegmentStats;
  hang: Hang | null;
  /** Mutants decoded to the end (exact even after a hang, unlike the posted stats). */
  decoded: number;
  seconds: number;
}

/** Runs one worker from `resumeFrom`; resolves when it finishes or stops making progress. */
function runSegment(
  p: Protocol,
  job: Omit<WorkerJob, "heartbeat" | "protocol">,
  hangMs: number,
  exporters: readonly string[],
): Promise<SegmentOutcome> {
  const heartbeat = createHeartbeat();
  const hb = new Heartbeat(heartbeat);
  hb.publish(-1, -1, 0);
  const worker = new Worker(new URL(import.meta.url), {
    workerData: { ...job, protocol: p.name, heartbeat } satisfies WorkerJob,
  });
  const started = performance.now();
  let stats = emptyStats();
  let lastPacket = -1;
  let lastChange = started;
  let lastProgress = started;

  return new Promise((resolve, reject) => {
    const finish = (hang: Hang | null) => {
      clearInterval(timer);
      const decoded = hang === null ? stats.packets : hang.packet - job.resumeFrom;
      resolve({ stats, hang, decoded, seconds: (lastChange - started) / 1000 });
    };
    const timer = setInterval(() => {
      const now = performance.now();
      const packet = hb.packet();
      if (packet !== lastPacket) {
        lastPacket = packet;
        lastChange = now;
      } else if (packet >= 0 && now - lastChange > hangMs) {
        const di = hb.datagram();
        const hang = {
          packet,
          exporter: exporters[di] ?? "(clean template)",
          payloadHex: toHex(hb.bytes()),
        };
        void worker.terminate();
        finish(hang);
        return;
      }
      if (now - lastProgress >= PROGRESS_MS) {
        lastProgress = now;
        process.stderr.write(
          `${p.name}: packet ${packet}/${job.count}, crashes ${stats.crashes}, ` +
            `internal errors ${stats.problems["internal-error"] ?? 0}, violations ${stats.violations}\n`,
        );
      }
    }, 250);
    worker.on("message", (m: WorkerMessage) => {
      stats = m.stats;
      if (m.kind === "done") {
        lastChange = performance.now();
        finish(null);
      }
    });
    worker.on("error", (err) => {
      clearInterval(timer);
      reject(err);
    });
  });
}

function merge(into: ProtocolResult, o: SegmentOutcome): void {
  const s = o.stats;
  into.packets += o.decoded;
  into.cleanTemplateDatagrams += s.cleanTemplates;
  into.crashes += s.crashes;
  into.invariantViolations += s.violations;
  into.recordsDecoded += s.records;
  into.seconds += o.seconds;
  into.peakRssMiB = Math.max(into.peakRssMiB, round(s.peakRss / 2 ** 20, 1));
  if (s.maxDecodeMs > into.slowestDecodeMs) {
    into.slowestDecodeMs = round(s.maxDecodeMs, 1);
    into.slowestDecodePacket = s.maxDecodePacket;
  }
  into.decodesOver10ms += s.slowDecodes;
  for (const [reason, n] of Object.entries(s.problems)) {
    into.problems[reason] = (into.problems[reason] ?? 0) + n;
  }
  into.templates.learnt += s.templates.learnt;
  into.templates.redefinitions += s.templates.redefinitions;
  into.templates.withdrawn += s.templates.withdrawn;
  into.templates.exporters = Math.max(into.templates.exporters, s.templates.exporters);
  for (const f of s.failures)
    if (into.failures.length < MAX_REPORTED_FAILURES) into.failures.push(f);
  if (s.cleanReplay !== undefined) into.cleanReplay = s.cleanReplay;
  into.heapUsedMiB.start = round(s.heapStart / 2 ** 20, 1);
  into.heapUsedMiB.end = round(s.heapEnd / 2 ** 20, 1);
  if (o.hang !== null) {
    into.hangs++;
    // The hung packet was published but its decode never finished.
    into.packets++;
    if (into.hangDetails.length < MAX_REPORTED_FAILURES) into.hangDetails.push(o.hang);
  }
}

async function runProtocol(
  p: Protocol,
  count: number,
  seed: number,
  flows: string,
  hangMs: number,
): Promise<ProtocolResult> {
  const exporters = loadCorpus(flows, p.version).map((d) => d.exporter);
  process.stderr.write(
    `${p.name}: ${exporters.length} corpus datagrams, ${count} mutants, seed ${seed}\n`,
  );
  const result: ProtocolResult = {
    protocol: p.name,
    packets: 0,
    cleanTemplateDatagrams: 0,
    crashes: 0,
    hangs: 0,
    internalErrors: 0,
    invariantViolations: 0,
    recordsDecoded: 0,
    seconds: 0,
    packetsPerSecond: 0,
    peakRssMiB: 0,
    slowestDecodeMs: 0,
    slowestDecodePacket: -1,
    decodesOver10ms: 0,
    heapUsedMiB: { start: 0, end: 0, settledByGc: typeof globalThis.gc === "function" },
    templates: { learnt: 0, redefinitions: 0, withdrawn: 0, exporters: 0 },
    cleanReplay: { records: 0, expected: 0, ok: false },
    problems: {},
    failures: [],
    hangDetails: [],
  };
  let resumeFrom = 0;
  for (;;) {
    const o = await runSegment(p, { count, seed, resumeFrom, flows }, hangMs, exporters);
    merge(result, o);
    if (o.hang === null) break;
    process.stderr.write(
      `${p.name}: HANG at packet ${o.hang.packet} (no progress for ${hangMs / 1000} s); ` +
        "resuming after it with a fresh decoder\n",
    );
    resumeFrom = o.hang.packet + 1;
  }
  result.internalErrors = result.problems["internal-error"] ?? 0;
  result.packetsPerSecond = Math.round(result.packets / result.seconds);
  result.seconds = round(result.seconds, 1);
  return result;
}

function failed(r: ProtocolResult): boolean {
  return (
    r.crashes > 0 ||
    r.hangs > 0 ||
    r.internalErrors > 0 ||
    r.invariantViolations > 0 ||
    !r.cleanReplay.ok
  );
}

function table(results: readonly ProtocolResult[]): string {
  const rows = [
    "| protocol | packets | crashes | hangs | internal errors | violations | records | packets/s | slowest decode ms | peak RSS MiB | heap MiB start→end | clean replay |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
  ];
  for (const r of results) {
    rows.push(
      `| ${r.protocol} | ${r.packets} | ${r.crashes} | ${r.hangs} | ${r.internalErrors} | ` +
        `${r.invariantViolations} | ${r.recordsDecoded} | ${r.packetsPerSecond} | ` +
        `${r.slowestDecodeMs} | ${r.peakRssMiB} | ${r.heapUsedMiB.start}→${r.heapUsedMiB.end} | ` +
        `${r.cleanReplay.records}/${r.cleanReplay.expected} ${r.cleanReplay.ok ? "ok" : "MISMATCH"} |`,
    );
  }
  rows.push("", "| protocol | problem | count |", "|---|---|---:|");
  for (const r of results) {
    for (const [reason, n] of Object.entries(r.problems))
      rows.push(`| ${r.protocol} | ${reason} | ${n} |`);
  }
  return rows.join("\n");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      count: { type: "string", default: "1000000" },
      seed: { type: "string", default: "1" },
      protocol: { type: "string", multiple: true },
      "hang-seconds": { type: "string", default: "10" },
    },
  });
  const count = Number(values.count);
  const seed = Number(values.seed);
  const hangMs = Number(values["hang-seconds"]) * 1000;
  if (!(Number.isInteger(count) && count > 0) || !Number.isInteger(seed) || !(hangMs > 0)) {
    process.stderr.write(
      "usage: fuzz-decoders [--count N] [--seed N] [--protocol v5|v9|ipfix]... [--hang-seconds S]\n",
    );
    return 2;
  }
  const wanted = values.protocol ?? protocols.map((p) => p.name);
  const flows = fixturesDir();
  const results: ProtocolResult[] = [];
  for (const p of protocols) {
    if (wanted.includes(p.name)) results.push(await runProtocol(p, count, seed, flows, hangMs));
  }
  const maxRssMiB = round(process.resourceUsage().maxRSS / 1024, 1);
  const report = { node: process.version, count, seed, maxRssMiB, results };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n\n${table(results)}\n`);
  return results.some(failed) ? 1 : 0;
}

if (isMainThread) {
  process.exitCode = await main();
} else {
  fuzzSegment(workerData as WorkerJob, (m) => parentPort!.postMessage(m));
}
