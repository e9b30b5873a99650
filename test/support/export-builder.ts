/**
 * Test support: builds NetFlow v5, v9, IPFIX and sFlow v5 datagrams (and the Ethernet frames that
 * sFlow samples and the packet path carry) byte by byte from a description, so that tests can
 * state the ground truth (the values put in) and check the decoder against it. Used for what no
 * real capture in the corpus exercises: withdrawals, redefinitions, 3-byte variable lengths, NTP
 * and delta times, Cisco ART fields, sampling fields, bounds, extreme values.
 */

export interface FieldSpec {
  id: number;
  length: number;
  /** Enterprise number (IPFIX only). */
  pen?: number;
}

export type SetSpec =
  | { kind: "template"; id: number; fields: FieldSpec[] }
  | { kind: "options-template"; id: number; scopeCount: number; fields: FieldSpec[] }
  | { kind: "withdraw"; id: number; options?: boolean }
  | { kind: "data"; id: number; records: Uint8Array[] }
  | { kind: "raw"; id: number; body: Uint8Array };

export class Bytes {
  private buf: number[] = [];
  u8(v: number): this {
    this.buf.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v >>> 8).u8(v);
  }
  u32(v: number): this {
    return this.u16(v >>> 16).u16(v & 0xffff);
  }
  u64(v: number): this {
    return this.u32(Math.floor(v / 4294967296)).u32(v >>> 0);
  }
  /** A 64-bit value given exactly (a number loses the low bits above 2^53: 2^64 - 1 is 2^64). */
  u64n(v: bigint): this {
    return this.u32(Number((v >> 32n) & 0xffffffffn)).u32(Number(v & 0xffffffffn));
  }
  bytes(b: Uint8Array | number[]): this {
    for (const x of b) this.u8(x);
    return this;
  }
  ipv4(a: string): this {
    return this.bytes(a.split(".").map(Number));
  }
  f64(v: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v);
    return this.bytes(b);
  }
  /** IPFIX variable-length encoding: 1-byte length, or 255 + 2-byte length (RFC 7011 §7). */
  varlen(b: Uint8Array, forceLong = false): this {
    if (b.length < 255 && !forceLong) this.u8(b.length);
    else this.u8(255).u16(b.length);
    return this.bytes(b);
  }
  get length(): number {
    return this.buf.length;
  }
  done(): Uint8Array {
    return Uint8Array.from(this.buf);
  }
}

export function record(build: (b: Bytes) => void): Uint8Array {
  const b = new Bytes();
  build(b);
  return b.done();
}

export interface MessageHeader {
  /** IPFIX export time / v9 unix seconds. */
  exportSeconds: number;
  sequence: number;
  domain: number;
  /** v9 only: sysUptime in ms. */
  sysUptimeMs?: number;
}

function setBody(version: 9 | 10, s: SetSpec): { setId: number; body: Uint8Array } {
  const b = new Bytes();
  switch (s.kind) {
    case "template":
      b.u16(s.id).u16(s.fields.length);
      for (const f of s.fields) fieldSpec(b, version, f);
      return { setId: version === 10 ? 2 : 0, body: b.done() };
    case "options-template":
      if (version === 10) {
        b.u16(s.id).u16(s.fields.length).u16(s.scopeCount);
        for (const f of s.fields) fieldSpec(b, version, f);
        return { setId: 3, body: b.done() };
      }
      b.u16(s.id)
        .u16(s.scopeCount * 4)
        .u16((s.fields.length - s.scopeCount) * 4);
      for (const f of s.fields) fieldSpec(b, version, f);
      return { setId: 1, body: b.done() };
    case "withdraw":
      b.u16(s.id).u16(0);
      return { setId: s.options ? 3 : 2, body: b.done() };
    case "data":
      for (const r of s.records) b.bytes(r);
      return { setId: s.id, body: b.done() };
    case "raw":
      return { setId: s.id, body: s.body };
  }
}

function fieldSpec(b: Bytes, version: 9 | 10, f: FieldSpec): void {
  if (version === 10 && f.pen !== undefined && f.pen !== 0) {
    b.u16(f.id | 0x8000)
      .u16(f.length)
      .u32(f.pen);
  } else {
    b.u16(f.id).u16(f.length);
  }
}

