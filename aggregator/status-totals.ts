/**
 * Link-status minutes in the aggregator's running totals (redis-totals.ts): a series per access
 * link, `s\x1f<customer>\x1f<site>\x1f<link>`, with the counters `up` and `down` (minutes), added
 * per message like the traffic sums and written as absolute rows (`putLinkStatus`). Pure, but
 * for `readStoredStatus`, which asks the store.
 */
import type { LinkStatusRow, SeriesLevel, SeriesStore } from "../schema/series-store.js";

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

/**
 * The stored rows of these keys (level, start, customer, site, link), for totals that start
 * after theirs expired (late minutes): one read per customer and level over the keys' span.
 */
export async function readStoredStatus(
  store: Pick<SeriesStore, "linkStatus">,
  keys: readonly LinkStatusRow[],
): Promise<LinkStatusRow[]> {
  const groups = new Map<string, { rows: LinkStatusRow[]; fromMs: number; toMs: number }>();
  for (const k of keys) {
    const g = `${k.level}${PART}${k.customer}`;
    const was = groups.get(g);
    if (was === undefined) groups.set(g, { rows: [k], fromMs: k.startMs, toMs: k.startMs + 1 });
    else {
      was.rows.push(k);
      was.fromMs = Math.min(was.fromMs, k.startMs);
      was.toMs = Math.max(was.toMs, k.startMs + 1);
    }
  }
  const out: LinkStatusRow[] = [];
  for (const { rows, fromMs, toMs } of groups.values()) {
    const { level, customer } = rows[0]!;
    const wanted = new Set(rows.map((r) => statusSeriesId(r.customer, r.site, r.link) + r.startMs));
    const stored = await store.linkStatus({ customer, level, fromMs, toMs });
    for (const r of stored) {
      if (wanted.has(statusSeriesId(r.customer, r.site, r.link) + r.startMs)) out.push(r);
    }
  }
  return out;
}
