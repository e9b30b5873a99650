/**
 * The flow table's entries: every entry's record (layout below) and the structures that find
 * and order them: the open-addressing hash index, the free-slot stack, and three lists (least
 * recently active, by export period, closing TCP connections). All preallocated for
 * `maxFlows` entries; nothing here allocates per packet. The operations that change more
 * than one of them (exporting an entry's counts, removing an entry) are functions of a
 * {@link FlowEntries}; flow-table.ts counts packets into it, flow-expiry.ts runs the timeouts.
 */
import { columnBit, type FlowBatch, SamplingSource } from "../../schema/flow-record.js";
import type { FlowTableStats } from "./flow-table.js";
import type { TcpTimer } from "./tcp-timing.js";

/** TCP flag bits of `PacketInfo.tcpFlags`. */
export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const ACK = 0x10;

/** An entry's TCP close bits (TCP_BITS_BYTE). */
export const FIN_A = 0x01;
export const FIN_B = 0x02;
export const CLOSED = 0x04;

export const PROTO_TCP = 6;

/**
 * An entry's record: 128 bytes, i.e. two 64-byte cache lines (the buffer is page-aligned).
 * Line 1, what a lookup reads (32-bit words; side A = the sender of the entry's first packet):
 *   0 version | protocol << 8, 1 port A | port B << 16, 2–5 address A, 6–9 address B (IPv4 in
 *   words 2 and 6, the others 0), 10–11 unused, 12–13 packets per direction (A → B, B → A),
 *   14 key hash, bytes 60–61 TCP flags and 62–63 DSCP per direction.
 * Line 2, what counting writes (64-bit floats, µs times): 8 last packet of either side,
 *   9–10 bytes, 11–12 first packet, 13–14 last packet per direction; byte 120 the TCP close bits.
 *
 * flow-table.ts's `add`, the per-packet code, takes module-local copies of these: V8 (Node 20)
 * folds a module's own constants into optimised code but loads imported bindings from their
 * module cells on every use.
 */
export const RECORD_BYTES = 128;
export const W = RECORD_BYTES / 4;
export const F = RECORD_BYTES / 8;
export const VP = 0;
export const PORTS = 1;
export const ADDR_A = 2;
export const ADDR_B = 6;
export const PACKETS = 12;
export const HASH = 14;
export const FLAGS_BYTE = 60;
export const DSCP_BYTE = 62;
export const SEEN = 8;
export const BYTES = 9;
export const FIRST = 11;
export const LAST = 13;
export const TCP_BITS_BYTE = 120;

/** Columns every flow record writes. */
const RECORD_COLUMNS =
  columnBit.exporterId |
  columnBit.ipVersion |
  columnBit.src4 |
  columnBit.dst4 |
  columnBit.src6 |
  columnBit.dst6 |
  columnBit.srcPort |
  columnBit.dstPort |
  columnBit.protocol |
  columnBit.tcpFlags |
  columnBit.dscp |
  columnBit.bytes |
  columnBit.packets |
  columnBit.startMs |
  columnBit.endMs |
  columnBit.samplingSource;

/** The entries of one flow table (`n` = maxFlows slots). */
export class FlowEntries {
  // ---- entries: one 128-byte record per slot (two cache lines), read through three views of
  // one buffer (layout at RECORD_BYTES). A lookup touches the index and then only the record's
  // first line (key); counting touches its second (times, bytes). With one typed
  // array per field, as before, a packet touched ~20 cache lines scattered over as many arrays;
  // this way about 4. Colder state (the export-period list, close times) has arrays of its own.
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
  readonly u8: Uint8Array;
  readonly closeUs: Float64Array;
  readonly periodUs: Float64Array;
  // ---- lists: LRU by last packet (head = least recent); by export period start (active
  // timeout); closing TCP entries by close time. Sentinels at n (lru, age) and n + 1 (closing).
  // The LRU links (previous, next) are apart from the records, so that the neighbours a relink
  // writes are two words of a small array (8 bytes an entry: in cache far more often than two
  // more records would be).
  readonly lru: Uint32Array;
  readonly agePrev: Int32Array;
  readonly ageNext: Int32Array;
  readonly LRU: number;
  readonly AGE: number;
  readonly CLOSING: number;
  // ---- open-addressing index (linear probing, backward-shift deletion): pairs of (slot + 1,
  // key hash), slot 0 = empty. The hash beside the slot number lets a probe pass over other
  // keys without reading their records (one cache miss fewer per collision).
  readonly indexSize: number;
  readonly index: Uint32Array;
  readonly mask: number;
  // ---- free slots ----
  readonly free: Int32Array;
  freeTop: number;
  size = 0;
  /** Packet times are µs from this (ms since the epoch): the first packet's second. */
  baseMs = 0;
  /** The TCP timer of the entries' connections, if timing is on. */
  timer: TcpTimer | null = null;

