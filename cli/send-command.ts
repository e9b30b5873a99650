/**
 * `flowtally send --to HOST:PORT CAPTURE...`: sends the UDP payloads found in capture files
 * (recorded flow exports) to a collector, paced, in file order, like nfreplay does for nfdump
 * files. For trying flowtally out (the quick start feeds `flowtally run` with it), for feeding a
 * test collector, and for reproducing a problem from a recording. The exporter address the
 * collector sees is this sender's, so all captures arrive as one exporter: send the exports of
 * one exporter at a time, or exports whose templates don't collide.
 */
import { createSocket } from "node:dgram";
import { createReadStream } from "node:fs";
import { isIPv6 } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { createCaptureParser } from "../collector/capture/capture-file.js";
import { createUdpDatagram, extractUdp } from "../collector/capture/udp-datagram.js";
import { FlowtallyError } from "../schema/errors.js";
import { parseHostPort } from "../schema/units.js";

export interface SendOptions {
  to: string;
  /** Only datagrams to these destination ports in the capture (all UDP when empty). */
  ports: readonly number[];
  /** Datagrams per second. */
  rate: number;
}

export interface SendSummary {
  datagrams: number;
  bytes: number;
  seconds: number;
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
  const socket = createSocket(isIPv6(target.host) ? "udp6" : "udp4");
  const udp = createUdpDatagram();
  const ports = new Set(opts.ports);
  const started = performance.now();
  let datagrams = 0;
  let bytes = 0;
  const send = (payload: Uint8Array) =>
    new Promise<void>((resolve, reject) =>
      socket.send(payload, target.port, target.host, (e) => (e ? reject(e) : resolve())),
    );
  try {
    for (const path of captures) {
      const queue: Uint8Array[] = [];
      const parser = createCaptureParser((p) => {
        if (!extractUdp(p.linkType, p.data, udp)) return;
        if (ports.size > 0 && !ports.has(udp.dstPort)) return;
        queue.push(udp.payload.slice());
      });
      const drain = async () => {
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
      };
      try {
        for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
          parser.push(chunk as Buffer);
          await drain();
          if (parser.stats.stopped) break;
        }
        parser.end();
        await drain();
      } catch (e) {
        throw new FlowtallyError("FT_SEND", `${path}: ${(e as Error).message}`, { cause: e });
      }
    }
  } finally {
    socket.close();
  }
  return { datagrams, bytes, seconds: (performance.now() - started) / 1000 };
}
