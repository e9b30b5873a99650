/**
 * The console's overview (`/console`): every customer with bytes down (in) and up (out) for a
 * period, filtered by router, service type and a text search, sorted by any column, the columns
 * chosen, a page of rows at a time (server-side, so that 10 000 customers never reach the
 * browser at once), the top downloaders and uploaders, and the API's CSV of exactly the columns
 * shown, in their order, and the rows the filters and order select (every page of them). Pure:
 * the request's parameters → the API's query; rows → Html.
 */
import { type OverviewColumn, type OverviewRow, overviewColumns } from "../query/overview.js";
import { type Html, html } from "./html.js";
import {
  type ConsolePreset,
  consolePresets,
  consoleRange,
  inputTime,
  PeriodError,
  PRESET_LABELS,
  type Range,
  shownTime,
} from "./period.js";
import { tableWrap } from "./table-wrap.js";
import { bytesCell, countCell, rateCell } from "./units.js";

export const PAGE_SIZES = [50, 100, 500] as const;
const DEFAULT_PAGE_SIZE = 100;
const TOP = 10;

/** The page's columns in the page's order (the rates beside the bytes). */
export const PAGE_COLUMNS = [
  "customer",
  "name",
  "serviceType",
  "bytesIn",
  "bytesOut",
  "bpsIn",
  "bpsOut",
  "packetsIn",
  "packetsOut",
  "flows",
] as const satisfies readonly OverviewColumn[];

export const COLUMN_LABELS: Readonly<Record<OverviewColumn, string>> = {
  customer: "Customer",
  name: "Name",
  serviceType: "Service type",
  bytesIn: "Bytes down",
  bytesOut: "Bytes up",
  bpsIn: "Rate down (avg)",
  bpsOut: "Rate up (avg)",
  packetsIn: "Packets down",
  packetsOut: "Packets up",
  flows: "Flows",
};

/** What the overview's URL asks for, checked. */
export interface OverviewRequest {
  period: ConsolePreset;
  year?: string | undefined;
  month?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  range: Range;
  router?: string | undefined;
  serviceType?: string | undefined;
  search?: string | undefined;
  sort: OverviewColumn;
  order: "asc" | "desc";
  columns: OverviewColumn[];
  page: number;
  size: number;
}

/** A parameter of the page that is not right: shown beside its control (400). */
export interface ParameterProblem {
  field: string;
  message: string;
}

function oneOf<T extends string>(value: string | null, allowed: readonly T[], fallback: T): T {
  if (value === null || value === "") return fallback;
  return (allowed as readonly string[]).includes(value) ? (value as T) : fallback;
}

const nonEmpty = (v: string | null) => (v === null || v.trim() === "" ? undefined : v.trim());

/**
 * The overview's parameters from its query string; unknown values fall back to the defaults. A
 * period that is not right (a year of two digits, an end before the start) is the problem, and
 * the request keeps the chosen preset with the last 24 hours' range.
 */
export function readOverviewRequest(
  search: string,
  nowMs: number,
): { request: OverviewRequest; problem?: ParameterProblem } {
  const p = new URLSearchParams(search);
  const period = oneOf(p.get("period"), consolePresets, "last24h");
  const choice = {
    period,
    year: nonEmpty(p.get("year")),
    month: nonEmpty(p.get("month")),
    from: nonEmpty(p.get("from")),
    to: nonEmpty(p.get("to")),
  };
  let range: Range;
  let problem: ParameterProblem | undefined;
  try {
    range = consoleRange(choice, nowMs);
  } catch (e) {
    if (!(e instanceof PeriodError)) throw e;
    problem = { field: e.field, message: e.message };
    range = consoleRange({ period: "last24h" }, nowMs);
  }
  const chosen = p
    .getAll("col")
    .filter((c): c is OverviewColumn => (overviewColumns as readonly string[]).includes(c));
  const columns: OverviewColumn[] =
    chosen.length === 0 ? [...PAGE_COLUMNS] : PAGE_COLUMNS.filter((c) => chosen.includes(c));
  const pageText = p.get("page") ?? "1";
  const page = /^[1-9][0-9]{0,6}$/.test(pageText) ? Number(pageText) : 1;
  const sizeText = Number(p.get("size") ?? DEFAULT_PAGE_SIZE);
  const size = (PAGE_SIZES as readonly number[]).includes(sizeText) ? sizeText : DEFAULT_PAGE_SIZE;
  const request: OverviewRequest = {
    ...choice,
    range,
    router: nonEmpty(p.get("router")),
    serviceType: nonEmpty(p.get("serviceType")),
    search: nonEmpty(p.get("search")),
    sort: oneOf(p.get("sort"), overviewColumns, "bytesIn"),
    order: oneOf(p.get("order"), ["asc", "desc"] as const, "desc"),
    columns,
    page,
    size,
  };
  return problem === undefined ? { request } : { request, problem };
}

