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
import type { FlowDecoder } from "./decoders/flow-decoder.js";

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

export interface FlowCollector {
  /** Decodes one datagram and adds its records to the partial sums. */
  ingest(payload: Uint8Array, exporter: string, receivedMs: number): void;
  /** Releases held data older than the hold time (call from a timer). */
  expire(nowMs: number): void;
  /** Partial sums of the intervals that start before `beforeMs`. */
  drain(beforeMs: number): PartialSum[];
  drainAll(): PartialSum[];
  readonly stats: FlowCollectorStats;
  readonly decoder: FlowDecoder;
}

export function createFlowCollector(deps: {
  model: CustomerModel;
  decoder: FlowDecoder;
  intervalMs: number;
  /** See FlowCollectorStats.futureRecords; default 5 minutes. */
  maxFutureMs?: number;
}): FlowCollector {
  const { model, decoder } = deps;
  const classifier = createClassifier(model);
  const sums = new PartialSums({ intervalMs: deps.intervalMs, classes: model.classIds.length });
  const attribution = createAttribution();
  const batch = new FlowBatch(1024);
  const maxFutureMs = deps.maxFutureMs ?? 300_000;
  const stats: FlowCollectorStats = {
    datagrams: 0,
    records: 0,
    unattributedRecords: 0,
    futureRecords: 0,
  };

  function consume(receivedMs: number): void {
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
    ingest(payload, exporter, receivedMs) {
      stats.datagrams++;
      decoder.decode(payload, exporter, receivedMs, batch);
      consume(receivedMs);
    },
    expire(nowMs) {
      decoder.expire(nowMs, batch);
      consume(nowMs);
    },
    drain: (beforeMs) => sums.drain(beforeMs),
    drainAll: () => sums.drainAll(),
    stats,
    decoder,
  };
}
