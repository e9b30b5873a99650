/**
 * The state of one bench/packet-capture-generator.ts run: the options' derived values, the
 * random stream, the pool of open flows (struct of arrays, one slot per open flow), the ground
 * truth being summed, and the pcap file being written in chunks. The generator's parts
 * (capture-flows.ts, capture-frame.ts, capture-steps.ts) are functions of it.
 */
import { createRng, type Rng } from "../test/fuzz/mutate.js";
import { createFlowGenerator, type GeneratedCustomer } from "./flow-generator.js";
import type { PacketCaptureOptions } from "./packet-capture-generator.js";

export const REMOTE_FIRST_OCTETS: number[] = [];
for (let o = 1; o < 224; o++) if (o !== 10 && o !== 100 && o !== 127) REMOTE_FIRST_OCTETS.push(o);
export const REMOTE_V6_NETWORKS = 64;
export const TCP_PORTS = [443, 443, 443, 443, 80, 80, 993, 22, 25, 8080, 8443, 5222];
export const TCP_INBOUND_PORTS = [443, 80, 25, 22, 3389, 8080];
export const UDP_PORTS = [443, 443, 3478, 1194, 51820, 4500, 123, 5060];

export const KIND_EMPTY = 0;
export const KIND_TCP = 1;
export const KIND_UDP = 2;
export const KIND_ICMP = 3;

// TCP phases.
export const SYN = 0;
export const SYN_ACK = 1;
export const HS_ACK = 2;
export const REQUEST = 3;
export const RESPONSE = 4;
export const FIN_C = 5;
export const FIN_S = 6;
export const LAST_ACK = 7;

/** The file is handed to `write` in chunks of at most this many bytes. */
export const CHUNK = 4 << 20;

/** The customer list of bench/flow-generator.ts's address plan. */
export function planCustomers(n: number): readonly GeneratedCustomer[] {
  return createFlowGenerator({ seed: 1, customers: n, version: 10, startMs: 0 }).customers;
}

export class CaptureState {
  readonly n: number;
  /** Slots in the pool: flows open at once. */
  readonly K: number;
  readonly snaplen: number;
  /** Share of flows that are IPv6 (0 without dual-stack customers). */
  readonly useV6: number;
  readonly unattributedShare: number;
  readonly c2cShare: number;
  readonly vlanShare: number;
  readonly idleNs: number;
  readonly lingerNs: number;
  readonly rng: Rng;
  readonly below: (n: number) => number;
  readonly float: () => number;
  readonly customers: readonly GeneratedCustomer[];
  readonly v6Customers: number[] = [];
  readonly v6IndexOf: Int32Array;
  readonly remoteV6Hi = new Uint32Array(REMOTE_V6_NETWORKS);
  readonly remoteV6Mid = new Uint16Array(REMOTE_V6_NETWORKS);

  // Ground truth by customer index.
  readonly bytesIn: Float64Array;
  readonly bytesOut: Float64Array;
  readonly packetsIn: Float64Array;
  readonly packetsOut: Float64Array;
  readonly flowsOf: Float64Array;
  unBytes = 0;
  unPackets = 0;
  unFlows = 0;
  ipBytes = 0;
  packets = 0;
  readonly flowCounts = { tcp: 0, udp: 0, icmp: 0, ipv6: 0 };
  flowDirections = 0;

  // The pool: one slot per open flow, struct of arrays.
  readonly kind: Uint8Array;
  readonly v6: Uint8Array;
  readonly vlan: Uint16Array;
  readonly tos: Uint8Array;
  /** Client address (IPv4: word 0). */
  readonly cAddr: Uint32Array;
  /** Server address. */
  readonly sAddr: Uint32Array;
  /** Client's customer index, or -1. */
  readonly cCust: Int32Array;
  readonly sCust: Int32Array;
  readonly cPort: Uint16Array;
  readonly sPort: Uint16Array;
  readonly phase: Uint8Array;
  readonly txLeft: Uint8Array;
  readonly reqLeft: Uint32Array;
  readonly respLeft: Uint32Array;
  readonly unacked: Uint8Array;
  readonly cSeq: Uint32Array;
  readonly sSeq: Uint32Array;
  /** Payload of the last data segment of a burst. */
  readonly lastLen: Uint16Array;
  readonly ipId: Uint16Array;
  /** Bit 0: client → server seen, bit 1: server → client. */
  readonly dirs: Uint8Array;
  open = 0;
  // Finished flows still in a flow table, as expiry times (each queue is in time order).
  readonly idleQueue: number[] = [];
  readonly lingerQueue: number[] = [];

