/**
 * The packet path's collector core: captured frames in (live capture or a capture file), partial
 * sums and response-time partials out. Each frame is parsed (packet/packet-parser.ts), counted in
 * the flow table (packet/flow-table.ts), whose flow records go to the same record sink as NetFlow
 * records, so a customer's bytes are the same whichever way they were measured; timed TCP
 * transactions are classified like their connection's bytes and summed per (link, class) with
 * their delay sketch. Pure: the packets' own timestamps are the clock.
 */

import { FlowBatch } from "../schema/flow-record.js";
import type { PartialSum } from "./aggregate/partial-sums.js";
import type { ResponsePartial } from "./aggregate/response-sums.js";
import { ResponseSums } from "./aggregate/response-sums.js";
import { createAttribution, createClassifier } from "./classify/classifier.js";
import type { CustomerModel } from "./classify/customer-model.js";
import { createRecordSink, type RecordDrops } from "./flow-collector.js";
import { withLiveProperties } from "./live-properties.js";
import { createFlowTable, type FlowTableConfig, type FlowTableStats } from "./packet/flow-table.js";
import { PacketInfo, type PacketResult } from "./packet/packet-info.js";
import { parsePacket } from "./packet/packet-parser.js";
import type { TcpTransaction } from "./packet/tcp-timing.js";

export interface PacketCollectorStats {
  frames: number;
  /** Frames by what the parser made of them ("ok" and IP-bearing "truncated" are counted). */
  results: Record<PacketResult, number>;
  /** Flow records the table emitted (per direction). */
  records: number;
  unattributedRecords: number;
  /** Records the record sink dropped, by reason (flow-collector.ts). */
  readonly dropped: Readonly<RecordDrops>;
  transactions: number;
  readonly flowTable: FlowTableStats;
}

/**
 * Up to {@link PacketGroup.SIZE} parsed packets that wait to be counted together: the flow
 * table reads the memory of the whole group first (FlowTable.prefetch), so that the cache
 * misses of its packets overlap. Parse into `next`, then `push`; when `push` says the group is
 * full, `ingestGroup` it (and always before anything that must see every packet counted).
 */
export class PacketGroup {
  static readonly SIZE = 16;
  readonly infos: readonly PacketInfo[] = Array.from(
    { length: PacketGroup.SIZE },
    () => new PacketInfo(),
  );
  readonly results: PacketResult[] = new Array<PacketResult>(PacketGroup.SIZE).fill("ok");
  readonly tsSec = new Float64Array(PacketGroup.SIZE);
  readonly tsNsec = new Float64Array(PacketGroup.SIZE);
  count = 0;

  /** Where to parse the next packet. */
  get next(): PacketInfo {
    return this.infos[this.count]!;
  }

  /** Keeps the packet just parsed into `next`; true when the group is full. */
  push(result: PacketResult, tsSec: number, tsNsec: number): boolean {
    const k = this.count++;
    this.results[k] = result;
    this.tsSec[k] = tsSec;
    this.tsNsec[k] = tsNsec;
    return this.count === PacketGroup.SIZE;
  }
}

export interface PacketCollector {
  /** One captured frame with its capture time (Unix seconds + nanoseconds). */
  ingest(frame: Uint8Array, linkType: number, tsSec: number, tsNsec: number): void;
  /**
   * Like {@link ingest}, for a frame the caller has just parsed itself: `info` and `result` are
   * what `parsePacket(frame, linkType, info)` made of it (the replay reads them first to tell
   * flow exports from traffic, and the frame is not parsed twice). `info` stays the caller's;
   * it is read during the call only.
   */
  ingestParsed(info: PacketInfo, result: PacketResult, tsSec: number, tsNsec: number): void;
  /** Counts the packets of `group` in order (as `ingestParsed` each) and empties it. */
  ingestGroup(group: PacketGroup): void;
  /** Flow-table timeouts at `nowMs` (packet time); call it from a timer when traffic is idle. */
  expire(nowMs: number): void;
  /** Exports every flow of the table (end of a capture file, stop). */
  flushAll(): void;
  drain(beforeMs: number): PartialSum[];
  drainAll(): PartialSum[];
  drainResponses(beforeMs: number): ResponsePartial[];
  drainAllResponses(): ResponsePartial[];
  /**
   * A config reload: the next records and transactions are classified with `model` and judged by
   * these thresholds (per class index); returns the open sums of both kinds, keyed by the
   * previous model (see RecordSink.swapModel). Flows still in the flow table are records not yet
   * made: they are classified with the new model when they end.
   */
  swapModel(
    model: CustomerModel,
    totalDelayThresholdsMs: readonly number[],
  ): { traffic: PartialSum[]; responses: ResponsePartial[] };
  /** Flows held in the table now. */
  readonly flows: number;
  readonly stats: PacketCollectorStats;
}

/** Flows exported per slice by `flushAll` (two records each at most). */
const FLUSH_SLICE = 1024;

