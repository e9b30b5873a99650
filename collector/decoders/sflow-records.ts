/**
 * What the sFlow v5 decoder gives besides flow rows: its problem reasons, the per-agent
 * statistics, and the interface counters of counter samples (kept for interface utilisation).
 */

/**
 * Every way an sFlow datagram can fail to decode, counted by reason (the sFlow counterpart of
 * `decodeProblems`; `docs/decoding.md` says what to do about each).
 */
export const sflowProblems = [
  /** The datagram is shorter than the sFlow v5 header. */
  "header-truncated",
  /** The first 32-bit word is not 5 (NetFlow on the sFlow port, sFlow v2/v4): datagram dropped. */
  "unknown-version",
  /** The agent address type is neither 0 (unknown), 1 (IPv4) nor 2 (IPv6): datagram dropped. */
  "agent-address-invalid",
  /** A datagram from a new agent beyond `maxAgents`: dropped. */
  "exporter-limit",
  /** A sample's length runs past the datagram, or the header counts more samples than it holds. */
  "sample-truncated",
  /** More samples than `maxSamplesPerDatagram`: the rest of the datagram was skipped. */
  "sample-limit",
  /** A flow/counter sample body is shorter than its fixed fields. */
  "sample-invalid",
  /** A record's length runs past its sample, or a record is shorter than its fixed fields. */
  "record-truncated",
  /** More records than `maxRecordsPerSample` in one sample: the rest of the sample was skipped. */
  "record-limit",
  /** A sample with a rate of 0: decoded with rate 1 (source `unknown-assumed-1`). */
  "sampling-rate-invalid",
  /** A raw packet header whose header_protocol flowtally cannot parse (not Ethernet/IPv4/IPv6). */
  "header-protocol-unsupported",
  /**
   * A flow sample whose packet has no IP header flowtally could read (ARP, LLDP, a header cut
   * in the link layer) and no sampled IPv4/IPv6 record: not counted (not IP traffic).
   */
  "sample-not-ip",
  /** A decoder bug threw on this datagram; it was dropped. Please report it with the capture. */
  "internal-error",
] as const;

export type SflowProblem = (typeof sflowProblems)[number];
export type SflowProblemCounts = Record<SflowProblem, number>;

export function emptySflowProblemCounts(): SflowProblemCounts {
  const counts = {} as SflowProblemCounts;
  for (const p of sflowProblems) counts[p] = 0;
  return counts;
}

/** Per agent address: what arrived and what sequence numbers say went missing. */
export interface SflowAgentStats {
  datagrams: number;
  flowSamples: number;
  counterSamples: number;
  /** Discarded-packet samples (enterprise 0 format 5): counted, not decoded. */
  discardSamples: number;
  /** Samples of an unknown enterprise/format, skipped by length. */
  otherSamples: number;
  /** Flow rows written. */
  records: number;
  /** Datagrams missing according to the datagram sequence number (per sub-agent). */
  lostDatagrams: number;
  /** Flow samples missing according to the per-source flow sample sequence number. */
  lostFlowSamples: number;
  /** Sum of increases of the flow samples' `drops` field: packets the agent could not sample. */
  agentDrops: number;
  /** Sequence numbers that went backwards (agent restart, reordering): no loss counted. */
  sequenceResets: number;
  /** When the first and the latest datagram of this agent were received (ms); NaN before. */
  firstSeenMs: number;
  lastSeenMs: number;
}

export function emptySflowAgentStats(): SflowAgentStats {
  return {
    datagrams: 0,
    flowSamples: 0,
    counterSamples: 0,
    discardSamples: 0,
    otherSamples: 0,
    records: 0,
    lostDatagrams: 0,
    lostFlowSamples: 0,
    agentDrops: 0,
    sequenceResets: 0,
    firstSeenMs: Number.NaN,
    lastSeenMs: Number.NaN,
  };
}

/**
 * One generic interface counters record (enterprise 0, format 1) of a counter sample. 64-bit
 * counters are JavaScript numbers (exact up to 2^53 bytes, 9 PB).
 */
export class InterfaceCounters {
  /** Index into the decoder's `exporterNames` (the agent address). */
  exporterId = 0;
  subAgentId = 0;
  /** The counter sample's source id (type << 24 | index for compact samples). */
  sourceId = 0;
  /** The counter sample's sequence number. */
  sequence = 0;
  /** When the datagram was received, ms since the epoch. */
  receivedMs = 0;
  /** The agent's uptime from the datagram header, ms. */
  uptimeMs = 0;
  ifIndex = 0;
  ifType = 0;
  /** bits/s. */
  ifSpeed = 0;
  /** 0 unknown, 1 full-duplex, 2 half-duplex, 3 in, 4 out. */
  ifDirection = 0;
  /** bit 0 admin up, bit 1 oper up. */
  ifStatus = 0;
  inOctets = 0;
  inUnicastPackets = 0;
  inMulticastPackets = 0;
  inBroadcastPackets = 0;
  inDiscards = 0;
  inErrors = 0;
  inUnknownProtocols = 0;
  outOctets = 0;
  outUnicastPackets = 0;
  outMulticastPackets = 0;
  outBroadcastPackets = 0;
  outDiscards = 0;
  outErrors = 0;
  promiscuous = 0;
}

/**
 * A reusable list of {@link InterfaceCounters}: `rows[0, length)` are valid. The objects are
 * reused after {@link InterfaceCounterBatch.clear}, so a caller that keeps one copies it.
 */
export class InterfaceCounterBatch {
  length = 0;
  /** Index → agent address, for `InterfaceCounters.exporterId` (set by the decoder). */
  exporterNames: readonly string[] = [];
  readonly rows: InterfaceCounters[] = [];

  clear(): void {
    this.length = 0;
  }

  /** Claims the next row (a reused object: every field is overwritten by the decoder). */
  next(): InterfaceCounters {
    let row = this.rows[this.length];
    if (row === undefined) {
      row = new InterfaceCounters();
      this.rows.push(row);
    }
    this.length++;
    return row;
  }
}
