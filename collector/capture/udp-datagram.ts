/**
 * Finds the UDP datagram in a captured frame: just enough link layer and IP to replay flow
 * exports from a capture. Pure and allocation-free apart from the address strings and the
 * payload view. Reads bytes directly (after explicit length checks) so that no DataView is made
 * per frame.
 */

import type { PacketInfo } from "../packet/packet-info.js";
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
  MAX_VLAN_TAGS,
} from "./link-types.js";

export interface UdpDatagram {
  srcAddress: string;
  srcPort: number;
  dstAddress: string;
  dstPort: number;
  ipVersion: 4 | 6;
  /** A view into the frame: valid as long as the frame is (see `CapturedPacket.data`). */
  payload: Uint8Array;
}

/** Why a frame did (`"udp"`) or did not yield a UDP datagram. */
export type UdpFrameResult =
  /** A complete UDP datagram; `out` is filled. */
  | "udp"
  /** An IPv4 fragment (first or later) or an IPv6 packet with a Fragment header. */
  | "fragment"
  /** The frame ends before the headers or before the IP length says it should. */
  | "truncated"
  /** Link layer carries something other than IPv4/IPv6 (ARP, LLDP, MPLS...). */
  | "not-ip"
  /** IP, but not UDP (or an IPv6 extension header this reader does not walk). */
  | "not-udp"
  /** Inconsistent IP/UDP header: bad version, IHL, lengths, or an IPv6 jumbogram. */
  | "bad-header"
  /** A link type this reader does not know. */
  | "unsupported-link";

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
} from "./link-types.js";

const AF_INET = 2;
// AF_INET6 differs per OS: Linux, NetBSD/OpenBSD, FreeBSD, Darwin.
const AF_INET6_LINUX = 10;
const AF_INET6_BSD = 24;
const AF_INET6_FREEBSD = 28;
const AF_INET6_DARWIN = 30;

const IPPROTO_HOPOPTS = 0;
const IPPROTO_UDP = 17;
const IPPROTO_ROUTING = 43;
const IPPROTO_FRAGMENT = 44;
const IPPROTO_DSTOPTS = 60;

/** A fresh `out` object for {@link extractUdp}; reuse it across frames. */
export function createUdpDatagram(): UdpDatagram {
  return {
    srcAddress: "",
    srcPort: 0,
    dstAddress: "",
    dstPort: 0,
    ipVersion: 4,
    payload: new Uint8Array(0),
  };
}

/**
 * Fills `out` with the UDP datagram carried by `frame` and returns true; returns false (and
 * leaves `out` in an unspecified state) when the frame is not one complete, unfragmented UDP
 * datagram. {@link parseUdpFrame} says why.
 */
export function extractUdp(linkType: number, frame: Uint8Array, out: UdpDatagram): boolean {
  return parseUdpFrame(linkType, frame, out) === "udp";
}

// Where the link layer put the IP header, and the version it announced (0: read it from the
// header). Module state rather than a result object, so that no object is made per frame.
const network = { offset: 0, version: 0 };

/** Like {@link extractUdp}, but returns the reason. */
export function parseUdpFrame(
  linkType: number,
  frame: Uint8Array,
  out: UdpDatagram,
): UdpFrameResult {
  const link = linkLayer(linkType, frame);
  if (link !== "ip") return link;
  const off = network.offset;
  if (off >= frame.byteLength) return "truncated";
  const version = frame[off]! >> 4;
  if (network.version !== 0 && version !== network.version) return "bad-header";
  if (version === 4) return ipv4(frame, off, out);
  if (version === 6) return ipv6(frame, off, out);
  return network.version === 0 ? "not-ip" : "bad-header";
}

function u16(b: Uint8Array, i: number): number {
  return (b[i]! << 8) | b[i + 1]!;
}

/** Sets `network` and returns "ip" to go on, or the reason to stop. */
function linkLayer(linkType: number, b: Uint8Array): UdpFrameResult | "ip" {
  switch (linkType) {
    case LINKTYPE_ETHERNET:
      if (b.byteLength < 14) return "truncated";
      return etherType(b, u16(b, 12), 14);
    case LINKTYPE_LINUX_SLL:
      if (b.byteLength < 16) return "truncated";
      return etherType(b, u16(b, 14), 16);
    case LINKTYPE_LINUX_SLL2:
      if (b.byteLength < 20) return "truncated";
      return etherType(b, u16(b, 0), 20);
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP:
      return loopback(b);
    case LINKTYPE_RAW:
    case LINKTYPE_RAW_ALT:
      return at(0, 0);
    case LINKTYPE_IPV4:
      return at(0, 4);
    case LINKTYPE_IPV6:
      return at(0, 6);
    default:
      return "unsupported-link";
  }
}

function at(offset: number, version: number): "ip" {
  network.offset = offset;
  network.version = version;
  return "ip";
}

