/**
 * The hot path: v9/IPFIX data records of a compiled template, written into a {@link FlowBatch}.
 * No allocation per record: fields go straight into the batch's typed arrays or into a reused
 * scratch array for values that need the whole record (uptime-relative times, sampling fields,
 * reverse counters, latency sums).
 */
import {
  type FlowBatch,
  FlowDirection,
  RESPONSE_BUCKET_COUNT,
  RESPONSE_BUCKETS,
  RESPONSE_WIDTH,
  ResponseSlot,
  SamplingSource,
} from "../../schema/flow-record.js";
import { uintAt } from "./byte-reader.js";
import type { DecodeProblem } from "./decode-problems.js";
import type { DomainState, ExporterState } from "./exporter-state.js";
import { FIRST_RAW_OP, Op } from "./information-elements.js";
import {
  compileFixedRecord,
  compileVariableRecord,
  type RawHelpers,
  SCRATCH_SIZE,
  Slot,
} from "./record-codegen.js";
import { domainRate, type RateChoice, rateFromFields } from "./sampling.js";
import { type Template, VARIABLE_LENGTH } from "./template.js";

/** Everything a record needs from its datagram; one reused object per decoder. */
export interface RecordContext {
  exporter: ExporterState;
  domain: DomainState;
  version: number;
  /** Export time from the message header, ms since the epoch. */
  exportMs: number;
  /** v9 header sysUptime in ms; NaN for IPFIX. */
  sysUptimeMs: number;
  /** Config override for this exporter, or 0. */
  override: number;
  /** Rate for records that carry no sampling field of their own. */
  setRate: RateChoice;
  /** Rate used when a record's own sampler is unknown (the unknown-rate policy's). */
  fallbackRate: RateChoice;
  /** Counts records whose rate fell back to `fallbackRate`. */
  unknownRateRecords: number;
  /** Use generated code for fixed-length templates (false: the interpreter, for tests). */
  codegen: boolean;
}

const S_FIRST_UP = Slot.FirstUptime;
const S_LAST_UP = Slot.LastUptime;
const S_SYSINIT = Slot.SysInit;
const S_INTERVAL = Slot.Interval;
const S_SAMPLER = Slot.Sampler;
const S_PKT_INTERVAL = Slot.PacketInterval;
const S_PKT_SPACE = Slot.PacketSpace;
const S_SIZE = Slot.Size;
const S_POPULATION = Slot.Population;
const S_PROBABILITY = Slot.Probability;
const S_REV_BYTES = Slot.ReverseBytes;
const S_REV_PACKETS = Slot.ReversePackets;
const S_ART_CLIENT = Slot.ArtClient;
const S_ART_SERVER = Slot.ArtServer;
const S_ART_RESPONSE = Slot.ArtResponse;
const S_ART_CONNECTIONS = Slot.ArtConnections;
const S_ART_RESPONSES = Slot.ArtResponses;
const S_ART_TOTAL = Slot.ArtTotal;
const S_ART_LATE = Slot.ArtLate;
const S_ART_RETRANSMISSIONS = Slot.ArtRetransmissions;
const S_ART_BUCKET1 = Slot.ArtBucket1;
const S_OBSERVATION = Slot.Observation;
const S_IN_PHYS = Slot.InPhysical;
const S_OUT_PHYS = Slot.OutPhysical;

/** Seconds between the NTP era 0 epoch (1900) and the Unix epoch. */
const NTP_UNIX_OFFSET_S = 2208988800;
const TWO_POW_32 = 4294967296;

const scratch = new Float64Array(SCRATCH_SIZE);
const recordRate: RateChoice = { rate: 1, source: SamplingSource.Unknown };

export interface SetResult {
  /** Rows written to the batch (a record with reverse counters writes two). */
  records: number;
  /** Records on the wire. */
  wire: number;
  problem: DecodeProblem | null;
}

const result: SetResult = { records: 0, wire: 0, problem: null };

/**
 * Decodes the data records in `view[start, end)`. Trailing bytes shorter than the template's
 * smallest record are padding (RFC 7011 §3.3.1). Returns a reused result object.
 */
