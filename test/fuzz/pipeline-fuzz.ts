/**
 * The pipeline fuzz, worker side: inputs (the extreme seeds, then mutated real datagrams or
 * frames) through the collector's whole single-box path as `flowtally run` wires it
 * (cli/pipeline.ts): decode → classify → partial sums → drain → rollup (traffic and response
 * times) → the embedded DuckDB store, with the invariants checked at each hand-over and at the
 * end. Shared by `bench/fuzz-pipeline.ts` (millions of inputs) and
 * `test/fuzz/pipeline.fuzz.test.ts` (the short run); both run it in a worker thread
 * (test/fuzz/pipeline-worker.ts) under a watchdog (test/fuzz/pipeline-watchdog.ts).
 *
 * What is checked:
 * - nothing throws out of any step (a crash), no step hangs (the watchdog);
 * - every record the record sink keeps is within the bounds it documents (bytes and packets
 *   <= MAX_RECORD_COUNT, rate <= MAX_SAMPLING_RATE, finite times), and the records it drops are
 *   those a second sink of the same config drops when given them one by one; every partial sum,
 *   rollup delta and stored row has finite, non-negative bytes, packets and flows, a key within
 *   the model and a period start on its level's grid; response-time values are finite and >= 0;
 * - conservation, for bytes, packets and flows: what the sink accepted (each record's counts
 *   once per link it is attributed to; records the sink drops, by its own counters, excluded) =
 *   the partial sums drained = the 1-minute rollup deltas = the 5m/1h/1d deltas = the rows the
 *   store holds at each level = the store's overview over the run's range. Compared exactly (the
 *   sums as rationals, test/fuzz/exact-sum.ts) wherever the pipeline's double arithmetic is
 *   exact (whole numbers, every sum within 2^53), else within the rounding it may do.
 *
 * Two phases per protocol, each with a pipeline and a store of its own: the seeds (a hand-over
 * after each, so that a failure names its seed), then the mutants (a hand-over every
 * `handOverEvery` inputs, the store written in batches), on the inputs' own clocks: a seed's
 * 2106 does not make every mutant late.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { pino } from "pino";
import { ResponseRollup } from "../../aggregator/response-rollup.js";
import { LEVELS, type LevelName, Rollup, type SeriesDelta } from "../../aggregator/rollup.js";
import { nameDeltas, nameResponseDeltas } from "../../aggregator/series-names.js";
import { createCollectors } from "../../cli/collectors.js";
import type { PartialSum } from "../../collector/aggregate/partial-sums.js";
import type { ResponsePartial } from "../../collector/aggregate/response-sums.js";
import { createCaptureParser } from "../../collector/capture/capture-file.js";
import { createAttribution, createClassifier } from "../../collector/classify/classifier.js";
import { buildCustomerModel, type CustomerModel } from "../../collector/classify/customer-model.js";
import { decoderOptionsFromConfig } from "../../collector/decoder-options.js";
import { createFlowDecoder } from "../../collector/decoders/flow-decoder.js";
import { createSflowDecoder } from "../../collector/decoders/sflow.js";
import { InterfaceCounterBatch } from "../../collector/decoders/sflow-records.js";
import {
  createRecordSink,
  MAX_RECORD_COUNT,
  MAX_SAMPLING_RATE,
  type RecordSink,
} from "../../collector/flow-collector.js";
import { createInterfaceTracker } from "../../collector/interface-utilisation.js";
import type { PacketCollector } from "../../collector/packet-collector.js";
import { parseConfigText } from "../../config/load-config.js";
import type { Config } from "../../schema/config.js";
import { FlowBatch } from "../../schema/flow-record.js";
import {
  type ResponseTimeRowDelta,
  responseTimeCounters,
  type SeriesRowDelta,
  type SeriesStore,
} from "../../schema/series-store.js";
import { createDuckDbStore } from "../../store/duckdb-store.js";
import { captureDatagrams, FLOW_CAPTURE_DIRS } from "../support/decode-capture.js";
import { conservation, ExactSum } from "./exact-sum.js";
import { extremeSeedsFor, type PipelineInput, type PipelineProtocol } from "./extreme-datagrams.js";
import {
  carriesTemplates,
  createRng,
  MAX_DATAGRAM,
  mutateDatagram,
  mutateFrame,
  netflowVersion,
} from "./mutate.js";
import { Heartbeat, InputKind, Phase } from "./pipeline-heartbeat.js";
import {
  emptyStats,
  type Failure,
  histogramBucket,
  type PhaseReport,
  PIPELINE_PROTOCOLS,
  type SegmentJob,
  type SegmentMessage,
  type SegmentStats,
  seedCount,
} from "./pipeline-stats.js";

const CLEAN_TEMPLATE_EVERY = 8;
const MAX_REPORTED_FAILURES = 8;
/** A split spreads one value over at most maxSpread / interval + 1 = 361 parts. */
const SPLIT_ROUNDINGS = 2 * 362;
const LINKTYPE_ETHERNET = 1;
/** The capture time of the first mutated frame. */
const FRAME_CLOCK_START_MS = Date.UTC(2026, 10, 22, 12);
/** The capture files of the packet path's corpus (those of bench/packet-parser.ts). */
const PACKET_CAPTURES = [
  "tcpreplay__test.pcap",
  "ndpi__netflix.pcap",
  "ndpi__http_ipv6.pcap",
  "ndpi__1kxun.pcap",
];

