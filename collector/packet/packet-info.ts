/**
 * The result of parsing one captured packet: a struct made once and refilled by
 * `parsePacket` for every frame (no allocation per packet). Numbers and reused byte arrays only;
 * {@link formatSrcAddress} / {@link formatDstAddress} make text off the hot path.
 *
 * When the packet was tunnelled (VXLAN or GRE, one level), the fields without an `outer`
 * prefix describe the INNER packet, which is the flow; the `outer*` fields keep the tunnel.
 */
import { formatIPv6 } from "../capture/udp-datagram.js";

/**
 * What `parsePacket` made of a frame. Each value says which fields are valid.
 *
 * - `"ok"`: the IP header and, when there is one in the frame's first fragment, the transport
 *   header (TCP/UDP/ICMP ports, flags, types) were read. The IP payload need not be in the
 *   frame: `capturedIpBytes < ipLength` is normal for snap-length captures and sFlow samples.
 * - `"truncated"`: the frame ends inside a header. If `ipVersion !== 0` the IP header was
 *   read (addresses, `ipLength`, `protocol` are valid and the packet can be counted) and the
 *   transport header was cut (`hasTransport` false); if `ipVersion === 0` the frame ends in the
 *   link layer (Ethernet, VLAN, MPLS, PPPoE) or in the IP header itself.
 * - `"not-ip"`: the link layer carries something else (ARP, LLDP, LACP, 802.3 LLC frames, PPP
 *   control, MPLS over something not IP, too many VLAN tags or MPLS labels).
 * - `"malformed"`: an IP header that cannot be right (wrong version for the link type, IPv4
 *   header length below 20 or above the total length, an IPv6 jumbogram with payload length
 *   0): then `ipVersion === 0`. Or a sound IP header followed by a transport or IPv6 extension
 *   header that disagrees with the IP length, or a chain of more than 8 extension headers:
 *   then `ipVersion !== 0` and the packet is counted.
 * - `"unsupported-link"`: a `linkType` the parser does not know.
 *
 * Rule for counting: count the packet (`ipLength` bytes) whenever `ipVersion !== 0`.
 */
export type PacketResult = "ok" | "truncated" | "not-ip" | "malformed" | "unsupported-link";

/** Every {@link PacketResult}, in a fixed order (for counters and tests). */
export const packetResults: readonly PacketResult[] = [
  "ok",
  "truncated",
  "not-ip",
  "malformed",
  "unsupported-link",
];

/** How the flow's packet reached the monitoring point. */
export type TunnelKind = "none" | "vxlan" | "gre" | "erspan";

export class PacketInfo {
  // ---- IP (the flow's packet: the inner one when decapsulated) ----
  /** 0 until an IP header was read, then 4 or 6. */
  ipVersion: 0 | 4 | 6 = 0;
  /** Offset of the flow's IP header in the frame. */
  ipOffset = 0;
  /** IPv4 source address as an unsigned 32-bit number (0 for IPv6). */
  src4 = 0;
  /** IPv4 destination address as an unsigned 32-bit number (0 for IPv6). */
  dst4 = 0;
  /** IPv6 source address (16 bytes, reused: copy to keep). Zeros for IPv4. */
  readonly src6: Uint8Array = new Uint8Array(16);
  /** IPv6 destination address (16 bytes, reused: copy to keep). Zeros for IPv4. */
  readonly dst6: Uint8Array = new Uint8Array(16);
  /**
   * IP-layer bytes: IPv4 total length, IPv6 payload length + 40. THE unit flowtally counts
   * (the one NetFlow/IPFIX octet counts use); taken from the header, so it is right even when
   * the frame holds only the first bytes of the packet.
   */
  ipLength = 0;
  /** Bytes of the IP packet present in the frame: min(ipLength, frame bytes from ipOffset). */
  capturedIpBytes = 0;
  /**
   * Upper-layer protocol: IPv4 protocol, or for IPv6 the next header after the walked
   * extension headers (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, 50 ESP, 59 no next header...).
   */
  protocol = 0;
  /** DSCP (6 bits) of the IPv4 TOS / IPv6 traffic class. */
  dscp = 0;
  /** ECN (2 bits). */
  ecn = 0;
  /** IPv4 TTL or IPv6 hop limit. */
  ttl = 0;
  /** IPv4 identification; for IPv6 the Fragment header's identification (0 without one). */
  ipId = 0;
  /** IPv6 flow label (20 bits), 0 for IPv4. */
  flowLabel = 0;
  /** Number of IPv6 extension headers walked (hop-by-hop, routing, fragment, dest. opts, AH). */
  ipv6ExtensionHeaders = 0;

