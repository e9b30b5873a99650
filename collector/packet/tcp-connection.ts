/**
 * A TCP connection's timing record and its per-packet state machine: the handshake (SYN,
 * SYN-ACK, ACK), the request/response phases of its transactions, the sequence bookkeeping
 * of each direction (retransmissions, gaps, keep-alives) and the close (FIN, RST). Functions
 * of a {@link TcpConnections} (the records of every flow-table slot) and one packet; they
 * allocate nothing. The flow table drives them through createTcpTimer (tcp-timing.ts).
 *
 * The layout constants are this file's own `const`s on purpose: V8 (Node 20) folds a module's
 * own constants into optimised code, but loads an imported binding from its module cell on
 * every use. tcp-transaction.ts, which runs once per transaction, imports them.
 */
import type { PacketInfo } from "./packet-info.js";
import type { TcpEmitter, TcpTimingStats } from "./tcp-transaction.js";

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const ACK = 0x10;

/** Handshake progress of a connection. */
export const HS_NONE = 0;
export const HS_SYN = 1;
export const HS_SYNACK = 2;
export const HS_TIMED = 3;
export const HS_UNTIMED = 4;

/** Transaction phase. */
export const TX_IDLE = 0;
export const TX_REQUEST = 1;
export const TX_RESPONSE = 2;

/**
 * A connection's record: 128 bytes, two cache lines. Line 1 holds what most packets touch:
 * bytes 0–2 the handshake state, transaction phase and `bits`; 32-bit words 1–2 the next
 * expected sequence number per direction (side 0 = sent by the flow's side A), 3–4 and 5–6
 * the gap (start, end) per direction, 7–11 request/response packets and retransmissions and
 * the transaction count; 64-bit floats 6–7 the request's and the response's last packet.
 * Line 2: bytes of request and response, then the handshake and first-packet times (µs), and
 * in 32-bit word 30 the highest acknowledgement number the client sent.
 */
export const CONNECTION_BYTES = 128;
export const CB = CONNECTION_BYTES;
export const CW = CONNECTION_BYTES / 4;
export const CF = CONNECTION_BYTES / 8;
export const HS = 0;
export const TX = 1;
export const BITS = 2;
export const NEXT_SEQ = 1;
export const HOLE_START = 3;
export const HOLE_END = 5;
export const REQ_PACKETS = 7;
export const RESP_PACKETS = 8;
export const REQ_RETRANS = 9;
export const RESP_RETRANS = 10;
export const TX_COUNT = 11;
export const REQ_LAST = 6;
export const RESP_LAST = 7;
export const REQ_BYTES = 8;
export const RESP_BYTES = 9;
export const SYN_US = 10;
export const SYN_ACK_US = 11;
export const ACK_US = 12;
export const REQ_FIRST = 13;
export const RESP_FIRST = 14;
/** 32-bit word: the client's highest ACK number (valid with CLIENT_ACK_KNOWN). */
export const CLIENT_ACK = 30;

/** `bits` flags. */
export const SEQ_KNOWN_A = 0x01;
export const SEQ_KNOWN_B = 0x02;
export const HOLE_A = 0x04;
export const HOLE_B = 0x08;
export const CLIENT_IS_A = 0x10;
export const CLIENT_ACK_KNOWN = 0x20;

/** What {@link classifySegment} found. */
export const SEGMENT_NEW = 0;
export const SEGMENT_RETRANSMISSION = 1;
export const SEGMENT_OUT_OF_ORDER = 2;
export const SEGMENT_KEEP_ALIVE = 3;

/** The timing records of `capacity` connections (flow-table slots), with the counters. */
export class TcpConnections {
  readonly u8: Uint8Array;
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
  /**
   * `clock[0]`: the time of the packet being timed, µs from the base. A float passed as an
   * argument to a function that is not inlined is a new heap number per call; in a typed array
   * it is not.
   */
  readonly clock = new Float64Array(1);

