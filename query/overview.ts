/**
 * The operator overview: every customer with bytes and packets down (in) and up (out) for a
 * period and their average rates, sortable by any column, as rows, CSV or a table. Pure: the
 * store's per-customer sums and the customer model in, rows out. Customers without traffic are
 * listed with zeros; the pseudo-customer "unattributed" is listed when it has traffic.
 *
 * The average rate (bpsIn, bpsOut) is bytes × 8 / the seconds the period has covered so far:
 * [from, to) when `to` has passed, [from, now) while the period is still running (the future
 * part of a period holds no traffic yet, and is not counted), 0 for a period not yet begun.
 */
import type { CustomerModel } from "../collector/classify/customer-model.js";
import { type CustomerTotals, UNATTRIBUTED_CUSTOMER } from "../schema/series-store.js";
import { formatBitRate, formatBytes, formatCount } from "../schema/units.js";

export interface OverviewRow {
  customer: string;
  name: string;
  serviceType: string;
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
  flows: number;
  /** Average rate in (bit/s) over the time covered (`rateSpanMs`). */
  bpsIn: number;
  bpsOut: number;
}

/** The columns in the API's order (the rates last: CSVs read by position keep their columns). */
export const overviewColumns = [
  "customer",
  "name",
  "serviceType",
  "bytesIn",
  "bytesOut",
  "packetsIn",
  "packetsOut",
  "flows",
  "bpsIn",
  "bpsOut",
] as const satisfies ReadonlyArray<keyof OverviewRow>;
export type OverviewColumn = (typeof overviewColumns)[number];

/**
 * The milliseconds the rates of [fromMs, toMs) are averaged over at `nowMs`: up to `to`, or up to
 * now while the period is still running; 0 before it begins.
 */
export function rateSpanMs(fromMs: number, toMs: number, nowMs: number): number {
  return Math.max(0, Math.min(toMs, nowMs) - fromMs);
}

/** bytes × 8 / seconds; 0 over no time. */
export function averageBps(bytes: number, spanMs: number): number {
  return spanMs > 0 ? (bytes * 8 * 1000) / spanMs : 0;
}

export interface OverviewFilter {
  serviceType?: string;
  /** Customers with a link attached to this exporter (links matched by router + ifIndex). */
  router?: string;
}

/** The customers a filter keeps, or undefined for all (what the store query is narrowed to). */
export function overviewCustomers(
  model: CustomerModel,
  routers: ReadonlyMap<string, ReadonlySet<string>>,
  filter: OverviewFilter,
): string[] | undefined {
  if (filter.serviceType === undefined && filter.router === undefined) return undefined;
  const kept: string[] = [];
  for (const c of model.customers) {
    if (filter.serviceType !== undefined && c.serviceType !== filter.serviceType) continue;
    if (filter.router !== undefined && routers.get(filter.router)?.has(c.id) !== true) continue;
    kept.push(c.id);
  }
  return kept;
}

export function buildOverview(
  model: CustomerModel,
  totals: readonly CustomerTotals[],
  opts: {
    customers?: readonly string[] | undefined;
    sort: OverviewColumn;
    order: "asc" | "desc";
    /** The time the rates are averaged over (`rateSpanMs`). */
    rateSpanMs: number;
  },
): OverviewRow[] {
  const span = opts.rateSpanMs;
  const byId = new Map(totals.map((t) => [t.customer, t]));
  const keep = opts.customers === undefined ? null : new Set(opts.customers);
  const rows: OverviewRow[] = [];
  for (const c of model.customers) {
    if (keep !== null && !keep.has(c.id)) continue;
    rows.push(row(c.id, c.name, c.serviceType, byId.get(c.id), span));
  }
  const un = byId.get(UNATTRIBUTED_CUSTOMER);
  if (keep === null && un !== undefined && un.bytesIn + un.bytesOut + un.flows > 0) {
    rows.push(row(UNATTRIBUTED_CUSTOMER, "traffic matching no customer", "", un, span));
  }
  const dir = opts.order === "asc" ? 1 : -1;
  rows.sort((a, b) => {
    const x = a[opts.sort];
    const y = b[opts.sort];
    const c =
      typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
    return c * dir || a.customer.localeCompare(b.customer);
  });
  return rows;
}

