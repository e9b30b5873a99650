/**
 * The packet parser against independent references:
 * - tshark's per host pair figures (IPv4 total length / IPv6 payload length + 40) for real
 *   captures, from `test/fixtures/exporters/compare__*.csv` and
 *   `test/fixtures/packets/expected/*.hosts.csv`, and tshark's per TCP stream packets, bytes,
 *   SYN/FIN/RST counts from `expected/*.tcp.csv` (made by the shared material's
 *   tools/describe_packets.py with Wireshark 4.0; see test/fixtures/packets/PROVENANCE.md);
 * - hand-built frames for what no capture holds (QinQ, MPLS stacks, PPPoE, SLL2, IPv6
 *   extension chains, fragments, VXLAN, GRE, ERSPAN), where the values put in are the truth;
 * - every prefix of every frame (through a Proxy that throws on a read past the end);
 * - a short fuzz run of mutated real frames.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { createRng, type Mutation, type Rng, reshapingMutations } from "../../test/fuzz/mutate.js";
import { readCaptureFile } from "../capture/capture-reader.js";
import {
  formatDstAddress,
  formatIPv4Number,
  formatSrcAddress,
  PacketInfo,
  type PacketResult,
  packetResults,
} from "./packet-info.js";
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
  parsePacket,
} from "./packet-parser.js";

const PACKETS = fileURLToPath(new URL("../../test/fixtures/packets/", import.meta.url));
const EXPORTERS = fileURLToPath(new URL("../../test/fixtures/exporters/", import.meta.url));

interface Frame {
  linkType: number;
  data: Uint8Array;
}

async function loadFrames(path: string): Promise<Frame[]> {
  const frames: Frame[] = [];
  await readCaptureFile(path, (p) => {
    frames.push({ linkType: p.linkType, data: p.data.slice() });
  });
  return frames;
}

function parseCsv(path: string): Record<string, string>[] {
  const lines = readFileSync(path, "utf8")
    .split(/\r?\n/)
    .filter((l) => l.length > 0);
  const header = lines[0]?.split(",") ?? [];
  return lines.slice(1).map((line) => {
    const cells = line.split(",");
    const row: Record<string, string> = {};
    header.forEach((name, i) => {
      row[name] = cells[i] ?? "";
    });
    return row;
  });
}

/** Per (src, dst) packets and IP bytes, the way tshark's reference sums them. */
function hostPairs(frames: Frame[]): Map<string, [number, number]> {
  const info = new PacketInfo();
  const sums = new Map<string, [number, number]>();
  for (const f of frames) {
    parsePacket(f.data, f.linkType, info);
    if (info.ipVersion === 0) continue;
    // tshark sums the outermost IP header: the outer one for tunnels.
    const key = `${formatSrcAddress(info)} ${formatDstAddress(info)}`;
    const sum = sums.get(key) ?? [0, 0];
    sum[0] += 1;
    sum[1] += info.ipLength;
    sums.set(key, sum);
  }
  return sums;
}

const COMPARED = ["tcpreplay__test", "ndpi__netflix", "ndpi__http_ipv6", "ndpi__1kxun"];

describe("per host pair figures equal tshark's", () => {
  for (const name of COMPARED) {
    test(`${name}.pcap vs compare__${name}.csv`, async () => {
      const frames = await loadFrames(join(PACKETS, `${name}.pcap`));
      const expected = new Map<string, [number, number]>();
      for (const row of parseCsv(join(EXPORTERS, `compare__${name}.csv`))) {
        const packets = row["tshark ip.len pkts"] ?? "";
        if (packets === "") continue;
        expected.set(`${row.src} ${row.dst}`, [
          Number(packets),
          Number(row["tshark ip.len bytes"]),
        ]);
      }
      expect(expected.size).toBeGreaterThan(0);
      expect(Object.fromEntries(hostPairs(frames))).toEqual(Object.fromEntries(expected));
    });
  }

  const hostFiles = readdirSync(join(PACKETS, "expected")).filter((f) => f.endsWith(".hosts.csv"));
  test("the fixtures have reference files", () => {
    expect(hostFiles.length).toBeGreaterThanOrEqual(15);
  });
  for (const file of hostFiles) {
    const capture = file.slice(0, -".hosts.csv".length);
    test(`${capture} vs expected/${file}`, async () => {
      const frames = await loadFrames(join(PACKETS, capture));
      const expected = new Map<string, [number, number]>();
      for (const row of parseCsv(join(PACKETS, "expected", file))) {
        expected.set(`${row.src} ${row.dst}`, [Number(row.packets), Number(row.ip_bytes)]);
      }
      expect(Object.fromEntries(hostPairs(frames))).toEqual(Object.fromEntries(expected));
    });
  }
});