export function createPacketCollector(deps: {
  model: CustomerModel;
  intervalMs: number;
  maxFutureMs?: number;
  flowTable?: Partial<FlowTableConfig>;
  /** Per class index: the total delay (ms) under which a transaction is good. */
  totalDelayThresholdsMs: readonly number[];
}): PacketCollector {
  const { model } = deps;
  // The flow table makes these records itself from packets stamped by the capture (the kernel,
  // or the file being replayed): nothing remote dated them, and a replay of captures from
  // different days exports an older one's flows on a later clock. maxPast does not apply.
  const sink = createRecordSink({ ...deps, maxPastMs: Number.POSITIVE_INFINITY });
  const responses = new ResponseSums({ intervalMs: deps.intervalMs });
  let classifier = createClassifier(model);
  const attribution = createAttribution();
  let thresholdsUs = deps.totalDelayThresholdsMs.map((ms) => ms * 1000);
  const results: Record<PacketResult, number> = {
    ok: 0,
    truncated: 0,
    "not-ip": 0,
    malformed: 0,
    "unsupported-link": 0,
  };
  let transactions = 0;
  const timing = {
    endMs: 0,
    networkDelayUs: 0,
    serverDelayUs: 0,
    totalDelayUs: 0,
    retransmissions: 0,
    good: false,
  };

  const onTransaction = (t: TcpTransaction): void => {
    transactions++;
    classifier.classify(t.flow, 0, attribution);
    timing.endMs = t.responseEndUs / 1000;
    timing.networkDelayUs = t.networkDelayUs;
    timing.serverDelayUs = t.serverDelayUs;
    timing.totalDelayUs = t.totalDelayUs;
    timing.retransmissions = t.requestRetransmissions + t.responseRetransmissions;
    // Both ends may be customers: the transaction counts for each (like their bytes).
    for (let k = 0; k < attribution.count; k++) {
      const classIndex = attribution.classIndex[k]!;
      timing.good = t.totalDelayUs < (thresholdsUs[classIndex] ?? Number.POSITIVE_INFINITY);
      responses.add(attribution.link[k]!, classIndex, timing);
    }
  };
  const table = createFlowTable(deps.flowTable ?? {}, { onTransaction });
  const info = new PacketInfo();
  const batch = new FlowBatch(256);
  // Counted per packet in a plain object: `stats` has getters, which make an object literal a
  // dictionary, and a dictionary lookup per packet is what this path cannot afford.
  const counts = { frames: 0, latestMs: Number.NEGATIVE_INFINITY };
  const stats: PacketCollectorStats = {
    get frames() {
      return counts.frames;
    },
    results,
    get records() {
      return sink.stats.records;
    },
    get unattributedRecords() {
      return sink.stats.unattributedRecords;
    },
    dropped: sink.stats.dropped,
    get transactions() {
      return transactions;
    },
    flowTable: table.stats,
  };

  // counts.latestMs: the latest packet (or expiry) time seen, the packet path's clock (a field,
  // not a closure variable: a new float stored in a closure is a new heap number per packet).
  const ingestParsed = (
    parsed: PacketInfo,
    result: PacketResult,
    tsSec: number,
    tsNsec: number,
    prefetched = -1,
  ): void => {
    counts.frames++;
    // Named increments: one keyed site fed five different names would go megamorphic.
    switch (result) {
      case "ok":
        results.ok++;
        break;
      case "truncated":
        results.truncated++;
        break;
      case "not-ip":
        results["not-ip"]++;
        break;
      case "malformed":
        results.malformed++;
        break;
      default:
        results["unsupported-link"]++;
    }
    const ms = tsSec * 1000 + tsNsec / 1e6;
    if (ms > counts.latestMs) counts.latestMs = ms;
    table.add(parsed, tsSec, tsNsec, batch, prefetched);
    if (batch.length > 0) sink.consume(batch, ms);
  };

  // `flows` is added afterwards (live-properties.ts), for the reason given at `counts`.
  const collector: Omit<PacketCollector, "flows"> = {
    ingest(frame, linkType, tsSec, tsNsec) {
      ingestParsed(info, parsePacket(frame, linkType, info), tsSec, tsNsec);
    },
    ingestParsed,
    ingestGroup(group) {
      const n = group.count;
      table.prefetch(group.infos, n);
      for (let k = 0; k < n; k++) {
        ingestParsed(group.infos[k]!, group.results[k]!, group.tsSec[k]!, group.tsNsec[k]!, k);
      }
      group.count = 0;
    },
    expire(nowMs) {
      if (nowMs > counts.latestMs) counts.latestMs = nowMs;
      table.expire(nowMs, batch);
      if (batch.length > 0) sink.consume(batch, nowMs);
    },
    flushAll() {
      // Exported now, at the latest time the packet path has seen: no flow ends after it. In
      // slices, so that the batch stays small whatever the size of the table.
      for (let done = false; !done; ) {
        done = table.flushAll(batch, FLUSH_SLICE);
        if (batch.length > 0) sink.consume(batch, counts.latestMs);
      }
    },
    drain: sink.drain,
    drainAll: sink.drainAll,
    drainResponses: (beforeMs) => responses.drain(beforeMs),
    drainAllResponses: () => responses.drainAll(),
    swapModel(next, totalDelayThresholdsMs) {
      const traffic = sink.swapModel(next);
      const open = responses.drainAll();
      classifier = createClassifier(next);
      thresholdsUs = totalDelayThresholdsMs.map((ms) => ms * 1000);
      return { traffic, responses: open };
    },
    stats,
  };
  return withLiveProperties(collector, { flows: () => table.size });
}
