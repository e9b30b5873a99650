/**
 * The collector's pure core: export datagrams in, per-interval partial sums out. Decodes each
 * datagram, attributes every record to its links, directions and classes, and adds it to the
 * open intervals. The I/O shell (UDP listener, capture replay) feeds datagrams and drains the
 * partial sums; the clock is always passed in.
 */
import { FlowBatch, RESPONSE_WIDTH, ResponseSlot } from "../schema/flow-record.js";
import { emptyContribution, flowResponse } from "./aggregate/flow-response.js";
import { type PartialSum, PartialSums } from "./aggregate/partial-sums.js";
import { type ResponsePartial, ResponseSums } from "./aggregate/response-sums.js";
import { createAttribution, createClassifier } from "./classify/classifier.js";
import type { CustomerModel } from "./classify/customer-model.js";
/** What the collector needs of a decoder: the NetFlow/IPFIX one and the sFlow one both fit. */
export interface DatagramDecoder {
  decode(payload: Uint8Array, exporter: string, receivedMs: number, batch: FlowBatch): unknown;
  /** Releases held data older than its hold time (decoders that hold data). */
  expire?(nowMs: number, batch: FlowBatch): void;
  /** Learns templates and rates from a snapshot, decoding data held for them into the batch. */
  restore?(snapshot: unknown, batch: FlowBatch): unknown;
}

export interface FlowCollectorStats {
  datagrams: number;
  records: number;
  /** Records attributed to no customer (kept as "unattributed"). */
  unattributedRecords: number;
  /**
   * Records that ended more than `maxFutureMs` after they arrived (an exporter clock that is
   * wrong): moved to end at their arrival time, keeping their duration.
   */
  futureRecords: number;
  /** Records dropped at the door, by reason (see RecordDrops). */
  dropped: RecordDrops;
}

/**
 * Records no real exporter sends, dropped before they reach the sums and counted by reason, so
 * that every stage after the sink works on bounded values (docs/decoding.md, "Bounds"):
 * - `bytes-absurd`, `packets-absurd`: more than 2^48 (281 TB, or 281 T packets) in one record after
 *   sampling. A 400 Gb/s link needs 94 minutes to send 2^48 bytes, and exporters cut a flow into
 *   records every active timeout (at most an hour). Under the bound, bytes x a share of an
 *   interval stays exact in a double, which the spreading over intervals relies on.
 * - `sampling-rate-absurd`: a rate above 2^24 (1 in 16.7 M packets); routers sample at most 1 in
 *   65 535 (NetFlow v5's 14-bit field: 1 in 16 383), sFlow agents at most a few million.
 * - `time-invalid`: a start or end that is not a time (NaN), or before 1970.
 * - `too-old`: a record that ended more than `maxPastMs` before it arrived
 *   (aggregation.maxPast): a replayed or spoofed export, or an exporter clock far behind.
 */
export type RecordDrops = {
  "bytes-absurd": number;
  "packets-absurd": number;
  "sampling-rate-absurd": number;
  "time-invalid": number;
  "too-old": number;
};

/** The largest byte or packet count one record may carry after sampling. */
export const MAX_RECORD_COUNT = 2 ** 48;
/** The largest sampling rate a record may carry. */
export const MAX_SAMPLING_RATE = 2 ** 24;

export function zeroRecordDrops(): RecordDrops {
  return {
    "bytes-absurd": 0,
    "packets-absurd": 0,
    "sampling-rate-absurd": 0,
    "time-invalid": 0,
    "too-old": 0,
  };
}

/** Adds `b`'s counts to `a` (for totals over several collectors). */
export function addRecordDrops(a: RecordDrops, b: Readonly<RecordDrops>): RecordDrops {
  for (const k of Object.keys(a) as Array<keyof RecordDrops>) a[k] += b[k];
  return a;
}

export interface FlowCollector<D extends DatagramDecoder = DatagramDecoder> {
  /** Decodes one datagram and adds its records to the partial sums. */
  ingest(payload: Uint8Array, exporter: string, receivedMs: number): void;
  /** Releases held data older than the hold time (call from a timer). */
  expire(nowMs: number): void;
  /**
   * Learns templates and sampling rates from a decoder snapshot (another collector's, through
   * Redis) and counts the data that was held waiting for them, at `nowMs`.
   */
  learn(snapshot: unknown, nowMs: number): void;
  /** Partial sums of the intervals that start before `beforeMs`. */
  drain(beforeMs: number): PartialSum[];
  drainAll(): PartialSum[];
  /** Response-time partials from flow records' latency fields (see RecordSink). */
  drainResponses(beforeMs: number): ResponsePartial[];
  drainAllResponses(): ResponsePartial[];
  /** See {@link RecordSink.swapModel}. */
  swapModel(model: CustomerModel, totalDelayThresholdsMs?: readonly number[]): PartialSum[];
  readonly stats: FlowCollectorStats;
  readonly decoder: D;
}

