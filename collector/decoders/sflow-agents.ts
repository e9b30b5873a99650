/**
 * The sFlow decoder's per-agent state: agents by address (bounded by `maxAgents`), their
 * sub-agents and flow sources, and the sequence-number bookkeeping that turns gaps into lost
 * datagrams and samples. Allocates only when an agent, sub-agent or source is first seen.
 */
import { formatAddress, formatIPv4Number } from "../packet/packet-info.js";
import { emptySflowAgentStats, type SflowAgentStats } from "./sflow-records.js";

export interface SequenceState {
  /** Next expected sequence number, -1 before the first. */
  next: number;
  /** Last `drops` value of a flow source, -1 before the first. */
  drops: number;
}

export interface SubAgentState {
  datagrams: SequenceState;
  /** Flow-sample sequence per source (type * 2^24 + index). */
  sources: Map<number, SequenceState>;
}

export interface AgentState {
  id: number;
  address: string;
  stats: SflowAgentStats;
  subAgents: Map<number, SubAgentState>;
}

/** Agents by name, IPv4 number and (the last one) IPv6 bytes; `exporterNames` is index → name. */
export class SflowAgents {
  readonly exporterNames: string[] = [];
  readonly byName = new Map<string, AgentState>();
  private readonly byIPv4 = new Map<number, AgentState>();
  /** IPv6 agents: the last one is remembered by its bytes, so a steady stream formats nothing. */
  private readonly lastIPv6 = new Uint8Array(16);
  private lastIPv6Agent: AgentState | null = null;

  constructor(
    private readonly maxAgents: number,
    private readonly maxSequenceSpaces: number,
  ) {}

  /** The agent named `name`, created if new; null when `maxAgents` are known already. */
  byAddress(name: string): AgentState | null {
    let a = this.byName.get(name);
    if (a !== undefined) return a;
    if (this.byName.size >= this.maxAgents) return null;
    a = {
      id: this.exporterNames.length,
      address: name,
      stats: emptySflowAgentStats(),
      subAgents: new Map(),
    };
    this.byName.set(name, a);
    this.exporterNames.push(name);
    return a;
  }

  ipv4(address: number): AgentState | null {
    const a = this.byIPv4.get(address);
    if (a !== undefined) return a;
    const named = this.byAddress(formatIPv4Number(address));
    if (named !== null) this.byIPv4.set(address, named);
    return named;
  }

  /** The agent whose IPv6 address is `bytes[off, off + 16)`. */
  ipv6(bytes: Uint8Array, off: number): AgentState | null {
    const last = this.lastIPv6;
    if (this.lastIPv6Agent !== null) {
      let same = true;
      for (let k = 0; k < 16; k++) {
        if (bytes[off + k] !== last[k]) {
          same = false;
          break;
        }
      }
      if (same) return this.lastIPv6Agent;
    }
    const a = this.byAddress(formatAddress(6, 0, bytes.subarray(off, off + 16)));
    if (a !== null) {
      last.set(bytes.subarray(off, off + 16));
      this.lastIPv6Agent = a;
    }
    return a;
  }

  /** Sequence state of a sub-agent, or null when the agent already has too many. */
  subAgent(a: AgentState, id: number): SubAgentState | null {
    let st = a.subAgents.get(id);
    if (st === undefined) {
      if (a.subAgents.size >= this.maxSequenceSpaces) return null;
      st = { datagrams: { next: -1, drops: -1 }, sources: new Map() };
      a.subAgents.set(id, st);
    }
    return st;
  }

  /** Sequence state of a flow source, or null when the sub-agent already has too many. */
  source(sub: SubAgentState, key: number): SequenceState | null {
    let st = sub.sources.get(key);
    if (st === undefined) {
      if (sub.sources.size >= this.maxSequenceSpaces) return null;
      st = { next: -1, drops: -1 };
      sub.sources.set(key, st);
    }
    return st;
  }
}

/**
 * Gap between the expected and the received sequence number (0 when unknown or a reset, which
 * is counted in `stats.sequenceResets`); `st.next` moves past `sequence`.
 */
export function sequenceGap(st: SequenceState, sequence: number, stats: SflowAgentStats): number {
  const expected = st.next;
  st.next = (sequence + 1) >>> 0;
  if (expected < 0 || sequence === expected) return 0;
  const ahead = (sequence - expected) >>> 0;
  if (ahead < 0x80000000) return ahead;
  stats.sequenceResets++;
  return 0;
}
