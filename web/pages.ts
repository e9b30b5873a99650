/**
 * The pages of the console and the portal as routes of the one route table (query/api/routes.ts):
 * each declared with its method, path and access, so that the same authentication and access
 * check as the API's run before every page (app.ts), and the isolation matrix test covers them.
 * Handlers parse, ask the query layer (the API's own data endpoints), build a view and render it.
 * `pageError` answers refusals as pages: a redirect to the login page without credentials, and
 * one 404 page for an unknown id and another customer's alike.
 */
import type { Accounts } from "../accounts/accounts.js";
import { isCustomerRole, type Principal } from "../accounts/model.js";
import { clearedSessionCookie, sessionCookie } from "../accounts/sessions.js";
import type { DataEndpoints } from "../query/api/data-endpoints.js";
import { type ApiError, badParameter, isApiError, notFound, shown } from "../query/api/errors.js";
import type { DownDependency } from "../query/api/process-endpoints.js";
import { configRegistry, type RegistryAccess } from "../query/api/registry-endpoints.js";
import { type ApiReply, reply } from "../query/api/reply.js";
import type { ApiRoute, RouteInput } from "../query/api/routes.js";
import { type ExportersSource, exportersView } from "../query/exporters.js";
import type { TrafficByClass } from "../query/traffic-by-class.js";
import type { RegistryCustomer } from "../registry/model.js";
import type { Config } from "../schema/config.js";
import type { TrafficQuery } from "../schema/series-store.js";
import { adminRoutes } from "./admin/admin-routes.js";
import { createBrandStylesheets } from "./admin/brand-stylesheets.js";
import { LOGO_POLICY } from "./admin/portal-settings.js";
import { configPortal, createSettingsCache, type SettingsCache } from "./admin/settings-cache.js";
import type { Assets } from "./assets.js";
import { encodedPage, encodedStatic } from "./compression.js";
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
import { type Area, type Branding, renderPage, type Viewer } from "./layout.js";
import { renderError, renderLogin, safeNext } from "./login-page.js";
import { type ManageDeps, manageRoutes } from "./manage/manage-routes.js";
import { apiQuery, readOverviewRequest, renderOverview } from "./overview-page.js";
import { portalPageRoutes } from "./portal/portal-page.js";
import { BUILT_IN, type PortalTemplates } from "./portal/templates.js";
import { renderStatus } from "./status-page.js";

export interface WebDeps {
  config: Readonly<Config>;
  data: DataEndpoints;
  accounts: Accounts;
  /** A customer's record with its sites and links (the registry's, or the config's). */
  customer(id: string): Promise<RegistryCustomer | undefined>;
  /** A customer's own message of the day. */
  customerMotd?: (id: string) => string | undefined | Promise<string | undefined>;
  /** The routers (exporter addresses) and service types the overview's filters offer. */
  routers(): string[];
  serviceTypes(): string[];
  now: () => number;
  assets: Assets;
  /**
   * The status page's data: the API's own `exporters`, `status` and `health` dependencies
   * (`GET /api/v1/exporters`, `/api/v1/status`, `/healthz`); a process without one says so.
   */
  exporters?: (() => ExportersSource) | undefined;
  status?: (() => unknown) | undefined;
  health?: (() => readonly DownDependency[]) | undefined;
  /** The customer management page's registry: its source and the API routes it lists with. */
  manage?: Pick<ManageDeps, "source" | "api"> | undefined;
  /** A customer's traffic per class (query/traffic-by-class.ts over the API's store). */
  trafficByClass: (q: Omit<TrafficQuery, "trafficClass">) => Promise<TrafficByClass>;
  /** The portal's logo (portal.branding.logo), served under /assets/. */
  logo?: { file: string; contentType: string; bytes: Uint8Array } | undefined;
  /** The provider's portal templates in force (portal/templates.ts); none: the built-in page. */
  templates?: (() => PortalTemplates) | undefined;
  /**
   * The portal's settings in force: the config's branding and message of the day with what the
   * admin pages saved over them (web/admin/); default: the config's alone.
   */
  settings?: SettingsCache;
  /** The customer registry, for the admin pages (customers' messages of the day). */
  registry?: RegistryAccess;
  /** Whether a customer exists (a customer user must name one). */
  customerExists?: (id: string) => boolean | Promise<boolean>;
}

export interface WebPages {
  routes: ApiRoute[];
  pageError(e: ApiError, target: string): ApiReply;
}

/** The path prefixes of pages: an unknown path under them gets the 404 page (after login). */
export const PAGE_PREFIXES = ["/console", "/portal"] as const;

const HTML = "text/html; charset=utf-8";
const DAY = 86_400_000;
const PAGE = { 200: { description: "An HTML page" } } as const;

const isOperator = (p: Principal) => p.role === "admin" || p.role === "operator";

function viewerOf(p: Principal | undefined): Viewer | undefined {
  if (p === undefined) return undefined;
  return { user: p.user, role: p.role, customer: p.customer, csrf: p.csrf };
}

