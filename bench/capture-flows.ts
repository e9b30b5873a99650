/**
 * Flows of bench/packet-capture-generator.ts begin and end here: a new flow's kind (TCP 75 %,
 * UDP 23 %, ICMP echo 2 %), family, VLAN, DSCP, who talks to whom and their addresses and
 * ports; a finished flow's directions are counted and its expiry queued for the
 * table-occupancy estimate.
 */
import {
  type CaptureState,
  KIND_EMPTY,
  KIND_ICMP,
  KIND_TCP,
  KIND_UDP,
  REMOTE_FIRST_OCTETS,
  REMOTE_V6_NETWORKS,
  SYN,
  TCP_INBOUND_PORTS,
  TCP_PORTS,
  UDP_PORTS,
} from "./capture-state.js";

const customerV4 = (g: CaptureState, c: number) =>
  ((10 << 24) | (c << 8) | (1 + g.below(254))) >>> 0;
const remoteV4 = (g: CaptureState) =>
  ((REMOTE_FIRST_OCTETS[g.below(REMOTE_FIRST_OCTETS.length)]! << 24) | (g.rng.u32() & 0xffffff)) >>>
  0;
// Customers' traffic is skewed: a few customers carry much of it.
const pickCustomer = (g: CaptureState) => Math.floor(g.n * g.float() ** 2);
const pickV6Customer = (g: CaptureState) =>
  g.v6Customers[Math.floor(g.v6Customers.length * g.float() ** 2)]!;

/** Fills address words at `base` for a customer (returns its index) or a remote (-1). */
function setAddress(
  g: CaptureState,
  a: Uint32Array,
  base: number,
  isV6: boolean,
  customer: number,
): number {
  if (!isV6) {
    a[base] = customer >= 0 ? customerV4(g, customer) : remoteV4(g);
    return customer;
  }
  if (customer >= 0) {
    const k = g.v6IndexOf[customer]!;
    a[base] = 0x20010db8;
    a[base + 1] = ((k << 16) | g.below(256)) >>> 0;
  } else {
    const r = g.below(REMOTE_V6_NETWORKS);
    a[base] = g.remoteV6Hi[r]!;
    a[base + 1] = ((g.remoteV6Mid[r]! << 16) | (g.rng.u32() & 0xffff)) >>> 0;
  }
  a[base + 2] = g.rng.u32();
  a[base + 3] = g.rng.u32() | 1;
  return customer;
}

export function startFlow(g: CaptureState, s: number): void {
  const u = g.float();
  const k = u < 0.75 ? KIND_TCP : u < 0.98 ? KIND_UDP : KIND_ICMP;
  const isV6 = g.float() < g.useV6;
  g.kind[s] = k;
  g.v6[s] = isV6 ? 1 : 0;
  g.vlan[s] = g.float() < g.vlanShare ? 100 + g.below(100) : 0;
  g.tos[s] = g.float() < 0.9 ? 0 : 0xb8;
  const pick = isV6 ? pickV6Customer : pickCustomer;
  // Who is where: customer ↔ remote, customer ↔ customer, remote ↔ remote.
  const w = g.float();
  let client: number;
  let server: number;
  if (w < g.unattributedShare) {
    client = -1;
    server = -1;
  } else if (w < g.unattributedShare + g.c2cShare) {
    client = pick(g);
    server = pick(g);
  } else if (k === KIND_TCP && g.float() < 0.15) {
    client = -1;
    server = pick(g);
  } else {
    client = pick(g);
    server = -1;
  }
  g.cCust[s] = setAddress(g, g.cAddr, s * 4, isV6, client);
  g.sCust[s] = setAddress(g, g.sAddr, s * 4, isV6, server);
  g.cPort[s] = 1024 + g.below(64512);
  g.ipId[s] = g.rng.u32() & 0xffff;
  if (k === KIND_TCP) {
    g.sPort[s] =
      server >= 0 && client < 0
        ? TCP_INBOUND_PORTS[g.below(TCP_INBOUND_PORTS.length)]!
        : TCP_PORTS[g.below(TCP_PORTS.length)]!;
    g.phase[s] = SYN;
    g.txLeft[s] = 1 + (g.float() < 0.3 ? 1 + g.below(2) : 0);
    g.cSeq[s] = g.rng.u32();
    g.sSeq[s] = g.rng.u32();
    g.unacked[s] = 0;
    g.flowCounts.tcp++;
  } else if (k === KIND_UDP) {
    const dns = g.float() < 0.45;
    g.sPort[s] = dns ? 53 : UDP_PORTS[g.below(UDP_PORTS.length)]!;
    g.respLeft[s] = dns ? 2 : 5 + Math.floor(395 * g.float() ** 3);
    g.phase[s] = dns ? 1 : 0; // 1: DNS (query then answer)
    g.flowCounts.udp++;
  } else {
    g.sPort[s] = 0;
    g.cPort[s] = g.rng.u32() & 0xffff; // echo identifier
    g.respLeft[s] = 2 * (1 + g.below(4));
    g.cSeq[s] = 0;
    g.flowCounts.icmp++;
  }
  if (isV6) g.flowCounts.ipv6++;
  if (client >= 0) g.flowsOf[client]!++;
  if (server >= 0 && server !== client) g.flowsOf[server]!++;
  if (client < 0 && server < 0) g.unFlows++;
  g.open++;
}

export function endFlow(g: CaptureState, s: number, nowNs: number): void {
  g.flowDirections += (g.dirs[s]! & 1) + (g.dirs[s]! >> 1);
  g.dirs[s] = 0;
  if (g.kind[s] === KIND_TCP) g.lingerQueue.push(nowNs + g.lingerNs);
  else {
    g.idleQueue.push(nowNs + g.idleNs);
    if (g.kind[s] === KIND_ICMP) g.idleQueue.push(nowNs + g.idleNs);
  }
  g.kind[s] = KIND_EMPTY;
  g.open--;
}
