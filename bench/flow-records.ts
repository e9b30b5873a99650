/**
 * The records of bench/flow-generator.ts: who talks to whom (customer ↔ remote, customer ↔
 * customer, transit), addresses, ports, counters and times of one flow record, written into the
 * datagram being built and booked in the ground truth. Same random stream, same records.
 */
import type { Rng } from "../test/fuzz/mutate.js";

/** First octets of "remote" IPv4 addresses: public-looking, never 10/8 or 100.64/10. */
export const REMOTE_FIRST_OCTETS: number[] = [];
for (let o = 1; o < 224; o++) if (o !== 10 && o !== 100 && o !== 127) REMOTE_FIRST_OCTETS.push(o);

/** Remote IPv6 /48s, their first 32 and next 16 bits. */
export const REMOTE_V6_NETWORKS = 64;
const remoteV6Hi = new Uint32Array(REMOTE_V6_NETWORKS);
const remoteV6Mid = new Uint16Array(REMOTE_V6_NETWORKS);
for (let k = 0; k < REMOTE_V6_NETWORKS; k++) {
  remoteV6Hi[k] = ((0x2a << 24) | ((Math.imul(k + 1, 0x9e3779b1) >>> 8) & 0xffffff)) >>> 0;
  remoteV6Mid[k] = Math.imul(k + 1, 0x85eb) & 0xffff;
}

const SERVICE_PORTS = [443, 443, 443, 80, 80, 53, 123, 22, 25, 993, 3478, 8080, 1194, 5060];
const TCP_FLAGS = [0x1b, 0x1b, 0x1a, 0x18, 0x10, 0x02, 0x13, 0x1f];
const TOS = [0, 0, 0, 0, 0x20, 0x48, 0xb8];

/** What writing records needs and what it books: one per generator. */
export class FlowRecordState {
  // Ground truth, indexed by customer.
  readonly bytesIn: Float64Array;
  readonly bytesOut: Float64Array;
  readonly packetsIn: Float64Array;
  readonly packetsOut: Float64Array;
  readonly flows: Float64Array;
  unBytes = 0;
  unPackets = 0;
  unFlows = 0;
  records = 0;
  attributed = 0;
  totalBytes = 0;
  totalPackets = 0;

  constructor(
    readonly rng: Rng,
    /** Over the datagram being built. */
    readonly view: DataView,
    readonly version: 9 | 10,
    /** Customers. */
    readonly n: number,
    /** Indexes of the dual-stack customers. */
    readonly v6Customers: readonly number[],
    readonly ipv6Every: number,
    readonly unattributedShare: number,
    readonly c2cShare: number,
    /** v9 times: sysUptime counts from this (ms since the epoch). */
    readonly bootMs: number,
  ) {
    this.bytesIn = new Float64Array(n);
    this.bytesOut = new Float64Array(n);
    this.packetsIn = new Float64Array(n);
    this.packetsOut = new Float64Array(n);
    this.flows = new Float64Array(n);
  }
}

/** A customer index, skewed: a few customers carry much of the traffic. */
function pickCustomer(g: FlowRecordState): number {
  const u = g.rng.float();
  return Math.floor(u * u * g.n);
}

function pickV6Customer(g: FlowRecordState): number {
  const u = g.rng.float();
  return g.v6Customers[Math.floor(u * u * g.v6Customers.length)]!;
}

function customerV4(g: FlowRecordState, c: number): number {
  return ((10 << 24) | (c << 8) | (1 + g.rng.below(254))) >>> 0;
}

function remoteV4(g: FlowRecordState): number {
  const first = REMOTE_FIRST_OCTETS[g.rng.below(REMOTE_FIRST_OCTETS.length)]!;
  return ((first << 24) | (g.rng.u32() & 0xffffff)) >>> 0;
}

/** Writes a customer's IPv6 address (2001:db8:k::/48 + random host part) at `off`. */
function writeCustomerV6(g: FlowRecordState, off: number, c: number): void {
  const k = c / g.ipv6Every; // customer c is dual-stack: c % g.ipv6Every === 0
  g.view.setUint32(off, 0x20010db8);
  g.view.setUint16(off + 4, k);
  g.view.setUint16(off + 6, g.rng.below(65536));
  g.view.setUint32(off + 8, g.rng.u32());
  g.view.setUint32(off + 12, g.rng.u32());
}

/**
 * A remote IPv6 address in one of REMOTE_V6_NETWORKS /48s of 2a00::/8 (never 2001:db8::/32):
 * IPv6 traffic concentrates on a few big networks, and pmacct 1.7.7 aggregates an IPv6 address
 * outside its networks_file by its own /48, so random /48s would give it one row each.
 */
function writeRemoteV6(g: FlowRecordState, off: number): void {
  const k = g.rng.below(REMOTE_V6_NETWORKS);
  g.view.setUint32(off, remoteV6Hi[k]!);
  g.view.setUint16(off + 4, remoteV6Mid[k]!);
  g.view.setUint16(off + 6, g.rng.below(65536));
  g.view.setUint32(off + 8, g.rng.u32());
  g.view.setUint32(off + 12, g.rng.u32());
}

