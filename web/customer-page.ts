/**
 * A customer's pages: the console's drill-down (`/console/customers/{id}`, its sites and links)
 * and the portal's page of the customer (`/portal/customers/{id}`). The graphs are figures whose
 * data the pages' script (web/static/console.js) fetches from `GET /api/v1/customers/{id}/traffic`
 * with the viewer's own session, so the API's access rule decides what a graph may show. Pure.
 */
import type { RegistryCustomer } from "../registry/model.js";
import { formatBitRate } from "../schema/units.js";
import { type Html, html } from "./html.js";
import { type PortalPeriod, portalPeriods, type Range, shownTime } from "./period.js";
import { tableWrap } from "./table-wrap.js";
import { bytesCell, rateCell } from "./units.js";

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

export const chartViews = ["day", "week", "month", "year"] as const;
export type ChartView = (typeof chartViews)[number];

const VIEW_LABELS: Readonly<Record<ChartView, string>> = {
  day: "Day",
  week: "Week",
  month: "Month",
  year: "Year",
};

export interface ChartRange extends Range {
  step: "1m" | "5m" | "1h" | "1d";
}

/**
 * The range and step a graph of [from, to) asks the traffic API for: the step by the length
 * (up to 2 hours: 1 minute; 2 days: 5 minutes; 62 days: an hour; longer: a day), the range
 * widened to whole steps (the API takes only those).
 */
export function chartRange(r: Range): ChartRange {
  const length = r.toMs - r.fromMs;
  const [step, ms] =
    length <= 2 * HOUR
      ? (["1m", MINUTE] as const)
      : length <= 2 * DAY
        ? (["5m", 5 * MINUTE] as const)
        : length <= 62 * DAY
          ? (["1h", HOUR] as const)
          : (["1d", DAY] as const);
  return {
    step,
    fromMs: Math.floor(r.fromMs / ms) * ms,
    toMs: Math.ceil(r.toMs / ms) * ms,
  };
}

/** The classic views ending with the UTC day `atMs` falls in: a day, 7 days, 30 days, 365 days. */
export function viewRange(view: ChartView, atMs: number): Range {
  const end = Math.floor(atMs / DAY) * DAY + DAY;
  const days = { day: 1, week: 7, month: 30, year: 365 }[view];
  return { fromMs: end - days * DAY, toMs: end };
}

export interface Scope {
  site?: string | undefined;
  link?: string | undefined;
}

/** The traffic API's URL of a graph. */
export function trafficUrl(customer: string, r: ChartRange, scope: Scope): string {
  return seriesUrl("traffic", customer, r, scope);
}

/** The response-times API's URL of a graph. */
export function responseTimesUrl(customer: string, r: ChartRange, scope: Scope): string {
  return seriesUrl("response-times", customer, r, scope);
}

function seriesUrl(
  what: "traffic" | "response-times",
  customer: string,
  r: ChartRange,
  scope: Scope,
): string {
  const q = new URLSearchParams({
    from: new Date(r.fromMs).toISOString(),
    to: new Date(r.toMs).toISOString(),
    step: r.step,
  });
  if (scope.site !== undefined) q.set("site", scope.site);
  if (scope.link !== undefined) q.set("link", scope.link);
  return `/api/v1/customers/${encodeURIComponent(customer)}/${what}?${q}`;
}

/** The committed rate of the scope: its link's, or the sum of its links' (undefined: none set). */
export function commitRateOf(c: RegistryCustomer, scope: Scope): number | undefined {
  let sum = 0;
  let any = false;
  for (const s of c.sites) {
    if (scope.site !== undefined && s.id !== scope.site) continue;
    for (const l of s.links) {
      if (scope.link !== undefined && l.id !== scope.link) continue;
      if (l.commitRate !== undefined) {
        sum += l.commitRate;
        any = true;
      }
    }
  }
  return any ? sum : undefined;
}

/** A graph: the script draws it from the API's series; the caption says what it shows. */
export function chart(title: string, url: string, commitRate: number | undefined): Html {
  return html`<figure class="chart" data-traffic="${url}"${commitRate === undefined ? html`` : html` data-commit="${commitRate}"`}>
  <figcaption>${title}${commitRate === undefined ? html`` : html` · commit rate ${formatBitRate(commitRate)}`}</figcaption>
  <div class="plot" role="img" aria-label="${title}: traffic in and out"></div>
  <p class="chart-summary" aria-live="polite">Loading the graph…</p>
</figure>`;
}

/**
 * A response-time graph: mean network, server and total delay and the 95th percentile of the
 * total delay per point, against the total-delay threshold.
 */