  // ---- Fragments ----
  /** True for any piece of a fragmented datagram (IPv4 MF or offset, IPv6 Fragment header). */
  fragment = false;
  /** Fragment offset in bytes (0 for the first fragment and for whole packets). */
  fragmentOffset = 0;
  /** More-fragments flag. */
  moreFragments = false;

  // ---- Transport ----
  /**
   * True when the transport header was read. False for non-first fragments (they carry no
   * ports: srcPort/dstPort stay 0), for protocols other than TCP/UDP/ICMP/ICMPv6/SCTP/UDP-Lite,
   * for ESP and when the frame ends inside the transport header.
   */
  hasTransport = false;
  /** Offset of the transport header in the frame. */
  transportOffset = 0;
  /** TCP/UDP/SCTP/UDP-Lite source port, 0 otherwise. */
  srcPort = 0;
  /** TCP/UDP/SCTP/UDP-Lite destination port, 0 otherwise. */
  dstPort = 0;
  /** TCP flags (the low 8 bits: CWR ECE URG ACK PSH RST SYN FIN), 0 otherwise. */
  tcpFlags = 0;
  /** TCP sequence number (unsigned 32-bit). */
  tcpSeq = 0;
  /** TCP acknowledgement number (unsigned 32-bit). */
  tcpAck = 0;
  /** TCP window (unscaled). */
  tcpWindow = 0;
  /** TCP header length in bytes (data offset × 4). */
  tcpHeaderLength = 0;
  /**
   * TCP payload bytes from the lengths: ipLength − IP and extension headers − TCP header.
   * Valid even when the payload was not captured. 0 if the lengths do not add up.
   */
  tcpPayloadLength = 0;
  /** ICMP or ICMPv6 type (see `protocol`), 0 otherwise. */
  icmpType = 0;
  /** ICMP or ICMPv6 code, 0 otherwise. */
  icmpCode = 0;

  // ---- Link layer ----
  /** Number of 802.1Q / 802.1ad / 0x9100 tags seen (the outer frame's). */
  vlanCount = 0;
  /** VLAN id (12 bits) of the first (outer) tag, 0 without tags. */
  outerVlan = 0;
  /** VLAN id of the second tag (QinQ customer tag), 0 with fewer than two tags. */
  innerVlan = 0;
  /** Number of MPLS labels walked (up to the bottom of stack). */
  mplsCount = 0;
  /** Top (first) MPLS label (20 bits), 0 without MPLS. */
  mplsTopLabel = 0;
  /**
   * True when the MPLS stack carried an Ethernet pseudowire (control word, then the customer's
   * frame, whose IP packet is the flow; its VLAN tags are not reported).
   */
  mplsPseudowire = false;
  /** True when the frame was a PPPoE session frame (EtherType 0x8864). */
  pppoe = false;
  /** PPPoE session id, 0 without PPPoE. */
  pppoeSession = 0;

