/**
 * Streaming pcap / pcapng reader. Pure: bytes in (in chunks of any size), packets out through a
 * callback; it opens no file and never throws on bad input. A malformed file is counted in
 * `stats.errors` by reason, and the parser either skips what it cannot trust (a pcapng block
 * whose framing is sound) or stops (when the next record boundary can no longer be known).
 *
 * Formats: pcap (both byte orders, microsecond and nanosecond magic) and pcapng (sections in
 * either byte order, Interface Description, Enhanced Packet and Simple Packet blocks; every
 * other block is skipped by its length without being buffered).
 */

/** libpcap's MAXIMUM_SNAPLEN: no capture tool writes a bigger packet. */
export const MAX_CAPTURED_LENGTH = 256 * 1024;
/** A pcapng block above this is taken as a lying length, not data. */
export const MAX_BLOCK_LENGTH = 256 * 1024 * 1024;

export const captureErrorCodes = [
  /** The input ended inside a header, record or block (also: an empty input). */
  "truncated",
  /** The first 4 bytes are neither a pcap nor a pcapng magic number. Parsing stops. */
  "unknown-magic",
  /**
   * A captured length above 256 KiB. In pcap the record length is the only framing, so the
   * file stops there; in pcapng the block is skipped.
   */
  "caplen-too-large",
  /** A captured length above the file's / interface's snaplen. Counted; the packet is kept. */
  "caplen-over-snaplen",
  /** pcapng: an Enhanced Packet Block whose captured length runs past the block. Skipped. */
  "caplen-over-block",
  /** pcapng: a Section Header with a byte-order magic that is neither order. Parsing stops. */
  "pcapng-byte-order-invalid",
  /** pcapng: a Section Header with a major version other than 1. Parsing stops. */
  "pcapng-version-unsupported",
  /**
   * pcapng: a block length below the minimum for its type, not a multiple of 4, or above
   * 256 MiB. Parsing stops: nothing says where the next block starts.
   */
  "pcapng-block-length-invalid",
  /** pcapng: the trailing block length differs from the leading one. Parsing stops. */
  "pcapng-block-length-mismatch",
  /** pcapng: a packet block for an interface no Interface Description Block declared. Skipped. */
  "pcapng-interface-unknown",
  /** pcapng: an Interface Description option runs past its block; later options are ignored. */
  "pcapng-option-invalid",
] as const;

export type CaptureErrorCode = (typeof captureErrorCodes)[number];

export interface CaptureParserStats {
  /** "unknown" until the magic number has been read (or when it was not recognised). */
  format: "pcap" | "pcapng" | "unknown";
  /** Packets delivered to the callback. */
  packets: number;
  /** Sum of the delivered packets' captured lengths. */
  packetBytes: number;
  /** Bytes pushed in, including those ignored after a stop. */
  inputBytes: number;
  /** True once parsing stopped: on an error that breaks the framing, or after `end()`. */
  stopped: boolean;
  errors: Record<CaptureErrorCode, number>;
}

/**
 * One captured packet. The parser reuses a single object for every packet. The frame is
 * `bytes[offset, offset + capturedLength)`, where `bytes` is either the pushed chunk or the
 * parser's own reassembly buffer, which the next packet may overwrite: both are valid only
 * during the callback. `data` is the frame as a plain Uint8Array view (never a Node Buffer,
 * even when Buffers are pushed), made when first read: a hot path that can take
 * (bytes, offset, length), like `parsePacket`, saves that allocation per packet. Copy what you
 * keep (`data.slice()`).
 */
export interface CapturedPacket {
  /** LINKTYPE_* value (pcap: the header's link type without the FCS bits; pcapng: per interface). */
  linkType: number;
  tsSec: number;
  /** Nanoseconds within `tsSec`, whatever the file's resolution. */
  tsNsec: number;
  capturedLength: number;
  originalLength: number;
  /** pcapng interface id within its section; always 0 for pcap. */
  interfaceId: number;
  readonly bytes: Uint8Array;
  readonly offset: number;
  readonly data: Uint8Array;
}

