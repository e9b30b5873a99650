/**
 * The outages beside the incidents in the operators' breach list (`GET /api/v1/sla/breaches`,
 * docs/sla.md "Availability"): per customer and access link, the declared outages overlapping
 * the range and the measured down periods (consecutive down minutes of the link-status series
 * merged: an up minute, or a minute without a row, ends one). Pure.
 */
import type { LinkStatusRow } from "../schema/series-store.js";
import { isoTime } from "./api/parameters.js";
import type { DeclaredOutage } from "./sla-availability.js";
import { csvTable } from "./totals.js";

const MINUTE_MS = 60_000;

export interface BreachOutage {
  customer: string;
  site: string;
  link: string;
  /** `declared` by an operator, or `measured` from the interface status. */
  source: "declared" | "measured";
  start: string;
  /** Excluded; null for a declared outage still going on. */
  end: string | null;
}

/** Down periods of 1-minute rows (any links, any order), per link, merged. */
export function measuredDownPeriods(
  rows: readonly LinkStatusRow[],
): Array<{ site: string; link: string; startMs: number; endMs: number }> {
  const byLink = new Map<string, { site: string; link: string; minutes: number[] }>();
  for (const r of rows) {
    if (r.level !== "1m" || !(r.downMinutes > 0)) continue;
    const id = `${r.site}\0${r.link}`;
    let l = byLink.get(id);
    if (l === undefined) {
      l = { site: r.site, link: r.link, minutes: [] };
      byLink.set(id, l);
    }
    l.minutes.push(r.startMs);
  }
  const out: Array<{ site: string; link: string; startMs: number; endMs: number }> = [];
  for (const { site, link, minutes } of byLink.values()) {
    minutes.sort((a, b) => a - b);
    let open: { site: string; link: string; startMs: number; endMs: number } | undefined;
    for (const m of minutes) {
      if (open !== undefined && m <= open.endMs) {
        open.endMs = Math.max(open.endMs, m + MINUTE_MS);
        continue;
      }
      open = { site, link, startMs: m, endMs: m + MINUTE_MS };
      out.push(open);
    }
  }
  return out;
}

/** One customer's outages: declared ones (not maintenance) and measured down periods. */
export function customerOutages(
  customer: string,
  declared: readonly DeclaredOutage[],
  measuredRows: readonly LinkStatusRow[],
): BreachOutage[] {
  const out: BreachOutage[] = [];
  for (const d of declared) {
    if (d.kind !== "outage") continue;
    out.push({
      customer,
      site: d.site,
      link: d.link,
      source: "declared",
      start: isoTime(d.startMs),
      end: d.endMs === undefined ? null : isoTime(d.endMs),
    });
  }
  for (const p of measuredDownPeriods(measuredRows)) {
    out.push({
      customer,
      site: p.site,
      link: p.link,
      source: "measured",
      start: isoTime(p.startMs),
      end: isoTime(p.endMs),
    });
  }
  return out;
}

/** By start, then customer, site, link and source. */
export function sortOutages(list: BreachOutage[]): BreachOutage[] {
  const key = (o: BreachOutage) => [o.start, o.customer, o.site, o.link, o.source];
  return list.sort((a, b) => {
    const x = key(a);
    const y = key(b);
    for (let k = 0; k < x.length; k++) if (x[k] !== y[k]) return x[k]! < y[k]! ? -1 : 1;
    return 0;
  });
}

export const BREACHES_CSV_COLUMNS = [
  "kind",
  "customer",
  "class",
  "site",
  "link",
  "source",
  "threshold",
  "target",
  "start",
  "end",
  "minutes",
  "worstMinute",
  "worstShare",
] as const;

/**
 * The breach list as CSV: an `incident` row per incident (class, threshold, target, minutes,
 * worst minute), then an `outage` row per outage (site, link, source); RFC 4180, CRLF.
 */
export function breachesCsv(
  incidents: ReadonlyArray<Readonly<Record<string, unknown>>>,
  outages: readonly BreachOutage[],
): string {
  return csvTable(BREACHES_CSV_COLUMNS, [
    ...incidents.map((i) => ({ kind: "incident", ...i })),
    ...outages.map((o) => ({ kind: "outage", ...o })),
  ]);
}
