/**
 * What TCP timing hands out: a completed transaction ({@link TcpTransaction}), a completed
 * handshake ({@link TcpHandshake}), the counters ({@link TcpTimingStats}), and the emitter that
 * fills the reused objects from a connection's record and calls the callbacks.
 */
import { columnBit, FlowBatch, SamplingSource } from "../../schema/flow-record.js";
import {
  ACK_US,
  BITS,
  CB,
  CF,
  CLIENT_IS_A,
  CW,
  REQ_BYTES,
  REQ_FIRST,
  REQ_LAST,
  REQ_PACKETS,
  REQ_RETRANS,
  RESP_BYTES,
  RESP_FIRST,
  RESP_LAST,
  RESP_PACKETS,
  RESP_RETRANS,
  SYN_ACK_US,
  SYN_US,
  TX,
  TX_COUNT,
  TX_IDLE,
  TX_REQUEST,
  TX_RESPONSE,
} from "./tcp-connection.js";

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

export function emptyTcpTimingStats(): TcpTimingStats {
  return {
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

/**
 * Ends transactions and reports them and completed handshakes, reading the connection records
 * of `u8`/`u32`/`f64` (tcp-connection-layout.ts). One per timer; the objects it hands out are
 * reused.
 */
export class TcpEmitter {
  /** Absolute time (µs since the epoch) that record times are relative to. */
  baseUs = 0;
  private readonly flowBatch = new FlowBatch(1);
  private readonly t: TcpTransaction;
  private readonly handshake: TcpHandshake;
  private readonly onTransaction: ((t: TcpTransaction) => void) | undefined;
  private readonly onHandshake: ((h: TcpHandshake) => void) | undefined;

  constructor(
    private readonly u8: Uint8Array,
    private readonly u32: Uint32Array,
    private readonly f64: Float64Array,
    private readonly stats: TcpTimingStats,
    private readonly deps: TcpTimerDeps,
  ) {
    const flowBatch = this.flowBatch;
    this.t = new TcpTransaction(flowBatch);
    flowBatch.length = 1;
    flowBatch.dirty |= TRANSACTION_COLUMNS;
    flowBatch.samplingSource[0] = SamplingSource.Unsampled;
    this.handshake = new TcpHandshake(flowBatch);
    this.onTransaction = deps.onTransaction;
    this.onHandshake = deps.onHandshake;
  }

  /** The handshake of the connection in slot `s` just completed (its ACK was seen). */
  emitHandshake(s: number): void {
    const onHandshake = this.onHandshake;
    if (onHandshake === undefined) return;
    const { f64, u8, handshake, flowBatch, baseUs } = this;
    handshake.synUs = baseUs + f64[CF * s + SYN_US]!;
    handshake.synAckUs = baseUs + f64[CF * s + SYN_ACK_US]!;
    handshake.ackUs = baseUs + f64[CF * s + ACK_US]!;
    handshake.serverNetworkDelayUs = Math.round(f64[CF * s + SYN_ACK_US]! - f64[CF * s + SYN_US]!);
    handshake.clientNetworkDelayUs = Math.round(f64[CF * s + ACK_US]! - f64[CF * s + SYN_ACK_US]!);
    handshake.networkDelayUs = Math.round(f64[CF * s + ACK_US]! - f64[CF * s + SYN_US]!);
    this.deps.writeKey(s, (u8[CB * s + BITS]! & CLIENT_IS_A) !== 0, flowBatch, 0);
    flowBatch.clientNetworkDelayUs[0] = handshake.clientNetworkDelayUs;
    flowBatch.serverNetworkDelayUs[0] = handshake.serverNetworkDelayUs;
    flowBatch.applicationDelayUs[0] = Number.NaN;
    onHandshake(handshake);
  }

  /** Ends the transaction of slot `s` (response seen) and reports it. */
  emit(s: number): void {
    const { u8, u32, f64, t, flowBatch, baseUs } = this;
    u8[CB * s + TX] = TX_IDLE;
    this.stats.transactions++;
    u32[CW * s + TX_COUNT] = u32[CW * s + TX_COUNT]! + 1;
    const onTransaction = this.onTransaction;
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
    this.deps.writeKey(s, (u8[CB * s + BITS]! & CLIENT_IS_A) !== 0, flowBatch, 0);
    flowBatch.clientNetworkDelayUs[0] = cnd;
    flowBatch.serverNetworkDelayUs[0] = snd;
    flowBatch.applicationDelayUs[0] = t.serverDelayUs;
    onTransaction(t);
  }

  /** Ends the connection's open transaction (FIN from the server, RST, removal). */
  close(s: number): void {
    const u8 = this.u8;
    if (u8[CB * s + TX] === TX_RESPONSE) this.emit(s);
    else if (u8[CB * s + TX] === TX_REQUEST) {
      this.stats.unansweredRequests++;
      u8[CB * s + TX] = TX_IDLE;
    }
  }
}
