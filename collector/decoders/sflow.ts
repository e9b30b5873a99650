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
 *
 * This file reads the datagram header and dispatches the samples; flow samples are decoded in
 * sflow-flow-sample.ts, counter samples in sflow-counter-sample.ts, agents and sequence numbers
 * are kept in sflow-agents.ts, and what they share per datagram is an {@link SflowContext}.
 */
import type { FlowBatch } from "../../schema/flow-record.js";
import { SflowAgents, sequenceGap } from "./sflow-agents.js";
import { SflowContext } from "./sflow-context.js";
import { decodeCounterSample } from "./sflow-counter-sample.js";
import { decodeFlowSample } from "./sflow-flow-sample.js";
import {
  emptySflowProblemCounts,
  type InterfaceCounterBatch,
  type SflowAgentStats,
  type SflowProblemCounts,
} from "./sflow-records.js";

export { SFLOW_V5_RECORD_VERSION } from "./sflow-flow-sample.js";

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

export function createSflowDecoder(options: SflowDecoderOptions = {}): SflowDecoder {
  const maxSamples = options.maxSamplesPerDatagram ?? 1024;
  const overrides = toMap(options.samplingOverrides);
  const problems = emptySflowProblemCounts();
  const agents = new SflowAgents(
    options.maxAgents ?? 10_000,
    options.maxSequenceSpacesPerAgent ?? 4096,
  );
  const c = new SflowContext(problems, agents, options.maxRecordsPerSample ?? 64);

  function decode(
    payload: Uint8Array,
    agentAddressFromUdp: string,
    receivedMs: number,
    out: FlowBatch,
    counters?: InterfaceCounterBatch,
  ): number {
    const before = out.length;
    out.exporterNames = agents.exporterNames;
    if (counters !== undefined) counters.exporterNames = agents.exporterNames;
    try {
      decodeDatagram(payload, agentAddressFromUdp, receivedMs, out, counters);
    } catch {
      // Unreachable by design (every read is bounds-checked): a bug costs one datagram.
      c.problem("internal-error");
    }
    c.flowOut = null;
    c.counterOut = undefined;
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
      c.problem("header-truncated");
      return;
    }
    c.bytes = payload;
    const view = new DataView(payload.buffer, payload.byteOffset, end);
    c.view = view;
    if (view.getUint32(0) !== 5) {
      c.problem("unknown-version");
      return;
    }
    const addressType = view.getUint32(4);
    const addressLength = addressType === 1 ? 4 : addressType === 2 ? 16 : 0;
    if (addressType > 2) {
      c.problem("agent-address-invalid");
      return;
    }
    let pos = 8 + addressLength;
    if (pos + 16 > end) {
      c.problem("header-truncated");
      return;
    }
    let agent: ReturnType<SflowAgents["byAddress"]>;
    if (addressType === 1) {
      const v4 = view.getUint32(8);
      // 0.0.0.0 names nobody: the UDP source is then the best name for the agent.
      agent = v4 !== 0 ? agents.ipv4(v4) : agents.byAddress(udpAgent);
    } else if (addressType === 2) agent = agents.ipv6(payload, 8);
    else agent = agents.byAddress(udpAgent);
    c.agent = agent;
    if (agent === null) {
      c.problem("exporter-limit");
      return;
    }
    const subAgentId = view.getUint32(pos);
    const sequence = view.getUint32(pos + 4);
    c.uptime = view.getUint32(pos + 8);
    const sampleCount = view.getUint32(pos + 12);
    pos += 16;

    const stats = agent.stats;
    stats.datagrams++;
    if (!(stats.firstSeenMs <= receivedMs)) stats.firstSeenMs = receivedMs;
    if (!(stats.lastSeenMs >= receivedMs)) stats.lastSeenMs = receivedMs;
    const subAgent = agents.subAgent(agent, subAgentId);
    c.subAgentId = subAgentId;
    c.subAgent = subAgent;
    if (subAgent !== null) stats.lostDatagrams += sequenceGap(subAgent.datagrams, sequence, stats);

    c.receivedMs = receivedMs;
    c.override = overrides.get(agent.address) ?? 0;
    c.flowOut = out;
    c.counterOut = counters;

    const n = sampleCount > maxSamples ? maxSamples : sampleCount;
    for (let k = 0; k < n; k++) {
      if (pos + 8 > end) {
        c.problem("sample-truncated");
        return;
      }
      const type = view.getUint32(pos);
      const length = view.getUint32(pos + 4);
      const body = pos + 8;
      if (length > end - body) {
        c.problem("sample-truncated");
        return;
      }
      const enterprise = type >>> 12;
      const format = type & 0xfff;
      if (enterprise !== 0) stats.otherSamples++;
      else if (format === 1 || format === 3) decodeFlowSample(c, body, length, format === 3);
      else if (format === 2 || format === 4) decodeCounterSample(c, body, length, format === 4);
      else if (format === 5) stats.discardSamples++;
      else stats.otherSamples++;
      pos = body + length;
    }
    if (sampleCount > maxSamples) c.problem("sample-limit");
  }

  return {
    decode,
    problems,
    exporterNames: agents.exporterNames,
    agentStats() {
      return [...agents.byName.values()].map((a) => ({ agent: a.address, ...a.stats }));
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