  // ---- Tunnel (one level of decapsulation) ----
  tunnel: TunnelKind = "none";
  /** VXLAN network identifier (24 bits), 0 otherwise. */
  vni = 0;
  /** GRE key when the K bit is set, 0 otherwise (see `greKeyPresent`). */
  greKey = 0;
  greKeyPresent = false;
  /** GRE protocol type (0x0800, 0x86dd, 0x6558), 0 otherwise. */
  greProtocol = 0;
  /** Outer IP version, 0 without a tunnel. */
  outerIpVersion: 0 | 4 | 6 = 0;
  /** Outer IPv4 addresses (0 for IPv6 or without a tunnel). */
  outerSrc4 = 0;
  outerDst4 = 0;
  /** Outer IPv6 addresses (reused; zeros for IPv4 or without a tunnel). */
  readonly outerSrc6: Uint8Array = new Uint8Array(16);
  readonly outerDst6: Uint8Array = new Uint8Array(16);
  /** Outer packet's IP length (what the wire carried at the IP layer), 0 without a tunnel. */
  outerIpLength = 0;

  /** Clears every field to its initial value. `parsePacket` calls it first. */
  reset(): void {
    this.resetNetwork();
    this.vlanCount = 0;
    this.outerVlan = 0;
    this.innerVlan = 0;
    this.mplsCount = 0;
    this.mplsTopLabel = 0;
    this.mplsPseudowire = false;
    this.pppoe = false;
    this.pppoeSession = 0;
    this.tunnel = "none";
    this.vni = 0;
    this.greKey = 0;
    this.greKeyPresent = false;
    this.greProtocol = 0;
    // The IPv6 arrays are written only after the version is set: clear them only if used.
    if (this.outerIpVersion === 6) clear16(this.outerSrc6, this.outerDst6);
    this.outerIpVersion = 0;
    this.outerSrc4 = 0;
    this.outerDst4 = 0;
    this.outerIpLength = 0;
  }

  /** Clears the IP, fragment and transport fields (not the link layer or tunnel ones). */
  resetNetwork(): void {
    if (this.ipVersion === 6) clear16(this.src6, this.dst6);
    this.ipVersion = 0;
    this.ipOffset = 0;
    this.src4 = 0;
    this.dst4 = 0;
    this.ipLength = 0;
    this.capturedIpBytes = 0;
    this.protocol = 0;
    this.dscp = 0;
    this.ecn = 0;
    this.ttl = 0;
    this.ipId = 0;
    this.flowLabel = 0;
    this.ipv6ExtensionHeaders = 0;
    this.fragment = false;
    this.fragmentOffset = 0;
    this.moreFragments = false;
    this.resetTransport();
  }

  /** Clears the transport fields only. */
  resetTransport(): void {
    this.hasTransport = false;
    this.transportOffset = 0;
    this.srcPort = 0;
    this.dstPort = 0;
    this.tcpFlags = 0;
    this.tcpSeq = 0;
    this.tcpAck = 0;
    this.tcpWindow = 0;
    this.tcpHeaderLength = 0;
    this.tcpPayloadLength = 0;
    this.icmpType = 0;
    this.icmpCode = 0;
  }
}

/** Zeroes two 16-byte arrays (a plain loop: cheaper than two `fill` calls on the hot path). */
function clear16(a: Uint8Array, b: Uint8Array): void {
  for (let i = 0; i < 16; i++) {
    a[i] = 0;
    b[i] = 0;
  }
}

/** Dotted quad of an unsigned 32-bit IPv4 address. */
export function formatIPv4Number(address: number): string {
  return `${address >>> 24}.${(address >>> 16) & 0xff}.${(address >>> 8) & 0xff}.${address & 0xff}`;
}

/** Text of the flow's source address ("" before an IP header was read). Not for the hot path. */
export function formatSrcAddress(info: PacketInfo): string {
  return formatAddress(info.ipVersion, info.src4, info.src6);
}

/** Text of the flow's destination address ("" before an IP header was read). */
export function formatDstAddress(info: PacketInfo): string {
  return formatAddress(info.ipVersion, info.dst4, info.dst6);
}

/** Text of an address held as (version, IPv4 number, IPv6 bytes); IPv6 in RFC 5952 form. */
export function formatAddress(version: 0 | 4 | 6, v4: number, v6: Uint8Array): string {
  if (version === 4) return formatIPv4Number(v4);
  if (version === 6) return formatIPv6(v6, 0);
  return "";
}
