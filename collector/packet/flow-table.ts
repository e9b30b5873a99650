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
 *
 * This file counts packets (`add`, `prefetch`); the entries' records, index and lists are in
 * flow-entries.ts, the flow key and its hash in flow-key.ts, the timeouts in flow-expiry.ts.
 */
import type { FlowBatch } from "../../schema/flow-record.js";
import { withLiveProperties } from "../live-properties.js";
import * as entry from "./flow-entries.js";
import {
  ageAppend,
  ageUnlink,
  FlowEntries,
  lruAppend,
  lruHead,
  lruUnlink,
  removeEntry,
  writeKey,
} from "./flow-entries.js";
import { sweep, type Timeouts } from "./flow-expiry.js";
import * as key from "./flow-key.js";
import { keyOf } from "./flow-key.js";
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

// Module-local copies of the record and key layouts (flow-entries.ts, flow-key.ts) for `add`
// and `prefetch`: V8 (Node 20) folds a module's own constants into optimised code, but loads an
// imported binding from its module cell on every use (measured: bench/README.md, "Splits").
const RECORD_BYTES = entry.RECORD_BYTES;
const W = entry.W;
const F = entry.F;
const VP = entry.VP;
const PORTS = entry.PORTS;
const ADDR_A = entry.ADDR_A;
const ADDR_B = entry.ADDR_B;
const PACKETS = entry.PACKETS;
const FLAGS_BYTE = entry.FLAGS_BYTE;
const DSCP_BYTE = entry.DSCP_BYTE;
const SEEN = entry.SEEN;
const BYTES = entry.BYTES;
const FIRST = entry.FIRST;
const LAST = entry.LAST;
const TCP_BITS_BYTE = entry.TCP_BITS_BYTE;
const HASH = entry.HASH;
const FIN = entry.FIN;
const SYN = entry.SYN;
const RST = entry.RST;
const ACK = entry.ACK;
const FIN_A = entry.FIN_A;
const FIN_B = entry.FIN_B;
const CLOSED = entry.CLOSED;
const PROTO_TCP = entry.PROTO_TCP;
const KEY_SRC = key.KEY_SRC;
const KEY_DST = key.KEY_DST;
const KEY_PORTS = key.KEY_PORTS;
const KEY_VP = key.KEY_VP;
const KEY_HASH = key.KEY_HASH;
const KEY_WORDS = key.KEY_WORDS;
/** Most packets one `prefetch` call looks at; more are left to `add`. */
const PREFETCH_MAX = 64;

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
  const timeouts: Timeouts = {
    idleUs: cfg.idleTimeoutMs * 1000,
    activeUs: cfg.activeTimeoutMs * 1000,
    lingerUs: cfg.tcpCloseLingerMs * 1000,
  };
  const sweepUs = cfg.sweepIntervalMs * 1000;
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
  const e = new FlowEntries(n, cfg.exporterId, stats);
  const timerDeps: TcpTimerDeps = {
    writeKey: (s, fromA, batch, row) => writeKey(e, s, fromA, batch, row),
  };
  if (deps.onTransaction !== undefined) timerDeps.onTransaction = deps.onTransaction;
  if (deps.onHandshake !== undefined) timerDeps.onHandshake = deps.onHandshake;
  const timer = cfg.tcpTiming ? createTcpTimer(n, timerDeps) : null;
  e.timer = timer;

  const { u32, f64, u8, closeUs, periodUs, lru, index, free, mask } = e;
  const LRU = e.LRU;
  const AGE = e.AGE;
  const CLOSING = e.CLOSING;
  let nextSweepUs = 0;
  // Times are µs from baseSec (the first packet's second); NaN until the first packet.
  let baseSec = Number.NaN;

  function expire(nowMs: number, out: FlowBatch): void {
    if (e.size === 0) return;
    sweep(e, timeouts, (nowMs - e.baseMs) * 1000, out);
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
      e.baseMs = tsSec * 1000;
      if (timer !== null) timer.setBase(tsSec * 1_000_000);
    }
    const tsUs = (tsSec - baseSec) * 1_000_000 + tsNsec / 1000;
    if (tsUs >= nextSweepUs) {
      nextSweepUs = tsUs + sweepUs;
      sweep(e, timeouts, tsUs, out);
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
      removeEntry(e, slot, out);
      slot = -1;
      fromA = true;
    }

    // ---- create ----
    if (slot < 0) {
      if (e.freeTop === 0) {
        stats.evictions++;
        removeEntry(e, lruHead(e), out);
      }
      const s = free[--e.freeTop]!;
      e.size++;
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
      lruAppend(lru, LRU, s);
      ageAppend(e, s, AGE);
      if (timer !== null && p === PROTO_TCP) timer.reset(s);
      slot = s;
    } else {
      f64[F * slot + SEEN] = tsUs;
      // Already the most recent (the flow's previous packet was the last one): nothing to move.
      if (lru[2 * LRU] !== slot) {
        lruUnlink(lru, slot);
        lruAppend(lru, LRU, slot);
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
          ageUnlink(e, slot);
          ageAppend(e, slot, CLOSING);
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
      for (let k = 0; k < limit && lruHead(e) !== LRU; k++) {
        stats.flushed++;
        removeEntry(e, lruHead(e), out);
      }
      return lruHead(e) === LRU;
    },
    stats,
    tcpStats: timer === null ? null : timer.stats,
    bytesPerFlow:
      RECORD_BYTES +
      8 + // lru
      8 * 2 + // closeUs, periodUs
      4 * 2 + // agePrev, ageNext
      4 + // free
      (8 * e.indexSize) / n +
      (timer === null ? 0 : timer.bytesPerConnection),
  };
  return withLiveProperties(table, { size: () => e.size });
}
