/**
 * The collector's pure core: export datagrams in, per-interval partial sums out. Decodes each
 * datagram, attributes every record to its links, directions and classes, and adds it to the
 * open intervals. The I/O shell (UDP listener, capture replay) feeds datagrams and drains the
 * partial sums; the clock is always passed in.
 */
import { FlowBatch } from "../schema/flow-record.js";
import { type PartialSum, PartialSums } from "./aggregate/partial-sums.js";
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
  readonly stats: Omit<FlowCollectorStats, "datagrams">;
}

export function createRecordSink(deps: {
  model: CustomerModel;
  intervalMs: number;
  /** See FlowCollectorStats.futureRecords; default 5 minutes. */
  maxFutureMs?: number;
}): RecordSink {
  const classifier = createClassifier(deps.model);
  const sums = new PartialSums({
    intervalMs: deps.intervalMs,
    classes: deps.model.classIds.length,
  });
  const attribution = createAttribution();
  const maxFutureMs = deps.maxFutureMs ?? 300_000;
  const stats = { records: 0, unattributedRecords: 0, futureRecords: 0 };

  function consume(batch: FlowBatch, receivedMs: number): void {
    const latest = receivedMs + maxFutureMs;
    for (let i = 0; i < batch.length; i++) {
      classifier.classify(batch, i, attribution);
      if (attribution.link[0]! < 0) stats.unattributedRecords++;
      let start = batch.startMs[i]!;
      let end = batch.endMs[i]!;
      if (end > latest) {
        stats.futureRecords++;
        start = receivedMs - (end - start);
        end = receivedMs;
      }
      const bytes = batch.bytes[i]!;
      const packets = batch.packets[i]!;
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
    }
    stats.records += batch.length;
    batch.clear();
  }

  return {
    consume,
    drain: (beforeMs) => sums.drain(beforeMs),
    drainAll: () => sums.drainAll(),
    stats,
  };
}

export function createFlowCollector<D extends DatagramDecoder>(deps: {
  model: CustomerModel;
  decoder: D;
  intervalMs: number;
  /** See FlowCollectorStats.futureRecords; default 5 minutes. */
  maxFutureMs?: number;
}): FlowCollector<D> {
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
    stats,
    decoder,
  };
}
