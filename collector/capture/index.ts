export type {
  CapturedPacket,
  CaptureErrorCode,
  CaptureParser,
  CaptureParserStats,
} from "./capture-file.js";
export {
  captureErrorCodes,
  createCaptureParser,
  emptyCaptureErrorCounts,
  MAX_BLOCK_LENGTH,
  MAX_CAPTURED_LENGTH,
} from "./capture-file.js";
export type { ReadCaptureOptions } from "./capture-reader.js";
export { readCaptureFile } from "./capture-reader.js";
export type { UdpDatagram, UdpFrameResult } from "./udp-datagram.js";
export {
  createUdpDatagram,
  extractUdp,
  formatIPv4,
  formatIPv6,
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
  LINKTYPE_RAW_ALT,
  parseUdpFrame,
} from "./udp-datagram.js";