  constructor(
    capacity: number,
    readonly stats: TcpTimingStats,
    readonly emitter: TcpEmitter,
    /** The buffer of the records: one 128-byte record per connection (CONNECTION_BYTES). */
    state: ArrayBuffer = new ArrayBuffer(CONNECTION_BYTES * capacity),
  ) {
    this.u8 = new Uint8Array(state);
    this.u32 = new Uint32Array(state);
    this.f64 = new Float64Array(state);
  }
}

/** Starts a new connection in slot `s`. */
export function resetConnection(c: TcpConnections, s: number): void {
  const { u8, u32 } = c;
  u8[CB * s + HS] = HS_NONE;
  u8[CB * s + TX] = TX_IDLE;
  u8[CB * s + BITS] = 0;
  u32[CW * s + TX_COUNT] = 0;
}

/**
 * Reads both cache lines of slot `s`'s record; returns a small meaningless integer (a larger
 * one would be returned as a new heap number).
 */
export function touchConnection(c: TcpConnections, s: number): number {
  const u32 = c.u32;
  return (u32[CW * s]! ^ u32[CW * s + CW / 2]!) & 0xff;
}

/**
 * One TCP packet of the connection in slot `s`, at `c.clock[0]`; `fromA`: sent by the flow's
 * side A. The packet must have its transport header (`info.hasTransport`).
 */