function etherType(b: Uint8Array, first: number, firstOffset: number): UdpFrameResult | "ip" {
  let type = first;
  let off = firstOffset;
  for (let tags = 0; isVlanTag(type); tags++) {
    if (tags === MAX_VLAN_TAGS) return "not-ip";
    if (off + 4 > b.byteLength) return "truncated";
    type = u16(b, off + 2);
    off += 4;
  }
  if (type === ETHERTYPE_IPV4) return at(off, 4);
  if (type === ETHERTYPE_IPV6) return at(off, 6);
  return "not-ip";
}

function isVlanTag(type: number): boolean {
  return type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ || type === ETHERTYPE_QINQ_OLD;
}

function loopback(b: Uint8Array): UdpFrameResult | "ip" {
  if (b.byteLength < 4) return "truncated";
  // NULL stores the family in the capturing host's byte order, LOOP in network order, and
  // writers get it wrong both ways: a family never exceeds 16 bits, so the order is evident.
  let family = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  if (family > 0xffff) family = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  if (family === AF_INET) return at(4, 4);
  if (
    family === AF_INET6_LINUX ||
    family === AF_INET6_BSD ||
    family === AF_INET6_FREEBSD ||
    family === AF_INET6_DARWIN
  ) {
    return at(4, 6);
  }
  return "not-ip";
}

function ipv4(b: Uint8Array, off: number, out: UdpDatagram): UdpFrameResult {
  if (off + 20 > b.byteLength) return "truncated";
  const headerLength = (b[off]! & 0x0f) * 4;
  // The IP total length, not the frame, bounds the packet: Ethernet pads short frames.
  const totalLength = u16(b, off + 2);
  if (headerLength < 20 || totalLength < headerLength) return "bad-header";
  const end = off + totalLength;
  if (end > b.byteLength) return "truncated";
  // More-fragments flag or a fragment offset: one piece of a datagram, not a datagram.
  if ((u16(b, off + 6) & 0x3fff) !== 0) return "fragment";
  if (b[off + 9] !== IPPROTO_UDP) return "not-udp";
  const result = udp(b, off + headerLength, end, out);
  if (result !== "udp") return result;
  out.ipVersion = 4;
  out.srcAddress = formatIPv4(b, off + 12);
  out.dstAddress = formatIPv4(b, off + 16);
  return result;
}

function ipv6(b: Uint8Array, off: number, out: UdpDatagram): UdpFrameResult {
  if (off + 40 > b.byteLength) return "truncated";
  const payloadLength = u16(b, off + 4);
  // 0 announces a jumbogram (RFC 2675), which no flow exporter sends.
  if (payloadLength === 0) return "bad-header";
  const end = off + 40 + payloadLength;
  if (end > b.byteLength) return "truncated";
  let next = b[off + 6]!;
  let pos = off + 40;
  // Every extension header is at least 8 bytes long, so the walk ends within the payload.
  while (next !== IPPROTO_UDP) {
    if (next === IPPROTO_FRAGMENT) return "fragment";
    if (next !== IPPROTO_HOPOPTS && next !== IPPROTO_ROUTING && next !== IPPROTO_DSTOPTS) {
      return "not-udp";
    }
    if (pos + 8 > end) return "bad-header";
    const headerEnd = pos + (b[pos + 1]! + 1) * 8;
    if (headerEnd > end) return "bad-header";
    next = b[pos]!;
    pos = headerEnd;
  }
  const result = udp(b, pos, end, out);
  if (result !== "udp") return result;
  out.ipVersion = 6;
  out.srcAddress = formatIPv6(b, off + 8);
  out.dstAddress = formatIPv6(b, off + 24);
  return result;
}

function udp(b: Uint8Array, off: number, ipEnd: number, out: UdpDatagram): UdpFrameResult {
  if (off + 8 > ipEnd) return "bad-header";
  const length = u16(b, off + 4);
  // The UDP length bounds the payload (the checksum is not checked: exporters on the same host
  // often leave it to offload, and the capture shows it unset).
  if (length < 8 || off + length > ipEnd) return "bad-header";
  out.srcPort = u16(b, off);
  out.dstPort = u16(b, off + 2);
  out.payload = b.subarray(off + 8, off + length);
  return "udp";
}

/** What {@link udpFromParsed} found: see there. */
export type ParsedUdpResult = "udp" | "none" | "unknown";

/** The UDP port that announces VXLAN, which `parsePacket` decapsulates (RFC 7348). */
const VXLAN_PORT = 4789;

