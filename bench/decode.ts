/**
 * Decode-only benchmark: named cases, runnable one by one, single core, main thread.
 *
 *   npm run build && node dist/bench/decode.js                 # every case
 *   node dist/bench/decode.js ipfix-synthetic-12f v9-corpus    # some
 *   node dist/bench/decode.js --list
 *   node dist/bench/decode.js --interpreter ipfix-synthetic-12f   # codegen: false
 *
 * Each case primes one decoder with its templates, warms up, then decodes its data datagrams
 * over and over for `--seconds`, into one FlowBatch cleared before every datagram (as the
 * collector does), so that memory growth and garbage collections show per-record allocation.
 * Results go into bench/README.md with the command that produced them.
 */
import { existsSync, readdirSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { PerformanceObserver } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { getHeapStatistics } from "node:v8";
import {
  createFlowDecoder,
  type FlowDecoder,
  type FlowDecoderOptions,
} from "../collector/decoders/flow-decoder.js";
import { FlowBatch } from "../schema/flow-record.js";
import { carriesTemplates, createRng, netflowVersion, type Rng } from "../test/fuzz/mutate.js";
import { captureDatagrams, FLOW_CAPTURE_DIRS } from "../test/support/decode-capture.js";
import { ipfixMessage } from "../test/support/export-builder.js";
import { drawTransaction, prng, recordsOf, TEMPLATES } from "../test/support/latency-exports.js";

/** The target for v9/IPFIX with a 10-15 field template, per core. */
const TARGET_RECORDS_PER_SECOND = 5_000_000;
const DATAGRAM_BYTES = 1400;
const SYNTHETIC_DATAGRAMS = 512;
/** Heap use is sampled this often (in datagrams) to estimate bytes allocated. */
const HEAP_SAMPLE_EVERY = 256;

interface Datagram {
  exporter: string;
  timeMs: number;
  payload: Uint8Array;
}

/** A case ready to time: a primed decoder and the datagrams to decode over and over. */
interface Prepared {
  decoder: FlowDecoder;
  datagrams: Datagram[];
  /** What was left out of the timed set, and why. */
  note: string;
}

interface BenchCase {
  name: string;
  description: string;
  /** v9/IPFIX cases are held to the target. */
  target: boolean;
  prepare(flows: string, options: FlowDecoderOptions): Prepared;
}

// ---------------------------------------------------------------------------------------------
// Corpus cases: every datagram of one version in the fixtures.

const CORPUS_DIRS = FLOW_CAPTURE_DIRS;

/**
 * Datagrams of one version, each exporter address qualified by its capture file: captures reuse
 * 127.0.0.1 and template ids, and their templates must not overwrite each other.
 */
function corpusDatagrams(flows: string, version: number): Datagram[] {
  const out: Datagram[] = [];
  for (const dir of CORPUS_DIRS) {
    for (const file of readdirSync(join(flows, dir)).sort()) {
      if (!file.endsWith(".pcap")) continue;
      for (const d of captureDatagrams(join(flows, dir, file))) {
        if (netflowVersion(d.payload) !== version) continue;
        out.push({
          exporter: `${dir}/${file}#${d.exporter}`,
          timeMs: d.timeMs,
          payload: d.payload,
        });
      }
    }
  }
  return out;
}

/**
 * Primes a decoder with the whole corpus once, then keeps the data datagrams that decode
 * records without holding anything (a held set would be copied on every pass).
 */
function prepareCorpus(flows: string, version: number, options: FlowDecoderOptions): Prepared {
  const all = corpusDatagrams(flows, version);
  const decoder = createFlowDecoder(options);
  const batch = new FlowBatch(4096);
  for (const d of all) {
    batch.clear();
    decoder.decode(d.payload, d.exporter, d.timeMs, batch);
  }
  const datagrams: Datagram[] = [];
  let withTemplates = 0;
  let noRecords = 0;
  for (const d of all) {
    if (carriesTemplates(d.payload)) {
      withTemplates++;
      continue;
    }
    batch.clear();
    const held = decoder.problems["data-held"];
    const n = decoder.decode(d.payload, d.exporter, d.timeMs, batch);
    if (n > 0 && decoder.problems["data-held"] === held) datagrams.push(d);
    else noRecords++;
  }
  const note =
    `${all.length} datagrams: ${datagrams.length} timed, ${withTemplates} carry templates, ` +
    `${noRecords} decode no record (options only, unknown template, invalid)`;
  return { decoder, datagrams, note };
}

// ---------------------------------------------------------------------------------------------
// Synthetic cases: a realistic router export with one fixed template.

/** [element id, length]. v9 and IPFIX share these ids. */
type FieldSpec = readonly [id: number, length: number];

/** src/dst IPv4, ports, protocol, TCP flags, in/out interface. */
const commonFields: FieldSpec[] = [
  [8, 4],
  [12, 4],
  [7, 2],
  [11, 2],
  [4, 1],
  [6, 1],
  [10, 4],
  [14, 4],
];
/** v9: IN_BYTES, IN_PKTS (4 bytes), FIRST_SWITCHED/LAST_SWITCHED (sysUptime ms). */
const v9CounterTimeFields: FieldSpec[] = [
  [1, 4],
  [2, 4],
  [22, 4],
  [21, 4],
];
/** IPFIX: octetDeltaCount, packetDeltaCount (8 bytes), flowStart/EndMilliseconds. */
const ipfixCounterTimeFields: FieldSpec[] = [
  [1, 8],
  [2, 8],
  [152, 8],
  [153, 8],
];
/** The 15-field variant adds ipClassOfService and the BGP source/destination AS numbers. */
const extraFields: FieldSpec[] = [
  [5, 1],
  [16, 4],
  [17, 4],
];

interface SyntheticExport {
  template: Uint8Array;
  sampling: Uint8Array;
  data: Uint8Array[];
  recordsPerDatagram: number;
}

const EXPORT_SECONDS = 1_700_000_000;
const SYS_UPTIME_MS = 86_400_000;
const TEMPLATE_ID = 256;

function headerLength(version: 9 | 10): number {
  return version === 9 ? 20 : 16;
}

/** Writes a v9 or IPFIX message header; `count` is v9's record count or IPFIX's sequence. */
function writeHeader(
  view: DataView,
  version: 9 | 10,
  length: number,
  count: number,
  seq: number,
): void {
  view.setUint16(0, version);
  if (version === 9) {
    view.setUint16(2, count);
    view.setUint32(4, SYS_UPTIME_MS + seq * 100);
    view.setUint32(8, EXPORT_SECONDS + Math.floor(seq / 10));
    view.setUint32(12, seq);
    view.setUint32(16, 0);
  } else {
    view.setUint16(2, length);
    view.setUint32(4, EXPORT_SECONDS + Math.floor(seq / 10));
    view.setUint32(8, seq);
    view.setUint32(12, 0);
  }
}

function templateDatagram(version: 9 | 10, fields: readonly FieldSpec[]): Uint8Array {
  const hl = headerLength(version);
  const setLength = 4 + 4 + fields.length * 4;
  const buf = new Uint8Array(hl + setLength);
  const view = new DataView(buf.buffer);
  writeHeader(view, version, buf.length, 1, 0);
  view.setUint16(hl, version === 9 ? 0 : 2);
  view.setUint16(hl + 2, setLength);
  view.setUint16(hl + 4, TEMPLATE_ID);
  view.setUint16(hl + 6, fields.length);
  fields.forEach(([id, length], k) => {
    view.setUint16(hl + 8 + k * 4, id);
    view.setUint16(hl + 10 + k * 4, length);
  });
  return buf;
}

const OPTIONS_TEMPLATE_ID = 257;
const SAMPLING_RATE = 1000;

/**
 * The exporter's sampling options, as routers send them: v9 SAMPLING_INTERVAL (34) scoped to the
 * system; IPFIX samplingPacketInterval/Space (305/306, RFC 5477) scoped to the exporting process.
 */
function samplingDatagram(version: 9 | 10): Uint8Array {
  const hl = headerLength(version);
  const words =
    version === 9
      ? // flowset 1: id, scope length 4, option length 4, (system, 4), (34, 4); padded to 20
        [0x0001, 20, OPTIONS_TEMPLATE_ID, 4, 4, 1, 4, 34, 4, 0]
      : // set 3: id, 3 fields, 1 scope field, (144, 4), (305, 4), (306, 4); 22 bytes
        [0x0003, 22, OPTIONS_TEMPLATE_ID, 3, 1, 144, 4, 305, 4, 306, 4];
  const values = version === 9 ? [1, SAMPLING_RATE] : [1, 1, SAMPLING_RATE - 1];
  const dataLength = 4 + values.length * 4;
  const buf = new Uint8Array(hl + words.length * 2 + dataLength);
  const view = new DataView(buf.buffer);
  writeHeader(view, version, buf.length, 2, 0);
  for (const [k, w] of words.entries()) view.setUint16(hl + k * 2, w);
  const at = hl + words.length * 2;
  view.setUint16(at, OPTIONS_TEMPLATE_ID);
  view.setUint16(at + 2, dataLength);
  for (const [k, v] of values.entries()) view.setUint32(at + 4 + k * 4, v);
  return buf;
}

function writeUint(view: DataView, off: number, length: number, value: number): void {
  switch (length) {
    case 1:
      view.setUint8(off, value);
      return;
    case 2:
      view.setUint16(off, value);
      return;
    case 4:
      view.setUint32(off, value >>> 0);
      return;
    default:
      view.setUint32(off, Math.floor(value / 2 ** 32));
      view.setUint32(off + 4, value >>> 0);
  }
}

const commonPorts = [80, 443, 53, 123, 22, 25, 993, 3478, 8080, 1194];

/** One flow's values, varied the way a border router's are: mostly TCP/UDP, skewed sizes. */
function flowValues(rng: Rng, version: 9 | 10, seq: number): Map<number, number> {
  const roll = rng.below(100);
  const protocol = roll < 70 ? 6 : roll < 95 ? 17 : 1;
  const packets = 1 + Math.floor(2 ** (rng.below(1000) / 100));
  const bytes = packets * (40 + rng.below(1460));
  const durationMs = rng.below(120_000);
  const ageMs = rng.below(60_000);
  const uptime = SYS_UPTIME_MS + seq * 100;
  const nowMs = (EXPORT_SECONDS + Math.floor(seq / 10)) * 1000;
  const v = new Map<number, number>([
    [8, (10 << 24) | rng.below(1 << 24)],
    [12, rng.u32()],
    [7, 1024 + rng.below(64512)],
    [11, rng.below(4) === 0 ? rng.below(65536) : commonPorts[rng.below(commonPorts.length)]!],
    [4, protocol],
    [6, protocol === 6 ? rng.below(64) : 0],
    [10, 1 + rng.below(48)],
    [14, 1 + rng.below(48)],
    [1, bytes],
    [2, packets],
    [5, [0, 0, 0, 0x20, 0x48, 0xb8][rng.below(6)]!],
    [16, 64496 + rng.below(1024)],
    [17, rng.below(400_000)],
  ]);
  if (version === 9) {
    v.set(22, uptime - ageMs - durationMs);
    v.set(21, uptime - ageMs);
  } else {
    v.set(152, nowMs - ageMs - durationMs);
    v.set(153, nowMs - ageMs);
  }
  return v;
}

function dataDatagram(
  rng: Rng,
  version: 9 | 10,
  fields: readonly FieldSpec[],
  records: number,
  seq: number,
): Uint8Array {
  const hl = headerLength(version);
  const recordLength = fields.reduce((n, [, length]) => n + length, 0);
  // v9 flowsets are padded to 4 bytes (RFC 3954 §5.3); IPFIX exporters rarely pad.
  const body = 4 + records * recordLength;
  const setLength = version === 9 ? Math.ceil(body / 4) * 4 : body;
  const buf = new Uint8Array(hl + setLength);
  const view = new DataView(buf.buffer);
  writeHeader(view, version, buf.length, records, version === 9 ? seq : seq * records);
  view.setUint16(hl, TEMPLATE_ID);
  view.setUint16(hl + 2, setLength);
  let off = hl + 4;
  for (let r = 0; r < records; r++) {
    const values = flowValues(rng, version, seq);
    for (const [id, length] of fields) {
      writeUint(view, off, length, values.get(id) ?? 0);
      off += length;
    }
  }
  return buf;
}

function syntheticExport(version: 9 | 10, extra: boolean, seed: number): SyntheticExport {
  const fields = [
    ...commonFields,
    ...(version === 9 ? v9CounterTimeFields : ipfixCounterTimeFields),
    ...(extra ? extraFields : []),
  ];
  const recordLength = fields.reduce((n, [, length]) => n + length, 0);
  const recordsPerDatagram = Math.floor(
    (DATAGRAM_BYTES - headerLength(version) - 4) / recordLength,
  );
  const rng = createRng(seed);
  const data: Uint8Array[] = [];
  for (let seq = 0; seq < SYNTHETIC_DATAGRAMS; seq++) {
    data.push(dataDatagram(rng, version, fields, recordsPerDatagram, seq));
  }
  return {
    template: templateDatagram(version, fields),
    sampling: samplingDatagram(version),
    data,
    recordsPerDatagram,
  };
}

function prepareSynthetic(version: 9 | 10, extra: boolean, options: FlowDecoderOptions): Prepared {
  const exp = syntheticExport(version, extra, 0xbe7c4);
  const exporter = "192.0.2.10";
  const timeMs = EXPORT_SECONDS * 1000;
  const decoder = createFlowDecoder(options);
  decoder.decode(exp.template, exporter, timeMs, new FlowBatch(64));
  decoder.decode(exp.sampling, exporter, timeMs, new FlowBatch(64));
  const datagrams = exp.data.map((payload) => ({ exporter, timeMs, payload }));
  checkSynthetic(decoder, datagrams, exp.recordsPerDatagram);
  const fields = commonFields.length + 4 + (extra ? extraFields.length : 0);
  const note =
    `${datagrams.length} datagrams of ${exp.data[0]!.byteLength} bytes, ` +
    `${exp.recordsPerDatagram} records of ${fields} fields each, sampled 1:${SAMPLING_RATE}`;
  return { decoder, datagrams, note };
}

/** A generator bug would time the wrong thing: every record must decode, with no problem. */
function checkSynthetic(
  decoder: FlowDecoder,
  datagrams: readonly Datagram[],
  perDatagram: number,
): void {
  const batch = new FlowBatch(1024);
  for (const d of datagrams) {
    batch.clear();
    const n = decoder.decode(d.payload, d.exporter, d.timeMs, batch);
    if (n !== perDatagram)
      throw new Error(`synthetic datagram decoded ${n} of ${perDatagram} records`);
    if (batch.samplingRate[0] !== SAMPLING_RATE)
      throw new Error("synthetic sampling rate not applied");
  }
  const problems = Object.entries(decoder.problems).filter(([, n]) => n > 0);
  if (problems.length > 0)
    throw new Error(`synthetic export has problems: ${JSON.stringify(problems)}`);
}

/**
 * Cisco AVC ART records with the response-time histogram (24 fields: the flow key, 8 ART sums and
 * counts, 7 buckets), 12 per datagram, from test/support/latency-exports.ts.
 */
function prepareArt(options: FlowDecoderOptions): Prepared {
  const rand = prng(0xa27);
  const exporter = "192.0.2.10";
  const timeMs = EXPORT_SECONDS * 1000;
  const edges = [5, 10, 50, 100, 200, 500];
  const tpl = TEMPLATES.art;
  const decoder = createFlowDecoder(options);
  decoder.decode(
    ipfixMessage({ exportSeconds: EXPORT_SECONDS, sequence: 0, domain: 1 }, [
      { kind: "template", id: tpl.id, fields: [...tpl.fields] },
    ]),
    exporter,
    timeMs,
    new FlowBatch(64),
  );
  const datagrams: Datagram[] = [];
  for (let seq = 0; seq < SYNTHETIC_DATAGRAMS; seq++) {
    const records = Array.from({ length: 12 }, () => {
      const transactions = Array.from({ length: 1 + Math.floor(rand() * 20) }, () =>
        drawTransaction(rand, 300),
      );
      return recordsOf(
        {
          kind: "art",
          client: "10.1.0.9",
          server: "192.0.2.80",
          serverPort: 443,
          endMs: timeMs - 1000,
          transactions,
          connections: 1,
          lateResponses: 0,
          retransmissions: 1,
        },
        edges,
      )[0]!;
    });
    const payload = ipfixMessage({ exportSeconds: EXPORT_SECONDS, sequence: seq * 12, domain: 1 }, [
      { kind: "data", id: tpl.id, records },
    ]);
    datagrams.push({ exporter, timeMs, payload });
  }
  const batch = new FlowBatch(64);
  for (const d of datagrams) {
    batch.clear();
    if (decoder.decode(d.payload, d.exporter, d.timeMs, batch) !== 12) {
      throw new Error("ART datagram did not decode 12 records");
    }
  }
  const note = `${datagrams.length} datagrams of ${datagrams[0]!.payload.byteLength} bytes, 12 ART records of ${tpl.fields.length} fields each`;
  return { decoder, datagrams, note };
}

const cases: BenchCase[] = [
  {
    name: "v5-corpus",
    description: "every NetFlow v5 datagram in test/fixtures/flows",
    target: false,
    prepare: (flows, options) => prepareCorpus(flows, 5, options),
  },
  {
    name: "v9-corpus",
    description: "every NetFlow v9 data datagram in the fixtures (templates primed once)",
    target: true,
    prepare: (flows, options) => prepareCorpus(flows, 9, options),
  },
  {
    name: "ipfix-corpus",
    description: "every IPFIX data datagram in the fixtures (templates primed once)",
    target: true,
    prepare: (flows, options) => prepareCorpus(flows, 10, options),
  },
  {
    name: "v9-synthetic-12f",
    description: "v9, 12-field template (4-byte counters, sysUptime times), 1400-byte datagrams",
    target: true,
    prepare: (_, options) => prepareSynthetic(9, false, options),
  },
  {
    name: "v9-synthetic-15f",
    description: "as v9-synthetic-12f plus tos, src AS, dst AS",
    target: true,
    prepare: (_, options) => prepareSynthetic(9, true, options),
  },
  {
    name: "ipfix-synthetic-12f",
    description: "IPFIX, 12-field template (8-byte counters, flowStart/EndMilliseconds)",
    target: true,
    prepare: (_, options) => prepareSynthetic(10, false, options),
  },
  {
    name: "ipfix-art",
    description: "IPFIX Cisco AVC ART with the response-time histogram (24 fields)",
    target: false,
    prepare: (_, options) => prepareArt(options),
  },
  {
    name: "ipfix-synthetic-15f",
    description: "as ipfix-synthetic-12f plus tos, src AS, dst AS",
    target: true,
    prepare: (_, options) => prepareSynthetic(10, true, options),
  },
];

// ---------------------------------------------------------------------------------------------
// Measurement.

interface Measurement {
  name: string;
  note: string;
  target: boolean;
  records: number;
  datagrams: number;
  seconds: number;
  recordsPerSecond: number;
  nsPerRecord: number;
  datagramsPerSecond: number;
  recordsPerCpuSecond: number;
  heapUsedMiB: { before: number; after: number };
  rssMiB: { before: number; after: number };
  gc: { minor: number; major: number; ms: number };
  /** Estimated from heap growth between samples (a lower bound: garbage collected in between is missed). */
  allocatedBytesPerRecord: number;
  allocatedBytesPerDatagram: number;
}

/** One pass over the datagrams, the batch cleared before each; returns records decoded. */
function pass(decoder: FlowDecoder, datagrams: readonly Datagram[], batch: FlowBatch): number {
  let records = 0;
  for (let k = 0; k < datagrams.length; k++) {
    const d = datagrams[k]!;
    batch.clear();
    records += decoder.decode(d.payload, d.exporter, d.timeMs, batch);
  }
  return records;
}

function runFor(
  ms: number,
  decoder: FlowDecoder,
  datagrams: readonly Datagram[],
  batch: FlowBatch,
): void {
  const end = performance.now() + ms;
  while (performance.now() < end) pass(decoder, datagrams, batch);
}

/** Counts garbage collections between start() and stop() (entries arrive asynchronously). */
class GcCounter {
  minor = 0;
  major = 0;
  ms = 0;
  private readonly observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as { detail?: { kind?: number } }).detail?.kind ?? 0;
      // perf_hooks constants: 1 minor (scavenge), 2 major, 4 incremental, 8 weak callbacks.
      if (kind === 1) this.minor++;
      else this.major++;
      this.ms += e.duration;
    }
  });

  start(): void {
    this.observer.observe({ entryTypes: ["gc"] });
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 50));
    this.observer.disconnect();
  }
}

