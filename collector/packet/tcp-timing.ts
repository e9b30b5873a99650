/**
 * TCP response times measured at the monitoring point, per connection of the flow table.
 *
 * Pure and allocation-free per packet: the state of every connection lives in typed arrays
 * indexed by the flow table's slot, and each completed transaction is handed to a callback as
 * one reused {@link TcpTransaction}. The flow table passes packet times as microseconds from
 * a base second (set with `setBase`), with the nanoseconds as a fraction; every delay is
 * computed from those exact times and then rounded to whole microseconds, as tshark's are.
 * docs/response-times.md explains the figures for operators; in short, with the client
 * being the side that sent the SYN:
 *
 * - server network delay (SND) = last SYN → first SYN-ACK;
 * - client network delay (CND) = first SYN-ACK → the client's first ACK (without SYN or RST);
 * - network delay = SND + CND (= tshark's `tcp.analysis.initial_rtt`, which also times from the
 *   most recent SYN);
 * - a transaction is the client's request data followed by the server's response data; it ends
 *   when the client sends new (not retransmitted) data after response data, when the server
 *   sends FIN, on RST, or when the flow leaves the table;
 * - server delay = response's first data packet − request's last data packet − SND;
 * - total delay = response's last data packet − request's first data packet + CND.
 *
 * Only connections whose handshake was seen (SYN, SYN-ACK, ACK, in that order, from the two
 * sides) are timed: the server delay is defined net of SND, and without the SYN the monitor
 * cannot tell client from server for sure. Connections picked up mid-stream, with a missed SYN
 * or SYN-ACK, or opened simultaneously are counted (`untimedConnections`) and otherwise only
 * get their retransmissions counted.
 */
import { columnBit, FlowBatch, SamplingSource } from "../../schema/flow-record.js";
import type { PacketInfo } from "./packet-info.js";

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;

/** Handshake progress of a connection. */
const HS_NONE = 0;
const HS_SYN = 1;
const HS_SYNACK = 2;
const HS_TIMED = 3;
const HS_UNTIMED = 4;

/** Transaction phase. */
const TX_IDLE = 0;
const TX_REQUEST = 1;
const TX_RESPONSE = 2;

/**
 * A connection's record: 128 bytes, two cache lines. Line 1 holds what most packets touch:
 * bytes 0–2 the handshake state, transaction phase and `bits`; 32-bit words 1–2 the next
 * expected sequence number per direction (side 0 = sent by the flow's side A), 3–4 and 5–6
 * the gap (start, end) per direction, 7–11 request/response packets and retransmissions and
 * the transaction count; 64-bit floats 6–7 the request's and the response's last packet.
 * Line 2: bytes of request and response, then the handshake and first-packet times (µs), and
 * in 32-bit word 30 the highest acknowledgement number the client sent.
 */
const CONNECTION_BYTES = 128;
const CB = CONNECTION_BYTES;
const CW = CONNECTION_BYTES / 4;
const CF = CONNECTION_BYTES / 8;
const HS = 0;
const TX = 1;
const BITS = 2;
const NEXT_SEQ = 1;
const HOLE_START = 3;
const HOLE_END = 5;
const REQ_PACKETS = 7;
const RESP_PACKETS = 8;
const REQ_RETRANS = 9;
const RESP_RETRANS = 10;
const TX_COUNT = 11;
const REQ_LAST = 6;
const RESP_LAST = 7;
const REQ_BYTES = 8;
const RESP_BYTES = 9;
const SYN_US = 10;
const SYN_ACK_US = 11;
const ACK_US = 12;
const REQ_FIRST = 13;
const RESP_FIRST = 14;
/** 32-bit word: the client's highest ACK number (valid with CLIENT_ACK_KNOWN). */
const CLIENT_ACK = 30;

/** `bits` flags. */
const SEQ_KNOWN_A = 0x01;
const SEQ_KNOWN_B = 0x02;
const HOLE_A = 0x04;
const HOLE_B = 0x08;
const CLIENT_IS_A = 0x10;
const CLIENT_ACK_KNOWN = 0x20;