function redirect(location: string, headers: Record<string, string> = {}): ApiReply {
  return reply(303, "", HTML, { location, ...headers });
}

function who(input: RouteInput): Principal {
  if (input.principal === undefined) throw new Error("a signed-in page ran without a principal");
  return input.principal;
}

export function webPages(deps: WebDeps): WebPages {
  const { assets, config } = deps;
  const portal = configPortal(config, deps.logo);
  const settings = deps.settings ?? createSettingsCache(portal, undefined);
  const stylesheets = createBrandStylesheets();
  /** The branding in force (the pages ask `settings.fresh()` before they render). */
  const brand = (): Branding => {
    const s = settings.current();
    return {
      title: s.title,
      footer: s.footer,
      logoPath: s.logo === undefined ? undefined : `/assets/${s.logo.file}`,
      stylesheetPath: stylesheets.forColors(s.colors).path,
    };
  };
  const page = (
    status: number,
    title: string,
    area: Area,
    body: Html,
    o: {
      viewer?: Viewer | undefined;
      charts?: boolean;
      admin?: boolean;
      headers?: Record<string, string>;
    } = {},
  ): ApiReply =>
    reply(
      status,
      renderPage(
        { title, area, body, viewer: o.viewer, charts: o.charts === true, admin: o.admin === true },
        assets,
        brand(),
      ),
      HTML,
      o.headers ?? {},
    );

  const home = (p: Principal) =>
    isCustomerRole(p.role) && p.customer !== undefined
      ? `/portal/customers/${encodeURIComponent(p.customer)}`
      : "/console";

  function loginPage(
    area: Area,
    status: number,
    o: { next?: string | undefined; user?: string; problem?: string } = {},
  ) {
    return page(
      status,
      "Log in",
      area,
      renderLogin({
        area,
        next: o.next,
        user: o.user,
        problem: o.problem,
        ...(area === "portal" ? { loginText: settings.current().loginText } : {}),
      }),
    );
  }

  async function login(area: Area, input: RouteInput): Promise<ApiReply> {
    const form = input.body as URLSearchParams;
    const user = form.get("user") ?? "";
    const password = form.get("password") ?? "";
    const next = safeNext(form.get("next"));
    if (user === "" || password === "") {
      return loginPage(area, 400, { next, user, problem: "Enter a user name and a password." });
    }
    const r = await deps.accounts.login(user, password, input.client, input.sessionSecret);
    if (!r.ok) {
      if (r.reason === "limited") {
        const seconds = Math.max(1, Math.ceil(r.retryAfterMs / 1000));
        return loginPage(area, 429, {
          next,
          user,
          problem: `Too many failed logins; try again in ${seconds} s.`,
        });
      }
      return loginPage(area, 401, {
        next,
        user,
        problem: "The user name or the password is not right.",
      });
    }
    const principal: Principal = {
      user: r.user.id,
      role: r.user.role,
      ...(r.user.customer === undefined ? {} : { customer: r.user.customer }),
      via: "session",
    };
    // A customer's users go to their own portal, whatever `next` says of the console.
    const target =
      next !== undefined && (isOperator(principal) || next.startsWith("/portal"))
        ? next
        : home(principal);
    return redirect(target, {
      "set-cookie": sessionCookie(r.secret, { maxAgeSeconds: r.maxAgeSeconds }),
    });
  }

  function loginRoutes(area: Area): ApiRoute[] {
    return [
      {
        path: `/${area}/login`,
        access: "public",
        page: true,
        inProcess: false,
        summary: `The ${area}'s login page`,
        responses: PAGE,
        handler: ({ search }) =>
          loginPage(area, 200, { next: safeNext(new URLSearchParams(search).get("next")) }),
      },
      {
        method: "POST",
        path: `/${area}/login`,
        access: "public",
        page: true,
        form: true,
        inProcess: false,
        summary: `Log in from the ${area}'s login form: sets the session cookie, then on to the page`,
        responses: { 303: { description: "Logged in: on to the page asked for" } },
        handler: (input) => login(area, input),
      },
    ];
  }

  async function customerOr404(id: string): Promise<RegistryCustomer> {
    const c = await deps.customer(id);
    if (c === undefined) throw notFound("no such customer");
    return c;
  }

  async function overview(input: RouteInput): Promise<ApiReply> {
    const viewer = viewerOf(input.principal);
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
    return page(problem === undefined ? 200 : 400, "Overview", "console", body, { viewer });
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
    });
    return page(200, customer.name, "console", body, {
      viewer: viewerOf(input.principal),
      charts: true,
    });
  }

  function statusPage(input: RouteInput): ApiReply {
    const nowMs = deps.now();
    const body = renderStatus({
      nowMs,
      exporters: deps.exporters === undefined ? undefined : exportersView(deps.exporters(), nowMs),
      status: deps.status?.(),
      down: deps.health?.(),
    });
    return page(200, "Status", "console", body, { viewer: viewerOf(input.principal) });
  }

  const assetRoute: ApiRoute = {
    path: "/assets/{file}",
    access: "public",
    inProcess: false,
    summary:
      "The pages' scripts, stylesheet and images, named by their content (cached for a year)",
    responses: { 200: { description: "The asset" } },
    async handler({ params, header }) {
      const file = params.file ?? "";
      const immutable = { "cache-control": "public, max-age=31536000, immutable" };
      if (file.startsWith("logo-")) {
        const logo = await settings.logo(file);
        if (logo === undefined) throw notFound("no such asset");
        // An SVG opened on its own runs nothing under this policy (an <img> never runs one).
        const headers = { ...immutable, "content-security-policy": LOGO_POLICY };
        return { ...reply(200, "", logo.ref.contentType, headers), bytes: logo.bytes };
      }
      let a = assets.byFile.get(file) ?? stylesheets.byFile(file);
      if (a === undefined && file.startsWith("brand-")) {
        // A page of another process (scaled out) may name the colours saved there: those in force.
        const made = stylesheets.forColors((await settings.fresh()).colors);
        if (made.path === `/assets/${file}`) a = made;
      }
      if (a === undefined) throw notFound("no such asset");
      return encodedStatic(
        reply(200, a.body, a.contentType, immutable),
        a.encoded,
        header("accept-encoding"),
      );
    },
  };

  const routes: ApiRoute[] = [
    assetRoute,
    ...adminRoutes({
      accounts: deps.accounts,
      settings,
      portal,
      registry: deps.registry ?? configRegistry(config.customers),
      customerExists:
        deps.customerExists ?? (async (id) => (await deps.customer(id)) !== undefined),
      viewer: (input) => viewerOf(input.principal),
      render: (input, status, title, body, o = {}) =>
        page(status, title, o.area ?? "console", body, {
          viewer: viewerOf(input.principal),
          admin: o.scripts === true,
        }),
    }),
    ...loginRoutes("console"),
    ...loginRoutes("portal"),
    {
      method: "POST",
      path: "/logout",
      access: "user",
      page: true,
      form: true,
      inProcess: false,
      summary:
        "Log out from a page's logout form (its CSRF token in the form): on to the login page",
      responses: { 303: { description: "Logged out" } },
      async handler(input) {
        const p = who(input);
        await deps.accounts.logout(p, input.client);
        const area =
          (input.body as URLSearchParams).get("area") === "portal" || isCustomerRole(p.role)
            ? "portal"
            : "console";
        return redirect(`/${area}/login`, { "set-cookie": clearedSessionCookie() });
      },
    },
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
    ...(deps.manage === undefined
      ? []
      : manageRoutes({
          ...deps.manage,
          script: assets.manage.path,
          page: (status, title, body, input) =>
            page(status, title, "console", body, {
              viewer: viewerOf(input.principal),
              headers: { vary: "HX-Request" },
            }),
          fragment: (status, body) => reply(status, body.text, HTML, { vary: "HX-Request" }),
        })),
    {
      path: "/portal",
      access: "user",
      page: true,
      inProcess: false,
      summary: "The portal: on to the customer's own page (operators: the console)",
      responses: { 303: { description: "On to the viewer's page" } },
      handler: (input) => redirect(home(who(input))),
    },
    ...portalPageRoutes({
      config,
      data: deps.data,
      customer: deps.customer,
      customerMotd: deps.customerMotd,
      now: deps.now,
      brand,
      globalMotd: () => settings.current().motd,
      templates: deps.templates ?? (() => ({ of: () => BUILT_IN, files: [] })),
      page: (input, title, body) =>
        page(200, title, "portal", body, { viewer: viewerOf(input.principal), charts: true }),
    }),
  ];

  function pageError(e: ApiError, target: string): ApiReply {
    const area: Area = target.startsWith("/portal") ? "portal" : "console";
    if (e.status === 401) {
      const cookie = e.headers["set-cookie"];
      const next = safeNext(target);
      return redirect(
        `/${area}/login${next === undefined ? "" : `?next=${encodeURIComponent(next)}`}`,
        cookie === undefined ? {} : { "set-cookie": String(cookie) },
      );
    }
    const { title, body } = renderError(e.status, e.message);
    const headers: Record<string, string> = {};
    for (const name of ["allow", "retry-after"]) {
      const v = e.headers[name];
      if (v !== undefined) headers[name] = String(v);
    }
    return page(e.status, title, area, body, { headers });
  }

  // Pages go out compressed to a client that accepts it (the assets have their own copies).
  const compressed = routes.map(
    (r): ApiRoute =>
      r.page === true
        ? {
            ...r,
            handler: async (input) => {
              await settings.fresh();
              return encodedPage(await r.handler(input), input.header("accept-encoding"));
            },
          }
        : r,
  );
  return { routes: compressed, pageError };
}