/** An IPFIX message; sets are padded to 4 bytes. */
export function ipfixMessage(h: MessageHeader, sets: SetSpec[]): Uint8Array {
  const body = new Bytes();
  for (const s of sets) {
    const { setId, body: content } = setBody(10, s);
    const pad = (4 - ((content.length + 4) % 4)) % 4;
    body
      .u16(setId)
      .u16(content.length + 4 + pad)
      .bytes(content)
      .bytes(new Array(pad).fill(0));
  }
  const b = new Bytes()
    .u16(10)
    .u16(16 + body.length)
    .u32(h.exportSeconds)
    .u32(h.sequence)
    .u32(h.domain)
    .bytes(body.done());
  return b.done();
}

/** A NetFlow v9 export packet; flowsets are padded to 4 bytes. */
export function v9Packet(h: MessageHeader, sets: SetSpec[]): Uint8Array {
  const body = new Bytes();
  let count = 0;
  for (const s of sets) {
    const { setId, body: content } = setBody(9, s);
    const pad = (4 - ((content.length + 4) % 4)) % 4;
    body
      .u16(setId)
      .u16(content.length + 4 + pad)
      .bytes(content)
      .bytes(new Array(pad).fill(0));
    count += s.kind === "data" ? s.records.length : 1;
  }
  return new Bytes()
    .u16(9)
    .u16(count)
    .u32(h.sysUptimeMs ?? 0)
    .u32(h.exportSeconds)
    .u32(h.sequence)
    .u32(h.domain)
    .bytes(body.done())
    .done();
}

/** One NetFlow v5 record (48 bytes); times are sysUptime milliseconds. */
export interface V5Record {
  src: string;
  dst: string;
  packets: number;
  bytes: number;
  firstUptimeMs: number;
  lastUptimeMs: number;
  srcPort?: number;
  dstPort?: number;
  protocol?: number;
  tcpFlags?: number;
  inIf?: number;
  outIf?: number;
}

export interface V5Header {
  sysUptimeMs: number;
  unixSecs: number;
  unixNsecs?: number;
  sequence?: number;
  /** The raw 16-bit field: 2 bits of mode, 14 bits of interval. */
  sampling?: number;
  /** The header's record count; default: the number of records given. */
  count?: number;
}

/** A NetFlow v5 export packet. */
export function v5Packet(h: V5Header, records: V5Record[]): Uint8Array {
  const b = new Bytes()
    .u16(5)
    .u16(h.count ?? records.length)
    .u32(h.sysUptimeMs)
    .u32(h.unixSecs)
    .u32(h.unixNsecs ?? 0)
    .u32(h.sequence ?? 0)
    .u8(0)
    .u8(0)
    .u16(h.sampling ?? 0);
  for (const r of records) {
    b.ipv4(r.src)
      .ipv4(r.dst)
      .ipv4("0.0.0.0")
      .u16(r.inIf ?? 0)
      .u16(r.outIf ?? 0)
      .u32(r.packets)
      .u32(r.bytes)
      .u32(r.firstUptimeMs)
      .u32(r.lastUptimeMs)
      .u16(r.srcPort ?? 0)
      .u16(r.dstPort ?? 0)
      .u8(0)
      .u8(r.tcpFlags ?? 0)
      .u8(r.protocol ?? 6)
      .u8(0)
      .u16(0)
      .u16(0)
      .u8(0)
      .u8(0)
      .u16(0);
  }
  return b.done();
}

/** An sFlow v5 flow record: raw packet header (1), sampled IPv4 (3) or sampled IPv6 (4). */
export type SflowFlowRecord =
  | {
      kind: "header";
      protocol?: number;
      frameLength: number;
      stripped?: number;
      header: Uint8Array;
    }
  | {
      kind: "ipv4";
      length: number;
      protocol: number;
      src: string;
      dst: string;
      srcPort: number;
      dstPort: number;
      tcpFlags?: number;
      tos?: number;
    }
  | {
      kind: "ipv6";
      length: number;
      protocol: number;
      src: Uint8Array;
      dst: Uint8Array;
      srcPort: number;
      dstPort: number;
      tcpFlags?: number;
      priority?: number;
    };

/** An sFlow v5 sample: a flow sample (format 1, or 3 when expanded) or raw bytes of any format. */
export type SflowSample =
  | {
      kind: "flow";
      expanded?: boolean;
      sequence?: number;
      sourceId?: number;
      rate: number;
      pool?: number;
      drops?: number;
      input?: number;
      output?: number;
      /** The record count field; default: the number of records given. */
      recordCount?: number;
      records: SflowFlowRecord[];
    }
  | { kind: "raw"; type: number; body: Uint8Array };

