/**
 * The console's pages (docs/console.md), for operators: the overview of every customer's traffic
 * (`/console`), the status page, and a customer, site or link with its graphs. Each handler reads
 * its parameters, asks the query layer (the API's own data endpoints), builds a view and renders
 * it; the frame around it is the caller's (page-frame.ts).
 */
import type { DataEndpoints } from "../query/api/data-endpoints.js";
import { badParameter, isApiError, notFound, shown } from "../query/api/errors.js";
import type { DownDependency } from "../query/api/process-endpoints.js";
import type { ApiReply } from "../query/api/reply.js";
import type { ApiRoute, RouteInput } from "../query/api/routes.js";
import { type ExportersSource, exportersView } from "../query/exporters.js";
import type { TrafficByClass } from "../query/traffic-by-class.js";
import type { RegistryCustomer } from "../registry/model.js";
import type { Config } from "../schema/config.js";
import type { TrafficQuery } from "../schema/series-store.js";
import {
  type ChartView,
  type ConsoleCustomerView,
  chartRange,
  chartViews,
  renderConsoleCustomer,
  type Scope,
  viewRange,
} from "./customer-page.js";
import type { Html } from "./html.js";
import { apiQuery, readOverviewRequest, renderOverview } from "./overview-page.js";
import { PAGE } from "./page-frame.js";
import { renderStatus } from "./status-page.js";

export interface ConsoleRoutesDeps {
  config: Readonly<Config>;
  data: DataEndpoints;
  customer(id: string): Promise<RegistryCustomer | undefined>;
  /** The routers (exporter addresses) and service types the overview's filters offer. */
  routers(): string[];
  serviceTypes(): string[];
  now: () => number;
  exporters?: (() => ExportersSource) | undefined;
  status?: (() => unknown) | undefined;
  health?: (() => readonly DownDependency[]) | undefined;
  trafficByClass: (q: Omit<TrafficQuery, "trafficClass">) => Promise<TrafficByClass>;
  /** A console page (page-frame.ts) for the request's viewer. */
  page(
    input: RouteInput,
    status: number,
    title: string,
    body: Html,
    o?: { charts?: boolean },
  ): ApiReply;
}

const DAY = 86_400_000;