const MiB = 2 ** 20;

function mib(bytes: number): number {
  return Math.round((bytes / MiB) * 10) / 10;
}

async function measure(
  c: BenchCase,
  p: Prepared,
  seconds: number,
  warmupSeconds: number,
): Promise<Measurement> {
  const batch = new FlowBatch(8192);
  runFor(warmupSeconds * 1000, p.decoder, p.datagrams, batch);
  const memBefore = process.memoryUsage();
  const gc = new GcCounter();
  gc.start();
  let records = 0;
  let datagrams = 0;
  let allocated = 0;
  let lastHeap = getHeapStatistics().used_heap_size;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const endNs = t0 + BigInt(Math.round(seconds * 1e9));
  let now = t0;
  while (now < endNs) {
    // Chunks of HEAP_SAMPLE_EVERY datagrams: the heap is sampled between them, not inside.
    for (let k = 0; k < HEAP_SAMPLE_EVERY; k += p.datagrams.length) {
      records += pass(p.decoder, p.datagrams, batch);
      datagrams += p.datagrams.length;
    }
    const heap = getHeapStatistics().used_heap_size;
    if (heap > lastHeap) allocated += heap - lastHeap;
    lastHeap = heap;
    now = process.hrtime.bigint();
  }
  const ns = Number(now - t0);
  const cpu = process.cpuUsage(cpu0);
  const memAfter = process.memoryUsage();
  await gc.stop();
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return {
    name: c.name,
    note: p.note,
    target: c.target,
    records,
    datagrams,
    seconds: ns / 1e9,
    recordsPerSecond: records / (ns / 1e9),
    nsPerRecord: ns / records,
    datagramsPerSecond: datagrams / (ns / 1e9),
    recordsPerCpuSecond: records / cpuSeconds,
    heapUsedMiB: { before: mib(memBefore.heapUsed), after: mib(memAfter.heapUsed) },
    rssMiB: { before: mib(memBefore.rss), after: mib(memAfter.rss) },
    gc: { minor: gc.minor, major: gc.major, ms: Math.round(gc.ms) },
    allocatedBytesPerRecord: allocated / records,
    allocatedBytesPerDatagram: allocated / datagrams,
  };
}

