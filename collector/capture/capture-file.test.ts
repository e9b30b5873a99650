import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createRng } from "../../test/fuzz/mutate.js";
import {
  type CapturedPacket,
  type CaptureErrorCode,
  type CaptureParserStats,
  createCaptureParser,
  emptyCaptureErrorCounts,
} from "./capture-file.js";
import { readCaptureFile } from "./capture-reader.js";

const fixtures = fileURLToPath(new URL("../../test/fixtures/", import.meta.url));

interface ExpectedFlowFile {
  file: string;
  frames: number;
}

const expectedFlows = JSON.parse(
  readFileSync(`${fixtures}flows/expected-flows.json`, "utf8"),
) as ExpectedFlowFile[];

const packetFiles = [
  { file: "packets/ndpi__http.pcapng", frames: 10 },
  { file: "packets/ndpi__sites.pcapng", frames: 699 },
  { file: "packets/tcpdump__tcp-handshake-nano.pcap", frames: 3 },
];

function load(file: string): Uint8Array {
  return readFileSync(`${fixtures}${file}`);
}

/** A packet copied out of the callback (its data view is only valid during the call). */
interface Packet {
  linkType: number;
  tsSec: number;
  tsNsec: number;
  capturedLength: number;
  originalLength: number;
  interfaceId: number;
  data: Uint8Array;
}

interface Parsed {
  packets: Packet[];
  stats: CaptureParserStats;
}

function copy(p: CapturedPacket): Packet {
  return { ...p, data: p.data.slice() };
}

/** Feeds `input` in chunks whose sizes `nextSize` picks, then ends the file. */
function parse(input: Uint8Array, nextSize: () => number = () => input.byteLength): Parsed {
  const packets: Packet[] = [];
  const parser = createCaptureParser((p) => packets.push(copy(p)));
  for (let off = 0; off < input.byteLength; ) {
    const size = Math.max(1, nextSize());
    parser.push(input.subarray(off, off + size));
    off += size;
  }
  parser.end();
  return { packets, stats: parser.stats };
}

function errorsOf(stats: CaptureParserStats): Partial<Record<CaptureErrorCode, number>> {
  return Object.fromEntries(Object.entries(stats.errors).filter(([, n]) => n > 0));
}

/** One string per file that changes if any field or byte of any packet changes. */
function digest(packets: Packet[]): string {
  const hash = createHash("sha256");
  for (const p of packets) {
    hash.update(
      `${p.linkType},${p.tsSec},${p.tsNsec},${p.capturedLength},${p.originalLength},${p.interfaceId};`,
    );
    hash.update(p.data);
  }
  return `${packets.length}:${hash.digest("hex")}`;
}

