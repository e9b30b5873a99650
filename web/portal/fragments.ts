/**
 * The pieces of a customer's portal page, each rendered from the customer-scoped API's answers:
 * the message of the day, the period selector, the totals of every portal period, the links'
 * totals, the top classes (a table and bars), the SLA status, the graphs and the CSV downloads.
 * The built-in page and a provider's template (template.ts) place the same pieces. Pure.
 */

import type { BillSla, ClassSla, LinkSla } from "../../query/sla-report.js";
import type { TotalsRow } from "../../query/totals.js";
import type { RegistryCustomer } from "../../registry/model.js";
import { formatBitRate } from "../../schema/units.js";
import type { AvailabilityFigures } from "../../sla/availability.js";
import type { ProfileHistory } from "../../sla/billing-profile.js";
import type { Credits } from "../../sla/credits.js";
import {
  availabilityDetails,
  availabilitySentence,
  creditsSentence,
} from "../availability-text.js";
import { commitSteps, hasCommitRate } from "../commit-steps.js";
import {
  type ChartRange,
  chart,
  responseChart,
  responseTimesUrl,
  type Totals,
  trafficUrl,
} from "../customer-page.js";
import { type Html, html } from "../html.js";
import { type PortalPeriod, portalPeriods, type Range, shownTime } from "../period.js";
import { tableWrap } from "../table-wrap.js";
import { bytesCell, countCell, rateCell } from "../units.js";

/** What the portal shows of `GET /api/v1/customers/{id}/sla` (docs/api.md). */
export interface SlaReport {
  from: string;
  to: string;
  inProgress: boolean;
  classes: ClassSla[];
  links: Array<LinkSla & { availability?: AvailabilityFigures }>;
  bills: BillSla[];
  /** Only for a range that is one billing period, with `billing.credits` configured. */
  credits?: (Credits & { from: string; to: string; final: boolean }) | null;
}

type SlaLine = Pick<LinkSla, "commitRate" | "p95Bps" | "excessBps" | "compliant" | "projection">;

export function motdFragment(global: string | undefined, own: string | undefined): Html {
  const lines = [global, own].filter((m): m is string => m !== undefined && m !== "");
  return lines.length === 0
    ? html``
    : html`<section class="motd" aria-label="Message of the day">${lines.map((m) => html`<p>${m}</p>`)}</section>`;
}

export function periodsForm(period: PortalPeriod): Html {
  const options = portalPeriods.map(
    (p) => html`<option value="${p}"${p === period ? html` selected` : html``}>${p}</option>`,
  );
  return html`<form class="views" method="get"><label>Period<select name="period">${options}</select></label><button type="submit">Show</button></form>`;
}

export function totalsTable(
  totals: ReadonlyArray<{ period: PortalPeriod; range: Range; totals: Totals }>,
  period: PortalPeriod,
): Html {
  const rows = totals.map((t) => {
    const seconds = (t.range.toMs - t.range.fromMs) / 1000;
    return html`<tr${t.period === period ? html` class="chosen"` : html``}>
      <th scope="row"><a href="?period=${t.period}" title="${shownTime(t.range.fromMs)} – ${shownTime(t.range.toMs)} UTC">${t.period}</a></th>
      <td class="wide-only">${shownTime(t.range.fromMs)} – ${shownTime(t.range.toMs)}</td>
      <td class="num">${bytesCell(t.totals.bytesIn)}</td><td class="num">${bytesCell(t.totals.bytesOut)}</td>
      <td class="num">${rateCell((t.totals.bytesIn * 8) / seconds)}</td><td class="num">${rateCell((t.totals.bytesOut * 8) / seconds)}</td></tr>`;
  });
  return tableWrap(
    "Totals",
    html`<table class="data" data-totals>
<thead><tr><th scope="col">Period</th><th scope="col" class="wide-only">From – to</th><th scope="col" class="num">Down</th><th scope="col" class="num">Up</th><th scope="col" class="num">Average down</th><th scope="col" class="num">Average up</th></tr></thead>
<tbody>${rows}</tbody></table>`,
  );
}

/**
 * The links of `period` with their traffic and commit rate: the one in force through the period
 * (from the profile versions), or its values in order where it changed.
 */
