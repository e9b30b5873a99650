/**
 * The collector side of the queue contract (schema/partials-message.ts): drained partial sums
 * and response-time partials, named through the customer model, grouped into one message per
 * (interval, shard). Pure: ids come from the caller's counter.
 */
import { names } from "../aggregator/series-names.js";
import {
  PARTIALS_MESSAGE_VERSION,
  type PartialsMessage,
  shardOf,
} from "../schema/partials-message.js";
import { type LinkStatusRow, responseTimeCounters } from "../schema/series-store.js";
import type { PartialSum } from "./aggregate/partial-sums.js";
import type { ResponsePartial } from "./aggregate/response-sums.js";
import type { CustomerModel } from "./classify/customer-model.js";

export interface MessageIds {
  collector: string;
  /** Unique per collector process (its start time and pid): keeps ids unique across restarts. */
  epoch: string;
  /** The next sequence number; advanced by each message made. */
  next: number;
}

export function toMessages(
  model: CustomerModel,
  shards: number,
  ids: MessageIds,
  traffic: readonly PartialSum[],
  responses: readonly ResponsePartial[],
  /** Closed link-status minutes (sla/link-status.ts): their 1-minute rows are shipped. */
  status: readonly LinkStatusRow[] = [],
): PartialsMessage[] {
  const byGroup = new Map<string, PartialsMessage>();
  const messageFor = (startMs: number, customer: string): PartialsMessage => {
    const shard = shardOf(customer, shards);
    const group = `${startMs}|${shard}`;
    let m = byGroup.get(group);
    if (m === undefined) {
      m = {
        v: PARTIALS_MESSAGE_VERSION,
        id: "",
        collector: ids.collector,
        startMs,
        shard,
        traffic: [],
        responses: [],
      };
      byGroup.set(group, m);
    }
    return m;
  };
  for (const p of traffic) {
    const n = names(model, p.link, p.classIndex);
    messageFor(p.startMs, n.customer).traffic.push([
      n.customer,
      n.site,
      n.link,
      n.trafficClass,
      p.direction === 0 ? "in" : "out",
      p.bytes,
      p.packets,
      p.flows,
    ]);
  }
  for (const p of responses) {
    const n = names(model, p.link, p.classIndex);
    messageFor(p.startMs, n.customer).responses.push([
      n.customer,
      n.site,
      n.link,
      n.trafficClass,
      responseTimeCounters.map((c) => p[c]),
      p.bins.flat(),
    ]);
  }
  for (const r of status) {
    if (r.level !== "1m") continue; // aggregators add each minute to its 5m, 1h and 1d totals
    const m = messageFor(r.startMs, r.customer);
    m.status ??= [];
    m.status.push([r.customer, r.site, r.link, r.upMinutes, r.downMinutes]);
  }
  const out = [...byGroup.values()].sort((a, b) => a.startMs - b.startMs || a.shard - b.shard);
  for (const m of out) m.id = `${ids.collector}.${ids.epoch}.${ids.next++}`;
  return out;
}

/** Rows a message carries (the unit of the collector's buffer bound). */
export function messageRows(m: PartialsMessage): number {
  return m.traffic.length + m.responses.length + (m.status?.length ?? 0);
}