/**
 * Where decoded records go, whatever decoded them (NetFlow/IPFIX, sFlow, the packet path's flow
 * table): classified, moved to arrival time when stamped in the future, added to the partial
 * sums. `consume` empties the batch.
 */
export interface RecordSink {
  consume(batch: FlowBatch, receivedMs: number): void;
  drain(beforeMs: number): PartialSum[];
  drainAll(): PartialSum[];
  /**
   * Response-time partials of records that carry latency (Cisco AVC ART, nProbe: the batch's
   * `responseTimes`), judged by their class's threshold (aggregate/flow-response.ts).
   */
  drainResponses(beforeMs: number): ResponsePartial[];
  drainAllResponses(): ResponsePartial[];
  /**
   * Classifies the next records with `model` (a config reload): returns every open partial sum,
   * keyed by the previous model's link and class indexes, and starts empty sums keyed by the new
   * one's. Synchronous, so no record falls between the two models; the caller names the returned
   * sums with the previous model. Response-time partials are not returned: drain them with
   * `drainAllResponses` just before (same synchronous step). `totalDelayThresholdsMs`: the new
   * model's thresholds per class index (unchanged when not given).
   */
  swapModel(model: CustomerModel, totalDelayThresholdsMs?: readonly number[]): PartialSum[];
  readonly stats: Omit<FlowCollectorStats, "datagrams">;
}

export interface RecordSinkOptions {
  model: CustomerModel;
  intervalMs: number;
  /** See FlowCollectorStats.futureRecords; default 5 minutes. */
  maxFutureMs?: number;
  /** See RecordDrops `too-old`; default 2 hours, Infinity keeps records of any age. */
  maxPastMs?: number;
  /**
   * Per class index: the total delay (ms) under which a transaction is good, for records with
   * latency fields; default 1 s for every class.
   */
  totalDelayThresholdsMs?: readonly number[];
  /**
   * Upper edges (ms) of the Cisco ART response-time histogram's buckets 1 to 6 (bucket 7 is
   * above the last); default DEFAULT_ART_HISTOGRAM_BOUNDS_MS.
   */
  artHistogramBoundsMs?: readonly number[];
}

/** decoder.artHistogramBounds' default (docs/response-times.md, "From flow exports"). */
export const DEFAULT_ART_HISTOGRAM_BOUNDS_MS: readonly number[] = [5, 10, 50, 100, 200, 500];

/** A class without a threshold (none given): the config's own default, 1 s. */
const DEFAULT_THRESHOLD_US = 1_000_000;

/** aggregation.maxPast's default: see docs/configuration.md for why. */
export const DEFAULT_MAX_PAST_MS = 2 * 3_600_000;

