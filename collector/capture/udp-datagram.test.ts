import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type CapturedPacket, createCaptureParser } from "./capture-file.js";
import {
  createUdpDatagram,
  extractUdp,
  formatIPv4,
  formatIPv6,
  parseUdpFrame,
  type UdpDatagram,
  type UdpFrameResult,
} from "./udp-datagram.js";

const fixtures = fileURLToPath(new URL("../../test/fixtures/", import.meta.url));

interface ExpectedFlowFile {
  file: string;
  frames: number;
  link: string;
  udp_ports: Record<string, string>;
  cflow?: { pdus: number; exporters: string[] };
  sflow?: { datagrams: number; agents: string[] };
}

const expectedFlows = JSON.parse(
  readFileSync(`${fixtures}flows/expected-flows.json`, "utf8"),
) as ExpectedFlowFile[];

function eachPacket(file: string, onPacket: (p: CapturedPacket) => void): void {
  const parser = createCaptureParser(onPacket);
  parser.push(readFileSync(`${fixtures}${file}`));
  parser.end();
}

interface Datagram {
  srcAddress: string;
  srcPort: number;
  dstAddress: string;
  dstPort: number;
  ipVersion: 4 | 6;
  payload: Uint8Array;
}

function datagrams(file: string): { frames: number; udp: Datagram[]; reasons: string[] } {
  const out = createUdpDatagram();
  const udp: Datagram[] = [];
  const reasons: string[] = [];
  let frames = 0;
  eachPacket(file, (p) => {
    frames++;
    const reason = parseUdpFrame(p.linkType, p.data, out);
    if (reason === "udp") udp.push({ ...out, payload: out.payload.slice() });
    else reasons.push(reason);
  });
  return { frames, udp, reasons };
}

const u16 = (b: Uint8Array) => (b.byteLength >= 2 ? (b[0]! << 8) | b[1]! : -1);
const isNetflow = (d: Datagram) => [5, 9, 10].includes(u16(d.payload));
// sFlow v5 starts with a 32-bit version, so its first two bytes are 0 and never look like NetFlow.
const isSflow = (d: Datagram) =>
  d.payload.byteLength >= 4 && u16(d.payload) === 0 && u16(d.payload.subarray(2)) === 5;

describe("the flow captures", () => {
  it.each(expectedFlows)("$file", (expected) => {
    const { frames, udp, reasons } = datagrams(expected.file);
    expect(frames).toBe(expected.frames);
    // Every frame is a complete UDP datagram to a known collector port, except the 3 BGP
    // (TCP) frames that open pmacct__500 (pmacct correlates the flows with that BGP feed).
    const tcp = expected.file.startsWith("flows/ipfix/pmacct__500-") ? 3 : 0;
    expect(reasons).toEqual(Array(tcp).fill("not-udp"));
    expect(udp).toHaveLength(frames - tcp);
    for (const d of udp) expect(Object.keys(expected.udp_ports)).toContain(String(d.dstPort));

    const netflow = udp.filter(isNetflow);
    if (expected.file === "flows/sflow/tcpdump__sflow_multiple_counter_30_pdus.pcap") {
      // The README's mixed file: 25 sFlow v5 datagrams and 5 NetFlow v5 exports, all on port
      // 6343. tshark decodes port 6343 as sFlow only, so the reference has no `cflow` entry;
      // the 5 others are the frames it could not read as sFlow.
      expect(expected.cflow).toBeUndefined();
      expect(netflow.map((d) => u16(d.payload))).toEqual([5, 5, 5, 5, 5]);
      expect(netflow).toHaveLength(expected.frames - expected.sflow!.datagrams);
    } else {
      expect(netflow).toHaveLength(expected.cflow?.pdus ?? 0);
    }
    if (expected.cflow) {
      // The reference's exporters also include addresses exporters put in their records
      // (IE 130/131), so the UDP sources are a subset of them.
      for (const d of netflow) expect(expected.cflow.exporters).toContain(d.srcAddress);
    }
    if (expected.sflow) expect(udp.filter(isSflow)).toHaveLength(expected.sflow.datagrams);
  });

  it("finds IPv6 exports behind Linux SLL (pmacct__112)", () => {
    const file = "flows/ipfix/pmacct__112-IPFIXv10-CISCO-options-map-reassignment__traffic-00.pcap";
    const linkTypes = new Set<number>();
    eachPacket(file, (p) => linkTypes.add(p.linkType));
    expect([...linkTypes]).toEqual([113]);
    const { udp } = datagrams(file);
    expect(udp).toHaveLength(21);
    expect(new Set(udp.map((d) => `${d.ipVersion} ${d.srcAddress} ${d.srcPort}`))).toEqual(
      new Set(["6 2001:db8:90::1 61853", "6 2001:db8:90::1 65156"]),
    );
    // The collectors are in 2a02:a90:4007::/48.
    expect(new Set(udp.map((d) => `${d.dstAddress} ${d.dstPort}`))).toEqual(
      new Set(["2a02:a90:4007::2:20 9991", "2a02:a90:4007::2:2 9991"]),
    );
    expect(udp.every((d) => u16(d.payload) === 10)).toBe(true);
  });

  it("finds an IPv4 export behind Ethernet (akvorado__nfv5)", () => {
    const { udp } = datagrams("flows/netflow-v5/akvorado__nfv5.pcap");
    expect(udp).toHaveLength(1);
    const d = udp[0]!;
    expect(d).toMatchObject({
      ipVersion: 4,
      srcAddress: "10.19.144.41",
      srcPort: 40000,
      dstAddress: "10.19.144.26",
      dstPort: 9990,
    });
    // v5: 24-byte header + 29 records of 48 bytes.
    expect(d.payload.byteLength).toBe(24 + 29 * 48);
    expect(u16(d.payload.subarray(2))).toBe(29);
  });
});

