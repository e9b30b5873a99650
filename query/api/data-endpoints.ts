/**
 * The data endpoints (docs/api.md): the operator overview and one customer's traffic and response
 * times. Each reads its query string strictly (parameters.ts, names from schemas.ts), checks the
 * customer, site, link and class against the configuration, asks the store and renders what the
 * pure functions (overview.ts, traffic.ts, response-times.ts) make of the rows. No HTTP here: a
 * query string in, an ApiReply out, so that HTTP and the in-process `answer` give the same.
 */
import { isIP } from "node:net";
import type { CustomerModel } from "../../collector/classify/customer-model.js";
import type { Config } from "../../schema/config.js";
import { type SeriesStore, UNATTRIBUTED_CUSTOMER } from "../../schema/series-store.js";
import { storeRetention } from "../../store/configured-store.js";
import { keptFrom } from "../../store/retention.js";
import {
  buildOverview,
  type OverviewColumn,
  type OverviewRow,
  overviewColumnList,
  overviewColumns,
  overviewCsv,
  overviewCustomers,
  rateSpanMs,
} from "../overview.js";
import { responseTimeSeries } from "../response-times.js";
import { csvTable } from "../totals.js";
import {
  p95Count,
  p95Rank,
  STEP_MS,
  type TrafficStep,
  trafficRangeProblem,
  trafficSeries,
  trafficSteps,
} from "../traffic.js";
import { badParameter, notFound, shown, unknownCustomer } from "./errors.js";
import { choice, isoTime, minuteRange, readParameters, timeParameter } from "./parameters.js";
import { type ApiReply, jsonReply, reply } from "./reply.js";
import {
  DEFAULT_STEP,
  MAX_OVERVIEW_LIMIT,
  OverviewQuery,
  parameterNames,
  SeriesQuery,
} from "./schemas.js";
import { createSlaEndpoints, type SlaEndpointDeps, type SlaEndpoints } from "./sla-endpoints.js";
import { createTotalsEndpoints, type TotalsEndpoints } from "./totals-endpoints.js";

const OVERVIEW_PARAMETERS = parameterNames(OverviewQuery);
const SERIES_PARAMETERS = parameterNames(SeriesQuery);

export interface DataEndpointDeps {
  config: Readonly<Config>;
  model: CustomerModel;
  /** The series store; without one (flowtally collect, aggregate) the endpoints answer 404. */
  store?: SeriesStore;
  /** The clock (ms since the epoch), for the default `to`. */
  now: () => number;
  /** The first minute that may still change (ms): every period ending by it is complete. */
  completeUntil: () => number;
  /**
   * Where customer ids come from when not from the config (`registry.source: database`): a
   * customer's sites and their links, "any" for a customer deleted from the registry whose
   * series are still stored (site and link filters unchecked), undefined for no such customer.
   */
  customerScope?: (customer: string) => Promise<CustomerScope | undefined>;
  /** The customer's declared outages in a range, for the SLA report (none without accounts). */
  outages?: SlaEndpointDeps["outages"];
  /** Every customer's declared outages in a range, for the breach list. */
  allOutages?: SlaEndpointDeps["allOutages"];
}

export type CustomerScope = ReadonlyMap<string, ReadonlySet<string>> | "any";

/** The overview's rows as `GET /api/v1/overview` has them, before they are rendered. */
export interface OverviewAnswer {
  fromMs: number;
  toMs: number;
  /** completeUntil (ms) when the rows were read. */
  untilMs: number;
  /** The end of the time the rates are averaged over: `to`, or now while the period runs. */
  ratesUntilMs: number;
  format: "json" | "csv";
  /** The CSV's columns, in their order (`fields`; default: every column). */
  fields: readonly OverviewColumn[];
  rows: OverviewRow[];
}