export function decodeDataSet(
  ctx: RecordContext,
  tpl: Template,
  view: DataView,
  start: number,
  end: number,
  out: FlowBatch,
): SetResult {
  result.records = 0;
  result.wire = 0;
  result.problem = null;
  if (tpl.minRecordLength === 0) return result;
  out.dirty |= tpl.columns;
  if (tpl.recordLength > 0) {
    const len = tpl.recordLength;
    if (ctx.codegen && tpl.fixedDecoder === null)
      tpl.fixedDecoder = compileFixedRecord(tpl, rawHelpers);
    const generated = ctx.codegen ? tpl.fixedDecoder : null;
    // Rows claimed from here on need no reset of the columns every record assigns.
    out.overwrites = tpl.overwrites;
    for (let off = start; off + len <= end; off += len) {
      if (generated !== null) generated(view, off, beginRecord(ctx, tpl, out), out, scratch, ctx);
      else decodeFixedRecord(ctx, tpl, view, off, out);
      result.wire++;
      result.records += finishRecord(ctx, tpl, out);
    }
    out.overwrites = 0;
    ctx.exporter.stats.records += result.records;
    return result;
  }
  if (ctx.codegen && tpl.variableDecoder === null) {
    tpl.variableDecoder = compileVariableRecord(tpl, rawHelpers);
  }
  const generated = ctx.codegen ? tpl.variableDecoder : null;
  let off = start;
  while (end - off >= tpl.minRecordLength) {
    const next =
      generated !== null
        ? generated(view, off, end, beginRecord(ctx, tpl, out), out, scratch, ctx)
        : decodeVariableRecord(ctx, tpl, view, off, end, out);
    if (next < 0) {
      out.dropLast();
      result.problem = "varlen-invalid";
      break;
    }
    off = next;
    result.wire++;
    result.records += finishRecord(ctx, tpl, out);
  }
  ctx.exporter.stats.records += result.records;
  return result;
}

function beginRecord(ctx: RecordContext, tpl: Template, out: FlowBatch): number {
  const i = out.next();
  out.exporterId[i] = ctx.exporter.id;
  out.version[i] = ctx.version;
  out.domain[i] = ctx.domain.id;
  if (tpl.usesScratch) scratch.fill(Number.NaN);
  return i;
}

function decodeFixedRecord(
  ctx: RecordContext,
  tpl: Template,
  view: DataView,
  base: number,
  out: FlowBatch,
): void {
  const i = beginRecord(ctx, tpl, out);
  const ops = tpl.ops;
  const lengths = tpl.lengths;
  const offsets = tpl.offsets;
  for (let k = 0; k < ops.length; k++) {
    const op = ops[k]!;
    if (op === Op.Skip) continue;
    const off = base + offsets[k]!;
    const len = lengths[k]!;
    if (op < FIRST_RAW_OP) setValue(ctx, op, readUint(view, off, len), i, out);
    else applyRaw(op, view, off, len, i, out);
  }
}

/** Unsigned big-endian value of a field; the common widths inline, the rest in `uintAt`. */
function readUint(view: DataView, off: number, len: number): number {
  if (len === 4) return view.getUint32(off);
  if (len === 2) return view.getUint16(off);
  if (len === 1) return view.getUint8(off);
  if (len === 8) return view.getUint32(off) * 4294967296 + view.getUint32(off + 4);
  return uintAt(view, off, len);
}

/** Returns the offset after the record, or -1 when a length runs past `end`. */
function decodeVariableRecord(
  ctx: RecordContext,
  tpl: Template,
  view: DataView,
  base: number,
  end: number,
  out: FlowBatch,
): number {
  const i = beginRecord(ctx, tpl, out);
  const ops = tpl.ops;
  const lengths = tpl.lengths;
  let off = base;
  for (let k = 0; k < ops.length; k++) {
    let len = lengths[k]!;
    if (len === VARIABLE_LENGTH) {
      if (off + 1 > end) return -1;
      len = view.getUint8(off);
      off += 1;
      if (len === 255) {
        if (off + 2 > end) return -1;
        len = view.getUint16(off);
        off += 2;
      }
    }
    if (off + len > end) return -1;
    const op = ops[k]!;
    if (op !== Op.Skip && len > 0) {
      if (op < FIRST_RAW_OP) setValue(ctx, op, readUint(view, off, len), i, out);
      else applyRaw(op, view, off, len, i, out);
    }
    off += len;
  }
  return off;
}

