/**
 * The collecting half of the pipeline: every input kind's decoder and collector, up to the
 * per-interval partial sums. Apart from pipeline.ts so that a process that only collects
 * (`flowtally collect`, the packet-path bench) does not load the stores' modules (DuckDB's
 * native binding, the InfluxDB client).
 */
import type { Logger } from "pino";
import type { PartialSum } from "../collector/aggregate/partial-sums.js";
import type { ResponsePartial } from "../collector/aggregate/response-sums.js";
import { buildCustomerModel, type CustomerModel } from "../collector/classify/customer-model.js";
import { decoderOptionsFromConfig } from "../collector/decoder-options.js";
import { loadDecoderState, saveDecoderStateText } from "../collector/decoder-state-file.js";
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
import { LinkStatusMinutes } from "../sla/link-status.js";

/** What a reload hands back: the sums open at the swap, keyed by the model they were made with. */
export interface ModelSwap {
  previous: CustomerModel;
  traffic: PartialSum[];
  responses: ResponsePartial[];
}

/** The collecting half: inputs' decoders and collectors, up to per-interval partial sums. */
export interface Collectors {
  /** The customer model records are classified with now (replaced by `reload`). */
  readonly model: CustomerModel;
  /**
   * SIGHUP: classifies every record from now on with the model of `cfg` (customers, classes,
   * totalDelayThreshold of each) in every collector, in one synchronous step between two
   * datagrams; returns what was open, to be handed over under the previous model. `model`: the
   * model of `cfg` already built (a registry version), else built here.
   */
  reload(cfg: Config, model?: CustomerModel): ModelSwap;
  readonly decoder: FlowDecoder;
  readonly collector: FlowCollector<FlowDecoder>;
  /** sFlow v5 datagrams (inputs.sflow): its own decoder, the same classification and sums. */
  readonly sflow: FlowCollector<Pick<SflowDecoder, "decode" | "problems">>;
  /** The sFlow decoder itself (its agents' counters). */
  readonly sflowDecoder: SflowDecoder;
  /** Interface utilisation from sFlow counter samples. */
  readonly interfaces: InterfaceTracker;
  /** Access links' interface status minutes, from the same samples (sla/link-status.ts). */
  readonly linkStatus: LinkStatusMinutes;
  /**
   * The packet path (capture files, live capture): made on first use, since its flow table
   * preallocates `flowTable.maxFlows` entries (about 270 bytes each).
   */
  packets(): PacketCollector;
  /** The packet path if it was used. */
  readonly packetsIfUsed: PacketCollector | undefined;
  /** Saves templates and sampling rates to `decoder.statePath` (no-op when it is ""). */
  saveState(): void;
  /**
   * Saves them if the decoder learnt something since the last save (a template, a withdrawal, a
   * sampling rate): called every wal.syncInterval, so a crash does not lose what was learnt.
   * True when it saved.
   */
  saveStateIfChanged(): boolean;
}

/** The NetFlow/IPFIX decoder, with the state the last stop saved (decoder.statePath). */
export function restoredFlowDecoder(cfg: Config, log: Logger): FlowDecoder {
  const decoder = createFlowDecoder(decoderOptionsFromConfig(cfg.decoder));
  const statePath = cfg.decoder.statePath;
  if (statePath !== "") {
    const restored = loadDecoderState(statePath, decoder);
    if (restored.found) log.info({ path: statePath, ...restored }, "decoder state restored");
  }
  return decoder;
}

/**
 * Makes the collectors of every input kind, with the customer model. `decoder`: the NetFlow/IPFIX
 * decoder, restoredFlowDecoder's (restored here when not given).
 */