function endpoint(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

describe("per TCP connection figures equal tshark's", () => {
  const tcpFiles = readdirSync(join(PACKETS, "expected")).filter(
    (f) => f.endsWith(".tcp.csv") && readFileSync(join(PACKETS, "expected", f)).byteLength > 0,
  );
  for (const file of tcpFiles) {
    const capture = file.slice(0, -".tcp.csv".length);
    test(`${capture} vs expected/${file}`, async () => {
      // Streams tshark saw a SYN for have a client and a server; sum them per connection
      // (a port reused later is another stream of the same connection key).
      const expected = new Map<string, number[]>();
      for (const row of parseCsv(join(PACKETS, "expected", file))) {
        if (row.client === "" || row.server === "") continue;
        const key = [row.client, row.server].sort().join(" ");
        const sum = expected.get(key) ?? [0, 0, 0, 0, 0];
        sum[0]! += Number(row.packets);
        sum[1]! += Number(row.ip_bytes);
        sum[2]! += Number(row.syns);
        sum[3]! += Number(row.fin);
        sum[4]! += Number(row.rst);
        expected.set(key, sum);
      }
      const frames = await loadFrames(join(PACKETS, capture));
      const info = new PacketInfo();
      const seen = new Map<string, number[]>();
      for (const f of frames) {
        parsePacket(f.data, f.linkType, info);
        if (info.protocol !== 6 || !info.hasTransport) continue;
        const a = endpoint(formatSrcAddress(info), info.srcPort);
        const b = endpoint(formatDstAddress(info), info.dstPort);
        const key = [a, b].sort().join(" ");
        if (!expected.has(key)) continue;
        const sum = seen.get(key) ?? [0, 0, 0, 0, 0];
        sum[0]! += 1;
        sum[1]! += info.ipLength;
        // SYN without ACK, FIN, RST, as the reference counts them.
        if ((info.tcpFlags & 0x12) === 0x02) sum[2]! += 1;
        if ((info.tcpFlags & 0x01) !== 0) sum[3]! += 1;
        if ((info.tcpFlags & 0x04) !== 0) sum[4]! += 1;
        seen.set(key, sum);
      }
      expect(Object.fromEntries(seen)).toEqual(Object.fromEntries(expected));
    });
  }
});

// ---------------------------------------------------------------------------------------------
// A small frame builder: every value it puts in is the expected value.

function bytes(...parts: (Uint8Array | number[])[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function be16(v: number): number[] {
  return [(v >> 8) & 0xff, v & 0xff];
}

function be32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

const MAC_A = [0x02, 0, 0, 0, 0, 0x0a];
const MAC_B = [0x02, 0, 0, 0, 0, 0x0b];

function ethernet(type: number, payload: Uint8Array): Uint8Array {
  return bytes(MAC_A, MAC_B, be16(type), payload);
}

/** A VLAN tag (TPID, VLAN id, priority 3) in front of `payload` whose EtherType is `type`. */
function tagged(tpid: number, vlan: number, type: number, payload: Uint8Array): Uint8Array {
  return bytes(be16(tpid), be16((3 << 13) | vlan), be16(type), payload);
}

function ip4(text: string): number {
  return text.split(".").reduce((v, part) => v * 256 + Number(part), 0);
}

interface Ipv4Options {
  src: string;
  dst: string;
  protocol: number;
  payload: Uint8Array;
  ttl?: number;
  tos?: number;
  id?: number;
  /** Flags and fragment offset in 8-byte units, as in the header. */
  fragment?: number;
  options?: number[];
}

function ipv4(o: Ipv4Options): Uint8Array {
  const options = o.options ?? [];
  const headerLength = 20 + options.length;
  return bytes(
    [0x40 | (headerLength / 4), o.tos ?? 0],
    be16(headerLength + o.payload.length),
    be16(o.id ?? 0x1234),
    be16(o.fragment ?? 0),
    [o.ttl ?? 64, o.protocol, 0, 0],
    be32(ip4(o.src)),
    be32(ip4(o.dst)),
    options,
    o.payload,
  );
}

function ip6Bytes(last: number): number[] {
  return [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last];
}

interface Ipv6Options {
  next: number;
  payload: Uint8Array;
  src?: number;
  dst?: number;
  hopLimit?: number;
  trafficClass?: number;
  flowLabel?: number;
}

function ipv6(o: Ipv6Options): Uint8Array {
  const tc = o.trafficClass ?? 0;
  const fl = o.flowLabel ?? 0;
  return bytes(
    [0x60 | (tc >> 4), ((tc & 0x0f) << 4) | (fl >> 16), (fl >> 8) & 0xff, fl & 0xff],
    be16(o.payload.length),
    [o.next, o.hopLimit ?? 64],
    ip6Bytes(o.src ?? 1),
    ip6Bytes(o.dst ?? 2),
    o.payload,
  );
}

/** A generic IPv6 extension header (hop-by-hop, routing, destination options) of 8·(n+1) bytes. */
function extension(next: number, units: number, payload: Uint8Array): Uint8Array {
  const body = new Uint8Array(8 * (units + 1) - 2);
  return bytes([next, units], body, payload);
}

function fragmentHeader(
  next: number,
  offsetBytes: number,
  more: boolean,
  id: number,
  payload: Uint8Array,
): Uint8Array {
  return bytes([next, 0], be16(offsetBytes | (more ? 1 : 0)), be32(id), payload);
}

/** AH with `words` 32-bit words of ICV after the fixed 12 bytes. */
function ah(next: number, words: number, payload: Uint8Array): Uint8Array {
  const length = 12 + 4 * words;
  return bytes([next, length / 4 - 2], new Uint8Array(length - 2), payload);
}

interface TcpOptions {
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  flags?: number;
  window?: number;
  options?: number[];
  payload?: Uint8Array;
}

function tcp(o: TcpOptions): Uint8Array {
  const options = o.options ?? [];
  const headerLength = 20 + options.length;
  return bytes(
    be16(o.sport),
    be16(o.dport),
    be32(o.seq ?? 0),
    be32(o.ack ?? 0),
    [(headerLength / 4) << 4, o.flags ?? 0],
    be16(o.window ?? 0),
    [0, 0, 0, 0],
    options,
    o.payload ?? new Uint8Array(0),
  );
}

function udp(sport: number, dport: number, payload: Uint8Array): Uint8Array {
  return bytes(be16(sport), be16(dport), be16(8 + payload.length), [0, 0], payload);
}

function icmp(type: number, code: number, body: Uint8Array = new Uint8Array(4)): Uint8Array {
  return bytes([type, code, 0, 0], body);
}

/** An MPLS label stack entry. */
function label(value: number, bottom: boolean, ttl = 64): number[] {
  return [value >> 12, (value >> 4) & 0xff, ((value & 0x0f) << 4) | (bottom ? 1 : 0), ttl];
}

function vxlan(vni: number, inner: Uint8Array): Uint8Array {
  return bytes([0x08, 0, 0, 0], [(vni >> 16) & 0xff, (vni >> 8) & 0xff, vni & 0xff, 0], inner);
}

interface GreOptions {
  protocol: number;
  checksum?: boolean;
  key?: number;
  sequence?: number;
  version?: number;
  payload: Uint8Array;
}

function gre(o: GreOptions): Uint8Array {
  const flags =
    (o.checksum ? 0x8000 : 0) |
    (o.key !== undefined ? 0x2000 : 0) |
    (o.sequence !== undefined ? 0x1000 : 0) |
    (o.version ?? 0);
  return bytes(
    be16(flags),
    be16(o.protocol),
    o.checksum ? [0, 0, 0, 0] : [],
    o.key !== undefined ? be32(o.key) : [],
    o.sequence !== undefined ? be32(o.sequence) : [],
    o.payload,
  );
}

function payload(n: number): Uint8Array {
  return new Uint8Array(n).map((_, i) => (i * 7) & 0xff);
}

/** A plain TCP/IPv4 packet used as the inner packet of most cases. */
function innerTcp4(): Uint8Array {
  return ipv4({
    src: "10.1.1.1",
    dst: "10.2.2.2",
    protocol: 6,
    payload: tcp({
      sport: 40000,
      dport: 443,
      seq: 1000,
      ack: 2000,
      flags: 0x18,
      window: 512,
      payload: payload(100),
    }),
  });
}

function parse(frame: Uint8Array, linkType = LINKTYPE_ETHERNET): [PacketResult, PacketInfo] {
  const info = new PacketInfo();
  const result = parsePacket(frame, linkType, info);
  return [result, info];
}

describe("hand-built frames", () => {
  test("Ethernet IPv4 TCP: every field", () => {
    const frame = ethernet(
      0x0800,
      ipv4({
        src: "192.0.2.1",
        dst: "198.51.100.7",
        protocol: 6,
        ttl: 57,
        tos: (46 << 2) | 1,
        id: 0xbeef,
        fragment: 0x4000, // don't fragment
        options: [1, 1, 1, 0], // NOP NOP NOP EOL
        payload: tcp({
          sport: 51000,
          dport: 80,
          seq: 0xfffffff0,
          ack: 0x80000001,
          flags: 0x12,
          window: 65535,
          options: [2, 4, 5, 0xb4],
          payload: payload(30),
        }),
      }),
    );
    const [result, info] = parse(bytes(frame, new Uint8Array(6)));
    expect(result).toBe("ok");
    expect(formatSrcAddress(info)).toBe("192.0.2.1");
    expect(formatDstAddress(info)).toBe("198.51.100.7");
    expect(info).toMatchObject({
      ipVersion: 4,
      ipOffset: 14,
      src4: ip4("192.0.2.1"),
      ipLength: 24 + 24 + 30,
      capturedIpBytes: 78,
      protocol: 6,
      dscp: 46,
      ecn: 1,
      ttl: 57,
      ipId: 0xbeef,
      fragment: false,
      hasTransport: true,
      transportOffset: 38,
      srcPort: 51000,
      dstPort: 80,
      tcpSeq: 0xfffffff0,
      tcpAck: 0x80000001,
      tcpFlags: 0x12,
      tcpWindow: 65535,
      tcpHeaderLength: 24,
      tcpPayloadLength: 30,
      vlanCount: 0,
      tunnel: "none",
    });
  });

  test("a snap-length cut after the TCP header is ok; the payload length comes from the header", () => {
    const full = ethernet(0x0800, innerTcp4());
    const [result, info] = parse(full.subarray(0, 14 + 40));
    expect(result).toBe("ok");
    expect(info.ipLength).toBe(140);
    expect(info.capturedIpBytes).toBe(40);
    expect(info.tcpPayloadLength).toBe(100);
  });

  test("802.1Q, 802.1ad QinQ and 0x9100 tags", () => {
    const single = ethernet(0x8100, tagged(0x8100, 100, 0x0800, innerTcp4()).subarray(2));
    let [result, info] = parse(single);
    expect(result).toBe("ok");
    expect(info).toMatchObject({
      vlanCount: 1,
      outerVlan: 100,
      innerVlan: 0,
      srcPort: 40000,
      ipOffset: 18,
    });

    const qinq = ethernet(
      0x88a8,
      bytes(
        be16((3 << 13) | 200),
        be16(0x8100),
        be16(4094),
        be16(0x86dd),
        ipv6({ next: 17, payload: udp(53, 5353, payload(20)) }),
      ),
    );
    [result, info] = parse(qinq);
    expect(result).toBe("ok");
    expect(info).toMatchObject({
      vlanCount: 2,
      outerVlan: 200,
      innerVlan: 4094,
      ipVersion: 6,
      srcPort: 53,
      dstPort: 5353,
      ipLength: 40 + 28,
    });
    expect(formatSrcAddress(info)).toBe("2001:db8::1");

    const old = ethernet(0x9100, bytes(be16(7), be16(0x8100), be16(8), be16(0x0800), innerTcp4()));
    [result, info] = parse(old);
    expect(result).toBe("ok");
    expect(info).toMatchObject({ vlanCount: 2, outerVlan: 7, innerVlan: 8, ipLength: 140 });

    // More tags than the cap: not read as IP.
    const tags: number[] = [];
    for (let i = 0; i < 9; i++) tags.push(...be16(i + 1), ...be16(0x8100));
    [result] = parse(ethernet(0x8100, bytes(tags, innerTcp4())));
    expect(result).toBe("not-ip");
  });

  test("MPLS stacks: the top label, the count, the IP below", () => {
    let [result, info] = parse(
      ethernet(
        0x8847,
        bytes(label(16001, false), label(24, false), label(3000, true), innerTcp4()),
      ),
    );
    expect(result).toBe("ok");
    expect(info).toMatchObject({
      mplsCount: 3,
      mplsTopLabel: 16001,
      ipVersion: 4,
      ipLength: 140,
      dstPort: 443,
    });

    [result, info] = parse(
      ethernet(
        0x8100,
        bytes(
          be16(10),
          be16(0x8847),
          label(0xfffff, true),
          ipv6({ next: 58, payload: icmp(128, 0) }),
        ),
      ),
    );
    expect(result).toBe("ok");
    expect(info).toMatchObject({
      vlanCount: 1,
      outerVlan: 10,
      mplsCount: 1,
      mplsTopLabel: 0xfffff,
      ipVersion: 6,
      protocol: 58,
      icmpType: 128,
    });

    // An Ethernet pseudowire with control word (as in tcpreplay's test.pcap): the customer's
    // frame inside is the flow; its tags are not the wire's.
    const customer = ethernet(0x8100, bytes(be16(1), be16(0x0800), innerTcp4()));
    [result, info] = parse(
      ethernet(0x8847, bytes(label(19, false), label(16, true), [0, 0, 0, 0], customer)),
    );
    expect(result).toBe("ok");
    expect(info).toMatchObject({
      mplsCount: 2,
      mplsTopLabel: 19,
      mplsPseudowire: true,
      vlanCount: 0,
      ipOffset: 14 + 8 + 4 + 18,
      ipLength: 140,
    });
    // Without control word (first nibble of a MAC address), or a pseudowire in a pseudowire: not decoded.
    [result] = parse(
      ethernet(
        0x8847,
        bytes(
          label(100, true),
          ethernet(0x0800, innerTcp4()).map((v, i) => (i === 0 ? 0xcc : v)),
        ),
      ),
    );
    expect(result).toBe("not-ip");
    [result] = parse(
      ethernet(
        0x8847,
        bytes(
          label(100, true),
          [0, 0, 0, 0],
          ethernet(0x8847, bytes(label(5, true), [0, 0, 0, 0], ethernet(0x0800, innerTcp4()))),
        ),
      ),
    );
    expect(result).toBe("not-ip");

    // Nine labels without bottom of stack: more than the cap.
    const stack: number[] = [];
    for (let i = 0; i < 9; i++) stack.push(...label(100 + i, i === 8));
    [result] = parse(ethernet(0x8847, bytes(stack, innerTcp4())));
    expect(result).toBe("not-ip");
  });

  test("PPPoE session frames carry IPv4 and IPv6; control protocols are not IP", () => {
    const pppoe = (session: number, protocol: number, body: Uint8Array) =>
      ethernet(
        0x8864,
        bytes([0x11, 0], be16(session), be16(body.length + 2), be16(protocol), body),
      );
    let [result, info] = parse(pppoe(0x1234, 0x0021, innerTcp4()));
    expect(result).toBe("ok");
    expect(info).toMatchObject({
      pppoe: true,
      pppoeSession: 0x1234,
      ipVersion: 4,
      ipOffset: 22,
      ipLength: 140,
      srcPort: 40000,
    });
    [result, info] = parse(
      pppoe(7, 0x0057, ipv6({ next: 6, payload: tcp({ sport: 1, dport: 2, flags: 0x02 }) })),
    );
    expect(result).toBe("ok");
    expect(info).toMatchObject({
      pppoe: true,
      pppoeSession: 7,
      ipVersion: 6,
      tcpFlags: 0x02,
      ipLength: 60,
    });
    [result] = parse(pppoe(7, 0xc021, payload(20)));
    expect(result).toBe("not-ip");
    // Discovery (0x8863) is not a session.
    [result] = parse(ethernet(0x8863, payload(20)));
    expect(result).toBe("not-ip");
  });

  test("Linux SLL, SLL2, loopback, raw and IPv4/IPv6 link types", () => {
    const packet = innerTcp4();
    const sll = bytes(be16(0), be16(1), be16(6), MAC_A, [0, 0], be16(0x0800), packet);
    expect(parse(sll, LINKTYPE_LINUX_SLL)[1]).toMatchObject({ ipOffset: 16, ipLength: 140 });
    const sll2 = bytes(
      be16(0x8100),
      [0, 0],
      be32(3),
      be16(1),
      [4, 6],
      MAC_A,
      [0, 0],
      be16(55),
      be16(0x0800),
      packet,
    );
    const [r2, i2] = parse(sll2, LINKTYPE_LINUX_SLL2);
    expect(r2).toBe("ok");
    expect(i2).toMatchObject({ ipOffset: 24, vlanCount: 1, outerVlan: 55, srcPort: 40000 });
    expect(parse(bytes([2, 0, 0, 0], packet), LINKTYPE_NULL)[1].ipOffset).toBe(4);
    expect(
      parse(bytes([0, 0, 0, 30], ipv6({ next: 59, payload: payload(8) })), LINKTYPE_LOOP)[1],
    ).toMatchObject({
      ipVersion: 6,
      protocol: 59,
      hasTransport: false,
    });
    expect(parse(packet, LINKTYPE_RAW)[1].ipLength).toBe(140);
    expect(parse(packet, LINKTYPE_IPV4)[0]).toBe("ok");
    expect(parse(packet, LINKTYPE_IPV6)[0]).toBe("malformed");
    expect(parse(packet, 9999)[0]).toBe("unsupported-link");
  });

  test("IPv6 extension header chain: hop-by-hop, routing, destination options, AH", () => {
    const chain = extension(
      43,
      0,
      extension(
        60,
        2,
        extension(
          51,
          1,
          ah(6, 3, tcp({ sport: 22, dport: 60000, flags: 0x10, payload: payload(10) })),
        ),
      ),
    );
    const frame = ethernet(
      0x86dd,
      ipv6({ next: 0, payload: chain, trafficClass: 0xb9, flowLabel: 0xabcde, hopLimit: 3 }),
    );
    const [result, info] = parse(frame);
    expect(result).toBe("ok");
    expect(info).toMatchObject({
      ipVersion: 6,
      ipv6ExtensionHeaders: 4,
      protocol: 6,
      srcPort: 22,
      dstPort: 60000,
      tcpPayloadLength: 10,
      ipLength: 40 + 8 + 24 + 16 + 24 + 20 + 10,
      dscp: 0xb9 >> 2,
      ecn: 1,
      flowLabel: 0xabcde,
      ttl: 3,
    });
    // ESP stops the walk.
    const [r2, i2] = parse(
      ethernet(0x86dd, ipv6({ next: 0, payload: extension(50, 0, payload(40)) })),
    );
    expect(r2).toBe("ok");
    expect(i2).toMatchObject({ protocol: 50, hasTransport: false, ipv6ExtensionHeaders: 1 });
    // Nine headers: more than the cap.
    let long = udp(1, 2, payload(4));
    let next = 17;
    for (let i = 0; i < 9; i++) {
      long = extension(next, 0, long);
      next = 60;
    }
    const [r3, i3] = parse(ethernet(0x86dd, ipv6({ next: 60, payload: long })));
    expect(r3).toBe("malformed");
    expect(i3.ipVersion).toBe(6);
    // A header longer than the packet.
    expect(
      parse(ethernet(0x86dd, ipv6({ next: 0, payload: bytes([17, 4], new Uint8Array(6)) })))[0],
    ).toBe("malformed");
  });

  test("IPv4 fragments: the first has ports, the others do not", () => {
    const first = ipv4({
      src: "10.0.0.1",
      dst: "10.0.0.2",
      protocol: 17,
      id: 77,
      fragment: 0x2000,
      payload: bytes(be16(5000), be16(6000), be16(3008), [0, 0], payload(1472)),
    });
    let [result, info] = parse(ethernet(0x0800, first));
    expect(result).toBe("ok");
    expect(info).toMatchObject({
      fragment: true,
      moreFragments: true,
      fragmentOffset: 0,
      ipId: 77,
      hasTransport: true,
      srcPort: 5000,
      dstPort: 6000,
      ipLength: 1500,
    });
    const later = ipv4({
      src: "10.0.0.1",
      dst: "10.0.0.2",
      protocol: 17,
      id: 77,
      fragment: 185,
      payload: payload(1528),
    });
    [result, info] = parse(ethernet(0x0800, later));
    expect(result).toBe("ok");
    expect(info).toMatchObject({
      fragment: true,
      moreFragments: false,
      fragmentOffset: 1480,
      hasTransport: false,
      srcPort: 0,
      dstPort: 0,
      protocol: 17,
      ipLength: 1548,
    });
  });

  test("IPv6 Fragment header: the first has ports, the others do not", () => {
    const first = fragmentHeader(17, 0, true, 0xdeadbeef, udp(1111, 2222, payload(100)));
    let [result, info] = parse(ethernet(0x86dd, ipv6({ next: 44, payload: first })));
    expect(result).toBe("ok");
    expect(info).toMatchObject({
      fragment: true,
      moreFragments: true,
      fragmentOffset: 0,
      ipId: 0xdeadbeef,
      protocol: 17,
      srcPort: 1111,
      ipv6ExtensionHeaders: 1,
    });
    const later = extension(44, 0, fragmentHeader(6, 1232, false, 5, payload(64)));
    [result, info] = parse(ethernet(0x86dd, ipv6({ next: 0, payload: later })));
    expect(result).toBe("ok");
    expect(info).toMatchObject({
      fragment: true,
      moreFragments: false,
      fragmentOffset: 1232,
      protocol: 6,
      hasTransport: false,
      srcPort: 0,
      ipv6ExtensionHeaders: 2,
      ipLength: 40 + 8 + 8 + 64,
    });
  });

  test("ICMP, UDP-Lite and SCTP", () => {
    let [, info] = parse(
      ethernet(
        0x0800,
        ipv4({ src: "1.1.1.1", dst: "2.2.2.2", protocol: 1, payload: icmp(3, 4, payload(28)) }),
      ),
    );
    expect(info).toMatchObject({
      protocol: 1,
      icmpType: 3,
      icmpCode: 4,
      hasTransport: true,
      srcPort: 0,
    });
    [, info] = parse(
      ethernet(
        0x0800,
        ipv4({
          src: "1.1.1.1",
          dst: "2.2.2.2",
          protocol: 132,
          payload: bytes(be16(38412), be16(36412), new Uint8Array(8)),
        }),
      ),
    );
    expect(info).toMatchObject({ protocol: 132, srcPort: 38412, dstPort: 36412 });
    [, info] = parse(ethernet(0x86dd, ipv6({ next: 136, payload: udp(9, 10, payload(2)) })));
    expect(info).toMatchObject({ protocol: 136, srcPort: 9, dstPort: 10 });
  });

  test("VXLAN: the inner packet is the flow, the outer is kept", () => {
    const inner = ethernet(0x8100, bytes(be16(30), be16(0x0800), innerTcp4()));
    const outerPacket = ipv4({
      src: "172.16.0.1",
      dst: "172.16.0.2",
      protocol: 17,
      payload: udp(49152, 4789, vxlan(0xabcdef, inner)),
    });
    const [result, info] = parse(ethernet(0x8100, bytes(be16(5), be16(0x0800), outerPacket)));
    expect(result).toBe("ok");
    expect(formatSrcAddress(info)).toBe("10.1.1.1");
    expect(info).toMatchObject({
      tunnel: "vxlan",
      vni: 0xabcdef,
      ipVersion: 4,
      ipLength: 140,
      srcPort: 40000,
      dstPort: 443,
      tcpPayloadLength: 100,
      outerIpVersion: 4,
      outerSrc4: ip4("172.16.0.1"),
      outerDst4: ip4("172.16.0.2"),
      outerIpLength: 20 + 8 + 8 + 18 + 140,
      // The tags reported are the wire's, not the inner frame's.
      vlanCount: 1,
      outerVlan: 5,
    });
    // Over IPv6, with an inner IPv6 packet.
    const inner6 = ethernet(
      0x86dd,
      ipv6({ next: 17, src: 9, dst: 10, payload: udp(53, 53, payload(12)) }),
    );
    const [r6, i6] = parse(
      ethernet(0x86dd, ipv6({ next: 17, payload: udp(1, 4789, vxlan(1, inner6)) })),
    );
    expect(r6).toBe("ok");
    expect(i6).toMatchObject({
      tunnel: "vxlan",
      vni: 1,
      ipVersion: 6,
      ipLength: 60,
      outerIpVersion: 6,
      outerIpLength: 40 + 8 + 8 + 14 + 60,
    });
    expect(formatSrcAddress(i6)).toBe("2001:db8::9");
    expect(i6.outerSrc6).toEqual(new Uint8Array(ip6Bytes(1)));
  });

  test("VXLAN carrying ARP, or cut before the inner IP header, stays the outer UDP packet", () => {
    const arp = ethernet(0x0806, payload(28));
    const frame = ethernet(
      0x0800,
      ipv4({
        src: "172.16.0.1",
        dst: "172.16.0.2",
        protocol: 17,
        payload: udp(1, 4789, vxlan(5, arp)),
      }),
    );
    let [result, info] = parse(frame);
    expect(result).toBe("ok");
    expect(info).toMatchObject({
      tunnel: "none",
      vni: 0,
      src4: ip4("172.16.0.1"),
      dstPort: 4789,
      ipLength: 20 + 8 + 8 + 42,
    });
    const tunnelled = ethernet(
      0x0800,
      ipv4({
        src: "172.16.0.1",
        dst: "172.16.0.2",
        protocol: 17,
        payload: udp(1, 4789, vxlan(5, ethernet(0x0800, innerTcp4()))),
      }),
    );
    [result, info] = parse(tunnelled.subarray(0, 14 + 20 + 8 + 8 + 14 + 10));
    expect(result).toBe("ok");
    expect(info).toMatchObject({
      tunnel: "none",
      src4: ip4("172.16.0.1"),
      ipLength: 20 + 8 + 8 + 14 + 140,
    });
    // Inner IP header there, inner TCP header cut: the inner packet, truncated.
    [result, info] = parse(tunnelled.subarray(0, 14 + 20 + 8 + 8 + 14 + 30));
    expect(result).toBe("truncated");
    expect(info).toMatchObject({
      tunnel: "vxlan",
      src4: ip4("10.1.1.1"),
      ipLength: 140,
      hasTransport: false,
    });
  });

  test("GRE variants: IP inside, keys, sequence numbers, checksums, Ethernet bridging", () => {
    const outer = (greBody: Uint8Array) =>
      ethernet(
        0x0800,
        ipv4({ src: "100.64.0.1", dst: "100.64.0.2", protocol: 47, payload: greBody }),
      );
    let [result, info] = parse(outer(gre({ protocol: 0x0800, payload: innerTcp4() })));
    expect(result).toBe("ok");
    expect(info).toMatchObject({
      tunnel: "gre",
      greProtocol: 0x0800,
      greKeyPresent: false,
      src4: ip4("10.1.1.1"),
      ipLength: 140,
      outerIpLength: 20 + 4 + 140,
      outerSrc4: ip4("100.64.0.1"),
    });

    [result, info] = parse(
      outer(
        gre({
          protocol: 0x86dd,
          checksum: true,
          key: 0xfeedface,
          sequence: 9,
          payload: ipv6({ next: 6, payload: tcp({ sport: 3, dport: 4 }) }),
        }),
      ),
    );
    expect(result).toBe("ok");
    expect(info).toMatchObject({
      tunnel: "gre",
      greKey: 0xfeedface,
      greKeyPresent: true,
      ipVersion: 6,
      srcPort: 3,
      ipLength: 60,
      outerIpLength: 20 + 16 + 60,
    });

    [result, info] = parse(
      outer(gre({ protocol: 0x6558, key: 42, payload: ethernet(0x0800, innerTcp4()) })),
    );
    expect(result).toBe("ok");
    expect(info).toMatchObject({
      tunnel: "gre",
      greKey: 42,
      greProtocol: 0x6558,
      src4: ip4("10.1.1.1"),
      ipLength: 140,
    });

    [result, info] = parse(
      outer(gre({ protocol: 0x8847, payload: bytes(label(500, true), innerTcp4()) })),
    );
    expect(result).toBe("ok");
    expect(info).toMatchObject({ tunnel: "gre", src4: ip4("10.1.1.1"), mplsCount: 0 });

    // PPTP's enhanced GRE (version 1) is not decapsulated: the outer GRE packet is the flow.
    [result, info] = parse(
      outer(gre({ protocol: 0x880b, version: 1, key: 1, payload: payload(20) })),
    );
    expect(result).toBe("ok");
    expect(info).toMatchObject({
      tunnel: "none",
      protocol: 47,
      src4: ip4("100.64.0.1"),
      hasTransport: false,
    });
  });

  test("ERSPAN type II and III: the mirrored frame is the flow", () => {
    const mirrored = ethernet(0x0800, innerTcp4());
    const outer = (greBody: Uint8Array) =>
      ethernet(
        0x0800,
        ipv4({ src: "100.64.0.1", dst: "100.64.0.2", protocol: 47, payload: greBody }),
      );
    let [result, info] = parse(
      outer(
        gre({
          protocol: 0x88be,
          sequence: 1,
          payload: bytes([0x10, 0x05, 0, 0], [0, 0, 0, 9], mirrored),
        }),
      ),
    );
    expect(result).toBe("ok");
    expect(info).toMatchObject({ tunnel: "erspan", src4: ip4("10.1.1.1"), ipLength: 140 });
    const header3 = [0x20, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    [result, info] = parse(
      outer(
        gre({
          protocol: 0x22eb,
          sequence: 1,
          payload: bytes(header3, new Uint8Array(8), mirrored),
        }),
      ),
    );
    expect(result).toBe("ok");
    expect(info).toMatchObject({ tunnel: "erspan", src4: ip4("10.1.1.1"), dstPort: 443 });
  });

  test("one level of decapsulation only", () => {
    const innermost = ethernet(0x0800, innerTcp4());
    const middle = ethernet(
      0x0800,
      ipv4({
        src: "10.9.9.1",
        dst: "10.9.9.2",
        protocol: 17,
        payload: udp(7, 4789, vxlan(2, innermost)),
      }),
    );
    const frame = ethernet(
      0x0800,
      ipv4({
        src: "172.16.0.1",
        dst: "172.16.0.2",
        protocol: 17,
        payload: udp(7, 4789, vxlan(1, middle)),
      }),
    );
    const [result, info] = parse(frame);
    expect(result).toBe("ok");
    expect(info).toMatchObject({ tunnel: "vxlan", vni: 1, src4: ip4("10.9.9.1"), dstPort: 4789 });
  });

  test("malformed and not-IP frames", () => {
    expect(parse(ethernet(0x0806, payload(28)))[0]).toBe("not-ip");
    // 802.3 length field with LLC (spanning tree).
    expect(parse(ethernet(38, payload(38)))[0]).toBe("not-ip");
    const bad = ethernet(0x0800, innerTcp4());
    bad[14] = 0x44; // IHL 4
    expect(parse(bad)[0]).toBe("malformed");
    const six = ethernet(0x0800, innerTcp4());
    six[14] = 0x65;
    expect(parse(six)[0]).toBe("malformed");
    const jumbo = ethernet(0x86dd, ipv6({ next: 17, payload: udp(1, 2, payload(4)) }));
    jumbo[18] = 0;
    jumbo[19] = 0;
    expect(parse(jumbo)[0]).toBe("malformed");
    // TCP data offset past the IP length: counted (IP header fine), but malformed.
    const lying = ethernet(
      0x0800,
      ipv4({ src: "1.1.1.1", dst: "2.2.2.2", protocol: 6, payload: tcp({ sport: 1, dport: 2 }) }),
    );
    lying[14 + 20 + 12] = 0xf0;
    const [r, info] = parse(lying);
    expect(r).toBe("malformed");
    expect(info).toMatchObject({ ipVersion: 4, ipLength: 40, srcPort: 1 });
  });
});

// ---------------------------------------------------------------------------------------------
// Robustness: every prefix, and mutated frames.

/** A view of `frame` that throws on any read outside it (what a bounds slip would do). */
function guarded(frame: Uint8Array): Uint8Array {
  return new Proxy(frame, {
    get(target, property) {
      if (typeof property === "string" && /^-?\d+$/.test(property)) {
        const index = Number(property);
        if (index < 0 || index >= target.length)
          throw new RangeError(`read at ${index} of ${target.length}`);
        return target[index];
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Field ranges that hold for any input. */
function checkBounds(result: PacketResult, info: PacketInfo, length: number): void {
  expect(packetResults).toContain(result);
  expect([0, 4, 6]).toContain(info.ipVersion);
  expect(["none", "vxlan", "gre", "erspan"]).toContain(info.tunnel);
  if (info.ipVersion !== 0) {
    expect(info.ipOffset).toBeLessThan(length);
    expect(info.ipLength).toBeGreaterThanOrEqual(20);
    expect(info.ipLength).toBeLessThanOrEqual(65535 + 40);
    expect(info.capturedIpBytes).toBeLessThanOrEqual(
      Math.min(info.ipLength, length - info.ipOffset),
    );
    expect(info.capturedIpBytes).toBeGreaterThan(0);
  } else {
    expect(info.ipLength).toBe(0);
  }
  if (info.hasTransport) expect(info.transportOffset).toBeLessThan(length);
  for (const v of [info.srcPort, info.dstPort, info.tcpWindow])
    expect(v >= 0 && v <= 0xffff).toBe(true);
  for (const v of [info.tcpSeq, info.tcpAck, info.src4, info.dst4])
    expect(v >= 0 && v <= 0xffffffff).toBe(true);
  expect(info.tcpPayloadLength).toBeGreaterThanOrEqual(0);
  expect(info.vlanCount).toBeLessThanOrEqual(8);
  expect(info.mplsCount).toBeLessThanOrEqual(8);
  expect(info.ipv6ExtensionHeaders).toBeLessThanOrEqual(8);
  if (info.tunnel !== "none") expect(info.outerIpLength).toBeGreaterThan(0);
}

async function realFrames(): Promise<Frame[]> {
  const frames: Frame[] = [];
  for (const name of COMPARED) frames.push(...(await loadFrames(join(PACKETS, `${name}.pcap`))));
  frames.push(...(await loadFrames(join(PACKETS, "debian-gopacket__test_loopback.pcap"))));
  frames.push(...(await loadFrames(join(PACKETS, "tcpdump__tcp-handshake-nano.pcap"))));
  return frames;
}

function builtFrames(): Frame[] {
  const e = (data: Uint8Array): Frame => ({ linkType: LINKTYPE_ETHERNET, data });
  const outer4 = (proto: number, body: Uint8Array) =>
    ipv4({ src: "100.64.0.1", dst: "100.64.0.2", protocol: proto, payload: body });
  return [
    e(ethernet(0x88a8, bytes(be16(1), be16(0x8100), be16(2), be16(0x0800), innerTcp4()))),
    e(
      ethernet(
        0x8847,
        bytes(
          label(1, false),
          label(2, true),
          ipv6({
            next: 0,
            payload: extension(44, 0, fragmentHeader(6, 0, true, 1, tcp({ sport: 1, dport: 2 }))),
          }),
        ),
      ),
    ),
    e(ethernet(0x8864, bytes([0x11, 0], be16(1), be16(142), be16(0x0021), innerTcp4()))),
    e(
      ethernet(
        0x0800,
        outer4(
          17,
          udp(
            1,
            4789,
            vxlan(
              3,
              ethernet(0x86dd, ipv6({ next: 51, payload: ah(17, 1, udp(5, 6, payload(3))) })),
            ),
          ),
        ),
      ),
    ),
    e(
      ethernet(
        0x0800,
        outer4(
          47,
          gre({
            protocol: 0x6558,
            checksum: true,
            key: 1,
            sequence: 2,
            payload: ethernet(0x0800, innerTcp4()),
          }),
        ),
      ),
    ),
    e(
      ethernet(
        0x0800,
        outer4(
          47,
          gre({
            protocol: 0x22eb,
            sequence: 1,
            payload: bytes(
              [0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
              new Uint8Array(8),
              ethernet(0x0800, innerTcp4()),
            ),
          }),
        ),
      ),
    ),
    {
      linkType: LINKTYPE_LINUX_SLL2,
      data: bytes(be16(0x86dd), new Uint8Array(18), ipv6({ next: 58, payload: icmp(1, 4) })),
    },
  ];
}

describe("robustness", () => {
  test("every prefix of every frame: a result, no read past the end, the IP fields of the whole frame", async () => {
    const frames = [...builtFrames(), ...(await realFrames()).filter((_, i) => i % 32 === 0)];
    const full = new PacketInfo();
    const info = new PacketInfo();
    for (const f of frames) {
      const whole = parsePacket(f.data, f.linkType, full);
      expect(whole).not.toBe("malformed");
      // Headers end well within 200 bytes; longer prefixes only cut payload.
      const length = f.data.byteLength;
      for (let n = 0; n <= length; n = n < 200 ? n + 1 : n < length ? length : n + 1) {
        const cut = f.data.subarray(0, n);
        let result: PacketResult;
        try {
          result = parsePacket(guarded(cut), f.linkType, info);
        } catch (error) {
          throw new Error(
            `prefix ${n} of ${Buffer.from(f.data).toString("hex")}: ${String(error)}`,
          );
        }
        checkBounds(result, info, n);
        if (n === length) expect(result).toBe(whole);
        // Once the IP header is in, the flow and its length are those of the whole frame
        // (but a cut tunnel can fall back to its outer packet).
        if (info.ipVersion !== 0 && info.tunnel === full.tunnel) {
          if (
            info.ipLength !== full.ipLength ||
            info.src4 !== full.src4 ||
            info.src6.some((v, i) => v !== full.src6[i])
          ) {
            expect({ n, ipLength: info.ipLength, src4: info.src4 }).toEqual({
              n,
              ipLength: full.ipLength,
              src4: full.src4,
            });
          }
        }
      }
    }
  });

  test("a frame given as a range of a larger array (replay's chunks): same fields, offsets in the array, no read outside the range", async () => {
    const frames = [...builtFrames(), ...(await realFrames()).filter((_, i) => i % 32 === 0)];
    const alone = new PacketInfo();
    const inPlace = new PacketInfo();
    const before = 13;
    for (const f of frames) {
      // Every prefix up to 120 bytes (cut headers) and the whole frame.
      for (let n = 0; n <= f.data.byteLength; n = n < 120 ? n + 1 : f.data.byteLength + 1) {
        const frame = f.data.subarray(0, Math.min(n, f.data.byteLength));
        const chunk = new Uint8Array(before + frame.byteLength + 40).fill(0x45);
        chunk.set(frame, before);
        const end = before + frame.byteLength;
        const inRange = new Proxy(chunk, {
          get(target, property) {
            if (typeof property === "string" && /^-?\d+$/.test(property)) {
              const index = Number(property);
              if (index < before || index >= end)
                throw new RangeError(`read at ${index} outside [${before}, ${end})`);
              return target[index];
            }
            const value = Reflect.get(target, property, target);
            return typeof value === "function" ? value.bind(target) : value;
          },
        });
        const expected = parsePacket(frame, f.linkType, alone);
        expect(parsePacket(inRange, f.linkType, inPlace, before, end)).toBe(expected);
        const shifted = { ...alone };
        if (alone.ipVersion !== 0) shifted.ipOffset += before;
        if (alone.hasTransport || alone.transportOffset !== 0) shifted.transportOffset += before;
        expect({ ...inPlace }).toEqual(shifted);
      }
    }
  });

  test("20k mutated real frames: never throws, fields in range", async () => {
    const corpus = [...builtFrames(), ...(await realFrames())];
    const rng = createRng(0x5eed);
    const work = new Uint8Array(65536 + 512);
    const info = new PacketInfo();
    const results = new Map<PacketResult, number>();
    const linkTypes = [
      LINKTYPE_ETHERNET,
      LINKTYPE_RAW,
      LINKTYPE_LINUX_SLL,
      LINKTYPE_LINUX_SLL2,
      LINKTYPE_NULL,
      LINKTYPE_IPV4,
      LINKTYPE_IPV6,
    ];
    for (let i = 0; i < 20_000; i++) {
      const f = corpus[rng.below(corpus.length)]!;
      const donor = corpus[rng.below(corpus.length)]!.data;
      const mutant = mutateFrame(rng, f.data, donor, work);
      const linkType = rng.below(16) === 0 ? linkTypes[rng.below(linkTypes.length)]! : f.linkType;
      let result: PacketResult = "ok";
      try {
        result = parsePacket(mutant, linkType, info);
      } catch (error) {
        throw new Error(`mutant ${i} threw: ${String(error)}`);
      }
      results.set(result, (results.get(result) ?? 0) + 1);
      if (i % 8 === 0) checkBounds(result, info, mutant.byteLength);
    }
    // The mutants reach every outcome, and most still parse.
    expect((results.get("ok") ?? 0) > 5000).toBe(true);
    expect(results.get("truncated")).toBeGreaterThan(0);
    expect(results.get("malformed")).toBeGreaterThan(0);
    expect(results.get("not-ip")).toBeGreaterThan(0);
  });
});

/** Headers sit in the first bytes: mutate there most of the time, anywhere otherwise. */
function headerBytes(rng: Rng, buf: Uint8Array, len: number): number {
  if (len === 0) return 0;
  const span = Math.min(len, 96);
  const count = 1 + rng.below(3);
  for (let k = 0; k < count; k++) {
    const pick = rng.below(4);
    buf[rng.below(span)] =
      pick === 0 ? 0 : pick === 1 ? 0xff : pick === 2 ? rng.below(16) : rng.below(256);
  }
  return len;
}

const packetMutations: readonly Mutation[] = [
  headerBytes,
  headerBytes,
  headerBytes,
  ...reshapingMutations,
];

function mutateFrame(rng: Rng, input: Uint8Array, donor: Uint8Array, work: Uint8Array): Uint8Array {
  let len = Math.min(input.byteLength, work.length - 1024);
  work.set(input.subarray(0, len));
  const count = 1 + rng.below(3);
  for (let k = 0; k < count; k++) {
    len = packetMutations[rng.below(packetMutations.length)]!(rng, work, len, donor);
    len = Math.min(len, work.length - 1024);
  }
  return work.subarray(0, len);
}

describe("sFlow raw packet headers: the same values tshark decodes", () => {
  const file = join(PACKETS, "sflow-headers", "tshark.json");
  const samples = JSON.parse(readFileSync(file, "utf8")) as Record<
    string,
    { tshark_fields: Record<string, string>; header_hex: string }
  >;
  /** The last occurrence of a field (the sampled packet's, not the sFlow datagram's). */
  const last = (fields: Record<string, string>, name: string) =>
    fields[name]?.split(",").at(-1) ?? "";

  test("VXLAN sample cut at 128 bytes: the inner IPv6 packet, the outer kept", () => {
    const sample = samples["akvorado__data-encap-vxlan.pcap"]!;
    const t = sample.tshark_fields;
    const frame = Uint8Array.from(Buffer.from(sample.header_hex, "hex"));
    expect(frame.byteLength).toBe(Number(t["sflow_245.header.sampled_header_length"]));
    const [result, info] = parse(frame, LINKTYPE_ETHERNET);
    expect(result).toBe("ok");
    expect({
      tunnel: info.tunnel,
      vni: info.vni,
      src: formatSrcAddress(info),
      dst: formatDstAddress(info),
      ipLength: info.ipLength,
      protocol: info.protocol,
      icmpType: info.icmpType,
      outerSrc: formatIPv4Number(info.outerSrc4),
      outerDst: formatIPv4Number(info.outerDst4),
      outerIpLength: info.outerIpLength,
    }).toEqual({
      tunnel: "vxlan",
      vni: Number(t["vxlan.vni"]),
      src: t["ipv6.src"],
      dst: t["ipv6.dst"],
      ipLength: Number(t["ipv6.plen"]) + 40,
      protocol: Number(t["ipv6.nxt"]),
      icmpType: Number(t["icmpv6.type"]),
      outerSrc: last(t, "ip.src"),
      outerDst: last(t, "ip.dst"),
      outerIpLength: Number(last(t, "ip.len")),
    });
    expect(last(t, "udp.dstport")).toBe("4789");
  });

  test("QinQ sample: both VLAN ids and the IPv4 TCP packet", () => {
    const sample = samples["akvorado__data-qinq.pcap"]!;
    const t = sample.tshark_fields;
    const [result, info] = parse(Uint8Array.from(Buffer.from(sample.header_hex, "hex")));
    expect(result).toBe("ok");
    expect({
      vlans: [info.outerVlan, info.innerVlan].join(","),
      src: formatSrcAddress(info),
      dst: formatDstAddress(info),
      ipLength: info.ipLength,
      protocol: info.protocol,
      srcPort: info.srcPort,
      dstPort: info.dstPort,
    }).toEqual({
      vlans: t["vlan.id"],
      src: last(t, "ip.src"),
      dst: last(t, "ip.dst"),
      ipLength: Number(last(t, "ip.len")),
      protocol: Number(last(t, "ip.proto")),
      srcPort: Number(t["tcp.srcport"]),
      dstPort: Number(t["tcp.dstport"]),
    });
  });
});
