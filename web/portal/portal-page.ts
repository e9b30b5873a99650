/**
 * A customer's portal page, `/portal/customers/{id}` (docs/portal.md): the customer-scoped API's
 * answers for the period chosen (totals of every portal period, totals per link and per class,
 * the SLA report of the period and of the billing month), rendered into the provider's template
 * of the customer or the built-in one (templates.ts). Every figure comes from the same data
 * endpoints the page's CSV links and graphs call, for the one customer of the path, which the
 * route table's `customer` access has already checked against the viewer.
 */
import type { DataEndpoints } from "../../query/api/data-endpoints.js";
import { notFound } from "../../query/api/errors.js";
import type { ApiReply } from "../../query/api/reply.js";
import type { ApiRoute, RouteInput } from "../../query/api/routes.js";
import type { TotalsRow } from "../../query/totals.js";
import type { RegistryCustomer } from "../../registry/model.js";
import type { Config } from "../../schema/config.js";
import { formatBitRate, formatBytes } from "../../schema/units.js";
import { chartRange } from "../customer-page.js";
import type { Html } from "../html.js";
import type { Branding } from "../layout.js";
import { type PortalPeriod, portalPeriods, portalRange, type Range, shownTime } from "../period.js";
import {
  classesFragment,
  csvList,
  csvUrls,
  linkGraphs,
  linksTable,
  motdFragment,
  periodsForm,
  responseGraph,
  type SlaReport,
  slaFragment,
  throughputGraph,
  totalsTable,
} from "./fragments.js";
import { renderTemplate, type TemplateValues } from "./template.js";
import type { PortalTemplates } from "./templates.js";

export interface PortalPageDeps {
  config: Readonly<Config>;
  data: DataEndpoints;
  customer(id: string): Promise<RegistryCustomer | undefined>;
  customerMotd?: ((id: string) => string | undefined | Promise<string | undefined>) | undefined;
  now: () => number;
  /** The branding in force (the config's, with what the admin pages saved over it). */
  brand: () => Branding;
  /** The global message of the day in force (the config's `motd`, or the admin pages'). */
  globalMotd: () => string | undefined;
  /** The templates in force (read at start, replaced at SIGHUP). */
  templates: () => PortalTemplates;
  /** The page frame of the portal around a body. */
  page(input: RouteInput, title: string, body: Html): ApiReply;
}

const PAGE = { 200: { description: "An HTML page" } } as const;
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

function rangeQuery(r: Range, extra: Record<string, string> = {}): string {
  return new URLSearchParams({ from: iso(r.fromMs), to: iso(r.toMs), ...extra }).toString();
}

export function portalPageRoutes(deps: PortalPageDeps): ApiRoute[] {
  const { data, config } = deps;

  async function json<T>(answer: Promise<{ body: string }>): Promise<T> {
    return JSON.parse((await answer).body) as T;
  }

  async function values(customer: RegistryCustomer, period: PortalPeriod): Promise<TemplateValues> {
    const nowMs = deps.now();
    const totals = await Promise.all(
      portalPeriods.map(async (p) => {
        const range = portalRange(p, nowMs);
        const answer = await data.overviewRows(rangeQuery(range), customer.id);
        const row = answer.rows[0];
        return {
          period: p,
          range,
          totals: { bytesIn: row?.bytesIn ?? 0, bytesOut: row?.bytesOut ?? 0 },
        };
      }),
    );
    const chosen = portalRange(period, nowMs);
    const graph = chartRange(chosen);
    const [links, classes, sla, billing, motd, profiles] = await Promise.all([
      json<{ rows: TotalsRow[] }>(data.totals(customer.id, rangeQuery(chosen, { by: "link" }))),
      json<{ rows: TotalsRow[] }>(data.totals(customer.id, rangeQuery(chosen, { by: "class" }))),
      json<SlaReport>(data.sla(customer.id, rangeQuery(chosen))),
      json<SlaReport>(data.sla(customer.id, "period=this-month")),
      deps.customerMotd?.(customer.id),
      data.profileHistory(customer.id),
    ]);
    const graphs = {
      customer,
      period,
      range: graph,
      thresholdMs: config.defaultTotalDelayThreshold,
      profiles,
    };
    const urls = csvUrls(customer.id, chosen, graph);
    const sum = totals.find((t) => t.period === period)!.totals;
    const seconds = (chosen.toMs - chosen.fromMs) / 1000;
    const label = `${shownTime(chosen.fromMs)} – ${shownTime(chosen.toMs)} UTC`;
    return {
      "customer.id": customer.id,
      "customer.name": customer.name,
      "customer.serviceType": customer.serviceType,
      "provider.title": deps.brand().title,
      "provider.footer": deps.brand().footer,
      "period.name": period,
      "period.label": label,
      "period.from": iso(chosen.fromMs),
      "period.to": iso(chosen.toMs),
      "totals.down": formatBytes(sum.bytesIn),
      "totals.up": formatBytes(sum.bytesOut),
      "totals.down.bytes": String(sum.bytesIn),
      "totals.up.bytes": String(sum.bytesOut),
      "totals.down.rate": formatBitRate((sum.bytesIn * 8) / seconds),
      "totals.up.rate": formatBitRate((sum.bytesOut * 8) / seconds),
      "csv.links": urls.links,
      "csv.classes": urls.classes,
      "csv.throughput": urls.throughput,
      "csv.response": urls.response,
      "csv.sla": urls.sla,
      "csv.billing": urls.billing,
      motd: motdFragment(deps.globalMotd(), motd ?? customer.motd),
      periods: periodsForm(period),
      totals: totalsTable(totals, period),
      links: linksTable(customer, links.rows, profiles, chosen),
      classes: classesFragment(classes.rows),
      sla: slaFragment(customer, sla, billing, `${period} (${label})`),
      "graph.throughput": throughputGraph(graphs),
      "graph.links": linkGraphs(graphs),
      "graph.response": responseGraph(graphs),
      csv: csvList(urls),
    };
  }

  async function portalCustomer(input: RouteInput): Promise<ApiReply> {
    const customer = await deps.customer(input.params.id ?? "");
    if (customer === undefined) throw notFound("no such customer");
    const asked = new URLSearchParams(input.search).get("period") ?? "";
    const period: PortalPeriod = (portalPeriods as readonly string[]).includes(asked)
      ? (asked as PortalPeriod)
      : "LAST-24-HOURS";
    const template = deps.templates().of(customer);
    const body = renderTemplate(template, await values(customer, period));
    return deps.page(input, customer.name, body);
  }

  return [
    {
      path: "/portal/customers/{id}",
      access: "customer",
      page: true,
      inProcess: false,
      summary:
        "A customer's portal page (the provider's template, or the built-in one): message of the day, totals, links, top classes, SLA status, graphs, CSV downloads",
      responses: PAGE,
      handler: portalCustomer,
    },
  ];
}
