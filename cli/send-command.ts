/**
 * `flowtally send --to HOST:PORT CAPTURE...`: sends the UDP payloads found in capture files
 * (recorded flow exports) to a collector, paced, in file order, like nfreplay does for nfdump
 * files. For trying flowtally out (the quick start feeds `flowtally run` with it), for feeding a
 * test collector, and for reproducing a problem from a recording. The exporter address the
 * collector sees is this sender's, so all captures arrive as one exporter: send the exports of
 * one exporter at a time, or exports whose templates don't collide.
 *
 * With `retimeTo`, a first pass decodes the captures to find the latest record, and every time in
 * the exports is moved by the whole seconds that make it end at `retimeTo` (export-retime.ts):
 * old recordings then land in today's graphs, their relative timing kept.
 */
import { createSocket } from "node:dgram";
import { createReadStream } from "node:fs";
import { isIPv6 } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { createCaptureParser } from "../collector/capture/capture-file.js";
import { createUdpDatagram, extractUdp } from "../collector/capture/udp-datagram.js";
import {
  createExportRetimer,
  createFlowDecoder,
  type ExportRetimer,
  type RetimeStats,
} from "../collector/decoders/index.js";
import { FlowtallyError } from "../schema/errors.js";
import { FlowBatch } from "../schema/flow-record.js";
import { parseHostPort } from "../schema/units.js";

export interface SendOptions {
  to: string;
  /** Only datagrams to these destination ports in the capture (all UDP when empty). */
  ports: readonly number[];
  /** Datagrams per second. */
  rate: number;
  /** Move every time in the exports so that the latest record ends at this time (ms). */
  retimeTo?: number;
}

export interface RetimeSummary {
  /** Seconds every time was moved by. */
  shiftSeconds: number;
  /** End of the latest record once moved (ms); null when the captures held no record. */
  latestRecordMs: number | null;
  stats: RetimeStats;
}

export interface SendSummary {
  datagrams: number;
  bytes: number;
  seconds: number;
  retime?: RetimeSummary;
}

/** Datagrams sent between two checks of the pace. */
const BATCH = 64;

export async function runSend(captures: string[], opts: SendOptions): Promise<SendSummary> {
  const target = parseHostPort(opts.to);
  if (target === null || target.port === 0) {
    throw new FlowtallyError(
      "FT_SEND",
      `--to ${opts.to}: not "host:port" with a port (IPv6: "[::1]:2055")`,
    );
  }
  const ports = new Set(opts.ports);
  const plan =
    opts.retimeTo === undefined ? null : await planRetime(captures, ports, opts.retimeTo);
  const socket = createSocket(isIPv6(target.host) ? "udp6" : "udp4");
  const started = performance.now();
  let datagrams = 0;
  let bytes = 0;
  const send = (payload: Uint8Array) =>
    new Promise<void>((resolve, reject) =>
      socket.send(payload, target.port, target.host, (e) => (e ? reject(e) : resolve())),
    );
  const queue: Uint8Array[] = [];
  try {
    await readDatagrams(
      captures,
      ports,
      (payload, exporter) => {
        const out =
          plan === null
            ? payload
            : plan.retimer.retime(payload, exporter, plan.summary.shiftSeconds);
        // A retimed export is a copy already; the payload is a view into the read buffer.
        queue.push(out === payload ? payload.slice() : out);
      },
      async () => {
        while (queue.length > 0) {
          for (const payload of queue.splice(0, BATCH)) {
            await send(payload);
            datagrams++;
            bytes += payload.length;
          }
          // Pace: wait until the datagrams sent so far are due at `rate` per second.
          const wait = started + (datagrams / opts.rate) * 1000 - performance.now();
          if (wait > 1) await sleep(wait);
        }
      },
    );
  } finally {
    socket.close();
  }
  return {
    datagrams,
    bytes,
    seconds: (performance.now() - started) / 1000,
    ...(plan === null ? {} : { retime: plan.summary }),
  };
}

/**
 * The first pass of `--retime`: primes the retimer with the captures' templates and finds the
 * shift that makes the latest record (as the decoder reads it) end at `toMs`; without records,
 * the latest export time ends there.
 */