export function timePacket(c: TcpConnections, s: number, fromA: boolean, info: PacketInfo): void {
  const { u8, u32, f64 } = c;
  const tsUs = c.clock[0]!;
  const f = info.tcpFlags;
  const side = fromA ? 0 : 1;
  const d = CW * s + side;
  const seq = info.tcpSeq;
  const payload = info.tcpPayloadLength;
  let h = u8[CB * s + HS]!;
  const fromClient = ((u8[CB * s + BITS]! & CLIENT_IS_A) !== 0) === fromA;

  // ---- handshake ----
  if ((f & SYN) !== 0) {
    if ((f & ACK) === 0) {
      if (h === HS_NONE) {
        u8[CB * s + HS] = HS_SYN;
        u8[CB * s + BITS] = fromA
          ? u8[CB * s + BITS]! | CLIENT_IS_A
          : u8[CB * s + BITS]! & ~CLIENT_IS_A;
        f64[CF * s + SYN_US] = tsUs;
      } else if (h === HS_SYN) {
        if (fromClient) {
          // The SYN-ACK answers the most recent SYN (tshark times iRTT from it too).
          c.stats.synRetransmissions++;
          f64[CF * s + SYN_US] = tsUs;
        } else {
          c.stats.simultaneousOpens++;
          c.stats.untimedConnections++;
          u8[CB * s + HS] = HS_UNTIMED;
        }
      }
    } else if (h === HS_SYN && !fromClient) {
      u8[CB * s + HS] = HS_SYNACK;
      f64[CF * s + SYN_ACK_US] = tsUs;
    } else if (h === HS_NONE) {
      // SYN missed: the SYN-ACK's sender is the server, but SND is unknown.
      u8[CB * s + BITS] = fromA
        ? u8[CB * s + BITS]! & ~CLIENT_IS_A
        : u8[CB * s + BITS]! | CLIENT_IS_A;
      u8[CB * s + HS] = HS_UNTIMED;
      c.stats.untimedConnections++;
    }
    // A SYN consumes one sequence number (plus any data: TCP Fast Open).
    u32[d + NEXT_SEQ] = (seq + 1 + payload) >>> 0;
    u8[CB * s + BITS] = u8[CB * s + BITS]! | (side === 0 ? SEQ_KNOWN_A : SEQ_KNOWN_B);
    return;
  }
  if (h === HS_NONE) {
    h = HS_UNTIMED;
    u8[CB * s + HS] = h;
    c.stats.untimedConnections++;
  } else if (h === HS_SYNACK && fromClient && (f & (ACK | RST)) === ACK) {
    h = HS_TIMED;
    u8[CB * s + HS] = h;
    f64[CF * s + ACK_US] = tsUs;
    c.stats.timedConnections++;
    c.emitter.emitHandshake(s);
  }

  // The client's highest ACK: response data at or below it had reached the client already.
  if (fromClient && (f & ACK) !== 0 && h === HS_TIMED) {
    const b = u8[CB * s + BITS]!;
    if ((b & CLIENT_ACK_KNOWN) === 0) {
      u8[CB * s + BITS] = b | CLIENT_ACK_KNOWN;
      u32[CW * s + CLIENT_ACK] = info.tcpAck;
    } else if (((info.tcpAck - u32[CW * s + CLIENT_ACK]!) | 0) > 0) {
      u32[CW * s + CLIENT_ACK] = info.tcpAck;
    }
  }

  // ---- data ----
  if (payload > 0) {
    const kind = classifySegment(u8, u32, s, side, info);
    if (kind === SEGMENT_KEEP_ALIVE) c.stats.keepAlives++;
    else {
      if (kind === SEGMENT_RETRANSMISSION) c.stats.retransmissions++;
      else if (kind === SEGMENT_OUT_OF_ORDER) c.stats.outOfOrder++;
      if (h === HS_TIMED) {
        const phase = u8[CB * s + TX]!;
        if (fromClient) {
          if (kind === SEGMENT_RETRANSMISSION) {
            if (phase !== TX_IDLE) u32[CW * s + REQ_RETRANS] = u32[CW * s + REQ_RETRANS]! + 1;
            if (phase === TX_REQUEST) {
              f64[CF * s + REQ_LAST] = tsUs;
              f64[CF * s + REQ_BYTES] = f64[CF * s + REQ_BYTES]! + payload;
              u32[CW * s + REQ_PACKETS] = u32[CW * s + REQ_PACKETS]! + 1;
            }
          } else if (phase === TX_REQUEST) {
            f64[CF * s + REQ_LAST] = tsUs;
            f64[CF * s + REQ_BYTES] = f64[CF * s + REQ_BYTES]! + payload;
            u32[CW * s + REQ_PACKETS] = u32[CW * s + REQ_PACKETS]! + 1;
          } else {
            if (phase === TX_RESPONSE) c.emitter.emit(s);
            startRequest(c, s, payload);
          }
        } else if (phase === TX_RESPONSE) {
          // A spurious retransmission (its whole range already acknowledged by the client,
          // tshark's "Spurious Retransmission") is counted but does not extend the response:
          // the client had that data, the user was not waiting for it.
          const spurious =
            kind === SEGMENT_RETRANSMISSION &&
            (u8[CB * s + BITS]! & CLIENT_ACK_KNOWN) !== 0 &&
            ((seq + payload - u32[CW * s + CLIENT_ACK]!) | 0) <= 0;
          if (!spurious) f64[CF * s + RESP_LAST] = tsUs;
          f64[CF * s + RESP_BYTES] = f64[CF * s + RESP_BYTES]! + payload;
          u32[CW * s + RESP_PACKETS] = u32[CW * s + RESP_PACKETS]! + 1;
          if (kind === SEGMENT_RETRANSMISSION)
            u32[CW * s + RESP_RETRANS] = u32[CW * s + RESP_RETRANS]! + 1;
        } else if (phase === TX_REQUEST && kind !== SEGMENT_RETRANSMISSION) {
          u8[CB * s + TX] = TX_RESPONSE;
          f64[CF * s + RESP_FIRST] = tsUs;
          f64[CF * s + RESP_LAST] = tsUs;
          f64[CF * s + RESP_BYTES] = payload;
          u32[CW * s + RESP_PACKETS] = 1;
        } else if (phase === TX_IDLE) c.stats.unsolicitedServerSegments++;
      }
    }
  }

  // ---- close ----
  if ((f & FIN) !== 0) {
    const end = (seq + payload + 1) >>> 0;
    const knownBit = side === 0 ? SEQ_KNOWN_A : SEQ_KNOWN_B;
    if ((u8[CB * s + BITS]! & knownBit) === 0) {
      u8[CB * s + BITS] = u8[CB * s + BITS]! | knownBit;
      u32[d + NEXT_SEQ] = end;
    } else if (((end - u32[d + NEXT_SEQ]!) | 0) > 0) u32[d + NEXT_SEQ] = end;
    if (h === HS_TIMED && !fromClient) c.emitter.close(s);
  } else if ((f & RST) !== 0 && h === HS_TIMED) c.emitter.close(s);
}

