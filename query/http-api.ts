/**
 * The HTTP query API (docs/api.md): the operator overview and one customer's traffic series as
 * JSON (and the overview as CSV), behind operator bearer tokens. node:http only; the pure work is
 * in overview.ts and traffic.ts, the store is passed in.
 *
 * Strict by design: every parameter is checked, unknown and repeated ones are refused (a typo must
 * not silently widen a query), times must be ISO 8601 on a boundary of the step, and an API
 * without operator tokens refuses every request instead of running open. Errors are JSON
 * `{ "error": { "code", "message", "parameter"? } }`; a store failure is logged and answered with
 * a generic 500, never a stack trace.
 *
 * Bounded against hostile clients (docs/api.md#limits): at most api.maxConnections open at once,
 * timeouts on headers, requests and idle keep-alive connections, a header size cap, and a client
 * address with api.authFailures.limit failed authentications in a window is answered 429 until
 * the window ends (auth-failures.ts).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import {
  createServer,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { isIP } from "node:net";
import type { Logger } from "pino";
import type { CustomerModel } from "../collector/classify/customer-model.js";
import type { Config } from "../schema/config.js";
import { type SeriesStore, UNATTRIBUTED_CUSTOMER } from "../schema/series-store.js";
import { parseHostPort } from "../schema/units.js";
import { storeRetention } from "../store/configured-store.js";
import { completeBefore } from "../store/levels.js";
import { keptFrom } from "../store/retention.js";
import { clientKey, createAuthFailureTable } from "./auth-failures.js";
import type { ApiClientError, ApiStats, Metrics } from "./metrics.js";
import {
  buildOverview,
  customersByRouter,
  type OverviewColumn,
  overviewColumns,
  overviewCsv,
  overviewCustomers,
} from "./overview.js";
import { responseTimeSeries } from "./response-times.js";
import {
  STEP_MS,
  type TrafficStep,
  trafficRangeProblem,
  trafficSeries,
  trafficSteps,
} from "./traffic.js";

/** Codes of API error responses, listed with what to do in docs/api.md. */
export const apiErrorCodes = {
  FT_BAD_PARAMETER: "A query parameter is missing, unknown, repeated or invalid.",
  FT_UNAUTHORIZED: "No bearer token, or not one of api.operatorTokens.",
  FT_TOO_MANY_AUTH_FAILURES:
    "Too many failed authentications from this address: blocked until the window ends (Retry-After).",
  FT_NO_OPERATOR_TOKENS: "api.operatorTokens is empty: the API refuses every request.",
  FT_NOT_FOUND: "No such endpoint or customer.",
  FT_METHOD_NOT_ALLOWED: "The endpoint answers GET (and HEAD) only.",
  FT_URI_TOO_LONG: "The request target is longer than the API accepts.",
  FT_INTERNAL: "The store failed; the server log has the cause.",
} as const;
export type ApiErrorCode = keyof typeof apiErrorCodes;

/** Longest request target (path and query) accepted. */
export const MAX_URL_LENGTH = 2048;
/** Longest query parameter value accepted. */
export const MAX_VALUE_LENGTH = 256;
/** Largest `limit` of the overview (more rows than any configuration has customers). */
export const MAX_OVERVIEW_LIMIT = 1_000_000;
/** Default step of the traffic endpoint. */
export const DEFAULT_STEP: TrafficStep = "1h";

const MINUTE_MS = 60_000;
/** Warnings about hostile clients (blocked addresses, refused connections): one line per this. */
const WARN_INTERVAL_MS = MINUTE_MS;
const ALLOW = "GET, HEAD";
const OVERVIEW_PARAMETERS = [
  "from",
  "to",
  "router",
  "serviceType",
  "sort",
  "order",
  "limit",
  "format",
];
const TRAFFIC_PARAMETERS = ["from", "to", "step", "site", "link", "class"];
const TRAFFIC_PATH = /^\/api\/v1\/customers\/([^/]*)\/traffic$/;
const RESPONSE_TIMES_PATH = /^\/api\/v1\/customers\/([^/]*)\/response-times$/;