async function planRetime(
  captures: string[],
  ports: ReadonlySet<number>,
  toMs: number,
): Promise<{ retimer: ExportRetimer; summary: RetimeSummary }> {
  const retimer = createExportRetimer();
  const decoder = createFlowDecoder();
  const batch = new FlowBatch(256);
  let latestRecordMs = Number.NEGATIVE_INFINITY;
  let latestExportMs = Number.NEGATIVE_INFINITY;
  await readDatagrams(
    captures,
    ports,
    (payload, exporter, timeMs) => {
      retimer.prime(payload, exporter);
      const exportMs = exportTimeMs(payload);
      if (exportMs > latestExportMs) latestExportMs = exportMs;
      decoder.decode(payload, exporter, timeMs, batch);
      for (let i = 0; i < batch.length; i++) {
        if (batch.endMs[i]! > latestRecordMs) latestRecordMs = batch.endMs[i]!;
      }
      batch.clear();
    },
    async () => {},
  );
  const latest = Number.isFinite(latestRecordMs) ? latestRecordMs : latestExportMs;
  const shiftSeconds = Number.isFinite(latest) ? Math.floor((toMs - latest) / 1000) : 0;
  return {
    retimer,
    summary: {
      shiftSeconds,
      latestRecordMs: Number.isFinite(latestRecordMs) ? latestRecordMs + shiftSeconds * 1000 : null,
      stats: retimer.stats,
    },
  };
}

/** The export time in a NetFlow v5/v9 or IPFIX header (ms), or -Infinity. */
function exportTimeMs(d: Uint8Array): number {
  const version = d.length < 16 ? 0 : (d[0]! << 8) | d[1]!;
  const at = version === 10 ? 4 : (version === 5 && d.length >= 24) || version === 9 ? 8 : -1;
  if (at < 0 || d.length < at + 4) return Number.NEGATIVE_INFINITY;
  return new DataView(d.buffer, d.byteOffset, d.byteLength).getUint32(at) * 1000;
}

/**
 * Calls `onDatagram` for every UDP datagram of the captures (to one of `ports`, when given) with
 * its payload (a view into the read buffer: copy what is kept), source address and capture time,
 * and awaits `afterChunk` after each 1 MiB read.
 */
async function readDatagrams(
  captures: readonly string[],
  ports: ReadonlySet<number>,
  onDatagram: (payload: Uint8Array, exporter: string, timeMs: number) => void,
  afterChunk: () => Promise<void>,
): Promise<void> {
  const udp = createUdpDatagram();
  for (const path of captures) {
    const parser = createCaptureParser((p) => {
      if (!extractUdp(p.linkType, p.data, udp)) return;
      if (ports.size > 0 && !ports.has(udp.dstPort)) return;
      onDatagram(udp.payload, udp.srcAddress, p.tsSec * 1000 + p.tsNsec / 1e6);
    });
    try {
      for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
        parser.push(chunk as Buffer);
        await afterChunk();
        if (parser.stats.stopped) break;
      }
      parser.end();
      await afterChunk();
    } catch (e) {
      if (e instanceof FlowtallyError) throw e;
      throw new FlowtallyError("FT_SEND", `${path}: ${(e as Error).message}`, { cause: e });
    }
  }
}

/** The summary line of `send --retime`. */
export function retimeSummaryLine(r: RetimeSummary): string {
  const sign = r.shiftSeconds < 0 ? "-" : "+";
  const days = Math.abs(r.shiftSeconds) / 86_400;
  const { stats } = r;
  return (
    `retimed ${stats.exports} exports: every time moved by ${sign}${Math.abs(r.shiftSeconds)} s (${days.toFixed(1)} days)` +
    (r.latestRecordMs === null
      ? "; the captures held no record"
      : `; the latest record ends at ${new Date(r.latestRecordMs).toISOString()}`) +
    (stats.setsWithoutTemplate > 0
      ? `; ${stats.setsWithoutTemplate} data sets had no template in the captures and kept their times`
      : "") +
    (stats.unchanged > 0
      ? `; ${stats.unchanged} datagrams that are not NetFlow/IPFIX exports (sFlow: no absolute times) were sent as they were`
      : "") +
    (stats.malformed > 0 ? `; ${stats.malformed} exports were cut short or inconsistent` : "") +
    "\n"
  );
}