/**
 * The customer model: customers over the fixtures' addresses (the corpus' most frequent
 * networks), a link matched by exporter interface, a catch-all customer (0.0.0.0/0, ::/0: every
 * IP flow is attributed, a flow between two customers to both), traffic classes by port,
 * protocol and remote prefix. Small decoder limits, so that the bounds bite under fuzz.
 */
export function fuzzConfigText(protocol: PipelineProtocol, storePath: string): string {
  return `
decoder:
  statePath: ""
  unknownSampling: ${protocol === "v9" ? "hold" : "assume-one"}
  maxTemplatesPerExporter: 64
  held: { maxSets: 32, maxBytes: 65536, maxAgeSeconds: 2 }
store: { embedded: { path: ${JSON.stringify(storePath)} } }
flowTable: { maxFlows: 4096 }
classes:
  - { id: dns, match: { ports: [53] } }
  - { id: web, match: { protocol: [tcp], ports: [80, 443, 8080] }, totalDelayThreshold: 50ms }
  - { id: video, match: { remotePrefixes: [23.246.0.0/16, 2a00:86c0::/32] } }
customers:
  - id: lan
    name: LAN
    sites:
      - { id: lab10, links: [{ id: l10, prefixes: [192.168.10.0/24] }] }
      - { id: lab40, links: [{ id: l40, prefixes: [192.168.40.0/24] }] }
      - { id: rest, links: [{ id: l16, prefixes: [192.168.0.0/16] }] }
  - id: office
    name: Office
    sites:
      - id: hq
        links:
          - { id: fiber, prefixes: [172.16.0.0/12, 10.0.0.0/8] }
          - { id: port7, router: 192.0.2.9, ifIndex: 7 }
  - { id: v6home, name: V6, sites: [{ id: s, links: [{ id: l, prefixes: ["2001:4958:15a0:24::/64"] }] }] }
  - { id: multicast, name: Multicast, sites: [{ id: s, links: [{ id: l, prefixes: [224.0.0.0/4] }] }] }
  - { id: internet, name: Everyone else, sites: [{ id: s, links: [{ id: l, prefixes: [0.0.0.0/0, "::/0"] }] }] }
`;
}

// ---------------------------------------------------------------------------------------------
// Inputs: the seeds, then mutants of the corpus.

interface CorpusItem {
  source: string;
  payload: Uint8Array;
  timeMs: number;
  linkType: number;
}

function isSflow(payload: Uint8Array): boolean {
  return (
    payload.byteLength >= 4 &&
    payload[0] === 0 &&
    payload[1] === 0 &&
    payload[2] === 0 &&
    payload[3] === 5
  );
}

export function loadCorpus(protocol: PipelineProtocol, fixtures: string): CorpusItem[] {
  const out: CorpusItem[] = [];
  if (protocol === "packets") {
    for (const file of PACKET_CAPTURES) {
      const parser = createCaptureParser((p) => {
        out.push({
          source: "",
          payload: p.data.slice(),
          timeMs: p.tsSec * 1000 + p.tsNsec / 1e6,
          linkType: p.linkType,
        });
      });
      parser.push(readFileSync(join(fixtures, "packets", file)));
      parser.end();
    }
    return out;
  }
  const version = protocol === "v5" ? 5 : protocol === "v9" ? 9 : 10;
  for (const dir of FLOW_CAPTURE_DIRS) {
    for (const file of readdirSync(join(fixtures, "flows", dir)).sort()) {
      if (!file.endsWith(".pcap")) continue;
      for (const d of captureDatagrams(join(fixtures, "flows", dir, file))) {
        const wanted =
          protocol === "sflow" ? isSflow(d.payload) : netflowVersion(d.payload) === version;
        if (wanted)
          out.push({ source: d.exporter, payload: d.payload, timeMs: d.timeMs, linkType: 0 });
      }
    }
  }
  return out;
}

/** The rng seed of a protocol: a different stream per protocol under one `--seed`. */
function protocolSeed(seed: number, protocol: PipelineProtocol): number {
  return (seed ^ Math.imul(PIPELINE_PROTOCOLS.indexOf(protocol) + 5, 0x9e3779b9)) >>> 0;
}

/** One input, its bytes in the heartbeat's payload. */
interface Input {
  index: number;
  kind: InputKind;
  /** Index in the protocol's seeds, -1 for other inputs. */
  seed: number;
  source: string;
  length: number;
  timeMs: number;
  tsSec: number;
  tsNsec: number;
  linkType: number;
}

/**
 * The inputs of a protocol in order, each written into `work`: the seeds, then `count` mutants
 * (v9 and IPFIX: with a clean template datagram of the corpus before one in 8). Deterministic:
 * the same job gives the same inputs, so an index found in the long run is found again.
 */
