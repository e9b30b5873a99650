/**
 * The InfluxDB store's measurements and fields (store/influx-store.ts says why they are so;
 * docs/series-schema.md is what operators query): the names, a row as a line of line protocol,
 * and a point's fields read back as counters and sketch bins.
 */
import {
  type ResponseTimeRowDelta,
  responseTimeCounters,
  type SeriesLevel,
  type SeriesRowDelta,
  type SlaRow,
  slaCounters,
  zeroResponseTimeCounters,
} from "../schema/series-store.js";
import { num } from "./influx-ql.js";
import { LineProtocolError, pointLine } from "./influx-text.js";

/** Measurement names come from these maps only, never from a caller's string. */
/** Write-ahead log marks (StoreMark): one series per name. */
export const MARKS = "flowtally_marks";

export const TRAFFIC: Readonly<Record<SeriesLevel, string>> = {
  "1m": "traffic_1m",
  "5m": "traffic_5m",
  "1h": "traffic_1h",
  "1d": "traffic_1d",
};

export const RESPONSE: Readonly<Record<SeriesLevel, string>> = {
  "1m": "response_1m",
  "5m": "response_5m",
  "1h": "response_1h",
  "1d": "response_1d",
};

/** SLA series (sla/series.ts), derived from the 1-minute response rows at every write. */
export const SLA: Readonly<Record<SeriesLevel, string>> = {
  "1m": "sla_1m",
  "5m": "sla_5m",
  "1h": "sla_1h",
  "1d": "sla_1d",
};

/** Link-status series (docs/series-schema.md#link-status-series): up and down minutes per link. */
export const LINK_STATUS: Readonly<Record<SeriesLevel, string>> = {
  "1m": "link_status_1m",
  "5m": "link_status_5m",
  "1h": "link_status_1h",
  "1d": "link_status_1d",
};

export const BIN_FIELD = /^(?:sum_)?bin_(-?\d+)$/;

export const binField = (key: number) => `bin_${key}`;

export function trafficLine(r: SeriesRowDelta): string {
  return pointLine({
    measurement: TRAFFIC[r.level],
    tags: [
      ["customer", r.customer],
      ["site", r.site],
      ["link", r.link],
      ["class", r.trafficClass],
      ["direction", r.direction],
    ],
    fields: [
      ["bytes", r.bytes],
      ["packets", r.packets],
      ["flows", r.flows],
    ],
    timeMs: r.startMs,
  });
}

/** The tags of a response-time or SLA point: its customer, site, link and class. */
export function seriesTags(r: {
  customer: string;
  site: string;
  link: string;
  trafficClass: string;
}): Array<[string, string]> {
  return [
    ["customer", r.customer],
    ["site", r.site],
    ["link", r.link],
    ["class", r.trafficClass],
  ];
}

/** A response-time row's point: every counter, its bins, and `cleared` bins written as 0. */
export function responseLine(r: ResponseTimeRowDelta, cleared: readonly number[] = []): string {
  const fields: Array<[string, number]> = responseTimeCounters.map((c) => [c, r[c]]);
  for (const [key, count] of r.bins) fields.push([binField(key), count]);
  for (const key of cleared) fields.push([binField(key), 0]);
  return pointLine({
    measurement: RESPONSE[r.level],
    tags: seriesTags(r),
    fields,
    timeMs: r.startMs,
  });
}

/** An SLA row's point: its counters, and on 1m rows the level in force when it was measured. */
export function slaLine(r: SlaRow): string {
  const fields: Array<[string, number]> = slaCounters.map((c) => [c, r[c]]);
  if (r.thresholdMs !== undefined) fields.push(["thresholdMs", r.thresholdMs]);
  if (r.targetPercent !== undefined) fields.push(["targetPercent", r.targetPercent]);
  return pointLine({
    measurement: SLA[r.level],
    tags: seriesTags(r),
    fields,
    timeMs: r.startMs,
  });
}

/** Builds every row's line once, so a row line protocol cannot carry fails the call before any I/O. */
export function checkLines<R>(call: string, rows: readonly R[], line: (r: R) => string): void {
  rows.forEach((r, i) => {
    try {
      line(r);
    } catch (e) {
      if (e instanceof LineProtocolError) throw new RangeError(`${call}: rows[${i}]: ${e.message}`);
      throw e;
    }
  });
}

/** Bins of a response-time result row (fields `bin_<key>` or `sum_bin_<key>`), empty ones left out. */
export function binsOf(row: Record<string, unknown>): Array<[number, number]> {
  const bins: Array<[number, number]> = [];
  for (const [column, value] of Object.entries(row)) {
    const m = BIN_FIELD.exec(column);
    if (m !== null && typeof value === "number" && value !== 0) bins.push([Number(m[1]), value]);
  }
  return bins.sort((a, b) => a[0] - b[0]);
}

export function countersOf(row: Record<string, unknown>, prefix: string) {
  const out = zeroResponseTimeCounters();
  for (const c of responseTimeCounters) out[c] = num(row[`${prefix}${c}`]);
  return out;
}
