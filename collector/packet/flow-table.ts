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
 * - Memory is bounded: at most `maxFlows` entries, all preallocated in typed arrays
 *   (struct of arrays) with an open-addressing hash index; when full, the least recently
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
   * (no IP header). May append records to `out`.
   */
  add(info: PacketInfo, tsSec: number, tsNsec: number, out: FlowBatch): boolean;
  /** Runs the idle, active and close timeouts against `nowMs` (ms since the epoch, packet time). */
  expire(nowMs: number, out: FlowBatch): void;
  /** Exports and removes every entry (end of a capture file, shutdown). */
  flushAll(out: FlowBatch): void;
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

/** Hash of one endpoint (address words + port); summed for both ends, so order-free. */
function endpointHash(w0: number, w1: number, w2: number, w3: number, port: number): number {
  let h = Math.imul(w0 ^ 0x9e3779b9, 0xcc9e2d51);
  h = Math.imul((h << 15) | (h >>> 17), 0x1b873593) ^ w1;
  h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  h = Math.imul(h ^ w2, 0xcc9e2d51);
  h = Math.imul((h << 15) | (h >>> 17), 0x1b873593) ^ w3;
  h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  return fmix32(h ^ Math.imul(port + 1, 0x27d4eb2d));
}

function wordAt(b: Uint8Array, k: number): number {
  return ((b[k]! << 24) | (b[k + 1]! << 16) | (b[k + 2]! << 8) | b[k + 3]!) >>> 0;
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

  // ---- key (side A = the sender of the entry's first packet) ----
  const ver = new Uint8Array(n);
  const proto = new Uint8Array(n);
  const addrA = new Uint32Array(4 * n);
  const addrB = new Uint32Array(4 * n);
  const portA = new Uint16Array(n);
  const portB = new Uint16Array(n);
  const hashOf = new Uint32Array(n);
  // ---- counters per direction: index 2 * slot + (0: A → B, 1: B → A) ----
  const bytes = new Float64Array(2 * n);
  const packets = new Uint32Array(2 * n);
  const firstUs = new Float64Array(2 * n);
  const lastUs = new Float64Array(2 * n);
  const flags = new Uint8Array(2 * n);
  const dscp = new Uint8Array(2 * n);
  // ---- entry ----
  const seenUs = new Float64Array(n);
  const periodUs = new Float64Array(n);
  const closeUs = new Float64Array(n);
  const tcpBits = new Uint8Array(n);
  // ---- lists: LRU by last packet (head = least recent); by export period start (active
  // timeout); closing TCP entries by close time. Sentinels at n (lru, age) and n + 1 (closing).
  const lruPrev = new Int32Array(n + 1);
  const lruNext = new Int32Array(n + 1);
  const agePrev = new Int32Array(n + 2);
  const ageNext = new Int32Array(n + 2);
  const LRU = n;
  const AGE = n;
  const CLOSING = n + 1;
  lruPrev[LRU] = LRU;
  lruNext[LRU] = LRU;
  agePrev[AGE] = AGE;
  ageNext[AGE] = AGE;
  agePrev[CLOSING] = CLOSING;
  ageNext[CLOSING] = CLOSING;
  // ---- open-addressing index (linear probing, backward-shift deletion): slot + 1, 0 empty ----
  let indexSize = 1;
  while (indexSize < 2 * n) indexSize *= 2;
  const index = new Int32Array(indexSize);
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
    const v = ver[s]!;
    batch.exporterId[row] = exporterId;
    batch.ipVersion[row] = v;
    batch.protocol[row] = proto[s]!;
    const src = fromA ? addrA : addrB;
    const dst = fromA ? addrB : addrA;
    const k = 4 * s;
    if (v === 4) {
      batch.src4[row] = src[k]!;
      batch.dst4[row] = dst[k]!;
    } else {
      const o = 16 * row;
      for (let w = 0; w < 4; w++) {
        const a = src[k + w]!;
        const b = dst[k + w]!;
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
    batch.srcPort[row] = fromA ? portA[s]! : portB[s]!;
    batch.dstPort[row] = fromA ? portB[s]! : portA[s]!;
    batch.dscp[row] = dscp[2 * s + (fromA ? 0 : 1)]!;
  }

  const timerDeps: TcpTimerDeps = { writeKey };
  if (deps.onTransaction !== undefined) timerDeps.onTransaction = deps.onTransaction;
  if (deps.onHandshake !== undefined) timerDeps.onHandshake = deps.onHandshake;
  const timer = cfg.tcpTiming ? createTcpTimer(n, timerDeps) : null;

  // ---- lists ----
  function lruUnlink(s: number): void {
    const p = lruPrev[s]!;
    const q = lruNext[s]!;
    lruNext[p] = q;
    lruPrev[q] = p;
  }
  function lruAppend(s: number): void {
    const last = lruPrev[LRU]!;
    lruNext[last] = s;
    lruPrev[s] = last;
    lruNext[s] = LRU;
    lruPrev[LRU] = s;
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
    const d = 2 * s + side;
    const count = packets[d]!;
    if (count === 0) return;
    const i = out.next();
    writeKey(s, side === 0, out, i);
    out.tcpFlags[i] = flags[d]!;
    out.bytes[i] = bytes[d]!;
    out.packets[i] = count;
    out.startMs[i] = baseMs + firstUs[d]! / 1000;
    out.endMs[i] = baseMs + lastUs[d]! / 1000;
    out.samplingSource[i] = SamplingSource.Unsampled;
    out.dirty |= RECORD_COLUMNS;
    stats.records++;
    packets[d] = 0;
    bytes[d] = 0;
    flags[d] = 0;
  }

  /** Exports the entry's counts and removes it. */
  function remove(s: number, out: FlowBatch): void {
    if (timer !== null && proto[s] === PROTO_TCP) timer.finish(s);
    exportDirection(s, 0, out);
    exportDirection(s, 1, out);
    lruUnlink(s);
    ageUnlink(s);
    let i = hashOf[s]! & mask;
    while (index[i] !== s + 1) i = (i + 1) & mask;
    // Backward-shift deletion: pull later entries of the probe run into the hole.
    let hole = i;
    let j = (i + 1) & mask;
    for (;;) {
      const e = index[j]!;
      if (e === 0) break;
      const home = hashOf[e - 1]! & mask;
      // Move e into the hole unless its home lies cyclically in (hole, j].
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        index[hole] = e;
        hole = j;
      }
      j = (j + 1) & mask;
    }
    index[hole] = 0;
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
    for (let s = lruNext[LRU]!; s !== LRU; s = lruNext[LRU]!) {
      if (seenUs[s]! + idleUs > nowUs) break;
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

  function add(info: PacketInfo, tsSec: number, tsNsec: number, out: FlowBatch): boolean {
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
    const p = info.protocol;
    let sp = info.srcPort;
    let dp = info.dstPort;
    if ((p === PROTO_ICMP || p === PROTO_ICMPV6) && info.hasTransport) {
      sp = 0;
      dp = (info.icmpType << 8) | info.icmpCode;
    }
    let s0: number;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let d0: number;
    let d1 = 0;
    let d2 = 0;
    let d3 = 0;
    if (v === 4) {
      s0 = info.src4 >>> 0;
      d0 = info.dst4 >>> 0;
    } else {
      const a = info.src6;
      const b = info.dst6;
      s0 = wordAt(a, 0);
      s1 = wordAt(a, 4);
      s2 = wordAt(a, 8);
      s3 = wordAt(a, 12);
      d0 = wordAt(b, 0);
      d1 = wordAt(b, 4);
      d2 = wordAt(b, 8);
      d3 = wordAt(b, 12);
    }
    const h = fmix32(
      (endpointHash(s0, s1, s2, s3, sp) +
        endpointHash(d0, d1, d2, d3, dp) +
        Math.imul(p, 0x9e3779b1) +
        v) |
        0,
    );

    // ---- look up ----
    let slot = -1;
    let fromA = true;
    let i = h & mask;
    for (;;) {
      const e = index[i]!;
      if (e === 0) break;
      const s = e - 1;
      if (hashOf[s] === h && proto[s] === p && ver[s] === v) {
        const k = 4 * s;
        if (
          portA[s] === sp &&
          portB[s] === dp &&
          addrA[k] === s0 &&
          addrB[k] === d0 &&
          addrA[k + 1] === s1 &&
          addrA[k + 2] === s2 &&
          addrA[k + 3] === s3 &&
          addrB[k + 1] === d1 &&
          addrB[k + 2] === d2 &&
          addrB[k + 3] === d3
        ) {
          slot = s;
          break;
        }
        if (
          portA[s] === dp &&
          portB[s] === sp &&
          addrA[k] === d0 &&
          addrB[k] === s0 &&
          addrA[k + 1] === d1 &&
          addrA[k + 2] === d2 &&
          addrA[k + 3] === d3 &&
          addrB[k + 1] === s1 &&
          addrB[k + 2] === s2 &&
          addrB[k + 3] === s3
        ) {
          slot = s;
          fromA = false;
          break;
        }
      }
      i = (i + 1) & mask;
    }

    const tcp = p === PROTO_TCP && info.hasTransport;
    const f = tcp ? info.tcpFlags : 0;
    if (slot >= 0 && (f & (SYN | ACK)) === SYN && (tcpBits[slot]! & CLOSED) !== 0) {
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
        remove(lruNext[LRU]!, out);
      }
      const s = free[--freeTop]!;
      size++;
      stats.flowsCreated++;
      // The probe run may have changed (a removal above): find the first empty position.
      let j = h & mask;
      while (index[j] !== 0) j = (j + 1) & mask;
      index[j] = s + 1;
      hashOf[s] = h;
      ver[s] = v;
      proto[s] = p;
      portA[s] = sp;
      portB[s] = dp;
      const k = 4 * s;
      addrA[k] = s0;
      addrA[k + 1] = s1;
      addrA[k + 2] = s2;
      addrA[k + 3] = s3;
      addrB[k] = d0;
      addrB[k + 1] = d1;
      addrB[k + 2] = d2;
      addrB[k + 3] = d3;
      packets[2 * s] = 0;
      packets[2 * s + 1] = 0;
      bytes[2 * s] = 0;
      bytes[2 * s + 1] = 0;
      flags[2 * s] = 0;
      flags[2 * s + 1] = 0;
      tcpBits[s] = 0;
      periodUs[s] = tsUs;
      seenUs[s] = tsUs;
      lruAppend(s);
      ageAppend(s, AGE);
      if (timer !== null && p === PROTO_TCP) timer.reset(s);
      slot = s;
    } else {
      seenUs[slot] = tsUs;
      lruUnlink(slot);
      lruAppend(slot);
    }

    // ---- count ----
    const d = 2 * slot + (fromA ? 0 : 1);
    if (packets[d] === 0) {
      firstUs[d] = tsUs;
      dscp[d] = info.dscp;
    }
    packets[d] = packets[d]! + 1;
    bytes[d] = bytes[d]! + info.ipLength;
    lastUs[d] = tsUs;
    if (tcp) {
      flags[d] = flags[d]! | f;
      if (timer !== null) timer.packet(slot, fromA, info, tsUs);
      const b = tcpBits[slot]!;
      if ((b & CLOSED) === 0 && (f & (FIN | RST)) !== 0) {
        const nb = (f & RST) !== 0 ? b | CLOSED : b | (fromA ? FIN_A : FIN_B);
        tcpBits[slot] = (nb & (FIN_A | FIN_B)) === (FIN_A | FIN_B) ? nb | CLOSED : nb;
        if ((tcpBits[slot]! & CLOSED) !== 0) {
          closeUs[slot] = tsUs;
          ageUnlink(slot);
          ageAppend(slot, CLOSING);
        }
      }
    }
    return true;
  }

  return {
    add,
    expire,
    flushAll(out) {
      while (lruNext[LRU] !== LRU) {
        stats.flushed++;
        remove(lruNext[LRU]!, out);
      }
    },
    get size() {
      return size;
    },
    stats,
    tcpStats: timer === null ? null : timer.stats,
    bytesPerFlow:
      1 +
      1 +
      32 +
      2 +
      2 +
      4 +
      2 * (8 + 4 + 8 + 8 + 1 + 1) +
      8 * 3 +
      1 +
      4 * 4 +
      4 +
      (4 * indexSize) / n +
      (timer === null ? 0 : timer.bytesPerConnection),
  };
}