function* inputs(
  protocol: PipelineProtocol,
  seed: number,
  count: number,
  corpus: readonly CorpusItem[],
  work: Uint8Array,
): Generator<Input> {
  let index = 0;
  const seeds = extremeSeedsFor(protocol);
  const frames = protocol === "packets";
  const timeOf = (ms: number, nsec: number | undefined) => {
    const tsSec = Math.floor(ms / 1000);
    return { tsSec, tsNsec: nsec ?? Math.round((ms - tsSec * 1000) * 1e6) };
  };
  for (let s = 0; s < seeds.length; s++) {
    for (const i of seeds[s]!.inputs) {
      work.set(i.payload);
      yield seedInput(index++, s, i, frames ? LINKTYPE_ETHERNET : 0, timeOf(i.timeMs, i.tsNsec));
    }
  }
  const rng = createRng(protocolSeed(seed, protocol));
  const templates = corpus.filter((d) => carriesTemplates(d.payload));
  const mutantWork = work.subarray(0, frames ? work.length : MAX_DATAGRAM);
  for (let n = 0; n < count; n++) {
    if (templates.length > 0 && rng.below(CLEAN_TEMPLATE_EVERY) === 0) {
      const t = templates[rng.below(templates.length)]!;
      work.set(t.payload);
      const timeMs = t.timeMs + n;
      yield {
        index: index++,
        kind: InputKind.CleanTemplate,
        seed: -1,
        source: t.source,
        length: t.payload.byteLength,
        timeMs,
        ...timeOf(timeMs, undefined),
        linkType: 0,
      };
    }
    const d = corpus[rng.below(corpus.length)]!;
    const donor = corpus[rng.below(corpus.length)]!;
    const mutant = frames
      ? mutateFrame(rng, d.payload, donor.payload, mutantWork)
      : mutateDatagram(rng, d.payload, donor.payload, mutantWork);
    // Datagrams arrive at their capture's time, drifting 1 ms a mutant (the records carry their
    // exporter's times, which the sink judges against it). Frames are the packet path's clock:
    // one that moves forward 1 ms a frame, or frames of captures years apart, interleaved,
    // would make every flow of the older ones too old when the table exports it.
    const timeMs = frames ? FRAME_CLOCK_START_MS + n : d.timeMs + n;
    yield {
      index: index++,
      kind: InputKind.Mutant,
      seed: -1,
      source: d.source,
      length: mutant.byteLength,
      timeMs,
      ...timeOf(timeMs, undefined),
      linkType: d.linkType,
    };
  }
}

function seedInput(
  index: number,
  seed: number,
  i: PipelineInput,
  linkType: number,
  ts: { tsSec: number; tsNsec: number },
): Input {
  return {
    index,
    kind: InputKind.Seed,
    seed,
    source: i.source,
    length: i.payload.byteLength,
    timeMs: i.timeMs,
    ...ts,
    linkType,
  };
}

// ---------------------------------------------------------------------------------------------
// The pipeline of one phase

/** Numeric counters of an object, nested objects flattened as "outer.inner". */
function counters(
  o: object,
  prefix = "",
  out: Record<string, number> = {},
): Record<string, number> {
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === "number") out[prefix + k] = v;
    else if (v !== null && typeof v === "object" && !Array.isArray(v))
      counters(v, `${prefix}${k}.`, out);
  }
  return out;
}

/** Records the sink has dropped so far, all reasons together. */
function dropped(sink: RecordSink): number {
  let n = 0;
  for (const v of Object.values(sink.stats.dropped)) n += v;
  return n;
}

/** Bytes, packets and flows of one stage. */
class Tally {
  readonly bytes = new ExactSum();
  readonly packets = new ExactSum();
  readonly flows = new ExactSum();
  add(bytes: number, packets: number, flows: number): void {
    this.bytes.add(bytes);
    this.packets.add(packets);
    this.flows.add(flows);
  }
}

interface Source {
  /** Processes one input (its bytes in `payload`). */
  ingest(input: Input, payload: Uint8Array): void;
  /** Timers: held data and idle flows, at `nowMs`; `final` releases everything. */
  expire(nowMs: number, final: boolean): void;
  drain(beforeMs: number): PartialSum[];
  drainAll(): PartialSum[];
  drainResponses(beforeMs: number): ResponsePartial[];
  drainAllResponses(): ResponsePartial[];
  counts(): PhaseCounts;
}

/** Counters of one phase's pipeline, added to those of the phases before it in the stats. */
interface PhaseCounts {
  sink: Record<string, number>;
  decoder: Record<string, number>;
  flowTable: Record<string, number>;
  /** Records the packet path's sink was given, and dropped (the flow path counts as it goes). */
  packetRecords: number;
  packetDrops: number;
}

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

interface Checks {
  /** A broken invariant: `kind` groups them in the report, `what` is this one. */
  violation(kind: string, what: string): void;
}

/**
 * NetFlow/IPFIX or sFlow: the decoder and the record sink, as createFlowCollector joins them
 * (decode into a batch, then `sink.consume`), with the batch looked at in between: its rows are
 * what the sink is given. A row the sink drops shows in its counters; to know which row, the
 * rows of a datagram with drops are given one by one to a second sink of the same config.
 */