// --- synthetic frames ------------------------------------------------------------------------

const payload = Uint8Array.from([0, 9, 0, 1, 2, 3]);

function udpHeader(length: number): number[] {
  return [0x9c, 0x40, 0x08, 0x07, length >> 8, length & 0xff, 0, 0];
}

function ipv4(opts: { flags?: number; ihl?: number; proto?: number; data?: number[] } = {}) {
  const ihl = opts.ihl ?? 5;
  const data = opts.data ?? [...udpHeader(8 + payload.byteLength), ...payload];
  const total = ihl * 4 + data.length;
  const header = [0x40 | ihl, 0, total >> 8, total & 0xff, 0, 1, ...u16be(opts.flags ?? 0x4000)];
  header.push(64, opts.proto ?? 17, 0, 0, 192, 0, 2, 1, 198, 51, 100, 7);
  while (header.length < ihl * 4) header.push(1); // NOP options
  return [...header, ...data];
}

function u16be(v: number): number[] {
  return [v >> 8, v & 0xff];
}

function ipv6(extensions: number[][] = [], firstNext = 17, data?: number[]) {
  const body = [...extensions.flat(), ...(data ?? [...udpHeader(8 + 6), ...payload])];
  const src = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
  const dst = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55];
  return [0x60, 0, 0, 0, ...u16be(body.length), firstNext, 64, ...src, ...dst, ...body];
}

const mac = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const ether = (type: number, ip: number[]) => Uint8Array.from([...mac, ...u16be(type), ...ip]);

function check(linkType: number, frame: Uint8Array | number[]): UdpFrameResult {
  const out = createUdpDatagram();
  return parseUdpFrame(linkType, Uint8Array.from(frame), out);
}

function extract(linkType: number, frame: Uint8Array | number[]): UdpDatagram {
  const out = createUdpDatagram();
  expect(parseUdpFrame(linkType, Uint8Array.from(frame), out)).toBe("udp");
  return out;
}

