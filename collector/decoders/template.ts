/**
 * A v9/IPFIX template compiled for fast decoding: each field becomes an action ({@link Op}) at a
 * known offset (fixed-length templates) or in sequence (templates with variable-length fields).
 */

import { ALL_COLUMNS, columnBit as col, type FlowBatch } from "../../schema/flow-record.js";
import {
  baseOp,
  byteCounterPreference,
  IE,
  Op,
  PEN,
  packetCounterPreference,
  v9Op,
} from "./information-elements.js";

/** The record-level context generated record decoders read (a subset of RecordContext). */
export interface CodegenContext {
  exportMs: number;
}

/** A fixed-length template's generated record decoder (record-codegen.ts). */
export type FixedRecordDecoder = (
  view: DataView,
  base: number,
  i: number,
  out: FlowBatch,
  scratch: Float64Array,
  ctx: CodegenContext,
) => void;

/**
 * A variable-length template's generated record decoder: returns the offset after the record,
 * or -1 when a length runs past `end` (the record is then dropped by the caller).
 */
export type VariableRecordDecoder = (
  view: DataView,
  base: number,
  end: number,
  i: number,
  out: FlowBatch,
  scratch: Float64Array,
  ctx: CodegenContext,
) => number;

/** RFC 7011 §7: a field length of 65535 means "variable length, prefixed in the record". */
export const VARIABLE_LENGTH = 65535;

export interface TemplateField {
  id: number;
  /** Private enterprise number; 0 for IANA elements and for every v9 field. */
  pen: number;
  length: number;
}

export interface Template {
  id: number;
  version: 9 | 10;
  /** Options templates carry sampling rates and the like, not flows. */
  options: boolean;
  /** Number of leading scope fields (options templates only). */
  scopeCount: number;
  fields: readonly TemplateField[];
  ops: Uint8Array;
  lengths: Uint16Array;
  /** Offsets of each field in a record; only meaningful when `recordLength > 0`. */
  offsets: Uint16Array;
  /** Fixed record length, or -1 when a field is variable-length. */
  recordLength: number;
  /** The smallest a record can be (variable-length fields count as 1 byte). */
  minRecordLength: number;
  /** The template needs per-record post-processing of these groups. */
  hasUptime: boolean;
  hasRecordSampling: boolean;
  hasSamplerId: boolean;
  hasReverse: boolean;
  hasArt: boolean;
  /** nProbe's application latency (APPL_LATENCY_MS): one transaction per record. */
  hasNtopLatency: boolean;
  hasObservation: boolean;
  hasPhysicalInterface: boolean;
  /** Any field goes through the per-record scratch values (which then need a reset). */
  usesScratch: boolean;
  /** The FlowBatch columns its records write (see `FlowBatch.dirty`). */
  columns: number;
  /**
   * Of those, the columns every record assigns whatever its values (see
   * `FlowBatch.overwrites`): fixed-length templates only, where every field is always read.
   */
  overwrites: number;
  /** Generated decoder for fixed-length data templates, compiled on first use. */
  fixedDecoder: FixedRecordDecoder | null;
  /** Generated decoder for templates with variable-length fields, compiled on first use. */
  variableDecoder: VariableRecordDecoder | null;
}

const NON_COUNTER = 0;

/**
 * Compiles a template. Counters are chosen per template: bytes come from octetDeltaCount (IE 1)
 * if the template has it, else octetTotalCount (85), else postOctetDeltaCount (23), else the sum
 * of Cisco NSEL initiator + responder octets (231 + 232); packets likewise (2, 86, 24, 298 + 299).
 * RFC 5103 reverse counters (PEN 29305) of the same element make a second, reversed record.
 */
