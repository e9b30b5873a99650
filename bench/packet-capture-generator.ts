/**
 * A seeded capture-file generator for the packet-path benchmark: what a monitoring box on an
 * ISP's upstream link would record, as a nanosecond pcap (Ethernet, some 802.1Q-tagged frames,
 * IPv4 and IPv6, snap length 128 by default), for the customers of bench/flow-generator.ts's
 * address plan (customer i: 10.(i>>8).(i&255).0/24, every 10th also 2001:db8:k::/48).
 *
 * Traffic: a pool of `concurrentFlows` open flows; each packet comes from a flow drawn
 * uniformly from the pool, and a finished flow's slot starts a new one, so about that many
 * flows are open at once once the pool has filled. Flows are
 * - TCP (75 %): handshake (SYN with options, SYN-ACK, ACK), 1–3 request/response transactions
 *   (sequence and acknowledgement numbers consistent, an ACK every second data segment, PSH on
 *   the last one), then FIN, FIN, ACK. Response sizes are heavy-tailed (most a few segments,
 *   2 % hundreds to thousands); 5 % of connections upload instead. 85 % are opened by the
 *   customer to a remote server (443, 80, ...), 15 % by a remote client to a customer.
 * - UDP (23 %): DNS (a query and an answer) or longer exchanges (QUIC-like, 5–400 packets,
 *   mostly server → client).
 * - ICMP echo (2 %): 1–4 request/reply pairs.
 * Between customer and remote (96 %), customer to customer (2 %) or remote to remote (2 %); a
 * flow is IPv6 with probability `ipv6Share` (between dual-stack customers and remote /48s).
 * Short frames are padded to 60 bytes as on the wire: only the IP total length says the size.
 *
 * Ground truth, kept as flowtally attributes bytes: IP-layer bytes (the IP total length) and
 * packets, `in` when the destination is in the customer's prefix, `out` when the source is;
 * customer-to-customer packets count for both, remote-to-remote ones are unattributed.
 *
 * Pure apart from the `write` callback that receives the file in chunks (a reused buffer: copy
 * or write it out before returning). Same options, same bytes.
 */
import { createRng } from "../test/fuzz/mutate.js";
import {
  createFlowGenerator,
  type GeneratedCustomer,
  type TrafficTotals,
} from "./flow-generator.js";

export interface PacketCaptureOptions {
  seed: number;
  /** Customers (at most 65536), as in bench/flow-generator.ts. */
  customers: number;
  /** Packets in the file. */
  packets: number;
  /** Flows open at once once the pool has filled. */
  concurrentFlows: number;
  /** Capture-time packet rate: timestamps advance by 1e9 / this ns per packet on average. */
  packetsPerSecond: number;
  /** Time of the first packet, ms since the epoch. */
  startMs: number;
  /** Snap length (default 128). */
  snaplen?: number;
  /** Share of flows that are IPv6 (default 0.1). */
  ipv6Share?: number;
  /** Share of flows between two remote addresses (default 0.02). */
  unattributedShare?: number;
  /** Share of flows between two customers (default 0.02). */
  customerToCustomerShare?: number;
  /** Share of flows whose frames carry an 802.1Q tag (default 0.1). */
  vlanShare?: number;
  /** For the table-occupancy estimate: flowtally's idle timeout and TCP close linger. */
  idleTimeoutMs?: number;
  tcpCloseLingerMs?: number;
}

export interface CaptureTruth {
  packets: number;
  /** Sum of IP total lengths. */
  ipBytes: number;
  fileBytes: number;
  firstMs: number;
  lastMs: number;
  /** Flows started, by kind. */
  flows: { tcp: number; udp: number; icmp: number; ipv6: number };
  /** Most flows open at once (started, not finished). */
  peakOpenFlows: number;
  /**
   * Most entries a flow table would hold at once: open flows, plus finished UDP/ICMP flows until
   * their idle timeout and closed TCP connections until their linger (ICMP echo: two entries).
   */
  peakTableFlows: number;
  /**
   * Directions with traffic summed over flows (ICMP echo: request and reply): the flow records a
   * flow table emits when nothing is evicted, split by a timeout or merged by a reused 5-tuple.
   */
  flowDirections: number;
  /** Customer id → totals (`flows`: flows the customer took part in). */
  customers: Map<string, TrafficTotals>;
  unattributed: { bytes: number; packets: number; flows: number };
}