export interface SflowHeader {
  /** IPv4 agent address; "" for address type 0 (unknown). */
  agent: string;
  subAgent?: number;
  sequence?: number;
  uptimeMs?: number;
  /** The sample count field; default: the number of samples given. */
  sampleCount?: number;
}

/** XDR opaque data: the bytes, then zeros up to a multiple of 4. */
function xdrPadded(b: Bytes, data: Uint8Array): void {
  b.bytes(data);
  for (let k = data.length; k % 4 !== 0; k++) b.u8(0);
}

function sflowRecord(r: SflowFlowRecord): Uint8Array {
  const b = new Bytes();
  switch (r.kind) {
    case "header":
      b.u32(r.protocol ?? 1)
        .u32(r.frameLength)
        .u32(r.stripped ?? 0)
        .u32(r.header.length);
      xdrPadded(b, r.header);
      return new Bytes().u32(1).u32(b.length).bytes(b.done()).done();
    case "ipv4":
      b.u32(r.length)
        .u32(r.protocol)
        .ipv4(r.src)
        .ipv4(r.dst)
        .u32(r.srcPort)
        .u32(r.dstPort)
        .u32(r.tcpFlags ?? 0)
        .u32(r.tos ?? 0);
      return new Bytes().u32(3).u32(b.length).bytes(b.done()).done();
    case "ipv6":
      b.u32(r.length)
        .u32(r.protocol)
        .bytes(r.src)
        .bytes(r.dst)
        .u32(r.srcPort)
        .u32(r.dstPort)
        .u32(r.tcpFlags ?? 0)
        .u32(r.priority ?? 0);
      return new Bytes().u32(4).u32(b.length).bytes(b.done()).done();
  }
}

/** An sFlow v5 datagram. */
export function sflowDatagram(h: SflowHeader, samples: SflowSample[]): Uint8Array {
  const b = new Bytes().u32(5);
  if (h.agent === "") b.u32(0);
  else b.u32(1).ipv4(h.agent);
  b.u32(h.subAgent ?? 0)
    .u32(h.sequence ?? 0)
    .u32(h.uptimeMs ?? 0)
    .u32(h.sampleCount ?? samples.length);
  for (const s of samples) {
    if (s.kind === "raw") {
      b.u32(s.type).u32(s.body.length).bytes(s.body);
      continue;
    }
    const body = new Bytes().u32(s.sequence ?? 0);
    if (s.expanded) body.u32((s.sourceId ?? 0) >>> 24).u32((s.sourceId ?? 0) & 0xffffff);
    else body.u32(s.sourceId ?? 0);
    body
      .u32(s.rate)
      .u32(s.pool ?? 0)
      .u32(s.drops ?? 0);
    if (s.expanded) {
      body
        .u32(0)
        .u32(s.input ?? 0)
        .u32(0)
        .u32(s.output ?? 0);
    } else {
      body.u32(s.input ?? 0).u32(s.output ?? 0);
    }
    body.u32(s.recordCount ?? s.records.length);
    for (const r of s.records) body.bytes(sflowRecord(r));
    const content = body.done();
    b.u32(s.expanded ? 3 : 1)
      .u32(content.length)
      .bytes(content);
  }
  return b.done();
}

/** An Ethernet frame carrying IPv4 and TCP. `ipLength` may lie (the header says what it is given). */
export function ethernetTcpFrame(p: {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  /** TCP flags: FIN 1, SYN 2, RST 4, PSH 8, ACK 16. */
  flags: number;
  seq?: number;
  ack?: number;
  payload?: number;
  /** The IPv4 total length field; default: the real length. */
  ipLength?: number;
}): Uint8Array {
  const payload = p.payload ?? 0;
  const ipLength = p.ipLength ?? 20 + 20 + payload;
  const b = new Bytes()
    .bytes([2, 0, 0, 0, 0, 2])
    .bytes([2, 0, 0, 0, 0, 1])
    .u16(0x0800)
    .u8(0x45)
    .u8(0)
    .u16(ipLength)
    .u16(0)
    .u16(0x4000)
    .u8(64)
    .u8(6)
    .u16(0)
    .ipv4(p.src)
    .ipv4(p.dst)
    .u16(p.srcPort)
    .u16(p.dstPort)
    .u32(p.seq ?? 0)
    .u32(p.ack ?? 0)
    .u8(0x50)
    .u8(p.flags)
    .u16(65535)
    .u16(0)
    .u16(0);
  for (let k = 0; k < payload; k++) b.u8(0x61);
  return b.done();
}
