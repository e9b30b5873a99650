/**
 * Writes the capture file of bench/packet-capture-generator.ts: the pcap global header
 * (nanosecond timestamps, Ethernet) and one frame at a time (Ethernet with an optional 802.1Q
 * tag, IPv4/IPv6 with TCP, UDP or ICMP echo), summing each frame into the ground truth.
 */
import { type CaptureState, CHUNK, KIND_TCP, KIND_UDP } from "./capture-state.js";

/** Hands the chunk written so far to `write`. */
export function flush(g: CaptureState): void {
  if (g.off > 0) g.write(g.buf.subarray(0, g.off));
  g.fileBytes += g.off;
  g.off = 0;
}

/** The pcap global header: nanosecond timestamps, little-endian, LINKTYPE_ETHERNET. */
export function writeFileHeader(g: CaptureState): void {
  const view = g.view;
  view.setUint32(0, 0xa1b23c4d, true);
  view.setUint16(4, 2, true);
  view.setUint16(6, 4, true);
  view.setInt32(8, 0, true);
  view.setUint32(12, 0, true);
  view.setUint32(16, g.snaplen, true);
  view.setUint32(20, 1, true); // LINKTYPE_ETHERNET
  g.off = 24;
}

/**
 * Writes one frame of slot `s`. `l4` is the transport header length, `payload` the bytes
 * after it (not captured beyond the snap length). TCP: `flags`, `seq`, `ack`; ICMP: `flags`
 * is the type, `seq` the echo sequence number.
 */
export function frame(
  g: CaptureState,

  s: number,
  fromClient: boolean,
  l4: number,
  payload: number,
  flags: number,
  seq: number,
  ack: number,
): void {
  const isV6 = g.v6[s] === 1;
  const tag = g.vlan[s]!;
  const ipHeader = isV6 ? 40 : 20;
  const ipLen = ipHeader + l4 + payload;
  const eth = tag === 0 ? 14 : 18;
  const origLen = Math.max(eth + ipLen, tag === 0 ? 60 : 64);
  const capLen = Math.min(origLen, g.snaplen);
  if (g.off + 16 + capLen > CHUNK) flush(g);
  const sec = g.startSec + Math.floor(g.tNs / 1e9);
  g.view.setUint32(g.off, sec, true);
  g.view.setUint32(g.off + 4, g.tNs % 1e9, true);
  g.view.setUint32(g.off + 8, capLen, true);
  g.view.setUint32(g.off + 12, origLen, true);
  let p = g.off + 16;
  g.buf.fill(0, p, p + capLen);
  const end = p + capLen;
  // Ethernet: the router's and the customer side's MACs.
  g.view.setUint32(p, 0x02000000, false);
  g.view.setUint16(p + 4, fromClient ? 1 : 2, false);
  g.view.setUint32(p + 6, 0x02000000, false);
  g.view.setUint16(p + 10, fromClient ? 2 : 1, false);
  p += 12;
  if (tag !== 0) {
    g.view.setUint16(p, 0x8100, false);
    g.view.setUint16(p + 2, tag, false);
    p += 4;
  }
  g.view.setUint16(p, isV6 ? 0x86dd : 0x0800, false);
  p += 2;
  const k = g.kind[s]!;
  const proto = k === KIND_TCP ? 6 : k === KIND_UDP ? 17 : isV6 ? 58 : 1;
  const src = fromClient ? g.cAddr : g.sAddr;
  const dst = fromClient ? g.sAddr : g.cAddr;
  const b = s * 4;
  if (!isV6) {
    g.view.setUint16(p, 0x4500 | g.tos[s]!, false);
    g.view.setUint16(p + 2, ipLen, false);
    const id = (g.ipId[s]! + 1) & 0xffff;
    g.ipId[s] = id;
    g.view.setUint16(p + 4, id, false);
    g.view.setUint16(p + 6, 0x4000, false);
    g.view.setUint16(p + 8, (64 << 8) | proto, false);
    g.view.setUint32(p + 12, src[b]!, false);
    g.view.setUint32(p + 16, dst[b]!, false);
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += g.view.getUint16(p + i, false);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    g.view.setUint16(p + 10, ~sum & 0xffff, false);
    p += 20;
  } else {
    g.view.setUint32(p, (0x6 << 28) | (g.tos[s]! << 20), false);
    g.view.setUint16(p + 4, ipLen - 40, false);
    g.view.setUint16(p + 6, (proto << 8) | 64, false);
    for (let i = 0; i < 4; i++) {
      g.view.setUint32(p + 8 + 4 * i, src[b + i]!, false);
      g.view.setUint32(p + 24 + 4 * i, dst[b + i]!, false);
    }
    p += 40;
  }
  const sp = fromClient ? g.cPort[s]! : g.sPort[s]!;
  const dp = fromClient ? g.sPort[s]! : g.cPort[s]!;
  if (proto === 6) {
    g.view.setUint16(p, sp, false);
    g.view.setUint16(p + 2, dp, false);
    g.view.setUint32(p + 4, seq, false);
    g.view.setUint32(p + 8, ack, false);
    g.view.setUint16(p + 12, ((l4 / 4) << 12) | flags, false);
    g.view.setUint16(p + 14, 0xffff, false);
    if (l4 > 20 && p + 40 <= end) {
      // MSS, SACK permitted, timestamps, NOP, window scale.
      g.view.setUint32(p + 20, 0x02040000 | (isV6 ? 1440 : 1460), false);
      g.view.setUint16(p + 24, 0x0402, false);
      g.view.setUint16(p + 26, 0x080a, false);
      g.view.setUint32(p + 28, (g.tNs / 1e6) >>> 0, false);
      g.view.setUint32(p + 36, 0x01030307, false);
    }
  } else if (proto === 17) {
    g.view.setUint16(p, sp, false);
    g.view.setUint16(p + 2, dp, false);
    g.view.setUint16(p + 4, 8 + payload, false);
  } else {
    // ICMP / ICMPv6 echo: type, code, checksum, identifier, sequence.
    g.buf[p] = flags;
    g.view.setUint16(p + 4, g.cPort[s]!, false);
    g.view.setUint16(p + 6, seq, false);
  }
  g.off += 16 + capLen;
  g.dirs[s]! |= fromClient ? 1 : 2;

  // Ground truth.
  const from = fromClient ? g.cCust[s]! : g.sCust[s]!;
  const to = fromClient ? g.sCust[s]! : g.cCust[s]!;
  if (to >= 0) {
    g.bytesIn[to]! += ipLen;
    g.packetsIn[to]!++;
  }
  if (from >= 0) {
    g.bytesOut[from]! += ipLen;
    g.packetsOut[from]!++;
  }
  if (from < 0 && to < 0) {
    g.unBytes += ipLen;
    g.unPackets++;
  }
  g.ipBytes += ipLen;
  g.packets++;
}