function setValue(ctx: RecordContext, op: number, v: number, i: number, out: FlowBatch): void {
  switch (op) {
    case Op.InIf:
      out.inIf[i] = v;
      return;
    case Op.OutIf:
      out.outIf[i] = v;
      return;
    case Op.Src4:
      out.src4[i] = v;
      out.ipVersion[i] = 4;
      return;
    case Op.Dst4:
      out.dst4[i] = v;
      out.ipVersion[i] = 4;
      return;
    case Op.SrcPort:
      out.srcPort[i] = v;
      return;
    case Op.DstPort:
      out.dstPort[i] = v;
      return;
    case Op.Protocol:
      out.protocol[i] = v;
      return;
    case Op.TcpFlags:
      out.tcpFlags[i] = v;
      return;
    case Op.Tos:
      out.dscp[i] = (v & 0xff) >> 2;
      return;
    case Op.Dscp:
      out.dscp[i] = v & 0x3f;
      return;
    case Op.Bytes:
      out.bytes[i] = v;
      return;
    case Op.BytesAdd:
      out.bytes[i] = out.bytes[i]! + v;
      return;
    case Op.Packets:
      out.packets[i] = v;
      return;
    case Op.PacketsAdd:
      out.packets[i] = out.packets[i]! + v;
      return;
    case Op.ReverseBytes:
      scratch[S_REV_BYTES] = v;
      return;
    case Op.ReversePackets:
      scratch[S_REV_PACKETS] = v;
      return;
    case Op.FirstUptime:
      scratch[S_FIRST_UP] = v;
      return;
    case Op.LastUptime:
      scratch[S_LAST_UP] = v;
      return;
    case Op.SysInitMs:
      scratch[S_SYSINIT] = v;
      return;
    case Op.StartSec:
      out.startMs[i] = v * 1000;
      return;
    case Op.EndSec:
      out.endMs[i] = v * 1000;
      return;
    case Op.StartMs:
      out.startMs[i] = v;
      return;
    case Op.EndMs:
      out.endMs[i] = v;
      return;
    case Op.StartDeltaUs:
      out.startMs[i] = ctx.exportMs - v / 1000;
      return;
    case Op.EndDeltaUs:
      out.endMs[i] = ctx.exportMs - v / 1000;
      return;
    case Op.ObservationMs:
      scratch[S_OBSERVATION] = v;
      return;
    case Op.SamplingInterval:
      scratch[S_INTERVAL] = v;
      return;
    case Op.SamplerId:
      scratch[S_SAMPLER] = v;
      return;
    case Op.SamplingPacketInterval:
      scratch[S_PKT_INTERVAL] = v;
      return;
    case Op.SamplingPacketSpace:
      scratch[S_PKT_SPACE] = v;
      return;
    case Op.SamplingSize:
      scratch[S_SIZE] = v;
      return;
    case Op.SamplingPopulation:
      scratch[S_POPULATION] = v;
      return;
    case Op.Direction:
      out.direction[i] = v & 1;
      return;
    case Op.ApplicationId:
      out.applicationId[i] = v;
      return;
    case Op.ArtClientNwSum:
      scratch[S_ART_CLIENT] = v;
      return;
    case Op.ArtServerNwSum:
      scratch[S_ART_SERVER] = v;
      return;
    case Op.ArtServerResponseSum:
      scratch[S_ART_RESPONSE] = v;
      return;
    case Op.ArtNewConnections:
      scratch[S_ART_CONNECTIONS] = v;
      return;
    case Op.ArtResponses:
      scratch[S_ART_RESPONSES] = v;
      return;
    case Op.ArtTotalResponseSum:
      scratch[S_ART_TOTAL] = v;
      return;
    case Op.ArtLateResponses:
      scratch[S_ART_LATE] = v;
      return;
    case Op.ArtRetransmissions:
      scratch[S_ART_RETRANSMISSIONS] = v;
      return;
    case Op.ArtBucket1:
    case Op.ArtBucket2:
    case Op.ArtBucket3:
    case Op.ArtBucket4:
    case Op.ArtBucket5:
    case Op.ArtBucket6:
    case Op.ArtBucket7:
      scratch[S_ART_BUCKET1 + op - Op.ArtBucket1] = v;
      return;
    case Op.InPhysIf:
      scratch[S_IN_PHYS] = v;
      return;
    case Op.OutPhysIf:
      scratch[S_OUT_PHYS] = v;
      return;
  }
}

