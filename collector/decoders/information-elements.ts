/**
 * The information elements flowtally reads, and how a template field maps to a decode action.
 *
 * Numbers are IANA IPFIX element ids (RFC 7012 and the IANA registry); NetFlow v9 uses the same
 * numbers below 128 and mostly the same above. Enterprise-specific elements are keyed by
 * (private enterprise number, id). Everything not listed here is skipped by its length.
 */

/** Decode actions. A template compiles each of its fields to one of these. */
export const Op = {
  Skip: 0,
  // Value ops: the field is read as an unsigned integer of its length, then stored.
  InIf: 1,
  OutIf: 2,
  Src4: 3,
  Dst4: 4,
  SrcPort: 5,
  DstPort: 6,
  Protocol: 7,
  TcpFlags: 8,
  Tos: 9,
  Dscp: 10,
  Bytes: 11,
  /** Adds to bytes (Cisco NSEL initiator + responder octets). */
  BytesAdd: 12,
  Packets: 13,
  PacketsAdd: 14,
  ReverseBytes: 15,
  ReversePackets: 16,
  FirstUptime: 17,
  LastUptime: 18,
  StartSec: 19,
  EndSec: 20,
  StartMs: 21,
  EndMs: 22,
  StartDeltaUs: 23,
  EndDeltaUs: 24,
  SysInitMs: 25,
  SamplingInterval: 26,
  SamplerId: 27,
  SamplingPacketInterval: 28,
  SamplingPacketSpace: 29,
  SamplingSize: 30,
  SamplingPopulation: 31,
  Direction: 32,
  ApplicationId: 33,
  /** Cisco AVC ART sums, milliseconds, divided by the matching counts after the record. */
  ArtClientNwSum: 34,
  ArtServerNwSum: 35,
  ArtServerResponseSum: 36,
  ArtNewConnections: 37,
  ArtResponses: 38,
  ObservationMs: 39,
  InPhysIf: 40,
  OutPhysIf: 41,
  /** More Cisco AVC ART elements: total response time sum (ms), counts, histogram buckets. */
  ArtTotalResponseSum: 42,
  ArtLateResponses: 43,
  ArtRetransmissions: 44,
  ArtBucket1: 45,
  ArtBucket2: 46,
  ArtBucket3: 47,
  ArtBucket4: 48,
  ArtBucket5: 49,
  ArtBucket6: 50,
  ArtBucket7: 51,
  // Raw ops (>= FIRST_RAW_OP): the field's bytes are interpreted by the op itself.
  Src6: 60,
  Dst6: 61,
  /** NTP timestamp format (RFC 7011 §6.1.9/10), microsecond or nanosecond precision. */
  StartNtp: 62,
  EndNtp: 63,
  SamplingProbability: 64,
  /** Latency in milliseconds (nProbe *_LATENCY_MS; 8-byte form: seconds + microseconds). */
  ClientNwMs: 65,
  ServerNwMs: 66,
  AppLatencyMs: 67,
} as const;
export type Op = (typeof Op)[keyof typeof Op];

/** Ops from here on read the field's bytes themselves instead of an unsigned value. */
export const FIRST_RAW_OP = 60;

/** Private enterprise numbers with elements we read. */
export const PEN = {
  Cisco: 9,
  /** RFC 5103 reverse information elements. */
  Reverse: 29305,
  Ntop: 35632,
} as const;

/** Standard (enterprise 0) element ids used by the decoders. */
export const IE = {
  octetDeltaCount: 1,
  packetDeltaCount: 2,
  protocolIdentifier: 4,
  ipClassOfService: 5,
  tcpControlBits: 6,
  sourceTransportPort: 7,
  sourceIPv4Address: 8,
  ingressInterface: 10,
  destinationTransportPort: 11,
  destinationIPv4Address: 12,
  egressInterface: 14,
  flowEndSysUpTime: 21,
  flowStartSysUpTime: 22,
  postOctetDeltaCount: 23,
  postPacketDeltaCount: 24,
  sourceIPv6Address: 27,
  destinationIPv6Address: 28,
  samplingInterval: 34,
  samplingAlgorithm: 35,
  samplerId: 48,
  samplerMode: 49,
  samplerRandomInterval: 50,
  flowDirection: 61,
  octetTotalCount: 85,
  packetTotalCount: 86,
  applicationId: 95,
  flowStartSeconds: 150,
  flowEndSeconds: 151,
  flowStartMilliseconds: 152,
  flowEndMilliseconds: 153,
  flowStartMicroseconds: 154,
  flowEndMicroseconds: 155,
  flowStartNanoseconds: 156,
  flowEndNanoseconds: 157,
  flowStartDeltaMicroseconds: 158,
  flowEndDeltaMicroseconds: 159,
  systemInitTimeMilliseconds: 160,
  ipDiffServCodePoint: 195,
  initiatorOctets: 231,
  responderOctets: 232,
  ingressPhysicalInterface: 252,
  egressPhysicalInterface: 253,
  initiatorPackets: 298,
  responderPackets: 299,
  selectorId: 302,
  selectorAlgorithm: 304,
  samplingPacketInterval: 305,
  samplingPacketSpace: 306,
  samplingSize: 309,
  samplingPopulation: 310,
  samplingProbability: 311,
  observationTimeMilliseconds: 323,
} as const;

