/**
 * `flowtally run --config FILE`: collector, aggregator and query API in one process, on the
 * configured store (the embedded one, or InfluxDB with `store.influx`). UDP listeners feed the pipeline (cli/pipeline.ts) on the wall clock, live
 * captures (inputs.capture) its packet path on the packets' capture times; a one-second tick
 * releases held data, expires idle flows and hands closed intervals to the store; the HTTP API
 * reads the same store. Stopping (SIGINT/SIGTERM or `stop()`) closes the captures and the
 * listeners first, exports the flows still open, writes every open interval, closes the API and
 * the store, and saves the decoder state, in that order, so nothing received is lost.
 */
import { readFileSync } from "node:fs";
import type { Logger } from "pino";
import { type Accounts, accountsFor } from "../accounts/index.js";
import {
  type CaptureInput,
  type CaptureTimings,
  openCaptureInput,
} from "../collector/capture-input.js";
import type { CustomerModel } from "../collector/classify/customer-model.js";
import {
  createExporterAllowlist,
  type ExporterAllowlist,
} from "../collector/exporter-allowlist.js";
import { addRecordDrops, type RecordDrops, zeroRecordDrops } from "../collector/flow-collector.js";
import type { PacketResult } from "../collector/packet/packet-info.js";
import { parsePacket } from "../collector/packet/packet-parser.js";
import { type PacketCollector, PacketGroup } from "../collector/packet-collector.js";
import type { ShipperStats } from "../collector/partials-shipper.js";
import { createProblemReporter } from "../collector/problem-reporter.js";
import {
  nativeUdpUnavailableReason,
  openUdpInputBest,
  type UdpBackend,
} from "../collector/udp-batch-input.js";
import { readRcvbufErrors, type UdpInput } from "../collector/udp-input.js";
import type { DownDependency } from "../query/api/index.js";
import { createApiServer } from "../query/api/index.js";
import { createMetrics } from "../query/metrics.js";
import { registryDriver } from "../registry/open-registry.js";
import {
  createRegistryRuntime,
  liveModel,
  type RegistryRuntime,
  type RegistryStatus,
} from "../registry/registry-runtime.js";
import { shareDriver } from "../registry/shared-driver.js";
import type { Config } from "../schema/config.js";
import { FlowtallyError } from "../schema/errors.js";
import type { SeriesStore } from "../schema/series-store.js";
import { emptySlaAlertsState, type SlaAlertsState } from "../sla/alerts/sla-alerts.js";
import { createProfileRecorder } from "../sla/profile-recorder.js";
import { describeStore, storeRetention } from "../store/configured-store.js";
import { pruneBefore } from "../store/retention.js";
import { type ApiRegistry, createApiRegistry } from "./api-registry.js";
import { lockDataFiles } from "./data-lock.js";
import { type Collectors, createPipeline, type StoreCloseReport } from "./pipeline.js";
import { perSecond, STATS_EVERY_MS, type StatsLine, startStatsLog } from "./stats-log.js";

export interface RunStats {
  uptimeSeconds: number;
  datagrams: number;
  records: number;
  unattributedRecords: number;
  /** Records that claimed to end in the future (aggregation.maxFuture), counted at arrival. */
  futureRecords: number;
  /** Records dropped before the sums, by reason (absurd counts or rates, too old: maxPast). */
  droppedRecords: RecordDrops;
  /** Datagrams from sources not in an input's allowedExporters, dropped before decoding. */
  refusedDatagrams: number;
  /** The same per source address (at most 1024 sources per input, then "other"). */
  refusedBySource: Record<string, number>;
  /** Datagrams the kernel dropped on our sockets (full receive buffer), null if /proc can't tell. */
  kernelDrops: number | null;
  /** Host-wide UDP RcvbufErrors since start (any socket on the host), null if unknown. */
  rcvbufErrors: number | null;
  /**
   * Set by stop: datagrams the kernel still held after the drain (a sender that kept sending),
   * read and counted at close but not decoded; normally 0.
   */
  undrainedDatagrams: number;
  seriesRowsWritten: number;
  storeErrors: number;
  /** Rows waiting for the store (run). */
  pendingRows: number;
  latePartials: number;
  /**
   * Access links' interface status (sla/link-status.ts): links followed now, and counter samples
   * that came after their minutes were closed (dropped, not counted in any minute).
   */
  linkStatus: { links: number; lateSamples: number };
  /** Partials waiting for and shipped to the queue (flowtally collect); null in `run`. */
  queue: ShipperStats | null;
  /** The write-ahead log; null when off. */
  wal: WalSummary | null;
  held: { count: number; bytes: number };
  problems: Record<string, number>;
  inputs: Array<{
    listen: string;
    port: number;
    receiveBufferBytes: number;
    datagrams: number;
    /** Datagrams dropped because their source is not in allowedExporters. */
    refusedDatagrams: number;
    kernelDrops: number | null;
    /** Datagrams read at close but not decoded (see `undrainedDatagrams`). */
    undrained: number;
  }>;
  /** Live capture (inputs.capture) and the packet path it feeds; null without capture inputs. */
  capture: CaptureRunStats | null;
  /** Set by stop: what failed in the store (cause first) and the spool (empty when all went well). */
  storeFailures: Array<{ code: string; message: string }>;
  /** Set by stop: rows the store did not take, spooled for the next start. */
  spooled: { path: string; rows: number } | null;
  /** Set by stop: rows the store did not take, left in the write-ahead log for the next start. */
  inWal: { path: string; rows: number } | null;
  /** The customer registry version classification uses (docs/registry.md, "Live changes"). */
  registry: RegistryStatus;
}

