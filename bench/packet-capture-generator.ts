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
 *
 * This file runs the packets' clock, draws the flow of each packet and keeps the
 * table-occupancy estimate; the state is a CaptureState (capture-state.ts), flows begin and
 * end in capture-flows.ts, each kind's next packet is made in capture-steps.ts and written by
 * capture-frame.ts.
 */
import { startFlow } from "./capture-flows.js";
import { flush, writeFileHeader } from "./capture-frame.js";
import { CaptureState, KIND_EMPTY, KIND_TCP, KIND_UDP } from "./capture-state.js";
import { icmpStep, tcpStep, udpStep } from "./capture-steps.js";
import type { TrafficTotals } from "./flow-generator.js";

export { planCustomers } from "./capture-state.js";

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

export function generateCapture(
  o: PacketCaptureOptions,
  write: (chunk: Uint8Array) => void,
): CaptureTruth {
  const g = new CaptureState(o, write);
  const { K, below, float, kind, idleQueue, lingerQueue } = g;
  writeFileHeader(g);
  const stepNs = 1e9 / o.packetsPerSecond;
  let peakOpen = 0;
  let peakTable = 0;
  let idleHead = 0;
  let lingerHead = 0;

  for (let i = 0; i < o.packets; i++) {
    g.tNs += 1 + Math.floor(float() * (2 * stepNs - 1));
    const s = below(K);
    if (kind[s] === KIND_EMPTY) startFlow(g, s);
    const k = kind[s];
    if (k === KIND_TCP) tcpStep(g, s);
    else if (k === KIND_UDP) udpStep(g, s);
    else icmpStep(g, s);
    // Occupancy.
    const tNs = g.tNs;
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
    if (g.open > peakOpen) peakOpen = g.open;
    const table = g.open + idleQueue.length - idleHead + lingerQueue.length - lingerHead;
    if (table > peakTable) peakTable = table;
  }
  flush(g);
  const dirs = g.dirs;
  for (let s = 0; s < K; s++) g.flowDirections += (dirs[s]! & 1) + (dirs[s]! >> 1);

  const totals = new Map<string, TrafficTotals>();
  for (const c of g.customers) {
    const i = c.index;
    totals.set(c.id, {
      bytesIn: g.bytesIn[i]!,
      bytesOut: g.bytesOut[i]!,
      packetsIn: g.packetsIn[i]!,
      packetsOut: g.packetsOut[i]!,
      flows: g.flowsOf[i]!,
    });
  }
  return {
    packets: g.packets,
    ipBytes: g.ipBytes,
    fileBytes: g.fileBytes,
    firstMs: o.startMs,
    lastMs: g.startSec * 1000 + g.tNs / 1e6,
    flows: g.flowCounts,
    peakOpenFlows: peakOpen,
    peakTableFlows: peakTable,
    flowDirections: g.flowDirections,
    customers: totals,
    unattributed: { bytes: g.unBytes, packets: g.unPackets, flows: g.unFlows },
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
