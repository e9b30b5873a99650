/**
 * sFlow counter samples (enterprise 0, format 2 and expanded format 4): each generic interface
 * counters record (format 1) becomes one {@link InterfaceCounters} row of the datagram's
 * counter batch; other counter records are skipped by length.
 */
import type { SflowContext } from "./sflow-context.js";
import type { InterfaceCounters } from "./sflow-records.js";

/** Decodes the counter sample at `off` (its body, `length` bytes) of `c`'s datagram. */
export function decodeCounterSample(
  c: SflowContext,
  off: number,
  length: number,
  expanded: boolean,
): void {
  const fixed = expanded ? 16 : 12;
  if (length < fixed) {
    c.problem("sample-invalid");
    return;
  }
  c.agent!.stats.counterSamples++;
  const counters = c.counterOut;
  if (counters === undefined) return;
  const view = c.view;
  const sequence = view.getUint32(off);
  const sourceId = expanded
    ? (((view.getUint32(off + 4) & 0xff) << 24) | (view.getUint32(off + 8) & 0xffffff)) >>> 0
    : view.getUint32(off + 4);
  const recordCount = view.getUint32(off + fixed - 4);
  let o = off + fixed;
  const end = off + length;
  const maxRecords = c.maxRecords;
  const n = recordCount > maxRecords ? maxRecords : recordCount;
  for (let k = 0; k < n; k++) {
    if (o + 8 > end) {
      c.problem("record-truncated");
      return;
    }
    const type = view.getUint32(o);
    const recLength = view.getUint32(o + 4);
    const body = o + 8;
    if (recLength > end - body) {
      c.problem("record-truncated");
      return;
    }
    if (type === 1) {
      if (recLength < 88) c.problem("record-truncated");
      else genericCounters(c, counters.next(), body, sequence, sourceId);
    }
    o = body + recLength;
  }
  if (recordCount > maxRecords) c.problem("record-limit");
}

/** The generic interface counters record at `o` into `row`. */
function genericCounters(
  c: SflowContext,
  row: InterfaceCounters,
  o: number,
  sequence: number,
  sourceId: number,
): void {
  const view = c.view;
  row.exporterId = c.agent!.id;
  row.subAgentId = c.subAgentId;
  row.sourceId = sourceId;
  row.sequence = sequence;
  row.receivedMs = c.receivedMs;
  row.uptimeMs = c.uptime;
  row.ifIndex = view.getUint32(o);
  row.ifType = view.getUint32(o + 4);
  row.ifSpeed = u64(view, o + 8);
  row.ifDirection = view.getUint32(o + 16);
  row.ifStatus = view.getUint32(o + 20);
  row.inOctets = u64(view, o + 24);
  row.inUnicastPackets = view.getUint32(o + 32);
  row.inMulticastPackets = view.getUint32(o + 36);
  row.inBroadcastPackets = view.getUint32(o + 40);
  row.inDiscards = view.getUint32(o + 44);
  row.inErrors = view.getUint32(o + 48);
  row.inUnknownProtocols = view.getUint32(o + 52);
  row.outOctets = u64(view, o + 56);
  row.outUnicastPackets = view.getUint32(o + 64);
  row.outMulticastPackets = view.getUint32(o + 68);
  row.outBroadcastPackets = view.getUint32(o + 72);
  row.outDiscards = view.getUint32(o + 76);
  row.outErrors = view.getUint32(o + 80);
  row.promiscuous = view.getUint32(o + 84);
}

function u64(view: DataView, o: number): number {
  return view.getUint32(o) * 4294967296 + view.getUint32(o + 4);
}