export interface CaptureRunStats {
  /** Frames captured and handed to the packet parser. */
  packets: number;
  /** Kernel statistics (pcap_stats) summed over the inputs: frames that passed the filter... */
  kernelReceived: number;
  /** ...dropped because the capture buffer was full (inputs.capture[].bufferSize)... */
  kernelDrops: number;
  /** ...and dropped by the interface or its driver (0 where the platform can't tell). */
  interfaceDrops: number;
  /** What the parser made of the frames ("not-ip": ARP, LLDP...; not traffic). */
  results: Record<PacketResult, number>;
  /** Flow records the flow table exported (per direction), and of those no customer's. */
  records: number;
  unattributedRecords: number;
  /** Flows in the flow table now, and flows it exported early because it was full. */
  flows: number;
  evictions: number;
  /** TCP request/response transactions timed. */
  transactions: number;
  inputs: Array<{
    interface: string;
    linkType: number;
    snaplen: number;
    bufferSize: number;
    packets: number;
    kernelReceived: number;
    kernelDrops: number;
    interfaceDrops: number;
    readErrors: number;
  }>;
}

export interface RunningFlowtally {
  readonly inputs: readonly UdpInput[];
  /** Live captures (inputs.capture), in config order. */
  readonly captures: readonly CaptureInput[];
  /** Where the HTTP API listens. */
  readonly api: { address: string; port: number };
  stats(): RunStats;
  /** Stops in order (listeners, final write, API, store, state) and returns the final stats. */
  stop(): Promise<RunStats>;
  /**
   * SIGHUP: classifies with the customers and classes of `cfg` from the next datagram on (see
   * docs/configuration.md, "Reloading"); the rest of `cfg` is not looked at. With
   * `registry.source: database` the customers stay the registry's.
   */
  reload(cfg: Config): void;
  /**
   * The customer registry as this process follows it: its store (the one of the process, for
   * the API's writes) and the version applied.
   */
  readonly registry: RegistryRuntime;
}

export interface RunTimings {
  /** Hand-over and held-data expiry period. */
  tickMs: number;
  /** Period of the stats log line. */
  statsMs: number;
  /** Period of decoder state saves (besides the one on stop). */
  saveStateMs: number;
  /** Period of retention runs (besides the one at start). */
  pruneMs: number;
  /**
   * UDP receive path: "auto" takes the native batched one (recvmmsg) when it was built, else
   * node:dgram. FLOWTALLY_UDP_BACKEND=dgram|recvmmsg sets it for `flowtally run` (benchmarks).
   */
  udpBackend: UdpBackend | "auto";
  /** Live capture read and statistics periods (collector/capture-input.ts). */
  capture?: Partial<CaptureTimings>;
  /** The registry's safety-net poll of its version (default 5 s). */
  registryPollMs?: number;
}

const defaultTimings: RunTimings = {
  tickMs: 1000,
  statsMs: STATS_EVERY_MS,
  saveStateMs: 300_000,
  pruneMs: 3_600_000,
  udpBackend: backendFromEnv(process.env.FLOWTALLY_UDP_BACKEND),
};

function backendFromEnv(value: string | undefined): UdpBackend | "auto" {
  return value === "dgram" || value === "recvmmsg" ? value : "auto";
}

/**
 * Where closed intervals go: the rollups and the store (`run`), or the queue (`collect`).
 */
