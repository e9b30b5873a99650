/**
 * The route table: every route of the API declared once, with its method, path, access (Access
 * below), its parameters and answers (zod schemas, from which the OpenAPI document is made)
 * and its handler. app.ts mounts the table on Hono and puts the access check before each
 * operator route; openapi.ts documents it. A route whose dependency a process lacks (metrics,
 * counters, interfaces) is not in that process's table: it answers 404 and is not documented.
 */
import type { z } from "zod";
import type { Principal } from "../../accounts/model.js";
import type { ExportersSource } from "../exporters.js";
import type { ApiStats, Metrics } from "../metrics.js";
import type { DataEndpoints } from "./data-endpoints.js";
import {
  type DownDependency,
  exportersReply,
  healthReply,
  interfacesReply,
  metricsReply,
  statusReply,
} from "./process-endpoints.js";
import type { ApiReply } from "./reply.js";
import {
  CustomerPath,
  Exporters,
  ExportersQuery,
  Health,
  Interfaces,
  InterfacesQuery,
  NoQuery,
  Overview,
  OverviewCsv,
  OverviewQuery,
  PrometheusText,
  ResponseTimes,
  SeriesCsv,
  SeriesQuery,
  Sla,
  SlaBreaches,
  SlaBreachesCsv,
  SlaBreachesQuery,
  SlaCsv,
  SlaQuery,
  SlaWebhooks,
  Status,
  Totals,
  TotalsCsv,
  TotalsQuery,
  Traffic,
} from "./schemas.js";

/**
 * Who may call a route (access.ts checks it before the handler runs):
 * - `public`: anyone, without credentials;
 * - `user`: any signed-in user or token (their own session, tokens, password, `me`);
 * - `customer`: customer-scoped: operators and admins for every customer; a customer or
 *   customer-admin user only where the `{id}` path parameter is its own customer (any other id
 *   answers 404 exactly as an unknown id does);
 * - `customer-admin`: as `customer`, but of the customer roles only customer-admin (a customer
 *   user is answered 403 on its own customer, 404 on others);
 * - `operator`: admins and operators (customer credentials: 403);
 * - `admin`: admins only (operator tokens act as admins).
 */
export type Access = "public" | "user" | "customer" | "customer-admin" | "operator" | "admin";

export type RouteMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** What a handler gets: the path's parameters (decoded) and the raw query string. */
export interface RouteInput {
  params: Readonly<Record<string, string>>;
  search: string;
  /** A request header (lower case name). */
  header(name: string): string | undefined;
  /**
   * The request body: parsed by the route's `body` schema, or (routes with `bodyCheckedBy:
   * "handler"`) the JSON as sent, which the handler checks itself.
   */
  body?: unknown;
  /**
   * The caller as the audit log names it: the user's id, `operator-token:1a2b` (the first hex of
   * the token's SHA-256), or "local" in process.
   */
  actor: string;
  /** Who calls (every route but the public ones over HTTP; absent in process). */
  principal?: Principal;
  /** The client as rate limits and the audit log name it (an address, IPv6 by /64). */
  client: string;
  /** The session cookie's secret the request carries, if any (the login ends that session). */
  sessionSecret?: string;
  /** The files of a multipart form (routes with `upload`), by field name. */
  files?: ReadonlyMap<string, UploadedFile>;
}

/** A file sent in a multipart form: its bytes, and what the browser said of it. */
export interface UploadedFile {
  name: string;
  type: string;
  bytes: Uint8Array;
}

export interface RouteResponse {
  description: string;
  /** Media type → schema of the body. */
  content?: Readonly<Record<string, z.ZodType>>;
}