  constructor(
    readonly n: number,
    /** Written to `exporterId` of every record. */
    readonly exporterId: number,
    readonly stats: FlowTableStats,
  ) {
    const rec = new ArrayBuffer(RECORD_BYTES * n);
    this.u32 = new Uint32Array(rec);
    this.f64 = new Float64Array(rec);
    this.u8 = new Uint8Array(rec);
    this.closeUs = new Float64Array(n);
    this.periodUs = new Float64Array(n);
    const lru = new Uint32Array(2 * (n + 1));
    const agePrev = new Int32Array(n + 2);
    const ageNext = new Int32Array(n + 2);
    this.LRU = n;
    this.AGE = n;
    this.CLOSING = n + 1;
    lru[2 * n] = n;
    lru[2 * n + 1] = n;
    agePrev[n] = n;
    ageNext[n] = n;
    agePrev[n + 1] = n + 1;
    ageNext[n + 1] = n + 1;
    this.lru = lru;
    this.agePrev = agePrev;
    this.ageNext = ageNext;
    let indexSize = 1;
    while (indexSize < 2 * n) indexSize *= 2;
    this.indexSize = indexSize;
    this.index = new Uint32Array(2 * indexSize);
    this.mask = indexSize - 1;
    const free = new Int32Array(n);
    for (let k = 0; k < n; k++) free[k] = n - 1 - k;
    this.free = free;
    this.freeTop = n;
  }
}

// ---- lists ----
export function lruUnlink(lru: Uint32Array, s: number): void {
  const p = lru[2 * s]!;
  const q = lru[2 * s + 1]!;
  lru[2 * p + 1] = q;
  lru[2 * q] = p;
}

/** Appends `s` as the most recent entry of the LRU list whose sentinel is `head`. */
export function lruAppend(lru: Uint32Array, head: number, s: number): void {
  const last = lru[2 * head]!;
  lru[2 * last + 1] = s;
  lru[2 * s] = last;
  lru[2 * s + 1] = head;
  lru[2 * head] = s;
}

/** The least recently active entry (`e.LRU` when the table is empty). */
export function lruHead(e: FlowEntries): number {
  return e.lru[2 * e.LRU + 1]!;
}

export function ageUnlink(e: FlowEntries, s: number): void {
  const agePrev = e.agePrev;
  const ageNext = e.ageNext;
  const p = agePrev[s]!;
  const q = ageNext[s]!;
  ageNext[p] = q;
  agePrev[q] = p;
}

/** Appends `s` to the list whose sentinel is `head` (`e.AGE` or `e.CLOSING`). */
export function ageAppend(e: FlowEntries, s: number, head: number): void {
  const agePrev = e.agePrev;
  const ageNext = e.ageNext;
  const last = agePrev[head]!;
  ageNext[last] = s;
  agePrev[s] = last;
  ageNext[s] = head;
  agePrev[head] = s;
}

// ---- records ----

/**
 * Writes the key of the entry in slot `s` into row `row` of `batch`, from side A's point of
 * view (`fromA`) or side B's: exporter id, IP version, protocol, addresses, ports, DSCP.
 */
