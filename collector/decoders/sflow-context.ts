/**
 * What the sFlow sample decoders share: the datagram being decoded (set once per datagram by
 * the decoder), the flow sample being decoded, the problem counts and the limits. One object
 * with a fixed shape, created with the decoder and reused for every datagram.
 */
import type { FlowBatch } from "../../schema/flow-record.js";
import { PacketInfo } from "../packet/packet-info.js";
import type { AgentState, SflowAgents, SubAgentState } from "./sflow-agents.js";
import type { InterfaceCounterBatch, SflowProblem, SflowProblemCounts } from "./sflow-records.js";

export class SflowContext {
  // ---- the datagram being decoded ----
  view: DataView = new DataView(new ArrayBuffer(0));
  bytes: Uint8Array = new Uint8Array(0);
  /** Set before any sample is decoded (the datagram is dropped without an agent). */
  agent: AgentState | null = null;
  subAgentId = 0;
  /** null when the agent has too many sub-agents to follow their sequence numbers. */
  subAgent: SubAgentState | null = null;
  receivedMs = 0;
  uptime = 0;
  /** The configured sampling rate of this agent, 0 when none. */
  override = 0;
  flowOut: FlowBatch | null = null;
  counterOut: InterfaceCounterBatch | undefined = undefined;

  // ---- the flow sample being decoded ----
  rate = 0;
  inIf = 0;
  outIf = 0;
  /** 0 none, 4/6: a sampled IPv4/IPv6 record was seen (used when no header parses). */
  ipRecord: 0 | 4 | 6 = 0;
  ipRecordOffset = 0;
  /** The raw header parsed into `info` with an IP header. */
  parsed = false;

  /** The sampled header's packet, parsed. */
  readonly info = new PacketInfo();
  /** Sampled headers are copied here and parsed through an exact-length view (no allocation). */
  readonly headerScratch = new Uint8Array(65536);
  readonly headerViews = new Map<number, Uint8Array>();

  constructor(
    readonly problems: SflowProblemCounts,
    readonly agents: SflowAgents,
    /** Records read per sample. */
    readonly maxRecords: number,
  ) {}

  problem(p: SflowProblem): void {
    this.problems[p]++;
  }
}