export interface RunSink {
  /** Moves what closed by `nowMs` onward; `final` moves everything (stop). Calls never overlap. */
  handOver(nowMs: number, final: boolean): Promise<void>;
  /** The store the API reads (none in a collector). */
  readonly store?: SeriesStore;
  /** Dependencies that are down now, for /healthz. */
  health(): DownDependency[];
  /** The first minute that may still change (the API's `completeUntil`). */
  completeUntil(nowMs: number): number;
  stats(): SinkStats;
  /** Retention (run only). */
  prune?(): Promise<void>;
  /** handOver queues at most one step behind a running one: call it at every tick. */
  coalesces?: boolean;
  /** Logs what was received (the write-ahead log), every `persistEveryMs`. */
  persist?(nowMs: number): Promise<void>;
  persistEveryMs?: number;
  /** Closes what the sink holds; for a store, says what failed and what was spooled. */
  close(): Promise<StoreCloseReport>;
  /** SLA alerts' state (`GET /api/v1/sla/webhooks`, the metrics); none in a collector. */
  slaAlerts?(): SlaAlertsState;
  /**
   * SIGHUP or a registry version: swaps the customer model (`model` when built already), handing
   * what is open over under the previous one.
   */
  reloadModel(cfg: Config, model?: CustomerModel): void;
}

export interface SinkStats {
  seriesRowsWritten: number;
  storeErrors: number;
  pendingRows: number;
  latePartials: number;
  /** The queue (flowtally collect); null in `run`. */
  queue: ShipperStats | null;
  /** The write-ahead log (docs/durability.md); null when off. */
  wal: WalSummary | null;
}

/** The write-ahead log's figures in the stats, /api/v1/status and the stop summary. */
export interface WalSummary {
  /** Bytes appended since start (entries and their frames). */
  appendedBytes: number;
  /** Bytes it holds now (what the store or Redis has not taken). */
  bytes: number;
  syncs: number;
  lastSyncMs: number;
  /** Hand-overs not logged (the log full or failed): memory only until written. */
  unloggedBatches: number;
  broken: boolean;
}

export function walSummary(s: {
  enabled: boolean;
  appendedBytes: number;
  bytes: number;
  syncs: number;
  lastSyncMs: number;
  unloggedBatches: number;
  broken: boolean;
}): WalSummary | null {
  if (!s.enabled) return null;
  return {
    appendedBytes: s.appendedBytes,
    bytes: s.bytes,
    syncs: s.syncs,
    lastSyncMs: Math.round(s.lastSyncMs * 100) / 100,
    unloggedBatches: s.unloggedBatches,
    broken: s.broken,
  };
}

function linkStatusStats(s: { links: number; late: number }): RunStats["linkStatus"] {
  return { links: s.links, lateSamples: s.late };
}

/** The single-box sink: rollups and the store (cli/pipeline.ts). */
async function storeSink(
  cfg: Config,
  log: Logger,
): Promise<{ parts: Omit<Collectors, "reload">; sink: RunSink }> {
  // Two processes appending to one log would replay each other's rows.
  const walLock = lockDataFiles([["wal.path", cfg.wal.enabled ? cfg.wal.path : ""]], log);
  let pipeline: Awaited<ReturnType<typeof createPipeline>>;
  try {
    pipeline = await createPipeline(cfg, log);
  } catch (e) {
    walLock.release();
    throw e;
  }
  log.info({ store: describeStore(cfg.store) }, "store opened");
  const { store } = pipeline;
  const { retention, key: retentionKey } = storeRetention(cfg.store);
  return {
    parts: pipeline,
    sink: {
      handOver: (nowMs, final) => pipeline.handOver(nowMs, final),
      store,
      completeUntil: (nowMs) => pipeline.completeUntil(nowMs),
      health: () => {
        const down = pipeline.storeDown();
        return down === undefined ? [] : [{ name: "store", code: down.code }];
      },
      stats: () => ({
        seriesRowsWritten: pipeline.stats.seriesRowsWritten,
        storeErrors: pipeline.stats.storeErrors,
        pendingRows: pipeline.stats.pendingRows,
        latePartials: pipeline.rollup.stats.latePartials,
        queue: null,
        wal: walSummary(pipeline.walStats()),
      }),
      async prune() {
        try {
          const deleted = await store.prune(pruneBefore(retention, Date.now()));
          if (Object.values(deleted).some((n) => n > 0)) {
            log.info({ deleted }, `rows older than ${retentionKey} deleted`);
          }
        } catch (e) {
          log.error({ err: e }, "retention: old rows not deleted");
        }
      },
      close: async () => {
        try {
          return await pipeline.close(Date.now());
        } finally {
          walLock.release();
        }
      },
      coalesces: true,
      persist: (nowMs) => pipeline.persist(nowMs),
      persistEveryMs: cfg.wal.syncInterval,
      reloadModel: (next, model) => pipeline.reloadModel(next, model),
      slaAlerts: () => pipeline.slaAlerts?.state() ?? emptySlaAlertsState(),
    },
  };
}

