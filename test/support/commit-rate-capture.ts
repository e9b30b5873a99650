/**
 * The commit-rate proof's generator (issue 18): known bytes per 5-minute window on two access
 * links of one bill, written as a capture of NetFlow v5 exports that `flowtally replay` sends
 * through the real pipeline (decoder → classifier → 1-minute sums → 5-minute rollup → store).
 *
 * Each (link, window, direction) with traffic is one flow record of exactly the chosen bytes,
 * dated one minute into its window and exported a minute later, so that no flow straddles a
 * window. Bytes are multiples of 75, so every sample (bytes × 8 / 300 s) is a whole number of
 * bits/s. Peaks are put on different windows per link: the sum of the links' own percentiles
 * is then larger than the percentile of their per-window sum, and the proof tells the two apart.
 * Pure apart from writing the file.
 */

import { writeFileSync } from "node:fs";
import { Bytes, type V5Record, v5Packet } from "./export-builder.js";
import { type PcapRecord, pcapFile } from "./pcap-writer.js";

export const WINDOW_MS = 5 * 60_000;

export interface LinkPlan {
  id: string;
  /** A /24 of the link's customer addresses ("10.1.0"). */
  net: string;
}

export interface WindowBytes {
  startMs: number;
  bytesIn: number;
  bytesOut: number;
}

export interface CommitRatePlan {
  startMs: number;
  windows: number;
  links: Array<LinkPlan & { samples: WindowBytes[] }>;
}

/** A small deterministic generator (LCG): same seed, same plan. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Bytes of a window at about `mbps` average, a multiple of 75. */
const bytesAt = (mbps: number) => Math.round((mbps * 1e6 * 300) / 8 / 75) * 75;

/**
 * `windows` windows from `startMs` on two links: background of 0–12 Mbit/s, some windows empty
 * (one link or both), and each link's own burst of 30–48 Mbit/s on different windows (fiber's
 * outbound at 8–13, radio's inbound at 40–45 and 60–62).
 */
export function commitRatePlan(startMs: number, windows: number, seed: number): CommitRatePlan {
  const r = rng(seed);
  const links: CommitRatePlan["links"] = [
    { id: "fiber", net: "10.1.0", samples: [] },
    { id: "radio", net: "10.2.0", samples: [] },
  ];
  for (let w = 0; w < windows; w++) {
    const bothQuiet = w % 17 === 5;
    for (const [k, link] of links.entries()) {
      const quiet = bothQuiet || (k === 1 && w % 11 === 3);
      if (quiet) continue;
      let mIn = r() * 12;
      let mOut = r() * 12;
      if (k === 0 && w >= 8 && w <= 13) mOut = 30 + r() * 18;
      if (k === 1 && ((w >= 40 && w <= 45) || (w >= 60 && w <= 62))) mIn = 30 + r() * 18;
      link.samples.push({
        startMs: startMs + w * WINDOW_MS,
        bytesIn: bytesAt(mIn),
        bytesOut: bytesAt(mOut),
      });
    }
  }
  return { startMs, windows, links };
}

const REMOTE = "198.51.100.7";
const EXPORTER = "127.0.0.1";

/** An Ethernet/IPv4/UDP frame around `payload`. */
export function udpFrame(payload: Uint8Array, srcPort: number, dstPort: number): Uint8Array {
  return new Bytes()
    .bytes([2, 0, 0, 0, 0, 2])
    .bytes([2, 0, 0, 0, 0, 1])
    .u16(0x0800)
    .u8(0x45)
    .u8(0)
    .u16(20 + 8 + payload.length)
    .u16(0)
    .u16(0x4000)
    .u8(64)
    .u8(17)
    .u16(0)
    .ipv4(EXPORTER)
    .ipv4(EXPORTER)
    .u16(srcPort)
    .u16(dstPort)
    .u16(8 + payload.length)
    .u16(0)
    .bytes(payload)
    .done();
}

/**
 * Writes the plan as a libpcap file of NetFlow v5 exports from 127.0.0.1:50000 to
 * 127.0.0.1:`port`, one datagram per window with a record per link and direction with traffic.
 */
export function writeCommitRateCapture(plan: CommitRatePlan, path: string, port: number): number {
  const frames: PcapRecord[] = [];
  const bootMs = plan.startMs - 3_600_000;
  let sequence = 0;
  let records = 0;
  for (let w = 0; w < plan.windows; w++) {
    const windowStart = plan.startMs + w * WINDOW_MS;
    const flowMs = windowStart + 60_000;
    const exportMs = windowStart + 120_000;
    const list: V5Record[] = [];
    for (const link of plan.links) {
      const s = link.samples.find((x) => x.startMs === windowStart);
      if (s === undefined) continue;
      const host = `${link.net}.10`;
      const common = { firstUptimeMs: flowMs - bootMs, lastUptimeMs: flowMs - bootMs, protocol: 6 };
      if (s.bytesIn > 0) {
        list.push({
          ...common,
          src: REMOTE,
          dst: host,
          bytes: s.bytesIn,
          packets: Math.ceil(s.bytesIn / 1500),
          srcPort: 443,
          dstPort: 40000,
        });
      }
      if (s.bytesOut > 0) {
        list.push({
          ...common,
          src: host,
          dst: REMOTE,
          bytes: s.bytesOut,
          packets: Math.ceil(s.bytesOut / 1500),
          srcPort: 40000,
          dstPort: 443,
        });
      }
    }
    if (list.length === 0) continue;
    const payload = v5Packet(
      { sysUptimeMs: exportMs - bootMs, unixSecs: Math.floor(exportMs / 1000), sequence },
      list,
    );
    sequence += list.length;
    records += list.length;
    frames.push({ us: exportMs * 1000, data: udpFrame(payload, 50000, port) });
  }
  writeFileSync(path, pcapFile(frames));
  return records;
}