export interface ApiServerDeps {
  config: Readonly<Config>;
  model: CustomerModel;
  /** The series store; without one (flowtally collect, aggregate) the data endpoints are 404. */
  store?: SeriesStore;
  log: Logger;
  /** The clock (ms since the epoch), for the default `to` and the failed-authentication windows. */
  now?: () => number;
  /**
   * The first minute that may still change (ms, a whole minute): every period ending by it is
   * complete. Default: the lateness after the clock (`aggregation.lateness`), which is what
   * `query` on a store file can tell; `run` also holds it back while rows wait for the store.
   */
  completeUntil?: () => number;
  /** The running process's counters for `GET /api/v1/status` (404 without). */
  status?: () => unknown;
  /** Dependencies that are down now, for `GET /healthz`: the name, and the error code when known. */
  health?: () => readonly DownDependency[];
  /** Prometheus metrics for `GET /metrics` (404 without). */
  metrics?: Metrics;
  /** sFlow interface utilisation for `GET /api/v1/interfaces` (404 without). */
  interfaces?: (exporter?: string) => unknown[];
}

/** A dependency that is down ("store", "redis") and the code of its error, when known. */
export interface DownDependency {
  name: string;
  code?: string;
}

export interface ApiServer {
  /** Listens on `api.listen` (port 0: a free port) and returns the address actually bound. */
  listen(): Promise<{ address: string; port: number }>;
  /** Stops accepting and ends open connections (keep-alive ones too), so shutdown is prompt. */
  close(): Promise<void>;
  /** Connections, refusals and authentication failures so far (also in `GET /metrics`). */
  stats(): ApiStats;
  /**
   * Answers a request target of a data endpoint (overview, traffic, response times) in process,
   * with no socket and no authentication: for `flowtally query` on a store it opened itself
   * (holding the store file is more than any token grants). The answer, errors included, is the
   * one HTTP would give; a store failure is thrown, not answered 500, so the caller shows it.
   */
  answer(target: string): Promise<ApiReply>;
  server: Server;
}

/** An answer of the API: what `answer` returns and what is sent over HTTP. */
export interface ApiReply {
  status: number;
  contentType: string;
  body: string;
  headers: OutgoingHttpHeaders;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly parameter?: string,
    readonly headers: OutgoingHttpHeaders = {},
  ) {
    super(message);
  }
}

function badParameter(parameter: string, message: string): ApiError {
  return new ApiError(400, "FT_BAD_PARAMETER", message, parameter);
}

/** A caller's string fit for a message: quoted, control characters escaped, at most 64 chars. */
function shown(s: string): string {
  return JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);
}

function isControl(c: string): boolean {
  const code = c.charCodeAt(0);
  return code < 0x20 || code === 0x7f;
}

function hasControl(s: string): boolean {
  for (const c of s) if (isControl(c)) return true;
  return false;
}

/** A caller's string fit for the `parameter` field. */
function shownName(s: string): string {
  const t = Array.from(s, (c) => (isControl(c) ? "?" : c)).join("");
  return t.length > 64 ? `${t.slice(0, 64)}…` : t;
}

/** "2026-11-22T10:00:00Z": ISO 8601 without the milliseconds, which are always 0 here. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace(".000Z", "Z");
}

const TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?([Zz]|([+-])(\d{2}):(\d{2})))?$/;

/**
 * Strict ISO 8601: a date (UTC midnight) or a date and time with `Z` or an offset. Calendar
 * fields are checked (no February 30th, which Date.parse accepts). NaN when not one.
 */
export function parseIsoTime(text: string): number {
  const m = TIME.exec(text);
  if (m === null) return Number.NaN;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [hour, minute, second] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  const millis = Number((m[7] ?? "0").padEnd(3, "0"));
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) {
    return Number.NaN;
  }
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day > daysInMonth) return Number.NaN;
  let offset = 0;
  if (m[9] !== undefined) {
    const [oh, om] = [Number(m[10]), Number(m[11])];
    if (oh > 23 || om > 59) return Number.NaN;
    offset = (m[9] === "-" ? -1 : 1) * (oh * 60 + om) * MINUTE_MS;
  }
  const t = new Date(0);
  t.setUTCFullYear(year, month - 1, day); // Date.UTC maps years 0-99 to 1900-1999
  t.setUTCHours(hour, minute, second, millis);
  return t.getTime() - offset;
}

