/**
 * The HTTP query API (docs/api.md) as a component: the Hono app (app.ts) served by a node:http
 * Server through @hono/node-server's request listener, so that Node's own limits stay in force.
 * Bounded against hostile clients (docs/api.md#limits): at most api.maxConnections open at once,
 * timeouts on headers, requests and idle keep-alive connections, a header size cap (Node answers
 * 408, 431 and 400 itself; counted here), the request-target and body limits and the
 * failed-authentication lockout (app.ts, auth.ts).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { getRequestListener, RequestError } from "@hono/node-server";
import type { Logger } from "pino";
import type { Accounts } from "../../accounts/accounts.js";
import type { CustomerModel } from "../../collector/classify/customer-model.js";
import { checkingTemplateNames } from "../../registry/portal-template-names.js";
import type { Config } from "../../schema/config.js";
import { FlowtallyError, isFlowtallyError } from "../../schema/errors.js";
import type { SeriesStore } from "../../schema/series-store.js";
import { parseHostPort } from "../../schema/units.js";
import { completeBefore } from "../../store/levels.js";
import { settingsApiRoutes } from "../../web/admin/settings-api.js";
import { configPortal, createSettingsCache } from "../../web/admin/settings-cache.js";
import { loadAssets } from "../../web/assets.js";
import { PAGE_PREFIXES, webPages } from "../../web/pages.js";
import { loadPortalTemplates } from "../../web/portal/templates.js";
import type { ExportersSource } from "../exporters.js";
import type { ApiClientError, ApiStats, Metrics } from "../metrics.js";
import { trafficByClass } from "../traffic-by-class.js";
import { accountRoutes } from "./account-routes.js";
import { createApiApp } from "./app.js";
import { createOperatorAuth } from "./auth.js";
import { createClientOf } from "./client-address.js";
import { createDataEndpoints } from "./data-endpoints.js";
import { ApiError, notFound, shown } from "./errors.js";
import { openApiRoute } from "./openapi.js";
import { declaredOutages, everyDeclaredOutage, outageRoutes } from "./outage-routes.js";
import type { DownDependency } from "./process-endpoints.js";
import { rateLimitedWarn } from "./rate-limited-warn.js";
import {
  configRegistry,
  type RegistryAccess,
  registryCustomerScope,
  registryCustomers,
  registryRoutes,
} from "./registry-endpoints.js";
import { registryFileRoutes } from "./registry-file-endpoints.js";
import { type ApiReply, errorReply, fromResponse, toResponse } from "./reply.js";
import { type ApiRoute, apiRoutes } from "./routes.js";

/** Warnings about refused connections: one line per this. */
const WARN_INTERVAL_MS = 60_000;

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
  /** The decoders' exporters for `GET /api/v1/exporters` (404 without). */
  exporters?: () => ExportersSource;
  /** SLA alert webhooks' state for `GET /api/v1/sla/webhooks` (404 without). */
  slaWebhooks?: () => unknown;
  /**
   * The customer registry the registry routes read and write (registry-endpoints.ts): the
   * registry database, or the config's customers read-only. Without: no registry routes.
   */
  registry?: RegistryAccess;
  /**
   * Users, sessions and personal tokens (accounts/): with them, logins, cookies and personal
   * tokens work and the account routes are served; started and stopped by the caller.
   */
  accounts?: Accounts;
  /** A customer's own message of the day, for `GET /api/v1/me` (default: none). */
  customerMotd?: (customer: string) => string | undefined | Promise<string | undefined>;
  /** Whether a customer exists (users of customer roles must name one); default: the model's. */
  customerExists?: (customer: string) => boolean | Promise<boolean>;
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
  /** The routes served (the OpenAPI document's among them), as the table declares them. */
  readonly routes: readonly ApiRoute[];
  /** The pages of the console and the portal (web/), in the same table; none without accounts. */
  readonly pages: readonly ApiRoute[];
  /**
   * SIGHUP: reads the provider's portal templates the config names again (docs/portal.md); a
   * template that does not load is logged (FT_CONFIG_INVALID, naming file and line) and the
   * running ones kept. False then.
   */
  reloadPortalTemplates(cfg: Readonly<Config>): boolean;
  /**
   * SIGHUP: the customers' billing (serviceTypes, customers[].billing) and the classes' levels the
   * SLA report uses now (the customers and links themselves come from the live model), and the
   * portal templates (reloadPortalTemplates).
   */
  reloadConfig(cfg: Readonly<Config>): boolean;
  /** The Hono app behind `server`. */
  readonly app: ReturnType<typeof createApiApp>;
  readonly server: Server;
}

