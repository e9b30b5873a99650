/**
 * The plumbing every page shares: the branding in force, the frame around a body (layout.ts),
 * the viewer of a principal, redirects, and `pageError`, which answers refusals as pages: a
 * redirect to the login page without credentials, and one 404 page for an unknown id and
 * another customer's alike.
 */
import type { Principal } from "../accounts/model.js";
import type { ApiError } from "../query/api/errors.js";
import { type ApiReply, reply } from "../query/api/reply.js";
import type { RouteInput } from "../query/api/routes.js";
import type { BrandStylesheets } from "./admin/brand-stylesheets.js";
import type { SettingsCache } from "./admin/settings-cache.js";
import type { Assets } from "./assets.js";
import type { Html } from "./html.js";
import { type Area, type Branding, renderPage, type Viewer } from "./layout.js";
import { renderError, renderTooLarge, safeNext } from "./login-page.js";

export const HTML = "text/html; charset=utf-8";
/** The OpenAPI responses of a route that answers a page. */
export const PAGE = { 200: { description: "An HTML page" } } as const;

export interface PageOptions {
  viewer?: Viewer | undefined;
  charts?: boolean;
  admin?: boolean;
  headers?: Record<string, string>;
}

export interface PageFrame {
  /** The branding in force (the pages ask `settings.fresh()` before they render). */
  brand(): Branding;
  /** A page: the frame around a body. */
  page(status: number, title: string, area: Area, body: Html, o?: PageOptions): ApiReply;
  /** A refusal as a page (login redirect for 401, an error page otherwise). */
  pageError(e: ApiError, target: string, o?: { back?: string; max?: number }): ApiReply;
}

export const isOperator = (p: Principal) => p.role === "admin" || p.role === "operator";

export function viewerOf(p: Principal | undefined): Viewer | undefined {
  if (p === undefined) return undefined;
  return { user: p.user, role: p.role, customer: p.customer, csrf: p.csrf };
}

export function redirect(location: string, headers: Record<string, string> = {}): ApiReply {
  return reply(303, "", HTML, { location, ...headers });
}

/** The principal of a signed-in page (the route table's access check has run). */
export function who(input: RouteInput): Principal {
  if (input.principal === undefined) throw new Error("a signed-in page ran without a principal");
  return input.principal;
}

export function pageFrame(
  assets: Assets,
  settings: SettingsCache,
  stylesheets: BrandStylesheets,
): PageFrame {
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
    o: PageOptions = {},
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

  function pageError(
    e: ApiError,
    target: string,
    o: { back?: string; max?: number } = {},
  ): ApiReply {
    const area: Area = target.startsWith("/portal") ? "portal" : "console";
    if (e.status === 401) {
      const cookie = e.headers["set-cookie"];
      const next = safeNext(target);
      return redirect(
        `/${area}/login${next === undefined ? "" : `?next=${encodeURIComponent(next)}`}`,
        cookie === undefined ? {} : { "set-cookie": String(cookie) },
      );
    }
    const { title, body } =
      e.status === 413 && o.back !== undefined && o.max !== undefined
        ? renderTooLarge(o.max, o.back)
        : renderError(e.status, e.message);
    const headers: Record<string, string> = {};
    for (const name of ["allow", "retry-after"]) {
      const v = e.headers[name];
      if (v !== undefined) headers[name] = String(v);
    }
    return page(e.status, title, area, body, { headers });
  }

  return { brand, page, pageError };
}