export async function startRun(
  cfg: Config,
  log: Logger,
  timings: Partial<RunTimings> = {},
  makeSink: (
    cfg: Config,
    log: Logger,
  ) => Promise<{ parts: Omit<Collectors, "reload">; sink: RunSink }> = storeSink,
): Promise<RunningFlowtally> {
  const t = { ...defaultTimings, ...timings };
  const startedAt = Date.now();
  // Before anything is read: a second process on the same state refuses here (FT_DATA_LOCKED).
  const stateLock = lockDataFiles([["decoder.statePath", cfg.decoder.statePath]], log);
  // The registry's database (customers with registry.source: database; users, sessions and
  // tokens always: docs/accounts.md), opened once for all: for `run`, whose API serves the series
  // and the accounts; `collect` (its own sink) serves only its counters and opens the registry
  // alone (with registry.source: database).
  const driver = makeSink === storeSink ? shareDriver(registryDriver(cfg)) : undefined;
  // The customers: the config's, or the registry's at its current version (database). The
  // runtime owns the process's one registry store; the API writes through it.
  const registry = createRegistryRuntime(cfg, {
    log,
    ...(driver === undefined ? {} : { driver }),
    ...(t.registryPollMs === undefined ? {} : { pollMs: t.registryPollMs }),
  });
  let made: Awaited<ReturnType<typeof makeSink>>;
  // With registry.source: database the store opens while the registry is read (the file's config
  // has no customers: the registry's are swapped in below, before any input listens).
  const fromDatabase = cfg.registry.source === "database";
  try {
    if (fromDatabase) {
      const [read, sunk] = await Promise.allSettled([registry.start(), makeSink(cfg, log)]);
      if (sunk.status === "fulfilled" && read.status === "rejected") {
        await sunk.value.sink.close().catch(() => undefined);
      }
      if (read.status === "rejected") throw read.reason;
      if (sunk.status === "rejected") throw sunk.reason;
      made = sunk.value;
    } else {
      await registry.start();
      made = await makeSink(registry.current().config, log);
    }
  } catch (e) {
    await registry.stop().catch(() => undefined);
    stateLock.release();
    throw e;
  }
  const { parts: pipeline, sink } = made;
  /** The registry version the collectors classify with (none yet when read beside the sink). */
  let inUse: ReturnType<RegistryRuntime["current"]> | undefined = fromDatabase
    ? undefined
    : registry.current();
  let swapping = true;
  const swapIn = (applied: ReturnType<RegistryRuntime["current"]>) => {
    if (!swapping || applied === inUse) return;
    inUse = applied;
    // One synchronous step between two datagrams: what is open goes out under the previous model.
    sink.reloadModel(applied.config, applied.model);
  };
  const unApplied = registry.onApplied(swapIn);
  // The registry's customers (database), or a version applied while the sink was made.
  swapIn(registry.current());
  // The customers' billing profiles, versioned in the store (docs/sla.md "Profile versions"):
  // now, at each registry version (a commit rate PATCHed) and at each SIGHUP.
  const profiles =
    sink.store === undefined ? undefined : createProfileRecorder({ store: sink.store, log });
  const unRecorded =
    profiles === undefined
      ? () => {}
      : registry.onVersion((applied) => void profiles.record(applied));
  const { collector, sflow, decoder } = pipeline;
  const inputs: UdpInput[] = [];
  /** Per UDP input, in the order of `inputs`. */
  const allowlists: ExporterAllowlist[] = [];
  const captures: CaptureInput[] = [];
  let api: ReturnType<typeof createApiServer> | undefined;
  let accounts: Accounts | undefined;
  let apiRegistry: ApiRegistry | undefined;
  let apiRegistryStarted = false;
  try {
    const listeners = [
      ...cfg.inputs.netflow.map((input, k) => ({
        input,
        key: `inputs.netflow[${k}].listen`,
        what: "NetFlow v5/v9 and IPFIX",
        into: collector,
      })),
      ...cfg.inputs.sflow.map((input, k) => ({
        input,
        key: `inputs.sflow[${k}].listen`,
        what: "sFlow v5",
        into: sflow,
      })),
    ];
    for (const { input, key, what, into } of listeners) {
      const allow = createExporterAllowlist(input.allowedExporters);
      allowlists.push(allow);
      const onDatagram =
        input.allowedExporters === undefined
          ? (payload: Uint8Array, exporter: string, receivedMs: number) =>
              into.ingest(payload, exporter, receivedMs)
          : (payload: Uint8Array, exporter: string, receivedMs: number) => {
              if (allow.allows(exporter)) into.ingest(payload, exporter, receivedMs);
            };
      const udp = await openUdpInputBest(
        { listen: input.listen, receiveBufferBytes: input.receiveBuffer, onDatagram },
        t.udpBackend,
      ).catch((e: unknown) => {
        throw listenError(`${key} ${input.listen}`, e);
      });
      inputs.push(udp);
      log.info(
        {
          listen: input.listen,
          port: udp.address.port,
          receiveBuffer: udp.receiveBufferBytes,
          backend: udp.backend,
          ...(udp.backend === "dgram" ? { why: nativeUdpUnavailableReason() ?? "forced" } : {}),
        },
        `listening for ${what}`,
      );
      const allowedKey = key.replace(/\.listen$/, ".allowedExporters");
      if (input.allowedExporters === undefined) {
        log.warn(
          { listen: input.listen },
          `${key.replace(/\.listen$/, "")} takes ${what} from any source address: anyone who can send it a datagram can add traffic to any customer; list your exporters in ${allowedKey} (docs/configuration.md)`,
        );
      } else {
        log.info({ listen: input.listen, allowedExporters: allow.prefixes }, "exporters allowed");
      }
      warnIfBufferCapped(log, input.listen, input.receiveBuffer, udp.receiveBufferBytes);
    }
    for (const [k, input] of cfg.inputs.capture.entries()) {
      const packets = pipeline.packets();
      // Frames are parsed as they come and counted in groups (the flow table reads a group's
      // memory in one go); a read's last frames are counted when the read ends.
      const group = new PacketGroup();
      const countGroup = (): void => {
        if (group.count > 0) packets.ingestGroup(group);
      };
      const capture = await openCaptureInput(
        { ...input, path: `inputs.capture[${k}]` },
        (frame, linkType, tsSec, tsNsec) => {
          const result = parsePacket(frame, linkType, group.next);
          if (group.push(result, tsSec, tsNsec)) countGroup();
        },
        { log, onReadEnd: countGroup, ...(t.capture === undefined ? {} : { timings: t.capture }) },
      );
      captures.push(capture);
      log.info(
        {
          interface: input.interface,
          linkType: capture.linkType,
          linkTypeName: capture.linkTypeName,
          filter: input.filter,
          snaplen: capture.snaplen,
          bufferSize: capture.bufferSize,
          promiscuous: input.promiscuous,
        },
        "capturing packets",
      );
    }
    const rcvbufAtStart = readRcvbufErrors();
    const reporter = createProblemReporter(log);
    const stats = (): RunStats => {
      const drops = inputs.map((i) => i.kernelDrops());
      const rcvbuf = readRcvbufErrors();
      return {
        uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
        datagrams: collector.stats.datagrams + sflow.stats.datagrams,
        records: collector.stats.records + sflow.stats.records,
        unattributedRecords: collector.stats.unattributedRecords + sflow.stats.unattributedRecords,
        futureRecords: collector.stats.futureRecords + sflow.stats.futureRecords,
        droppedRecords: addRecordDrops(
          addRecordDrops(
            addRecordDrops(zeroRecordDrops(), collector.stats.dropped),
            sflow.stats.dropped,
          ),
          pipeline.packetsIfUsed?.stats.dropped ?? zeroRecordDrops(),
        ),
        refusedDatagrams: allowlists.reduce((n, a) => n + a.dropped, 0),
        refusedBySource: refusedBySource(allowlists),
        kernelDrops: drops.some((d) => d === null)
          ? null
          : drops.reduce<number>((a, d) => a + (d ?? 0), 0),
        rcvbufErrors: rcvbuf === null || rcvbufAtStart === null ? null : rcvbuf - rcvbufAtStart,
        undrainedDatagrams: inputs.reduce((n, i) => n + i.undrained().datagrams, 0),
        ...sinkStats(sink.stats()),
        linkStatus: linkStatusStats(pipeline.linkStatus.stats()),
        held: decoder.heldSets(),
        problems: nonZero({ ...decoder.problems, ...prefixed("sflow-", sflow.decoder.problems) }),
        inputs: inputs.map((i, k) => ({
          listen: i.listen,
          port: i.address.port,
          receiveBufferBytes: i.receiveBufferBytes,
          datagrams: i.stats.datagrams,
          refusedDatagrams: allowlists[k]?.dropped ?? 0,
          kernelDrops: drops[k] ?? null,
          undrained: i.undrained().datagrams,
        })),
        capture: captureStats(captures, pipeline.packetsIfUsed),
        storeFailures: [],
        spooled: null,
        inWal: null,
        registry: registry.status(),
      };
    };

    // The API's registry and the accounts, on the runtime's store and the shared connection
    // (`run` only): the API's writes are seen by classification at once.
    if (driver !== undefined) {
      apiRegistry = createApiRegistry(cfg, {
        log,
        driver,
        // registry.source: config: the customers of the config in force (SIGHUP swaps them).
        customers: () => registry.current().config.customers,
        ...(registry.store === undefined ? {} : { store: registry.store }),
      });
      await apiRegistry.start();
      apiRegistryStarted = true;
      accounts = accountsFor(cfg, { log, driver });
      await accounts.start();
    }
    api = createApiServer({
      config: cfg,
      ...(accounts === undefined ? {} : { accounts }),
      // The model classifying now: a SIGHUP or a registry version replaces it.
      model: liveModel(() => pipeline.model),
      ...(apiRegistry === undefined ? {} : { registry: apiRegistry.access }),
      ...(sink.store === undefined ? {} : { store: sink.store }),
      log,
      completeUntil: () => sink.completeUntil(Date.now()),
      status: stats,
      interfaces: (exporter) => pipeline.interfaces.list(exporter),
      exporters: () => ({
        flow: decoder.exporterStats(),
        domains: decoder.exporterDomains(),
        sflow: pipeline.sflowDecoder.agentStats(),
      }),
      ...(sink.slaAlerts === undefined ? {} : { slaWebhooks: () => sink.slaAlerts?.() }),
      health: () => [...sink.health(), ...registry.health()],
      metrics: createMetrics(() => {
        const s = stats();
        return {
          exporters: decoder.exporterStats(),
          problems: s.problems,
          inputs: s.inputs,
          rcvbufErrors: s.rcvbufErrors,
          records: s.records,
          unattributedRecords: s.unattributedRecords,
          droppedRecords: s.droppedRecords,
          seriesRowsWritten: s.seriesRowsWritten,
          storeErrors: s.storeErrors,
          pendingRows: s.pendingRows,
          heldSets: s.held.count,
          lateLinkStatusSamples: s.linkStatus.lateSamples,
          queue: s.queue,
          ...(sink.slaAlerts === undefined ? {} : { slaWebhooks: sink.slaAlerts().webhooks }),
        };
      }),
    });
    const where = await api.listen().catch((e: unknown) => {
      throw listenError(`api.listen ${cfg.api.listen}`, e);
    });
    log.info({ listen: cfg.api.listen, ...where }, "query API listening");
    const apiAddress = where;
    apiRegistry?.prepareWrites();

    let handingOver = false;
    const tick = () => {
      const now = Date.now();
      collector.expire(now);
      pipeline.packetsIfUsed?.expire(now);
      reporter.report(now, decoder.problems);
      if (sink.coalesces === true) {
        // The pipeline queues at most one store write behind a running one.
        sink.handOver(now, false).catch((e: unknown) => log.error({ err: e }, "hand-over failed"));
        return;
      }
      if (handingOver) return; // the queue is still busy with the previous tick's rows
      handingOver = true;
      sink.handOver(now, false).finally(() => {
        handingOver = false;
      });
    };
    let persisting = false;
    const persist = () => {
      if (persisting || sink.persist === undefined) return;
      persisting = true;
      sink.persist(Date.now()).finally(() => {
        persisting = false;
      });
    };
    const statsLog = startStatsLog({
      log,
      everyMs: t.statsMs,
      initial: stats(),
      sample: stats,
      line: runStatsLine,
    });
    const saveState = () => {
      try {
        pipeline.saveState();
      } catch (e) {
        log.error({ err: e }, "decoder state not saved");
      }
    };
    const prune = async () => {
      await sink.prune?.();
    };
    await prune();
    const timers = [
      setInterval(tick, t.tickMs),
      ...(sink.persist === undefined
        ? []
        : [setInterval(persist, sink.persistEveryMs ?? t.tickMs)]),
      setInterval(prune, t.pruneMs),
      setInterval(saveState, t.saveStateMs),
    ];
    for (const timer of timers) timer.unref();
    // The start's profiles once everything listens: their read (every customer's latest version)
    // then delays no input and no answer of the API.
    void profiles?.record(registry.current(), true);

    let stopping: Promise<RunStats> | undefined;
    const stop = async (): Promise<RunStats> => {
      // No model swap after this: the final hand-over is under the model in use.
      swapping = false;
      unApplied();
      unRecorded();
      for (const timer of timers) clearInterval(timer);
      statsLog.stop();
      // Captures first (each counts what the kernel still holds), then the UDP listeners, each
      // read until the kernel's queue is empty.
      await Promise.all(captures.map((c) => c.close()));
      await Promise.all(inputs.map((i) => i.drain()));
      // What a sender still sent after the drain is read by close, counted but not decoded.
      await Promise.all(inputs.map((i) => i.close()));
      for (const i of inputs) {
        const left = i.undrained();
        if (left.datagrams > 0 || (left.bytes ?? 0) > 0) {
          log.warn(
            { listen: i.listen, undrainedDatagrams: left.datagrams, unreadBytes: left.bytes },
            "datagrams still arriving after the drain at stop were not decoded (counted as undrained; unreadBytes: the kernel's queue discarded with the socket)",
          );
        }
      }
      const now = Date.now();
      collector.expire(now);
      // The flows still in the table end here.
      pipeline.packetsIfUsed?.flushAll();
      const held = decoder.heldSets();
      if (held.count > 0) {
        log.warn(held, "data still waiting for its template at stop is not counted");
      }
      // A store that refuses the last rows keeps them: close spools them for the next start.
      let failure: unknown;
      try {
        await sink.handOver(now, true);
      } catch (e) {
        failure = e;
      }
      reporter.report(now, decoder.problems, true);
      await profiles?.settled();
      await api?.close();
      // The accounts' database failing to close loses nothing of the traffic: said, not fatal.
      await accounts?.stop().catch((e: unknown) => {
        log.warn({ err: e }, "the accounts database did not close cleanly");
      });
      await apiRegistry?.stop().catch((e: unknown) => {
        log.warn({ err: e }, "the registry database did not close cleanly");
      });
      const closed = await sink.close();
      await registry.stop().catch((e: unknown) => {
        log.warn({ err: e }, "the registry database did not close cleanly");
      });
      saveState();
      stateLock.release();
      if (failure !== undefined) throw failure;
      const final: RunStats = {
        ...stats(),
        storeFailures: closed.errors.map((e) => ({ code: e.code, message: e.message })),
        spooled: closed.spooled,
        inWal: closed.inWal ?? null,
      };
      if (closed.errors.length > 0) log.error(final, "stopped; the store failed");
      else log.info(final, "stopped");
      return final;
    };
    return {
      inputs,
      captures,
      api: apiAddress,
      stats,
      registry,
      reload: (next) => {
        if (stopping !== undefined) return;
        const applied = registry.rebase(next);
        inUse = applied;
        sink.reloadModel(applied.config);
        api?.reloadConfig(applied.config);
        void profiles?.record(applied, true);
      },
      stop: () => {
        stopping ??= stop();
        return stopping;
      },
    };
  } catch (e) {
    await Promise.all(captures.map((c) => c.close()));
    await Promise.all(inputs.map((i) => i.close()));
    await api?.close().catch(() => {});
    await accounts?.stop().catch(() => {});
    if (apiRegistryStarted) await apiRegistry?.stop().catch(() => {});
    swapping = false;
    unApplied();
    const closed = await sink.close();
    await registry.stop().catch(() => undefined);
    stateLock.release();
    for (const f of closed.errors) log.error({ code: f.code, err: f }, `${f.message} [${f.code}]`);
    throw e;
  }
}