/** The reused {@link CapturedPacket}: `data` is made on demand, at most once per packet. */
class ReusedPacket implements CapturedPacket {
  linkType = 0;
  tsSec = 0;
  tsNsec = 0;
  capturedLength = 0;
  originalLength = 0;
  interfaceId = 0;
  bytes: Uint8Array = new Uint8Array(0);
  offset = 0;
  private view: Uint8Array | null = null;

  get data(): Uint8Array {
    this.view ??= new Uint8Array(
      this.bytes.buffer,
      this.bytes.byteOffset + this.offset,
      this.capturedLength,
    );
    return this.view;
  }

  /** Points the packet at its frame (`capturedLength` is set by the caller). */
  frame(bytes: Uint8Array, offset: number): void {
    this.bytes = bytes;
    this.offset = offset;
    this.view = null;
  }
}

export interface CaptureParser {
  /** Feeds the next bytes of the file. The chunk is not retained after the call returns. */
  push(chunk: Uint8Array): void;
  /** Declares the end of the file; leftover bytes count as `truncated`. */
  end(): void;
  /** Live counters, updated in place. */
  readonly stats: CaptureParserStats;
}

/**
 * Creates a streaming parser. `onPacket` is called synchronously from `push` for each complete
 * packet (see {@link CapturedPacket} for the lifetime of what it receives). An exception thrown
 * by `onPacket` propagates out of `push`, and the parser stops.
 */
export function createCaptureParser(onPacket: (p: CapturedPacket) => void): CaptureParser {
  const parser = new StreamingCaptureParser(onPacket);
  return {
    push: (chunk) => parser.push(chunk),
    end: () => parser.end(),
    stats: parser.stats,
  };
}

export function emptyCaptureErrorCounts(): Record<CaptureErrorCode, number> {
  const counts = {} as Record<CaptureErrorCode, number>;
  for (const code of captureErrorCodes) counts[code] = 0;
  return counts;
}

const MODE_START = 0;
const MODE_PCAP = 1;
const MODE_PCAPNG = 2;
const MODE_STOPPED = 3;

const PCAP_MICRO = 0xa1b2c3d4;
const PCAP_MICRO_SWAPPED = 0xd4c3b2a1;
const PCAP_NANO = 0xa1b23c4d;
const PCAP_NANO_SWAPPED = 0x4d3cb2a1;
const PCAP_FILE_HEADER = 24;
const PCAP_RECORD_HEADER = 16;
// The top 6 bits of the pcap link type field carry FCS information (pcap-savefile(5)).
const PCAP_LINKTYPE_MASK = 0x03ffffff;

const BLOCK_SHB = 0x0a0d0d0a;
const BLOCK_IDB = 0x00000001;
const BLOCK_SPB = 0x00000003;
const BLOCK_EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const BYTE_ORDER_MAGIC_SWAPPED = 0x4d3c2b1a;
const MIN_BLOCK = 12;
const MIN_SHB = 28;
const MIN_IDB = 20;
const MIN_SPB = 16;
const MIN_EPB = 32;
const OPT_END = 0;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;

const NANOS_PER_SECOND = 1_000_000_000;
const NANOS_PER_SECOND_BIG = 1_000_000_000n;

