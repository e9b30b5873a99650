/**
 * A customer's pages: the console's drill-down (`/console/customers/{id}`, its sites and links)
 * and the graphs of the portal (web/portal/). The graphs are figures whose
 * data the pages' script (web/static/console.js) fetches from `GET /api/v1/customers/{id}/traffic`
 * with the viewer's own session, so the API's access rule decides what a graph may show. Pure.
 */

import type { TrafficByClass } from "../query/traffic-by-class.js";
import type { RegistryCustomer } from "../registry/model.js";
import { formatBitRate } from "../schema/units.js";
import type { AvailabilityFigures } from "../sla/availability.js";
import type { ProfileHistory } from "../sla/billing-profile.js";
import {
  availabilityDetails,
  availabilitySentence,
  creditsSentence,
  type ReportCredits,
} from "./availability-text.js";
import { renderClassTraffic } from "./class-traffic.js";
import { type CommitSteps, commitCaption, commitSteps, hasCommitRate } from "./commit-steps.js";
import { type Html, html } from "./html.js";
import { type Range, shownTime } from "./period.js";
import { bytesCell } from "./units.js";

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

/** The response-times API's URL of a graph (of one class's transactions, if given). */
export function responseTimesUrl(
  customer: string,
  r: ChartRange,
  scope: Scope,
  trafficClass?: string,
): string {
  const url = seriesUrl("response-times", customer, r, scope);
  return trafficClass === undefined
    ? url
    : `${url}&${new URLSearchParams({ class: trafficClass })}`;
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

/**
 * A graph: the script draws it from the API's series; the caption says what it shows. `preset`
 * names the whole graph for its "Back to …" button after a zoom ("the whole day").
 */
export function chart(title: string, url: string, commit: CommitSteps, preset: string): Html {
  const line = hasCommitRate(commit);
  return html`<figure class="chart" data-traffic="${url}" data-preset="${preset}"${line ? html` data-commit-steps="${JSON.stringify(commit)}"` : html``}>
  <figcaption>${title}${line ? html` · ${commitCaption(commit)}` : html``}</figcaption>
  <div class="plot" role="img" aria-label="${title}: traffic in and out"></div>
  <p class="chart-summary" aria-live="polite">Loading the graph…</p>
</figure>`;
}

/**
 * A response-time graph: mean network, server and total delay and the 95th percentile of the
 * total delay per point, against the total-delay threshold.
 */
export function responseChart(
  title: string,
  url: string,
  thresholdMs: number,
  preset: string,
): Html {
  return html`<figure class="chart" data-response-times="${url}" data-threshold="${thresholdMs}" data-preset="${preset}">
  <figcaption>${title} · threshold ${thresholdMs} ms</figcaption>
  <div class="plot" role="img" aria-label="${title}: response times"></div>
  <p class="chart-summary" aria-live="polite">Loading the graph…</p>
</figure>`;
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
  /** The total-delay threshold drawn on the response-time graph (ms): the default one's. */
  thresholdMs: number;
  /** Every traffic class with its total-delay threshold (ms), for the response-time graph. */
  classes: ReadonlyArray<{ id: string; thresholdMs: number }>;
  /** The class whose response times the graph shows; undefined: every class. */
  responseClass: string | undefined;
  /** The traffic of each class over the graphs' range (chartRange of the view). */
  byClass: TrafficByClass;
  /** The customer's billing-profile versions: the commit rates of the graphs' range. */
  profiles: ProfileHistory;
  /** The SLA report of the running billing period: each link's availability, the credits. */
  billing?: {
    from: string;
    to: string;
    links: ReadonlyArray<{ site: string; link: string; availability?: AvailabilityFigures }>;
    credits?: ReportCredits | null;
  };
}

/** Each link of the scope's availability in the billing period, and the credits owed. */
function availabilitySection(v: ConsoleCustomerView): Html {
  const b = v.billing;
  if (b === undefined) return html``;
  const c = v.customer;
  const items = b.links.flatMap((l) => {
    if (l.availability === undefined) return [];
    if (v.scope.site !== undefined && l.site !== v.scope.site) return [];
    if (v.scope.link !== undefined && l.link !== v.scope.link) return [];
    const site = c.sites.find((s) => s.id === l.site);
    const name = html`<strong>${site?.name ?? l.site} › ${site?.links.find((x) => x.id === l.link)?.name ?? l.link}</strong>`;
    return [
      html`<li data-sla-availability="${l.site}/${l.link}"><p class="sla-sentence">${availabilitySentence(name, l.availability)}</p>
      <p>${availabilityDetails(l.availability)}</p></li>`,
    ];
  });
  if (items.length === 0) return html``;
  return html`<section class="sla" aria-label="Availability"><h2>Availability, billing period ${shownTime(Date.parse(b.from))} – ${shownTime(Date.parse(b.to))} UTC</h2>
<ul class="sla-classes sla-availability">${items}</ul>
${b.credits === undefined || b.credits === null || v.scope.site !== undefined ? html`` : creditsSentence(b.credits)}</section>`;
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
    if (v.responseClass !== undefined) q.set("class", v.responseClass);
    for (const [k, val] of Object.entries(extra)) q.set(k, val);
    return q.toString();
  };
  const rtClass = v.classes.find((x) => x.id === v.responseClass);
  const classOptions = [
    html`<option value=""${rtClass === undefined ? html` selected` : html``}>every class (threshold ${v.thresholdMs} ms)</option>`,
    ...v.classes.map(
      (x) =>
        html`<option value="${x.id}"${x.id === rtClass?.id ? html` selected` : html``}>${x.id} (threshold ${x.thresholdMs} ms)</option>`,
    ),
  ];
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
  const viewName = VIEW_LABELS[v.view].toLowerCase();
  const preset = `the whole ${viewName}`;
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
  <label>Class of the response-time graph<select name="class">${classOptions}</select></label>
  <input type="hidden" name="view" value="${v.view}">
  ${[...new URLSearchParams(v.back)].map(([k, val]) => html`<input type="hidden" name="${k}" value="${val}">`)}
  <button type="submit">Show</button>
</form>
${chart(`Traffic of ${what}, ${viewName} ending ${v.at}`, trafficUrl(c.id, range, v.scope), commitSteps(v.profiles, range, v.scope), preset)}
${responseChart(
  `Response times of ${what}${rtClass === undefined ? "" : `, class ${rtClass.id}`}, ${viewName} ending ${v.at}`,
  responseTimesUrl(c.id, range, v.scope, rtClass?.id),
  rtClass?.thresholdMs ?? v.thresholdMs,
  preset,
)}
${renderClassTraffic({ byClass: v.byClass, range, url: trafficUrl(c.id, range, v.scope), title: `${what}, ${viewName} ending ${v.at}`, preset })}
${availabilitySection(v)}
<section aria-label="Sites and links"><h2>Sites and links</h2><ul class="tree">${sites}</ul></section>`;
}