function applyRaw(
  op: number,
  view: DataView,
  off: number,
  len: number,
  i: number,
  out: FlowBatch,
): void {
  switch (op) {
    case Op.Src6:
      copy16(view, off, out.src6, i * 16);
      out.ipVersion[i] = 6;
      return;
    case Op.Dst6:
      copy16(view, off, out.dst6, i * 16);
      out.ipVersion[i] = 6;
      return;
    case Op.StartNtp:
      out.startMs[i] = ntpToMs(view, off);
      return;
    case Op.EndNtp:
      out.endMs[i] = ntpToMs(view, off);
      return;
    case Op.SamplingProbability:
      scratch[S_PROBABILITY] = len === 8 ? view.getFloat64(off) : view.getFloat32(off);
      return;
    case Op.ClientNwMs:
      out.clientNetworkDelayUs[i] = latencyUs(view, off, len);
      return;
    case Op.ServerNwMs:
      out.serverNetworkDelayUs[i] = latencyUs(view, off, len);
      return;
    case Op.AppLatencyMs:
      out.applicationDelayUs[i] = latencyUs(view, off, len);
      return;
  }
}

/**
 * Resolves what needs the whole record (times, sampling, reverse direction, latency) and
 * returns how many rows the record produced (2 when it carried RFC 5103 reverse counters).
 */
function finishRecord(ctx: RecordContext, tpl: Template, out: FlowBatch): number {
  const i = out.length - 1;
  resolveTimes(ctx, tpl, i, out);
  if (tpl.hasPhysicalInterface) {
    if (out.inIf[i] === 0 && scratch[S_IN_PHYS]! >= 0) out.inIf[i] = scratch[S_IN_PHYS]!;
    if (out.outIf[i] === 0 && scratch[S_OUT_PHYS]! >= 0) out.outIf[i] = scratch[S_OUT_PHYS]!;
  }
  if (tpl.hasArt) resolveArt(i, out);
  else if (tpl.hasNtopLatency) resolveNtopLatency(i, out);

  const rate = recordRateChoice(ctx, tpl);
  out.samplingRate[i] = rate.rate;
  out.samplingSource[i] = rate.source;
  if (rate.rate !== 1) {
    out.bytes[i] = out.bytes[i]! * rate.rate;
    out.packets[i] = out.packets[i]! * rate.rate;
  }
  if (!tpl.hasReverse) return 1;
  const revBytes = scratch[S_REV_BYTES]!;
  const revPackets = scratch[S_REV_PACKETS]!;
  if (!(revBytes > 0) && !(revPackets > 0)) return 1;
  const r = out.copyRow(out, i);
  swapDirection(out, r);
  // The transactions belong to the connection once, not to each direction's row.
  out.responseTimes.fill(0, r * RESPONSE_WIDTH, (r + 1) * RESPONSE_WIDTH);
  out.bytes[r] = (revBytes > 0 ? revBytes : 0) * rate.rate;
  out.packets[r] = (revPackets > 0 ? revPackets : 0) * rate.rate;
  return 2;
}