/**
 * nProbe's ids: NetFlow v9 uses NTOP_BASE_ID (57472) + n without an enterprise number; IPFIX uses
 * n itself with PEN 35632 (as Wireshark decodes telegraf's ipfix_pen_35632 capture).
 */
const NTOP_BASE_ID = 57472;
const NTOP_CLIENT_NW_LATENCY_MS = 57595;
const NTOP_SERVER_NW_LATENCY_MS = 57596;
const NTOP_APPL_LATENCY_MS = 57597;

/** Cisco AVC Application Response Time elements (PEN 9); times are milliseconds. */
const CISCO_ART_RETRANSMISSIONS = 9268;
const CISCO_ART_NEW_CONNECTIONS = 9282;
const CISCO_ART_RESPONSES = 9292;
/** art count responses histogram bucket1 .. bucket7: 9293 .. 9299. */
const CISCO_ART_HISTOGRAM_BUCKET1 = 9293;
const CISCO_ART_LATE_RESPONSES = 9300;
const CISCO_ART_SERVER_RESPONSE_TIME_SUM = 9306;
const CISCO_ART_TOTAL_RESPONSE_TIME_SUM = 9309;
const CISCO_ART_CLIENT_NETWORK_TIME_SUM = 9316;
const CISCO_ART_SERVER_NETWORK_TIME_SUM = 9319;
/** The range of Cisco's ART ids read (NetFlow v9 has them without an enterprise number). */
const CISCO_ART_FIRST = CISCO_ART_RETRANSMISSIONS;
const CISCO_ART_LAST = CISCO_ART_SERVER_NETWORK_TIME_SUM;

/**
 * The action for one field, before the counter choice (see `chooseCounters` in template.ts).
 * Counter elements map to placeholder ops here and are resolved per template, because which
 * counter carries the bytes depends on which ones the exporter sent.
 */
export function baseOp(pen: number, id: number, length: number): Op {
  if (pen === 0) return standardOp(id, length);
  if (pen === PEN.Ntop) return ntopOp(id + NTOP_BASE_ID);
  if (pen === PEN.Cisco) return ciscoOp(id);
  return Op.Skip;
}

/**
 * NetFlow v9 has no enterprise numbers: ids >= 32768 are vendor fields (nProbe's among them), and
 * Cisco AVC exports its ART fields under the same numbers as in IPFIX (9268 … 9319), without the
 * enterprise bit (Flexible NetFlow `export-protocol netflow-v9`). No IANA element is numbered that
 * high, so the two cannot collide.
 */
export function v9Op(id: number, length: number): Op {
  if (id >= 32768) return ntopOp(id);
  if (id >= CISCO_ART_FIRST && id <= CISCO_ART_LAST) return ciscoOp(id);
  return standardOp(id, length);
}

function ntopOp(id: number): Op {
  switch (id) {
    case NTOP_CLIENT_NW_LATENCY_MS:
      return Op.ClientNwMs;
    case NTOP_SERVER_NW_LATENCY_MS:
      return Op.ServerNwMs;
    case NTOP_APPL_LATENCY_MS:
      return Op.AppLatencyMs;
    default:
      return Op.Skip;
  }
}