function flowSource(
  protocol: PipelineProtocol,
  cfg: Config,
  model: CustomerModel,
  accepted: Tally,
  stats: SegmentStats,
  checks: Checks,
): Source {
  // As cli/collectors.ts makes the collectors' sinks.
  const sinkDeps = {
    model,
    intervalMs: cfg.aggregation.interval,
    maxFutureMs: cfg.aggregation.maxFuture,
    maxPastMs: cfg.aggregation.maxPast,
  };
  const sink = createRecordSink(sinkDeps);
  const probe = createRecordSink(sinkDeps);
  const probeBatch = new FlowBatch(64);
  const classifier = createClassifier(model);
  const attribution = createAttribution();
  const batch = new FlowBatch(1024);
  const rows = new FlowBatch(1024);
  const flow =
    protocol === "sflow" ? null : createFlowDecoder(decoderOptionsFromConfig(cfg.decoder));
  const sflow =
    protocol === "sflow"
      ? createSflowDecoder({
          samplingOverrides: new Map(
            cfg.decoder.samplingOverrides.map((o) => [o.exporter, o.rate]),
          ),
        })
      : null;
  const counterRows = new InterfaceCounterBatch();
  const interfaces = createInterfaceTracker();

  /** Gives the batch to the sink and accounts for what it kept. */
  function consume(receivedMs: number): void {
    rows.clear();
    rows.exporterNames = batch.exporterNames;
    for (let i = 0; i < batch.length; i++) rows.copyRow(batch, i);
    stats.recordsDecoded += rows.length;
    const before = dropped(sink);
    sink.consume(batch, receivedMs);
    const drops = dropped(sink) - before;
    let probeDrops = 0;
    for (let i = 0; i < rows.length; i++) {
      if (drops > 0) {
        probeBatch.clear();
        probeBatch.exporterNames = rows.exporterNames;
        probeBatch.copyRow(rows, i);
        const b = dropped(probe);
        probe.consume(probeBatch, receivedMs);
        if (dropped(probe) > b) {
          probeDrops++;
          continue;
        }
      }
      // What the sink keeps must be within the bounds it documents.
      const bytes = rows.bytes[i]!;
      const packets = rows.packets[i]!;
      const rate = rows.samplingRate[i]!;
      if (
        !(bytes >= 0 && bytes <= MAX_RECORD_COUNT) ||
        !(packets >= 0 && packets <= MAX_RECORD_COUNT) ||
        !(rate <= MAX_SAMPLING_RATE) ||
        !Number.isFinite(rows.startMs[i]!) ||
        !Number.isFinite(rows.endMs[i]!)
      ) {
        checks.violation(
          "the sink kept a record out of its bounds",
          `the sink kept a record of bytes=${bytes} packets=${packets} rate=${rate} start=${rows.startMs[i]} end=${rows.endMs[i]}`,
        );
      }
      classifier.classify(rows, i, attribution);
      stats.recordsAccepted++;
      for (let k = 0; k < attribution.count; k++) accepted.add(bytes, packets, 1);
    }
    if (drops > 0) probe.drainAll();
    if (probeDrops !== drops) {
      checks.violation(
        "the sink's drops are not those of its rows one by one",
        `the sink counted ${drops} drops, its rows given one by one to a sink of the same config ${probeDrops}`,
      );
    }
  }

  return {
    ingest(input, payload) {
      if (flow !== null) flow.decode(payload, input.source, input.timeMs, batch);
      else {
        counterRows.clear();
        sflow!.decode(payload, input.source, input.timeMs, batch, counterRows);
        interfaces.add(counterRows);
      }
      consume(input.timeMs);
    },
    expire(nowMs, final) {
      if (flow === null) return;
      // `final`: past every hold time, so that nothing stays held.
      const at = final ? nowMs + cfg.decoder.held.maxAgeSeconds * 1000 + 1 : nowMs;
      flow.expire(at, batch);
      consume(at);
    },
    drain: (beforeMs) => sink.drain(beforeMs),
    drainAll: () => sink.drainAll(),
    drainResponses: () => [],
    drainAllResponses: () => [],
    counts() {
      const problems = flow !== null ? flow.problems : sflow!.problems;
      const decoder: Record<string, number> = {};
      for (const [k, v] of Object.entries(problems)) if (v > 0) decoder[k] = v;
      return {
        sink: counters(sink.stats),
        decoder,
        flowTable: {},
        packetRecords: 0,
        packetDrops: 0,
      };
    },
  };
}

/** The packet path: the packet collector as `run` makes it (cli/collectors.ts). */
function packetSource(cfg: Config): Source {
  const packets: PacketCollector = createCollectors(cfg, pino({ level: "silent" })).packets();
  return {
    ingest(input, payload) {
      packets.ingest(payload, input.linkType, input.tsSec, input.tsNsec);
    },
    expire(nowMs, final) {
      if (final) packets.flushAll();
      else packets.expire(nowMs);
    },
    drain: (beforeMs) => packets.drain(beforeMs),
    drainAll: () => packets.drainAll(),
    drainResponses: (beforeMs) => packets.drainResponses(beforeMs),
    drainAllResponses: () => packets.drainAllResponses(),
    counts() {
      return {
        sink: {
          ...counters({
            records: packets.stats.records,
            unattributedRecords: packets.stats.unattributedRecords,
            dropped: packets.stats.dropped,
          }),
          transactions: packets.stats.transactions,
        },
        decoder: { ...packets.stats.results },
        flowTable: counters(packets.stats.flowTable),
        packetRecords: packets.stats.records,
        packetDrops: Object.values(packets.stats.dropped).reduce((a, b) => a + b, 0),
      };
    },
  };
}

const LEVEL_MS: Record<LevelName, number> = Object.fromEntries(
  LEVELS.map((l) => [l.name, l.ms]),
) as Record<LevelName, number>;