/**
 * One completed request/response transaction. The object is reused: read it inside the
 * callback, copy what you keep. Timestamps are microseconds since the Unix epoch (a float,
 * precise to about 0.25 µs); delays are whole microseconds, each rounded from the exact
 * nanosecond difference (so networkDelayUs may differ by 1 from the sum of its parts).
 * Bucket a transaction by `responseEndUs` (the moment it completed).
 */
export class TcpTransaction {
  /**
   * The connection as a one-row {@link FlowBatch} (row 0), seen from the client: `src*` is the
   * client, `dst*` the server, with protocol, DSCP (of the client's packets) and exporter id,
   * and the ART columns filled (`clientNetworkDelayUs`, `serverNetworkDelayUs`,
   * `applicationDelayUs` = server delay). Classify it with the same classifier as flow records
   * (`classifier.classify(t.flow, 0, attribution)`) so that a transaction lands in the same
   * customer, link and class as the connection's bytes.
   */
  readonly flow: FlowBatch;
  /** The request's first and last data packets. */
  requestStartUs = 0;
  requestEndUs = 0;
  /** The response's first and last data packets. */
  responseStartUs = 0;
  responseEndUs = 0;
  /** SYN → SYN-ACK at the monitor: monitor → server → monitor. */
  serverNetworkDelayUs = 0;
  /** SYN-ACK → ACK at the monitor: monitor → client → monitor. */
  clientNetworkDelayUs = 0;
  /** serverNetworkDelayUs + clientNetworkDelayUs: the round trip client ↔ server. */
  networkDelayUs = 0;
  /**
   * responseStartUs − requestEndUs − serverNetworkDelayUs, at least 0 (when the round trip during
   * the request was shorter than at the handshake, the server answered within the jitter).
   */
  serverDelayUs = 0;
  /** responseEndUs − requestStartUs + clientNetworkDelayUs: what the client waited. */
  totalDelayUs = 0;
  /**
   * responseStartUs − requestStartUs, as seen at the monitor (tshark-style "time to first
   * byte"): the request's own duration + serverNetworkDelayUs + serverDelayUs.
   */
  firstResponseUs = 0;
  /** TCP payload bytes and data packets of each side (retransmissions included). */
  requestBytes = 0;
  responseBytes = 0;
  requestPackets = 0;
  responsePackets = 0;
  /** Data segments of this transaction whose sequence range was already seen. */
  requestRetransmissions = 0;
  responseRetransmissions = 0;
  /** 1 for the connection's first transaction, then 2, 3... */
  index = 0;

  constructor(flow: FlowBatch) {
    this.flow = flow;
  }
}

/**
 * A completed handshake (SYN, SYN-ACK, ACK seen), reported once per timed connection at its
 * ACK. Reused like {@link TcpTransaction}; `flow` is the same kind of one-row batch.
 */
export class TcpHandshake {
  readonly flow: FlowBatch;
  /** The most recent SYN before the SYN-ACK (µs since the epoch, like the others). */
  synUs = 0;
  /** The first SYN-ACK. */
  synAckUs = 0;
  /** The client's first ACK after it (no SYN, no RST). */
  ackUs = 0;
  serverNetworkDelayUs = 0;
  clientNetworkDelayUs = 0;
  networkDelayUs = 0;

  constructor(flow: FlowBatch) {
    this.flow = flow;
  }
}

export interface TcpTimingStats {
  /** Connections whose SYN, SYN-ACK and ACK were seen: timed. */
  timedConnections: number;
  /** TCP connections seen without a usable handshake (mid-stream, missed SYN/SYN-ACK). */
  untimedConnections: number;
  /** Both sides sent a SYN without ACK: not timed. */
  simultaneousOpens: number;
  /** SYNs repeated by the client before the SYN-ACK (SND is timed from the last one). */
  synRetransmissions: number;
  /** Data segments whose whole range was already seen, or that overlap seen data. */
  retransmissions: number;
  /** Data segments that filled a gap left by a later segment. */
  outOfOrder: number;
  /** Keep-alive probes (0–1 byte at next-sequence − 1): not data. */
  keepAlives: number;
  /** Transactions emitted. */
  transactions: number;
  /** Requests the connection ended on without any response data (not emitted). */
  unansweredRequests: number;
  /** Server data segments with no request pending (banners, pushes): not timed. */
  unsolicitedServerSegments: number;
}

