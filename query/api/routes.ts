/**
 * The route table: every route of the API declared once, with its path, its access (public or
 * operator), its parameters and answers (zod schemas, from which the OpenAPI document is made)
 * and its handler. app.ts mounts the table on Hono and puts the access check before each
 * operator route; openapi.ts documents it. A route whose dependency a process lacks (metrics,
 * counters, interfaces) is not in that process's table: it answers 404 and is not documented.
 */
import type { z } from "zod";
import type { ApiStats, Metrics } from "../metrics.js";
import type { DataEndpoints } from "./data-endpoints.js";
import {
  type DownDependency,
  healthReply,
  interfacesReply,
  metricsReply,
  statusReply,
} from "./process-endpoints.js";
import type { ApiReply } from "./reply.js";
import {
  CustomerPath,
  Health,
  Interfaces,
  InterfacesQuery,
  NoQuery,
  Overview,
  OverviewCsv,
  OverviewQuery,
  PrometheusText,
  ResponseTimes,
  SeriesQuery,
  Status,
  Traffic,
} from "./schemas.js";

/** Who may call a route: anyone, or a holder of an operator token. */
export type Access = "public" | "operator";

/** The methods a route may answer (GET also answers HEAD). */
export type RouteMethod = "get" | "post" | "patch" | "delete";

/**
 * What a handler gets: the path's parameters (decoded), the raw query string, the request
 * headers, the body parsed as JSON (routes with `body` only; the app refuses a body that is too
 * large, not JSON or not valid JSON before the handler runs) and who is calling.
 */
export interface RouteInput {
  params: Readonly<Record<string, string>>;
  search: string;
  header(name: string): string | undefined;
  body?: unknown;
  /** The caller, for the audit log: `operator-token:1a2b` (auth.ts); "local" in process. */
  actor: string;
}

export interface RouteResponse {
  description: string;
  /** Media type → schema of the body. */
  content?: Readonly<Record<string, z.ZodType>>;
}

export interface ApiRoute {
  /** Default: get. */
  method?: RouteMethod;
  /** The path, with parameters in OpenAPI's form: `/api/v1/customers/{id}/traffic`. */
  path: string;
  access: Access;
  /** Also answered in process, without a token (`answer`, for `flowtally query` on a store). */
  inProcess: boolean;
  summary: string;
  description?: string;
  /** Path parameters. */
  params?: z.ZodObject;
  /** Query parameters: exactly the names the handler accepts. Absent: the query is ignored. */
  query?: z.ZodObject;
  /**
   * The request body (JSON): its schema, for the document (the handler checks it, naming each
   * field at fault). Absent: the route reads no body.
   */
  body?: z.ZodType;
  /** Largest body accepted (default MAX_BODY_BYTES, app.ts). */
  maxBodyBytes?: number;
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
  /** The customer registry's routes (registry-endpoints.ts; none without). */
  registry?: readonly ApiRoute[];
}

const json = (schema: z.ZodType) => ({ "application/json": schema });

export function apiRoutes(deps: RouteDeps): ApiRoute[] {
  const { data, metrics, status, interfaces } = deps;
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
      access: "operator",
      inProcess: true,
      summary: "One customer's traffic for [from, to): a point per step, peaks and p95",
      params: CustomerPath,
      query: SeriesQuery,
      responses: { 200: { description: "The series", content: json(Traffic) } },
      handler: ({ params, search }) => data.traffic(params.id ?? "", search),
    },
    {
      path: "/api/v1/customers/{id}/response-times",
      access: "operator",
      inProcess: true,
      summary: "One customer's TCP response times for [from, to): a point per step",
      params: CustomerPath,
      query: SeriesQuery,
      responses: { 200: { description: "The series", content: json(ResponseTimes) } },
      handler: ({ params, search }) => data.responseTimes(params.id ?? "", search),
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
  if (deps.registry !== undefined) routes.push(...deps.registry);
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