export interface DataEndpoints extends SlaEndpoints, TotalsEndpoints {
  /** The customer's links as "site/link"; undefined for no such customer (or a deleted one). */
  customerLinks(customer: string): Promise<ReadonlySet<string> | undefined>;
  overview(search: string): Promise<ApiReply>;
  /**
   * The overview's rows for a query string of `overview` (the pages render them); `only`: of this
   * one customer alone (a customer's page).
   */
  overviewRows(search: string, only?: string): Promise<OverviewAnswer>;
  traffic(customer: string, search: string): Promise<ApiReply>;
  responseTimes(customer: string, search: string): Promise<ApiReply>;
}

/** The rows whose customer id or name contains `text` (lower case; "" keeps every row). */
function matching(rows: OverviewRow[], text: string): OverviewRow[] {
  if (text === "") return rows;
  return rows.filter(
    (r) => r.customer.toLowerCase().includes(text) || r.name.toLowerCase().includes(text),
  );
}

/**
 * The CSV's columns from `fields` ("customer,name,bpsIn"): each a column of the overview, once, in
 * the order given; every column when absent. Only with `format=csv` (JSON rows keep every field).
 */
function overviewFields(text: string | undefined, format: "json" | "csv"): OverviewColumn[] {
  if (text === undefined) return [...overviewColumns];
  if (format !== "csv") {
    throw badParameter(
      "fields",
      "fields chooses the columns of format=csv; JSON rows have every field",
    );
  }
  const columns = overviewColumnList(text, shown);
  if (typeof columns === "string") throw badParameter("fields", `fields: ${columns}`);
  return columns;
}