export function compileTemplate(
  id: number,
  version: 9 | 10,
  fields: readonly TemplateField[],
  scopeCount: number,
  options: boolean,
): Template {
  const n = fields.length;
  const ops = new Uint8Array(n);
  const lengths = new Uint16Array(n);
  const offsets = new Uint16Array(n);
  let fixed = true;
  let offset = 0;
  let minLength = 0;

  const byteIe = preferredCounter(fields, byteCounterPreference);
  const packetIe = preferredCounter(fields, packetCounterPreference);
  const nselBytes =
    byteIe === NON_COUNTER && hasBoth(fields, IE.initiatorOctets, IE.responderOctets);
  const nselPackets =
    packetIe === NON_COUNTER && hasBoth(fields, IE.initiatorPackets, IE.responderPackets);

  let hasUptime = false;
  let hasRecordSampling = false;
  let hasSamplerId = false;
  let hasReverse = false;
  let hasArt = false;
  let hasNtopLatency = false;
  let hasObservation = false;
  let hasPhysicalInterface = false;
  let columns = RECORD_COLUMNS;
  let overwrites = RECORD_ASSIGNED;

  for (let k = 0; k < n; k++) {
    const f = fields[k]!;
    lengths[k] = f.length;
    offsets[k] = offset;
    if (f.length === VARIABLE_LENGTH) {
      fixed = false;
      minLength += 1;
    } else {
      offset += f.length;
      minLength += f.length;
    }
    let op: Op = version === 9 ? v9Op(f.id, f.length) : baseOp(f.pen, f.id, f.length);
    if (f.pen === 0) {
      if (f.id === byteIe) op = Op.Bytes;
      else if (f.id === packetIe) op = Op.Packets;
      else if (nselBytes && (f.id === IE.initiatorOctets || f.id === IE.responderOctets))
        op = Op.BytesAdd;
      else if (nselPackets && (f.id === IE.initiatorPackets || f.id === IE.responderPackets))
        op = Op.PacketsAdd;
    } else if (version === 10 && f.pen === PEN.Reverse) {
      if (f.id === byteIe) op = Op.ReverseBytes;
      else if (f.id === packetIe) op = Op.ReversePackets;
    }
    if (f.length === 0 || (f.length === VARIABLE_LENGTH && !acceptsVariableLength(op))) {
      op = Op.Skip;
    }
    ops[k] = op;
    columns |= columnsOf(op);
    overwrites |= assignedBy(op);
    switch (op) {
      case Op.FirstUptime:
      case Op.LastUptime:
      case Op.SysInitMs:
        hasUptime = true;
        break;
      case Op.SamplingInterval:
      case Op.SamplingPacketInterval:
      case Op.SamplingPacketSpace:
      case Op.SamplingSize:
      case Op.SamplingPopulation:
      case Op.SamplingProbability:
        hasRecordSampling = true;
        break;
      case Op.SamplerId:
        hasSamplerId = true;
        break;
      case Op.ReverseBytes:
      case Op.ReversePackets:
        hasReverse = true;
        break;
      case Op.ArtClientNwSum:
      case Op.ArtServerNwSum:
      case Op.ArtServerResponseSum:
      case Op.ArtNewConnections:
      case Op.ArtResponses:
      case Op.ArtTotalResponseSum:
      case Op.ArtLateResponses:
      case Op.ArtRetransmissions:
      case Op.ArtBucket1:
      case Op.ArtBucket2:
      case Op.ArtBucket3:
      case Op.ArtBucket4:
      case Op.ArtBucket5:
      case Op.ArtBucket6:
      case Op.ArtBucket7:
        hasArt = true;
        break;
      case Op.AppLatencyMs:
        hasNtopLatency = true;
        break;
      case Op.ObservationMs:
        hasObservation = true;
        break;
      case Op.InPhysIf:
      case Op.OutPhysIf:
        hasPhysicalInterface = true;
        break;
    }
  }
  return {
    id,
    version,
    options,
    scopeCount,
    fields,
    ops,
    lengths,
    offsets,
    recordLength: fixed ? offset : -1,
    minRecordLength: minLength,
    hasUptime,
    hasRecordSampling,
    hasSamplerId,
    hasReverse,
    hasArt,
    hasNtopLatency,
    hasObservation,
    hasPhysicalInterface,
    usesScratch:
      hasUptime ||
      hasRecordSampling ||
      hasSamplerId ||
      hasReverse ||
      hasArt ||
      hasObservation ||
      hasPhysicalInterface,
    columns,
    overwrites: fixed ? overwrites : 0,
    fixedDecoder: null,
    variableDecoder: null,
  };
}

/** Columns every data record writes: identity, times, sampling, and the scaled counters. */
const RECORD_COLUMNS =
  col.exporterId |
  col.version |
  col.domain |
  col.startMs |
  col.endMs |
  col.samplingRate |
  col.samplingSource |
  col.bytes |
  col.packets;

/**
 * Columns every data record assigns: identity (data-records.ts `beginRecord`) and sampling
 * (`finishRecord`). Times and counters are not among them: a record may lack them.
 */