describe("link layers", () => {
  const v4 = { ipVersion: 4, srcAddress: "192.0.2.1", dstAddress: "198.51.100.7" };
  const v6 = { ipVersion: 6, srcAddress: "2001:db8::1", dstAddress: "fe80::211:22ff:fe33:4455" };
  const ports = { srcPort: 40000, dstPort: 2055 };

  it("Ethernet, with stacked 802.1ad / 802.1Q tags", () => {
    expect(extract(1, ether(0x0800, ipv4()))).toMatchObject({ ...v4, ...ports, payload });
    expect(extract(1, ether(0x86dd, ipv6()))).toMatchObject({ ...v6, ...ports, payload });
    const tagged = [...mac, 0x88, 0xa8, 0, 10, 0x81, 0x00, 0, 20, 0x08, 0x00, ...ipv4()];
    expect(extract(1, tagged)).toMatchObject(v4);
    const old = [...mac, 0x91, 0x00, 0, 10, 0x81, 0x00, 0, 20, 0x86, 0xdd, ...ipv6()];
    expect(extract(1, old)).toMatchObject(v6);
    expect(check(1, ether(0x0806, Array(28).fill(0)))).toBe("not-ip");
    const deep = [...mac, ...Array(9).fill([0x81, 0x00, 0, 1]).flat(), 0x08, 0x00, ...ipv4()];
    expect(check(1, deep)).toBe("not-ip");
  });

  it("bounds the datagram by the IP length, not Ethernet padding", () => {
    const padded = Uint8Array.from([...ether(0x0800, ipv4()), ...Array(20).fill(0xee)]);
    expect(extract(1, padded).payload).toEqual(payload);
  });

  it("Linux SLL and SLL2", () => {
    const sll = [0, 0, 0, 1, 0, 6, 0, 1, 2, 3, 4, 5, 0, 0, 0x08, 0x00];
    expect(extract(113, [...sll, ...ipv4()])).toMatchObject(v4);
    const sll2 = [0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 0, 1, 2, 3, 4, 5, 0, 0];
    expect(extract(276, [...sll2, ...ipv6()])).toMatchObject(v6);
  });

  it.each([
    [0, [2, 0, 0, 0], v4],
    [0, [0, 0, 0, 2], v4],
    [108, [0, 0, 0, 2], v4],
    [108, [2, 0, 0, 0], v4],
    [0, [10, 0, 0, 0], v6],
    [0, [24, 0, 0, 0], v6],
    [0, [0, 0, 0, 28], v6],
    [108, [0, 0, 0, 30], v6],
  ])("loopback link %i with family bytes %j", (linkType, family, expected) => {
    const ip = expected.ipVersion === 4 ? ipv4() : ipv6();
    expect(extract(linkType, [...family, ...ip])).toMatchObject(expected);
  });

  it("rejects an unknown loopback family", () => {
    expect(check(0, [7, 0, 0, 0, ...ipv4()])).toBe("not-ip");
  });

  it("raw IP link types", () => {
    expect(extract(101, ipv4())).toMatchObject(v4);
    expect(extract(101, ipv6())).toMatchObject(v6);
    expect(extract(12, ipv4())).toMatchObject(v4);
    expect(extract(228, ipv4())).toMatchObject(v4);
    expect(extract(229, ipv6())).toMatchObject(v6);
    expect(check(228, ipv6())).toBe("bad-header");
    expect(check(229, ipv4())).toBe("bad-header");
    expect(check(101, [0x50, ...ipv4().slice(1)])).toBe("not-ip");
    expect(check(147, ipv4())).toBe("unsupported-link");
  });
});

describe("IPv4", () => {
  it("honours the IHL", () => {
    expect(extract(101, ipv4({ ihl: 7 })).payload).toEqual(payload);
    expect(check(101, ipv4({ ihl: 4 }))).toBe("bad-header");
  });

  it.each([
    ["more fragments", 0x2000],
    ["a later fragment", 0x00b9],
    ["the last fragment", 0x0010],
  ])("says %s is a fragment", (_name, flags) => {
    expect(check(101, ipv4({ flags }))).toBe("fragment");
    expect(extractUdp(101, Uint8Array.from(ipv4({ flags })), createUdpDatagram())).toBe(false);
  });

  it("is not UDP", () => {
    expect(check(101, ipv4({ proto: 6 }))).toBe("not-udp");
  });

  it("bounds the payload by the UDP length", () => {
    const data = [...udpHeader(8 + 2), ...payload];
    expect(extract(101, ipv4({ data })).payload).toEqual(payload.subarray(0, 2));
    expect(check(101, ipv4({ data: [...udpHeader(7), ...payload] }))).toBe("bad-header");
    expect(check(101, ipv4({ data: [...udpHeader(8 + 7), ...payload] }))).toBe("bad-header");
    expect(check(101, ipv4({ data: [...udpHeader(8)] }))).toBe("udp");
  });
});

describe("IPv6", () => {
  const hopByHop = [60, 0, 1, 4, 0, 0, 0, 0]; // next: destination options
  const destination = [43, 1, ...Array(14).fill(0)]; // next: routing, 16 bytes
  const routing = [17, 0, 0, 0, 0, 0, 0, 0]; // next: UDP

  it("walks hop-by-hop, destination options and routing headers", () => {
    const d = extract(101, ipv6([hopByHop, destination, routing], 0));
    expect(d.payload).toEqual(payload);
  });

  it("says a Fragment header is a fragment", () => {
    const fragment = [17, 0, 0, 1, 0, 0, 0, 42];
    expect(check(101, ipv6([fragment], 44))).toBe("fragment");
    expect(check(101, ipv6([[44, ...routing.slice(1)]], 43))).toBe("fragment");
  });

  it("stops at other next headers and at an extension that overruns", () => {
    expect(check(101, ipv6([], 6))).toBe("not-udp");
    expect(check(101, ipv6([], 59, [0, 0, 0, 0]))).toBe("not-udp");
    expect(check(101, ipv6([], 17, []))).toBe("bad-header"); // a jumbogram's payload length
    expect(check(101, ipv6([[17, 4, 0, 0, 0, 0, 0, 0]], 0))).toBe("bad-header");
  });
});