export function createDataEndpoints(deps: DataEndpointDeps): DataEndpoints {
  const { config, model, now, completeUntil } = deps;
  /** The store the endpoints read; 404 in a process that keeps none. */
  const seriesStore = (): SeriesStore => {
    if (deps.store !== undefined) return deps.store;
    throw notFound(
      "this process keeps no series (flowtally collect or aggregate): query flowtally serve or run",
    );
  };
  // The indexes of the customers are made at the first request that needs them, not before the
  // API answers (100 000 customers take 50 ms), and again after the model is replaced (a SIGHUP,
  // a registry version): each belongs to the arrays it was made from. A registry version that
  // changes a link but no customer's own fields keeps the customers' array (and one that changes
  // no link the links'), so each index is keyed on what it reads.
  let customersIndexed:
    | { of: CustomerModel["customers"]; serviceTypes?: Set<string>; ids?: Set<string> }
    | undefined;
  /** customer → site → links. */
  let sitesIndexed:
    | { of: CustomerModel["links"]; sites: Map<string, Map<string, Set<string>>> }
    | undefined;
  /** exporter address → the customers with a link on its interfaces. */
  let routersIndexed:
    | {
        of: CustomerModel["links"];
        interfaces: CustomerModel["interfaces"];
        routers: Map<string, Set<string>>;
      }
    | undefined;
  const customerIndexes = () => {
    const of = model.customers;
    if (customersIndexed?.of !== of) customersIndexed = { of };
    return customersIndexed;
  };
  const routers = () => {
    const { links, interfaces } = model;
    if (routersIndexed?.of !== links || routersIndexed.interfaces !== interfaces) {
      const routers = new Map<string, Set<string>>();
      for (const [router, byIf] of interfaces) {
        const ids = new Set<string>();
        for (const link of byIf.values()) ids.add(links.get(link)!.customer);
        routers.set(router, ids);
      }
      routersIndexed = { of: links, interfaces, routers };
    }
    return routersIndexed.routers;
  };
  const serviceTypes = () => {
    const x = customerIndexes();
    x.serviceTypes ??= new Set(x.of.map((c) => c.serviceType));
    return x.serviceTypes;
  };
  const customerIds = () => {
    const x = customerIndexes();
    x.ids ??= new Set(x.of.map((c) => c.id));
    return x.ids;
  };
  const sitesOf = (customer: string): Map<string, Set<string>> | undefined => {
    const links = model.links;
    if (sitesIndexed?.of !== links) {
      const sites = new Map<string, Map<string, Set<string>>>();
      for (const l of links) {
        const bySite = sites.get(l.customer) ?? new Map<string, Set<string>>();
        const names = bySite.get(l.site) ?? new Set<string>();
        names.add(l.link);
        bySite.set(l.site, names);
        sites.set(l.customer, bySite);
      }
      sitesIndexed = { of: links, sites };
    }
    return sitesIndexed.sites.get(customer);
  };

  /** The customer's sites and links (see customerScope); undefined: no such customer. */
  async function scopeOf(customer: string): Promise<CustomerScope | undefined> {
    if (customer === UNATTRIBUTED_CUSTOMER) return sitesOf(customer) ?? new Map();
    if (deps.customerScope !== undefined) return deps.customerScope(customer);
    if (customerIds().has(customer)) return sitesOf(customer) ?? new Map();
    return undefined;
  }

  async function overviewRows(search: string, only?: string): Promise<OverviewAnswer> {
    const p = readParameters(search, OVERVIEW_PARAMETERS);
    const nowMs = now();
    const { fromMs, toMs } = minuteRange(p, nowMs);
    const router = p.get("router");
    if (router !== undefined) {
      if (isIP(router) === 0) {
        throw badParameter("router", `router ${shown(router)} is not an IP address`);
      }
      if (!routers().has(router)) {
        throw badParameter("router", `router ${router} is the router of no configured link`);
      }
    }
    const serviceType = p.get("serviceType");
    if (serviceType !== undefined && !serviceTypes().has(serviceType)) {
      throw badParameter(
        "serviceType",
        `serviceType ${shown(serviceType)} is the service type of no configured customer`,
      );
    }
    const sort = choice<OverviewColumn>(p, "sort", overviewColumns, "bytesIn");
    const order = choice(p, "order", ["asc", "desc"] as const, "desc");
    const limitText = p.get("limit");
    let limit: number | undefined;
    if (limitText !== undefined) {
      limit = /^[0-9]{1,7}$/.test(limitText) ? Number(limitText) : Number.NaN;
      if (!(limit >= 1 && limit <= MAX_OVERVIEW_LIMIT)) {
        throw badParameter(
          "limit",
          `limit ${shown(limitText)}: expected a whole number from 1 to ${MAX_OVERVIEW_LIMIT}`,
        );
      }
    }
    const format = choice(p, "format", ["json", "csv"] as const, "json");
    const fields = overviewFields(p.get("fields"), format);
    const text = p.get("search")?.trim().toLowerCase() ?? "";

    const customers =
      only !== undefined
        ? [only]
        : overviewCustomers(model, routers(), {
            ...(router === undefined ? {} : { router }),
            ...(serviceType === undefined ? {} : { serviceType }),
          });
    const until = completeUntil();
    const totals = await seriesStore().overview({
      fromMs,
      toMs,
      coarseUntilMs: until,
      ...(customers === undefined ? {} : { customers }),
    });
    const spanMs = rateSpanMs(fromMs, toMs, nowMs);
    const sorted = matching(
      buildOverview(model, totals, { customers, sort, order, rateSpanMs: spanMs }),
      text,
    );
    const rows = limit === undefined ? sorted : sorted.slice(0, limit);
    const ratesUntilMs = fromMs + spanMs;
    return { fromMs, toMs, untilMs: until, ratesUntilMs, format, fields, rows };
  }

  async function overview(search: string): Promise<ApiReply> {
    const answer = await overviewRows(search);
    const { fromMs, toMs, untilMs: until, format, rows } = answer;
    if (format === "csv") {
      const compact = (ms: number) => isoTime(ms).replace(/[-:]/g, "");
      return reply(200, overviewCsv(rows, answer.fields), "text/csv; charset=utf-8", {
        "content-disposition": `attachment; filename="flowtally-overview-${compact(fromMs)}-${compact(toMs)}.csv"`,
      });
    }
    return jsonReply(200, {
      from: isoTime(fromMs),
      to: isoTime(toMs),
      complete: toMs <= until,
      completeUntil: isoTime(until),
      ratesUntil: isoTime(answer.ratesUntilMs),
      rows,
    });
  }

  /**
   * The parameters the per-customer series endpoints share: the range and step, then the
   * customer and the site / link / class filters, checked in that order.
   */
  async function seriesRequest(customer: string, search: string) {
    const p = readParameters(search, SERIES_PARAMETERS);
    const step = choice<TrafficStep>(p, "step", trafficSteps, DEFAULT_STEP);
    const fromMs = timeParameter(p, "from");
    if (fromMs === undefined) throw badParameter("from", "from is required (ISO 8601)");
    const stepMs = STEP_MS[step];
    // The current period included: it reads what has arrived so far, marked not complete.
    const toMs = timeParameter(p, "to") ?? Math.ceil((now() + 1) / stepMs) * stepMs;
    const problem = trafficRangeProblem(fromMs, toMs, step);
    if (problem !== undefined) throw badParameter(problem.parameter, problem.message);

    const scope = await scopeOf(customer);
    if (scope === undefined) throw unknownCustomer(customer);
    const customerSites = scope === "any" ? new Map<string, ReadonlySet<string>>() : scope;
    const site = p.get("site");
    if (site !== undefined && scope !== "any" && !customerSites.has(site)) {
      throw badParameter("site", `site ${shown(site)} is not a site of customer ${customer}`);
    }
    const link = p.get("link");
    if (link !== undefined && scope !== "any") {
      const candidates =
        site === undefined ? [...customerSites.values()] : [customerSites.get(site)!];
      if (!candidates.some((links) => links.has(link))) {
        const where =
          site === undefined ? `customer ${customer}` : `site ${site} of customer ${customer}`;
        throw badParameter("link", `link ${shown(link)} is not a link of ${where}`);
      }
    }
    const trafficClass = p.get("class");
    if (trafficClass !== undefined && !model.classIds.includes(trafficClass)) {
      throw badParameter(
        "class",
        `class ${shown(trafficClass)} is not a traffic class; expected one of ${model.classIds.join(", ")}`,
      );
    }
    const format = choice(p, "format", ["json", "csv"] as const, "json");
    const q = {
      customer,
      fromMs,
      toMs,
      ...(site === undefined ? {} : { site }),
      ...(link === undefined ? {} : { link }),
      ...(trafficClass === undefined ? {} : { trafficClass }),
    };
    return { step, fromMs, toMs, q, format };
  }

  /**
   * A series answer: JSON, or (format=csv) its points as a table, the answer's own fields as
   * columns, named by what and range for the download.
   */
  function seriesReply(
    what: "traffic" | "response-times",
    format: "json" | "csv",
    body: { from: string; to: string; points: ReadonlyArray<Record<string, unknown>> } & Record<
      string,
      unknown
    >,
  ): ApiReply {
    if (format === "json") return jsonReply(200, body);
    const columns = Object.keys(body.points[0] ?? { time: "", complete: "" });
    const compact = (s: string) => s.replace(/[-:]/g, "");
    return reply(200, csvTable(columns, body.points), "text/csv; charset=utf-8", {
      "content-disposition": `attachment; filename="flowtally-${what}-${compact(body.from)}-${compact(body.to)}.csv"`,
    });
  }

  /**
   * What every per-customer series answer starts with, and each point's time and `complete`
   * (the period ends by completeUntil, read once per answer).
   */
  function seriesFrame(customer: string, step: TrafficStep, fromMs: number, toMs: number) {
    const until = completeUntil();
    const stepMs = STEP_MS[step];
    return {
      head: {
        customer,
        step,
        from: isoTime(fromMs),
        to: isoTime(toMs),
        completeUntil: isoTime(until),
      },
      point: (timeMs: number) => ({ time: isoTime(timeMs), complete: timeMs + stepMs <= until }),
    };
  }

  async function responseTimes(customer: string, search: string): Promise<ApiReply> {
    const { step, fromMs, toMs, q, format } = await seriesRequest(customer, search);
    const rows = await seriesStore().responseTimes({ ...q, level: step });
    const series = responseTimeSeries({ fromMs, toMs, step, rows });
    const frame = seriesFrame(customer, step, fromMs, toMs);
    return seriesReply("response-times", format, {
      ...frame.head,
      points: series.points.map(({ timeMs, ...f }) => ({ ...frame.point(timeMs), ...f })),
      ...series.summary,
    });
  }

  async function traffic(customer: string, search: string): Promise<ApiReply> {
    const { step, fromMs, toMs, q, format } = await seriesRequest(customer, search);
    const { retention } = storeRetention(config.store);
    const t = now();
    const minutesFrom = keptFrom(retention, "1m", t);
    const fiveMinutesFrom = keptFrom(retention, "5m", t);
    const count = p95Count(fromMs, toMs, fiveMinutesFrom);
    const store = seriesStore();
    // The peaks and the percentile are taken in the store: a year's graph gets 365 maxima and
    // two values, not its 105 120 5-minute samples; the 5-minute ones in one call (one read).
    const stepMs = STEP_MS[step];
    const peaksStep = step === "1m" ? {} : { stepMs };
    const rank = count === 0 ? {} : { rank: p95Rank(count) };
    const [points, minutes, fives] = await Promise.all([
      store.traffic({ ...q, level: step }),
      step === "1m" ? Promise.resolve([]) : store.samplePeaks({ ...q, level: "1m", stepMs }),
      step === "1m" && count === 0
        ? Promise.resolve({ peaks: [], rank: null })
        : store.sampleStats({ ...q, level: "5m", ...peaksStep, ...rank }),
    ]);
    const fiveMinutes = fives.peaks;
    const p95 = fives.rank;
    const series = trafficSeries({
      fromMs,
      toMs,
      step,
      points,
      minutes,
      fiveMinutes,
      p95,
      minutesFrom,
      fiveMinutesFrom,
    });
    const frame = seriesFrame(customer, step, fromMs, toMs);
    return seriesReply("traffic", format, {
      ...frame.head,
      points: series.points.map((pt) => ({
        ...frame.point(pt.timeMs),
        bytesIn: pt.bytesIn,
        bytesOut: pt.bytesOut,
        packetsIn: pt.packetsIn,
        packetsOut: pt.packetsOut,
        bpsIn: pt.bpsIn,
        bpsOut: pt.bpsOut,
        peakBpsIn: pt.peakBpsIn,
        peakBpsOut: pt.peakBpsOut,
        peakOver: pt.peakOver,
      })),
      p95BpsIn: series.p95BpsIn,
      p95BpsOut: series.p95BpsOut,
    });
  }

  const slaEndpoints = createSlaEndpoints({
    config,
    model,
    now,
    seriesStore,
    scopeOf,
    ...(deps.outages === undefined ? {} : { outages: deps.outages }),
    ...(deps.allOutages === undefined ? {} : { allOutages: deps.allOutages }),
  });
  const totalsEndpoints = createTotalsEndpoints({
    model,
    now,
    completeUntil,
    seriesStore,
    scopeOf,
  });
  async function customerLinks(customer: string): Promise<ReadonlySet<string> | undefined> {
    const scope = customer === UNATTRIBUTED_CUSTOMER ? undefined : await scopeOf(customer);
    if (scope === undefined || scope === "any") return undefined;
    return new Set([...scope].flatMap(([site, links]) => [...links].map((l) => `${site}/${l}`)));
  }
  return {
    overview,
    overviewRows,
    traffic,
    responseTimes,
    customerLinks,
    ...slaEndpoints,
    ...totalsEndpoints,
  };
}