const RECORD_ASSIGNED =
  col.exporterId | col.version | col.domain | col.samplingRate | col.samplingSource;

/**
 * The columns a fixed-length field of this op assigns (`=`, never `+=` or a condition), in the
 * generated code and the interpreter alike. Only the common fields: the others are reset.
 */
function assignedBy(op: Op): number {
  switch (op) {
    case Op.InIf:
    case Op.OutIf:
    case Op.Src4:
    case Op.Dst4:
    case Op.Src6:
    case Op.Dst6:
    case Op.SrcPort:
    case Op.DstPort:
    case Op.Protocol:
    case Op.TcpFlags:
    case Op.Tos:
    case Op.Dscp:
      return columnsOf(op);
    case Op.Bytes:
      return col.bytes;
    case Op.Packets:
      return col.packets;
    case Op.StartSec:
    case Op.StartMs:
    case Op.StartDeltaUs:
    case Op.StartNtp:
      return col.startMs;
    case Op.EndSec:
    case Op.EndMs:
    case Op.EndDeltaUs:
    case Op.EndNtp:
      return col.endMs;
    default:
      return 0;
  }
}

function columnsOf(op: Op): number {
  switch (op) {
    case Op.InIf:
    case Op.InPhysIf:
      return col.inIf;
    case Op.OutIf:
    case Op.OutPhysIf:
      return col.outIf;
    case Op.Src4:
      return col.src4 | col.ipVersion;
    case Op.Dst4:
      return col.dst4 | col.ipVersion;
    case Op.Src6:
      return col.src6 | col.ipVersion;
    case Op.Dst6:
      return col.dst6 | col.ipVersion;
    case Op.SrcPort:
      return col.srcPort;
    case Op.DstPort:
      return col.dstPort;
    case Op.Protocol:
      return col.protocol;
    case Op.TcpFlags:
      return col.tcpFlags;
    case Op.Tos:
    case Op.Dscp:
      return col.dscp;
    case Op.Direction:
      return col.direction;
    case Op.ApplicationId:
      return col.applicationId;
    case Op.ClientNwMs:
      return col.clientNetworkDelayUs;
    case Op.ServerNwMs:
      return col.serverNetworkDelayUs;
    case Op.AppLatencyMs:
      return col.applicationDelayUs | col.responseTimes;
    case Op.ArtClientNwSum:
    case Op.ArtServerNwSum:
    case Op.ArtServerResponseSum:
      return (
        col.clientNetworkDelayUs |
        col.serverNetworkDelayUs |
        col.applicationDelayUs |
        col.responseTimes
      );
    case Op.ArtNewConnections:
    case Op.ArtResponses:
    case Op.ArtTotalResponseSum:
    case Op.ArtLateResponses:
    case Op.ArtRetransmissions:
    case Op.ArtBucket1:
    case Op.ArtBucket2:
    case Op.ArtBucket3:
    case Op.ArtBucket4:
    case Op.ArtBucket5:
    case Op.ArtBucket6:
    case Op.ArtBucket7:
      return col.responseTimes;
    case Op.ReverseBytes:
    case Op.ReversePackets:
      return ALL_COLUMNS;
    default:
      return 0;
  }
}

/** Only the application id is meaningful with a variable length; other fields are skipped. */
function acceptsVariableLength(op: Op): boolean {
  return op === Op.ApplicationId;
}

function preferredCounter(fields: readonly TemplateField[], preference: readonly number[]): number {
  for (const ie of preference) {
    if (fields.some((f) => f.pen === 0 && f.id === ie && f.length > 0)) return ie;
  }
  return NON_COUNTER;
}

function hasBoth(fields: readonly TemplateField[], a: number, b: number): boolean {
  return (
    fields.some((f) => f.pen === 0 && f.id === a && f.length > 0) &&
    fields.some((f) => f.pen === 0 && f.id === b && f.length > 0)
  );
}

/** True when two templates lay records out identically (a re-send, not a redefinition). */
export function sameLayout(a: Template, b: Template): boolean {
  if (a.options !== b.options || a.scopeCount !== b.scopeCount) return false;
  if (a.fields.length !== b.fields.length) return false;
  for (let k = 0; k < a.fields.length; k++) {
    const x = a.fields[k]!;
    const y = b.fields[k]!;
    if (x.id !== y.id || x.pen !== y.pen || x.length !== y.length) return false;
  }
  return true;
}