/**
 * The stats line of run and collect: counters and the records' rate; a warning when the kernel
 * dropped captured frames or export datagrams since the last line.
 */
function runStatsLine(s: RunStats, last: RunStats, seconds: number): StatsLine {
  const drops = s.kernelDrops ?? 0;
  const rcvbuf = s.rcvbufErrors ?? 0;
  const line = {
    recordsPerSecond: perSecond(s.records, last.records, seconds),
    datagrams: s.datagrams,
    records: s.records,
    unattributedRecords: s.unattributedRecords,
    kernelDrops: s.kernelDrops,
    rcvbufErrors: s.rcvbufErrors,
    seriesRowsWritten: s.seriesRowsWritten,
    pendingRows: s.pendingRows,
    ...(s.queue === null
      ? {}
      : {
          queue: {
            bufferedMessages: s.queue.bufferedMessages,
            shippedMessages: s.queue.shippedMessages,
            droppedRows: s.queue.droppedRows,
            redisUp: s.queue.redisUp,
          },
        }),
    held: s.held,
    ...(s.capture === null
      ? {}
      : {
          capture: {
            packets: s.capture.packets,
            kernelDrops: s.capture.kernelDrops,
            interfaceDrops: s.capture.interfaceDrops,
            flows: s.capture.flows,
            transactions: s.capture.transactions,
          },
        }),
  };
  const captureDrops = s.capture?.kernelDrops ?? 0;
  const lastCaptureDrops = last.capture?.kernelDrops ?? 0;
  const lastDrops = last.kernelDrops ?? 0;
  const lastRcvbuf = last.rcvbufErrors ?? 0;
  if (captureDrops > lastCaptureDrops) {
    return {
      level: "warn",
      fields: { ...line, newCaptureKernelDrops: captureDrops - lastCaptureDrops },
      message:
        "the kernel dropped captured packets: the capture buffer overflowed (raise inputs.capture[].bufferSize, narrow the filter, or lower snaplen)",
    };
  }
  if (drops > lastDrops) {
    return {
      level: "warn",
      fields: { ...line, newKernelDrops: drops - lastDrops },
      message:
        "the kernel dropped export datagrams: the receive buffer overflowed (raise inputs.netflow[].receiveBuffer and net.core.rmem_max, or add a collector)",
    };
  }
  if (rcvbuf > lastRcvbuf) {
    return {
      level: "info",
      fields: { ...line, newRcvbufErrors: rcvbuf - lastRcvbuf },
      message: "UDP receive-buffer errors on this host (not on flowtally's sockets)",
    };
  }
  return { level: "info", fields: line, message: "stats" };
}