export function responseChart(title: string, url: string, thresholdMs: number): Html {
  return html`<figure class="chart" data-response-times="${url}" data-threshold="${thresholdMs}">
  <figcaption>${title} · threshold ${thresholdMs} ms</figcaption>
  <div class="plot" role="img" aria-label="${title}: response times"></div>
  <p class="chart-summary" aria-live="polite">Loading the graph…</p>
</figure>`;
}

function motd(global: string | undefined, own: string | undefined): Html {
  const lines = [global, own].filter((m): m is string => m !== undefined && m !== "");
  return lines.length === 0
    ? html``
    : html`<section class="motd" aria-label="Message of the day">${lines.map((m) => html`<p>${m}</p>`)}</section>`;
}

export interface Totals {
  bytesIn: number;
  bytesOut: number;
}

export interface ConsoleCustomerView {
  customer: RegistryCustomer;
  scope: Scope;
  view: ChartView;
  /** The day the views end with (YYYY-MM-DD). */
  at: string;
  atMs: number;
  /** The overview's period and its totals. */
  period: Range;
  totals: Totals;
  /** The overview's query string, kept for the links back. */
  back: string;
  /** The total-delay threshold drawn on the response-time graph (ms). */
  thresholdMs: number;
}

function scopePath(id: string, scope: Scope): string {
  let p = `/console/customers/${encodeURIComponent(id)}`;
  if (scope.site !== undefined) p += `/sites/${encodeURIComponent(scope.site)}`;
  if (scope.link !== undefined) p += `/links/${encodeURIComponent(scope.link)}`;
  return p;
}

export function renderConsoleCustomer(v: ConsoleCustomerView): Html {
  const c = v.customer;
  const keep = (extra: Record<string, string>) => {
    const q = new URLSearchParams(v.back);
    q.set("view", v.view);
    q.set("at", v.at);
    for (const [k, val] of Object.entries(extra)) q.set(k, val);
    return q.toString();
  };
  const crumbs: Html[] = [
    html`<a href="/console?${v.back}">Overview</a>`,
    html`<a href="${scopePath(c.id, {})}?${keep({})}">${c.name}</a>`,
  ];
  if (v.scope.site !== undefined) {
    crumbs.push(
      html`<a href="${scopePath(c.id, { site: v.scope.site })}?${keep({})}">${v.scope.site}</a>`,
    );
  }
  if (v.scope.link !== undefined) crumbs.push(html`<span>${v.scope.link}</span>`);
  const views = chartViews.map((view) =>
    view === v.view
      ? html`<a aria-current="page" href="?${keep({ view })}">${VIEW_LABELS[view]}</a>`
      : html`<a href="?${keep({ view })}">${VIEW_LABELS[view]}</a>`,
  );
  const range = chartRange(viewRange(v.view, v.atMs));
  const sites = c.sites
    .filter((s) => v.scope.site === undefined || s.id === v.scope.site)
    .map(
      (
        s,
      ) => html`<li><a href="${scopePath(c.id, { site: s.id })}?${keep({})}">${s.name ?? s.id}</a> <span class="muted">(${s.id})</span>
        <ul>${s.links
          .filter((l) => v.scope.link === undefined || l.id === v.scope.link)
          .map(
            (
              l,
            ) => html`<li><a href="${scopePath(c.id, { site: s.id, link: l.id })}?${keep({})}">${l.name ?? l.id}</a>
              <span class="muted">${l.prefixes.join(", ")}${l.commitRate === undefined ? "" : ` · commit ${formatBitRate(l.commitRate)}`}</span></li>`,
          )}</ul></li>`,
    );
  const what =
    v.scope.link !== undefined
      ? `link ${v.scope.link}`
      : v.scope.site !== undefined
        ? `site ${v.scope.site}`
        : "all links";
  return html`<nav class="crumbs" aria-label="Breadcrumb">${crumbs.map((x, i) => (i === 0 ? x : html` › ${x}`))}</nav>
<h1>${c.name} <span class="muted">(${c.id}, ${c.serviceType})</span></h1>
<section class="totals" aria-label="Totals of the overview's period">
  <p>${shownTime(v.period.fromMs)} – ${shownTime(v.period.toMs)} UTC: down ${bytesCell(v.totals.bytesIn)}, up ${bytesCell(v.totals.bytesOut)}</p>
</section>
<form class="views" method="get">
  <nav aria-label="Graph view">${views}</nav>
  <label>Ending with the day<input type="date" name="at" value="${v.at}"></label>
  <input type="hidden" name="view" value="${v.view}">
  ${[...new URLSearchParams(v.back)].map(([k, val]) => html`<input type="hidden" name="${k}" value="${val}">`)}
  <button type="submit">Show</button>
</form>
${chart(`Traffic of ${what}, ${VIEW_LABELS[v.view].toLowerCase()} ending ${v.at}`, trafficUrl(c.id, range, v.scope), commitRateOf(c, v.scope))}
${responseChart(`Response times of ${what}, ${VIEW_LABELS[v.view].toLowerCase()} ending ${v.at}`, responseTimesUrl(c.id, range, v.scope), v.thresholdMs)}
<section aria-label="Sites and links"><h2>Sites and links</h2><ul class="tree">${sites}</ul></section>`;
}