// ---------------------------------------------------------------------------------------------
// Report.

function millions(x: number): string {
  return `${(x / 1e6).toFixed(2)} M`;
}

function markdownTable(results: readonly Measurement[]): string {
  const rows = [
    "| case | records/s | ns/record | datagrams/s | records/CPU-s | heap MiB before→after | RSS MiB before→after | GCs minor/major (ms) | ≈alloc B/record | ≈alloc B/datagram | target 5 M/s |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
  ];
  for (const r of results) {
    const verdict = !r.target
      ? "n/a"
      : r.recordsPerSecond >= TARGET_RECORDS_PER_SECOND
        ? "met"
        : "**below**";
    rows.push(
      `| ${r.name} | ${millions(r.recordsPerSecond)} | ${r.nsPerRecord.toFixed(0)} | ` +
        `${Math.round(r.datagramsPerSecond)} | ${millions(r.recordsPerCpuSecond)} | ` +
        `${r.heapUsedMiB.before}→${r.heapUsedMiB.after} | ${r.rssMiB.before}→${r.rssMiB.after} | ` +
        `${r.gc.minor}/${r.gc.major} (${r.gc.ms}) | ${r.allocatedBytesPerRecord.toFixed(1)} | ` +
        `${r.allocatedBytesPerDatagram.toFixed(0)} | ${verdict} |`,
    );
  }
  return rows.join("\n");
}