/** The pipeline of one phase, its store, and what each stage of it has seen. */
class PhasePipeline {
  readonly model: CustomerModel;
  private readonly cfg: Config;
  private readonly source: Source;
  private readonly rollup: Rollup;
  private readonly responseRollup: ResponseRollup;
  readonly store: SeriesStore;
  private readonly storePath: string;
  private readonly frames: boolean;
  /** What the sink accepted (flows only), the partial sums drained, the deltas per level, the rows written per level. */
  readonly accepted = new Tally();
  readonly partials = new Tally();
  readonly deltas = new Map<LevelName, Tally>(LEVELS.map((l) => [l.name, new Tally()]));
  readonly written = new Map<LevelName, Tally>(LEVELS.map((l) => [l.name, new Tally()]));
  readonly responsePartials = new ExactSum();
  readonly responseDeltas = new Map<LevelName, ExactSum>(
    LEVELS.map((l) => [l.name, new ExactSum()]),
  );
  readonly responseWritten = new Map<LevelName, ExactSum>(
    LEVELS.map((l) => [l.name, new ExactSum()]),
  );
  /** The span of the 1-minute rows written: the range the overview is read over. */
  private firstMinute = Number.POSITIVE_INFINITY;
  private lastMinute = Number.NEGATIVE_INFINITY;
  /** Rows refused by the store: left out of what it should hold. */
  private refused = 0;
  /** Set when an exception left a stage's accounting unknown. */
  tainted = "";

  constructor(
    protocol: PipelineProtocol,
    storePath: string,
    private readonly stats: SegmentStats,
    private readonly checks: Checks,
  ) {
    this.cfg = parseConfigText(fuzzConfigText(protocol, storePath));
    this.model = buildCustomerModel(this.cfg);
    this.frames = protocol === "packets";
    this.source = this.frames
      ? packetSource(this.cfg)
      : flowSource(protocol, this.cfg, this.model, this.accepted, stats, checks);
    this.rollup = new Rollup({ latenessMs: this.cfg.aggregation.lateness });
    this.responseRollup = new ResponseRollup({ latenessMs: this.cfg.aggregation.lateness });
    this.storePath = storePath;
    this.store = createDuckDbStore({ path: storePath });
  }

  ingest(input: Input, payload: Uint8Array): void {
    this.source.ingest(input, payload);
  }

  counts(): PhaseCounts {
    return this.source.counts();
  }

  /**
   * cli/pipeline.ts's hand-over: timers, then everything received (open intervals too) to the
   * rollups and their deltas to the store; `final` also ends what the timers hold.
   */
  async handOver(nowMs: number, final: boolean): Promise<void> {
    this.source.expire(nowMs, final);
    const partials = this.source.drainAll();
    this.checkPartials(partials);
    this.rollup.add(partials, nowMs);
    const responses = this.source.drainAllResponses();
    this.checkResponses(responses, "response partial");
    for (const r of responses) this.responsePartials.add(r.transactions);
    this.responseRollup.add(responses, nowMs);
    const deltas = this.rollup.flush();
    this.checkDeltas(deltas);
    const responseDeltas = this.responseRollup.flush();
    this.checkResponses(responseDeltas, "response delta");
    for (const d of responseDeltas) this.responseDeltas.get(d.level)!.add(d.transactions);
    await this.write(
      nameDeltas(this.model, deltas),
      nameResponseDeltas(this.model, responseDeltas),
    );
  }

  private async write(rows: SeriesRowDelta[], responseRows: ResponseTimeRowDelta[]): Promise<void> {
    if (rows.length > 0) {
      try {
        await this.store.addDeltas(rows);
        this.stats.storeRowsWritten += rows.length;
        for (const r of rows) {
          this.written.get(r.level)!.add(r.bytes, r.packets, r.flows);
          if (r.level === "1m") {
            this.firstMinute = Math.min(this.firstMinute, r.startMs);
            this.lastMinute = Math.max(this.lastMinute, r.startMs);
          }
        }
      } catch (e) {
        this.refused += rows.length;
        this.stats.storeRowsRefused += rows.length;
        throw new StoreRefusal(`the store refused ${rows.length} rows: ${message(e)}`);
      }
    }
    if (responseRows.length > 0) {
      try {
        await this.store.addResponseTimes(responseRows);
        for (const r of responseRows) this.responseWritten.get(r.level)!.add(r.transactions);
      } catch (e) {
        this.stats.storeRowsRefused += responseRows.length;
        throw new StoreRefusal(
          `the store refused ${responseRows.length} response rows: ${message(e)}`,
        );
      }
    }
  }

  private checkPartials(partials: readonly PartialSum[]): void {
    const iv = this.cfg.aggregation.interval;
    for (const p of partials) {
      this.stats.partials++;
      this.partials.add(p.bytes, p.packets, p.flows);
      const bad = badValues(p.bytes, p.packets, p.flows);
      if (
        bad !== "" ||
        !Number.isSafeInteger(p.startMs) ||
        p.startMs % iv !== 0 ||
        !this.validKey(p)
      ) {
        this.checks.violation(
          "partial sum out of range",
          `partial sum ${JSON.stringify(p)}${bad === "" ? "" : `: ${bad}`}`,
        );
      }
    }
  }