function row(
  customer: string,
  name: string,
  serviceType: string,
  t: CustomerTotals | undefined,
  spanMs: number,
): OverviewRow {
  const bytesIn = t?.bytesIn ?? 0;
  const bytesOut = t?.bytesOut ?? 0;
  return {
    customer,
    name,
    serviceType,
    bytesIn,
    bytesOut,
    packetsIn: t?.packetsIn ?? 0,
    packetsOut: t?.packetsOut ?? 0,
    flows: t?.flows ?? 0,
    bpsIn: averageBps(bytesIn, spanMs),
    bpsOut: averageBps(bytesOut, spanMs),
  };
}

/**
 * Text a spreadsheet may take for a formula (CSV injection; OWASP's CSV Injection page, ASVS
 * 1.2.10): starting with TAB, CR, LF or NUL, or with = + - @ once leading whitespace and quotes,
 * which some spreadsheets strip or skip, are set aside.
 */
export const FORMULA_LEADING = /^(?:[\t\r\n\0]|[\s"']*[=+\-@])/;

/** A text cell made inert for spreadsheets: a leading `'` where it could start a formula. */
export function defusedCell(s: string): string {
  return FORMULA_LEADING.test(s) ? `'${s}` : s;
}

/** An RFC 4180 CSV field: quoted when it needs it, a formula-leading text defused. */
export function csvCell(v: string | number): string {
  const s = typeof v === "string" ? defusedCell(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/**
 * RFC 4180 CSV with a header of the columns (default: every one, in the API's order); fields
 * quoted when they need it, formula-leading cells defused.
 */
/**
 * Columns of the overview named in `text` ("customer,name,bpsIn"): each once, in the order given;
 * otherwise what is wrong with it (`shown` quotes a name that is not a column).
 */
export function overviewColumnList(
  text: string,
  shown: (name: string) => string = JSON.stringify,
): OverviewColumn[] | string {
  const out: OverviewColumn[] = [];
  for (const name of text.split(",")) {
    if (!(overviewColumns as readonly string[]).includes(name)) {
      return `${shown(name)} is not a column; expected some of ${overviewColumns.join(", ")}, separated by commas`;
    }
    if ((out as string[]).includes(name)) return `${name} is given more than once`;
    out.push(name as OverviewColumn);
  }
  return out;
}

export function overviewCsv(
  rows: readonly OverviewRow[],
  columns: readonly OverviewColumn[] = overviewColumns,
): string {
  const cell = csvCell;
  const lines = [columns.join(",")];
  for (const r of rows) lines.push(columns.map((c) => cell(r[c])).join(","));
  return `${lines.join("\r\n")}\r\n`;
}

/**
 * A table for people: bytes in kB/MB/GB, rates in kbit/s…, packets and flows with k/M/G
 * (schema/units.ts).
 */
export function overviewTable(rows: readonly OverviewRow[]): string {
  const header = [...overviewColumns];
  const cell = (r: OverviewRow, c: OverviewColumn): string => {
    const v = r[c];
    if (typeof v === "string") return v;
    if (c === "bytesIn" || c === "bytesOut") return formatBytes(v);
    return c === "bpsIn" || c === "bpsOut" ? formatBitRate(v) : formatCount(v);
  };
  const cells = rows.map((r) => overviewColumns.map((c) => cell(r, c)));
  const widths = header.map((h, k) => Math.max(h.length, ...cells.map((r) => r[k]!.length)));
  const numeric = (k: number) => k >= 3;
  const fmt = (r: string[]) =>
    r.map((v, k) => (numeric(k) ? v.padStart(widths[k]!) : v.padEnd(widths[k]!))).join("  ");
  return `${[fmt(header), ...cells.map(fmt)].join("\n")}\n`;
}
