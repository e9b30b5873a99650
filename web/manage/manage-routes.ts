/**
 * The route of the console's customer management page (/console/manage), for the one route table
 * (operator access, as the registry API's writes). The panes' rows come from the registry list API
 * itself (its route handlers, called in process: the same sorting, field selection, search and
 * keyset pages for 100 000 customers); an htmx request (HX-Request) gets only the panes. Writes
 * are not made here: the page's script sends them to the API (`POST /api/v1/changes`) with the
 * session's CSRF token.
 */
import { isApiError } from "../../query/api/errors.js";
import type { ApiReply } from "../../query/api/reply.js";
import type { ApiRoute, RouteInput } from "../../query/api/routes.js";
import type { Html } from "../html.js";
import {
  CUSTOMER_COLUMNS,
  DEFAULT_COLUMNS,
  LINK_COLUMNS,
  type ListAnswer,
  type ManageRequest,
  type ManageView,
  renderManage,
  renderPanes,
  SITE_COLUMNS,
} from "./manage-view.js";

export interface ManageDeps {
  /** Where customers come from: `config` shows them read-only. */
  source: "config" | "database";
  /** The API's routes, among them the registry's list routes (GET /api/v1/customers, …). */
  api: readonly ApiRoute[];
  /** The page's path of the script (web/static/manage.js). */
  script: string;
  /** A page in the console's frame. */
  page(status: number, title: string, body: Html, input: RouteInput): ApiReply;
  /** A fragment (the panes alone). */
  fragment(status: number, body: Html): ApiReply;
}

const ORDERS = ["asc", "desc"] as const;
const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const LIMITS = [50, 100, 500];

/** The request from the query string; values that are not allowed fall back to the defaults. */
export function readManageRequest(search: string): ManageRequest {
  const q = new URLSearchParams(search);
  const pick = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const v = q.get(name);
    return v !== null && (allowed as readonly string[]).includes(v) ? (v as T) : fallback;
  };
  const colsText = q.getAll("cols").join(",");
  const cols =
    colsText === ""
      ? q.has("cols")
        ? []
        : DEFAULT_COLUMNS
      : CUSTOMER_COLUMNS.filter((c) => colsText.split(",").includes(c));
  const id = (name: string) => {
    const v = q.get(name);
    return v !== null && ID.test(v) ? v : undefined;
  };
  const limit = Number(q.get("limit") ?? "50");
  const customer = id("customer");
  return {
    q: (q.get("q") ?? "").slice(0, 200),
    sort: pick("sort", ["id", ...CUSTOMER_COLUMNS], "id"),
    order: pick("order", ORDERS, "asc"),
    cols: [...cols],
    cursor: q.get("cursor") ?? undefined,
    limit: LIMITS.includes(limit) ? limit : 50,
    customer,
    site: customer === undefined ? undefined : id("site"),
    ssort: pick("ssort", SITE_COLUMNS, "id"),
    sorder: pick("sorder", ORDERS, "asc"),
    lsort: pick(
      "lsort",
      LINK_COLUMNS.filter((c) => c !== "prefixes"),
      "id",
    ),
    lorder: pick("lorder", ORDERS, "asc"),
  };
}

export function manageRoutes(deps: ManageDeps): ApiRoute[] {
  const listRoute = (path: string) => {
    const r = deps.api.find((x) => (x.method ?? "GET") === "GET" && x.path === path);
    if (r === undefined) throw new Error(`the registry's list route ${path} is missing`);
    return r;
  };
  const customers = listRoute("/api/v1/customers");
  const sites = listRoute("/api/v1/customers/{id}/sites");
  const links = listRoute("/api/v1/customers/{id}/sites/{site}/links");

  /** A list route's answer; 404 (a record not in the registry, e.g. an unsaved one): null. */
  async function list(
    route: ApiRoute,
    input: RouteInput,
    params: Record<string, string>,
    query: Record<string, string | undefined>,
  ): Promise<ListAnswer | null> {
    const search = new URLSearchParams(
      Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined),
    ).toString();
    try {
      const r = await route.handler({ ...input, params, search });
      return JSON.parse(r.body) as ListAnswer;
    } catch (e) {
      if (isApiError(e) && e.status === 404) return null;
      throw e;
    }
  }

  async function handler(input: RouteInput): Promise<ApiReply> {
    const request = readManageRequest(input.search);
    let problem: string | undefined;
    const customerQuery = {
      sort: request.sort,
      order: request.order,
      limit: String(request.limit),
      ...(request.q === "" ? {} : { q: request.q }),
    };
    let customerList: ListAnswer | null;
    try {
      customerList = await list(customers, input, {}, { ...customerQuery, cursor: request.cursor });
    } catch (e) {
      // A cursor this page did not give (edited, or from before a restart): the first page.
      if (!isApiError(e) || e.status !== 400) throw e;
      problem = `${e.message}: showing the first page`;
      request.cursor = undefined;
      customerList = await list(customers, input, {}, customerQuery);
    }
    const view: ManageView = {
      request,
      source: deps.source,
      csrf: input.principal?.csrf,
      customers: customerList ?? { items: [], total: 0, registryVersion: 0, next: null },
      problem,
    };
    if (request.customer !== undefined) {
      view.sites = await list(
        sites,
        input,
        { id: request.customer },
        { sort: request.ssort, order: request.sorder, limit: "1000" },
      );
      if (request.site !== undefined) {
        view.links =
          view.sites === null
            ? null
            : await list(
                links,
                input,
                { id: request.customer, site: request.site },
                { sort: request.lsort, order: request.lorder, limit: "1000" },
              );
      }
    }
    if (
      input.header("hx-request") === "true" &&
      input.header("hx-history-restore-request") !== "true"
    ) {
      return deps.fragment(200, renderPanes(view));
    }
    return deps.page(200, "Customer management", renderManage(view, deps.script), input);
  }

  return [
    {
      path: "/console/manage",
      access: "operator",
      page: true,
      inProcess: false,
      summary:
        "The console's customer management: customers → sites → access links, add / edit / delete, save and undo, import and export",
      responses: { 200: { description: "An HTML page (with HX-Request: the panes alone)" } },
      handler,
    },
  ];
}