  private checkDeltas(deltas: readonly SeriesDelta[]): void {
    for (const d of deltas) {
      this.deltas.get(d.level)!.add(d.bytes, d.packets, d.flows);
      const bad = badValues(d.bytes, d.packets, d.flows);
      const ms = LEVEL_MS[d.level];
      if (
        bad !== "" ||
        !Number.isSafeInteger(d.startMs) ||
        d.startMs % ms !== 0 ||
        !this.validKey(d)
      ) {
        this.checks.violation(
          "rollup delta out of range",
          `rollup delta ${JSON.stringify(d)}${bad === "" ? "" : `: ${bad}`}`,
        );
      }
    }
  }

  private checkResponses(
    rows: ReadonlyArray<ResponsePartial | (ResponsePartial & { level: LevelName })>,
    what: string,
  ): void {
    for (const r of rows) {
      for (const c of responseTimeCounters) {
        if (!(Number.isFinite(r[c]) && r[c] >= 0)) {
          this.checks.violation(
            `${what}: ${c} negative or not finite`,
            `${what} ${c} = ${r[c]} (${JSON.stringify({ ...r, bins: r.bins.length })})`,
          );
        }
      }
      for (const [key, n] of r.bins) {
        if (!Number.isSafeInteger(key) || !(Number.isFinite(n) && n >= 0)) {
          this.checks.violation(`${what}: a bad sketch bin`, `${what} bin [${key}, ${n}]`);
        }
      }
    }
  }

  private validKey(k: { link: number; classIndex: number; direction: number }): boolean {
    return (
      Number.isInteger(k.link) &&
      k.link >= -1 &&
      k.link < this.model.links.length &&
      Number.isInteger(k.classIndex) &&
      k.classIndex >= 0 &&
      k.classIndex < this.model.classIds.length &&
      (k.direction === 0 || k.direction === 1)
    );
  }

  /** After the final hand-over: the overview, then the store's own files. */
  async verify(phase: PhaseReport["phase"], from: number, to: number): Promise<PhaseReport> {
    const overview = new Tally();
    let overviewRows = 0;
    if (this.firstMinute <= this.lastMinute) {
      const rows = await this.store.overview({
        fromMs: this.firstMinute,
        toMs: this.lastMinute + 60_000,
      });
      for (const r of rows) {
        overview.bytes.add(r.bytesIn);
        overview.bytes.add(r.bytesOut);
        overview.packets.add(r.packetsIn);
        overview.packets.add(r.packetsOut);
        overview.flows.add(r.flows);
        overviewRows++;
      }
    }
    await this.store.stop();
    const stored = await readStore(this.storePath);
    const report: PhaseReport = {
      phase,
      from,
      to,
      conservation: [],
      storedRows: {},
      storedResponseRows: {},
    };
    const c = report.conservation;
    const m1 = this.deltas.get("1m")!;
    for (const unit of ["bytes", "packets", "flows"] as const) {
      if (!this.frames && this.tainted === "") {
        c.push(
          conservation(
            { name: `${unit} accepted by the sink`, sum: this.accepted[unit] },
            { name: `${unit} in the partial sums`, sum: this.partials[unit] },
            this.accepted[unit].count * SPLIT_ROUNDINGS,
            0,
          ),
        );
      }
      c.push(
        conservation(
          { name: `${unit} in the partial sums`, sum: this.partials[unit] },
          { name: `${unit} in the 1m deltas`, sum: m1[unit] },
          this.partials[unit].count,
          0,
        ),
      );
      for (const level of LEVELS) {
        const deltas = this.deltas.get(level.name)!;
        if (level.name !== "1m") {
          c.push(
            conservation(
              { name: `${unit} in the 1m deltas`, sum: m1[unit] },
              { name: `${unit} in the ${level.name} deltas`, sum: deltas[unit] },
              0,
              0,
            ),
          );
        }
        // What the store was given (refused rows excluded) against what its table holds.
        const written = this.written.get(level.name)!;
        if (this.refused === 0) {
          c.push(
            conservation(
              { name: `${unit} in the ${level.name} deltas`, sum: deltas[unit] },
              { name: `${unit} written at ${level.name}`, sum: written[unit] },
              0,
              0,
            ),
          );
        }
        const table = stored.levels.get(level.name)!;
        c.push(
          conservation(
            { name: `${unit} written at ${level.name}`, sum: written[unit] },
            { name: `${unit} stored in series_${level.name}`, sum: table.tally[unit] },
            written[unit].count,
            0,
          ),
        );
      }
      c.push(
        conservation(
          { name: `${unit} stored in series_1m`, sum: stored.levels.get("1m")!.tally[unit] },
          { name: `${unit} in the store's overview`, sum: overview[unit] },
          stored.rows,
          overview[unit].max,
        ),
      );
    }
    c.push(
      conservation(
        { name: "transactions in the response partials", sum: this.responsePartials },
        { name: "transactions in the 1m response deltas", sum: this.responseDeltas.get("1m")! },
        this.responsePartials.count,
        0,
      ),
    );
    for (const level of LEVELS) {
      c.push(
        conservation(
          {
            name: `transactions in the ${level.name} response deltas`,
            sum: this.responseDeltas.get(level.name)!,
          },
          {
            name: `transactions stored in response_${level.name}`,
            sum: stored.responseTransactions.get(level.name)!,
          },
          this.responseWritten.get(level.name)!.count,
          0,
        ),
      );
    }
    for (const level of LEVELS) {
      const t = stored.levels.get(level.name)!;
      report.storedRows[level.name] = { rows: t.rows, bad: t.bad };
      const r = stored.responses.get(level.name)!;
      report.storedResponseRows[level.name] = r;
      if (t.bad > 0)
        this.checks.violation(
          "the store holds a non-finite or negative traffic value",
          `series_${level.name} holds ${t.bad} rows with a non-finite or negative value`,
        );
      if (r.bad > 0)
        this.checks.violation(
          "the store holds a non-finite or negative response-time value",
          `response_${level.name} holds ${r.bad} values that are non-finite or negative`,
        );
    }
    if (overviewRows === 0 && this.firstMinute <= this.lastMinute) {
      this.checks.violation("empty overview", "the overview of the run's range is empty");
    }
    return report;
  }
}