export function createCollectors(
  cfg: Config,
  log: Logger,
  decoder: FlowDecoder = restoredFlowDecoder(cfg, log),
): Collectors {
  let model = buildCustomerModel(cfg);
  /** The config the model was built from (its classes' thresholds). */
  let modelCfg = cfg;
  const thresholdsOf = (c: Config, m: CustomerModel) =>
    m.classIds.map(
      (id) =>
        c.classes.find((k) => k.id === id)?.totalDelayThreshold ?? c.defaultTotalDelayThreshold,
    );
  const statePath = cfg.decoder.statePath;
  /** What was saved last (or read at start), and the decoder activity it was compared at. */
  let savedState = "";
  let lastActivity = -1;
  const stateText = () => `${JSON.stringify(decoder.snapshot())}\n`;
  const collector = createFlowCollector({
    model,
    decoder,
    intervalMs: cfg.aggregation.interval,
    maxFutureMs: cfg.aggregation.maxFuture,
    maxPastMs: cfg.aggregation.maxPast,
    // Flow exports' latency fields (Cisco AVC ART, nProbe) feed the response-time series.
    totalDelayThresholdsMs: thresholdsOf(cfg, model),
    artHistogramBoundsMs: cfg.decoder.artHistogramBounds,
  });
  const sflowDecoder = createSflowDecoder({
    samplingOverrides: new Map(cfg.decoder.samplingOverrides.map((o) => [o.exporter, o.rate])),
  });
  const counterRows = new InterfaceCounterBatch();
  const interfaces = createInterfaceTracker();
  const linkStatus = new LinkStatusMinutes(cfg.sla.availability.staleAfter);
  /** Each counter sample of an access link's interface (router + ifIndex): its oper status. */
  const addLinkStatus = (batch: InterfaceCounterBatch) => {
    for (let i = 0; i < batch.length; i++) {
      const c = batch.rows[i]!;
      const byIndex = model.interfaces.get(batch.exporterNames[c.exporterId] ?? "");
      const index = byIndex?.get(c.ifIndex);
      const link = index === undefined ? undefined : model.links.get(index);
      if (link !== undefined) linkStatus.add(link, c.receivedMs, (c.ifStatus & 2) !== 0);
    }
  };
  const sflow = createFlowCollector({
    model,
    // `problems` added afterwards: `decode` is looked up per datagram (live-properties.ts).
    decoder: withLiveProperties(
      {
        decode(payload: Uint8Array, exporter: string, receivedMs: number, batch: FlowBatch) {
          counterRows.clear();
          const rows = sflowDecoder.decode(payload, exporter, receivedMs, batch, counterRows);
          interfaces.add(counterRows);
          addLinkStatus(counterRows);
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
      totalDelayThresholdsMs: thresholdsOf(modelCfg, model),
    });
    return packets;
  };
  return {
    get model() {
      return model;
    },
    reload(next, built) {
      const previous = model;
      model = built ?? buildCustomerModel(next);
      modelCfg = next;
      const responses: ResponsePartial[] = collector.drainAllResponses();
      const traffic = [
        ...collector.swapModel(model, thresholdsOf(next, model)),
        ...sflow.swapModel(model),
      ];
      if (packets !== undefined) {
        const p = packets.swapModel(model, thresholdsOf(next, model));
        traffic.push(...p.traffic);
        responses.push(...p.responses);
      }
      return { previous, traffic, responses };
    },
    decoder,
    collector,
    sflow,
    sflowDecoder,
    interfaces,
    linkStatus,
    packets: openPackets,
    get packetsIfUsed() {
      return packets;
    },
    saveState() {
      if (statePath !== "") {
        const text = stateText();
        saveDecoderStateText(statePath, text);
        savedState = text;
      }
    },
    saveStateIfChanged() {
      if (statePath === "") return false;
      // Templates, withdrawals and options records (sampling rates) are what can change it;
      // options records come again every few minutes, so the snapshot is rarely compared.
      let activity = 0;
      for (const e of decoder.exporterStats()) {
        activity +=
          e.templatesLearnt + e.templateRedefinitions + e.templatesWithdrawn + e.optionsRecords;
      }
      if (activity === lastActivity) return false;
      lastActivity = activity;
      const text = stateText();
      if (text === savedState) return false;
      saveDecoderStateText(statePath, text);
      savedState = text;
      return true;
    },
  };
}
