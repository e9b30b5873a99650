/**
 * Test support: builds NetFlow v9 and IPFIX messages byte by byte from a description, so that
 * tests can state the ground truth (the values put in) and check the decoder against it. Used for
 * what no real capture in the corpus exercises: withdrawals, redefinitions, 3-byte variable
 * lengths, NTP and delta times, Cisco ART fields, sampling fields, bounds.
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