export function linksTable(
  customer: RegistryCustomer,
  rows: readonly TotalsRow[],
  profiles: ProfileHistory,
  period: Range,
): Html {
  const body = rows.map((x) => {
    const site = customer.sites.find((s) => s.id === x.site);
    const link = site?.links.find((l) => l.id === x.link);
    const steps = commitSteps(profiles, period, { site: x.site, link: x.link });
    const commit = hasCommitRate(steps)
      ? steps.map(
          ([, bps], k) => html`${k === 0 ? "" : " → "}${bps === null ? "none" : rateCell(bps)}`,
        )
      : "–";
    return html`<tr><th scope="row">${site?.name ?? x.site} › ${link?.name ?? x.link}</th>
      <td class="num">${bytesCell(x.bytesIn)}</td><td class="num">${bytesCell(x.bytesOut)}</td>
      <td class="num">${rateCell(x.bpsIn)}</td><td class="num">${rateCell(x.bpsOut)}</td>
      <td class="num">${commit}</td></tr>`;
  });
  return tableWrap(
    "Your links",
    html`<table class="data" data-links>
<thead><tr><th scope="col">Site › link</th><th scope="col" class="num">Down</th><th scope="col" class="num">Up</th><th scope="col" class="num">Average down</th><th scope="col" class="num">Average up</th><th scope="col" class="num">Commit rate</th></tr></thead>
<tbody>${body}</tbody></table>`,
  );
}

const percent = (share: number) => `${(share * 100).toFixed(1)} %`;

/**
 * The top classes: a table (bytes down and up, share) and bars of the same figures (SVG drawn
 * here, no script: each bar's length is the class's share, split into down and up).
 */
export function classesFragment(rows: readonly TotalsRow[]): Html {
  const shown = rows.filter((r) => r.bytesIn + r.bytesOut > 0);
  if (shown.length === 0) {
    return html`<p class="muted" data-classes-empty>No traffic in this period.</p>`;
  }
  const total = shown.reduce((a, r) => a + r.bytesIn + r.bytesOut, 0);
  const body = shown.map(
    (r) => html`<tr data-class="${r.class}"><th scope="row">${r.class}</th>
      <td class="num">${bytesCell(r.bytesIn)}</td><td class="num">${bytesCell(r.bytesOut)}</td>
      <td class="num">${r.share === null ? "–" : percent(r.share)}</td></tr>`,
  );
  const BAR = 22;
  // The longest bar takes 75 % of the width: the label (class and share) follows each bar.
  const scale = 75 / Math.max(...shown.map((r) => (r.bytesIn + r.bytesOut) / total));
  const bars = shown.map((r, k) => {
    const down = (r.bytesIn / total) * scale;
    const up = (r.bytesOut / total) * scale;
    const y = k * (BAR + 8);
    const share = percent((r.bytesIn + r.bytesOut) / total);
    return html`<g data-share="${((r.bytesIn + r.bytesOut) / total).toFixed(6)}"><title>${r.class}: ${share} (down ${percent(r.bytesIn / total)}, up ${percent(r.bytesOut / total)})</title>
      <rect class="bar-down" x="0" y="${y}" width="${down.toFixed(3)}%" height="${BAR}"></rect>
      <rect class="bar-up" x="${down.toFixed(3)}%" y="${y}" width="${up.toFixed(3)}%" height="${BAR}"></rect>
      <text x="${(down + up + 1).toFixed(3)}%" y="${y + BAR / 2}" dominant-baseline="central">${r.class} ${share}</text></g>`;
  });
  const height = shown.length * (BAR + 8);
  return html`<div class="classes">
${tableWrap(
  "Classes",
  html`<table class="data" data-classes>
<thead><tr><th scope="col">Class</th><th scope="col" class="num">Down</th><th scope="col" class="num">Up</th><th scope="col" class="num">Share</th></tr></thead>
<tbody>${body}</tbody></table>`,
)}
<figure class="class-bars"><svg role="img" aria-label="Share of each class, down and up" width="100%" height="${height}" preserveAspectRatio="none">${bars}</svg>
<figcaption><span class="key key-down">down</span> <span class="key key-up">up</span></figcaption></figure>
</div>`;
}

