export type {
  FlowTable,
  FlowTableConfig,
  FlowTableDeps,
  FlowTableStats,
} from "./flow-table.js";
export { createFlowTable, defaultFlowTableConfig } from "./flow-table.js";
export type { PacketResult, TunnelKind } from "./packet-info.js";
export {
  formatAddress,
  formatDstAddress,
  formatIPv4Number,
  formatSrcAddress,
  PacketInfo,
  packetResults,
} from "./packet-info.js";
export {
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
  LINKTYPE_RAW_ALT,
  LINKTYPE_RAW_OPENBSD,
  MAX_IPV6_EXTENSION_HEADERS,
  MAX_MPLS_LABELS,
  MAX_VLAN_TAGS,
  parsePacket,
  VXLAN_PORT,
} from "./packet-parser.js";
export type { TcpTimingStats } from "./tcp-timing.js";
export { TcpHandshake, TcpTransaction } from "./tcp-timing.js";