// Helpers take the packet's time from `clock` and its sequence number from `info`: a float
// or a sequence number above 2^30 passed as an argument would be a new heap number per call.
function startRequest(c: TcpConnections, s: number, payload: number): void {
  const { u8, u32, f64 } = c;
  const tsUs = c.clock[0]!;
  u8[CB * s + TX] = TX_REQUEST;
  f64[CF * s + REQ_FIRST] = tsUs;
  f64[CF * s + REQ_LAST] = tsUs;
  f64[CF * s + REQ_BYTES] = payload;
  u32[CW * s + REQ_PACKETS] = 1;
  u32[CW * s + REQ_RETRANS] = 0;
  f64[CF * s + RESP_BYTES] = 0;
  u32[CW * s + RESP_PACKETS] = 0;
  u32[CW * s + RESP_RETRANS] = 0;
}

/**
 * Sequence bookkeeping for a segment with payload from `side` (0: the flow's side A) of the
 * connection in `slot` `s`: 0 new data, 1 retransmission, 2 out-of-order (fills a gap),
 * 3 keep-alive probe. Reads the sequence number from `info`: a sequence number above 2^30
 * passed as an argument would be a new heap number per call.
 */
export function classifySegment(
  u8: Uint8Array,
  u32: Uint32Array,
  s: number,
  side: number,
  info: PacketInfo,
): number {
  const seq = info.tcpSeq;
  const payload = info.tcpPayloadLength;
  const d = CW * s + side;
  const knownBit = side === 0 ? SEQ_KNOWN_A : SEQ_KNOWN_B;
  const holeBit = side === 0 ? HOLE_A : HOLE_B;
  const end = (seq + payload) >>> 0;
  const b = u8[CB * s + BITS]!;
  if ((b & knownBit) === 0) {
    u8[CB * s + BITS] = b | knownBit;
    u32[d + NEXT_SEQ] = end;
    return SEGMENT_NEW;
  }
  const next = u32[d + NEXT_SEQ]!;
  const fromNext = (seq - next) | 0;
  if (fromNext >= 0) {
    if (fromNext > 0) {
      u32[d + HOLE_START] = next;
      u32[d + HOLE_END] = seq;
      u8[CB * s + BITS] = b | holeBit;
    }
    u32[d + NEXT_SEQ] = end;
    return 0;
  }
  if (payload <= 1 && fromNext === -1) return 3;
  if ((b & holeBit) !== 0) {
    const hs0 = u32[d + HOLE_START]!;
    const he0 = u32[d + HOLE_END]!;
    if (((seq - hs0) | 0) >= 0 && ((end - he0) | 0) <= 0) {
      // Inside the gap: shrink it from whichever end the segment touches.
      if (seq === hs0) u32[d + HOLE_START] = end;
      else u32[d + HOLE_END] = seq;
      if (u32[d + HOLE_START] === u32[d + HOLE_END]) u8[CB * s + BITS] = b & ~holeBit;
      return 2;
    }
  }
  if (((end - next) | 0) > 0) u32[d + NEXT_SEQ] = end;
  return 1;
}