  // The file: a chunk being filled, handed to `write` when full.
  readonly buf = new Uint8Array(CHUNK);
  readonly view = new DataView(this.buf.buffer);
  off = 0;
  fileBytes = 0;
  readonly startSec: number;
  /** The current packet's time: ns since startSec. */
  tNs: number;

  constructor(
    o: PacketCaptureOptions,
    readonly write: (chunk: Uint8Array) => void,
  ) {
    const n = o.customers;
    const K = o.concurrentFlows;
    this.n = n;
    this.K = K;
    this.snaplen = o.snaplen ?? 128;
    const ipv6Share = o.ipv6Share ?? 0.1;
    this.unattributedShare = o.unattributedShare ?? 0.02;
    this.c2cShare = n >= 2 ? (o.customerToCustomerShare ?? 0.02) : 0;
    this.vlanShare = o.vlanShare ?? 0.1;
    this.idleNs = (o.idleTimeoutMs ?? 15_000) * 1e6;
    this.lingerNs = (o.tcpCloseLingerMs ?? 2_000) * 1e6;
    if (!(K >= 1) || !(o.packets >= 1)) throw new RangeError("packets and concurrentFlows >= 1");
    this.rng = createRng(o.seed);
    this.below = this.rng.below;
    this.float = this.rng.float;

    this.customers = planCustomers(n);
    for (const c of this.customers) {
      if (c.ipv6Prefix === undefined) continue;
      const k = this.v6Customers.length;
      const want = k === 0 ? "2001:db8::/48" : `2001:db8:${k.toString(16)}::/48`;
      if (c.ipv6Prefix !== want) throw new Error(`address plan changed: ${c.ipv6Prefix}`);
      this.v6Customers.push(c.index);
    }
    this.useV6 = this.v6Customers.length > 0 ? ipv6Share : 0;
    this.v6IndexOf = new Int32Array(n).fill(-1);
    for (const [k, c] of this.v6Customers.entries()) this.v6IndexOf[c] = k;
    for (let k = 0; k < REMOTE_V6_NETWORKS; k++) {
      this.remoteV6Hi[k] = ((0x2a << 24) | ((Math.imul(k + 1, 0x9e3779b1) >>> 8) & 0xffffff)) >>> 0;
      this.remoteV6Mid[k] = Math.imul(k + 1, 0x85eb) & 0xffff;
    }

    this.bytesIn = new Float64Array(n);
    this.bytesOut = new Float64Array(n);
    this.packetsIn = new Float64Array(n);
    this.packetsOut = new Float64Array(n);
    this.flowsOf = new Float64Array(n);

    this.kind = new Uint8Array(K);
    this.v6 = new Uint8Array(K);
    this.vlan = new Uint16Array(K);
    this.tos = new Uint8Array(K);
    this.cAddr = new Uint32Array(K * 4);
    this.sAddr = new Uint32Array(K * 4);
    this.cCust = new Int32Array(K);
    this.sCust = new Int32Array(K);
    this.cPort = new Uint16Array(K);
    this.sPort = new Uint16Array(K);
    this.phase = new Uint8Array(K);
    this.txLeft = new Uint8Array(K);
    this.reqLeft = new Uint32Array(K);
    this.respLeft = new Uint32Array(K);
    this.unacked = new Uint8Array(K);
    this.cSeq = new Uint32Array(K);
    this.sSeq = new Uint32Array(K);
    this.lastLen = new Uint16Array(K);
    this.ipId = new Uint16Array(K);
    this.dirs = new Uint8Array(K);

    this.startSec = Math.floor(o.startMs / 1000);
    this.tNs = (o.startMs - this.startSec * 1000) * 1e6;
  }
}