function machine(): string {
  const model = cpus()[0]?.model ?? "unknown CPU";
  return `node ${process.version}, ${cpus().length} × ${model}, ${process.platform}/${process.arch}`;
}

/** dist/bench/ after a build, bench/ when run from source: the fixtures are found either way. */
function fixturesDir(): string {
  for (const rel of ["../../test/fixtures/flows/", "../test/fixtures/flows/"]) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(dir)) return dir;
  }
  throw new Error("test/fixtures/flows not found next to this script");
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      list: { type: "boolean", default: false },
      seconds: { type: "string", default: "3" },
      warmup: { type: "string", default: "1" },
      json: { type: "boolean", default: false },
      interpreter: { type: "boolean", default: false },
    },
  });
  if (values.list) {
    for (const c of cases) process.stdout.write(`${c.name.padEnd(22)} ${c.description}\n`);
    return 0;
  }
  const unknown = positionals.filter((n) => !cases.some((c) => c.name === n));
  if (unknown.length > 0) {
    process.stderr.write(`unknown case(s): ${unknown.join(", ")} (see --list)\n`);
    return 2;
  }
  const selected =
    positionals.length === 0 ? cases : cases.filter((c) => positionals.includes(c.name));
  const seconds = Number(values.seconds);
  const warmup = Number(values.warmup);
  const flows = fixturesDir();
  // The interpreter is the reference implementation and the path of variable-length templates.
  const options: FlowDecoderOptions = values.interpreter ? { codegen: false } : {};
  const mode = values.interpreter ? "interpreter (codegen: false)" : "default decoder options";
  process.stderr.write(`${machine()}, ${mode}\n`);
  const results: Measurement[] = [];
  for (const c of selected) {
    const prepared = c.prepare(flows, options);
    if (prepared.datagrams.length === 0) throw new Error(`${c.name}: nothing to decode`);
    const r = await measure(c, prepared, seconds, warmup);
    process.stderr.write(
      `${c.name}: ${millions(r.recordsPerSecond)} records/s, ${r.nsPerRecord.toFixed(0)} ns/record (${r.note})\n`,
    );
    results.push(r);
  }
  if (values.json)
    process.stdout.write(`${JSON.stringify({ machine: machine(), results }, null, 2)}\n`);
  process.stdout.write(`\n${machine()}, ${mode}\n\n${markdownTable(results)}\n`);
  return 0;
}

process.exitCode = await main();