export interface TcpTimerDeps {
  /**
   * Writes the key of the flow in `slot` into row `row` of `batch`, seen from the client
   * (`clientIsA`: the client is the flow's side A). Provided by the flow table.
   */
  writeKey(slot: number, clientIsA: boolean, batch: FlowBatch, row: number): void;
  /** Receives each completed transaction (a reused object). */
  onTransaction?: (t: TcpTransaction) => void;
  /** Receives each completed handshake (a reused object). */
  onHandshake?: (h: TcpHandshake) => void;
}

export interface TcpTimer {
  /** Sets the absolute time (µs since the epoch) that packet times are relative to. */
  setBase(baseUs: number): void;
  /** Starts a new connection in `slot` (the flow table created or reused the slot). */
  reset(slot: number): void;
  /**
   * One TCP packet of the connection in `slot`, at `clock[0]`; `fromA` is true when it was sent
   * by the flow's side A. The packet must have its transport header (`info.hasTransport`).
   */
  packet(slot: number, fromA: boolean, info: PacketInfo): void;
  /**
   * `clock[0]`: the time of the packet `packet` is given, in µs from the base (a fraction for
   * the nanoseconds). Set before each call: a float passed as an argument to a function that is
   * not inlined is a new heap number per call, a float in a typed array is not.
   */
  readonly clock: Float64Array;
  /** The connection leaves the table: emits a transaction with a response pending. */
  finish(slot: number): void;
  /**
   * Reads both cache lines of the connection's record and returns a meaningless number: called
   * for a group of packets before they are counted, so that their cache misses overlap.
   */
  touch(slot: number): number;
  readonly stats: TcpTimingStats;
  /** Bytes of typed-array state per connection. */
  readonly bytesPerConnection: number;
}

/** The columns `writeKey` and the ART fields fill in `TcpTransaction.flow`. */
export const TRANSACTION_COLUMNS =
  columnBit.exporterId |
  columnBit.ipVersion |
  columnBit.src4 |
  columnBit.dst4 |
  columnBit.src6 |
  columnBit.dst6 |
  columnBit.srcPort |
  columnBit.dstPort |
  columnBit.protocol |
  columnBit.dscp |
  columnBit.samplingSource |
  columnBit.clientNetworkDelayUs |
  columnBit.serverNetworkDelayUs |
  columnBit.applicationDelayUs;