export interface PortalView {
  customer: RegistryCustomer;
  motd: { global?: string | undefined; own?: string | undefined };
  period: PortalPeriod;
  /** The totals of every portal period, in portalPeriods' order. */
  totals: ReadonlyArray<{ period: PortalPeriod; range: Range; totals: Totals }>;
  /** The total-delay threshold drawn on the response-time graph (ms). */
  thresholdMs: number;
  /** Each link's totals of the chosen period. */
  links: ReadonlyArray<{ site: string; link: string; totals: Totals }>;
}

export function renderPortal(v: PortalView): Html {
  const c = v.customer;
  const chosen = v.totals.find((t) => t.period === v.period)!;
  const range = chartRange(chosen.range);
  const rows = v.totals.map((t) => {
    const seconds = (t.range.toMs - t.range.fromMs) / 1000;
    return html`<tr${t.period === v.period ? html` class="chosen"` : html``}>
      <th scope="row"><a href="?period=${t.period}" title="${shownTime(t.range.fromMs)} – ${shownTime(t.range.toMs)} UTC">${t.period}</a></th>
      <td class="wide-only">${shownTime(t.range.fromMs)} – ${shownTime(t.range.toMs)}</td>
      <td class="num">${bytesCell(t.totals.bytesIn)}</td><td class="num">${bytesCell(t.totals.bytesOut)}</td>
      <td class="num">${rateCell((t.totals.bytesIn * 8) / seconds)}</td><td class="num">${rateCell((t.totals.bytesOut * 8) / seconds)}</td></tr>`;
  });
  const seconds = (chosen.range.toMs - chosen.range.fromMs) / 1000;
  const linkRows = v.links.map((x) => {
    const site = c.sites.find((s) => s.id === x.site);
    const link = site?.links.find((l) => l.id === x.link);
    return html`<tr><th scope="row">${site?.name ?? x.site} › ${link?.name ?? x.link}</th>
      <td class="num">${bytesCell(x.totals.bytesIn)}</td><td class="num">${bytesCell(x.totals.bytesOut)}</td>
      <td class="num">${rateCell((x.totals.bytesIn * 8) / seconds)}</td><td class="num">${rateCell((x.totals.bytesOut * 8) / seconds)}</td>
      <td class="num">${link?.commitRate === undefined ? "–" : rateCell(link.commitRate)}</td></tr>`;
  });
  const options = portalPeriods.map(
    (p) => html`<option value="${p}"${p === v.period ? html` selected` : html``}>${p}</option>`,
  );
  const graphs = c.sites.flatMap((s) =>
    s.links.map((l) =>
      chart(
        `${s.name ?? s.id} › ${l.name ?? l.id}, ${v.period}`,
        trafficUrl(c.id, range, { site: s.id, link: l.id }),
        l.commitRate,
      ),
    ),
  );
  return html`<h1>${c.name}</h1>
${motd(v.motd.global, v.motd.own)}
<section aria-label="Totals"><h2>Totals (UTC)</h2>
${tableWrap(
  "Totals",
  html`<table class="data">
<thead><tr><th scope="col">Period</th><th scope="col" class="wide-only">From – to</th><th scope="col" class="num">Down</th><th scope="col" class="num">Up</th><th scope="col" class="num">Average down</th><th scope="col" class="num">Average up</th></tr></thead>
<tbody>${rows}</tbody></table>`,
)}</section>
<form class="views" method="get"><label>Graphs of the period<select name="period">${options}</select></label><button type="submit">Show</button></form>
<section aria-label="Your links"><h2>Your links, ${v.period} (${shownTime(chosen.range.fromMs)} – ${shownTime(chosen.range.toMs)})</h2>
${tableWrap(
  "Your links",
  html`<table class="data" data-links>
<thead><tr><th scope="col">Site › link</th><th scope="col" class="num">Down</th><th scope="col" class="num">Up</th><th scope="col" class="num">Average down</th><th scope="col" class="num">Average up</th><th scope="col" class="num">Commit rate</th></tr></thead>
<tbody>${linkRows}</tbody></table>`,
)}</section>
<section aria-label="Throughput"><h2>Throughput of your links</h2>
${chart(`All links, ${v.period}`, trafficUrl(c.id, range, {}), commitRateOf(c, {}))}
${graphs}</section>
<section aria-label="Response times"><h2>Response times</h2>
${responseChart(`All links, ${v.period}`, responseTimesUrl(c.id, range, {}), v.thresholdMs)}</section>`;
}
