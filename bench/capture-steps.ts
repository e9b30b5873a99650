/**
 * The next packet of an open flow of bench/packet-capture-generator.ts, by kind: TCP
 * (handshake, request/response transactions with an ACK every second segment, FIN, FIN, ACK),
 * UDP (a DNS query and answer, or a longer mostly server → client exchange), ICMP echo.
 */
import { endFlow } from "./capture-flows.js";
import { frame } from "./capture-frame.js";
import {
  type CaptureState,
  FIN_C,
  FIN_S,
  HS_ACK,
  LAST_ACK,
  REQUEST,
  RESPONSE,
  SYN,
  SYN_ACK,
} from "./capture-state.js";

function responsePackets(g: CaptureState): number {
  const u = g.float();
  if (u < 0.73) return 1 + g.below(8);
  if (u < 0.98) return 10 + g.below(51);
  return 100 + Math.floor(1900 * g.float() ** 2);
}

/** One data segment of a burst: full-sized but the last. */
function segment(g: CaptureState, s: number, fromClient: boolean, left: number): void {
  const mss = g.v6[s] === 1 ? 1440 : 1460;
  const len = left === 1 ? g.lastLen[s]! : mss;
  const flags = left === 1 ? 0x18 : 0x10;
  if (fromClient) {
    frame(g, s, true, 20, len, flags, g.cSeq[s]!, g.sSeq[s]!);
    g.cSeq[s] = (g.cSeq[s]! + len) >>> 0;
  } else {
    frame(g, s, false, 20, len, flags, g.sSeq[s]!, g.cSeq[s]!);
    g.sSeq[s] = (g.sSeq[s]! + len) >>> 0;
  }
  g.unacked[s]!++;
}

function startTransaction(g: CaptureState, s: number): void {
  const upload = g.float() < 0.05;
  g.reqLeft[s] = upload ? responsePackets(g) : 1 + (g.float() < 0.1 ? g.below(3) : 0);
  g.respLeft[s] = upload ? 1 : responsePackets(g);
  g.lastLen[s] = 100 + g.below(700);
  g.unacked[s] = 0;
}

/** The next packet of TCP slot `s`. */
export function tcpStep(g: CaptureState, s: number): void {
  switch (g.phase[s]) {
    case SYN:
      frame(g, s, true, 40, 0, 0x02, g.cSeq[s]!, 0);
      g.cSeq[s] = (g.cSeq[s]! + 1) >>> 0;
      g.phase[s] = SYN_ACK;
      return;
    case SYN_ACK:
      frame(g, s, false, 40, 0, 0x12, g.sSeq[s]!, g.cSeq[s]!);
      g.sSeq[s] = (g.sSeq[s]! + 1) >>> 0;
      g.phase[s] = HS_ACK;
      return;
    case HS_ACK:
      frame(g, s, true, 20, 0, 0x10, g.cSeq[s]!, g.sSeq[s]!);
      startTransaction(g, s);
      g.phase[s] = REQUEST;
      return;
    case REQUEST:
      if (g.unacked[s]! >= 2) {
        frame(g, s, false, 20, 0, 0x10, g.sSeq[s]!, g.cSeq[s]!);
        g.unacked[s] = 0;
        return;
      }
      segment(g, s, true, g.reqLeft[s]! === 1 ? 1 : 2);
      if (--g.reqLeft[s]! === 0) {
        g.phase[s] = RESPONSE;
        g.unacked[s] = 0; // the response acknowledges the request
        g.lastLen[s] = 200 + g.below(1200);
      }
      return;
    case RESPONSE:
      if (g.unacked[s]! >= 2) {
        frame(g, s, true, 20, 0, 0x10, g.cSeq[s]!, g.sSeq[s]!);
        g.unacked[s] = 0;
        return;
      }
      if (g.respLeft[s]! > 0) {
        segment(g, s, false, g.respLeft[s]!);
        g.respLeft[s]!--;
        return;
      }
      // Response done: the client's (delayed) ACK, then another transaction or the close.
      frame(g, s, true, 20, 0, 0x10, g.cSeq[s]!, g.sSeq[s]!);
      if (--g.txLeft[s]! > 0) {
        startTransaction(g, s);
        g.phase[s] = REQUEST;
      } else g.phase[s] = FIN_C;
      return;
    case FIN_C:
      frame(g, s, true, 20, 0, 0x11, g.cSeq[s]!, g.sSeq[s]!);
      g.cSeq[s] = (g.cSeq[s]! + 1) >>> 0;
      g.phase[s] = FIN_S;
      return;
    case FIN_S:
      frame(g, s, false, 20, 0, 0x11, g.sSeq[s]!, g.cSeq[s]!);
      g.sSeq[s] = (g.sSeq[s]! + 1) >>> 0;
      g.phase[s] = LAST_ACK;
      return;
    default:
      frame(g, s, true, 20, 0, 0x10, g.cSeq[s]!, g.sSeq[s]!);
      endFlow(g, s, g.tNs);
  }
}

export function udpStep(g: CaptureState, s: number): void {
  if (g.phase[s] === 1) {
    // DNS: a query, then the answer.
    if (g.respLeft[s] === 2) frame(g, s, true, 8, 20 + g.below(40), 0, 0, 0);
    else frame(g, s, false, 8, 60 + g.below(440), 0, 0, 0);
  } else if (g.float() < 0.2) frame(g, s, true, 8, 30 + g.below(100), 0, 0, 0);
  else frame(g, s, false, 8, 1000 + g.below(350), 0, 0, 0);
  if (--g.respLeft[s]! === 0) endFlow(g, s, g.tNs);
}

export function icmpStep(g: CaptureState, s: number): void {
  const request = g.respLeft[s]! % 2 === 0;
  const isV6 = g.v6[s] === 1;
  const type = request ? (isV6 ? 128 : 8) : isV6 ? 129 : 0;
  frame(g, s, request, 8, 56, type, g.cSeq[s]!, 0);
  if (!request) g.cSeq[s]!++;
  if (--g.respLeft[s]! === 0) endFlow(g, s, g.tNs);
}