export function writeKey(
  e: FlowEntries,
  s: number,
  fromA: boolean,
  batch: FlowBatch,
  row: number,
): void {
  const u32 = e.u32;
  const r = W * s;
  const vp = u32[r + VP]!;
  const v = vp & 0xff;
  batch.exporterId[row] = e.exporterId;
  batch.ipVersion[row] = v;
  batch.protocol[row] = vp >>> 8;
  const src = r + (fromA ? ADDR_A : ADDR_B);
  const dst = r + (fromA ? ADDR_B : ADDR_A);
  if (v === 4) {
    batch.src4[row] = u32[src]!;
    batch.dst4[row] = u32[dst]!;
  } else {
    const o = 16 * row;
    for (let w = 0; w < 4; w++) {
      const a = u32[src + w]!;
      const b = u32[dst + w]!;
      batch.src6[o + 4 * w] = a >>> 24;
      batch.src6[o + 4 * w + 1] = a >>> 16;
      batch.src6[o + 4 * w + 2] = a >>> 8;
      batch.src6[o + 4 * w + 3] = a;
      batch.dst6[o + 4 * w] = b >>> 24;
      batch.dst6[o + 4 * w + 1] = b >>> 16;
      batch.dst6[o + 4 * w + 2] = b >>> 8;
      batch.dst6[o + 4 * w + 3] = b;
    }
  }
  const ports = u32[r + PORTS]!;
  batch.srcPort[row] = fromA ? ports & 0xffff : ports >>> 16;
  batch.dstPort[row] = fromA ? ports >>> 16 : ports & 0xffff;
  batch.dscp[row] = e.u8[RECORD_BYTES * s + DSCP_BYTE + (fromA ? 0 : 1)]!;
}

/** Exports one direction's counts since its last export as a record (none if it saw no packet). */
export function exportDirection(e: FlowEntries, s: number, side: number, out: FlowBatch): void {
  const u32 = e.u32;
  const f64 = e.f64;
  const u8 = e.u8;
  const count = u32[W * s + PACKETS + side]!;
  if (count === 0) return;
  const f = F * s;
  const i = out.next();
  writeKey(e, s, side === 0, out, i);
  out.tcpFlags[i] = u8[RECORD_BYTES * s + FLAGS_BYTE + side]!;
  out.bytes[i] = f64[f + BYTES + side]!;
  out.packets[i] = count;
  out.startMs[i] = e.baseMs + f64[f + FIRST + side]! / 1000;
  out.endMs[i] = e.baseMs + f64[f + LAST + side]! / 1000;
  out.samplingSource[i] = SamplingSource.Unsampled;
  out.dirty |= RECORD_COLUMNS;
  e.stats.records++;
  u32[W * s + PACKETS + side] = 0;
  f64[f + BYTES + side] = 0;
  u8[RECORD_BYTES * s + FLAGS_BYTE + side] = 0;
}

/** Exports the entry's counts and removes it. */
export function removeEntry(e: FlowEntries, s: number, out: FlowBatch): void {
  const timer = e.timer;
  if (timer !== null && e.u32[W * s + VP]! >>> 8 === PROTO_TCP) timer.finish(s);
  exportDirection(e, s, 0, out);
  exportDirection(e, s, 1, out);
  lruUnlink(e.lru, s);
  ageUnlink(e, s);
  const index = e.index;
  const mask = e.mask;
  let i = e.u32[W * s + HASH]! & mask;
  while (index[2 * i] !== s + 1) i = (i + 1) & mask;
  // Backward-shift deletion: pull later entries of the probe run into the hole.
  let hole = i;
  let j = (i + 1) & mask;
  for (;;) {
    const x = index[2 * j]!;
    if (x === 0) break;
    const home = index[2 * j + 1]! & mask;
    // Move x into the hole unless its home lies cyclically in (hole, j].
    if (((j - home) & mask) >= ((j - hole) & mask)) {
      index[2 * hole] = x;
      index[2 * hole + 1] = index[2 * j + 1]!;
      hole = j;
    }
    j = (j + 1) & mask;
  }
  index[2 * hole] = 0;
  e.free[e.freeTop++] = s;
  e.size--;
}