/** The query string's parameters: each known, given once, non-empty and printable. */
function readParameters(search: string, allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(search)) {
    if (!allowed.includes(name)) {
      throw badParameter(
        shownName(name),
        `unknown parameter ${shown(name)}; this endpoint takes ${allowed.join(", ")}`,
      );
    }
    if (out.has(name)) throw badParameter(name, `${name} is given more than once`);
    if (value === "") throw badParameter(name, `${name} is empty`);
    if (value.length > MAX_VALUE_LENGTH) {
      throw badParameter(name, `${name} is longer than ${MAX_VALUE_LENGTH} characters`);
    }
    if (hasControl(value)) {
      throw badParameter(name, `${name} contains control characters`);
    }
    out.set(name, value);
  }
  return out;
}

function timeParameter(p: Map<string, string>, name: "from" | "to"): number | undefined {
  const value = p.get(name);
  if (value === undefined) return undefined;
  const t = parseIsoTime(value);
  if (Number.isNaN(t)) {
    // An unencoded "+01:00" arrives as " 01:00": "+" in a query string is a space.
    const hint = / \d{2}:\d{2}$/.test(value) ? ' (write "+" as %2B in a URL)' : "";
    throw badParameter(
      name,
      `${name} ${shown(value)} is not an ISO 8601 time such as 2026-11-22T10:00:00Z${hint}`,
    );
  }
  return t;
}

function choice<T extends string>(
  p: Map<string, string>,
  name: string,
  choices: readonly T[],
  fallback: T,
): T {
  const value = p.get(name);
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) {
    throw badParameter(name, `${name} ${shown(value)}: expected one of ${choices.join(", ")}`);
  }
  return value as T;
}

