/**
 * `flowtally replay --config FILE CAPTURE...`: runs the single-box pipeline over capture files
 * on the packets' own timestamps (decode → classify → partial sums → rollup → store) and exits
 * once everything is written. UDP datagrams to a port of `inputs.netflow[].listen` are NetFlow/
 * IPFIX exports and to `inputs.sflow[].listen` sFlow; every other frame is ordinary traffic for
 * the packet path (parser → flow table → the same classification, plus TCP response times).
 *
 * A datagram to another port whose header is a flow export's (collector/decoders/export-kind.ts)
 * is never counted as traffic: it is counted per port and named in a warning, or, with
 * `exports: "auto"`, decoded like the listed ports' (sFlow by the sFlow collector).
 */

import { statSync } from "node:fs";
import { createCaptureParser } from "../collector/capture/capture-file.js";
import { fileChunks } from "../collector/capture/capture-reader.js";
import { createUdpDatagram, extractUdp, udpFromParsed } from "../collector/capture/udp-datagram.js";
import {
  type ExportKind,
  exportKind,
  exportKindNames,
  mayBeExport,
} from "../collector/decoders/export-kind.js";
import { addRecordDrops, type RecordDrops, zeroRecordDrops } from "../collector/flow-collector.js";
import type { PacketInfo } from "../collector/packet/packet-info.js";
import { parsePacket } from "../collector/packet/packet-parser.js";
import { type PacketCollector, PacketGroup } from "../collector/packet-collector.js";
import { logConfigWarnings } from "../config/config-warnings.js";
import { dataFiles } from "../config/data-paths.js";
import { loadConfigFile } from "../config/load-config.js";
import { FlowtallyError } from "../schema/errors.js";
import { parseHostPort } from "../schema/units.js";
import { lockDataFiles } from "./data-lock.js";
import { createLogger, type LogLevel } from "./logger.js";
import { createPipeline, type StoreCloseReport } from "./pipeline.js";
import { createProgress } from "./progress.js";

export interface ReplayOptions {
  config: string;
  /** Default: the config's log.level, else warn. */
  logLevel?: LogLevel;
  progress?: boolean;
  /**
   * Datagrams to ports the config does not list that look like flow exports: only counted and
   * named ("listed", the default), or decoded too ("auto"). Never counted as traffic.
   */
  exports?: "listed" | "auto";
}

/** Export datagrams to one UDP port the config does not list, by kind. */
export interface UnlistedExports {
  port: number;
  datagrams: number;
  kinds: Partial<Record<ExportKind, number>>;
}

export interface ReplaySummary {
  captures: number;
  /** Export datagrams decoded (to the listed ports, and with `exports: "auto"` to the others). */
  datagrams: number;
  /**
   * Datagrams to ports the config does not list that look like flow exports, per port; not
   * traffic. Decoded (and in `datagrams`) when `unlistedExportsDecoded`.
   */
  unlistedExports: UnlistedExports[];
  unlistedExportsDecoded: boolean;
  /** Frames that were not exports: ordinary traffic, counted by the packet path. */
  packets: number;
  /** Of those, frames without a readable IP header (ARP, LLDP...): not counted as traffic. */
  nonIpPackets: number;
  /** Flow records the packet path's flow table emitted. */
  packetFlowRecords: number;
  /** TCP transactions timed. */
  transactions: number;
  responseRowsWritten: number;
  records: number;
  unattributedRecords: number;
  futureRecords: number;
  /** Records dropped before the sums, by reason (absurd counts or rates, too old: maxPast). */
  droppedRecords: RecordDrops;
  seriesRowsWritten: number;
  latePartials: number;
  /** Interface status samples for minutes already closed: dropped (sla/link-status.ts). */
  lateLinkStatusSamples: number;
  heldAtEnd: { count: number; bytes: number };
  problems: Record<string, number>;
  /** What failed in the store (cause first) and the spool; empty when all went well. */
  storeFailures: Array<{ code: string; message: string }>;
  /** Rows the store did not take, spooled for the next start. */
  spooled: { path: string; rows: number } | null;
}

/** Every port: to take any UDP datagram out of a frame with udpFromParsed. */
const ANY_PORT = { has: (_port: number) => true };

const IPPROTO_UDP = 17;

/** Whether the packet parser found a whole UDP datagram whose payload may start an export. */
function mayBeExportFrame(info: PacketInfo, bytes: Uint8Array): boolean {
  return (
    info.ipVersion !== 0 &&
    info.protocol === IPPROTO_UDP &&
    info.hasTransport &&
    !info.fragment &&
    info.tunnel === "none" &&
    mayBeExport(bytes, info.transportOffset + 8, info.ipOffset + info.capturedIpBytes)
  );
}

