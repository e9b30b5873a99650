/**
 * The flow table's timeouts, run against packet time (µs from the table's base): TCP entries
 * closed for longer than the linger are removed, entries idle for longer than the idle
 * timeout are removed, and entries whose export period is older than the active timeout are
 * exported and kept (counts since the last export). Each list is in time order, so each loop
 * stops at its first entry that is not due.
 */
import type { FlowBatch } from "../../schema/flow-record.js";
import {
  ageAppend,
  ageUnlink,
  exportDirection,
  F,
  type FlowEntries,
  lruHead,
  removeEntry,
  SEEN,
} from "./flow-entries.js";

export interface Timeouts {
  idleUs: number;
  activeUs: number;
  lingerUs: number;
}

export function sweep(e: FlowEntries, t: Timeouts, nowUs: number, out: FlowBatch): void {
  const stats = e.stats;
  const ageNext = e.ageNext;
  const CLOSING = e.CLOSING;
  const AGE = e.AGE;
  const LRU = e.LRU;
  for (let s = ageNext[CLOSING]!; s !== CLOSING; s = ageNext[CLOSING]!) {
    if (e.closeUs[s]! + t.lingerUs > nowUs) break;
    stats.tcpClosed++;
    removeEntry(e, s, out);
  }
  for (let s = lruHead(e); s !== LRU; s = lruHead(e)) {
    if (e.f64[F * s + SEEN]! + t.idleUs > nowUs) break;
    stats.idleExpired++;
    removeEntry(e, s, out);
  }
  for (let s = ageNext[AGE]!; s !== AGE; s = ageNext[AGE]!) {
    if (e.periodUs[s]! + t.activeUs > nowUs) break;
    stats.activeExports++;
    exportDirection(e, s, 0, out);
    exportDirection(e, s, 1, out);
    e.periodUs[s] = nowUs;
    ageUnlink(e, s);
    ageAppend(e, s, AGE);
  }
}