export function createRecordSink(deps: RecordSinkOptions): RecordSink {
  const openSums = (model: CustomerModel) =>
    new PartialSums({ intervalMs: deps.intervalMs, classes: model.classIds.length });
  let classifier = createClassifier(deps.model);
  let sums = openSums(deps.model);
  const responses = new ResponseSums({ intervalMs: deps.intervalMs });
  const thresholdsOf = (ms: readonly number[] | undefined) =>
    Float64Array.from(ms ?? [], (v) => v * 1000);
  let thresholdsUs = thresholdsOf(deps.totalDelayThresholdsMs);
  const edgesUs = Float64Array.from(
    deps.artHistogramBoundsMs ?? DEFAULT_ART_HISTOGRAM_BOUNDS_MS,
    (v) => v * 1000,
  );
  const contribution = emptyContribution();
  const attribution = createAttribution();
  const maxFutureMs = deps.maxFutureMs ?? 300_000;
  const maxPastMs = deps.maxPastMs ?? DEFAULT_MAX_PAST_MS;
  const dropped = zeroRecordDrops();
  const stats = { records: 0, unattributedRecords: 0, futureRecords: 0, dropped };

  function consume(batch: FlowBatch, receivedMs: number): void {
    const latest = receivedMs + maxFutureMs;
    const earliest = receivedMs - maxPastMs;
    for (let i = 0; i < batch.length; i++) {
      let start = batch.startMs[i]!;
      let end = batch.endMs[i]!;
      const bytes = batch.bytes[i]!;
      const packets = batch.packets[i]!;
      // Negated comparisons: a NaN fails them too.
      if (!(bytes >= 0 && bytes <= MAX_RECORD_COUNT)) {
        dropped["bytes-absurd"]++;
        continue;
      }
      if (!(packets >= 0 && packets <= MAX_RECORD_COUNT)) {
        dropped["packets-absurd"]++;
        continue;
      }
      if (!(batch.samplingRate[i]! <= MAX_SAMPLING_RATE)) {
        dropped["sampling-rate-absurd"]++;
        continue;
      }
      if (!(start >= 0 && end >= 0)) {
        dropped["time-invalid"]++;
        continue;
      }
      if (end < earliest) {
        dropped["too-old"]++;
        continue;
      }
      classifier.classify(batch, i, attribution);
      if (attribution.link[0]! < 0) stats.unattributedRecords++;
      if (end > latest) {
        stats.futureRecords++;
        start = receivedMs - (end - start);
        end = receivedMs;
      }
      for (let k = 0; k < attribution.count; k++) {
        sums.add(
          attribution.link[k]!,
          attribution.classIndex[k]!,
          attribution.direction[k] as 0 | 1,
          start,
          end,
          bytes,
          packets,
        );
      }
      if (
        batch.responseTimes[i * RESPONSE_WIDTH + ResponseSlot.transactions]! > 0 ||
        batch.responseTimes[i * RESPONSE_WIDTH + ResponseSlot.networkDelayCount]! > 0
      ) {
        // Both ends may be customers: the transactions count for each (like the bytes).
        for (let k = 0; k < attribution.count; k++) {
          const classIndex = attribution.classIndex[k]!;
          const threshold = thresholdsUs[classIndex] ?? DEFAULT_THRESHOLD_US;
          if (flowResponse(batch, i, threshold, edgesUs, contribution)) {
            responses.addFlow(attribution.link[k]!, classIndex, end, contribution);
          }
        }
      }
    }
    stats.records += batch.length;
    batch.clear();
  }

  return {
    consume,
    drain: (beforeMs) => sums.drain(beforeMs),
    drainAll: () => sums.drainAll(),
    drainResponses: (beforeMs) => responses.drain(beforeMs),
    drainAllResponses: () => responses.drainAll(),
    swapModel(model, totalDelayThresholdsMs) {
      const open = sums.drainAll();
      classifier = createClassifier(model);
      sums = openSums(model);
      if (totalDelayThresholdsMs !== undefined) thresholdsUs = thresholdsOf(totalDelayThresholdsMs);
      return open;
    },
    stats,
  };
}

export function createFlowCollector<D extends DatagramDecoder>(
  deps: RecordSinkOptions & { decoder: D },
): FlowCollector<D> {
  const { decoder } = deps;
  const sink = createRecordSink(deps);
  const batch = new FlowBatch(1024);
  const counts = { datagrams: 0 };
  const stats: FlowCollectorStats = {
    get datagrams() {
      return counts.datagrams;
    },
    get records() {
      return sink.stats.records;
    },
    get unattributedRecords() {
      return sink.stats.unattributedRecords;
    },
    get futureRecords() {
      return sink.stats.futureRecords;
    },
    get dropped() {
      return sink.stats.dropped;
    },
  };

  return {
    ingest(payload, exporter, receivedMs) {
      counts.datagrams++;
      decoder.decode(payload, exporter, receivedMs, batch);
      sink.consume(batch, receivedMs);
    },
    expire(nowMs) {
      if (decoder.expire === undefined) return;
      decoder.expire(nowMs, batch);
      sink.consume(batch, nowMs);
    },
    learn(snapshot, nowMs) {
      if (decoder.restore === undefined) return;
      decoder.restore(snapshot, batch);
      sink.consume(batch, nowMs);
    },
    drain: sink.drain,
    drainAll: sink.drainAll,
    drainResponses: sink.drainResponses,
    drainAllResponses: sink.drainAllResponses,
    swapModel: sink.swapModel,
    stats,
    decoder,
  };
}
