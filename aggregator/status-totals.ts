/**
 * Link-status minutes in the aggregator's running totals (redis-totals.ts): a series per access
 * link, `s\x1f<customer>\x1f<site>\x1f<link>`, with the counters `up` and `down` (minutes), added
 * per message like the traffic sums and written as absolute rows (`putLinkStatus`). Pure.
 */
import type { LinkStatusRow, SeriesLevel } from "../schema/series-store.js";

const PART = "\x1f";

export function statusSeriesId(customer: string, site: string, link: string): string {
  return ["s", customer, site, link].join(PART);
}

/** The stored row of one link's totals in `period` ("<level>:<start>"). */
export function statusRow(period: string, sid: string, values: Map<string, number>): LinkStatusRow {
  const [level, start] = period.split(":");
  const [, customer = "", site = "", link = ""] = sid.split(PART);
  return {
    level: level as SeriesLevel,
    startMs: Number(start),
    customer,
    site,
    link,
    upMinutes: values.get("up") ?? 0,
    downMinutes: values.get("down") ?? 0,
  };
}

/** What a stored row adds to new totals. */
export function statusPairs(r: LinkStatusRow): Array<[string, number]> {
  return [
    ["up", r.upMinutes],
    ["down", r.downMinutes],
  ];
}