class StoreRefusal extends Error {}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** "" when bytes, packets and flows are finite and >= 0 (flows whole), else what is wrong. */
function badValues(bytes: number, packets: number, flows: number): string {
  const wrong: string[] = [];
  if (!(Number.isFinite(bytes) && bytes >= 0)) wrong.push(`bytes ${bytes}`);
  if (!(Number.isFinite(packets) && packets >= 0)) wrong.push(`packets ${packets}`);
  if (!(Number.isSafeInteger(flows) && flows >= 0)) wrong.push(`flows ${flows}`);
  return wrong.join(", ");
}

interface StoredLevel {
  rows: number;
  /** Rows with a non-finite or negative bytes, packets or flows. */
  bad: number;
  tally: Tally;
}

/** Reads every row of the store's file, straight from DuckDB (after the store has stopped). */
async function readStore(path: string): Promise<{
  levels: Map<LevelName, StoredLevel>;
  rows: number;
  responses: Map<LevelName, { rows: number; bad: number }>;
  responseTransactions: Map<LevelName, ExactSum>;
}> {
  const instance = await DuckDBInstance.create(path);
  const c = await instance.connect();
  try {
    const levels = new Map<LevelName, StoredLevel>();
    const responses = new Map<LevelName, { rows: number; bad: number }>();
    const responseTransactions = new Map<LevelName, ExactSum>();
    let rows = 0;
    for (const { name } of LEVELS) {
      const r = await c.runAndReadAll(`SELECT bytes, packets, flows FROM series_${name}`);
      const [bytes, packets, flows] = r.getColumnsJS() as [number[], number[], number[]];
      const level: StoredLevel = { rows: r.currentRowCount, bad: 0, tally: new Tally() };
      for (let i = 0; i < level.rows; i++) {
        const b = Number(bytes[i]);
        const p = Number(packets[i]);
        const f = Number(flows[i]);
        level.tally.add(b, p, f);
        if (badValues(b, p, f) !== "") level.bad++;
      }
      rows += level.rows;
      levels.set(name, level);
      const rr = await c.runAndReadAll(`SELECT metric, value FROM response_${name}`);
      const [metrics, values] = rr.getColumnsJS() as [string[], number[]];
      const transactions = new ExactSum();
      let bad = 0;
      for (let i = 0; i < rr.currentRowCount; i++) {
        const v = Number(values[i]);
        if (!(Number.isFinite(v) && v >= 0)) bad++;
        if (metrics[i] === "transactions") transactions.add(v);
      }
      responses.set(name, { rows: rr.currentRowCount, bad });
      responseTransactions.set(name, transactions);
    }
    return { levels, rows, responses, responseTransactions };
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

// ---------------------------------------------------------------------------------------------
// The segment: the worker's job.

function kindName(kind: InputKind): string {
  return kind === InputKind.Seed ? "seed" : kind === InputKind.Mutant ? "mutant" : "clean-template";
}

function record(stats: SegmentStats, f: Failure): void {
  if (stats.failures.length < MAX_REPORTED_FAILURES) stats.failures.push(f);
}

/**
 * Runs inputs `job.resumeFrom` on of one protocol through the pipeline of their phase, posting
 * stats every `job.postEvery` inputs and a report at the end.
 */
export async function runSegment(
  job: SegmentJob,
  post: (m: SegmentMessage) => void,
): Promise<void> {
  const hb = new Heartbeat(job.heartbeat);
  const stats = emptyStats();
  const seeds = extremeSeedsFor(job.protocol);
  const firstMutant = seedCount(job.protocol);
  const corpus = loadCorpus(job.protocol, job.fixtures);
  const skip = new Set(job.skip);
  const lastInputOfSeed = new Set<number>();
  for (let s = 0, at = 0; s < seeds.length; s++) {
    at += seeds[s]!.inputs.length;
    lastInputOfSeed.add(at - 1);
  }
  let current: Input | null = null;

  const failure = (what: string, at?: string): Failure => {
    const i = current;
    if (i === null) return { index: -1, at: at ?? "start", what };
    return {
      index: i.index,
      at: at ?? kindName(i.kind),
      ...(i.seed >= 0 ? { seed: seeds[i.seed]!.name } : {}),
      what,
      source: i.source,
      timeMs: i.timeMs,
      ...(at === undefined
        ? { payloadHex: Buffer.from(hb.payload.subarray(0, i.length)).toString("hex") }
        : {}),
    };
  };
  const checks: Checks = {
    violation(kind, what) {
      stats.violations++;
      stats.violationKinds[kind] = (stats.violationKinds[kind] ?? 0) + 1;
      record(stats, failure(what, current === null ? "start" : undefined));
    },
  };

  let pipeline: PhasePipeline | null = null;
  let phase: PhaseReport["phase"] = "seeds";
  let phaseFrom = -1;
  let clockMs = Number.NEGATIVE_INFINITY;
  let sinceHandOver = 0;

  // Counters of the phases done, and the stats' view of them plus the current phase's.
  const finished: PhaseCounts = {
    sink: {},
    decoder: {},
    flowTable: {},
    packetRecords: 0,
    packetDrops: 0,
  };
  const snapshot = (): void => {
    const now = pipeline?.counts();
    for (const key of ["sink", "decoder", "flowTable"] as const) {
      stats[key] = { ...finished[key] };
      if (now !== undefined) addCounts(stats[key], now[key]);
    }
    if (job.protocol === "packets") {
      stats.recordsDecoded = finished.packetRecords + (now?.packetRecords ?? 0);
      stats.recordsAccepted = stats.recordsDecoded - finished.packetDrops - (now?.packetDrops ?? 0);
    }
    stats.peakRss = Math.max(stats.peakRss, process.memoryUsage.rss());
  };

  const handOver = async (final: boolean): Promise<void> => {
    const p = pipeline!;
    hb.phase(final ? Phase.Final : Phase.HandOver);
    const t0 = performance.now();
    try {
      await p.handOver(clockMs, final);
    } catch (e) {
      stats.crashes++;
      if (!(e instanceof StoreRefusal)) p.tainted ||= message(e);
      const what =
        e instanceof StoreRefusal
          ? e.message
          : `threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
      record(stats, failure(what, final ? "final" : "hand-over"));
    }
    stats.handOvers++;
    stats.handOverMaxMs = Math.max(stats.handOverMaxMs, performance.now() - t0);
    sinceHandOver = 0;
  };

  const finishPhase = async (lastIndex: number): Promise<void> => {
    if (pipeline === null) return;
    await handOver(true);
    const counts = pipeline.counts();
    for (const key of ["sink", "decoder", "flowTable"] as const)
      addCounts(finished[key], counts[key]);
    finished.packetRecords += counts.packetRecords;
    finished.packetDrops += counts.packetDrops;
    let report: PhaseReport | null = null;
    try {
      report = await pipeline.verify(phase, phaseFrom, lastIndex);
    } catch (e) {
      stats.crashes++;
      record(stats, failure(`the checks after the phase threw: ${message(e)}`, "final"));
    }
    pipeline = null;
    snapshot();
    if (report !== null) post({ kind: "phase", stats, phase: report });
  };

  const startPhase = async (name: PhaseReport["phase"], from: number): Promise<void> => {
    phase = name;
    phaseFrom = from;
    clockMs = Number.NEGATIVE_INFINITY;
    const p = new PhasePipeline(
      job.protocol,
      join(job.storeDir, `${name}-from-${from}.duckdb`),
      stats,
      checks,
    );
    await p.store.start();
    pipeline = p;
  };

  let last = -1;
  let n = 0;
  for (const input of inputs(job.protocol, job.seed, job.count, corpus, hb.payload)) {
    if (input.index < job.resumeFrom || skip.has(input.index)) continue;
    const inSeeds = input.index < firstMutant;
    if (pipeline === null || (!inSeeds && phase === "seeds")) {
      await finishPhase(last);
      await startPhase(inSeeds ? "seeds" : "mutants", input.index);
    }
    current = input;
    hb.input(
      input.index,
      input.kind,
      input.seed,
      input.length,
      input.source,
      input.timeMs,
      input.tsNsec,
      input.linkType,
    );
    const payload = hb.payload.subarray(0, input.length);
    const t0 = performance.now();
    try {
      pipeline!.ingest(input, payload);
    } catch (e) {
      stats.crashes++;
      pipeline!.tainted ||= message(e);
      record(stats, failure(`threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`));
    }
    const ms = performance.now() - t0;
    stats.stepHistogram[histogramBucket(ms * 1000)]!++;
    if (ms > stats.stepMaxMs) {
      stats.stepMaxMs = ms;
      stats.stepMaxIndex = input.index;
    }
    stats.inputs++;
    if (input.kind === InputKind.Seed) stats.seeds++;
    else if (input.kind === InputKind.Mutant) stats.mutants++;
    else stats.cleanTemplates++;
    last = input.index;
    const t = input.timeMs;
    if (Number.isFinite(t) && t > clockMs) clockMs = t;
    sinceHandOver++;
    // Seeds: a hand-over after each seed's last input, so that what it leads to is its own.
    const seedEnds = inSeeds && lastInputOfSeed.has(input.index);
    if (seedEnds || (!inSeeds && sinceHandOver >= job.handOverEvery)) await handOver(false);
    if (++n % job.postEvery === 0 || inSeeds) {
      snapshot();
      post({ kind: "stats", stats });
    }
  }
  await finishPhase(last);
  snapshot();
  post({ kind: "done", stats });
}