export function createTcpTimer(capacity: number, deps: TcpTimerDeps): TcpTimer {
  const n = capacity;
  // One 128-byte record per connection (layout at CONNECTION_BYTES): a packet reads and
  // writes one or two cache lines of it, instead of one line in each of ~8 separate arrays.
  const state = new ArrayBuffer(CONNECTION_BYTES * n);
  const clock = new Float64Array(1);
  const u8 = new Uint8Array(state);
  const u32 = new Uint32Array(state);
  const f64 = new Float64Array(state);
  const bytesPerConnection = CONNECTION_BYTES;

  const stats: TcpTimingStats = {
    timedConnections: 0,
    untimedConnections: 0,
    simultaneousOpens: 0,
    synRetransmissions: 0,
    retransmissions: 0,
    outOfOrder: 0,
    keepAlives: 0,
    transactions: 0,
    unansweredRequests: 0,
    unsolicitedServerSegments: 0,
  };

  const flowBatch = new FlowBatch(1);
  const t = new TcpTransaction(flowBatch);
  flowBatch.length = 1;
  flowBatch.dirty |= TRANSACTION_COLUMNS;
  flowBatch.samplingSource[0] = SamplingSource.Unsampled;
  const onTransaction = deps.onTransaction;
  let baseUs = 0;
  const onHandshake = deps.onHandshake;
  const handshake = new TcpHandshake(flowBatch);

  function emitHandshake(s: number): void {
    if (onHandshake === undefined) return;
    handshake.synUs = baseUs + f64[CF * s + SYN_US]!;
    handshake.synAckUs = baseUs + f64[CF * s + SYN_ACK_US]!;
    handshake.ackUs = baseUs + f64[CF * s + ACK_US]!;
    handshake.serverNetworkDelayUs = Math.round(f64[CF * s + SYN_ACK_US]! - f64[CF * s + SYN_US]!);
    handshake.clientNetworkDelayUs = Math.round(f64[CF * s + ACK_US]! - f64[CF * s + SYN_ACK_US]!);
    handshake.networkDelayUs = Math.round(f64[CF * s + ACK_US]! - f64[CF * s + SYN_US]!);
    deps.writeKey(s, (u8[CB * s + BITS]! & CLIENT_IS_A) !== 0, flowBatch, 0);
    flowBatch.clientNetworkDelayUs[0] = handshake.clientNetworkDelayUs;
    flowBatch.serverNetworkDelayUs[0] = handshake.serverNetworkDelayUs;
    flowBatch.applicationDelayUs[0] = Number.NaN;
    onHandshake(handshake);
  }

  function emit(s: number): void {
    u8[CB * s + TX] = TX_IDLE;
    stats.transactions++;
    u32[CW * s + TX_COUNT] = u32[CW * s + TX_COUNT]! + 1;
    if (onTransaction === undefined) return;
    const snd = f64[CF * s + SYN_ACK_US]! - f64[CF * s + SYN_US]!;
    const cnd = f64[CF * s + ACK_US]! - f64[CF * s + SYN_ACK_US]!;
    t.requestStartUs = baseUs + f64[CF * s + REQ_FIRST]!;
    t.requestEndUs = baseUs + f64[CF * s + REQ_LAST]!;
    t.responseStartUs = baseUs + f64[CF * s + RESP_FIRST]!;
    t.responseEndUs = baseUs + f64[CF * s + RESP_LAST]!;
    t.serverNetworkDelayUs = Math.round(snd);
    t.clientNetworkDelayUs = Math.round(cnd);
    t.networkDelayUs = Math.round(f64[CF * s + ACK_US]! - f64[CF * s + SYN_US]!);
    // Negative when the server side's round trip during the request was shorter than at the
    // handshake (jitter, a congested SYN-ACK): the server answered within the network's own
    // variation, counted as 0. A negative delay would pull a period's mean below zero.
    t.serverDelayUs = Math.max(
      0,
      Math.round(f64[CF * s + RESP_FIRST]! - f64[CF * s + REQ_LAST]! - snd),
    );
    t.totalDelayUs = Math.round(f64[CF * s + RESP_LAST]! - f64[CF * s + REQ_FIRST]! + cnd);
    t.firstResponseUs = Math.round(f64[CF * s + RESP_FIRST]! - f64[CF * s + REQ_FIRST]!);
    t.requestBytes = f64[CF * s + REQ_BYTES]!;
    t.responseBytes = f64[CF * s + RESP_BYTES]!;
    t.requestPackets = u32[CW * s + REQ_PACKETS]!;
    t.responsePackets = u32[CW * s + RESP_PACKETS]!;
    t.requestRetransmissions = u32[CW * s + REQ_RETRANS]!;
    t.responseRetransmissions = u32[CW * s + RESP_RETRANS]!;
    t.index = u32[CW * s + TX_COUNT]!;
    deps.writeKey(s, (u8[CB * s + BITS]! & CLIENT_IS_A) !== 0, flowBatch, 0);
    flowBatch.clientNetworkDelayUs[0] = cnd;
    flowBatch.serverNetworkDelayUs[0] = snd;
    flowBatch.applicationDelayUs[0] = t.serverDelayUs;
    onTransaction(t);
  }

  // Helpers take the packet's time from `clock` and its sequence number from `info`: a float
  // or a sequence number above 2^30 passed as an argument would be a new heap number per call.
  function startRequest(s: number, payload: number): void {
    const tsUs = clock[0]!;
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

  /** Ends the connection's open transaction (FIN from the server, RST, removal). */
  function close(s: number): void {
    if (u8[CB * s + TX] === TX_RESPONSE) emit(s);
    else if (u8[CB * s + TX] === TX_REQUEST) {
      stats.unansweredRequests++;
      u8[CB * s + TX] = TX_IDLE;
    }
  }

  /**
   * Sequence bookkeeping for a segment with payload: 0 new data, 1 retransmission,
   * 2 out-of-order (fills a gap), 3 keep-alive probe.
   */
  function classifySegment(s: number, side: number, info: PacketInfo): number {
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
      return 0;
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

  return {
    stats,
    bytesPerConnection,
    setBase(us) {
      baseUs = us;
    },
    reset(s) {
      u8[CB * s + HS] = HS_NONE;
      u8[CB * s + TX] = TX_IDLE;
      u8[CB * s + BITS] = 0;
      u32[CW * s + TX_COUNT] = 0;
    },
    finish(s) {
      close(s);
    },
    clock,
    touch(s) {
      // A small integer: a larger one would be returned as a new heap number.
      return (u32[CW * s]! ^ u32[CW * s + CW / 2]!) & 0xff;
    },
    packet(s, fromA, info) {
      const tsUs = clock[0]!;
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
              stats.synRetransmissions++;
              f64[CF * s + SYN_US] = tsUs;
            } else {
              stats.simultaneousOpens++;
              stats.untimedConnections++;
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
          stats.untimedConnections++;
        }
        // A SYN consumes one sequence number (plus any data: TCP Fast Open).
        u32[d + NEXT_SEQ] = (seq + 1 + payload) >>> 0;
        u8[CB * s + BITS] = u8[CB * s + BITS]! | (side === 0 ? SEQ_KNOWN_A : SEQ_KNOWN_B);
        return;
      }
      if (h === HS_NONE) {
        h = HS_UNTIMED;
        u8[CB * s + HS] = h;
        stats.untimedConnections++;
      } else if (h === HS_SYNACK && fromClient && (f & (ACK | RST)) === ACK) {
        h = HS_TIMED;
        u8[CB * s + HS] = h;
        f64[CF * s + ACK_US] = tsUs;
        stats.timedConnections++;
        emitHandshake(s);
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
        const kind = classifySegment(s, side, info);
        if (kind === 3) stats.keepAlives++;
        else {
          if (kind === 1) stats.retransmissions++;
          else if (kind === 2) stats.outOfOrder++;
          if (h === HS_TIMED) {
            const phase = u8[CB * s + TX]!;
            if (fromClient) {
              if (kind === 1) {
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
                if (phase === TX_RESPONSE) emit(s);
                startRequest(s, payload);
              }
            } else if (phase === TX_RESPONSE) {
              // A spurious retransmission (its whole range already acknowledged by the client,
              // tshark's "Spurious Retransmission") is counted but does not extend the response:
              // the client had that data, the user was not waiting for it.
              const spurious =
                kind === 1 &&
                (u8[CB * s + BITS]! & CLIENT_ACK_KNOWN) !== 0 &&
                ((seq + payload - u32[CW * s + CLIENT_ACK]!) | 0) <= 0;
              if (!spurious) f64[CF * s + RESP_LAST] = tsUs;
              f64[CF * s + RESP_BYTES] = f64[CF * s + RESP_BYTES]! + payload;
              u32[CW * s + RESP_PACKETS] = u32[CW * s + RESP_PACKETS]! + 1;
              if (kind === 1) u32[CW * s + RESP_RETRANS] = u32[CW * s + RESP_RETRANS]! + 1;
            } else if (phase === TX_REQUEST && kind !== 1) {
              u8[CB * s + TX] = TX_RESPONSE;
              f64[CF * s + RESP_FIRST] = tsUs;
              f64[CF * s + RESP_LAST] = tsUs;
              f64[CF * s + RESP_BYTES] = payload;
              u32[CW * s + RESP_PACKETS] = 1;
            } else if (phase === TX_IDLE) stats.unsolicitedServerSegments++;
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
        if (h === HS_TIMED && !fromClient) close(s);
      } else if ((f & RST) !== 0 && h === HS_TIMED) close(s);
    },
  };
}