function setU64(g: FlowRecordState, off: number, value: number): void {
  g.view.setUint32(off, Math.floor(value / 4294967296));
  g.view.setUint32(off + 4, value >>> 0);
}

/**
 * Writes one record at `off` and books it; returns the record length. `srcC`/`dstC` are the
 * customers on each side, -1 for a remote address.
 */
export function writeRecord(
  g: FlowRecordState,
  off: number,
  family: 4 | 6,
  exportSeconds: number,
): number {
  // Who talks to whom.
  let srcC = -1;
  let dstC = -1;
  const roll = g.rng.float();
  const pick = family === 4 ? pickCustomer : pickV6Customer;
  if (roll < g.unattributedShare) {
    // transit: no customer on either side
  } else if (
    roll < g.unattributedShare + g.c2cShare &&
    (family === 4 || g.v6Customers.length > 1)
  ) {
    srcC = pick(g);
    dstC = pick(g);
    if (dstC === srcC) {
      if (family === 4) dstC = (srcC + 1) % g.n;
      else {
        const k = g.v6Customers.indexOf(srcC);
        dstC = g.v6Customers[(k + 1) % g.v6Customers.length]!;
      }
    }
  } else if (g.rng.below(10) < 6) {
    dstC = pick(g); // download
  } else {
    srcC = pick(g); // upload
  }

  // Addresses.
  let at = off;
  if (family === 4) {
    g.view.setUint32(at, srcC >= 0 ? customerV4(g, srcC) : remoteV4(g));
    g.view.setUint32(at + 4, dstC >= 0 ? customerV4(g, dstC) : remoteV4(g));
    at += 8;
  } else {
    if (srcC >= 0) writeCustomerV6(g, at, srcC);
    else writeRemoteV6(g, at);
    if (dstC >= 0) writeCustomerV6(g, at + 16, dstC);
    else writeRemoteV6(g, at + 16);
    at += 32;
  }

  // Ports, protocol, flags, tos: the remote side of a customer flow is the server.
  const p = g.rng.below(100);
  const protocol = p < 80 ? 6 : p < 97 ? 17 : 1;
  const service = SERVICE_PORTS[g.rng.below(SERVICE_PORTS.length)]!;
  const ephemeral = 32768 + g.rng.below(28232);
  const download = dstC >= 0 && srcC < 0;
  g.view.setUint16(at, protocol === 1 ? 0 : download ? service : ephemeral);
  g.view.setUint16(at + 2, protocol === 1 ? 0x0800 : download ? ephemeral : service);
  g.view.setUint8(at + 4, protocol);
  g.view.setUint8(at + 5, protocol === 6 ? TCP_FLAGS[g.rng.below(TCP_FLAGS.length)]! : 0);
  g.view.setUint8(at + 6, TOS[g.rng.below(TOS.length)]!);
  // Interfaces: uplinks 1-4, customer-facing ports 100+.
  const uplink = 1 + g.rng.below(4);
  const access = 100 + ((dstC >= 0 ? dstC : srcC >= 0 ? srcC : 0) % 900);
  g.view.setUint32(at + 7, download ? uplink : access);
  g.view.setUint32(at + 11, download ? access : uplink);
  at += 15;

  // Counters: packet counts skewed (1 to ~1000), sizes 40-1500 bytes.
  const packets = 1 + Math.floor(2 ** (g.rng.float() * 10));
  const bytes = packets * (40 + g.rng.below(1461));
  setU64(g, at, bytes);
  setU64(g, at + 8, packets);
  at += 16;

  // Times: ended up to 2 s before the export, lasted up to 30 s (mostly short).
  const endMs = exportSeconds * 1000 - g.rng.below(2000);
  const d = g.rng.float();
  const startMs = endMs - Math.floor(d * d * d * 30_000);
  if (g.version === 9) {
    g.view.setUint32(at, startMs - g.bootMs);
    g.view.setUint32(at + 4, endMs - g.bootMs);
    at += 8;
  } else {
    setU64(g, at, startMs);
    setU64(g, at + 8, endMs);
    at += 16;
  }

  // Ground truth.
  g.records++;
  g.totalBytes += bytes;
  g.totalPackets += packets;
  if (srcC < 0 && dstC < 0) {
    g.unBytes += bytes;
    g.unPackets += packets;
    g.unFlows++;
  } else {
    g.attributed++;
    if (dstC >= 0) {
      g.bytesIn[dstC] = g.bytesIn[dstC]! + bytes;
      g.packetsIn[dstC] = g.packetsIn[dstC]! + packets;
      g.flows[dstC] = g.flows[dstC]! + 1;
    }
    if (srcC >= 0) {
      g.bytesOut[srcC] = g.bytesOut[srcC]! + bytes;
      g.packetsOut[srcC] = g.packetsOut[srcC]! + packets;
      g.flows[srcC] = g.flows[srcC]! + 1;
    }
  }
  return at - off;
}