function captureStats(
  captures: readonly CaptureInput[],
  packets: PacketCollector | undefined,
): CaptureRunStats | null {
  if (captures.length === 0 || packets === undefined) return null;
  const inputs = captures.map((c) => {
    const k = c.kernelStats();
    return {
      interface: c.interface,
      linkType: c.linkType,
      snaplen: c.snaplen,
      bufferSize: c.bufferSize,
      packets: c.stats.packets,
      kernelReceived: k.received,
      kernelDrops: k.dropped,
      interfaceDrops: k.interfaceDropped,
      readErrors: c.stats.readErrors,
    };
  });
  const sum = (f: (i: (typeof inputs)[number]) => number) => inputs.reduce((a, i) => a + f(i), 0);
  const p = packets.stats;
  return {
    packets: sum((i) => i.packets),
    kernelReceived: sum((i) => i.kernelReceived),
    kernelDrops: sum((i) => i.kernelDrops),
    interfaceDrops: sum((i) => i.interfaceDrops),
    results: { ...p.results },
    records: p.records,
    unattributedRecords: p.unattributedRecords,
    flows: packets.flows,
    evictions: p.flowTable.evictions,
    transactions: p.transactions,
    inputs,
  };
}

function sinkStats(s: SinkStats): SinkStats {
  return { ...s, queue: s.queue === null ? null : { ...s.queue } };
}

