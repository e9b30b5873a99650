/**
 * The collecting half of the pipeline: every input kind's decoder and collector, up to the
 * per-interval partial sums. Apart from pipeline.ts so that a process that only collects
 * (`flowtally collect`, the packet-path bench) does not load the stores' modules (DuckDB's
 * native binding, the InfluxDB client).
 */
import type { Logger } from "pino";
import { buildCustomerModel, type CustomerModel } from "../collector/classify/customer-model.js";
import { decoderOptionsFromConfig } from "../collector/decoder-options.js";
import { loadDecoderState, saveDecoderState } from "../collector/decoder-state-file.js";
import { createFlowDecoder, type FlowDecoder } from "../collector/decoders/flow-decoder.js";
import { createSflowDecoder, type SflowDecoder } from "../collector/decoders/sflow.js";
import { InterfaceCounterBatch } from "../collector/decoders/sflow-records.js";
import { createFlowCollector, type FlowCollector } from "../collector/flow-collector.js";
import {
  createInterfaceTracker,
  type InterfaceTracker,
} from "../collector/interface-utilisation.js";
import { withLiveProperties } from "../collector/live-properties.js";
import { createPacketCollector, type PacketCollector } from "../collector/packet-collector.js";
import type { Config } from "../schema/config.js";
import type { FlowBatch } from "../schema/flow-record.js";

/** The collecting half: inputs' decoders and collectors, up to per-interval partial sums. */
export interface Collectors {
  readonly model: CustomerModel;
  readonly decoder: FlowDecoder;
  readonly collector: FlowCollector<FlowDecoder>;
  /** sFlow v5 datagrams (inputs.sflow): its own decoder, the same classification and sums. */
  readonly sflow: FlowCollector<Pick<SflowDecoder, "decode" | "problems">>;
  /** Interface utilisation from sFlow counter samples. */
  readonly interfaces: InterfaceTracker;
  /**
   * The packet path (capture files, live capture): made on first use, since its flow table
   * preallocates `flowTable.maxFlows` entries (about 270 bytes each).
   */
  packets(): PacketCollector;
  /** The packet path if it was used. */
  readonly packetsIfUsed: PacketCollector | undefined;
  /** Saves templates and sampling rates to `decoder.statePath` (no-op when it is ""). */
  saveState(): void;
}

/** Restores the decoder state and makes the collectors of every input kind. */
export function createCollectors(cfg: Config, log: Logger): Collectors {
  const model = buildCustomerModel(cfg);
  const decoder = createFlowDecoder(decoderOptionsFromConfig(cfg.decoder));
  const statePath = cfg.decoder.statePath;
  if (statePath !== "") {
    const restored = loadDecoderState(statePath, decoder);
    if (restored.found) log.info({ path: statePath, ...restored }, "decoder state restored");
  }
  const collector = createFlowCollector({
    model,
    decoder,
    intervalMs: cfg.aggregation.interval,
    maxFutureMs: cfg.aggregation.maxFuture,
    maxPastMs: cfg.aggregation.maxPast,
  });
  const sflowDecoder = createSflowDecoder({
    samplingOverrides: new Map(cfg.decoder.samplingOverrides.map((o) => [o.exporter, o.rate])),
  });
  const counterRows = new InterfaceCounterBatch();
  const interfaces = createInterfaceTracker();
  const sflow = createFlowCollector({
    model,
    // `problems` added afterwards: `decode` is looked up per datagram (live-properties.ts).
    decoder: withLiveProperties(
      {
        decode(payload: Uint8Array, exporter: string, receivedMs: number, batch: FlowBatch) {
          counterRows.clear();
          const rows = sflowDecoder.decode(payload, exporter, receivedMs, batch, counterRows);
          interfaces.add(counterRows);
          return rows;
        },
      },
      { problems: () => sflowDecoder.problems },
    ),
    intervalMs: cfg.aggregation.interval,
    maxFutureMs: cfg.aggregation.maxFuture,
    maxPastMs: cfg.aggregation.maxPast,
  });
  let packets: PacketCollector | undefined;
  const openPackets = (): PacketCollector => {
    packets ??= createPacketCollector({
      model,
      intervalMs: cfg.aggregation.interval,
      maxFutureMs: cfg.aggregation.maxFuture,
      flowTable: {
        maxFlows: cfg.flowTable.maxFlows,
        idleTimeoutMs: cfg.flowTable.idleTimeout,
        activeTimeoutMs: cfg.flowTable.activeTimeout,
      },
      totalDelayThresholdsMs: model.classIds.map(
        (id) =>
          cfg.classes.find((c) => c.id === id)?.totalDelayThreshold ??
          cfg.defaultTotalDelayThreshold,
      ),
    });
    return packets;
  };
  return {
    model,
    decoder,
    collector,
    sflow,
    interfaces,
    packets: openPackets,
    get packetsIfUsed() {
      return packets;
    },
    saveState() {
      if (statePath !== "") saveDecoderState(statePath, decoder);
    },
  };
}
