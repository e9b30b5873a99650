/**
 * The sFlow v5 decoder (sflow.org `sflow_version_5.txt`): one flow row per flow sample, with the
 * sampled packet's header decoded by the packet parser that the capture path uses, and the
 * generic interface counters of counter samples kept for interface utilisation.
 *
 * Datagram: version (5), agent address (type 1 IPv4 / 2 IPv6 / 0 unknown), sub-agent id,
 * sequence number, uptime, sample count, then samples as (enterprise << 12 | format, length,
 * body). Enterprise 0 samples: 1 flow, 2 counters, 3 expanded flow, 4 expanded counters,
 * 5 discarded packets (counted, skipped). Anything else is skipped by its length.
 *
 * Units: bytes are IP-layer bytes (IPv4 total length, IPv6 payload length + 40) × the sampling
 * rate, the unit NetFlow/IPFIX octet counts use; packets are 1 × the rate. The sampled frame's
 * length (what sfcapd/nfdump multiply) includes the link header and the FCS, which NetFlow does
 * not count. A sample whose frame carries no IP packet (ARP, LLDP) gives no row.
 *
 * Pure like the flow decoder: no I/O, no clock, never throws past a datagram, no allocation per
 * sample once an agent is known.
 */
import { columnBit as col, type FlowBatch, SamplingSource } from "../../schema/flow-record.js";
import { formatAddress, formatIPv4Number, PacketInfo } from "../packet/packet-info.js";
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  parsePacket,
} from "../packet/packet-parser.js";
import {
  emptySflowAgentStats,
  emptySflowProblemCounts,
  type InterfaceCounterBatch,
  type InterfaceCounters,
  type SflowAgentStats,
  type SflowProblem,
  type SflowProblemCounts,
} from "./sflow-records.js";

/**
 * The `version` column of sFlow rows. The column holds the NetFlow version (5, 9, 10); sFlow v5
 * must not read as NetFlow v5, so sFlow rows carry 0x80 | 5.
 */
export const SFLOW_V5_RECORD_VERSION = 0x85;

/** Interface value meaning "the device itself" (format 0) in input/output fields. */
const IF_LOCAL = 0x3fffffff;

export interface SflowDecoderOptions {
  /** Agent address → sampling rate that overrides the samples' own rate. */
  samplingOverrides?: ReadonlyMap<string, number> | Readonly<Record<string, number>>;
  /** Distinct agents (exporters) tracked; datagrams from more are dropped (default 10000). */
  maxAgents?: number;
  /** Samples decoded per datagram; the rest is skipped and counted (default 1024). */
  maxSamplesPerDatagram?: number;
  /** Records read per sample; the rest is skipped and counted (default 64). */
  maxRecordsPerSample?: number;
  /** Sub-agents and sources whose sequence numbers are followed, per agent (default 4096). */
  maxSequenceSpacesPerAgent?: number;
}

export interface SflowDecoder {
  /**
   * Decodes one datagram: a row per flow sample into `out`, and, when `counters` is given, a row
   * per generic interface counters record into it. `agentAddressFromUdp` names the agent only
   * when the datagram's own agent address is unknown (type 0). Returns the flow rows appended.
   * Never throws on any input.
   */
  decode(
    payload: Uint8Array,
    agentAddressFromUdp: string,
    receivedMs: number,
    out: FlowBatch,
    counters?: InterfaceCounterBatch,
  ): number;
  readonly problems: Readonly<SflowProblemCounts>;
  /** Index → agent address, for `FlowBatch.exporterId` and `InterfaceCounters.exporterId`. */
  readonly exporterNames: readonly string[];
  agentStats(): Array<{ agent: string } & SflowAgentStats>;
}

interface SequenceState {
  /** Next expected sequence number, -1 before the first. */
  next: number;
  /** Last `drops` value of a flow source, -1 before the first. */
  drops: number;
}

interface SubAgentState {
  datagrams: SequenceState;
  /** Flow-sample sequence per source (type * 2^24 + index). */
  sources: Map<number, SequenceState>;
}

