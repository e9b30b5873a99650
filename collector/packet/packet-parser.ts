/**
 * The packet parser: link layer (Ethernet with 802.1Q/802.1ad/0x9100 tags, MPLS, PPPoE
 * session; Linux SLL and SLL2; BSD loopback; raw IP), IPv4, IPv6 with extension headers, TCP,
 * UDP, UDP-Lite, SCTP, ICMP and ICMPv6, and one level of VXLAN, GRE and ERSPAN
 * decapsulation. What it understands and what flowtally counts is in docs/packets.md.
 *
 * Pure and allocation-free: it fills a caller-owned {@link PacketInfo}, reads bytes directly
 * after explicit bounds checks (no DataView, strings or closures per packet), never throws,
 * and its work per packet is bounded (tags, labels, extension headers and tunnel depth are
 * capped).
 */
import {
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ETHERTYPE_QINQ,
  ETHERTYPE_QINQ_OLD,
  ETHERTYPE_VLAN,
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
  LINKTYPE_RAW_ALT,
  LINKTYPE_RAW_OPENBSD,
  MAX_VLAN_TAGS,
} from "../capture/link-types.js";
import type { PacketInfo, PacketResult } from "./packet-info.js";

export {
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
  LINKTYPE_RAW_ALT,
  LINKTYPE_RAW_OPENBSD,
  MAX_VLAN_TAGS,
} from "../capture/link-types.js";

/** At most this many MPLS labels are skipped; a deeper stack is "not-ip". */
export const MAX_MPLS_LABELS = 8;
/** At most this many IPv6 extension headers are walked; a longer chain is "malformed". */
export const MAX_IPV6_EXTENSION_HEADERS = 8;
/** The UDP destination port that announces VXLAN (RFC 7348). */
export const VXLAN_PORT = 4789;

const ETHERTYPE_MPLS_UNICAST = 0x8847;
const ETHERTYPE_MPLS_MULTICAST = 0x8848;
const ETHERTYPE_PPPOE_SESSION = 0x8864;
// GRE protocol types that are not EtherTypes of IP.
const GRE_TRANSPARENT_ETHERNET = 0x6558;
const GRE_ERSPAN_2 = 0x88be;
const GRE_ERSPAN_3 = 0x22eb;

const PPP_IPV4 = 0x0021;
const PPP_IPV6 = 0x0057;

const AF_INET = 2;
// AF_INET6 differs per OS: Linux, NetBSD/OpenBSD, FreeBSD, Darwin.
const AF_INET6_LINUX = 10;
const AF_INET6_BSD = 24;
const AF_INET6_FREEBSD = 28;
const AF_INET6_DARWIN = 30;

const IPPROTO_HOPOPTS = 0;
const IPPROTO_ICMP = 1;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPPROTO_ROUTING = 43;
const IPPROTO_FRAGMENT = 44;
const IPPROTO_GRE = 47;
const IPPROTO_ESP = 50;
const IPPROTO_AH = 51;
const IPPROTO_ICMPV6 = 58;
const IPPROTO_DSTOPTS = 60;
const IPPROTO_MOBILITY = 135;
const IPPROTO_HIP = 139;
const IPPROTO_SHIM6 = 140;
const IPPROTO_SCTP = 132;
const IPPROTO_UDPLITE = 136;

/** A step's outcome: a final result, "ip" (go on to the IP header) or "decap" (a tunnel). */
type Step = PacketResult | "ip" | "decap";

// Where the link layer put the IP header and the version it announced (0: read it from the
// header), and where a tunnel's inner packet starts. Module state rather than result objects,
// so that nothing is allocated per packet; parsePacket is synchronous, so this is safe.
let ipAt = 0;
let ipWant = 0;
let innerAt = 0;
/** How the inner packet starts: an EtherType (0x0800, 0x86dd, 0x8847...) or 0 for Ethernet. */
let innerType = 0;
/** Ethernet pseudowires entered in this packet (at most one: bounds the recursion). */
let pseudowires = 0;
/** Where the frame ends in the bytes given to parsePacket. */
let frameEnd = 0;

