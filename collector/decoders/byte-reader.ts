/**
 * The one bounds-checked reader every decoder uses (protobuf-es `BinaryReader` style).
 *
 * Structure walking (headers, sets, template records) goes through the checked methods: each
 * returns `false`/`-1` instead of reading past `end`, so a lying length never throws. Record
 * decoding checks the record's whole length once with {@link ByteReader.has} and then reads
 * with the unchecked `*At` functions below, which is what keeps the hot loop fast.
 */
export class ByteReader {
  bytes: Uint8Array = new Uint8Array(0);
  view: DataView = new DataView(this.bytes.buffer);
  pos = 0;
  end = 0;

  /** Points the reader at `buf` (a Node Buffer is fine: offsets are respected). */
  reset(buf: Uint8Array): this {
    this.bytes = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = 0;
    this.end = buf.byteLength;
    return this;
  }

  remaining(): number {
    return this.end - this.pos;
  }

  /** True when `n` more bytes can be read from the current position. */
  has(n: number): boolean {
    return n >= 0 && this.pos + n <= this.end;
  }

  /** Reads an unsigned 8-bit value, or -1 past the end. */
  u8(): number {
    if (this.pos + 1 > this.end) return -1;
    return this.view.getUint8(this.pos++);
  }

  /** Reads an unsigned big-endian 16-bit value, or -1 past the end. */
  u16(): number {
    if (this.pos + 2 > this.end) return -1;
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  /** Reads an unsigned big-endian 32-bit value, or -1 past the end. */
  u32(): number {
    if (this.pos + 4 > this.end) return -1;
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  /** Advances by `n` bytes; false (and no move) if that would pass the end. */
  skip(n: number): boolean {
    if (n < 0 || this.pos + n > this.end) return false;
    this.pos += n;
    return true;
  }
}

/**
 * Reads an unsigned big-endian integer of 1 to 8 bytes at `off` as a JavaScript number.
 * Values above 2^53 lose precision (no real counter gets there: 2^53 bytes is 9 PB in one flow).
 * Reduced-size encoding (RFC 7011 §6.2) makes every length from 1 to 8 legal for counters.
 * The caller has checked that `off + len` is in range.
 */
export function uintAt(view: DataView, off: number, len: number): number {
  switch (len) {
    case 1:
      return view.getUint8(off);
    case 2:
      return view.getUint16(off);
    case 4:
      return view.getUint32(off);
    case 8:
      return view.getUint32(off) * 4294967296 + view.getUint32(off + 4);
    case 3:
      return (view.getUint16(off) << 8) | view.getUint8(off + 2);
    default: {
      let v = 0;
      const n = len > 8 ? 8 : len;
      // Longer-than-8 fields keep their last 8 bytes: the low-order part of a big-endian value.
      const start = off + (len - n);
      for (let k = 0; k < n; k++) v = v * 256 + view.getUint8(start + k);
      return v;
    }
  }
}