/**
 * {@link extractUdp} for a frame that `parsePacket(frame, linkType, info)` has just parsed,
 * read from `info` instead of walking the headers again, restricted to datagrams to one of
 * `ports` (flow-export ports):
 *
 * - `"udp"`: extractUdp would return true with a `dstPort` in `ports`; `out` is filled exactly
 *   as it would fill it (same addresses text, ports, version and payload bytes).
 * - `"none"`: extractUdp would return false, or a datagram to a port not in `ports`.
 * - `"unknown"`: `info` does not say (IPv6 extension headers, which the two readers walk
 *   differently; a VXLAN tunnel when VXLAN's port is in `ports`): call extractUdp.
 *
 * The two readers agree on the link layers extractUdp knows (same VLAN tag limit); beyond
 * them, `parsePacket` also walks MPLS and PPPoE and decapsulates tunnels, where extractUdp sees
 * no UDP datagram (or the outer one, for VXLAN): those frames are told apart by `info`.
 *
 * `frame` is the array given to `parsePacket`: when the frame was a range of a larger array
 * (`parsePacket(bytes, linkType, info, start, end)`), pass that array, whose offsets `info`
 * holds.
 */
export function udpFromParsed(
  linkType: number,
  frame: Uint8Array,
  info: PacketInfo,
  ports: { has(port: number): boolean },
  out: UdpDatagram,
): ParsedUdpResult {
  const version = info.ipVersion;
  // extractUdp needs the IP header (and parsePacket reads it whenever extractUdp would).
  if (version === 0 || !extractUdpLinkType(linkType)) return "none";
  if (info.tunnel !== "none") {
    // GRE/ERSPAN: the outer packet is GRE, not UDP. VXLAN: the outer packet is a UDP datagram
    // to VXLAN_PORT (or an incomplete one: let extractUdp decide when that port is wanted).
    return info.tunnel === "vxlan" && ports.has(VXLAN_PORT) ? "unknown" : "none";
  }
  // extractUdp does not walk MPLS or PPPoE: "not-ip".
  if (info.mplsCount !== 0 || info.pppoe) return "none";
  const protocol = info.protocol;
  if (version === 6 && (info.ipv6ExtensionHeaders !== 0 || isWalkedByExtractUdp(protocol))) {
    return "unknown";
  }
  // A fragment, or an IP packet that does not fit in the frame: not a datagram for extractUdp.
  if (protocol !== IPPROTO_UDP || !info.hasTransport || info.fragment) return "none";
  if (info.capturedIpBytes !== info.ipLength) return "none";
  if (!ports.has(info.dstPort)) return "none";
  const off = info.transportOffset;
  const length = u16(frame, off + 4);
  if (length < 8 || off + length > info.ipOffset + info.ipLength) return "none";
  out.srcPort = info.srcPort;
  out.dstPort = info.dstPort;
  out.payload = frame.subarray(off + 8, off + length);
  out.ipVersion = version;
  const ip = info.ipOffset;
  if (version === 4) {
    out.srcAddress = formatIPv4(frame, ip + 12);
    out.dstAddress = formatIPv4(frame, ip + 16);
  } else {
    out.srcAddress = formatIPv6(frame, ip + 8);
    out.dstAddress = formatIPv6(frame, ip + 24);
  }
  return "udp";
}

function extractUdpLinkType(linkType: number): boolean {
  switch (linkType) {
    case LINKTYPE_ETHERNET:
    case LINKTYPE_LINUX_SLL:
    case LINKTYPE_LINUX_SLL2:
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP:
    case LINKTYPE_RAW:
    case LINKTYPE_RAW_ALT:
    case LINKTYPE_IPV4:
    case LINKTYPE_IPV6:
      return true;
    default:
      return false;
  }
}

/** IPv6 extension headers extractUdp walks to reach UDP (parsePacket also sets these as the
 * protocol when it stops inside one). */
function isWalkedByExtractUdp(next: number): boolean {
  return next === IPPROTO_HOPOPTS || next === IPPROTO_ROUTING || next === IPPROTO_DSTOPTS;
}

/** Dotted quad of the 4 bytes at `offset`. The caller checks the bounds. */
export function formatIPv4(bytes: Uint8Array, offset: number): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/**
 * RFC 5952 text of the 16 bytes at `offset`: lowercase hex without leading zeros, the longest
 * run of two or more zero groups (the leftmost on a tie) as "::". IPv4-mapped addresses stay in
 * hex (`::ffff:a00:1`), as Node's URL parser writes them. The caller checks the bounds.
 */
export function formatIPv6(bytes: Uint8Array, offset: number): string {
  let bestStart = -1;
  let bestLength = 0;
  let runStart = -1;
  for (let i = 0; i < 8; i++) {
    if (u16(bytes, offset + 2 * i) !== 0) {
      runStart = -1;
      continue;
    }
    if (runStart < 0) runStart = i;
    if (i - runStart + 1 > bestLength) {
      bestStart = runStart;
      bestLength = i - runStart + 1;
    }
  }
  if (bestLength < 2) bestStart = -1;
  const resume = bestStart + bestLength;
  let text = "";
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      text += "::";
      i = resume - 1;
      continue;
    }
    if (i > 0 && i !== resume) text += ":";
    text += u16(bytes, offset + 2 * i).toString(16);
  }
  return text;
}