function recordRateChoice(ctx: RecordContext, tpl: Template): RateChoice {
  if (!tpl.hasRecordSampling && !tpl.hasSamplerId) return ctx.setRate;
  if (ctx.override > 0) return ctx.setRate;
  if (tpl.hasRecordSampling) {
    const r = rateFromFields(
      scratch[S_INTERVAL]!,
      scratch[S_PKT_INTERVAL]!,
      scratch[S_PKT_SPACE]!,
      scratch[S_SIZE]!,
      scratch[S_POPULATION]!,
      scratch[S_PROBABILITY]!,
    );
    if (r > 0) {
      recordRate.rate = r;
      recordRate.source = SamplingSource.Record;
      return recordRate;
    }
  }
  const sampler = scratch[S_SAMPLER]!;
  if (domainRate(0, ctx.domain, sampler >= 0 ? sampler : -1, recordRate)) return recordRate;
  ctx.unknownRateRecords++;
  return ctx.fallbackRate;
}

function resolveTimes(ctx: RecordContext, tpl: Template, i: number, out: FlowBatch): void {
  if (tpl.hasUptime) {
    const first = scratch[S_FIRST_UP]!;
    const last = scratch[S_LAST_UP]!;
    if (ctx.sysUptimeMs >= 0) {
      // v9: times are sysUptime ms; the header pairs sysUptime with the export time.
      if (first >= 0) out.startMs[i] = ctx.exportMs - uptimeDelta(ctx.sysUptimeMs, first);
      if (last >= 0) out.endMs[i] = ctx.exportMs - uptimeDelta(ctx.sysUptimeMs, last);
    } else {
      const init = scratch[S_SYSINIT]! >= 0 ? scratch[S_SYSINIT]! : ctx.domain.sysInitMs;
      if (init >= 0) {
        if (first >= 0) out.startMs[i] = init + first;
        if (last >= 0) out.endMs[i] = init + last;
      }
    }
  }
  if (out.endMs[i] === 0) {
    const obs = tpl.hasObservation ? scratch[S_OBSERVATION]! : 0;
    out.endMs[i] = obs > 0 ? obs : out.startMs[i] !== 0 ? out.startMs[i]! : ctx.exportMs;
  }
  if (out.startMs[i] === 0) out.startMs[i] = out.endMs[i]!;
}

/** sysUptime minus a record's uptime stamp, modulo 2^32 (uptime wraps after 49.7 days). */
export function uptimeDelta(sysUptime: number, stamp: number): number {
  const d = (sysUptime - stamp) >>> 0;
  // A stamp slightly after the header's uptime (clock skew inside the exporter) is negative.
  return d >= 0x80000000 ? d - TWO_POW_32 : d;
}

/**
 * Cisco AVC ART: the per-record means (client/server network delay per new connection, server
 * response time per response) and the record's response-time contribution: sums over the export
 * interval in microseconds, counts, late responses and the response-time histogram.
 */
function resolveArt(i: number, out: FlowBatch): void {
  const connsField = scratch[S_ART_CONNECTIONS]!;
  const responsesField = scratch[S_ART_RESPONSES]!;
  const conns = connsField > 0 ? connsField : 1;
  const responses = responsesField > 0 ? responsesField : 1;
  const client = scratch[S_ART_CLIENT]!;
  const server = scratch[S_ART_SERVER]!;
  const response = scratch[S_ART_RESPONSE]!;
  if (client >= 0) out.clientNetworkDelayUs[i] = (client / conns) * 1000;
  if (server >= 0) out.serverNetworkDelayUs[i] = (server / conns) * 1000;
  if (response >= 0) out.applicationDelayUs[i] = (response / responses) * 1000;

  const rt = out.responseTimes;
  const at = i * RESPONSE_WIDTH;
  rt.fill(0, at, at + RESPONSE_WIDTH);
  let bucketed = 0;
  for (let k = 0; k < RESPONSE_BUCKET_COUNT; k++) {
    const n = scratch[S_ART_BUCKET1 + k]!;
    if (n > 0) {
      rt[at + RESPONSE_BUCKETS + k] = n;
      bucketed += n;
    }
  }
  // Transactions: the responses counted, else what the histogram holds.
  const transactions = responsesField > 0 ? responsesField : bucketed;
  if (scratch[S_ART_RETRANSMISSIONS]! > 0) {
    rt[at + ResponseSlot.retransmissions] = scratch[S_ART_RETRANSMISSIONS]!;
  }
  if (connsField > 0 && client >= 0 && server >= 0) {
    rt[at + ResponseSlot.networkDelaySumUs] = (client + server) * 1000;
    rt[at + ResponseSlot.networkDelayCount] = connsField;
  }
  if (transactions <= 0) return;
  rt[at + ResponseSlot.transactions] = transactions;
  if (response >= 0) {
    rt[at + ResponseSlot.serverDelaySumUs] = response * 1000;
    rt[at + ResponseSlot.serverDelayCount] = transactions;
  }
  const total = scratch[S_ART_TOTAL]!;
  if (total >= 0) {
    rt[at + ResponseSlot.totalDelaySumUs] = total * 1000;
  } else if (response >= 0 && client >= 0 && server >= 0) {
    // No total response time: server response time plus a network round trip per response.
    rt[at + ResponseSlot.totalDelaySumUs] =
      (response + (transactions * (client + server)) / conns) * 1000;
  }
  if (scratch[S_ART_LATE]! > 0) rt[at + ResponseSlot.lateResponses] = scratch[S_ART_LATE]!;
}