/** The certificate and key of api.tls (checked at config load; read again here). */
function readTls(t: Config["api"]["tls"]): { cert: Buffer; key: Buffer } {
  const read = (name: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new FlowtallyError(
        "FT_LISTEN",
        `api.tls.${name}: "${path}" cannot be read: ${(e as Error).message}`,
        { cause: e },
      );
    }
  };
  return { cert: read("cert", t.cert ?? ""), key: read("key", t.key ?? "") };
}

const LOGO_TYPES: Readonly<Record<string, string>> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  svg: "image/svg+xml",
  webp: "image/webp",
};

/** The portal's logo (portal.branding.logo), named by its content like the other assets. */
function readLogo(path: string | undefined) {
  if (path === undefined) return undefined;
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new FlowtallyError(
      "FT_CONFIG_INVALID",
      `portal.branding.logo: "${path}" cannot be read: ${(e as Error).message}`,
      { cause: e },
    );
  }
  const ext = (/\.([a-z]+)$/i.exec(path)?.[1] ?? "").toLowerCase();
  const hash = createHash("sha256").update(bytes).digest("hex").slice(0, 12);
  return {
    file: `logo-${hash}.${ext}`,
    contentType: LOGO_TYPES[ext] ?? "application/octet-stream",
    bytes,
  };
}

function clientErrorReason(code: string | undefined): ApiClientError | undefined {
  if (code === "ERR_HTTP_REQUEST_TIMEOUT") return "timeout";
  if (code === "HPE_HEADER_OVERFLOW") return "headers-too-large";
  return code?.startsWith("HPE_") === true ? "malformed" : undefined;
}