function nonZero(counts: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
}

function prefixed(
  prefix: string,
  counts: Readonly<Record<string, number>>,
): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([k, n]) => [`${prefix}${k}`, n]));
}

export function listenError(what: string, e: unknown): FlowtallyError {
  // The API wraps the socket's error; the errno is on the cause.
  const outer = e as NodeJS.ErrnoException;
  const err = (outer.code === undefined ? outer.cause : outer) as NodeJS.ErrnoException;
  const why =
    err.code === "EADDRINUSE"
      ? "the address is in use by another program"
      : err.code === "EADDRNOTAVAIL"
        ? "not an address of this host"
        : err.code === "EACCES"
          ? "permission denied (ports below 1024 need privileges)"
          : err.message;
  return new FlowtallyError("FT_LISTEN", `${what}: ${why} (${err.code ?? "error"})`, { cause: e });
}

function warnIfBufferCapped(log: Logger, listen: string, asked: number, granted: number): void {
  // Linux reports twice the size it was set to (the doubling covers its bookkeeping).
  if (granted >= asked * 2) return;
  let rmemMax: number | null = null;
  try {
    rmemMax = Number(readFileSync("/proc/sys/net/core/rmem_max", "utf8").trim());
  } catch {}
  log.warn(
    { listen, asked, granted: granted / 2, rmemMax },
    `receive buffer capped by the kernel: raise it with "sysctl -w net.core.rmem_max=${asked}" to absorb bursts`,
  );
}

/** Refused datagrams per source over every input's allowlist. */
function refusedBySource(allowlists: readonly ExporterAllowlist[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of allowlists) {
    for (const [source, n] of Object.entries(a.droppedBySource()))
      out[source] = (out[source] ?? 0) + n;
  }
  return out;
}