function dataViewOf(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

function minBlockLength(type: number): number {
  switch (type) {
    case BLOCK_SHB:
      return MIN_SHB;
    case BLOCK_IDB:
      return MIN_IDB;
    case BLOCK_SPB:
      return MIN_SPB;
    case BLOCK_EPB:
      return MIN_EPB;
    default:
      return MIN_BLOCK;
  }
}

/**
 * The state machine. Every `step` either consumes bytes, or asks for `need` contiguous bytes
 * (which `push` gathers into `tail` across chunks), or stops: so it cannot loop without progress.
 */
class StreamingCaptureParser {
  readonly stats: CaptureParserStats = {
    format: "unknown",
    packets: 0,
    packetBytes: 0,
    inputBytes: 0,
    stopped: false,
    errors: emptyCaptureErrorCounts(),
  };

  private readonly onPacket: (p: CapturedPacket) => void;
  private readonly packet = new ReusedPacket();

  private mode = MODE_START;
  private littleEndian = false;
  /** Contiguous bytes the current step waits for; only meaningful while `tailLength > 0`. */
  private need = 0;
  /** The incomplete unit carried over from the previous chunk. */
  private tail = new Uint8Array(0);
  private tailView = dataViewOf(this.tail);
  private tailLength = 0;
  /** pcapng: bytes of a skipped block still to discard, then its trailing length to check. */
  private skipRemaining = 0;
  private trailerExpected = -1;

  // pcap file header
  private pcapNanos = false;
  private pcapLinkType = 0;
  private pcapSnaplen = 0;

  // pcapng interfaces of the current section, indexed by interface id
  private readonly ifLinkType: number[] = [];
  private readonly ifSnaplen: number[] = [];
  /** Timestamp units per second when they divide 10^9 (exact fast path), else 0. */
  private readonly ifUnits: number[] = [];
  /** Units per second for the other resolutions (BigInt arithmetic, allocates). */
  private readonly ifUnitsBig: bigint[] = [];
  private readonly ifOffsetSec: number[] = [];

  constructor(onPacket: (p: CapturedPacket) => void) {
    this.onPacket = onPacket;
  }

  push(chunk: Uint8Array): void {
    this.stats.inputBytes += chunk.byteLength;
    if (this.mode === MODE_STOPPED || chunk.byteLength === 0) return;
    try {
      let off = 0;
      if (this.tailLength > 0) off = this.completeTail(chunk);
      if (off < chunk.byteLength) {
        off = this.run(chunk, dataViewOf(chunk), off, chunk.byteLength);
        if (this.mode !== MODE_STOPPED && off < chunk.byteLength) {
          this.appendTail(chunk, off, chunk.byteLength - off);
        }
      }
    } catch (err) {
      this.stop();
      throw err;
    }
  }

  end(): void {
    if (this.mode === MODE_STOPPED) return;
    const incomplete =
      this.mode === MODE_START ||
      this.tailLength > 0 ||
      this.skipRemaining > 0 ||
      this.trailerExpected >= 0;
    if (incomplete) this.error("truncated");
    this.stop();
  }

  private stop(): void {
    this.mode = MODE_STOPPED;
    this.stats.stopped = true;
    this.tailLength = 0;
    this.tail = new Uint8Array(0);
    this.tailView = dataViewOf(this.tail);
  }

  private error(code: CaptureErrorCode): void {
    this.stats.errors[code]++;
  }

  private fail(code: CaptureErrorCode): number {
    this.error(code);
    this.stop();
    return 0;
  }

  private wait(bytes: number): number {
    this.need = bytes;
    return 0;
  }

  /** Steps through `buf[off, end)`; returns where it stopped (waiting, stopped or at `end`). */
  private run(buf: Uint8Array, view: DataView, off: number, end: number): number {
    let pos = off;
    while (pos < end) {
      const used = this.step(buf, view, pos, end - pos);
      if (used === 0) break;
      pos += used;
    }
    return pos;
  }

  /**
   * Tops the carried-over tail up from `chunk`, only as far as the waiting step needs, and runs
   * it. Returns how much of `chunk` was taken.
   */
  private completeTail(chunk: Uint8Array): number {
    let off = 0;
    while (this.tailLength > 0) {
      const take = Math.min(this.need - this.tailLength, chunk.byteLength - off);
      this.appendTail(chunk, off, take);
      off += take;
      if (this.tailLength < this.need) return off;
      const used = this.run(this.tail, this.tailView, 0, this.tailLength);
      if (this.mode === MODE_STOPPED) return chunk.byteLength;
      // Usually the whole tail was one unit; if not, keep the rest and top it up again.
      if (used > 0) {
        this.tail.copyWithin(0, used, this.tailLength);
        this.tailLength -= used;
      }
    }
    return off;
  }

  private appendTail(src: Uint8Array, off: number, length: number): void {
    const size = this.tailLength + length;
    if (size > this.tail.byteLength) {
      // Grow with the data actually received, not to `need`: a lying length near the end of a
      // small file must not allocate hundreds of MiB.
      const grown = new Uint8Array(Math.max(size, Math.min(2 * this.tail.byteLength, this.need)));
      grown.set(this.tail.subarray(0, this.tailLength));
      this.tail = grown;
      this.tailView = dataViewOf(grown);
    }
    this.tail.set(src.subarray(off, off + length), this.tailLength);
    this.tailLength = size;
  }

  private step(buf: Uint8Array, view: DataView, off: number, avail: number): number {
    if (this.skipRemaining > 0) {
      const n = Math.min(this.skipRemaining, avail);
      this.skipRemaining -= n;
      return n;
    }
    if (this.trailerExpected >= 0) return this.checkSkippedTrailer(view, off, avail);
    switch (this.mode) {
      case MODE_START:
        return this.fileHeader(buf, view, off, avail);
      case MODE_PCAP:
        return this.pcapRecord(buf, view, off, avail);
      case MODE_PCAPNG:
        return this.pcapngBlock(buf, view, off, avail);
      default:
        return 0;
    }
  }

  private fileHeader(buf: Uint8Array, view: DataView, off: number, avail: number): number {
    if (avail < 4) return this.wait(4);
    const magic = view.getUint32(off, false);
    if (magic === BLOCK_SHB) {
      this.mode = MODE_PCAPNG;
      this.stats.format = "pcapng";
      return this.pcapngBlock(buf, view, off, avail);
    }
    const le = magic === PCAP_MICRO_SWAPPED || magic === PCAP_NANO_SWAPPED;
    if (!le && magic !== PCAP_MICRO && magic !== PCAP_NANO) return this.fail("unknown-magic");
    if (avail < PCAP_FILE_HEADER) return this.wait(PCAP_FILE_HEADER);
    this.littleEndian = le;
    this.pcapNanos = magic === PCAP_NANO || magic === PCAP_NANO_SWAPPED;
    this.pcapSnaplen = view.getUint32(off + 16, le);
    this.pcapLinkType = view.getUint32(off + 20, le) & PCAP_LINKTYPE_MASK;
    this.mode = MODE_PCAP;
    this.stats.format = "pcap";
    return PCAP_FILE_HEADER;
  }

  private pcapRecord(buf: Uint8Array, view: DataView, off: number, avail: number): number {
    if (avail < PCAP_RECORD_HEADER) return this.wait(PCAP_RECORD_HEADER);
    const le = this.littleEndian;
    const caplen = view.getUint32(off + 8, le);
    // The record length is pcap's only framing: past a length no writer produces, the next
    // record boundary is unknown, and reading on would turn garbage into packets. Stop the file.
    if (caplen > MAX_CAPTURED_LENGTH) return this.fail("caplen-too-large");
    const total = PCAP_RECORD_HEADER + caplen;
    if (avail < total) return this.wait(total);
    // libpcap also accepts these (old Solaris wrote a wrong snaplen): count, keep the packet.
    if (this.pcapSnaplen !== 0 && caplen > this.pcapSnaplen) this.error("caplen-over-snaplen");
    const p = this.packet;
    p.linkType = this.pcapLinkType;
    p.tsSec = view.getUint32(off, le);
    const fraction = view.getUint32(off + 4, le);
    p.tsNsec = this.pcapNanos ? fraction : fraction * 1000;
    p.capturedLength = caplen;
    p.originalLength = view.getUint32(off + 12, le);
    p.interfaceId = 0;
    this.deliver(buf, off + PCAP_RECORD_HEADER, caplen);
    return total;
  }

  /** Hands `buf[start, start + length)` to the callback (`length` = the captured length). */
  private deliver(buf: Uint8Array, start: number, length: number): void {
    this.packet.frame(buf, start);
    this.stats.packets++;
    this.stats.packetBytes += length;
    this.onPacket(this.packet);
  }

  private pcapngBlock(buf: Uint8Array, view: DataView, off: number, avail: number): number {
    if (avail < 8) return this.wait(8);
    const type = view.getUint32(off, this.littleEndian);
    if (type === BLOCK_SHB) {
      // The length's byte order is only known from the byte-order magic that follows it.
      if (avail < 12) return this.wait(12);
      const bom = view.getUint32(off + 8, false);
      if (bom === BYTE_ORDER_MAGIC) this.littleEndian = false;
      else if (bom === BYTE_ORDER_MAGIC_SWAPPED) this.littleEndian = true;
      else return this.fail("pcapng-byte-order-invalid");
    }
    const le = this.littleEndian;
    const length = view.getUint32(off + 4, le);
    if (length < minBlockLength(type) || length % 4 !== 0 || length > MAX_BLOCK_LENGTH) {
      return this.fail("pcapng-block-length-invalid");
    }
    if (type !== BLOCK_SHB && type !== BLOCK_IDB && type !== BLOCK_EPB && type !== BLOCK_SPB) {
      this.skipRemaining = length - 12;
      this.trailerExpected = length;
      return 8;
    }
    if (avail < length) return this.wait(length);
    if (view.getUint32(off + length - 4, le) !== length) {
      return this.fail("pcapng-block-length-mismatch");
    }
    switch (type) {
      case BLOCK_SHB:
        return this.sectionHeader(view, off, length);
      case BLOCK_IDB:
        this.interfaceDescription(view, off, length);
        return length;
      case BLOCK_EPB:
        this.enhancedPacket(buf, view, off, length);
        return length;
      default:
        this.simplePacket(buf, view, off, length);
        return length;
    }
  }

  private checkSkippedTrailer(view: DataView, off: number, avail: number): number {
    if (avail < 4) return this.wait(4);
    const expected = this.trailerExpected;
    this.trailerExpected = -1;
    if (view.getUint32(off, this.littleEndian) !== expected) {
      return this.fail("pcapng-block-length-mismatch");
    }
    return 4;
  }

  private sectionHeader(view: DataView, off: number, length: number): number {
    if (view.getUint16(off + 12, this.littleEndian) !== 1) {
      return this.fail("pcapng-version-unsupported");
    }
    // Interface ids are per section.
    this.ifLinkType.length = 0;
    this.ifSnaplen.length = 0;
    this.ifUnits.length = 0;
    this.ifUnitsBig.length = 0;
    this.ifOffsetSec.length = 0;
    return length;
  }

  private interfaceDescription(view: DataView, off: number, length: number): void {
    const le = this.littleEndian;
    let resolution = 6;
    let offsetSec = 0;
    const end = off + length - 4;
    let pos = off + 16;
    while (pos + 4 <= end) {
      const code = view.getUint16(pos, le);
      const size = view.getUint16(pos + 2, le);
      if (code === OPT_END) break;
      if (pos + 4 + size > end) {
        this.error("pcapng-option-invalid");
        break;
      }
      if (code === OPT_IF_TSRESOL && size >= 1) resolution = view.getUint8(pos + 4);
      if (code === OPT_IF_TSOFFSET && size === 8) {
        offsetSec = Number(view.getBigInt64(pos + 4, le));
      }
      pos += 4 + ((size + 3) & ~3);
    }
    this.ifLinkType.push(view.getUint16(off + 8, le));
    this.ifSnaplen.push(view.getUint32(off + 12, le));
    this.ifOffsetSec.push(offsetSec);
    // if_tsresol: top bit clear = 10^-n seconds, set = 2^-n seconds.
    const exponent = resolution & 0x7f;
    const binary = (resolution & 0x80) !== 0;
    if (exponent <= 9) {
      this.ifUnits.push(binary ? 2 ** exponent : 10 ** exponent);
      this.ifUnitsBig.push(0n);
    } else {
      this.ifUnits.push(0);
      this.ifUnitsBig.push(binary ? 1n << BigInt(exponent) : 10n ** BigInt(exponent));
    }
  }

  private enhancedPacket(buf: Uint8Array, view: DataView, off: number, length: number): void {
    const le = this.littleEndian;
    const interfaceId = view.getUint32(off + 8, le);
    const linkType = this.ifLinkType[interfaceId];
    if (linkType === undefined) {
      this.error("pcapng-interface-unknown");
      return;
    }
    const caplen = view.getUint32(off + 20, le);
    if (caplen > length - MIN_EPB) {
      this.error("caplen-over-block");
      return;
    }
    if (caplen > MAX_CAPTURED_LENGTH) {
      this.error("caplen-too-large");
      return;
    }
    const snaplen = this.ifSnaplen[interfaceId] ?? 0;
    if (snaplen !== 0 && caplen > snaplen) this.error("caplen-over-snaplen");
    const p = this.packet;
    p.linkType = linkType;
    p.interfaceId = interfaceId;
    this.setTimestamp(interfaceId, view.getUint32(off + 12, le), view.getUint32(off + 16, le));
    p.capturedLength = caplen;
    p.originalLength = view.getUint32(off + 24, le);
    this.deliver(buf, off + 28, caplen);
  }

  private simplePacket(buf: Uint8Array, view: DataView, off: number, length: number): void {
    const linkType = this.ifLinkType[0];
    if (linkType === undefined) {
      this.error("pcapng-interface-unknown");
      return;
    }
    const originalLength = view.getUint32(off + 8, this.littleEndian);
    // The block carries no captured length: it is the original length cut by the snaplen (the
    // rest of the block is padding).
    const snaplen = this.ifSnaplen[0] ?? 0;
    let caplen = Math.min(originalLength, length - MIN_SPB);
    if (snaplen !== 0) caplen = Math.min(caplen, snaplen);
    if (caplen > MAX_CAPTURED_LENGTH) {
      this.error("caplen-too-large");
      return;
    }
    const p = this.packet;
    p.linkType = linkType;
    p.interfaceId = 0;
    p.tsSec = 0;
    p.tsNsec = 0;
    p.capturedLength = caplen;
    p.originalLength = originalLength;
    this.deliver(buf, off + 12, caplen);
  }

  /** Splits a 64-bit tick count into seconds and nanoseconds without BigInt on common units. */
  private setTimestamp(interfaceId: number, high: number, low: number): void {
    const p = this.packet;
    const units = this.ifUnits[interfaceId] ?? 0;
    const offsetSec = this.ifOffsetSec[interfaceId] ?? 0;
    if (units !== 0) {
      // Long division of high:low by units (< 2^30) in 16-bit steps keeps every intermediate
      // below 2^53, so the result is exact.
      const highRem = high % units;
      let acc = highRem * 65536 + (low >>> 16);
      const q1 = Math.floor(acc / units);
      acc = (acc - q1 * units) * 65536 + (low & 0xffff);
      const q0 = Math.floor(acc / units);
      p.tsSec = ((high - highRem) / units) * 4294967296 + q1 * 65536 + q0 + offsetSec;
      p.tsNsec = (acc - q0 * units) * (NANOS_PER_SECOND / units);
      return;
    }
    const unitsBig = this.ifUnitsBig[interfaceId] ?? 1n;
    const ticks = (BigInt(high) << 32n) | BigInt(low);
    p.tsSec = Number(ticks / unitsBig) + offsetSec;
    p.tsNsec = Number(((ticks % unitsBig) * NANOS_PER_SECOND_BIG) / unitsBig);
  }
}
