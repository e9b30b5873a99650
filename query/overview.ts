/**
 * The operator overview: every customer with bytes and packets down (in) and up (out) for a
 * period, sortable by any column, as rows, CSV or a table. Pure: the store's per-customer sums
 * and the customer model in, rows out. Customers without traffic are listed with zeros; the
 * pseudo-customer "unattributed" is listed when it has traffic.
 */
import type { CustomerModel } from "../collector/classify/customer-model.js";
import { type CustomerTotals, UNATTRIBUTED_CUSTOMER } from "../schema/series-store.js";
import { formatBytes, formatCount } from "../schema/units.js";

export interface OverviewRow {
  customer: string;
  name: string;
  serviceType: string;
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
  flows: number;
}

export const overviewColumns = [
  "customer",
  "name",
  "serviceType",
  "bytesIn",
  "bytesOut",
  "packetsIn",
  "packetsOut",
  "flows",
] as const satisfies ReadonlyArray<keyof OverviewRow>;
export type OverviewColumn = (typeof overviewColumns)[number];

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
  return model.customers
    .filter((c) => filter.serviceType === undefined || c.serviceType === filter.serviceType)
    .filter((c) => filter.router === undefined || routers.get(filter.router)?.has(c.id) === true)
    .map((c) => c.id);
}

export function buildOverview(
  model: CustomerModel,
  totals: readonly CustomerTotals[],
  opts: { customers?: readonly string[] | undefined; sort: OverviewColumn; order: "asc" | "desc" },
): OverviewRow[] {
  const byId = new Map(totals.map((t) => [t.customer, t]));
  const keep = opts.customers === undefined ? null : new Set(opts.customers);
  const rows: OverviewRow[] = [];
  for (const c of model.customers) {
    if (keep !== null && !keep.has(c.id)) continue;
    rows.push(row(c.id, c.name, c.serviceType, byId.get(c.id)));
  }
  const un = byId.get(UNATTRIBUTED_CUSTOMER);
  if (keep === null && un !== undefined && un.bytesIn + un.bytesOut + un.flows > 0) {
    rows.push(row(UNATTRIBUTED_CUSTOMER, "traffic matching no customer", "", un));
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
): OverviewRow {
  return {
    customer,
    name,
    serviceType,
    bytesIn: t?.bytesIn ?? 0,
    bytesOut: t?.bytesOut ?? 0,
    packetsIn: t?.packetsIn ?? 0,
    packetsOut: t?.packetsOut ?? 0,
    flows: t?.flows ?? 0,
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

/** RFC 4180 CSV with a header; fields quoted when they need it, formula-leading cells defused. */
export function overviewCsv(rows: readonly OverviewRow[]): string {
  const cell = csvCell;
  const lines = [overviewColumns.join(",")];
  for (const r of rows) lines.push(overviewColumns.map((c) => cell(r[c])).join(","));
  return `${lines.join("\r\n")}\r\n`;
}

/** A table for people: bytes in kB/MB/GB, packets and flows with k/M/G (schema/units.ts). */
export function overviewTable(rows: readonly OverviewRow[]): string {
  const header = [...overviewColumns];
  const cell = (r: OverviewRow, c: OverviewColumn): string => {
    const v = r[c];
    if (typeof v === "string") return v;
    return c === "bytesIn" || c === "bytesOut" ? formatBytes(v) : formatCount(v);
  };
  const cells = rows.map((r) => overviewColumns.map((c) => cell(r, c)));
  const widths = header.map((h, k) => Math.max(h.length, ...cells.map((r) => r[k]!.length)));
  const numeric = (k: number) => k >= 3;
  const fmt = (r: string[]) =>
    r.map((v, k) => (numeric(k) ? v.padStart(widths[k]!) : v.padEnd(widths[k]!))).join("  ");
  return `${[fmt(header), ...cells.map(fmt)].join("\n")}\n`;
}