export function consoleRoutes(deps: ConsoleRoutesDeps): ApiRoute[] {
  const { config } = deps;

  async function customerOr404(id: string): Promise<RegistryCustomer> {
    const c = await deps.customer(id);
    if (c === undefined) throw notFound("no such customer");
    return c;
  }

  async function overview(input: RouteInput): Promise<ApiReply> {
    const nowMs = deps.now();
    const read = readOverviewRequest(input.search, nowMs);
    const request = read.request;
    let problem = read.problem;
    let rows: Awaited<ReturnType<DataEndpoints["overviewRows"]>>["rows"] = [];
    let complete = true;
    if (problem === undefined) {
      try {
        const answer = await deps.data.overviewRows(apiQuery(request));
        rows = answer.rows;
        complete = answer.toMs <= answer.untilMs;
      } catch (e) {
        if (!isApiError(e) || e.status !== 400) throw e;
        problem = { field: e.parameter ?? "period", message: e.message };
      }
    }
    const body = renderOverview({
      request,
      rows,
      routers: deps.routers(),
      serviceTypes: deps.serviceTypes(),
      complete,
      problem,
    });
    return deps.page(input, problem === undefined ? 200 : 400, "Overview", body);
  }

  async function consoleCustomer(input: RouteInput): Promise<ApiReply> {
    const { id = "", site, link } = input.params;
    const customer = await customerOr404(id);
    const scope: Scope = {};
    if (site !== undefined) {
      const s = customer.sites.find((x) => x.id === site);
      if (s === undefined) throw notFound("no such site");
      scope.site = site;
      if (link !== undefined) {
        if (!s.links.some((l) => l.id === link)) throw notFound("no such link");
        scope.link = link;
      }
    }
    const q = new URLSearchParams(input.search);
    const nowMs = deps.now();
    const viewText = q.get("view") ?? "day";
    const view: ChartView = (chartViews as readonly string[]).includes(viewText)
      ? (viewText as ChartView)
      : "day";
    const atText = q.get("at") ?? "";
    const atMs =
      /^\d{4}-\d{2}-\d{2}$/.test(atText) && !Number.isNaN(Date.parse(atText))
        ? Date.parse(atText)
        : Math.floor(nowMs / DAY) * DAY;
    const at = new Date(atMs).toISOString().slice(0, 10);
    // The class of the response-time graph, with its threshold.
    const classes = [
      ...config.classes.map((x) => ({
        id: x.id,
        thresholdMs: x.totalDelayThreshold ?? config.defaultTotalDelayThreshold,
      })),
      { id: config.defaultClass, thresholdMs: config.defaultTotalDelayThreshold },
    ];
    const responseClass = q.get("class") || undefined;
    if (responseClass !== undefined && !classes.some((x) => x.id === responseClass)) {
      throw badParameter(
        "class",
        `class ${shown(responseClass)} is not a traffic class; expected one of ${classes.map((x) => x.id).join(", ")}`,
      );
    }
    // The overview's period, kept for the totals and the way back.
    const back = new URLSearchParams(
      [...q].filter(([k]) => k !== "view" && k !== "at" && k !== "class"),
    ).toString();
    const { request } = readOverviewRequest(back, nowMs);
    const answer = await deps.data.overviewRows(
      new URLSearchParams({
        from: new Date(request.range.fromMs).toISOString(),
        to: new Date(request.range.toMs).toISOString(),
      }).toString(),
      customer.id,
    );
    const row = answer.rows[0];
    const range = chartRange(viewRange(view, atMs));
    const profiles = await deps.data.profileHistory(customer.id);
    const byClass = await deps.trafficByClass({
      customer: customer.id,
      fromMs: range.fromMs,
      toMs: range.toMs,
      level: range.step,
      ...(scope.site === undefined ? {} : { site: scope.site }),
      ...(scope.link === undefined ? {} : { link: scope.link }),
    });
    // The running billing period's availability and credits (the SLA report's figures).
    const billing = JSON.parse(
      (await deps.data.sla(customer.id, "period=this-month")).body,
    ) as NonNullable<ConsoleCustomerView["billing"]>;
    const body = renderConsoleCustomer({
      billing,
      customer,
      scope,
      view,
      at,
      atMs,
      period: request.range,
      totals: { bytesIn: row?.bytesIn ?? 0, bytesOut: row?.bytesOut ?? 0 },
      back,
      thresholdMs: config.defaultTotalDelayThreshold,
      classes,
      responseClass,
      byClass,
      profiles,
    });
    return deps.page(input, 200, customer.name, body, { charts: true });
  }

  function statusPage(input: RouteInput): ApiReply {
    const nowMs = deps.now();
    const body = renderStatus({
      nowMs,
      exporters: deps.exporters === undefined ? undefined : exportersView(deps.exporters(), nowMs),
      status: deps.status?.(),
      down: deps.health?.(),
    });
    return deps.page(input, 200, "Status", body);
  }

  return [
    {
      path: "/console",
      access: "operator",
      page: true,
      inProcess: false,
      summary: "The console's overview: every customer's traffic for a period",
      responses: PAGE,
      handler: overview,
    },
    {
      path: "/console/status",
      access: "operator",
      page: true,
      inProcess: false,
      summary:
        "The console's status: exporters, loss, templates, sampling rates, decode problems, health",
      responses: PAGE,
      handler: statusPage,
    },
    ...[
      "/console/customers/{id}",
      "/console/customers/{id}/sites/{site}",
      "/console/customers/{id}/sites/{site}/links/{link}",
    ].map(
      (path): ApiRoute => ({
        path,
        access: "operator",
        page: true,
        inProcess: false,
        summary: "A customer (a site, a link) in the console: traffic graphs, sites and links",
        responses: PAGE,
        handler: consoleCustomer,
      }),
    ),
  ];
}