/** "port 9995: 10 NetFlow v5; port 6343: 25 sFlow v5 and 5 NetFlow v5" */
export function describeUnlisted(list: readonly UnlistedExports[]): string {
  return list
    .map(
      (u) =>
        `port ${u.port}: ${Object.entries(u.kinds)
          .map(([k, n]) => `${n} ${exportKindNames[k as ExportKind]}`)
          .join(" and ")}`,
    )
    .join("; ");
}

/** Datagrams, or ordinary packets, between two hand-overs of closed intervals to the store. */
const FLUSH_EVERY = 4096;
const FLUSH_EVERY_PACKETS = 1 << 18;

export async function runReplay(captures: string[], opts: ReplayOptions): Promise<ReplaySummary> {
  const cfg = loadConfigFile(opts.config);
  const log = createLogger(opts.logLevel ?? cfg.log.level ?? "warn");
  logConfigWarnings(cfg, log);
  const portsOf = (inputs: ReadonlyArray<{ listen: string }>) =>
    new Set(inputs.map((i) => parseHostPort(i.listen)?.port).filter((p) => p !== undefined));
  const ports = portsOf(cfg.inputs.netflow);
  const sflowPorts = portsOf(cfg.inputs.sflow);
  log.info(dataFiles(cfg), "data files");
  // Replay saves the decoder state too: not over a running process's.
  const stateLock = lockDataFiles([["decoder.statePath", cfg.decoder.statePath]], log);
  let pipeline: Awaited<ReturnType<typeof createPipeline>>;
  try {
    // No write-ahead log: a replay interrupted is run again from its capture files.
    pipeline = await createPipeline({ ...cfg, wal: { ...cfg.wal, enabled: false } }, log);
  } catch (e) {
    stateLock.release();
    throw e;
  }
  const { collector, sflow, decoder, rollup } = pipeline;
  let closed: StoreCloseReport = { errors: [], spooled: null };

  const exportPorts: ReadonlySet<number> = new Set([...ports, ...sflowPorts]);
  const decodeUnlisted = opts.exports === "auto";
  const unlisted = new Map<number, UnlistedExports>();
  const countUnlisted = (port: number, kind: ExportKind): void => {
    let u = unlisted.get(port);
    if (u === undefined) {
      u = { port, datagrams: 0, kinds: {} };
      unlisted.set(port, u);
    }
    u.datagrams++;
    u.kinds[kind] = (u.kinds[kind] ?? 0) + 1;
  };
  const udp = createUdpDatagram();
  // Each frame is parsed once, by the packet parser: what it found tells a flow export from
  // traffic (udpFromParsed), and traffic goes to the packet path as parsed, in groups.
  const group = new PacketGroup();
  let packetPath: PacketCollector | undefined;
  const countGroup = (): void => {
    if (group.count === 0) return;
    packetPath ??= pipeline.packets();
    packetPath.ingestGroup(group);
  };
  let datagrams = 0;
  let packets = 0;
  // The latest packet time: a field, since a float stored in a closure variable is a new heap
  // number per packet.
  const clock = { watermark: Number.NEGATIVE_INFINITY };
  const totalBytes = captures.reduce((n, p) => n + fileSize(p), 0);
  const progress = createProgress({
    total: totalBytes,
    enabled: opts.progress ?? process.stderr.isTTY,
  });

  try {
    for (const path of captures) {
      const parser = createCaptureParser((p) => {
        // Parsed in place in the chunk read (no view per packet; info's offsets are in p.bytes).
        const end = p.offset + p.capturedLength;
        const info = group.next;
        const result = parsePacket(p.bytes, p.linkType, info, p.offset, end);
        const found = udpFromParsed(p.linkType, p.bytes, info, exportPorts, udp);
        let isUdp = found === "udp" || (found === "unknown" && extractUdp(p.linkType, p.data, udp));
        let into = !isUdp
          ? undefined
          : ports.has(udp.dstPort)
            ? collector
            : sflowPorts.has(udp.dstPort)
              ? sflow
              : undefined;
        const t = p.tsSec * 1000 + p.tsNsec / 1e6;
        if (t > clock.watermark) clock.watermark = t;
        if (into === undefined && mayBeExportFrame(info, p.bytes)) {
          // A port the config does not list: an export all the same if its header says so.
          if (!isUdp) {
            const again = udpFromParsed(p.linkType, p.bytes, info, ANY_PORT, udp);
            isUdp = again === "udp" || (again === "unknown" && extractUdp(p.linkType, p.data, udp));
          }
          const kind = isUdp ? exportKind(udp.payload) : null;
          if (kind !== null) {
            countUnlisted(udp.dstPort, kind);
            // Never traffic: decoded as an export, or only counted.
            if (!decodeUnlisted) return;
            into = kind === "sflow-v5" ? sflow : collector;
          }
        }
        if (into === undefined) {
          packets++;
          if (group.push(result, p.tsSec, p.tsNsec)) countGroup();
          return;
        }
        datagrams++;
        into.ingest(udp.payload, udp.srcAddress, t);
      });
      try {
        let since = 0;
        let packetsSince = 0;
        for await (const chunk of fileChunks(path, { chunkBytes: 1 << 20 })) {
          parser.push(chunk);
          progress.advance(chunk.byteLength);
          if (datagrams - since >= FLUSH_EVERY || packets - packetsSince >= FLUSH_EVERY_PACKETS) {
            since = datagrams;
            packetsSince = packets;
            countGroup();
            collector.expire(clock.watermark);
            pipeline.packetsIfUsed?.expire(clock.watermark);
            await pipeline.handOver(clock.watermark);
          }
          if (parser.stats.stopped) break;
        }
        parser.end();
        countGroup();
      } catch (e) {
        throw new FlowtallyError("FT_CAPTURE_READ", `${path}: ${(e as Error).message}`, {
          cause: e,
        });
      }
      const bad = Object.entries(parser.stats.errors).filter(([, n]) => n > 0);
      if (bad.length > 0)
        log.warn({ path, errors: Object.fromEntries(bad) }, "capture file problems");
    }
    // The flows still in the table end with the capture.
    pipeline.packetsIfUsed?.flushAll();
    await pipeline.handOver(clock.watermark, true);
    const found = [...unlisted.values()].sort((a, b) => a.port - b.port);
    const n = found.reduce((a, u) => a + u.datagrams, 0);
    if (n > 0 && decodeUnlisted) {
      log.info(
        { unlistedExports: found },
        `decoded ${n} flow export datagrams to UDP ports the config does not list (${describeUnlisted(found)})`,
      );
    } else if (n > 0) {
      log.warn(
        { unlistedExports: found },
        `${n} datagrams to UDP ports the config does not list look like flow exports (${describeUnlisted(found)}): not decoded, not counted as traffic; to decode them, replay with --exports auto or add the port to inputs.netflow[].listen (sFlow: inputs.sflow[].listen)`,
      );
    }
  } finally {
    progress.done();
    // Rows the store refused are spooled for the next run or replay; the state is saved anyway.
    closed = await pipeline.close(Date.now());
    try {
      pipeline.saveState();
    } finally {
      stateLock.release();
    }
  }
  return {
    captures: captures.length,
    datagrams,
    unlistedExports: [...unlisted.values()].sort((a, b) => a.port - b.port),
    unlistedExportsDecoded: decodeUnlisted,
    packets,
    nonIpPackets: pipeline.packetsIfUsed?.stats.flowTable.ignoredPackets ?? 0,
    packetFlowRecords: pipeline.packetsIfUsed?.stats.records ?? 0,
    transactions: pipeline.packetsIfUsed?.stats.transactions ?? 0,
    responseRowsWritten: pipeline.stats.responseRowsWritten,
    records:
      collector.stats.records + sflow.stats.records + (pipeline.packetsIfUsed?.stats.records ?? 0),
    unattributedRecords:
      collector.stats.unattributedRecords +
      sflow.stats.unattributedRecords +
      (pipeline.packetsIfUsed?.stats.unattributedRecords ?? 0),
    futureRecords: collector.stats.futureRecords + sflow.stats.futureRecords,
    droppedRecords: addRecordDrops(
      addRecordDrops(
        addRecordDrops(zeroRecordDrops(), collector.stats.dropped),
        sflow.stats.dropped,
      ),
      pipeline.packetsIfUsed?.stats.dropped ?? zeroRecordDrops(),
    ),
    seriesRowsWritten: pipeline.stats.seriesRowsWritten,
    latePartials: rollup.stats.latePartials,
    lateLinkStatusSamples: pipeline.linkStatus.stats().late,
    heldAtEnd: decoder.heldSets(),
    problems: Object.fromEntries(
      [
        ...Object.entries(decoder.problems),
        ...Object.entries(sflow.decoder.problems).map(([k, n]) => [`sflow-${k}`, n] as const),
      ].filter(([, n]) => n > 0),
    ),
    storeFailures: closed.errors.map((e) => ({ code: e.code, message: e.message })),
    spooled: closed.spooled,
  };
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch (e) {
    throw new FlowtallyError("FT_CAPTURE_READ", `${path}: ${(e as Error).message}`, { cause: e });
  }
}