/** The query string of `GET /api/v1/overview` for the request (its rows: every page). */
export function apiQuery(r: OverviewRequest): string {
  const q = new URLSearchParams({
    from: new Date(r.range.fromMs).toISOString(),
    to: new Date(r.range.toMs).toISOString(),
  });
  if (r.router !== undefined) q.set("router", r.router);
  if (r.serviceType !== undefined) q.set("serviceType", r.serviceType);
  if (r.search !== undefined) q.set("search", r.search);
  q.set("sort", r.sort);
  q.set("order", r.order);
  return q.toString();
}

/** The API's CSV of what the page shows: its columns in its order, every matching row. */
export function csvQuery(r: OverviewRequest): string {
  return `${apiQuery(r)}&format=csv&fields=${r.columns.join(",")}`;
}

/** The page's own query string for the request, with some parameters changed. */
export function pageQuery(
  r: OverviewRequest,
  change: Record<string, string | number> = {},
): string {
  const q = new URLSearchParams({ period: r.period });
  if (r.period === "year" && r.year !== undefined) q.set("year", r.year);
  if (r.period === "month" && r.month !== undefined) q.set("month", r.month);
  if (r.period === "custom") {
    if (r.from !== undefined) q.set("from", r.from);
    if (r.to !== undefined) q.set("to", r.to);
  }
  if (r.router !== undefined) q.set("router", r.router);
  if (r.serviceType !== undefined) q.set("serviceType", r.serviceType);
  if (r.search !== undefined) q.set("search", r.search);
  q.set("sort", r.sort);
  q.set("order", r.order);
  if (r.columns.length !== PAGE_COLUMNS.length) for (const c of r.columns) q.append("col", c);
  q.set("size", String(r.size));
  q.set("page", String(r.page));
  for (const [k, v] of Object.entries(change)) q.set(k, String(v));
  return q.toString();
}

export interface OverviewView {
  request: OverviewRequest;
  rows: readonly OverviewRow[];
  routers: readonly string[];
  serviceTypes: readonly string[];
  complete: boolean;
  /** A parameter at fault, shown beside its control. */
  problem?: ParameterProblem | undefined;
}

const NUMERIC = new Set<OverviewColumn>([
  "bytesIn",
  "bytesOut",
  "bpsIn",
  "bpsOut",
  "packetsIn",
  "packetsOut",
  "flows",
]);

function cell(r: OverviewRow, c: OverviewColumn, query: string): Html {
  switch (c) {
    case "customer":
      return html`<td><a href="/console/customers/${encodeURIComponent(r.customer)}?${query}">${r.customer}</a></td>`;
    case "name":
    case "serviceType":
      return html`<td>${r[c]}</td>`;
    case "bytesIn":
    case "bytesOut":
      return html`<td class="num">${bytesCell(r[c])}</td>`;
    case "bpsIn":
    case "bpsOut":
      return html`<td class="num">${rateCell(r[c])}</td>`;
    case "packetsIn":
    case "packetsOut":
      return html`<td class="num">${countCell(r[c], "packets")}</td>`;
    case "flows":
      return html`<td class="num">${countCell(r[c], "flows")}</td>`;
  }
}

function top(rows: readonly OverviewRow[], by: "bytesIn" | "bytesOut"): OverviewRow[] {
  return rows
    .filter((r) => r[by] > 0)
    .sort((a, b) => b[by] - a[by] || a.customer.localeCompare(b.customer))
    .slice(0, TOP);
}

function topList(
  title: string,
  rows: readonly OverviewRow[],
  by: "bytesIn" | "bytesOut",
  query: string,
): Html {
  const items = top(rows, by).map(
    (r) =>
      html`<li><a href="/console/customers/${encodeURIComponent(r.customer)}?${query}">${r.name}</a> ${bytesCell(r[by])}</li>`,
  );
  return html`<section class="top-list" aria-label="${title}"><h2>${title}</h2>${
    items.length === 0
      ? html`<p class="muted">No traffic in this period.</p>`
      : html`<ol>${items}</ol>`
  }</section>`;
}

function select(
  name: string,
  label: string,
  options: readonly string[],
  value: string | undefined,
  all: string,
): Html {
  return html`<label>${label}<select name="${name}">
    <option value="">${all}</option>
    ${options.map((o) => html`<option value="${o}"${o === value ? html` selected` : html``}>${o}</option>`)}
  </select></label>`;
}

function problemFor(view: OverviewView, field: string): Html {
  return view.problem?.field === field
    ? html`<span class="problem" id="problem-${field}" role="alert">${view.problem.message}</span>`
    : html``;
}