/** "Web: 99.2 % of minutes met the 95 % target; 2 incidents" — or "no data", never 100 %. */
export function classSentence(c: SlaReport["classes"][number]): Html {
  if (c.target === null) {
    return html`<strong>${c.class}</strong>: no service-level target.`;
  }
  const incidents = `${c.incidents.length} incident${c.incidents.length === 1 ? "" : "s"}`;
  if (c.compliantShare === null) {
    return html`<strong>${c.class}</strong>: no data — no transactions were measured in this period (target ${c.target} %).`;
  }
  return html`<strong>${c.class}</strong>: ${percent(c.compliantShare)} of minutes met the ${c.target} % target; ${incidents}.`;
}

function lineSentence(name: Html, l: SlaLine): Html {
  const p95 = formatBitRate(l.p95Bps);
  if (l.commitRate === null) {
    return html`${name}: 95th percentile ${p95}; no commit rate.`;
  }
  const verdict =
    l.compliant === true
      ? html`<span class="ok">within</span> the commit rate of ${formatBitRate(l.commitRate)}`
      : html`<span class="bad">above</span> the commit rate of ${formatBitRate(l.commitRate)} by ${formatBitRate(l.excessBps ?? 0)}`;
  const projection =
    l.projection === undefined
      ? html``
      : html` By the end of the billing period: at least ${formatBitRate(l.projection.floorP95Bps)}, ${formatBitRate(l.projection.projectedP95Bps)} if traffic goes on as so far${l.projection.burstWindowsLeft === null ? "" : `; ${l.projection.burstWindowsLeft} more 5-minute windows may go above the commit rate before the percentile does`}.`;
  return html`${name}: 95th percentile ${p95}, ${verdict}.${projection}`;
}

/**
 * The SLA status: per class of the chosen period its good share, compliant minutes and incidents;
 * per link and bill of the billing period its 95th percentile against the commit rate, with the
 * projection while the billing period runs; per link its availability against its target, and
 * the credits owed (when the billing has credits).
 */
export function slaFragment(
  customer: RegistryCustomer,
  period: SlaReport,
  billing: SlaReport,
  label: string,
): Html {
  const linkName = (siteId: string | undefined, linkId: string | undefined) => {
    const site = customer.sites.find((s) => s.id === siteId);
    const link = site?.links.find((l) => l.id === linkId);
    return html`${site?.name ?? siteId} › ${link?.name ?? linkId}`;
  };
  const classes = period.classes.map((c) => {
    const good =
      c.goodShare === null
        ? html`no transactions`
        : html`${percent(c.goodShare)} of ${countCell(c.transactions, "transactions")} transactions good${c.threshold === null ? "" : ` (under ${c.threshold} ms)`}${c.estimated ? ", some estimated" : ""}`;
    const minutes =
      c.target === null
        ? html``
        : html` · <span data-minutes>${c.compliantMinutes} of ${c.minutes - c.noDataMinutes} minutes with data compliant</span>${c.noDataMinutes > 0 ? ` (${c.noDataMinutes} without data)` : ""}`;
    return html`<li data-sla-class="${c.class}"><p class="sla-sentence">${classSentence(c)}</p>
      <p class="muted">${good}${minutes}</p></li>`;
  });
  const lines = [
    ...billing.links.map(
      (l) =>
        html`<li data-sla-link="${l.site}/${l.link}">${lineSentence(html`<strong>${linkName(l.site, l.link)}</strong>`, l)}</li>`,
    ),
    ...billing.bills.map(
      (b) =>
        html`<li data-sla-bill="${b.bill}">${lineSentence(html`<strong>Bill ${b.bill}</strong> (${b.links.map((x, k) => html`${k === 0 ? "" : ", "}${linkName(...(x.split("/") as [string, string]))}`)})`, b)}</li>`,
    ),
  ];
  const shownDate = (iso: string) => shownTime(Date.parse(iso));
  const available = billing.links.flatMap((l) =>
    l.availability === undefined
      ? []
      : [
          html`<li data-sla-availability="${l.site}/${l.link}"><p class="sla-sentence">${availabilitySentence(html`<strong>${linkName(l.site, l.link)}</strong>`, l.availability)}</p>
      <p>${availabilityDetails(l.availability)}</p></li>`,
        ],
  );
  const credits =
    billing.credits === undefined || billing.credits === null
      ? html``
      : creditsSentence(billing.credits);
  return html`<div class="sla">
${
  classes.length === 0
    ? html`<p class="muted">No class has traffic or a service-level target.</p>`
    : html`<h3>Service levels, ${label}</h3><ul class="sla-classes" data-sla>${classes}</ul>`
}
<h3>Commit rates, billing period ${shownDate(billing.from)} – ${shownDate(billing.to)} UTC${billing.inProgress ? " (running)" : ""}</h3>
${lines.length === 0 ? html`<p class="muted">No links.</p>` : html`<ul class="sla-links">${lines}</ul>`}
${available.length === 0 ? html`` : html`<h3>Availability, billing period ${shownDate(billing.from)} – ${shownDate(billing.to)} UTC${billing.inProgress ? " (running)" : ""}</h3><ul class="sla-classes sla-availability">${available}</ul>`}
${credits}
</div>`;
}

