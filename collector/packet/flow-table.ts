/**
 * The packet path's flow table: parsed packets in, unidirectional flow records out, in the
 * same {@link FlowBatch} rows the NetFlow/IPFIX decoders fill, so that classification and
 * aggregation treat a customer's bytes the same whichever way they were measured.
 *
 * - Keyed by the bidirectional 5-tuple (IP version, addresses, ports, protocol): both
 *   directions of a connection share one entry, and each direction that saw traffic is
 *   exported as its own record (src/dst as that direction's, like NetFlow's unidirectional
 *   flows). ICMP and ICMPv6 follow NetFlow: source port 0, destination port type × 256 + code
 *   (so an echo request and its reply are two entries). Non-first fragments carry no ports and
 *   count in a (addresses, protocol, ports 0) entry of their own. Tunnelled packets count as
 *   their inner packet (PacketInfo already describes the inner one).
 * - Bytes are `info.ipLength` (IP-layer bytes, the unit of NetFlow octet counts).
 * - An entry is exported and removed when idle for `idleTimeoutMs`, `tcpCloseLingerMs` after a
 *   TCP RST or after FINs from both sides (the linger lets the last ACKs join the flow), when
 *   a new SYN reuses the 5-tuple of a closed connection, when evicted, or by `flushAll`. An
 *   entry active for `activeTimeoutMs` is exported and kept: each export carries the counts
 *   since the previous one, so totals are exact.
 * - Memory is bounded: at most `maxFlows` entries, all preallocated: one 128-byte record
 *   per entry (see RECORD_BYTES) and an open-addressing hash index; when full, the least recently
 *   active entry is exported and evicted (`stats.evictions`). No allocation per packet.
 * - TCP response times: each TCP entry carries a {@link TcpTimer} connection; completed
 *   transactions go to `deps.onTransaction` (see tcp-timing.ts).
 *
 * The clock is the packets' own: `add` takes the capture timestamp as (seconds, nanoseconds),
 * runs the timeouts itself every `sweepIntervalMs` of packet time, and `expire(nowMs)` runs
 * them from a timer when packets stop. Records produced by `add` (evictions, timeouts) are
 * appended to the batch passed in. Internally times are microseconds (with the nanoseconds as
 * a fraction) from the first packet's second, so that delays are exact to the nanosecond
 * before they are rounded to whole microseconds, as tshark's are.
 */
import { columnBit, type FlowBatch, SamplingSource } from "../../schema/flow-record.js";
import { withLiveProperties } from "../live-properties.js";
import type { PacketInfo } from "./packet-info.js";
import {
  createTcpTimer,
  type TcpHandshake,
  type TcpTimerDeps,
  type TcpTimingStats,
  type TcpTransaction,
} from "./tcp-timing.js";

export interface FlowTableConfig {
  /** Most entries held at once; the memory is allocated up front. */
  maxFlows: number;
  /** An entry without packets for this long is exported and removed. */
  idleTimeoutMs: number;
  /** A long-lived entry is exported (counts since its last export) this often. */
  activeTimeoutMs: number;
  /** Kept this long after a TCP RST or FINs both ways, for the last ACKs. */
  tcpCloseLingerMs: number;
  /** Timeouts run from `add` whenever packet time has advanced this much. */
  sweepIntervalMs: number;
  /** Written to `exporterId` of every record (the capture point's index in `exporterNames`). */
  exporterId: number;
  /** Track TCP response times (allocates the timing state for `maxFlows` connections). */
  tcpTiming: boolean;
}

export const defaultFlowTableConfig: Readonly<FlowTableConfig> = Object.freeze({
  maxFlows: 262_144,
  idleTimeoutMs: 15_000,
  activeTimeoutMs: 60_000,
  tcpCloseLingerMs: 2_000,
  sweepIntervalMs: 1_000,
  exporterId: 0,
  tcpTiming: true,
});

export interface FlowTableDeps {
  /** Receives each completed TCP transaction (a reused object: copy what you keep). */
  onTransaction?: (t: TcpTransaction) => void;
  /** Receives each TCP handshake seen complete (a reused object). */
  onHandshake?: (h: TcpHandshake) => void;
}