describe("real captures", () => {
  it.each(expectedFlows)("$file has $frames frames", ({ file, frames }) => {
    const { packets, stats } = parse(load(file));
    expect(packets).toHaveLength(frames);
    expect(errorsOf(stats)).toEqual({});
    expect(stats.format).toBe("pcap");
    expect(stats.packetBytes).toBe(packets.reduce((sum, p) => sum + p.capturedLength, 0));
    for (const p of packets) expect(p.data.byteLength).toBe(p.capturedLength);
  });

  it.each(packetFiles)("$file has $frames frames", ({ file, frames }) => {
    const { packets, stats } = parse(load(file));
    expect(packets).toHaveLength(frames);
    expect(errorsOf(stats)).toEqual({});
  });

  it("reads the nanosecond pcap with its sub-microsecond digits (Linux SLL)", () => {
    const { packets, stats } = parse(load("packets/tcpdump__tcp-handshake-nano.pcap"));
    expect(stats.format).toBe("pcap");
    expect(packets.map((p) => p.linkType)).toEqual([113, 113, 113]);
    // tcpdump's own expected output: 1418145369.924505488 (the first SYN).
    expect(packets[0]).toMatchObject({ tsSec: 1418145369, tsNsec: 924505488 });
    expect(packets.some((p) => p.tsNsec % 1000 !== 0)).toBe(true);
  });

  it("reads a pcapng with nanosecond interfaces and skips its statistics block", () => {
    const { packets, stats } = parse(load("packets/ndpi__http.pcapng"));
    expect(stats.format).toBe("pcapng");
    expect(packets[0]).toMatchObject({ linkType: 1, interfaceId: 0, capturedLength: 74 });
    expect(packets[0]).toMatchObject({ tsSec: 1643129441, tsNsec: 23341461 });
  });

  it("applies each interface's resolution in a merged pcapng (22 interfaces, 10^-6 and 10^-9)", () => {
    const { packets } = parse(load("packets/ndpi__sites.pcapng"));
    const at = (frame: number) => {
      const p = packets[frame - 1]!;
      return `${p.interfaceId} ${p.tsSec}.${String(p.tsNsec).padStart(9, "0")}`;
    };
    // Reference values from `tshark -T fields -e frame.interface_id -e frame.time_epoch`.
    expect(at(1)).toBe("8 1595957694.169758000");
    expect(at(256)).toBe("2 1637349011.376367691");
    expect(at(503)).toBe("9 1705785448.670272378");
    expect(at(617)).toBe("15 1713874727.317265000");
    expect(at(699)).toBe("21 1722540110.397706326");
    expect(new Set(packets.map((p) => p.interfaceId)).size).toBe(22);
  });

  it("streams a file from disk in small reads", async () => {
    const seen: number[] = [];
    const stats = await readCaptureFile(
      `${fixtures}packets/ndpi__sites.pcapng`,
      (p) => seen.push(p.capturedLength),
      { highWaterMark: 1000 },
    );
    expect(seen).toHaveLength(699);
    expect(stats.packets).toBe(699);
    expect(stats.inputBytes).toBe(399796);
    expect(errorsOf(stats)).toEqual({});
  });

  it("rejects on a file that cannot be read", async () => {
    await expect(readCaptureFile(`${fixtures}packets/missing.pcap`, () => {})).rejects.toThrow(
      /ENOENT/,
    );
  });
});

describe("chunked input gives the same packets as one chunk", () => {
  const all = [...expectedFlows.map((e) => e.file), ...packetFiles.map((e) => e.file)];
  const small = all.filter((file) => load(file).byteLength <= 20_000);

  it.each(all)("%s in 7-byte and random chunks", (file) => {
    const input = load(file);
    const whole = digest(parse(input).packets);
    expect(digest(parse(input, () => 7).packets)).toBe(whole);
    const random = createRng(input.byteLength).float;
    expect(digest(parse(input, () => 1 + Math.floor(random() * 3000)).packets)).toBe(whole);
    expect(digest(parse(input, () => 1 + Math.floor(random() * 40)).packets)).toBe(whole);
  });

  it.each([...small, "packets/ndpi__sites.pcapng"])("%s in 1-byte chunks", (file) => {
    const input = load(file);
    expect(digest(parse(input, () => 1).packets)).toBe(digest(parse(input).packets));
  });
});

// --- synthetic files -------------------------------------------------------------------------

