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
 *
 * This file is the per-packet state machine (handshake, data, close) over the connection
 * records (layout in tcp-connection-layout.ts); sequence bookkeeping per direction is in
 * tcp-sequence.ts, the transaction and handshake reports in tcp-transaction.ts.
 */
import type { PacketInfo } from "./packet-info.js";
import {
  CONNECTION_BYTES,
  resetConnection,
  TcpConnections,
  timePacket,
  touchConnection,
} from "./tcp-connection.js";
import {
  emptyTcpTimingStats,
  TcpEmitter,
  type TcpTimerDeps,
  type TcpTimingStats,
} from "./tcp-transaction.js";

export {
  TcpHandshake,
  type TcpTimerDeps,
  type TcpTimingStats,
  TcpTransaction,
  TRANSACTION_COLUMNS,
} from "./tcp-transaction.js";

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

export function createTcpTimer(capacity: number, deps: TcpTimerDeps): TcpTimer {
  // One 128-byte record per connection (layout at CONNECTION_BYTES): a packet reads and
  // writes one or two cache lines of it, instead of one line in each of ~8 separate arrays.
  const state = new ArrayBuffer(CONNECTION_BYTES * capacity);
  const stats = emptyTcpTimingStats();
  const emitter = new TcpEmitter(
    new Uint8Array(state),
    new Uint32Array(state),
    new Float64Array(state),
    stats,
    deps,
  );
  const c = new TcpConnections(capacity, stats, emitter, state);
  return {
    stats,
    bytesPerConnection: CONNECTION_BYTES,
    clock: c.clock,
    setBase(us) {
      emitter.baseUs = us;
    },
    reset(s) {
      resetConnection(c, s);
    },
    finish(s) {
      emitter.close(s);
    },
    touch(s) {
      return touchConnection(c, s);
    },
    packet(s, fromA, info) {
      timePacket(c, s, fromA, info);
    },
  };
}
