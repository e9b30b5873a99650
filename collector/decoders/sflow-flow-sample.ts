/**
 * sFlow flow samples (enterprise 0, format 1 and expanded format 3): one flow row per sample,
 * from its raw packet header record (parsed by the capture path's packet parser) or, when no
 * header parses, its sampled IPv4/IPv6 record. Bytes are IP-layer bytes × the sampling rate,
 * packets 1 × the rate (see sflow.ts). No allocation per sample.
 */
import { columnBit as col, SamplingSource } from "../../schema/flow-record.js";
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  parsePacket,
} from "../packet/packet-parser.js";
import { sequenceGap } from "./sflow-agents.js";
import type { SflowContext } from "./sflow-context.js";

/**
 * The `version` column of sFlow rows. The column holds the NetFlow version (5, 9, 10); sFlow v5
 * must not read as NetFlow v5, so sFlow rows carry 0x80 | 5.
 */
export const SFLOW_V5_RECORD_VERSION = 0x85;

/** Interface value meaning "the device itself" (format 0) in input/output fields. */
const IF_LOCAL = 0x3fffffff;

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

/** Maps an interface field (format in the top bits or its own word) to an ifIndex. */
function ifIndexOf(format: number, value: number): number {
  // Format 1 (discarded: value is a reason) and 2 (several outputs: value is a count) name no
  // interface; nor does 0x3FFFFFFF, the device itself.
  if (format !== 0 || value === IF_LOCAL) return 0;
  return value;
}

/** Decodes the flow sample at `off` (its body, `length` bytes) of `c`'s datagram into a row. */
export function decodeFlowSample(
  c: SflowContext,
  off: number,
  length: number,
  expanded: boolean,
): void {
  const view = c.view;
  const stats = c.agent!.stats;
  const fixed = expanded ? 44 : 32;
  if (length < fixed) {
    c.problem("sample-invalid");
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
    c.inIf = ifIndexOf(view.getUint32(o + 12), view.getUint32(o + 16));
    c.outIf = ifIndexOf(view.getUint32(o + 20), view.getUint32(o + 24));
    o += 28;
  } else {
    const input = view.getUint32(o + 12);
    const output = view.getUint32(o + 16);
    c.inIf = ifIndexOf(input >>> 30, input & IF_LOCAL);
    c.outIf = ifIndexOf(output >>> 30, output & IF_LOCAL);
    o += 20;
  }
  const recordCount = view.getUint32(o);
  o += 4;

  const st = c.subAgent === null ? null : c.agents.source(c.subAgent, sourceKey);
  if (st !== null) {
    stats.lostFlowSamples += sequenceGap(st, sequence, stats);
    if (st.drops >= 0 && drops > st.drops) stats.agentDrops += drops - st.drops;
    st.drops = drops;
  }

  c.rate = rate;
  c.ipRecord = 0;
  c.parsed = false;
  let headerSeen = false;
  const end = off + length;
  const maxRecords = c.maxRecords;
  const n = recordCount > maxRecords ? maxRecords : recordCount;
  for (let k = 0; k < n; k++) {
    if (o + 8 > end) {
      c.problem("record-truncated");
      break;
    }
    const type = view.getUint32(o);
    const recLength = view.getUint32(o + 4);
    const body = o + 8;
    if (recLength > end - body) {
      c.problem("record-truncated");
      break;
    }
    if (type === 1) {
      if (!headerSeen) {
        headerSeen = true;
        rawHeader(c, body, recLength);
      }
    } else if (type === 3) {
      if (recLength < 32) c.problem("record-truncated");
      else if (c.ipRecord === 0) {
        c.ipRecord = 4;
        c.ipRecordOffset = body;
      }
    } else if (type === 4) {
      if (recLength < 56) c.problem("record-truncated");
      else if (c.ipRecord === 0) {
        c.ipRecord = 6;
        c.ipRecordOffset = body;
      }
    }
    // Extended switch (1001), router (1002), gateway (1003) and the rest carry nothing the
    // flow row has a column for: skipped by length.
    o = body + recLength;
  }
  if (recordCount > maxRecords) c.problem("record-limit");
  emitFlowRow(c);
}

/** Parses a raw packet header record into `c.info`; sets `c.parsed` when an IP header was read. */
function rawHeader(c: SflowContext, off: number, length: number): void {
  if (length < 16) {
    c.problem("record-truncated");
    return;
  }
  const view = c.view;
  const protocol = view.getUint32(off);
  const headerLength = view.getUint32(off + 12);
  if (headerLength > length - 16) {
    c.problem("record-truncated");
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
    c.problem("header-protocol-unsupported");
    return;
  }
  const start = off + 16;
  const bytes = c.bytes;
  const scratch = c.headerScratch;
  // A byte loop, not set(subarray()): a sampled header is ~128 bytes and a view would be an
  // allocation per sample.
  for (let k = 0; k < headerLength; k++) scratch[k] = bytes[start + k]!;
  let frame = c.headerViews.get(headerLength);
  if (frame === undefined) {
    frame = scratch.subarray(0, headerLength);
    c.headerViews.set(headerLength, frame);
  }
  const info = c.info;
  const result = parsePacket(frame, linkType, info);
  c.parsed = (result === "ok" || result === "truncated") && info.ipVersion !== 0;
}

/** Writes the flow row of the sample just read (none when it carried no IP packet). */
function emitFlowRow(c: SflowContext): void {
  const out = c.flowOut!;
  const a = c.agent!;
  let ipLength: number;
  if (!c.parsed && c.ipRecord === 0) {
    c.problem("sample-not-ip");
    return;
  }
  let rate = c.rate;
  let source: SamplingSource = SamplingSource.Record;
  if (c.override > 0) {
    rate = c.override;
    source = SamplingSource.ConfigOverride;
  } else if (rate === 0) {
    c.problem("sampling-rate-invalid");
    rate = 1;
    source = SamplingSource.Unknown;
  }
  out.dirty |= FLOW_COLUMNS;
  const i = out.next();
  out.exporterId[i] = a.id;
  out.version[i] = SFLOW_V5_RECORD_VERSION;
  out.domain[i] = c.subAgentId;
  out.inIf[i] = c.inIf;
  out.outIf[i] = c.outIf;
  if (c.parsed) {
    const info = c.info;
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
    const view = c.view;
    const bytes = c.bytes;
    const o = c.ipRecordOffset;
    ipLength = view.getUint32(o);
    out.protocol[i] = view.getUint32(o + 4) & 0xff;
    if (c.ipRecord === 4) {
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
  out.startMs[i] = c.receivedMs;
  out.endMs[i] = c.receivedMs;
  out.samplingRate[i] = rate;
  out.samplingSource[i] = source;
  a.stats.records++;
}