/**
 * Parses `frame` (whose link layer is the pcap LINKTYPE `linkType`) into `out`, which is reset
 * first. Never throws, never reads outside `frame`. Count the packet whenever
 * `out.ipVersion !== 0`, whatever the result: the IP header was read, so `ipLength` and the
 * addresses are valid (see {@link PacketResult} for the rest).
 *
 * The frame may also be `bytes[start, end)` of a larger array (a capture file's chunk): then
 * nothing is read outside that range, and the offsets in `out` (`ipOffset`,
 * `transportOffset`) are offsets in `bytes`. This spares a view per packet on the hot path.
 */
export function parsePacket(
  bytes: Uint8Array,
  linkType: number,
  out: PacketInfo,
  start = 0,
  end: number = bytes.byteLength,
): PacketResult {
  out.reset();
  frameEnd = end;
  const result = parseFrame(bytes, start, linkType, out, true);
  if (result !== "decap") return final(result);
  const inner = decapsulate(bytes, out);
  if (out.ipVersion !== 0) return final(inner);
  // The inner packet is not IP or its IP header is not in the frame: the outer packet is the
  // flow, as if it had not been a tunnel.
  out.reset();
  return final(parseFrame(bytes, start, linkType, out, false));
}

/** "ip" and "decap" never come out of a complete parse; mapped for the type checker. */
function final(step: Step): PacketResult {
  return step === "ip" || step === "decap" ? "malformed" : step;
}

function parseFrame(
  frame: Uint8Array,
  start: number,
  linkType: number,
  out: PacketInfo,
  decap: boolean,
): Step {
  const end = frameEnd;
  const link = linkLayer(frame, linkType, start, end, out);
  if (link !== "ip") return link;
  return ip(frame, ipAt, ipWant, end, out, decap);
}

/** Moves the outer IP fields to `outer*` and parses the inner packet that `innerAt` points at. */
function decapsulate(b: Uint8Array, out: PacketInfo): Step {
  const outerIpEnd = out.ipOffset + out.ipLength;
  const end = outerIpEnd < frameEnd ? outerIpEnd : frameEnd;
  out.outerIpVersion = out.ipVersion;
  out.outerSrc4 = out.src4;
  out.outerDst4 = out.dst4;
  for (let i = 0; i < 16; i++) {
    out.outerSrc6[i] = out.src6[i]!;
    out.outerDst6[i] = out.dst6[i]!;
  }
  out.outerIpLength = out.ipLength;
  out.resetNetwork();
  pseudowires = 0;
  const link =
    innerType === 0
      ? ethernet(b, innerAt, end, out, false)
      : etherType(b, innerType, innerAt, end, out, false);
  if (link !== "ip") return link;
  return ip(b, ipAt, ipWant, end, out, false);
}

function u16(b: Uint8Array, i: number): number {
  return (b[i]! << 8) | b[i + 1]!;
}

function u32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

function at(offset: number, version: number): "ip" {
  ipAt = offset;
  ipWant = version;
  return "ip";
}

/** Sets `ipAt`/`ipWant` and returns "ip" to go on, or the reason to stop. */
function linkLayer(
  b: Uint8Array,
  linkType: number,
  start: number,
  end: number,
  out: PacketInfo,
): Step {
  pseudowires = 0;
  switch (linkType) {
    case LINKTYPE_ETHERNET:
      return ethernet(b, start, end, out, true);
    case LINKTYPE_LINUX_SLL:
      if (end - start < 16) return "truncated";
      return etherType(b, u16(b, start + 14), start + 16, end, out, true);
    case LINKTYPE_LINUX_SLL2:
      if (end - start < 20) return "truncated";
      return etherType(b, u16(b, start), start + 20, end, out, true);
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP:
      return loopback(b, start, end);
    case LINKTYPE_RAW:
    case LINKTYPE_RAW_ALT:
    case LINKTYPE_RAW_OPENBSD:
      return at(start, 0);
    case LINKTYPE_IPV4:
      return at(start, 4);
    case LINKTYPE_IPV6:
      return at(start, 6);
    default:
      return "unsupported-link";
  }
}