export interface ApiRoute {
  /** Default GET (which also answers HEAD). */
  method?: RouteMethod;
  /** The path, with parameters in OpenAPI's form: `/api/v1/customers/{id}/traffic`. */
  path: string;
  access: Access;
  /** The JSON request body (POST, PUT, PATCH): unknown fields refused. */
  body?: z.ZodType;
  /**
   * "app" (default): the app parses the body with `body` and answers 400 naming the field;
   * "handler": the app only reads the JSON and the handler checks it (PATCH bodies, where a
   * schema's defaults must not be filled in, and bodies whose every problem is listed).
   */
  bodyCheckedBy?: "app" | "handler";
  /**
   * A page of the console or the portal (web/), not an API endpoint: refusals are answered as
   * pages (app.ts `pageError`: a redirect to the login page without credentials, the HTML 404 page
   * for another customer's id), and it is not in the OpenAPI document.
   */
  page?: boolean;
  /**
   * The body is an HTML form (application/x-www-form-urlencoded), given to the handler as
   * URLSearchParams; a signed-in caller's CSRF token may come as its `csrf` field.
   */
  form?: boolean;
  /**
   * The form may also come as multipart/form-data (a file upload): its text fields are `body`,
   * its files `files`.
   */
  upload?: boolean;
  /**
   * A form route: the page that shows the form (default: the route's own path). A body too large
   * for it is answered as a page saying the limit, with a link back there (app.ts).
   */
  formPage?: string;
  /** Largest body accepted (default MAX_BODY_BYTES, app.ts). */
  maxBodyBytes?: number;
  /** Also answered in process, without a token (`answer`, for `flowtally query` on a store). */
  inProcess: boolean;
  summary: string;
  description?: string;
  /** Path parameters. */
  params?: z.ZodObject;
  /** Query parameters: exactly the names the handler accepts. Absent: the query is ignored. */
  query?: z.ZodObject;
  /** Successful answers (the errors are added to the document from the access and parameters). */
  responses: Readonly<Record<number, RouteResponse>>;
  handler(input: RouteInput): ApiReply | Promise<ApiReply>;
}

export interface RouteDeps {
  data: DataEndpoints;
  /** Dependencies that are down now, for `GET /healthz`. */
  health?: () => readonly DownDependency[];
  /** Prometheus metrics for `GET /metrics` (no route without). */
  metrics?: Metrics;
  /** The API's own counters, added to the metrics. */
  stats: () => ApiStats;
  /** The running process's counters for `GET /api/v1/status` (no route without). */
  status?: () => unknown;
  /** sFlow interface utilisation for `GET /api/v1/interfaces` (no route without). */
  interfaces?: (exporter?: string) => unknown[];
  /** The API's clock (ms). */
  now?: () => number;
  /** The decoders' view of exporters for `GET /api/v1/exporters` (no route without). */
  exporters?: () => ExportersSource;
  /** The customer registry's routes (registry-endpoints.ts; none without). */
  registry?: readonly ApiRoute[];
  /** SLA alert webhooks' state for `GET /api/v1/sla/webhooks` (no route without). */
  slaWebhooks?: () => unknown;
}

const json = (schema: z.ZodType) => ({ "application/json": schema });