/** The customer list of bench/flow-generator.ts's address plan. */
export function planCustomers(n: number): readonly GeneratedCustomer[] {
  return createFlowGenerator({ seed: 1, customers: n, version: 10, startMs: 0 }).customers;
}

const REMOTE_FIRST_OCTETS: number[] = [];
for (let o = 1; o < 224; o++) if (o !== 10 && o !== 100 && o !== 127) REMOTE_FIRST_OCTETS.push(o);
const REMOTE_V6_NETWORKS = 64;
const TCP_PORTS = [443, 443, 443, 443, 80, 80, 993, 22, 25, 8080, 8443, 5222];
const TCP_INBOUND_PORTS = [443, 80, 25, 22, 3389, 8080];
const UDP_PORTS = [443, 443, 3478, 1194, 51820, 4500, 123, 5060];

const KIND_EMPTY = 0;
const KIND_TCP = 1;
const KIND_UDP = 2;
const KIND_ICMP = 3;

// TCP phases.
const SYN = 0;
const SYN_ACK = 1;
const HS_ACK = 2;
const REQUEST = 3;
const RESPONSE = 4;
const FIN_C = 5;
const FIN_S = 6;
const LAST_ACK = 7;

const CHUNK = 4 << 20;

export function generateCapture(
  o: PacketCaptureOptions,
  write: (chunk: Uint8Array) => void,
): CaptureTruth {
  const n = o.customers;
  const K = o.concurrentFlows;
  const snaplen = o.snaplen ?? 128;
  const ipv6Share = o.ipv6Share ?? 0.1;
  const unattributedShare = o.unattributedShare ?? 0.02;
  const c2cShare = n >= 2 ? (o.customerToCustomerShare ?? 0.02) : 0;
  const vlanShare = o.vlanShare ?? 0.1;
  const idleNs = (o.idleTimeoutMs ?? 15_000) * 1e6;
  const lingerNs = (o.tcpCloseLingerMs ?? 2_000) * 1e6;
  if (!(K >= 1) || !(o.packets >= 1)) throw new RangeError("packets and concurrentFlows >= 1");
  const rng = createRng(o.seed);
  const below = rng.below;
  const float = rng.float;

  const customers = planCustomers(n);
  const v6Customers: number[] = [];
  for (const c of customers) {
    if (c.ipv6Prefix === undefined) continue;
    const k = v6Customers.length;
    const want = k === 0 ? "2001:db8::/48" : `2001:db8:${k.toString(16)}::/48`;
    if (c.ipv6Prefix !== want) throw new Error(`address plan changed: ${c.ipv6Prefix}`);
    v6Customers.push(c.index);
  }
  const useV6 = v6Customers.length > 0 ? ipv6Share : 0;
  const v6IndexOf = new Int32Array(n).fill(-1);
  for (const [k, c] of v6Customers.entries()) v6IndexOf[c] = k;
  const remoteV6Hi = new Uint32Array(REMOTE_V6_NETWORKS);
  const remoteV6Mid = new Uint16Array(REMOTE_V6_NETWORKS);
  for (let k = 0; k < REMOTE_V6_NETWORKS; k++) {
    remoteV6Hi[k] = ((0x2a << 24) | ((Math.imul(k + 1, 0x9e3779b1) >>> 8) & 0xffffff)) >>> 0;
    remoteV6Mid[k] = Math.imul(k + 1, 0x85eb) & 0xffff;
  }

  // Ground truth by customer index.
  const bytesIn = new Float64Array(n);
  const bytesOut = new Float64Array(n);
  const packetsIn = new Float64Array(n);
  const packetsOut = new Float64Array(n);
  const flowsOf = new Float64Array(n);
  let unBytes = 0;
  let unPackets = 0;
  let unFlows = 0;

  // The pool: one slot per open flow, struct of arrays.
  const kind = new Uint8Array(K);
  const v6 = new Uint8Array(K);
  const vlan = new Uint16Array(K);
  const tos = new Uint8Array(K);
  const cAddr = new Uint32Array(K * 4); // client address (IPv4: word 0)
  const sAddr = new Uint32Array(K * 4); // server address
  const cCust = new Int32Array(K); // client's customer index, or -1
  const sCust = new Int32Array(K);
  const cPort = new Uint16Array(K);
  const sPort = new Uint16Array(K);
  const phase = new Uint8Array(K);
  const txLeft = new Uint8Array(K);
  const reqLeft = new Uint32Array(K);
  const respLeft = new Uint32Array(K);
  const unacked = new Uint8Array(K);
  const cSeq = new Uint32Array(K);
  const sSeq = new Uint32Array(K);
  const lastLen = new Uint16Array(K); // payload of the last data segment of a burst
  const ipId = new Uint16Array(K);
  const dirs = new Uint8Array(K); // bit 0: client → server seen, bit 1: server → client
  let flowDirections = 0;

  const buf = new Uint8Array(CHUNK);
  const view = new DataView(buf.buffer);
  let off = 0;
  let fileBytes = 0;
  const flush = () => {
    if (off > 0) write(buf.subarray(0, off));
    fileBytes += off;
    off = 0;
  };

  // pcap global header, nanosecond timestamps, little-endian.
  view.setUint32(0, 0xa1b23c4d, true);
  view.setUint16(4, 2, true);
  view.setUint16(6, 4, true);
  view.setInt32(8, 0, true);
  view.setUint32(12, 0, true);
  view.setUint32(16, snaplen, true);
  view.setUint32(20, 1, true); // LINKTYPE_ETHERNET
  off = 24;

  const startSec = Math.floor(o.startMs / 1000);
  let tNs = (o.startMs - startSec * 1000) * 1e6;
  const stepNs = 1e9 / o.packetsPerSecond;
  let ipBytes = 0;
  let packets = 0;
  const flowCounts = { tcp: 0, udp: 0, icmp: 0, ipv6: 0 };
  let open = 0;
  let peakOpen = 0;
  let peakTable = 0;
  // Finished flows still in a flow table, as expiry times (each queue is in time order).
  const idleQueue: number[] = [];
  let idleHead = 0;
  const lingerQueue: number[] = [];
  let lingerHead = 0;

  // ---- addresses

  const customerV4 = (c: number) => ((10 << 24) | (c << 8) | (1 + below(254))) >>> 0;
  const remoteV4 = () =>
    ((REMOTE_FIRST_OCTETS[below(REMOTE_FIRST_OCTETS.length)]! << 24) | (rng.u32() & 0xffffff)) >>>
    0;
  // Customers' traffic is skewed: a few customers carry much of it.
  const pickCustomer = () => Math.floor(n * float() ** 2);
  const pickV6Customer = () => v6Customers[Math.floor(v6Customers.length * float() ** 2)]!;

  /** Fills address words at `base` for a customer (returns its index) or a remote (-1). */
  function setAddress(a: Uint32Array, base: number, isV6: boolean, customer: number): number {
    if (!isV6) {
      a[base] = customer >= 0 ? customerV4(customer) : remoteV4();
      return customer;
    }
    if (customer >= 0) {
      const k = v6IndexOf[customer]!;
      a[base] = 0x20010db8;
      a[base + 1] = ((k << 16) | below(256)) >>> 0;
    } else {
      const r = below(REMOTE_V6_NETWORKS);
      a[base] = remoteV6Hi[r]!;
      a[base + 1] = ((remoteV6Mid[r]! << 16) | (rng.u32() & 0xffff)) >>> 0;
    }
    a[base + 2] = rng.u32();
    a[base + 3] = rng.u32() | 1;
    return customer;
  }

  function responsePackets(): number {
    const u = float();
    if (u < 0.73) return 1 + below(8);
    if (u < 0.98) return 10 + below(51);
    return 100 + Math.floor(1900 * float() ** 2);
  }

  function startFlow(s: number): void {
    const u = float();
    const k = u < 0.75 ? KIND_TCP : u < 0.98 ? KIND_UDP : KIND_ICMP;
    const isV6 = float() < useV6;
    kind[s] = k;
    v6[s] = isV6 ? 1 : 0;
    vlan[s] = float() < vlanShare ? 100 + below(100) : 0;
    tos[s] = float() < 0.9 ? 0 : 0xb8;
    const pick = isV6 ? pickV6Customer : pickCustomer;
    // Who is where: customer ↔ remote, customer ↔ customer, remote ↔ remote.
    const w = float();
    let client: number;
    let server: number;
    if (w < unattributedShare) {
      client = -1;
      server = -1;
    } else if (w < unattributedShare + c2cShare) {
      client = pick();
      server = pick();
    } else if (k === KIND_TCP && float() < 0.15) {
      client = -1;
      server = pick();
    } else {
      client = pick();
      server = -1;
    }
    cCust[s] = setAddress(cAddr, s * 4, isV6, client);
    sCust[s] = setAddress(sAddr, s * 4, isV6, server);
    cPort[s] = 1024 + below(64512);
    ipId[s] = rng.u32() & 0xffff;
    if (k === KIND_TCP) {
      sPort[s] =
        server >= 0 && client < 0
          ? TCP_INBOUND_PORTS[below(TCP_INBOUND_PORTS.length)]!
          : TCP_PORTS[below(TCP_PORTS.length)]!;
      phase[s] = SYN;
      txLeft[s] = 1 + (float() < 0.3 ? 1 + below(2) : 0);
      cSeq[s] = rng.u32();
      sSeq[s] = rng.u32();
      unacked[s] = 0;
      flowCounts.tcp++;
    } else if (k === KIND_UDP) {
      const dns = float() < 0.45;
      sPort[s] = dns ? 53 : UDP_PORTS[below(UDP_PORTS.length)]!;
      respLeft[s] = dns ? 2 : 5 + Math.floor(395 * float() ** 3);
      phase[s] = dns ? 1 : 0; // 1: DNS (query then answer)
      flowCounts.udp++;
    } else {
      sPort[s] = 0;
      cPort[s] = rng.u32() & 0xffff; // echo identifier
      respLeft[s] = 2 * (1 + below(4));
      cSeq[s] = 0;
      flowCounts.icmp++;
    }
    if (isV6) flowCounts.ipv6++;
    if (client >= 0) flowsOf[client]!++;
    if (server >= 0 && server !== client) flowsOf[server]!++;
    if (client < 0 && server < 0) unFlows++;
    open++;
  }

  function endFlow(s: number, nowNs: number): void {
    flowDirections += (dirs[s]! & 1) + (dirs[s]! >> 1);
    dirs[s] = 0;
    if (kind[s] === KIND_TCP) lingerQueue.push(nowNs + lingerNs);
    else {
      idleQueue.push(nowNs + idleNs);
      if (kind[s] === KIND_ICMP) idleQueue.push(nowNs + idleNs);
    }
    kind[s] = KIND_EMPTY;
    open--;
  }

  /**
   * Writes one frame of slot `s`. `l4` is the transport header length, `payload` the bytes
   * after it (not captured beyond the snap length). TCP: `flags`, `seq`, `ack`; ICMP: `flags`
   * is the type, `seq` the echo sequence number.
   */
  function frame(
    s: number,
    fromClient: boolean,
    l4: number,
    payload: number,
    flags: number,
    seq: number,
    ack: number,
  ): void {
    const isV6 = v6[s] === 1;
    const tag = vlan[s]!;
    const ipHeader = isV6 ? 40 : 20;
    const ipLen = ipHeader + l4 + payload;
    const eth = tag === 0 ? 14 : 18;
    const origLen = Math.max(eth + ipLen, tag === 0 ? 60 : 64);
    const capLen = Math.min(origLen, snaplen);
    if (off + 16 + capLen > CHUNK) flush();
    const sec = startSec + Math.floor(tNs / 1e9);
    view.setUint32(off, sec, true);
    view.setUint32(off + 4, tNs % 1e9, true);
    view.setUint32(off + 8, capLen, true);
    view.setUint32(off + 12, origLen, true);
    let p = off + 16;
    buf.fill(0, p, p + capLen);
    const end = p + capLen;
    // Ethernet: the router's and the customer side's MACs.
    view.setUint32(p, 0x02000000, false);
    view.setUint16(p + 4, fromClient ? 1 : 2, false);
    view.setUint32(p + 6, 0x02000000, false);
    view.setUint16(p + 10, fromClient ? 2 : 1, false);
    p += 12;
    if (tag !== 0) {
      view.setUint16(p, 0x8100, false);
      view.setUint16(p + 2, tag, false);
      p += 4;
    }
    view.setUint16(p, isV6 ? 0x86dd : 0x0800, false);
    p += 2;
    const k = kind[s]!;
    const proto = k === KIND_TCP ? 6 : k === KIND_UDP ? 17 : isV6 ? 58 : 1;
    const src = fromClient ? cAddr : sAddr;
    const dst = fromClient ? sAddr : cAddr;
    const b = s * 4;
    if (!isV6) {
      view.setUint16(p, 0x4500 | tos[s]!, false);
      view.setUint16(p + 2, ipLen, false);
      const id = (ipId[s]! + 1) & 0xffff;
      ipId[s] = id;
      view.setUint16(p + 4, id, false);
      view.setUint16(p + 6, 0x4000, false);
      view.setUint16(p + 8, (64 << 8) | proto, false);
      view.setUint32(p + 12, src[b]!, false);
      view.setUint32(p + 16, dst[b]!, false);
      let sum = 0;
      for (let i = 0; i < 20; i += 2) sum += view.getUint16(p + i, false);
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      view.setUint16(p + 10, ~sum & 0xffff, false);
      p += 20;
    } else {
      view.setUint32(p, (0x6 << 28) | (tos[s]! << 20), false);
      view.setUint16(p + 4, ipLen - 40, false);
      view.setUint16(p + 6, (proto << 8) | 64, false);
      for (let i = 0; i < 4; i++) {
        view.setUint32(p + 8 + 4 * i, src[b + i]!, false);
        view.setUint32(p + 24 + 4 * i, dst[b + i]!, false);
      }
      p += 40;
    }
    const sp = fromClient ? cPort[s]! : sPort[s]!;
    const dp = fromClient ? sPort[s]! : cPort[s]!;
    if (proto === 6) {
      view.setUint16(p, sp, false);
      view.setUint16(p + 2, dp, false);
      view.setUint32(p + 4, seq, false);
      view.setUint32(p + 8, ack, false);
      view.setUint16(p + 12, ((l4 / 4) << 12) | flags, false);
      view.setUint16(p + 14, 0xffff, false);
      if (l4 > 20 && p + 40 <= end) {
        // MSS, SACK permitted, timestamps, NOP, window scale.
        view.setUint32(p + 20, 0x02040000 | (isV6 ? 1440 : 1460), false);
        view.setUint16(p + 24, 0x0402, false);
        view.setUint16(p + 26, 0x080a, false);
        view.setUint32(p + 28, (tNs / 1e6) >>> 0, false);
        view.setUint32(p + 36, 0x01030307, false);
      }
    } else if (proto === 17) {
      view.setUint16(p, sp, false);
      view.setUint16(p + 2, dp, false);
      view.setUint16(p + 4, 8 + payload, false);
    } else {
      // ICMP / ICMPv6 echo: type, code, checksum, identifier, sequence.
      buf[p] = flags;
      view.setUint16(p + 4, cPort[s]!, false);
      view.setUint16(p + 6, seq, false);
    }
    off += 16 + capLen;
    dirs[s]! |= fromClient ? 1 : 2;

    // Ground truth.
    const from = fromClient ? cCust[s]! : sCust[s]!;
    const to = fromClient ? sCust[s]! : cCust[s]!;
    if (to >= 0) {
      bytesIn[to]! += ipLen;
      packetsIn[to]!++;
    }
    if (from >= 0) {
      bytesOut[from]! += ipLen;
      packetsOut[from]!++;
    }
    if (from < 0 && to < 0) {
      unBytes += ipLen;
      unPackets++;
    }
    ipBytes += ipLen;
    packets++;
  }

  /** One data segment of a burst: full-sized but the last. */
  function segment(s: number, fromClient: boolean, left: number): void {
    const mss = v6[s] === 1 ? 1440 : 1460;
    const len = left === 1 ? lastLen[s]! : mss;
    const flags = left === 1 ? 0x18 : 0x10;
    if (fromClient) {
      frame(s, true, 20, len, flags, cSeq[s]!, sSeq[s]!);
      cSeq[s] = (cSeq[s]! + len) >>> 0;
    } else {
      frame(s, false, 20, len, flags, sSeq[s]!, cSeq[s]!);
      sSeq[s] = (sSeq[s]! + len) >>> 0;
    }
    unacked[s]!++;
  }

  function startTransaction(s: number): void {
    const upload = float() < 0.05;
    reqLeft[s] = upload ? responsePackets() : 1 + (float() < 0.1 ? below(3) : 0);
    respLeft[s] = upload ? 1 : responsePackets();
    lastLen[s] = 100 + below(700);
    unacked[s] = 0;
  }

  /** The next packet of TCP slot `s`. */
  function tcpStep(s: number): void {
    switch (phase[s]) {
      case SYN:
        frame(s, true, 40, 0, 0x02, cSeq[s]!, 0);
        cSeq[s] = (cSeq[s]! + 1) >>> 0;
        phase[s] = SYN_ACK;
        return;
      case SYN_ACK:
        frame(s, false, 40, 0, 0x12, sSeq[s]!, cSeq[s]!);
        sSeq[s] = (sSeq[s]! + 1) >>> 0;
        phase[s] = HS_ACK;
        return;
      case HS_ACK:
        frame(s, true, 20, 0, 0x10, cSeq[s]!, sSeq[s]!);
        startTransaction(s);
        phase[s] = REQUEST;
        return;
      case REQUEST:
        if (unacked[s]! >= 2) {
          frame(s, false, 20, 0, 0x10, sSeq[s]!, cSeq[s]!);
          unacked[s] = 0;
          return;
        }
        segment(s, true, reqLeft[s]! === 1 ? 1 : 2);
        if (--reqLeft[s]! === 0) {
          phase[s] = RESPONSE;
          unacked[s] = 0; // the response acknowledges the request
          lastLen[s] = 200 + below(1200);
        }
        return;
      case RESPONSE:
        if (unacked[s]! >= 2) {
          frame(s, true, 20, 0, 0x10, cSeq[s]!, sSeq[s]!);
          unacked[s] = 0;
          return;
        }
        if (respLeft[s]! > 0) {
          segment(s, false, respLeft[s]!);
          respLeft[s]!--;
          return;
        }
        // Response done: the client's (delayed) ACK, then another transaction or the close.
        frame(s, true, 20, 0, 0x10, cSeq[s]!, sSeq[s]!);
        if (--txLeft[s]! > 0) {
          startTransaction(s);
          phase[s] = REQUEST;
        } else phase[s] = FIN_C;
        return;
      case FIN_C:
        frame(s, true, 20, 0, 0x11, cSeq[s]!, sSeq[s]!);
        cSeq[s] = (cSeq[s]! + 1) >>> 0;
        phase[s] = FIN_S;
        return;
      case FIN_S:
        frame(s, false, 20, 0, 0x11, sSeq[s]!, cSeq[s]!);
        sSeq[s] = (sSeq[s]! + 1) >>> 0;
        phase[s] = LAST_ACK;
        return;
      default:
        frame(s, true, 20, 0, 0x10, cSeq[s]!, sSeq[s]!);
        endFlow(s, tNs);
    }
  }

  function udpStep(s: number): void {
    if (phase[s] === 1) {
      // DNS: a query, then the answer.
      if (respLeft[s] === 2) frame(s, true, 8, 20 + below(40), 0, 0, 0);
      else frame(s, false, 8, 60 + below(440), 0, 0, 0);
    } else if (float() < 0.2) frame(s, true, 8, 30 + below(100), 0, 0, 0);
    else frame(s, false, 8, 1000 + below(350), 0, 0, 0);
    if (--respLeft[s]! === 0) endFlow(s, tNs);
  }

  function icmpStep(s: number): void {
    const request = respLeft[s]! % 2 === 0;
    const isV6 = v6[s] === 1;
    const type = request ? (isV6 ? 128 : 8) : isV6 ? 129 : 0;
    frame(s, request, 8, 56, type, cSeq[s]!, 0);
    if (!request) cSeq[s]!++;
    if (--respLeft[s]! === 0) endFlow(s, tNs);
  }

  for (let i = 0; i < o.packets; i++) {
    tNs += 1 + Math.floor(float() * (2 * stepNs - 1));
    const s = below(K);
    if (kind[s] === KIND_EMPTY) startFlow(s);
    const k = kind[s];
    if (k === KIND_TCP) tcpStep(s);
    else if (k === KIND_UDP) udpStep(s);
    else icmpStep(s);
    // Occupancy.
    while (idleHead < idleQueue.length && idleQueue[idleHead]! <= tNs) idleHead++;
    while (lingerHead < lingerQueue.length && lingerQueue[lingerHead]! <= tNs) lingerHead++;
    if (idleHead > 1 << 20) {
      idleQueue.splice(0, idleHead);
      idleHead = 0;
    }
    if (lingerHead > 1 << 20) {
      lingerQueue.splice(0, lingerHead);
      lingerHead = 0;
    }
    if (open > peakOpen) peakOpen = open;
    const table = open + idleQueue.length - idleHead + lingerQueue.length - lingerHead;
    if (table > peakTable) peakTable = table;
  }
  flush();
  for (let s = 0; s < K; s++) flowDirections += (dirs[s]! & 1) + (dirs[s]! >> 1);

  const totals = new Map<string, TrafficTotals>();
  for (const c of customers) {
    const i = c.index;
    totals.set(c.id, {
      bytesIn: bytesIn[i]!,
      bytesOut: bytesOut[i]!,
      packetsIn: packetsIn[i]!,
      packetsOut: packetsOut[i]!,
      flows: flowsOf[i]!,
    });
  }
  return {
    packets,
    ipBytes,
    fileBytes,
    firstMs: o.startMs,
    lastMs: startSec * 1000 + tNs / 1e6,
    flows: flowCounts,
    peakOpenFlows: peakOpen,
    peakTableFlows: peakTable,
    flowDirections,
    customers: totals,
    unattributed: { bytes: unBytes, packets: unPackets, flows: unFlows },
  };
}

/** The truth as JSON (customers as an object), and back. */
export function truthToJson(t: CaptureTruth): string {
  return JSON.stringify({ ...t, customers: Object.fromEntries(t.customers) });
}

export function truthFromJson(text: string): CaptureTruth {
  const o = JSON.parse(text) as Omit<CaptureTruth, "customers"> & {
    customers: Record<string, TrafficTotals>;
  };
  return { ...o, customers: new Map(Object.entries(o.customers)) };
}