function ethernet(b: Uint8Array, off: number, end: number, out: PacketInfo, record: boolean): Step {
  if (off + 14 > end) return "truncated";
  return etherType(b, u16(b, off + 12), off + 14, end, out, record);
}

/**
 * Follows an EtherType at `off` through VLAN tags to IP, MPLS or PPPoE. `record` is false for
 * a tunnel's inner frame: the tags of the frame on the wire are the ones reported.
 */
function etherType(
  b: Uint8Array,
  first: number,
  firstOffset: number,
  end: number,
  out: PacketInfo,
  record: boolean,
): Step {
  let type = first;
  let off = firstOffset;
  for (
    let tags = 0;
    type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ || type === ETHERTYPE_QINQ_OLD;
    tags++
  ) {
    if (tags === MAX_VLAN_TAGS) return "not-ip";
    if (off + 4 > end) return "truncated";
    if (record) {
      const id = u16(b, off) & 0x0fff;
      if (tags === 0) out.outerVlan = id;
      else if (tags === 1) out.innerVlan = id;
      out.vlanCount = tags + 1;
    }
    type = u16(b, off + 2);
    off += 4;
  }
  switch (type) {
    case ETHERTYPE_IPV4:
      return at(off, 4);
    case ETHERTYPE_IPV6:
      return at(off, 6);
    case ETHERTYPE_MPLS_UNICAST:
    case ETHERTYPE_MPLS_MULTICAST:
      return mpls(b, off, end, out, record);
    case ETHERTYPE_PPPOE_SESSION:
      return pppoe(b, off, end, out, record);
    default:
      // ARP, LLDP, 802.3 length fields (LLC/SNAP), PPPoE discovery...
      return "not-ip";
  }
}

function mpls(b: Uint8Array, start: number, end: number, out: PacketInfo, record: boolean): Step {
  let off = start;
  for (let labels = 0; ; labels++) {
    if (labels === MAX_MPLS_LABELS) return "not-ip";
    if (off + 4 > end) return "truncated";
    const third = b[off + 2]!;
    if (record) {
      if (labels === 0) out.mplsTopLabel = (u16(b, off) << 4) | (third >> 4);
      out.mplsCount = labels + 1;
    }
    off += 4;
    if ((third & 1) !== 0) break;
  }
  // MPLS does not say what it carries. IP announces itself by its version nibble; a first
  // nibble of 0 is the control word of an Ethernet pseudowire (RFC 4448), followed by the
  // customer's frame, as Wireshark reads it. One pseudowire per packet; anything else (an
  // Ethernet pseudowire without control word, ATM, Frame Relay...) is not decoded.
  if (off >= end) return "truncated";
  const version = b[off]! >> 4;
  if (version === 4) return at(off, 4);
  if (version === 6) return at(off, 6);
  if (version !== 0 || pseudowires > 0) return "not-ip";
  pseudowires++;
  if (record) out.mplsPseudowire = true;
  return ethernet(b, off + 4, end, out, false);
}

function pppoe(b: Uint8Array, off: number, end: number, out: PacketInfo, record: boolean): Step {
  // Version 1, type 1, code 0 (session data), session id, length, then the PPP protocol.
  if (off + 8 > end) return "truncated";
  if (b[off] !== 0x11 || b[off + 1] !== 0) return "not-ip";
  if (record) {
    out.pppoe = true;
    out.pppoeSession = u16(b, off + 2);
  }
  const protocol = u16(b, off + 6);
  if (protocol === PPP_IPV4) return at(off + 8, 4);
  if (protocol === PPP_IPV6) return at(off + 8, 6);
  // LCP, IPCP, IPv6CP, PAP/CHAP...
  return "not-ip";
}