/**
 * nProbe: one transaction per record with an application latency (APPL_LATENCY_MS, the server's
 * response time; 0 means not measured). CLIENT_NW_LATENCY_MS and SERVER_NW_LATENCY_MS are half
 * round trips (nProbe's "RTT/2"): the network delay is twice their sum, and the total delay the
 * client waited for the first response byte is network delay + application latency.
 */
function resolveNtopLatency(i: number, out: FlowBatch): void {
  const at = i * RESPONSE_WIDTH;
  const rt = out.responseTimes;
  rt.fill(0, at, at + RESPONSE_WIDTH);
  const app = out.applicationDelayUs[i]!;
  if (!(app > 0)) return;
  const cnd = out.clientNetworkDelayUs[i]!;
  const snd = out.serverNetworkDelayUs[i]!;
  const network = (cnd >= 0 ? cnd : 0) * 2 + (snd >= 0 ? snd : 0) * 2;
  rt[at + ResponseSlot.transactions] = 1;
  rt[at + ResponseSlot.serverDelaySumUs] = app;
  rt[at + ResponseSlot.serverDelayCount] = 1;
  if (network > 0) {
    rt[at + ResponseSlot.networkDelaySumUs] = network;
    rt[at + ResponseSlot.networkDelayCount] = 1;
  }
  rt[at + ResponseSlot.totalDelaySumUs] = network + app;
}

function swapDirection(out: FlowBatch, r: number): void {
  const s4 = out.src4[r]!;
  out.src4[r] = out.dst4[r]!;
  out.dst4[r] = s4;
  const base = r * 16;
  for (let k = 0; k < 16; k++) {
    const t = out.src6[base + k]!;
    out.src6[base + k] = out.dst6[base + k]!;
    out.dst6[base + k] = t;
  }
  const sp = out.srcPort[r]!;
  out.srcPort[r] = out.dstPort[r]!;
  out.dstPort[r] = sp;
  const inIf = out.inIf[r]!;
  out.inIf[r] = out.outIf[r]!;
  out.outIf[r] = inIf;
  const d = out.direction[r]!;
  if (d !== FlowDirection.Unknown) out.direction[r] = d ^ 1;
}

function copy16(view: DataView, off: number, dst: Uint8Array, at: number): void {
  for (let k = 0; k < 16; k++) dst[at + k] = view.getUint8(off + k);
}

const rawHelpers: RawHelpers = { copy16, ntpToMs, latencyUs };

/** NTP 64-bit timestamp (seconds since 1900 + 2^-32 fraction) to Unix milliseconds. */
function ntpToMs(view: DataView, off: number): number {
  const sec = view.getUint32(off);
  const frac = view.getUint32(off + 4);
  return (sec - NTP_UNIX_OFFSET_S) * 1000 + (frac / TWO_POW_32) * 1000;
}

/** nProbe latency: 4 bytes or fewer = milliseconds; 8 bytes = seconds + microseconds. */
function latencyUs(view: DataView, off: number, len: number): number {
  if (len === 8) return view.getUint32(off) * 1e6 + view.getUint32(off + 4);
  return uintAt(view, off, len) * 1000;
}