export interface GraphsView {
  customer: RegistryCustomer;
  period: PortalPeriod;
  range: ChartRange;
  thresholdMs: number;
  /** The customer's billing-profile versions: the commit rates of `range`. */
  profiles: ProfileHistory;
}

export function throughputGraph(v: GraphsView): Html {
  return chart(
    `All links, ${v.period}`,
    trafficUrl(v.customer.id, v.range, {}),
    commitSteps(v.profiles, v.range, {}),
    `the whole ${v.period}`,
  );
}

export function linkGraphs(v: GraphsView): Html {
  return html`${v.customer.sites.flatMap((s) =>
    s.links.map((l) =>
      chart(
        `${s.name ?? s.id} › ${l.name ?? l.id}, ${v.period}`,
        trafficUrl(v.customer.id, v.range, { site: s.id, link: l.id }),
        commitSteps(v.profiles, v.range, { site: s.id, link: l.id }),
        `the whole ${v.period}`,
      ),
    ),
  )}`;
}

export function responseGraph(v: GraphsView): Html {
  return responseChart(
    `All links, ${v.period}`,
    responseTimesUrl(v.customer.id, v.range, {}),
    v.thresholdMs,
    `the whole ${v.period}`,
  );
}

export interface CsvUrls {
  links: string;
  classes: string;
  throughput: string;
  response: string;
  sla: string;
  billing: string;
}

/** The CSV downloads, each a customer-scoped API route (the API decides what it may give). */
export function csvUrls(customer: string, period: Range, graph: ChartRange): CsvUrls {
  const base = `/api/v1/customers/${encodeURIComponent(customer)}`;
  const range = (r: Range) => ({
    from: new Date(r.fromMs).toISOString().replace(".000Z", "Z"),
    to: new Date(r.toMs).toISOString().replace(".000Z", "Z"),
  });
  const q = (o: Record<string, string>) => new URLSearchParams(o).toString();
  return {
    links: `${base}/totals?${q({ ...range(period), by: "link", format: "csv" })}`,
    classes: `${base}/totals?${q({ ...range(period), by: "class", format: "csv" })}`,
    throughput: `${base}/traffic?${q({ ...range(graph), step: graph.step, format: "csv" })}`,
    response: `${base}/response-times?${q({ ...range(graph), step: graph.step, format: "csv" })}`,
    sla: `${base}/sla?${q({ ...range(period), format: "csv" })}`,
    billing: `${base}/sla?${q({ period: "this-month", format: "csv" })}`,
  };
}

export function csvList(urls: CsvUrls): Html {
  const items: Array<[string, string]> = [
    ["Totals per link", urls.links],
    ["Top classes", urls.classes],
    ["Throughput series", urls.throughput],
    ["Response-time series", urls.response],
    ["SLA report of the period", urls.sla],
    ["SLA report of the billing period", urls.billing],
  ];
  return html`<ul class="csv-links">${items.map(([label, url]) => html`<li><a href="${url}" download>${label} (CSV)</a></li>`)}</ul>`;
}