export interface FlowTableStats {
  /** Packets counted (with an IP header). */
  packets: number;
  /** Packets ignored: no IP header read (`info.ipVersion === 0`). */
  ignoredPackets: number;
  /** Entries created. */
  flowsCreated: number;
  /** Entries removed after `idleTimeoutMs` without packets. */
  idleExpired: number;
  /** Entries exported (and kept) by the active timeout. */
  activeExports: number;
  /** Entries removed after TCP RST / FIN both ways (and the linger). */
  tcpClosed: number;
  /** Entries ended because a new SYN reused the 5-tuple of a closed connection. */
  tcpReused: number;
  /** Entries exported and removed because the table was full (least recently active first). */
  evictions: number;
  /** Entries removed by `flushAll`. */
  flushed: number;
  /** Flow records written to batches. */
  records: number;
}

export interface FlowTable {
  /**
   * Counts one parsed packet captured at `tsSec` + `tsNsec` (the capture's timestamp: Unix
   * seconds, nanoseconds within the second). Returns false when the packet was not counted
   * (no IP header). May append records to `out`. `prefetched`: the packet's position in the
   * group last given to `prefetch`, whose key is then not worked out again (ignored if `info`
   * is not the object at that position, or was already added with it; `info` must not have
   * changed since `prefetch`).
   */
  add(
    info: PacketInfo,
    tsSec: number,
    tsNsec: number,
    out: FlowBatch,
    prefetched?: number,
  ): boolean;
  /**
   * Reads the memory that counting `infos[0, count)` will touch (index slot, entry record, TCP
   * state, LRU neighbours) in a few tight loops, so that the group's cache misses overlap
   * instead of coming one packet after another; then `add` each packet as usual. A hint only:
   * it changes nothing, and results are the same without it.
   */
  prefetch(infos: readonly PacketInfo[], count: number): void;
  /** Runs the idle, active and close timeouts against `nowMs` (ms since the epoch, packet time). */
  expire(nowMs: number, out: FlowBatch): void;
  /**
   * Exports and removes every entry (end of a capture file, shutdown), or only the `limit`
   * least recently active, so that a caller can consume the records in batches of a bounded
   * size instead of one batch as large as the table. Returns true once the table is empty.
   */
  flushAll(out: FlowBatch, limit?: number): boolean;
  /** Entries held now. */
  readonly size: number;
  readonly stats: FlowTableStats;
  readonly tcpStats: TcpTimingStats | null;
  /** Bytes of preallocated state per entry (table, index and TCP timing). */
  readonly bytesPerFlow: number;
}

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;

const FIN_A = 0x01;
const FIN_B = 0x02;
const CLOSED = 0x04;

const PROTO_TCP = 6;
const PROTO_ICMP = 1;
const PROTO_ICMPV6 = 58;

/**
 * An entry's record: 128 bytes, i.e. two 64-byte cache lines (the buffer is page-aligned).
 * Line 1, what a lookup reads (32-bit words; side A = the sender of the entry's first packet):
 *   0 version | protocol << 8, 1 port A | port B << 16, 2–5 address A, 6–9 address B (IPv4 in
 *   words 2 and 6, the others 0), 10–11 unused, 12–13 packets per direction (A → B, B → A),
 *   14 key hash, bytes 60–61 TCP flags and 62–63 DSCP per direction.
 * Line 2, what counting writes (64-bit floats, µs times): 8 last packet of either side,
 *   9–10 bytes, 11–12 first packet, 13–14 last packet per direction; byte 120 the TCP close bits.
 */
const RECORD_BYTES = 128;
const W = RECORD_BYTES / 4;
const F = RECORD_BYTES / 8;
const VP = 0;
const PORTS = 1;
const ADDR_A = 2;
const ADDR_B = 6;
const PACKETS = 12;
const HASH = 14;
const FLAGS_BYTE = 60;
const DSCP_BYTE = 62;
const SEEN = 8;
const BYTES = 9;
const FIRST = 11;
const LAST = 13;
const TCP_BITS_BYTE = 120;

/** A packet's key as `keyOf` writes it: source address words, destination, ports, vp. */
const KEY_SRC = 0;
const KEY_DST = 4;
const KEY_PORTS = 8;
const KEY_VP = 9;
const KEY_HASH = 10;
const KEY_WORDS = 11;
/** Most packets one `prefetch` call looks at; more are left to `add`. */
const PREFETCH_MAX = 64;

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