function loopback(b: Uint8Array, start: number, end: number): Step {
  if (end - start < 4) return "truncated";
  // NULL stores the family in the capturing host's byte order, LOOP in network order, and
  // writers get it wrong both ways: a family never exceeds 16 bits, so the order is evident.
  const f = start;
  let family = (b[f]! | (b[f + 1]! << 8) | (b[f + 2]! << 16) | (b[f + 3]! << 24)) >>> 0;
  if (family > 0xffff) family = u32(b, f);
  if (family === AF_INET) return at(f + 4, 4);
  if (
    family === AF_INET6_LINUX ||
    family === AF_INET6_BSD ||
    family === AF_INET6_FREEBSD ||
    family === AF_INET6_DARWIN
  ) {
    return at(f + 4, 6);
  }
  return "not-ip";
}

function ip(
  b: Uint8Array,
  off: number,
  want: number,
  end: number,
  out: PacketInfo,
  decap: boolean,
): Step {
  if (off >= end) return "truncated";
  const version = b[off]! >> 4;
  if (want !== 0 && version !== want) return "malformed";
  if (version === 4) return ipv4(b, off, end, out, decap);
  if (version === 6) return ipv6(b, off, end, out, decap);
  return "malformed";
}

function ipv4(b: Uint8Array, off: number, end: number, out: PacketInfo, decap: boolean): Step {
  if (off + 20 > end) return "truncated";
  const headerLength = (b[off]! & 0x0f) * 4;
  const totalLength = u16(b, off + 2);
  // A total length of 0 is what TCP segmentation offload leaves in captures taken on the
  // sending host; the real length is unknown, so the packet cannot be counted.
  if (headerLength < 20 || totalLength < headerLength) return "malformed";
  out.ipVersion = 4;
  out.ipOffset = off;
  out.ipLength = totalLength;
  out.capturedIpBytes = end - off < totalLength ? end - off : totalLength;
  const tos = b[off + 1]!;
  out.dscp = tos >> 2;
  out.ecn = tos & 3;
  out.ipId = u16(b, off + 4);
  const fragment = u16(b, off + 6);
  out.moreFragments = (fragment & 0x2000) !== 0;
  out.fragmentOffset = (fragment & 0x1fff) * 8;
  out.fragment = out.moreFragments || out.fragmentOffset !== 0;
  out.ttl = b[off + 8]!;
  out.protocol = b[off + 9]!;
  out.src4 = u32(b, off + 12);
  out.dst4 = u32(b, off + 16);
  const ipEnd = off + totalLength;
  const capturedEnd = end < ipEnd ? end : ipEnd;
  const transportAt = off + headerLength;
  if (transportAt > capturedEnd) return "truncated";
  // Non-first fragments carry no transport header.
  if (out.fragmentOffset !== 0) return "ok";
  return transport(b, transportAt, capturedEnd, ipEnd, out, decap);
}