export function createApiServer(deps: ApiServerDeps): ApiServer {
  const { config, model, log } = deps;
  /** The store the data endpoints read; 404 in a process that keeps none. */
  const seriesStore = (): SeriesStore => {
    if (deps.store !== undefined) return deps.store;
    throw new ApiError(
      404,
      "FT_NOT_FOUND",
      "this process keeps no series (flowtally collect or aggregate): query flowtally serve or run",
    );
  };
  const now = deps.now ?? Date.now;
  const completeUntil =
    deps.completeUntil ?? (() => completeBefore(now(), deps.config.aggregation.lateness));
  const limits = config.api;
  const tokenDigests = limits.operatorTokens.map(digest);
  const authFailures = createAuthFailureTable({
    limit: limits.authFailures.limit,
    windowMs: limits.authFailures.window,
    maxAddresses: limits.authFailures.maxAddresses,
  });
  let authFailureCount = 0;
  let authBlockedRequests = 0;
  let connections = 0;
  let connectionsRefused = 0;
  const clientErrors: Record<ApiClientError, number> = {
    timeout: 0,
    "headers-too-large": 0,
    malformed: 0,
  };
  const warnBlocked = rateLimitedWarn(log, WARN_INTERVAL_MS, "alsoBlocked");
  const warnRefused = rateLimitedWarn(log, WARN_INTERVAL_MS, "alsoRefused");
  const routers = customersByRouter(config);
  const serviceTypes = new Set(model.customers.map((c) => c.serviceType));
  const customerIds = new Set(model.customers.map((c) => c.id));
  /** customer → site → links; made at the first request that needs it (a map per customer). */
  let sites: Map<string, Map<string, Set<string>>> | undefined;
  const sitesOf = (customer: string): Map<string, Set<string>> | undefined => {
    if (sites === undefined) {
      sites = new Map();
      for (const l of model.links) {
        const bySite = sites.get(l.customer) ?? new Map<string, Set<string>>();
        const links = bySite.get(l.site) ?? new Set<string>();
        links.add(l.link);
        bySite.set(l.site, links);
        sites.set(l.customer, bySite);
      }
    }
    return sites.get(customer);
  };

  function digest(token: string): Buffer {
    return createHash("sha256").update(token, "utf8").digest();
  }

  /**
   * A request's credentials, checked. A blocked client is refused before its token is looked at,
   * whether right or not: answering a right token differently would let guessing go on at full
   * speed. Credentials that are not right count against the client; a request without any does
   * not (it guesses nothing).
   */
  function authorize(req: IncomingMessage): void {
    if (tokenDigests.length === 0) {
      throw new ApiError(
        503,
        "FT_NO_OPERATOR_TOKENS",
        "the API is disabled: no api.operatorTokens are configured; add a token of at least 16 characters to the config and restart",
      );
    }
    const client = clientKey(req.socket.remoteAddress);
    const blockedMs = authFailures.blockedFor(client, now());
    if (blockedMs > 0) {
      authBlockedRequests += 1;
      const seconds = Math.ceil(blockedMs / 1000);
      throw new ApiError(
        429,
        "FT_TOO_MANY_AUTH_FAILURES",
        `too many failed authentications from this address; try again in ${seconds} s`,
        undefined,
        { "retry-after": String(seconds) },
      );
    }
    try {
      checkCredentials(req);
    } catch (e) {
      if (e instanceof ApiError && req.headers.authorization !== undefined) failed(client);
      throw e;
    }
  }

  function failed(client: string): void {
    authFailureCount += 1;
    const t = now();
    if (!authFailures.fail(client, t)) return;
    warnBlocked(
      t,
      {
        client,
        failures: limits.authFailures.limit,
        blockedSeconds: Math.ceil(authFailures.blockedFor(client, t) / 1000),
      },
      "API: too many failed authentications; client address blocked (api.authFailures)",
    );
  }

  function checkCredentials(req: IncomingMessage): void {
    const header = req.headers.authorization;
    if (header === undefined) {
      throw new ApiError(
        401,
        "FT_UNAUTHORIZED",
        "missing Authorization: Bearer <token>",
        undefined,
        {
          "www-authenticate": 'Bearer realm="flowtally"',
        },
      );
    }
    const m = /^Bearer +(\S+) *$/i.exec(header);
    if (m === null) {
      throw new ApiError(
        401,
        "FT_UNAUTHORIZED",
        "the Authorization header is not Bearer <token>",
        undefined,
        { "www-authenticate": 'Bearer realm="flowtally", error="invalid_request"' },
      );
    }
    // Equal-length digests, compared in constant time, against every token (no early exit).
    const given = digest(m[1]!);
    let ok = false;
    for (const d of tokenDigests) ok = timingSafeEqual(d, given) || ok;
    if (!ok) {
      throw new ApiError(
        401,
        "FT_UNAUTHORIZED",
        "the bearer token is not one of api.operatorTokens",
        undefined,
        { "www-authenticate": 'Bearer realm="flowtally", error="invalid_token"' },
      );
    }
  }

  async function overview(search: string): Promise<ApiReply> {
    const p = readParameters(search, OVERVIEW_PARAMETERS);
    const fromMs = timeParameter(p, "from");
    if (fromMs === undefined) throw badParameter("from", "from is required (ISO 8601)");
    // The current minute included: it reads what has arrived so far, marked not complete.
    const toMs = timeParameter(p, "to") ?? Math.ceil((now() + 1) / MINUTE_MS) * MINUTE_MS;
    for (const [name, t] of [
      ["from", fromMs],
      ["to", toMs],
    ] as const) {
      if (t % MINUTE_MS !== 0) {
        throw badParameter(name, `${name} ${isoTime(t)} is not on a whole minute`);
      }
    }
    if (toMs <= fromMs) {
      throw badParameter("to", `to ${isoTime(toMs)} must be after from ${isoTime(fromMs)}`);
    }
    const router = p.get("router");
    if (router !== undefined) {
      if (isIP(router) === 0) {
        throw badParameter("router", `router ${shown(router)} is not an IP address`);
      }
      if (!routers.has(router)) {
        throw badParameter("router", `router ${router} is the router of no configured link`);
      }
    }
    const serviceType = p.get("serviceType");
    if (serviceType !== undefined && !serviceTypes.has(serviceType)) {
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

    const customers = overviewCustomers(model, routers, {
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
    const sorted = buildOverview(model, totals, { customers, sort, order });
    const rows = limit === undefined ? sorted : sorted.slice(0, limit);
    if (format === "csv") {
      const compact = (ms: number) => isoTime(ms).replace(/[-:]/g, "");
      return reply(200, overviewCsv(rows), "text/csv; charset=utf-8", {
        "content-disposition": `attachment; filename="flowtally-overview-${compact(fromMs)}-${compact(toMs)}.csv"`,
      });
    }
    return jsonReply(200, {
      from: isoTime(fromMs),
      to: isoTime(toMs),
      complete: toMs <= until,
      completeUntil: isoTime(until),
      rows,
    });
  }

  /**
   * The parameters the per-customer series endpoints share: the range and step, then the
   * customer and the site / link / class filters, checked in that order.
   */
  function seriesRequest(customer: string, search: string, allowed: readonly string[]) {
    const p = readParameters(search, allowed);
    const step = choice(p, "step", trafficSteps, DEFAULT_STEP);
    const fromMs = timeParameter(p, "from");
    if (fromMs === undefined) throw badParameter("from", "from is required (ISO 8601)");
    const stepMs = STEP_MS[step];
    // The current period included: it reads what has arrived so far, marked not complete.
    const toMs = timeParameter(p, "to") ?? Math.ceil((now() + 1) / stepMs) * stepMs;
    const problem = trafficRangeProblem(fromMs, toMs, step);
    if (problem !== undefined) throw badParameter(problem.parameter, problem.message);

    if (customer !== UNATTRIBUTED_CUSTOMER && !customerIds.has(customer)) {
      throw new ApiError(404, "FT_NOT_FOUND", `no customer ${shown(customer)}`);
    }
    const customerSites = sitesOf(customer) ?? new Map<string, Set<string>>();
    const site = p.get("site");
    if (site !== undefined && !customerSites.has(site)) {
      throw badParameter("site", `site ${shown(site)} is not a site of customer ${customer}`);
    }
    const link = p.get("link");
    if (link !== undefined) {
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
    const q = {
      customer,
      fromMs,
      toMs,
      ...(site === undefined ? {} : { site }),
      ...(link === undefined ? {} : { link }),
      ...(trafficClass === undefined ? {} : { trafficClass }),
    };
    return { step, fromMs, toMs, q };
  }

  async function responseTimes(customer: string, search: string): Promise<ApiReply> {
    const { step, fromMs, toMs, q } = seriesRequest(customer, search, TRAFFIC_PARAMETERS);
    const rows = await seriesStore().responseTimes({ ...q, level: step });
    const series = responseTimeSeries({ fromMs, toMs, step, rows });
    const until = completeUntil();
    const stepMs = STEP_MS[step];
    return jsonReply(200, {
      customer,
      step,
      from: isoTime(fromMs),
      to: isoTime(toMs),
      completeUntil: isoTime(until),
      points: series.points.map(({ timeMs, ...f }) => ({
        time: isoTime(timeMs),
        complete: timeMs + stepMs <= until,
        ...f,
      })),
      ...series.summary,
    });
  }

  async function traffic(customer: string, search: string): Promise<ApiReply> {
    const { step, fromMs, toMs, q } = seriesRequest(customer, search, TRAFFIC_PARAMETERS);
    const [points, minutes, fiveMinutes] = await Promise.all([
      seriesStore().traffic({ ...q, level: step }),
      step === "1m" ? Promise.resolve([]) : seriesStore().samples({ ...q, level: "1m" }),
      seriesStore().samples({ ...q, level: "5m" }),
    ]);
    const { retention } = storeRetention(config.store);
    const t = now();
    const series = trafficSeries({
      fromMs,
      toMs,
      step,
      points,
      minutes,
      fiveMinutes,
      minutesFrom: keptFrom(retention, "1m", t),
      fiveMinutesFrom: keptFrom(retention, "5m", t),
    });
    const until = completeUntil();
    const stepMs = STEP_MS[step];
    return jsonReply(200, {
      customer,
      step,
      from: isoTime(fromMs),
      to: isoTime(toMs),
      completeUntil: isoTime(until),
      points: series.points.map((pt) => ({
        time: isoTime(pt.timeMs),
        complete: pt.timeMs + stepMs <= until,
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

  function onlyGet(req: IncomingMessage): void {
    if (req.method !== "GET" && req.method !== "HEAD") {
      throw new ApiError(
        405,
        "FT_METHOD_NOT_ALLOWED",
        `${shownName(req.method ?? "")} is not allowed here; use GET`,
        undefined,
        { allow: ALLOW },
      );
    }
  }

  /** The data endpoint a path names (called with the query string), or undefined. */
  function dataEndpoint(path: string): ((search: string) => Promise<ApiReply>) | undefined {
    if (path === "/api/v1/overview") return overview;
    for (const [pattern, endpoint] of [
      [TRAFFIC_PATH, traffic],
      [RESPONSE_TIMES_PATH, responseTimes],
    ] as const) {
      const m = pattern.exec(path);
      if (m === null) continue;
      return (search) => {
        let customer: string;
        try {
          customer = decodeURIComponent(m[1]!);
        } catch {
          throw new ApiError(404, "FT_NOT_FOUND", `no customer ${shown(m[1]!)}`);
        }
        return endpoint(customer, search);
      };
    }
    return undefined;
  }

  async function route(req: IncomingMessage, path: string, search: string): Promise<ApiReply> {
    if (path === "/healthz") {
      onlyGet(req);
      // No secrets here (no auth): which dependency is down and its error code, no message.
      const down = deps.health?.() ?? [];
      if (down.length === 0) return jsonReply(200, { status: "ok" });
      const codes = Object.fromEntries(
        down.filter((d) => d.code !== undefined).map((d) => [d.name, d.code]),
      );
      return jsonReply(503, {
        status: "degraded",
        down: down.map((d) => d.name),
        ...(Object.keys(codes).length === 0 ? {} : { codes }),
      });
    }
    if (path === "/metrics" && deps.metrics !== undefined) {
      // The same bearer tokens as the API (Prometheus: `authorization: { credentials: ... }`).
      authorize(req);
      onlyGet(req);
      readParameters(search, []);
      return reply(200, await deps.metrics.text(stats()), deps.metrics.contentType);
    }
    if (path === "/api" || path.startsWith("/api/")) {
      authorize(req);
      const data = dataEndpoint(path);
      if (data !== undefined) {
        onlyGet(req);
        return await data(search);
      }
      if (path === "/api/v1/interfaces" && deps.interfaces !== undefined) {
        onlyGet(req);
        const p = readParameters(search, ["router"]);
        const router = p.get("router");
        if (router !== undefined && isIP(router) === 0) {
          throw badParameter("router", `router ${shown(router)} is not an IP address`);
        }
        return jsonReply(200, { interfaces: deps.interfaces(router) });
      }
      if (path === "/api/v1/status" && deps.status !== undefined) {
        onlyGet(req);
        readParameters(search, []);
        return jsonReply(200, deps.status());
      }
    }
    throw new ApiError(404, "FT_NOT_FOUND", `no endpoint ${shown(path)}`);
  }

  async function answer(target: string): Promise<ApiReply> {
    const q = target.indexOf("?");
    const path = q < 0 ? target : target.slice(0, q);
    try {
      const data = dataEndpoint(path);
      if (data === undefined) throw new ApiError(404, "FT_NOT_FOUND", `no endpoint ${shown(path)}`);
      return await data(q < 0 ? "" : target.slice(q + 1));
    } catch (e) {
      if (e instanceof ApiError) return errorReply(e);
      throw e;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const url = req.url ?? "";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    const search = q < 0 ? "" : url.slice(q + 1);
    try {
      if (url.length > MAX_URL_LENGTH) {
        throw new ApiError(
          414,
          "FT_URI_TOO_LONG",
          `the request target is longer than ${MAX_URL_LENGTH} characters`,
        );
      }
      send(res, await route(req, path, search));
    } catch (e) {
      if (e instanceof ApiError) {
        send(res, errorReply(e));
      } else {
        log.error({ err: e, method: req.method, path: path.slice(0, 200) }, "API request failed");
        send(
          res,
          errorReply(new ApiError(500, "FT_INTERNAL", "internal error; see the server log")),
        );
      }
    }
    log.debug(
      {
        method: req.method,
        path: path.slice(0, 200),
        status: res.statusCode,
        ms: Math.round(performance.now() - started),
      },
      "API request",
    );
  }

  const server = createServer(
    {
      headersTimeout: limits.headersTimeout,
      requestTimeout: limits.requestTimeout,
      keepAliveTimeout: limits.keepAliveTimeout,
      maxHeaderSize: limits.maxHeaderSize,
      // Node checks the two timeouts this often (its default, 30 s, would let a slow client
      // hold a connection for up to 30 s past them).
      connectionsCheckingInterval: Math.min(
        1000,
        Math.max(10, Math.floor(limits.headersTimeout / 10)),
      ),
    },
    (req, res) => {
      void handle(req, res);
    },
  );
  // Node closes a connection beyond this as soon as it is accepted, and emits "drop".
  server.maxConnections = limits.maxConnections;
  server.on("drop", (d) => {
    connectionsRefused += 1;
    warnRefused(
      now(),
      { maxConnections: limits.maxConnections, client: d?.remoteAddress },
      "API: connection limit reached; connection closed (api.maxConnections)",
    );
  });
  server.on("connection", (socket: Socket) => {
    connections += 1;
    socket.once("close", () => {
      connections -= 1;
    });
    // Node answers these itself (408, 431, 400) and closes the connection; they are counted.
    socket.on("error", (e: NodeJS.ErrnoException) => {
      const reason = clientErrorReason(e.code);
      if (reason !== undefined) clientErrors[reason] += 1;
    });
  });

  function stats(): ApiStats {
    return {
      connections,
      connectionsRefused,
      clientErrors: { ...clientErrors },
      authFailures: authFailureCount,
      authBlockedRequests,
      authBlockedAddresses: authFailures.blocked(now()),
      authAddressesEvicted: authFailures.evictions,
    };
  }

  async function listen(): Promise<{ address: string; port: number }> {
    const hp = parseHostPort(config.api.listen);
    if (hp === null) throw new Error(`api.listen ${shown(config.api.listen)} is not host:port`);
    if (tokenDigests.length === 0) {
      log.warn("api.operatorTokens is empty: the API answers every /api request with 503");
    }
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => {
        reject(new Error(`api.listen ${config.api.listen}: ${e.message}`, { cause: e }));
      };
      server.once("error", onError);
      server.listen(hp.port, hp.host, () => {
        server.off("error", onError);
        resolve();
      });
    });
    // The caller logs where it listens; this component only warns about running without tokens.
    const a = server.address() as AddressInfo;
    return { address: a.address, port: a.port };
  }

  async function close(): Promise<void> {
    if (!server.listening) return;
    await new Promise<void>((resolve, reject) => {
      server.close((e) => (e === undefined ? resolve() : reject(e)));
      server.closeAllConnections();
    });
  }

  return { listen, close, stats, answer, server };
}

function clientErrorReason(code: string | undefined): ApiClientError | undefined {
  if (code === "ERR_HTTP_REQUEST_TIMEOUT") return "timeout";
  if (code === "HPE_HEADER_OVERFLOW") return "headers-too-large";
  return code?.startsWith("HPE_") === true ? "malformed" : undefined;
}

/**
 * A warning logged at most once per interval (a flood of hostile clients costs one line a
 * minute); the line says how many were held back since the previous one, under `heldKey`.
 */
function rateLimitedWarn(log: Logger, intervalMs: number, heldKey: string) {
  let lastAt = Number.NEGATIVE_INFINITY;
  let held = 0;
  return (nowMs: number, fields: Record<string, unknown>, message: string): void => {
    if (nowMs >= lastAt && nowMs - lastAt < intervalMs) {
      held += 1;
      return;
    }
    log.warn(held > 0 ? { ...fields, [heldKey]: held } : fields, message);
    lastAt = nowMs;
    held = 0;
  };
}

function reply(
  status: number,
  body: string,
  contentType: string,
  headers: OutgoingHttpHeaders = {},
): ApiReply {
  return { status, body, contentType, headers };
}

function jsonReply(status: number, body: unknown, headers?: OutgoingHttpHeaders): ApiReply {
  return reply(status, `${JSON.stringify(body)}\n`, "application/json; charset=utf-8", headers);
}

function errorReply(e: ApiError): ApiReply {
  const error = {
    code: e.code,
    ...(e.parameter === undefined ? {} : { parameter: e.parameter }),
    message: e.message,
  };
  return jsonReply(e.status, { error }, e.headers);
}

function send(res: ServerResponse, r: ApiReply): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(r.status, {
    ...r.headers,
    "content-type": r.contentType,
    "content-length": Buffer.byteLength(r.body),
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
  });
  res.end(r.body);
}