function fmix32(x: number): number {
  let h = x;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Hash of one endpoint: the 4 address words at `key[at]` and the port; the two ends' hashes are
 * summed, so the key's hash does not depend on the direction.
 */
function endpointHash(key: Uint32Array, at: number, port: number): number {
  let h = Math.imul(key[at]! ^ 0x9e3779b9, 0xcc9e2d51);
  h = Math.imul((h << 15) | (h >>> 17), 0x1b873593) ^ key[at + 1]!;
  h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  h = Math.imul(h ^ key[at + 2]!, 0xcc9e2d51);
  h = Math.imul((h << 15) | (h >>> 17), 0x1b873593) ^ key[at + 3]!;
  h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  return fmix32(h ^ Math.imul(port + 1, 0x27d4eb2d));
}

function wordAt(b: Uint8Array, k: number): number {
  return ((b[k]! << 24) | (b[k + 1]! << 16) | (b[k + 2]! << 8) | b[k + 3]!) >>> 0;
}

/**
 * The key of `info`'s flow (ipVersion !== 0), written to `key[o...]` as KEY_SRC..KEY_VP (side
 * A = this packet's sender; ICMP ports as NetFlow has them), and at KEY_HASH its direction-free
 * hash (stored, not returned: a 32-bit number returned from a function that is not inlined is
 * a new heap number per call).
 */
function keyOf(info: PacketInfo, key: Uint32Array, o: number): void {
  const v = info.ipVersion;
  const p = info.protocol;
  let sp = info.srcPort;
  let dp = info.dstPort;
  if ((p === PROTO_ICMP || p === PROTO_ICMPV6) && info.hasTransport) {
    sp = 0;
    dp = (info.icmpType << 8) | info.icmpCode;
  }
  if (v === 4) {
    key[o + KEY_SRC] = info.src4;
    key[o + KEY_DST] = info.dst4;
    for (let w = 1; w < 4; w++) {
      key[o + KEY_SRC + w] = 0;
      key[o + KEY_DST + w] = 0;
    }
  } else {
    for (let w = 0; w < 4; w++) {
      key[o + KEY_SRC + w] = wordAt(info.src6, 4 * w);
      key[o + KEY_DST + w] = wordAt(info.dst6, 4 * w);
    }
  }
  key[o + KEY_PORTS] = sp | (dp << 16);
  key[o + KEY_VP] = v | (p << 8);
  key[o + KEY_HASH] = fmix32(
    (endpointHash(key, o + KEY_SRC, sp) +
      endpointHash(key, o + KEY_DST, dp) +
      Math.imul(p, 0x9e3779b1) +
      v) |
      0,
  );
}

function validate(c: FlowTableConfig): void {
  const positive = (name: keyof FlowTableConfig, v: number, max: number): void => {
    if (!Number.isFinite(v) || v <= 0 || v > max) {
      throw new RangeError(`flowTable.${name}: ${v} is not in (0, ${max}]`);
    }
  };
  positive("maxFlows", c.maxFlows, 1 << 26);
  if (!Number.isInteger(c.maxFlows)) {
    throw new RangeError(`flowTable.maxFlows: ${c.maxFlows} is not an integer`);
  }
  positive("idleTimeoutMs", c.idleTimeoutMs, 86_400_000);
  positive("activeTimeoutMs", c.activeTimeoutMs, 86_400_000);
  positive("tcpCloseLingerMs", c.tcpCloseLingerMs, 86_400_000);
  positive("sweepIntervalMs", c.sweepIntervalMs, 86_400_000);
}

export function createFlowTable(
  config: Partial<FlowTableConfig> = {},
  deps: FlowTableDeps = {},
): FlowTable {
  const cfg: FlowTableConfig = { ...defaultFlowTableConfig, ...config };
  validate(cfg);
  const n = cfg.maxFlows;
  const idleUs = cfg.idleTimeoutMs * 1000;
  const activeUs = cfg.activeTimeoutMs * 1000;
  const lingerUs = cfg.tcpCloseLingerMs * 1000;
  const sweepUs = cfg.sweepIntervalMs * 1000;
  const exporterId = cfg.exporterId;

  // ---- entries: one 128-byte record per slot (two cache lines), read through three views of
  // one buffer (layout at RECORD_BYTES). A lookup touches the index and then only the record's
  // first line (key); counting touches its second (times, bytes). With one typed
  // array per field, as before, a packet touched ~20 cache lines scattered over as many arrays;
  // this way about 4. Colder state (the export-period list, close times) has arrays of its own.
  const rec = new ArrayBuffer(RECORD_BYTES * n);
  const u32 = new Uint32Array(rec);
  const f64 = new Float64Array(rec);
  const u8 = new Uint8Array(rec);
  const closeUs = new Float64Array(n);
  const periodUs = new Float64Array(n);
  // ---- lists: LRU by last packet (head = least recent); by export period start (active
  // timeout); closing TCP entries by close time. Sentinels at n (lru, age) and n + 1 (closing).
  // The LRU links (previous, next) are apart from the records, so that the neighbours a relink
  // writes are two words of a small array (8 bytes an entry: in cache far more often than two
  // more records would be).
  const lru = new Uint32Array(2 * (n + 1));
  const agePrev = new Int32Array(n + 2);
  const ageNext = new Int32Array(n + 2);
  const LRU = n;
  const AGE = n;
  const CLOSING = n + 1;
  lru[2 * LRU] = LRU;
  lru[2 * LRU + 1] = LRU;
  agePrev[AGE] = AGE;
  ageNext[AGE] = AGE;
  agePrev[CLOSING] = CLOSING;
  ageNext[CLOSING] = CLOSING;
  // ---- open-addressing index (linear probing, backward-shift deletion): pairs of (slot + 1,
  // key hash), slot 0 = empty. The hash beside the slot number lets a probe pass over other
  // keys without reading their records (one cache miss fewer per collision).
  let indexSize = 1;
  while (indexSize < 2 * n) indexSize *= 2;
  const index = new Uint32Array(2 * indexSize);
  const mask = indexSize - 1;
  // ---- free slots ----
  const free = new Int32Array(n);
  for (let k = 0; k < n; k++) free[k] = n - 1 - k;
  let freeTop = n;
  let size = 0;
  let nextSweepUs = 0;
  // Times are µs from baseSec (the first packet's second); NaN until the first packet.
  let baseSec = Number.NaN;
  let baseMs = 0;

  const stats: FlowTableStats = {
    packets: 0,
    ignoredPackets: 0,
    flowsCreated: 0,
    idleExpired: 0,
    activeExports: 0,
    tcpClosed: 0,
    tcpReused: 0,
    evictions: 0,
    flushed: 0,
    records: 0,
  };

  function writeKey(s: number, fromA: boolean, batch: FlowBatch, row: number): void {
    const r = W * s;
    const vp = u32[r + VP]!;
    const v = vp & 0xff;
    batch.exporterId[row] = exporterId;
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
    batch.dscp[row] = u8[RECORD_BYTES * s + DSCP_BYTE + (fromA ? 0 : 1)]!;
  }

  const timerDeps: TcpTimerDeps = { writeKey };
  if (deps.onTransaction !== undefined) timerDeps.onTransaction = deps.onTransaction;
  if (deps.onHandshake !== undefined) timerDeps.onHandshake = deps.onHandshake;
  const timer = cfg.tcpTiming ? createTcpTimer(n, timerDeps) : null;

  // ---- lists ----
  function lruUnlink(s: number): void {
    const p = lru[2 * s]!;
    const q = lru[2 * s + 1]!;
    lru[2 * p + 1] = q;
    lru[2 * q] = p;
  }
  function lruAppend(s: number): void {
    const last = lru[2 * LRU]!;
    lru[2 * last + 1] = s;
    lru[2 * s] = last;
    lru[2 * s + 1] = LRU;
    lru[2 * LRU] = s;
  }
  /** The least recently active entry (LRU when the table is empty). */
  function lruHead(): number {
    return lru[2 * LRU + 1]!;
  }
  function ageUnlink(s: number): void {
    const p = agePrev[s]!;
    const q = ageNext[s]!;
    ageNext[p] = q;
    agePrev[q] = p;
  }
  function ageAppend(s: number, head: number): void {
    const last = agePrev[head]!;
    ageNext[last] = s;
    agePrev[s] = last;
    ageNext[s] = head;
    agePrev[head] = s;
  }

  // ---- records ----
  function exportDirection(s: number, side: number, out: FlowBatch): void {
    const count = u32[W * s + PACKETS + side]!;
    if (count === 0) return;
    const f = F * s;
    const i = out.next();
    writeKey(s, side === 0, out, i);
    out.tcpFlags[i] = u8[RECORD_BYTES * s + FLAGS_BYTE + side]!;
    out.bytes[i] = f64[f + BYTES + side]!;
    out.packets[i] = count;
    out.startMs[i] = baseMs + f64[f + FIRST + side]! / 1000;
    out.endMs[i] = baseMs + f64[f + LAST + side]! / 1000;
    out.samplingSource[i] = SamplingSource.Unsampled;
    out.dirty |= RECORD_COLUMNS;
    stats.records++;
    u32[W * s + PACKETS + side] = 0;
    f64[f + BYTES + side] = 0;
    u8[RECORD_BYTES * s + FLAGS_BYTE + side] = 0;
  }

  /** Exports the entry's counts and removes it. */
  function remove(s: number, out: FlowBatch): void {
    if (timer !== null && u32[W * s + VP]! >>> 8 === PROTO_TCP) timer.finish(s);
    exportDirection(s, 0, out);
    exportDirection(s, 1, out);
    lruUnlink(s);
    ageUnlink(s);
    let i = u32[W * s + HASH]! & mask;
    while (index[2 * i] !== s + 1) i = (i + 1) & mask;
    // Backward-shift deletion: pull later entries of the probe run into the hole.
    let hole = i;
    let j = (i + 1) & mask;
    for (;;) {
      const e = index[2 * j]!;
      if (e === 0) break;
      const home = index[2 * j + 1]! & mask;
      // Move e into the hole unless its home lies cyclically in (hole, j].
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        index[2 * hole] = e;
        index[2 * hole + 1] = index[2 * j + 1]!;
        hole = j;
      }
      j = (j + 1) & mask;
    }
    index[2 * hole] = 0;
    free[freeTop++] = s;
    size--;
  }

  function expire(nowMs: number, out: FlowBatch): void {
    if (size === 0) return;
    sweep((nowMs - baseMs) * 1000, out);
  }

  function sweep(nowUs: number, out: FlowBatch): void {
    for (let s = ageNext[CLOSING]!; s !== CLOSING; s = ageNext[CLOSING]!) {
      if (closeUs[s]! + lingerUs > nowUs) break;
      stats.tcpClosed++;
      remove(s, out);
    }
    for (let s = lruHead(); s !== LRU; s = lruHead()) {
      if (f64[F * s + SEEN]! + idleUs > nowUs) break;
      stats.idleExpired++;
      remove(s, out);
    }
    for (let s = ageNext[AGE]!; s !== AGE; s = ageNext[AGE]!) {
      if (periodUs[s]! + activeUs > nowUs) break;
      stats.activeExports++;
      exportDirection(s, 0, out);
      exportDirection(s, 1, out);
      periodUs[s] = nowUs;
      ageUnlink(s);
      ageAppend(s, AGE);
    }
  }

  // Keys of the group last prefetched (positions 0..PREFETCH_MAX-1), and at position
  // PREFETCH_MAX the key of a packet added without one.
  const keys = new Uint32Array((PREFETCH_MAX + 1) * KEY_WORDS);
  const prefetchedInfos: Array<PacketInfo | undefined> = [];
  const hints = new Int32Array(PREFETCH_MAX);
  /** Sum of the values `prefetch` read, stored so that the reads are not optimised away. */
  const touched = new Float64Array(1);

  function prefetch(infos: readonly PacketInfo[], count: number): void {
    const m = count < PREFETCH_MAX ? count : PREFETCH_MAX;
    // Pass by pass, so that each pass's loads are independent of each other and the CPU has
    // them all in flight at once: hashes, then index slots, then records, then what a record
    // links to (TCP state, LRU neighbours).
    for (let k = 0; k < m; k++) {
      const info = infos[k]!;
      prefetchedInfos[k] = info;
      if (info.ipVersion === 0) {
        hints[k] = -1;
        continue;
      }
      keyOf(info, keys, k * KEY_WORDS);
      hints[k] = keys[k * KEY_WORDS + KEY_HASH]! & mask;
    }
    prefetchedInfos.length = m;
    let sum = 0;
    for (let k = 0; k < m; k++) {
      const i = hints[k]!;
      hints[k] = i < 0 ? -1 : index[2 * i]! - 1;
    }
    for (let k = 0; k < m; k++) {
      const s = hints[k]!;
      if (s >= 0) sum += u32[W * s + PORTS]! + f64[F * s + SEEN]!;
    }
    for (let k = 0; k < m; k++) {
      const s = hints[k]!;
      if (s < 0) continue;
      // Unlinking writes the previous entry's "next" and the next entry's "previous".
      sum += lru[2 * lru[2 * s]! + 1]! + lru[2 * lru[2 * s + 1]!]!;
      if (timer !== null && u32[W * s + VP]! >>> 8 === PROTO_TCP) sum += timer.touch(s);
    }
    touched[0] = sum;
  }

  function add(
    info: PacketInfo,
    tsSec: number,
    tsNsec: number,
    out: FlowBatch,
    prefetched = -1,
  ): boolean {
    const v = info.ipVersion;
    if (v === 0) {
      stats.ignoredPackets++;
      return false;
    }
    stats.packets++;
    if (Number.isNaN(baseSec)) {
      baseSec = tsSec;
      baseMs = tsSec * 1000;
      if (timer !== null) timer.setBase(tsSec * 1_000_000);
    }
    const tsUs = (tsSec - baseSec) * 1_000_000 + tsNsec / 1000;
    if (tsUs >= nextSweepUs) {
      nextSweepUs = tsUs + sweepUs;
      sweep(tsUs, out);
    }
    // A prefetched key serves once: a packet re-parsed into the same object and added again
    // with the same position gets its key worked out anew.
    const known = prefetched >= 0 && prefetchedInfos[prefetched] === info;
    if (known) prefetchedInfos[prefetched] = undefined;
    const o = known ? prefetched * KEY_WORDS : PREFETCH_MAX * KEY_WORDS;
    if (!known) keyOf(info, keys, o);
    const h = keys[o + KEY_HASH]!;
    const s0 = keys[o + KEY_SRC]!;
    const s1 = keys[o + KEY_SRC + 1]!;
    const s2 = keys[o + KEY_SRC + 2]!;
    const s3 = keys[o + KEY_SRC + 3]!;
    const d0 = keys[o + KEY_DST]!;
    const d1 = keys[o + KEY_DST + 1]!;
    const d2 = keys[o + KEY_DST + 2]!;
    const d3 = keys[o + KEY_DST + 3]!;
    const p = info.protocol;

    // ---- look up ----
    const vp = keys[o + KEY_VP]!;
    const forward = keys[o + KEY_PORTS]!;
    const reverse = ((forward >>> 16) | (forward << 16)) >>> 0;
    let slot = -1;
    let fromA = true;
    let i = h & mask;
    for (;;) {
      const e = index[2 * i]!;
      if (e === 0) break;
      if (index[2 * i + 1] === h) {
        const r = W * (e - 1);
        const ports = u32[r + PORTS]!;
        if (u32[r + VP] === vp) {
          if (
            ports === forward &&
            u32[r + ADDR_A] === s0 &&
            u32[r + ADDR_B] === d0 &&
            u32[r + ADDR_A + 1] === s1 &&
            u32[r + ADDR_A + 2] === s2 &&
            u32[r + ADDR_A + 3] === s3 &&
            u32[r + ADDR_B + 1] === d1 &&
            u32[r + ADDR_B + 2] === d2 &&
            u32[r + ADDR_B + 3] === d3
          ) {
            slot = e - 1;
            break;
          }
          if (
            ports === reverse &&
            u32[r + ADDR_A] === d0 &&
            u32[r + ADDR_B] === s0 &&
            u32[r + ADDR_A + 1] === d1 &&
            u32[r + ADDR_A + 2] === d2 &&
            u32[r + ADDR_A + 3] === d3 &&
            u32[r + ADDR_B + 1] === s1 &&
            u32[r + ADDR_B + 2] === s2 &&
            u32[r + ADDR_B + 3] === s3
          ) {
            slot = e - 1;
            fromA = false;
            break;
          }
        }
      }
      i = (i + 1) & mask;
    }

    const tcp = p === PROTO_TCP && info.hasTransport;
    const f = tcp ? info.tcpFlags : 0;
    if (
      slot >= 0 &&
      (f & (SYN | ACK)) === SYN &&
      (u8[RECORD_BYTES * slot + TCP_BITS_BYTE]! & CLOSED) !== 0
    ) {
      // A new connection on the 5-tuple of a closed one: end the old entry first.
      stats.tcpReused++;
      remove(slot, out);
      slot = -1;
      fromA = true;
    }

    // ---- create ----
    if (slot < 0) {
      if (freeTop === 0) {
        stats.evictions++;
        remove(lruHead(), out);
      }
      const s = free[--freeTop]!;
      size++;
      stats.flowsCreated++;
      // The probe run may have changed (a removal above): find the first empty position.
      let j = h & mask;
      while (index[2 * j] !== 0) j = (j + 1) & mask;
      index[2 * j] = s + 1;
      index[2 * j + 1] = h;
      const r = W * s;
      u32[r + VP] = vp;
      u32[r + PORTS] = forward;
      u32[r + ADDR_A] = s0;
      u32[r + ADDR_A + 1] = s1;
      u32[r + ADDR_A + 2] = s2;
      u32[r + ADDR_A + 3] = s3;
      u32[r + ADDR_B] = d0;
      u32[r + ADDR_B + 1] = d1;
      u32[r + ADDR_B + 2] = d2;
      u32[r + ADDR_B + 3] = d3;
      u32[r + PACKETS] = 0;
      u32[r + PACKETS + 1] = 0;
      u32[r + HASH] = h;
      u8[RECORD_BYTES * s + FLAGS_BYTE] = 0;
      u8[RECORD_BYTES * s + FLAGS_BYTE + 1] = 0;
      u8[RECORD_BYTES * s + TCP_BITS_BYTE] = 0;
      f64[F * s + BYTES] = 0;
      f64[F * s + BYTES + 1] = 0;
      f64[F * s + SEEN] = tsUs;
      periodUs[s] = tsUs;
      lruAppend(s);
      ageAppend(s, AGE);
      if (timer !== null && p === PROTO_TCP) timer.reset(s);
      slot = s;
    } else {
      f64[F * slot + SEEN] = tsUs;
      // Already the most recent (the flow's previous packet was the last one): nothing to move.
      if (lru[2 * LRU] !== slot) {
        lruUnlink(slot);
        lruAppend(slot);
      }
    }

    // ---- count ----
    const side = fromA ? 0 : 1;
    const pk = W * slot + PACKETS + side;
    const t = F * slot;
    const count = u32[pk]!;
    if (count === 0) {
      f64[t + FIRST + side] = tsUs;
      u8[RECORD_BYTES * slot + DSCP_BYTE + side] = info.dscp;
    }
    u32[pk] = count + 1;
    f64[t + BYTES + side] = f64[t + BYTES + side]! + info.ipLength;
    f64[t + LAST + side] = tsUs;
    if (tcp) {
      const fl = RECORD_BYTES * slot + FLAGS_BYTE + side;
      u8[fl] = u8[fl]! | f;
      if (timer !== null) {
        timer.clock[0] = tsUs;
        timer.packet(slot, fromA, info);
      }
      const bitsAt = RECORD_BYTES * slot + TCP_BITS_BYTE;
      const b = u8[bitsAt]!;
      if ((b & CLOSED) === 0 && (f & (FIN | RST)) !== 0) {
        const nb = (f & RST) !== 0 ? b | CLOSED : b | (fromA ? FIN_A : FIN_B);
        const closed = (nb & (FIN_A | FIN_B)) === (FIN_A | FIN_B) ? nb | CLOSED : nb;
        u8[bitsAt] = closed;
        if ((closed & CLOSED) !== 0) {
          closeUs[slot] = tsUs;
          ageUnlink(slot);
          ageAppend(slot, CLOSING);
        }
      }
    }
    return true;
  }

  // `size` is added afterwards (live-properties.ts): with a getter in the literal, every
  // `table.add` would be a dictionary lookup.
  const table = {
    add,
    prefetch,
    expire,
    flushAll(out: FlowBatch, limit = Number.POSITIVE_INFINITY) {
      for (let k = 0; k < limit && lruHead() !== LRU; k++) {
        stats.flushed++;
        remove(lruHead(), out);
      }
      return lruHead() === LRU;
    },
    stats,
    tcpStats: timer === null ? null : timer.stats,
    bytesPerFlow:
      RECORD_BYTES +
      8 + // lru
      8 * 2 + // closeUs, periodUs
      4 * 2 + // agePrev, ageNext
      4 + // free
      (8 * indexSize) / n +
      (timer === null ? 0 : timer.bytesPerConnection),
  };
  return withLiveProperties(table, { size: () => size });
}