function ipv6(b: Uint8Array, off: number, end: number, out: PacketInfo, decap: boolean): Step {
  if (off + 40 > end) return "truncated";
  const payloadLength = u16(b, off + 4);
  // 0 announces a jumbogram (RFC 2675) whose length is in a hop-by-hop option: not on
  // ordinary links, and not countable without walking it.
  if (payloadLength === 0) return "malformed";
  const first = b[off]!;
  const second = b[off + 1]!;
  const trafficClass = ((first & 0x0f) << 4) | (second >> 4);
  out.ipVersion = 6;
  out.ipOffset = off;
  out.ipLength = payloadLength + 40;
  out.capturedIpBytes = end - off < out.ipLength ? end - off : out.ipLength;
  out.dscp = trafficClass >> 2;
  out.ecn = trafficClass & 3;
  out.flowLabel = ((second & 0x0f) << 16) | u16(b, off + 2);
  out.ttl = b[off + 7]!;
  const src = out.src6;
  const dst = out.dst6;
  for (let i = 0; i < 16; i++) {
    src[i] = b[off + 8 + i]!;
    dst[i] = b[off + 24 + i]!;
  }
  const ipEnd = off + out.ipLength;
  const capturedEnd = end < ipEnd ? end : ipEnd;
  let next = b[off + 6]!;
  let pos = off + 40;
  for (let count = 0; ; count++) {
    let headerLength: number;
    if (
      next === IPPROTO_HOPOPTS ||
      next === IPPROTO_ROUTING ||
      next === IPPROTO_DSTOPTS ||
      next === IPPROTO_MOBILITY ||
      next === IPPROTO_HIP ||
      next === IPPROTO_SHIM6
    ) {
      if (pos + 2 > capturedEnd) return truncatedExtension(out, next, pos, ipEnd);
      headerLength = (b[pos + 1]! + 1) * 8;
    } else if (next === IPPROTO_AH) {
      if (pos + 2 > capturedEnd) return truncatedExtension(out, next, pos, ipEnd);
      headerLength = (b[pos + 1]! + 2) * 4;
    } else if (next === IPPROTO_FRAGMENT) {
      if (pos + 8 > capturedEnd) return truncatedExtension(out, next, pos, ipEnd);
      headerLength = 8;
      const offsetAndFlags = u16(b, pos + 2);
      out.fragment = true;
      out.fragmentOffset = offsetAndFlags & 0xfff8;
      out.moreFragments = (offsetAndFlags & 1) !== 0;
      out.ipId = u32(b, pos + 4);
    } else {
      break;
    }
    if (count === MAX_IPV6_EXTENSION_HEADERS || pos + headerLength > ipEnd) {
      out.protocol = next;
      return "malformed";
    }
    out.ipv6ExtensionHeaders = count + 1;
    next = b[pos]!;
    pos += headerLength;
    // What follows a non-first fragment's header is the middle of the datagram.
    if (out.fragmentOffset !== 0) {
      out.protocol = next;
      return "ok";
    }
  }
  out.protocol = next;
  // ESP (50) encrypts what follows; 59 (no next header) has nothing: both stop here.
  if (next === IPPROTO_ESP) return "ok";
  if (pos > capturedEnd) return "truncated";
  return transport(b, pos, capturedEnd, ipEnd, out, decap);
}

/** The frame ends inside an IPv6 extension header (or the header runs past the packet). */
function truncatedExtension(out: PacketInfo, next: number, pos: number, ipEnd: number): Step {
  out.protocol = next;
  return pos + 2 > ipEnd ? "malformed" : "truncated";
}

/**
 * Reads the transport header at `pos`. `capturedEnd` bounds what can be read (frame or IP
 * packet, whichever ends first), `ipEnd` is where the IP header says the packet ends.
 */
function transport(
  b: Uint8Array,
  pos: number,
  capturedEnd: number,
  ipEnd: number,
  out: PacketInfo,
  decap: boolean,
): Step {
  out.transportOffset = pos;
  switch (out.protocol) {
    case IPPROTO_TCP: {
      if (pos + 20 > ipEnd) return "malformed";
      if (pos + 20 > capturedEnd) return "truncated";
      out.hasTransport = true;
      out.srcPort = u16(b, pos);
      out.dstPort = u16(b, pos + 2);
      out.tcpSeq = u32(b, pos + 4);
      out.tcpAck = u32(b, pos + 8);
      const headerLength = (b[pos + 12]! >> 4) * 4;
      out.tcpHeaderLength = headerLength;
      out.tcpFlags = b[pos + 13]!;
      out.tcpWindow = u16(b, pos + 14);
      if (headerLength < 20 || pos + headerLength > ipEnd) return "malformed";
      out.tcpPayloadLength = ipEnd - pos - headerLength;
      return "ok";
    }
    case IPPROTO_UDP:
    case IPPROTO_UDPLITE: {
      if (pos + 8 > ipEnd) return "malformed";
      if (pos + 8 > capturedEnd) return "truncated";
      out.hasTransport = true;
      out.srcPort = u16(b, pos);
      out.dstPort = u16(b, pos + 2);
      if (decap && out.dstPort === VXLAN_PORT && !out.fragment && out.protocol === IPPROTO_UDP) {
        return vxlan(b, pos + 8, capturedEnd, out);
      }
      return "ok";
    }
    case IPPROTO_SCTP:
      if (pos + 12 > ipEnd) return "malformed";
      if (pos + 12 > capturedEnd) return "truncated";
      out.hasTransport = true;
      out.srcPort = u16(b, pos);
      out.dstPort = u16(b, pos + 2);
      return "ok";
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
      if (pos + 4 > ipEnd) return "malformed";
      if (pos + 4 > capturedEnd) return "truncated";
      out.hasTransport = true;
      out.icmpType = b[pos]!;
      out.icmpCode = b[pos + 1]!;
      return "ok";
    case IPPROTO_GRE:
      return decap && !out.fragment ? gre(b, pos, capturedEnd, out) : "ok";
    default:
      return "ok";
  }
}