interface AgentState {
  id: number;
  address: string;
  stats: SflowAgentStats;
  subAgents: Map<number, SubAgentState>;
}

const FLOW_COLUMNS =
  col.exporterId |
  col.version |
  col.domain |
  col.inIf |
  col.outIf |
  col.ipVersion |
  col.src4 |
  col.dst4 |
  col.src6 |
  col.dst6 |
  col.srcPort |
  col.dstPort |
  col.tcpFlags |
  col.protocol |
  col.dscp |
  col.bytes |
  col.packets |
  col.startMs |
  col.endMs |
  col.samplingRate |
  col.samplingSource;

export function createSflowDecoder(options: SflowDecoderOptions = {}): SflowDecoder {
  const maxAgents = options.maxAgents ?? 10_000;
  const maxSamples = options.maxSamplesPerDatagram ?? 1024;
  const maxRecords = options.maxRecordsPerSample ?? 64;
  const maxSequenceSpaces = options.maxSequenceSpacesPerAgent ?? 4096;
  const overrides = toMap(options.samplingOverrides);

  const problems = emptySflowProblemCounts();
  const exporterNames: string[] = [];
  const byName = new Map<string, AgentState>();
  const byIPv4 = new Map<number, AgentState>();
  const info = new PacketInfo();
  /** Sampled headers are copied here and parsed through an exact-length view (no allocation). */
  const headerScratch = new Uint8Array(65536);
  const headerViews = new Map<number, Uint8Array>();

  // The datagram being decoded: set once per datagram, read by the sample functions.
  let view: DataView = new DataView(new ArrayBuffer(0));
  let bytes: Uint8Array = new Uint8Array(0);
  let agent: AgentState | null = null;
  let subAgentId = 0;
  let subAgent: SubAgentState | null = null;
  let received = 0;
  let uptime = 0;
  let override = 0;
  let flowOut: FlowBatch | null = null;
  let counterOut: InterfaceCounterBatch | undefined;

  // The sample being decoded (reused).
  const s = {
    rate: 0,
    inIf: 0,
    outIf: 0,
    /** 0 none, 4/6: a sampled IPv4/IPv6 record was seen (used when no header parses). */
    ipRecord: 0 as 0 | 4 | 6,
    ipRecordOffset: 0,
    /** The raw header parsed into `info` with an IP header. */
    parsed: false,
  };

  function problem(p: SflowProblem): void {
    problems[p]++;
  }

  function agentFor(name: string): AgentState | null {
    let a = byName.get(name);
    if (a !== undefined) return a;
    if (byName.size >= maxAgents) {
      problem("exporter-limit");
      return null;
    }
    a = {
      id: exporterNames.length,
      address: name,
      stats: emptySflowAgentStats(),
      subAgents: new Map(),
    };
    byName.set(name, a);
    exporterNames.push(name);
    return a;
  }

  function agentForIPv4(address: number): AgentState | null {
    const a = byIPv4.get(address);
    if (a !== undefined) return a;
    const named = agentFor(formatIPv4Number(address));
    if (named !== null) byIPv4.set(address, named);
    return named;
  }

  /** IPv6 agents: the last one is remembered by its bytes, so a steady stream formats nothing. */
  const lastIPv6 = new Uint8Array(16);
  let lastIPv6Agent: AgentState | null = null;
  function agentForIPv6(off: number): AgentState | null {
    if (lastIPv6Agent !== null) {
      let same = true;
      for (let k = 0; k < 16; k++) {
        if (bytes[off + k] !== lastIPv6[k]) {
          same = false;
          break;
        }
      }
      if (same) return lastIPv6Agent;
    }
    const a = agentFor(formatAddress(6, 0, bytes.subarray(off, off + 16)));
    if (a !== null) {
      lastIPv6.set(bytes.subarray(off, off + 16));
      lastIPv6Agent = a;
    }
    return a;
  }

  /** Sequence state of a sub-agent, or null when the agent already has too many. */
  function subAgentFor(a: AgentState, id: number): SubAgentState | null {
    let st = a.subAgents.get(id);
    if (st === undefined) {
      if (a.subAgents.size >= maxSequenceSpaces) return null;
      st = { datagrams: { next: -1, drops: -1 }, sources: new Map() };
      a.subAgents.set(id, st);
    }
    return st;
  }

  /** Sequence state of a flow source, or null when the sub-agent already has too many. */
  function sourceFor(sub: SubAgentState, key: number): SequenceState | null {
    let st = sub.sources.get(key);
    if (st === undefined) {
      if (sub.sources.size >= maxSequenceSpaces) return null;
      st = { next: -1, drops: -1 };
      sub.sources.set(key, st);
    }
    return st;
  }

  /** Gap between the expected and the received sequence number (0 when unknown or a reset). */
  function gap(st: SequenceState, sequence: number, stats: SflowAgentStats): number {
    const expected = st.next;
    st.next = (sequence + 1) >>> 0;
    if (expected < 0 || sequence === expected) return 0;
    const ahead = (sequence - expected) >>> 0;
    if (ahead < 0x80000000) return ahead;
    stats.sequenceResets++;
    return 0;
  }

  function decode(
    payload: Uint8Array,
    agentAddressFromUdp: string,
    receivedMs: number,
    out: FlowBatch,
    counters?: InterfaceCounterBatch,
  ): number {
    const before = out.length;
    out.exporterNames = exporterNames;
    if (counters !== undefined) counters.exporterNames = exporterNames;
    try {
      decodeDatagram(payload, agentAddressFromUdp, receivedMs, out, counters);
    } catch {
      // Unreachable by design (every read is bounds-checked): a bug costs one datagram.
      problem("internal-error");
    }
    flowOut = null;
    counterOut = undefined;
    return out.length - before;
  }

  function decodeDatagram(
    payload: Uint8Array,
    udpAgent: string,
    receivedMs: number,
    out: FlowBatch,
    counters: InterfaceCounterBatch | undefined,
  ): void {
    const end = payload.byteLength;
    if (end < 8) {
      problem("header-truncated");
      return;
    }
    bytes = payload;
    view = new DataView(payload.buffer, payload.byteOffset, end);
    if (view.getUint32(0) !== 5) {
      problem("unknown-version");
      return;
    }
    const addressType = view.getUint32(4);
    const addressLength = addressType === 1 ? 4 : addressType === 2 ? 16 : 0;
    if (addressType > 2) {
      problem("agent-address-invalid");
      return;
    }
    let pos = 8 + addressLength;
    if (pos + 16 > end) {
      problem("header-truncated");
      return;
    }
    if (addressType === 1) {
      const v4 = view.getUint32(8);
      // 0.0.0.0 names nobody: the UDP source is then the best name for the agent.
      agent = v4 !== 0 ? agentForIPv4(v4) : agentFor(udpAgent);
    } else if (addressType === 2) agent = agentForIPv6(8);
    else agent = agentFor(udpAgent);
    if (agent === null) return;
    subAgentId = view.getUint32(pos);
    const sequence = view.getUint32(pos + 4);
    uptime = view.getUint32(pos + 8);
    const sampleCount = view.getUint32(pos + 12);
    pos += 16;

    const stats = agent.stats;
    stats.datagrams++;
    if (!(stats.firstSeenMs <= receivedMs)) stats.firstSeenMs = receivedMs;
    if (!(stats.lastSeenMs >= receivedMs)) stats.lastSeenMs = receivedMs;
    subAgent = subAgentFor(agent, subAgentId);
    if (subAgent !== null) stats.lostDatagrams += gap(subAgent.datagrams, sequence, stats);

    received = receivedMs;
    override = overrides.get(agent.address) ?? 0;
    flowOut = out;
    counterOut = counters;

    const n = sampleCount > maxSamples ? maxSamples : sampleCount;
    for (let k = 0; k < n; k++) {
      if (pos + 8 > end) {
        problem("sample-truncated");
        return;
      }
      const type = view.getUint32(pos);
      const length = view.getUint32(pos + 4);
      const body = pos + 8;
      if (length > end - body) {
        problem("sample-truncated");
        return;
      }
      const enterprise = type >>> 12;
      const format = type & 0xfff;
      if (enterprise !== 0) stats.otherSamples++;
      else if (format === 1 || format === 3) flowSample(body, length, format === 3);
      else if (format === 2 || format === 4) counterSample(body, length, format === 4);
      else if (format === 5) stats.discardSamples++;
      else stats.otherSamples++;
      pos = body + length;
    }
    if (sampleCount > maxSamples) problem("sample-limit");
  }

  /** Maps an interface field (format in the top bits or its own word) to an ifIndex. */
  function ifIndexOf(format: number, value: number): number {
    // Format 1 (discarded: value is a reason) and 2 (several outputs: value is a count) name no
    // interface; nor does 0x3FFFFFFF, the device itself.
    if (format !== 0 || value === IF_LOCAL) return 0;
    return value;
  }

  function flowSample(off: number, length: number, expanded: boolean): void {
    const a = agent!;
    const stats = a.stats;
    const fixed = expanded ? 44 : 32;
    if (length < fixed) {
      problem("sample-invalid");
      return;
    }
    stats.flowSamples++;
    const sequence = view.getUint32(off);
    let sourceKey: number;
    let o: number;
    if (expanded) {
      sourceKey = (view.getUint32(off + 4) & 0xff) * 16777216 + (view.getUint32(off + 8) >>> 0);
      o = off + 12;
    } else {
      const sid = view.getUint32(off + 4);
      sourceKey = (sid >>> 24) * 16777216 + (sid & 0xffffff);
      o = off + 8;
    }
    const rate = view.getUint32(o);
    const drops = view.getUint32(o + 8);
    if (expanded) {
      s.inIf = ifIndexOf(view.getUint32(o + 12), view.getUint32(o + 16));
      s.outIf = ifIndexOf(view.getUint32(o + 20), view.getUint32(o + 24));
      o += 28;
    } else {
      const input = view.getUint32(o + 12);
      const output = view.getUint32(o + 16);
      s.inIf = ifIndexOf(input >>> 30, input & IF_LOCAL);
      s.outIf = ifIndexOf(output >>> 30, output & IF_LOCAL);
      o += 20;
    }
    const recordCount = view.getUint32(o);
    o += 4;

    const st = subAgent === null ? null : sourceFor(subAgent, sourceKey);
    if (st !== null) {
      stats.lostFlowSamples += gap(st, sequence, stats);
      if (st.drops >= 0 && drops > st.drops) stats.agentDrops += drops - st.drops;
      st.drops = drops;
    }

    s.rate = rate;
    s.ipRecord = 0;
    s.parsed = false;
    let headerSeen = false;
    const end = off + length;
    const n = recordCount > maxRecords ? maxRecords : recordCount;
    for (let k = 0; k < n; k++) {
      if (o + 8 > end) {
        problem("record-truncated");
        break;
      }
      const type = view.getUint32(o);
      const recLength = view.getUint32(o + 4);
      const body = o + 8;
      if (recLength > end - body) {
        problem("record-truncated");
        break;
      }
      if (type === 1) {
        if (!headerSeen) {
          headerSeen = true;
          rawHeader(body, recLength);
        }
      } else if (type === 3) {
        if (recLength < 32) problem("record-truncated");
        else if (s.ipRecord === 0) {
          s.ipRecord = 4;
          s.ipRecordOffset = body;
        }
      } else if (type === 4) {
        if (recLength < 56) problem("record-truncated");
        else if (s.ipRecord === 0) {
          s.ipRecord = 6;
          s.ipRecordOffset = body;
        }
      }
      // Extended switch (1001), router (1002), gateway (1003) and the rest carry nothing the
      // flow row has a column for: skipped by length.
      o = body + recLength;
    }
    if (recordCount > maxRecords) problem("record-limit");
    emit();
  }

  /** Parses a raw packet header record into `info`; sets `s.parsed` when an IP header was read. */
  function rawHeader(off: number, length: number): void {
    if (length < 16) {
      problem("record-truncated");
      return;
    }
    const protocol = view.getUint32(off);
    const headerLength = view.getUint32(off + 12);
    if (headerLength > length - 16) {
      problem("record-truncated");
      return;
    }
    const linkType =
      protocol === 1
        ? LINKTYPE_ETHERNET
        : protocol === 11
          ? LINKTYPE_IPV4
          : protocol === 12
            ? LINKTYPE_IPV6
            : -1;
    if (linkType < 0) {
      problem("header-protocol-unsupported");
      return;
    }
    const start = off + 16;
    // A byte loop, not set(subarray()): a sampled header is ~128 bytes and a view would be an
    // allocation per sample.
    for (let k = 0; k < headerLength; k++) headerScratch[k] = bytes[start + k]!;
    let frame = headerViews.get(headerLength);
    if (frame === undefined) {
      frame = headerScratch.subarray(0, headerLength);
      headerViews.set(headerLength, frame);
    }
    const result = parsePacket(frame, linkType, info);
    s.parsed = (result === "ok" || result === "truncated") && info.ipVersion !== 0;
  }

  function emit(): void {
    const out = flowOut!;
    const a = agent!;
    let ipLength: number;
    if (!s.parsed && s.ipRecord === 0) {
      problem("sample-not-ip");
      return;
    }
    let rate = s.rate;
    let source: SamplingSource = SamplingSource.Record;
    if (override > 0) {
      rate = override;
      source = SamplingSource.ConfigOverride;
    } else if (rate === 0) {
      problem("sampling-rate-invalid");
      rate = 1;
      source = SamplingSource.Unknown;
    }
    out.dirty |= FLOW_COLUMNS;
    const i = out.next();
    out.exporterId[i] = a.id;
    out.version[i] = SFLOW_V5_RECORD_VERSION;
    out.domain[i] = subAgentId;
    out.inIf[i] = s.inIf;
    out.outIf[i] = s.outIf;
    if (s.parsed) {
      ipLength = info.ipLength;
      out.ipVersion[i] = info.ipVersion;
      if (info.ipVersion === 4) {
        out.src4[i] = info.src4;
        out.dst4[i] = info.dst4;
      } else {
        out.src6.set(info.src6, i * 16);
        out.dst6.set(info.dst6, i * 16);
      }
      out.srcPort[i] = info.srcPort;
      out.dstPort[i] = info.dstPort;
      out.protocol[i] = info.protocol;
      out.tcpFlags[i] = info.tcpFlags;
      out.dscp[i] = info.dscp;
    } else {
      // Sampled IPv4 (32 bytes) / IPv6 (56 bytes) record: length, protocol, addresses, ports,
      // tcp flags, tos / priority.
      const o = s.ipRecordOffset;
      ipLength = view.getUint32(o);
      out.protocol[i] = view.getUint32(o + 4) & 0xff;
      if (s.ipRecord === 4) {
        out.ipVersion[i] = 4;
        out.src4[i] = view.getUint32(o + 8);
        out.dst4[i] = view.getUint32(o + 12);
        out.srcPort[i] = view.getUint32(o + 16) & 0xffff;
        out.dstPort[i] = view.getUint32(o + 20) & 0xffff;
        out.tcpFlags[i] = view.getUint32(o + 24) & 0xff;
        out.dscp[i] = (view.getUint32(o + 28) >>> 2) & 0x3f;
      } else {
        out.ipVersion[i] = 6;
        for (let k = 0; k < 16; k++) {
          out.src6[i * 16 + k] = bytes[o + 8 + k]!;
          out.dst6[i * 16 + k] = bytes[o + 24 + k]!;
        }
        out.srcPort[i] = view.getUint32(o + 40) & 0xffff;
        out.dstPort[i] = view.getUint32(o + 44) & 0xffff;
        out.tcpFlags[i] = view.getUint32(o + 48) & 0xff;
        out.dscp[i] = (view.getUint32(o + 52) >>> 2) & 0x3f;
      }
    }
    out.packets[i] = rate;
    out.bytes[i] = ipLength * rate;
    out.startMs[i] = received;
    out.endMs[i] = received;
    out.samplingRate[i] = rate;
    out.samplingSource[i] = source;
    a.stats.records++;
  }

  function counterSample(off: number, length: number, expanded: boolean): void {
    const a = agent!;
    const fixed = expanded ? 16 : 12;
    if (length < fixed) {
      problem("sample-invalid");
      return;
    }
    a.stats.counterSamples++;
    const counters = counterOut;
    if (counters === undefined) return;
    const sequence = view.getUint32(off);
    const sourceId = expanded
      ? (((view.getUint32(off + 4) & 0xff) << 24) | (view.getUint32(off + 8) & 0xffffff)) >>> 0
      : view.getUint32(off + 4);
    const recordCount = view.getUint32(off + fixed - 4);
    let o = off + fixed;
    const end = off + length;
    const n = recordCount > maxRecords ? maxRecords : recordCount;
    for (let k = 0; k < n; k++) {
      if (o + 8 > end) {
        problem("record-truncated");
        return;
      }
      const type = view.getUint32(o);
      const recLength = view.getUint32(o + 4);
      const body = o + 8;
      if (recLength > end - body) {
        problem("record-truncated");
        return;
      }
      if (type === 1) {
        if (recLength < 88) problem("record-truncated");
        else genericCounters(counters.next(), body, sequence, sourceId);
      }
      o = body + recLength;
    }
    if (recordCount > maxRecords) problem("record-limit");
  }

  function genericCounters(
    c: InterfaceCounters,
    o: number,
    sequence: number,
    sourceId: number,
  ): void {
    c.exporterId = agent!.id;
    c.subAgentId = subAgentId;
    c.sourceId = sourceId;
    c.sequence = sequence;
    c.receivedMs = received;
    c.uptimeMs = uptime;
    c.ifIndex = view.getUint32(o);
    c.ifType = view.getUint32(o + 4);
    c.ifSpeed = u64(o + 8);
    c.ifDirection = view.getUint32(o + 16);
    c.ifStatus = view.getUint32(o + 20);
    c.inOctets = u64(o + 24);
    c.inUnicastPackets = view.getUint32(o + 32);
    c.inMulticastPackets = view.getUint32(o + 36);
    c.inBroadcastPackets = view.getUint32(o + 40);
    c.inDiscards = view.getUint32(o + 44);
    c.inErrors = view.getUint32(o + 48);
    c.inUnknownProtocols = view.getUint32(o + 52);
    c.outOctets = u64(o + 56);
    c.outUnicastPackets = view.getUint32(o + 64);
    c.outMulticastPackets = view.getUint32(o + 68);
    c.outBroadcastPackets = view.getUint32(o + 72);
    c.outDiscards = view.getUint32(o + 76);
    c.outErrors = view.getUint32(o + 80);
    c.promiscuous = view.getUint32(o + 84);
  }

  function u64(o: number): number {
    return view.getUint32(o) * 4294967296 + view.getUint32(o + 4);
  }

  return {
    decode,
    problems,
    exporterNames,
    agentStats() {
      return [...byName.values()].map((a) => ({ agent: a.address, ...a.stats }));
    },
  };
}

function toMap(
  m: ReadonlyMap<string, number> | Readonly<Record<string, number>> | undefined,
): ReadonlyMap<string, number> {
  if (m === undefined) return new Map();
  if (m instanceof Map) return m;
  return new Map(Object.entries(m as Record<string, number>));
}