function ciscoOp(id: number): Op {
  switch (id) {
    case CISCO_ART_CLIENT_NETWORK_TIME_SUM:
      return Op.ArtClientNwSum;
    case CISCO_ART_SERVER_NETWORK_TIME_SUM:
      return Op.ArtServerNwSum;
    case CISCO_ART_SERVER_RESPONSE_TIME_SUM:
      return Op.ArtServerResponseSum;
    case CISCO_ART_NEW_CONNECTIONS:
      return Op.ArtNewConnections;
    case CISCO_ART_RESPONSES:
      return Op.ArtResponses;
    case CISCO_ART_TOTAL_RESPONSE_TIME_SUM:
      return Op.ArtTotalResponseSum;
    case CISCO_ART_LATE_RESPONSES:
      return Op.ArtLateResponses;
    case CISCO_ART_RETRANSMISSIONS:
      return Op.ArtRetransmissions;
    case CISCO_ART_HISTOGRAM_BUCKET1:
      return Op.ArtBucket1;
    case CISCO_ART_HISTOGRAM_BUCKET1 + 1:
      return Op.ArtBucket2;
    case CISCO_ART_HISTOGRAM_BUCKET1 + 2:
      return Op.ArtBucket3;
    case CISCO_ART_HISTOGRAM_BUCKET1 + 3:
      return Op.ArtBucket4;
    case CISCO_ART_HISTOGRAM_BUCKET1 + 4:
      return Op.ArtBucket5;
    case CISCO_ART_HISTOGRAM_BUCKET1 + 5:
      return Op.ArtBucket6;
    case CISCO_ART_HISTOGRAM_BUCKET1 + 6:
      return Op.ArtBucket7;
    default:
      return Op.Skip;
  }
}

function standardOp(id: number, length: number): Op {
  switch (id) {
    case IE.ingressInterface:
      return Op.InIf;
    case IE.egressInterface:
      return Op.OutIf;
    case IE.ingressPhysicalInterface:
      return Op.InPhysIf;
    case IE.egressPhysicalInterface:
      return Op.OutPhysIf;
    case IE.sourceIPv4Address:
      return length <= 4 ? Op.Src4 : Op.Skip;
    case IE.destinationIPv4Address:
      return length <= 4 ? Op.Dst4 : Op.Skip;
    case IE.sourceIPv6Address:
      return length === 16 ? Op.Src6 : Op.Skip;
    case IE.destinationIPv6Address:
      return length === 16 ? Op.Dst6 : Op.Skip;
    case IE.sourceTransportPort:
      return Op.SrcPort;
    case IE.destinationTransportPort:
      return Op.DstPort;
    case IE.protocolIdentifier:
      return Op.Protocol;
    case IE.tcpControlBits:
      return Op.TcpFlags;
    case IE.ipClassOfService:
      return Op.Tos;
    case IE.ipDiffServCodePoint:
      return Op.Dscp;
    case IE.flowStartSysUpTime:
      return Op.FirstUptime;
    case IE.flowEndSysUpTime:
      return Op.LastUptime;
    case IE.flowStartSeconds:
      return Op.StartSec;
    case IE.flowEndSeconds:
      return Op.EndSec;
    case IE.flowStartMilliseconds:
      return Op.StartMs;
    case IE.flowEndMilliseconds:
      return Op.EndMs;
    case IE.flowStartMicroseconds:
    case IE.flowStartNanoseconds:
      return length === 8 ? Op.StartNtp : Op.Skip;
    case IE.flowEndMicroseconds:
    case IE.flowEndNanoseconds:
      return length === 8 ? Op.EndNtp : Op.Skip;
    case IE.flowStartDeltaMicroseconds:
      return Op.StartDeltaUs;
    case IE.flowEndDeltaMicroseconds:
      return Op.EndDeltaUs;
    case IE.systemInitTimeMilliseconds:
      return Op.SysInitMs;
    case IE.observationTimeMilliseconds:
      return Op.ObservationMs;
    case IE.samplingInterval:
    case IE.samplerRandomInterval:
      return Op.SamplingInterval;
    case IE.samplerId:
    case IE.selectorId:
      return Op.SamplerId;
    case IE.samplingPacketInterval:
      return Op.SamplingPacketInterval;
    case IE.samplingPacketSpace:
      return Op.SamplingPacketSpace;
    case IE.samplingSize:
      return Op.SamplingSize;
    case IE.samplingPopulation:
      return Op.SamplingPopulation;
    case IE.samplingProbability:
      return length === 8 || length === 4 ? Op.SamplingProbability : Op.Skip;
    case IE.flowDirection:
      return Op.Direction;
    case IE.applicationId:
      return Op.ApplicationId;
    default:
      return Op.Skip;
  }
}

/** Element ids that can carry a flow's byte or packet count, in the order they are preferred. */
export const byteCounterPreference = [
  IE.octetDeltaCount,
  IE.octetTotalCount,
  IE.postOctetDeltaCount,
] as const;
export const packetCounterPreference = [
  IE.packetDeltaCount,
  IE.packetTotalCount,
  IE.postPacketDeltaCount,
] as const;