/** A VXLAN header at `pos`: "decap" with `innerAt` set, or "ok" to keep the outer packet. */
function vxlan(b: Uint8Array, pos: number, capturedEnd: number, out: PacketInfo): Step {
  // Flags (the I bit says the VNI is valid), 3 reserved bytes, VNI, 1 reserved byte.
  if (pos + 8 > capturedEnd || (b[pos]! & 0x08) === 0) return "ok";
  out.tunnel = "vxlan";
  out.vni = (b[pos + 4]! << 16) | (b[pos + 5]! << 8) | b[pos + 6]!;
  innerAt = pos + 8;
  innerType = 0;
  return "decap";
}

/** A GRE header at `pos` (RFC 2784/2890, ERSPAN I-III): "decap" or "ok" to keep the outer. */
function gre(b: Uint8Array, pos: number, capturedEnd: number, out: PacketInfo): Step {
  if (pos + 4 > capturedEnd) return "ok";
  const flags = u16(b, pos);
  // Version 1 is PPTP's enhanced GRE (PPP inside); the routing bit (RFC 1701) adds a
  // variable-length source route: neither is decapsulated.
  if ((flags & 0x0007) !== 0 || (flags & 0x4000) !== 0) return "ok";
  const checksum = (flags & 0x8000) !== 0;
  const key = (flags & 0x2000) !== 0;
  const sequence = (flags & 0x1000) !== 0;
  const protocol = u16(b, pos + 2);
  let off = pos + 4;
  if (checksum) off += 4;
  if (key) {
    if (off + 4 > capturedEnd) return "ok";
    out.greKey = u32(b, off);
    out.greKeyPresent = true;
    off += 4;
  }
  if (sequence) off += 4;
  out.greProtocol = protocol;
  switch (protocol) {
    case GRE_TRANSPARENT_ETHERNET:
      out.tunnel = "gre";
      innerType = 0;
      break;
    case GRE_ERSPAN_2:
      out.tunnel = "erspan";
      innerType = 0;
      // Type I has no sequence number and no ERSPAN header; type II has an 8-byte header.
      if (sequence) off += 8;
      break;
    case GRE_ERSPAN_3: {
      out.tunnel = "erspan";
      innerType = 0;
      // 12-byte header, plus an 8-byte platform-specific subheader when the O bit is set.
      if (off + 12 > capturedEnd) return resetTunnel(out);
      const optional = (b[off + 11]! & 1) !== 0;
      off += optional ? 20 : 12;
      break;
    }
    case ETHERTYPE_IPV4:
    case ETHERTYPE_IPV6:
    case ETHERTYPE_MPLS_UNICAST:
    case ETHERTYPE_MPLS_MULTICAST:
      out.tunnel = "gre";
      innerType = protocol;
      break;
    default:
      return resetTunnel(out);
  }
  if (off > capturedEnd) return resetTunnel(out);
  innerAt = off;
  return "decap";
}

function resetTunnel(out: PacketInfo): "ok" {
  out.tunnel = "none";
  out.greKey = 0;
  out.greKeyPresent = false;
  out.greProtocol = 0;
  return "ok";
}