export function createApiServer(deps: ApiServerDeps): ApiServer {
  const { config, log } = deps;
  const limits = config.api;
  const now = deps.now ?? Date.now;
  // A registry customer's portalTemplate names one of portal.templates: the names in force (read
  // again at SIGHUP with the templates) are checked before a change reaches the registry.
  let templateNames = Object.keys(config.portal.templates).sort();
  const registry =
    deps.registry?.source === "database"
      ? checkingTemplateNames(deps.registry, () => templateNames)
      : deps.registry;
  const completeUntil =
    deps.completeUntil ?? (() => completeBefore(now(), config.aggregation.lateness));
  const clientOf = createClientOf(limits.trustedProxies);
  const auth = createOperatorAuth(limits, {
    log,
    now,
    clientOf,
    ...(deps.accounts === undefined ? {} : { accounts: deps.accounts }),
  });
  const tls = limits.tls.cert !== undefined && limits.tls.key !== undefined;
  let connections = 0;
  let connectionsRefused = 0;
  const clientErrors: Record<ApiClientError, number> = {
    timeout: 0,
    "headers-too-large": 0,
    malformed: 0,
  };
  const warnRefused = rateLimitedWarn(log, WARN_INTERVAL_MS, "alsoRefused");

  function stats(): ApiStats {
    return {
      connections,
      connectionsRefused,
      clientErrors: { ...clientErrors },
      ...auth.stats(),
    };
  }

  const dataEndpoints = createDataEndpoints({
    config,
    model: deps.model,
    ...(deps.store === undefined ? {} : { store: deps.store }),
    now,
    completeUntil,
    ...(registry?.source === "database"
      ? { customerScope: registryCustomerScope(registry, deps.store, now) }
      : {}),
    ...(deps.accounts === undefined
      ? {}
      : {
          outages: declaredOutages(deps.accounts.outages),
          allOutages: everyDeclaredOutage(deps.accounts.outages),
        }),
  });
  // The pages' customer records: the registry's, or the config's (indexed at the first page).
  let customerRecords: ReturnType<typeof registryCustomers> | undefined;
  const customerRecord = (id: string) => {
    customerRecords ??= registryCustomers(registry ?? configRegistry(config.customers));
    return customerRecords.get(id);
  };
  const table = apiRoutes({
    data: dataEndpoints,
    stats,
    ...(deps.health === undefined ? {} : { health: deps.health }),
    ...(deps.metrics === undefined ? {} : { metrics: deps.metrics }),
    ...(deps.status === undefined ? {} : { status: deps.status }),
    ...(deps.interfaces === undefined ? {} : { interfaces: deps.interfaces }),
    ...(deps.exporters === undefined ? {} : { exporters: deps.exporters }),
    now,
    ...(deps.slaWebhooks === undefined ? {} : { slaWebhooks: deps.slaWebhooks }),
    ...(registry === undefined
      ? {}
      : {
          registry: [
            ...registryRoutes(registry, {
              maxChangeSetBytes: limits.maxChangeSetBytes,
              now,
              log,
              ...(deps.store?.purgeCustomer === undefined
                ? {}
                : { purgeSeries: (id: string) => deps.store!.purgeCustomer(id) }),
            }),
            ...registryFileRoutes(registry, {
              maxBodyBytes: limits.maxChangeSetBytes,
              log,
            }),
          ],
        }),
  });
  // The portal's branding and global message of the day: the config's, with what the admin pages
  // saved in the accounts database over them (read again every few seconds: web/admin/).
  const logo = readLogo(config.portal.branding.logo);
  const portalDefaults = configPortal(config, logo);
  const settings = createSettingsCache(portalDefaults, deps.accounts, { log });
  let customerExists = deps.customerExists;
  if (deps.accounts !== undefined) {
    table.push(
      ...outageRoutes({
        outages: deps.accounts.outages,
        linksOf: (id) => dataEndpoints.customerLinks(id),
      }),
    );
    const ids = new Set(deps.model.customers.map((c) => c.id));
    // The registry's customers (database or config) carry the message of the day.
    const customers = registry === undefined ? undefined : registryCustomers(registry);
    customerExists ??=
      customers !== undefined
        ? async (id: string) => (await customers.get(id)) !== undefined
        : (id: string) => ids.has(id);
    table.push(
      ...accountRoutes({
        accounts: deps.accounts,
        motd: async () => (await settings.fresh()).motd,
        ...(deps.customerMotd !== undefined
          ? { customerMotd: deps.customerMotd }
          : customers !== undefined
            ? { customerMotd: async (id: string) => (await customers.get(id))?.motd }
            : {}),
        customerExists,
      }),
      // The branding and the global message of the day for automation (the admin pages' saves).
      ...settingsApiRoutes({ settings, portal: portalDefaults }),
    );
  }
  const routes = [...table, openApiRoute(table)];
  // The provider's portal templates: read now (a bad one stops the start), again at SIGHUP.
  let templates = deps.accounts === undefined ? undefined : loadPortalTemplates(config);
  // The console and the portal (web/): pages need logins, so they come with accounts.
  const web =
    deps.accounts === undefined
      ? undefined
      : webPages({
          config,
          data: dataEndpoints,
          accounts: deps.accounts,
          customer: customerRecord,
          ...(deps.customerMotd === undefined ? {} : { customerMotd: deps.customerMotd }),
          routers: () => [...deps.model.interfaces.keys()].sort(),
          serviceTypes: () => [...new Set(deps.model.customers.map((c) => c.serviceType))].sort(),
          now,
          exporters: deps.exporters,
          status: deps.status,
          health: deps.health,
          trafficByClass: async (q) => {
            if (deps.store === undefined) {
              throw notFound("this process keeps no series (flowtally collect or aggregate)");
            }
            return trafficByClass(deps.store, q, deps.model.classIds);
          },
          assets: loadAssets(config.portal.branding.colors),
          logo,
          settings,
          ...(registry === undefined ? {} : { registry: registry }),
          ...(customerExists === undefined ? {} : { customerExists }),
          manage: {
            source: registry?.source ?? "config",
            api:
              registry === undefined
                ? registryRoutes(configRegistry(config.customers), {
                    maxChangeSetBytes: limits.maxChangeSetBytes,
                  })
                : table,
          },
          templates: () => templates!,
        });
  const pages = web?.routes ?? [];
  const app = createApiApp([...routes, ...pages], {
    log,
    operator: auth.middleware,
    tls,
    clientOf,
    ...(web === undefined ? {} : { pageError: web.pageError, pagePrefixes: PAGE_PREFIXES }),
  });
  const local = createApiApp(routes, { log });

  const listener = getRequestListener(app.fetch, {
    // HTTP/1.0 requests may come without a Host header: the URL is made with this one.
    hostname: "localhost",
    // What @hono/node-server refuses before the app sees it (a backslash in the path, a Host
    // header no URL can be made of), and a failure past the app's own error handling.
    errorHandler: (e) => {
      if (e instanceof RequestError) {
        return toResponse(
          errorReply(new ApiError(400, "FT_BAD_REQUEST", `bad request: ${e.message}`)),
        );
      }
      log.error({ err: e }, "API request failed");
      return toResponse(
        errorReply(new ApiError(500, "FT_INTERNAL", "internal error; see the server log")),
      );
    },
  });
  const serverOptions = {
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
  };
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    if (log.isLevelEnabled("debug")) {
      const started = performance.now();
      res.once("finish", () => {
        log.debug(
          {
            method: req.method,
            path: (req.url ?? "").split("?", 1)[0]!.slice(0, 200),
            status: res.statusCode,
            ms: Math.round(performance.now() - started),
          },
          "API request",
        );
      });
    }
    void listener(req, res);
  };
  const server: Server = tls
    ? createTlsServer({ ...serverOptions, ...readTls(limits.tls) }, handler)
    : createServer(serverOptions, handler);
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

  async function answer(target: string): Promise<ApiReply> {
    const request = new Request(new URL(target.replace(/^\/*/, "/"), "http://localhost"));
    return fromResponse(await local.fetch(request, { target }));
  }

  async function listen(): Promise<{ address: string; port: number }> {
    const hp = parseHostPort(config.api.listen);
    if (hp === null) throw new Error(`api.listen ${shown(config.api.listen)} is not host:port`);
    if (!auth.enabled) {
      log.warn("api.operatorTokens is empty: the API answers every /api request with 503");
    } else if (
      limits.operatorTokens.length === 0 &&
      deps.accounts !== undefined &&
      (await deps.accounts.listUsers()).length === 0
    ) {
      log.warn(
        "api.operatorTokens is empty and there are no users: nobody can use the API; add a user (flowtally users add ID --role admin) or an operator token",
      );
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

  function reloadPortalTemplates(next: Readonly<Config>): boolean {
    if (templates !== undefined) {
      try {
        templates = loadPortalTemplates(next);
      } catch (e) {
        const code = isFlowtallyError(e) ? e.code : "FT_CONFIG_INVALID";
        log.error(
          { signal: "SIGHUP", code },
          `portal templates not reloaded, the running ones are kept: ${(e as Error).message} [${code}]`,
        );
        return false;
      }
      if (templates.files.length > 0) {
        log.info({ signal: "SIGHUP", files: templates.files }, "portal templates read again");
      }
    }
    templateNames = Object.keys(next.portal.templates).sort();
    return true;
  }

  function reloadConfig(next: Readonly<Config>): boolean {
    dataEndpoints.reload(next);
    return reloadPortalTemplates(next);
  }

  return {
    listen,
    close,
    stats,
    answer,
    reloadPortalTemplates,
    reloadConfig,
    routes,
    pages,
    app,
    server,
  };
}