/** Writes 16/32-bit fields in either byte order. */
class Writer {
  private readonly bytes: number[] = [];
  constructor(private readonly le: boolean) {}
  u8(v: number): this {
    this.bytes.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    const b = [(v >>> 8) & 0xff, v & 0xff];
    this.bytes.push(...(this.le ? b.reverse() : b));
    return this;
  }
  u32(v: number): this {
    const b = [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
    this.bytes.push(...(this.le ? b.reverse() : b));
    return this;
  }
  raw(data: Uint8Array | number[]): this {
    this.bytes.push(...data);
    return this;
  }
  pad4(): this {
    while (this.bytes.length % 4 !== 0) this.bytes.push(0);
    return this;
  }
  get length(): number {
    return this.bytes.length;
  }
  done(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

function block(le: boolean, type: number, body: Uint8Array): Uint8Array {
  const length = 12 + ((body.byteLength + 3) & ~3);
  return new Writer(le).u32(type).u32(length).raw(body).pad4().u32(length).done();
}

function shb(le: boolean): Uint8Array {
  const body = new Writer(le).u32(0x1a2b3c4d).u16(1).u16(0).u32(0xffffffff).u32(0xffffffff);
  return block(le, 0x0a0d0d0a, body.done());
}

interface IdbOptions {
  tsresol?: number;
  tsoffset?: number;
}

function idb(le: boolean, linkType: number, snaplen: number, opts: IdbOptions = {}): Uint8Array {
  const body = new Writer(le).u16(linkType).u16(0).u32(snaplen);
  // An option the parser does not know, to check it walks past it.
  body.u16(2).u16(5).raw([0x65, 0x74, 0x68, 0x30, 0x00]).pad4();
  if (opts.tsresol !== undefined) body.u16(9).u16(1).u8(opts.tsresol).pad4();
  if (opts.tsoffset !== undefined) {
    body.u16(14).u16(8);
    const hi = Math.floor(opts.tsoffset / 2 ** 32) >>> 0;
    const lo = opts.tsoffset >>> 0;
    if (le) body.u32(lo).u32(hi);
    else body.u32(hi).u32(lo);
  }
  body.u16(0).u16(0);
  return block(le, 1, body.done());
}

function epb(le: boolean, ifId: number, ticks: bigint, data: Uint8Array, orig?: number) {
  const body = new Writer(le)
    .u32(ifId)
    .u32(Number(ticks >> 32n))
    .u32(Number(ticks & 0xffffffffn))
    .u32(data.byteLength)
    .u32(orig ?? data.byteLength)
    .raw(data)
    .pad4();
  return block(le, 6, body.done());
}

function spb(le: boolean, data: Uint8Array, orig: number): Uint8Array {
  return block(le, 3, new Writer(le).u32(orig).raw(data).pad4().done());
}

function bytes(n: number, seed = n): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);
}

function pcapFile(le: boolean, nanos: boolean, snaplen: number, records: Uint8Array[]) {
  const w = new Writer(le)
    .u32(nanos ? 0xa1b23c4d : 0xa1b2c3d4)
    .u16(2)
    .u16(4)
    .u32(0)
    .u32(0)
    .u32(snaplen)
    .u32(1);
  records.forEach((data, i) => {
    w.u32(1_700_000_000 + i)
      .u32(nanos ? 123_456_789 : 123_456)
      .u32(data.byteLength)
      .u32(data.byteLength + 4)
      .raw(data);
  });
  return w.done();
}

describe("pcap", () => {
  it.each([
    [true, false],
    [false, false],
    [true, true],
    [false, true],
  ])("little-endian %s, nanoseconds %s", (le, nanos) => {
    const { packets, stats } = parse(pcapFile(le, nanos, 65535, [bytes(60), bytes(0), bytes(3)]));
    expect(errorsOf(stats)).toEqual({});
    expect(packets.map((p) => p.capturedLength)).toEqual([60, 0, 3]);
    expect(packets[0]).toMatchObject({
      linkType: 1,
      tsSec: 1_700_000_000,
      tsNsec: nanos ? 123_456_789 : 123_456_000,
      originalLength: 64,
      interfaceId: 0,
    });
    expect(packets[2]!.data).toEqual(bytes(3));
  });

  it("gives the same packets from a byte-swapped copy of a real file", () => {
    const le = load("flows/netflow-v9/pmacct__101-NFv9-CISCO-cust_primitives__traffic-00.pcap");
    const be = le.slice();
    const view = new DataView(be.buffer, be.byteOffset, be.byteLength);
    const swap32 = (off: number) => view.setUint32(off, view.getUint32(off, true), false);
    const swap16 = (off: number) => view.setUint16(off, view.getUint16(off, true), false);
    swap32(0);
    swap16(4);
    swap16(6);
    for (let off = 8; off < 24; off += 4) swap32(off);
    for (let off = 24; off < be.byteLength; ) {
      const caplen = view.getUint32(off + 8, true);
      for (let f = 0; f < 16; f += 4) swap32(off + f);
      off += 16 + caplen;
    }
    expect(view.getUint32(0, false)).toBe(0xa1b2c3d4);
    expect(digest(parse(be).packets)).toBe(digest(parse(le).packets));
  });

  it("masks the FCS bits out of the link type", () => {
    const file = pcapFile(true, false, 65535, [bytes(20)]);
    new DataView(file.buffer).setUint32(20, 0x1000_0001, true);
    expect(parse(file).packets[0]!.linkType).toBe(1);
  });

  it("stops at a captured length above 256 KiB (the next record cannot be found)", () => {
    const file = pcapFile(true, false, 0, [bytes(10), bytes(10), bytes(10)]);
    new DataView(file.buffer).setUint32(24 + 26 + 8, 0x1000_0000, true);
    const { packets, stats } = parse(file);
    expect(packets).toHaveLength(1);
    expect(errorsOf(stats)).toEqual({ "caplen-too-large": 1 });
    expect(stats.stopped).toBe(true);
  });

  it("counts but keeps a packet longer than the snaplen", () => {
    const { packets, stats } = parse(pcapFile(true, false, 16, [bytes(10), bytes(20), bytes(30)]));
    expect(packets.map((p) => p.capturedLength)).toEqual([10, 20, 30]);
    expect(errorsOf(stats)).toEqual({ "caplen-over-snaplen": 2 });
  });
});

describe("pcapng", () => {
  it.each([true, false])("reads a section in little-endian %s", (le) => {
    const file = concat(
      shb(le),
      idb(le, 1, 0),
      epb(le, 0, 1_700_000_000_123_456n, bytes(60)),
      spb(le, bytes(13), 13),
    );
    const { packets, stats } = parse(file);
    expect(errorsOf(stats)).toEqual({});
    expect(packets).toHaveLength(2);
    expect(packets[0]).toMatchObject({ linkType: 1, tsSec: 1_700_000_000, tsNsec: 123_456_000 });
    expect(packets[0]!.data).toEqual(bytes(60));
    expect(packets[1]).toMatchObject({ capturedLength: 13, originalLength: 13, tsSec: 0 });
    expect(packets[1]!.data).toEqual(bytes(13));
  });

  it("resets interfaces at each section, whatever its byte order", () => {
    const file = concat(
      shb(true),
      idb(true, 1, 0),
      idb(true, 113, 0, { tsresol: 9 }),
      epb(true, 1, 1_700_000_000_000_000_001n, bytes(20)),
      shb(false),
      block(false, 0x0bad, bytes(21)),
      idb(false, 101, 0, { tsresol: 3 }),
      epb(false, 0, 1_700_000_000_123n, bytes(21)),
      epb(false, 1, 5n, bytes(22)),
    );
    const { packets, stats } = parse(file);
    expect(packets.map((p) => [p.linkType, p.interfaceId, p.tsSec, p.tsNsec])).toEqual([
      [113, 1, 1_700_000_000, 1],
      [101, 0, 1_700_000_000, 123_000_000],
    ]);
    expect(errorsOf(stats)).toEqual({ "pcapng-interface-unknown": 1 });
  });

  it.each([
    ["10^-6 (default)", undefined, 1_234_567_890_123_456n, 1_234_567_890, 123_456_000],
    ["10^-9", 9, 1_700_000_000_999_999_999n, 1_700_000_000, 999_999_999],
    ["10^-0", 0, 4_000_000_000n, 4_000_000_000, 0],
    ["2^-3", 0x83, (1_700_000_000n << 3n) | 5n, 1_700_000_000, 625_000_000],
    ["2^-20", 0x94, (1_700_000_000n << 20n) | 1n, 1_700_000_000, 953],
    ["2^-32", 0xa0, (123n << 32n) | 0x80000000n, 123, 500_000_000],
    ["10^-12", 12, 17_000_000_123_456_789_012n, 17_000_000, 123_456_789],
  ])("converts if_tsresol %s", (_name, tsresol, ticks, sec, nsec) => {
    const opts = tsresol === undefined ? {} : { tsresol };
    const file = concat(shb(true), idb(true, 1, 0, opts), epb(true, 0, ticks, bytes(4)));
    const p = parse(file).packets[0]!;
    expect([p.tsSec, p.tsNsec]).toEqual([sec, nsec]);
  });

  it("adds if_tsoffset", () => {
    const file = concat(
      shb(false),
      idb(false, 1, 0, { tsoffset: 1_600_000_000 }),
      epb(false, 0, 5_000_001n, bytes(4)),
    );
    expect(parse(file).packets[0]).toMatchObject({ tsSec: 1_600_000_005, tsNsec: 1000 });
  });

  it("cuts a Simple Packet Block to the snaplen of interface 0", () => {
    const file = concat(shb(true), idb(true, 1, 64), idb(true, 1, 0), spb(true, bytes(100), 100));
    const p = parse(file).packets[0]!;
    expect([p.capturedLength, p.originalLength, p.interfaceId]).toEqual([64, 100, 0]);
    expect(p.data).toEqual(bytes(100).subarray(0, 64));
  });

  it("skips packet blocks it cannot trust and goes on", () => {
    const bad = epb(true, 0, 0n, bytes(40));
    new DataView(bad.buffer).setUint32(20, 41, true); // caplen past the block
    const file = concat(
      shb(true),
      spb(true, bytes(8), 8), // before any interface
      epb(true, 0, 0n, bytes(8)), // idem
      idb(true, 1, 0),
      bad,
      epb(true, 3, 0n, bytes(8)), // undeclared interface
      epb(true, 0, 0n, bytes(9)),
    );
    const { packets, stats } = parse(file);
    expect(packets.map((p) => p.capturedLength)).toEqual([9]);
    expect(errorsOf(stats)).toEqual({ "pcapng-interface-unknown": 3, "caplen-over-block": 1 });
    expect(stats.stopped).toBe(true);
  });

  it("counts an option that runs past its block and keeps the interface", () => {
    const w = new Writer(true).u16(1).u16(0).u32(0).u16(9).u16(40).u8(9).pad4();
    const file = concat(shb(true), block(true, 1, w.done()), epb(true, 0, 7n, bytes(4)));
    const { packets, stats } = parse(file);
    expect(packets[0]).toMatchObject({ tsSec: 0, tsNsec: 7000 });
    expect(errorsOf(stats)).toEqual({ "pcapng-option-invalid": 1 });
  });
});

// --- bad input -------------------------------------------------------------------------------

/** Offsets at which a prefix of the file is itself a complete (shorter) file. */
function boundaries(input: Uint8Array): Set<number> {
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const result = new Set<number>();
  const pcapng = view.getUint32(0) === 0x0a0d0d0a;
  let off = pcapng ? 0 : 24;
  if (!pcapng) result.add(off);
  while (off < input.byteLength) {
    off += pcapng ? view.getUint32(off + 4, true) : 16 + view.getUint32(off + 8, true);
    result.add(off);
  }
  return result;
}

describe("bad input never throws and is counted", () => {
  it.each([
    "packets/tcpdump__tcp-handshake-nano.pcap",
    "packets/ndpi__http.pcapng",
    "flows/netflow-v9/akvorado__icmp__combined.pcap",
  ])("%s truncated at every length", (file) => {
    const input = load(file);
    const full = parse(input).packets;
    const ends = boundaries(input);
    expect(ends.has(input.byteLength)).toBe(true);
    const random = createRng(7).float;
    for (let length = 0; length < input.byteLength; length++) {
      const prefix = input.subarray(0, length);
      const { packets, stats } = parse(prefix, () => 1 + Math.floor(random() * 64));
      expect(errorsOf(stats), `length ${length}`).toEqual(ends.has(length) ? {} : { truncated: 1 });
      expect(digest(packets)).toBe(digest(full.slice(0, packets.length)));
      expect(stats.stopped).toBe(true);
    }
  });

  it("random garbage", () => {
    const random = createRng(42).float;
    const magics = [
      [],
      [0xd4, 0xc3, 0xb2, 0xa1],
      [0xa1, 0xb2, 0x3c, 0x4d],
      [0x0a, 0x0d, 0x0d, 0x0a],
    ];
    for (let i = 0; i < 400; i++) {
      const magic = magics[i % magics.length]!;
      const body = Array.from({ length: Math.floor(random() * 2000) }, () =>
        Math.floor(random() * 256),
      );
      const input = Uint8Array.from([...magic, ...body]);
      const { stats } = parse(input, () => 1 + Math.floor(random() * 300));
      expect(stats.stopped).toBe(true);
      if (magic.length === 0) expect(stats.errors["unknown-magic"]).toBe(1);
    }
  });

  it("real files with random bytes changed", () => {
    const random = createRng(99).float;
    const files = [
      "packets/ndpi__http.pcapng",
      "flows/netflow-v9/logstash__nf9-cisco-asa.pcap",
      "packets/tcpdump__tcp-handshake-nano.pcap",
    ];
    for (let i = 0; i < 600; i++) {
      const input = load(files[i % files.length]!).slice();
      for (let k = 0; k < 1 + (i % 4); k++) {
        input[Math.floor(random() * input.byteLength)] = Math.floor(random() * 256);
      }
      const { stats } = parse(input, () => 1 + Math.floor(random() * 500));
      expect(stats.stopped).toBe(true);
    }
  });

  it("an unknown magic number", () => {
    const { packets, stats } = parse(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(packets).toHaveLength(0);
    expect(errorsOf(stats)).toEqual({ "unknown-magic": 1 });
    expect(stats.format).toBe("unknown");
  });

  it("an empty file", () => {
    expect(errorsOf(parse(new Uint8Array(0)).stats)).toEqual({ truncated: 1 });
  });

  const head = concat(shb(true), idb(true, 1, 0), epb(true, 0, 0n, bytes(8)));
  const lyingFile = () =>
    concat(head, epb(true, 0, 0n, bytes(9)), epb(true, 0, 0n, bytes(10)), bytes(64));
  const secondEpb = head.byteLength;

  it.each([
    ["below the minimum", 8, "pcapng-block-length-invalid"],
    ["not a multiple of 4", 45, "pcapng-block-length-invalid"],
    ["above 256 MiB", 0xfffffffc, "pcapng-block-length-invalid"],
    ["disagreeing with the trailer", 48, "pcapng-block-length-mismatch"],
    ["200 MiB at the end of a small file", 200 * 1024 * 1024, "truncated"],
  ] as const)("a pcapng block length %s", (_name, length, code) => {
    const file = lyingFile();
    const view = new DataView(file.buffer);
    expect(view.getUint32(secondEpb, true)).toBe(6);
    view.setUint32(secondEpb + 4, length, true);
    for (const size of [file.byteLength, 1, 5]) {
      const { packets, stats } = parse(file, () => size);
      expect(packets.map((p) => p.capturedLength)).toEqual([8]);
      expect(errorsOf(stats)).toEqual({ [code]: 1 });
    }
  });

  it("a skipped block whose trailer lies stops the file", () => {
    const unknown = block(true, 0x0bad, bytes(16));
    new DataView(unknown.buffer).setUint32(unknown.byteLength - 4, 99, true);
    const file = concat(shb(true), idb(true, 1, 0), unknown, epb(true, 0, 0n, bytes(8)));
    const { packets, stats } = parse(file, () => 3);
    expect(packets).toHaveLength(0);
    expect(errorsOf(stats)).toEqual({ "pcapng-block-length-mismatch": 1 });
  });

  it("a section header with a bad byte-order magic or version", () => {
    const badOrder = shb(true);
    badOrder[8] = 0x99;
    expect(errorsOf(parse(badOrder).stats)).toEqual({ "pcapng-byte-order-invalid": 1 });
    const version2 = shb(false);
    version2[13] = 2;
    expect(errorsOf(parse(version2).stats)).toEqual({ "pcapng-version-unsupported": 1 });
  });

  it("ignores input after a stop, and a second end()", () => {
    const packets: number[] = [];
    const parser = createCaptureParser((p) => packets.push(p.capturedLength));
    parser.push(Uint8Array.from([9, 9, 9, 9]));
    parser.push(pcapFile(true, false, 0, [bytes(4)]));
    parser.end();
    parser.end();
    expect(packets).toEqual([]);
    expect(parser.stats.inputBytes).toBe(4 + 24 + 16 + 4);
    expect(parser.stats.errors).toEqual({ ...emptyCaptureErrorCounts(), "unknown-magic": 1 });
  });

  it("lets an exception from the callback out, and stops", () => {
    const parser = createCaptureParser(() => {
      throw new Error("consumer failed");
    });
    expect(() => parser.push(pcapFile(true, false, 0, [bytes(4), bytes(4)]))).toThrow(
      "consumer failed",
    );
    expect(parser.stats.stopped).toBe(true);
    expect(() => parser.push(bytes(100))).not.toThrow();
  });
});