export function apiRoutes(deps: RouteDeps): ApiRoute[] {
  const { data, metrics, status, interfaces, exporters } = deps;
  const routes: ApiRoute[] = [
    {
      path: "/healthz",
      access: "public",
      inProcess: false,
      summary: "Whether the process works, and which dependency is down",
      responses: {
        200: { description: "Everything works", content: json(Health) },
        503: { description: "A dependency is down", content: json(Health) },
      },
      handler: () => healthReply(deps.health?.() ?? []),
    },
  ];
  if (metrics !== undefined) {
    routes.push({
      path: "/metrics",
      access: "operator",
      inProcess: false,
      summary: "The process's counters in the Prometheus text format",
      query: NoQuery,
      responses: {
        200: {
          description: "Prometheus exposition text",
          content: { [metrics.contentType]: PrometheusText },
        },
      },
      handler: ({ search }) => metricsReply(metrics, deps.stats, search),
    });
  }
  routes.push(
    {
      path: "/api/v1/overview",
      access: "operator",
      inProcess: true,
      summary: "Every customer's bytes, packets and flows for [from, to)",
      query: OverviewQuery,
      responses: {
        200: {
          description: "The rows, sorted (`format=csv`: RFC 4180 CSV with a header line)",
          content: { ...json(Overview), "text/csv; charset=utf-8": OverviewCsv },
        },
      },
      handler: ({ search }) => data.overview(search),
    },
    {
      path: "/api/v1/customers/{id}/traffic",
      access: "customer",
      inProcess: true,
      summary: "One customer's traffic for [from, to): a point per step, peaks and p95",
      params: CustomerPath,
      query: SeriesQuery,
      responses: {
        200: {
          description: "The series (`format=csv`: its points as an RFC 4180 table)",
          content: { ...json(Traffic), "text/csv; charset=utf-8": SeriesCsv },
        },
      },
      handler: ({ params, search }) => data.traffic(params.id ?? "", search),
    },
    {
      path: "/api/v1/customers/{id}/totals",
      access: "customer",
      inProcess: true,
      summary:
        "One customer's exact bytes and packets for [from, to), by traffic class (the portal's top classes) or by access link",
      params: CustomerPath,
      query: TotalsQuery,
      responses: {
        200: {
          description: "The rows (`format=csv`: RFC 4180 CSV with a header line)",
          content: { ...json(Totals), "text/csv; charset=utf-8": TotalsCsv },
        },
      },
      handler: ({ params, search }) => data.totals(params.id ?? "", search),
    },
    {
      path: "/api/v1/customers/{id}/response-times",
      access: "customer",
      inProcess: true,
      summary: "One customer's TCP response times for [from, to): a point per step",
      params: CustomerPath,
      query: SeriesQuery,
      responses: {
        200: {
          description: "The series (`format=csv`: its points as an RFC 4180 table)",
          content: { ...json(ResponseTimes), "text/csv; charset=utf-8": SeriesCsv },
        },
      },
      handler: ({ params, search }) => data.responseTimes(params.id ?? "", search),
    },
    {
      path: "/api/v1/customers/{id}/sla",
      access: "customer",
      inProcess: true,
      summary:
        "One customer's service levels for a range or a billing month: per class good share, compliant minutes and incidents; per link the 95th percentile against the commit rate",
      params: CustomerPath,
      query: SlaQuery,
      responses: {
        200: {
          description: "The report (`format=csv`: one RFC 4180 table, a `kind` column per row)",
          content: { ...json(Sla), "text/csv; charset=utf-8": SlaCsv },
        },
      },
      handler: ({ params, search }) => data.sla(params.id ?? "", search),
    },
    {
      path: "/api/v1/sla/breaches",
      access: "operator",
      inProcess: true,
      summary: "Every customer's SLA incidents (consecutive breach minutes) in a range",
      query: SlaBreachesQuery,
      responses: {
        200: {
          description: "The incidents and the outages, each by start",
          content: { ...json(SlaBreaches), "text/csv; charset=utf-8": SlaBreachesCsv },
        },
      },
      handler: ({ search }) => data.slaBreaches(search),
    },
  );
  if (interfaces !== undefined) {
    routes.push({
      path: "/api/v1/interfaces",
      access: "operator",
      inProcess: false,
      summary: "Interface utilisation from sFlow counter samples (the latest span of each)",
      query: InterfacesQuery,
      responses: { 200: { description: "The interfaces", content: json(Interfaces) } },
      handler: ({ search }) => interfacesReply(interfaces, search),
    });
  }
  if (exporters !== undefined) {
    routes.push({
      path: "/api/v1/exporters",
      access: "operator",
      inProcess: false,
      summary:
        "Exporters and sFlow agents heard: when, how much, loss by sequence numbers, templates and sampling rates",
      query: ExportersQuery,
      responses: { 200: { description: "The exporters", content: json(Exporters) } },
      handler: ({ search }) => exportersReply(exporters, search, (deps.now ?? Date.now)()),
    });
  }
  if (deps.registry !== undefined) routes.push(...deps.registry);
  const { slaWebhooks } = deps;
  if (slaWebhooks !== undefined) {
    routes.push({
      path: "/api/v1/sla/webhooks",
      access: "operator",
      inProcess: false,
      summary:
        "SLA alert webhooks: each one's deliveries (pending, last, failed) and open incidents",
      query: NoQuery,
      responses: { 200: { description: "The webhooks' state", content: json(SlaWebhooks) } },
      handler: ({ search }) => statusReply(slaWebhooks, search),
    });
  }
  if (status !== undefined) {
    routes.push({
      path: "/api/v1/status",
      access: "operator",
      inProcess: false,
      summary: "The running process's counters",
      query: NoQuery,
      responses: { 200: { description: "The counters", content: json(Status) } },
      handler: ({ search }) => statusReply(status, search),
    });
  }
  return routes;
}
