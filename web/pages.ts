/**
 * The pages of the console and the portal as routes of the one route table (query/api/routes.ts):
 * each declared with its method, path and access, so that the same authentication and access
 * check as the API's run before every page (app.ts), and the isolation matrix test covers them.
 * This file puts them together; each set of routes has its own file: the assets
 * (asset-route.ts), logging in and out (session-routes.ts), the console (console-routes.ts), the
 * admin pages (admin/), customer management (manage/) and the portal (portal/), all in the frame
 * of page-frame.ts, whose `pageError` answers refusals as pages.
 */
import type { Accounts } from "../accounts/accounts.js";
import type { DataEndpoints } from "../query/api/data-endpoints.js";
import type { ApiError } from "../query/api/errors.js";
import type { DownDependency } from "../query/api/process-endpoints.js";
import { configRegistry, type RegistryAccess } from "../query/api/registry-endpoints.js";
import { type ApiReply, reply } from "../query/api/reply.js";
import type { ApiRoute } from "../query/api/routes.js";
import type { ExportersSource } from "../query/exporters.js";
import type { TrafficByClass } from "../query/traffic-by-class.js";
import type { RegistryCustomer } from "../registry/model.js";
import type { Config } from "../schema/config.js";
import type { TrafficQuery } from "../schema/series-store.js";
import { adminRoutes } from "./admin/admin-routes.js";
import { createBrandStylesheets } from "./admin/brand-stylesheets.js";
import { configPortal, createSettingsCache, type SettingsCache } from "./admin/settings-cache.js";
import { assetRoute } from "./asset-route.js";
import type { Assets } from "./assets.js";
import { encodedPage } from "./compression.js";
import { consoleRoutes } from "./console-routes.js";
import { type ManageDeps, manageRoutes } from "./manage/manage-routes.js";
import { HTML, pageFrame, viewerOf } from "./page-frame.js";
import { portalPageRoutes } from "./portal/portal-page.js";
import { BUILT_IN, type PortalTemplates } from "./portal/templates.js";
import { portalHomeRoute, sessionRoutes } from "./session-routes.js";

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
  pageError(e: ApiError, target: string, o?: { back?: string; max?: number }): ApiReply;
}

/** The path prefixes of pages: an unknown path under them gets the 404 page (after login). */
export const PAGE_PREFIXES = ["/console", "/portal"] as const;

export function webPages(deps: WebDeps): WebPages {
  const { assets, config } = deps;
  const portal = configPortal(config, deps.logo);
  const settings = deps.settings ?? createSettingsCache(portal, undefined);
  const stylesheets = createBrandStylesheets();
  const { brand, page, pageError } = pageFrame(assets, settings, stylesheets);

  const routes: ApiRoute[] = [
    assetRoute(assets, settings, stylesheets),
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
    ...sessionRoutes({
      accounts: deps.accounts,
      loginText: () => settings.current().loginText,
      page: (status, title, area, body) => page(status, title, area, body),
    }),
    ...consoleRoutes({
      config,
      data: deps.data,
      customer: deps.customer,
      routers: deps.routers,
      serviceTypes: deps.serviceTypes,
      now: deps.now,
      exporters: deps.exporters,
      status: deps.status,
      health: deps.health,
      trafficByClass: deps.trafficByClass,
      page: (input, status, title, body, o = {}) =>
        page(status, title, "console", body, {
          viewer: viewerOf(input.principal),
          charts: o.charts === true,
        }),
    }),
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
    portalHomeRoute,
    ...portalPageRoutes({
      config,
      data: deps.data,
      customer: deps.customer,
      customerMotd: deps.customerMotd,
      now: deps.now,
      brand,
      globalMotd: () => settings.current().motd,
      templates: deps.templates ?? (() => ({ of: () => BUILT_IN, files: [], names: [] })),
      page: (input, title, body) =>
        page(200, title, "portal", body, { viewer: viewerOf(input.principal), charts: true }),
    }),
  ];

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