describe("truncated and malformed frames", () => {
  const frames: [number, Uint8Array][] = [
    [1, ether(0x0800, ipv4())],
    [1, ether(0x86dd, ipv6([[17, 0, 0, 0, 0, 0, 0, 0]], 60))],
    [1, Uint8Array.from([...mac, 0x81, 0, 0, 1, 0x08, 0, ...ipv4()])],
    [113, Uint8Array.from([...Array(14).fill(0), 0x08, 0x00, ...ipv4()])],
    [276, Uint8Array.from([0x86, 0xdd, ...Array(18).fill(0), ...ipv6()])],
    [0, Uint8Array.from([2, 0, 0, 0, ...ipv4({ ihl: 6 })])],
  ];

  it.each(frames)("link %i cut at every length says why, never throws", (linkType, frame) => {
    const out = createUdpDatagram();
    expect(parseUdpFrame(linkType, frame, out)).toBe("udp");
    for (let length = 0; length < frame.byteLength; length++) {
      const result = parseUdpFrame(linkType, frame.subarray(0, length), out);
      expect(result, `length ${length}`).toBe("truncated");
    }
  });

  it("random bytes never throw", () => {
    let seed = 1;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const out = createUdpDatagram();
    for (let i = 0; i < 5000; i++) {
      const base = frames[i % frames.length]!;
      const frame = base[1].slice(0, Math.floor(random() * (base[1].byteLength + 1)));
      for (let k = 0; k < 3; k++) frame[Math.floor(random() * frame.byteLength)] = random() * 256;
      for (const linkType of [0, 1, 12, 101, 108, 113, 228, 229, 276]) {
        const result = parseUdpFrame(linkType, frame, out);
        if (result === "udp") {
          expect(out.payload.byteOffset + out.payload.byteLength).toBeLessThanOrEqual(
            frame.byteOffset + frame.byteLength,
          );
        }
      }
    }
  });
});

describe("address text", () => {
  it("formats IPv4 at an offset", () => {
    expect(formatIPv4(Uint8Array.from([9, 10, 0, 255, 1]), 1)).toBe("10.0.255.1");
  });

  const canonical = (bytes: Uint8Array) => {
    const groups = Array.from({ length: 8 }, (_, i) =>
      ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16),
    );
    return new URL(`http://[${groups.join(":")}]/`).hostname.slice(1, -1);
  };

  it.each([
    ["::", [0, 0, 0, 0, 0, 0, 0, 0]],
    ["::1", [0, 0, 0, 0, 0, 0, 0, 1]],
    ["1::", [1, 0, 0, 0, 0, 0, 0, 0]],
    ["2001:db8::1", [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]],
    // A single zero group is not compressed.
    ["2001:db8:0:1:1:1:1:1", [0x2001, 0xdb8, 0, 1, 1, 1, 1, 1]],
    // The longest run wins; on a tie, the leftmost.
    ["2001:0:0:1::1", [0x2001, 0, 0, 1, 0, 0, 0, 1]],
    ["1::1:1:0:0:1", [1, 0, 0, 1, 1, 0, 0, 1]],
    ["fe80::abcd:ef", [0xfe80, 0, 0, 0, 0, 0, 0xabcd, 0xef]],
    ["::ffff:a00:1", [0, 0, 0, 0, 0, 0xffff, 0x0a00, 1]],
  ])("writes %s", (text, groups) => {
    const bytes = Uint8Array.from(groups.flatMap((g) => [g >> 8, g & 0xff]));
    expect(formatIPv6(bytes, 0)).toBe(text);
    expect(canonical(bytes)).toBe(text);
  });

  it("agrees with Node's URL canonicalisation on random addresses with zero runs", () => {
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const buffer = new Uint8Array(20);
    for (let i = 0; i < 600; i++) {
      const bytes = buffer.subarray(3, 19);
      const zeroChance = [0, 0.3, 0.5, 0.8][i % 4]!;
      for (let g = 0; g < 8; g++) {
        const zero = random() < zeroChance;
        const small = random() < 0.3;
        const value = zero ? 0 : Math.floor(random() * (small ? 16 : 65536));
        bytes[2 * g] = value >> 8;
        bytes[2 * g + 1] = value & 0xff;
      }
      expect(formatIPv6(buffer, 3)).toBe(canonical(bytes));
    }
  });
});