function filters(view: OverviewView): Html {
  const r = view.request;
  const periodOptions = consolePresets.map(
    (p) =>
      html`<option value="${p}"${p === r.period ? html` selected` : html``}>${PRESET_LABELS[p]}</option>`,
  );
  const columnBoxes = PAGE_COLUMNS.map(
    (c) =>
      html`<label class="check"><input type="checkbox" name="col" value="${c}"${r.columns.includes(c) ? html` checked` : html``}> ${COLUMN_LABELS[c]}</label>`,
  );
  return html`<form class="filters" method="get" action="/console" hx-get="/console" hx-target="#overview" hx-select="#overview" hx-swap="outerHTML" hx-push-url="true">
  <fieldset><legend>Period (UTC)</legend>
    <label>Period<select name="period" data-period>${periodOptions}</select></label>
    <label data-for-period="year">Year<input name="year" inputmode="numeric" pattern="[0-9]{4}" placeholder="2026" value="${r.year ?? ""}"></label>${problemFor(view, "year")}
    <label data-for-period="month">Month<input type="month" name="month" placeholder="2026-11" value="${r.month ?? ""}"></label>${problemFor(view, "month")}
    <label data-for-period="custom">From<input type="datetime-local" name="from" value="${r.from ?? inputTime(r.range.fromMs)}"></label>${problemFor(view, "from")}
    <label data-for-period="custom">To<input type="datetime-local" name="to" value="${r.to ?? inputTime(r.range.toMs)}"></label>${problemFor(view, "to")}
  </fieldset>
  <fieldset><legend>Filters</legend>
    ${select("router", "Router", view.routers, r.router, "All routers")}${problemFor(view, "router")}
    ${select("serviceType", "Service type", view.serviceTypes, r.serviceType, "All service types")}${problemFor(view, "serviceType")}
    <label>Search<input type="search" name="search" value="${r.search ?? ""}" placeholder="id or name"></label>
    <label>Rows per page<select name="size">${[50, 100, 500].map((n) => html`<option${n === r.size ? html` selected` : html``}>${n}</option>`)}</select></label>
  </fieldset>
  <details><summary>Columns</summary><fieldset class="columns"><legend>Columns shown</legend>${columnBoxes}</fieldset></details>
  <input type="hidden" name="sort" value="${r.sort}"><input type="hidden" name="order" value="${r.order}">
  <button type="submit">Show</button>
</form>`;
}

function header(r: OverviewRequest, c: OverviewColumn): Html {
  const active = r.sort === c;
  const next =
    active && r.order === "desc" ? "asc" : active ? "desc" : NUMERIC.has(c) ? "desc" : "asc";
  const aria = active ? (r.order === "asc" ? "ascending" : "descending") : "none";
  const arrow = active ? (r.order === "asc" ? " ▲" : " ▼") : "";
  return html`<th scope="col" aria-sort="${aria}" data-field="${c}"${NUMERIC.has(c) ? html` class="num"` : html``}><a href="/console?${pageQuery(r, { sort: c, order: next, page: 1 })}">${COLUMN_LABELS[c]}${arrow}</a></th>`;
}

function pager(r: OverviewRequest, total: number): Html {
  const pages = Math.max(1, Math.ceil(total / r.size));
  const page = Math.min(r.page, pages);
  const link = (p: number, text: string, rel: string) =>
    p < 1 || p > pages || p === page
      ? html`<span class="disabled">${text}</span>`
      : html`<a href="/console?${pageQuery(r, { page: p })}" rel="${rel}">${text}</a>`;
  return html`<nav class="pager" aria-label="Pages">${link(1, "« First", "first")} ${link(page - 1, "‹ Previous", "prev")}
    <span>Page ${page} of ${pages}</span> ${link(page + 1, "Next ›", "next")} ${link(pages, "Last »", "last")}</nav>`;
}

export function renderOverview(view: OverviewView): Html {
  const r = view.request;
  const total = view.rows.length;
  const pages = Math.max(1, Math.ceil(total / r.size));
  const page = Math.min(r.page, pages);
  const shown = view.rows.slice((page - 1) * r.size, page * r.size);
  const detail = pageQuery(r);
  const csv = `/api/v1/overview?${csvQuery(r)}`;
  const body = shown.map((row) => html`<tr>${r.columns.map((c) => cell(row, c, detail))}</tr>`);
  return html`<div id="overview" class="overview">
<h1>Clients</h1>
${filters(view)}
<p class="period">${shownTime(r.range.fromMs)} – ${shownTime(r.range.toMs)} UTC${view.complete ? html`` : html` <span class="badge" title="Data of the last minutes may still arrive">not complete yet</span>`} · <span data-total>${total}</span> customers ·
<a href="${csv}" download hx-boost="false" data-csv>Download CSV</a> <span class="muted">(the columns shown, the rows of every page: ${total === 1 ? "1 row" : `${total} rows`})</span></p>
<div class="tops">${topList("Top downloaders", view.rows, "bytesIn", detail)}${topList("Top uploaders", view.rows, "bytesOut", detail)}</div>
${tableWrap(
  "Customers",
  html`<table class="data">
<caption class="visually-hidden">Customers, sorted by ${COLUMN_LABELS[r.sort]} (${r.order === "asc" ? "ascending" : "descending"})</caption>
<thead><tr>${r.columns.map((c) => header(r, c))}</tr></thead>
<tbody>${body.length === 0 ? html`<tr><td colspan="${r.columns.length}">No customers match.</td></tr>` : body}</tbody>
</table>
${pager(r, total)}`,
  html` hx-boost="true" hx-target="#overview" hx-select="#overview" hx-swap="outerHTML"`,
)}
</div>`;
}
