/**
 * The routes of signing in and out: each area's login page and login form, the logout form; and
 * `/portal`, which sends a viewer on to its own page. A customer's users always land in their own
 * portal, whatever the login form's `next` says of the console.
 */
import type { Accounts } from "../accounts/accounts.js";
import { isCustomerRole, type Principal } from "../accounts/model.js";
import { clearedSessionCookie, sessionCookie } from "../accounts/sessions.js";
import type { ApiReply } from "../query/api/reply.js";
import type { ApiRoute, RouteInput } from "../query/api/routes.js";
import type { Html } from "./html.js";
import type { Area } from "./layout.js";
import { renderLogin, safeNext } from "./login-page.js";
import { isOperator, PAGE, redirect, who } from "./page-frame.js";

export interface SessionRoutesDeps {
  accounts: Accounts;
  /** The portal's login text in force (admin pages or config). */
  loginText(): string | undefined;
  /** A page of an area (page-frame.ts) without a viewer. */
  page(status: number, title: string, area: Area, body: Html): ApiReply;
}

/** Where a principal's pages start: a customer's own portal page, or the console. */
export function home(p: Principal): string {
  return isCustomerRole(p.role) && p.customer !== undefined
    ? `/portal/customers/${encodeURIComponent(p.customer)}`
    : "/console";
}

export function sessionRoutes(deps: SessionRoutesDeps): ApiRoute[] {
  function loginPage(
    area: Area,
    status: number,
    o: { next?: string | undefined; user?: string; problem?: string } = {},
  ) {
    return deps.page(
      status,
      "Log in",
      area,
      renderLogin({
        area,
        next: o.next,
        user: o.user,
        problem: o.problem,
        ...(area === "portal" ? { loginText: deps.loginText() } : {}),
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

  const logout: ApiRoute = {
    method: "POST",
    path: "/logout",
    access: "user",
    page: true,
    form: true,
    inProcess: false,
    summary: "Log out from a page's logout form (its CSRF token in the form): on to the login page",
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
  };

  return [...loginRoutes("console"), ...loginRoutes("portal"), logout];
}

/** `/portal`: on to the viewer's own page. */
export const portalHomeRoute: ApiRoute = {
  path: "/portal",
  access: "user",
  page: true,
  inProcess: false,
  summary: "The portal: on to the customer's own page (operators: the console)",
  responses: { 303: { description: "On to the viewer's page" } },
  handler: (input) => redirect(home(who(input))),
};
