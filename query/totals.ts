/**
 * One customer's exact totals over a range of whole minutes, by traffic class or by access link
 * (`GET /api/v1/customers/{id}/totals`, docs/api.md#totals). Pure: the parts to read and the rows
 * made of the store's sums; the endpoint (api/totals-endpoints.ts) reads the store.
 *
 * Exact: the range is read as whole hours from the 1-hour rows where the hour ends by
 * `coarseUntil` (the coarse rows are complete there), and as minutes from the 1-minute rows at
 * either end, so every byte of the range is counted once and nothing outside it.
 */
import { defusedCell } from "./overview.js";

const HOUR = 3_600_000;

export const totalsDimensions = ["class", "link"] as const;
export type TotalsDimension = (typeof totalsDimensions)[number];

export interface TotalsPart {
  fromMs: number;
  toMs: number;
  step: "1m" | "1h";
}

/**
 * [fromMs, toMs) (whole minutes) as parts the store sums exactly: the whole hours inside it that
 * end by `coarseUntilMs` from the hourly rows, the rest from the minutes.
 */
export function exactParts(
  r: { fromMs: number; toMs: number },
  coarseUntilMs = Number.POSITIVE_INFINITY,
): TotalsPart[] {
  const firstHour = Math.ceil(r.fromMs / HOUR) * HOUR;
  const lastHour = Math.floor(Math.min(r.toMs, coarseUntilMs) / HOUR) * HOUR;
  if (firstHour >= lastHour) return [{ ...r, step: "1m" }];
  const parts: TotalsPart[] = [];
  if (r.fromMs < firstHour) parts.push({ fromMs: r.fromMs, toMs: firstHour, step: "1m" });
  parts.push({ fromMs: firstHour, toMs: lastHour, step: "1h" });
  if (lastHour < r.toMs) parts.push({ fromMs: lastHour, toMs: r.toMs, step: "1m" });
  return parts;
}

export interface TotalsRow {
  /** The class id (by class), or the site and link (by link). */
  class?: string;
  site?: string;
  link?: string;
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
  /** (bytesIn + bytesOut) / the customer's bytes in + out over the range; null: no bytes at all. */
  share: number | null;
  /** Average rates over the range, bits/s. */
  bpsIn: number;
  bpsOut: number;
}

export interface Sums {
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
}

/**
 * The rows of a range of `ms` milliseconds: each key's sums with its share of the whole and its
 * average rates; by class sorted by bytes down + up, largest first (ties by id); by link in the
 * customer's order.
 */
export function totalsRows(
  dimension: TotalsDimension,
  sums: ReadonlyArray<{ key: { class?: string; site?: string; link?: string }; sums: Sums }>,
  ms: number,
): TotalsRow[] {
  const all = sums.reduce((a, s) => a + s.sums.bytesIn + s.sums.bytesOut, 0);
  const rows = sums.map(({ key, sums: s }) => ({
    ...key,
    ...s,
    share: all === 0 ? null : (s.bytesIn + s.bytesOut) / all,
    bpsIn: (s.bytesIn * 8) / (ms / 1000),
    bpsOut: (s.bytesOut * 8) / (ms / 1000),
  }));
  if (dimension === "class") {
    rows.sort(
      (a, b) =>
        b.bytesIn + b.bytesOut - (a.bytesIn + a.bytesOut) ||
        (a.class ?? "").localeCompare(b.class ?? ""),
    );
  }
  return rows;
}

/** An RFC 4180 cell: quoted when it needs it, a formula-leading text defused. */
export function csvCell(v: unknown): string {
  if (v === undefined || v === null) return "";
  const s = typeof v === "string" ? defusedCell(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** An RFC 4180 table: a header line, CRLF line ends. */
export function csvTable(
  columns: readonly string[],
  rows: ReadonlyArray<Readonly<Record<string, unknown>>>,
): string {
  const lines = [columns.join(",")];
  for (const r of rows) lines.push(columns.map((c) => csvCell(r[c])).join(","));
  return `${lines.join("\r\n")}\r\n`;
}

const NUMBERS = ["bytesIn", "bytesOut", "packetsIn", "packetsOut", "share", "bpsIn", "bpsOut"];
export const TOTALS_CSV_COLUMNS: Readonly<Record<TotalsDimension, readonly string[]>> = {
  class: ["from", "to", "class", ...NUMBERS],
  link: ["from", "to", "site", "link", ...NUMBERS],
};

/** The rows as CSV, each with the range's from and to (ISO 8601). */
export function totalsCsv(
  dimension: TotalsDimension,
  from: string,
  to: string,
  rows: readonly TotalsRow[],
): string {
  return csvTable(
    TOTALS_CSV_COLUMNS[dimension],
    rows.map((r) => ({ from, to, ...r })),
  );
}
