/**
 * The routes of the users pages (admins) and of the signed-in user's own API tokens, in the one
 * route table. Handlers read the form, call accounts/ with the API's semantics (the users API's
 * schemas and refusals; disabling a user ends its sessions and tokens) and render: a refusal is
 * the page again with the problem beside its field, a success a redirect (303) to the page.
 */
import { type AccountError, isAccountError } from "../../accounts/accounts.js";
import {
  isCustomerRole,
  newTokenSchema,
  newUserSchema,
  type Principal,
  userIdSchema,
  userPatchSchema,
} from "../../accounts/model.js";
import { notFound } from "../../query/api/errors.js";
import { type ApiReply, reply } from "../../query/api/reply.js";
import type { ApiRoute, RouteInput } from "../../query/api/routes.js";
import type { AdminDeps } from "./admin-deps.js";
import type { FieldProblems } from "./portal-settings.js";
import { renderTokens, TOKEN_EXPIRIES } from "./tokens-page.js";
import { renderUser, renderUsers, type UserForm, type UserRow } from "./users-page.js";

const PAGE = { 200: { description: "An HTML page" } } as const;
const MOVED = { 303: { description: "Done: on to the page" } } as const;

export function redirect(location: string): ApiReply {
  return reply(303, "", "text/html; charset=utf-8", { location });
}

export function who(input: RouteInput): Principal {
  if (input.principal === undefined) throw new Error("an admin page ran without a principal");
  return input.principal;
}

/** A zod result's problems by their first path element. */
export function issueProblems(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>) {
  const problems: FieldProblems = {};
  for (const i of issues) {
    const key = String(i.path[0] ?? "form");
    problems[key] ??= i.message;
  }
  return problems;
}

/** An account refusal beside its field (or above the form); not found: the 404 page. */
function accountProblem(e: AccountError): FieldProblems {
  if (e.code === "FT_ACCOUNT_NOT_FOUND") throw notFound("no such user");
  return { [e.field ?? "form"]: e.message };
}

type Called<T> = { ok: true; value: T } | { ok: false; problems: FieldProblems };

async function accountCall<T>(fn: () => Promise<T>): Promise<Called<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    if (isAccountError(e)) return { ok: false, problems: accountProblem(e) };
    throw e;
  }
}

const DONE: Readonly<Record<string, (id: string) => string>> = {
  added: (id) => `User ${id} added.`,
  saved: (id) => `User ${id} saved.`,
  password: (id) => `The password of ${id} is set; its sessions and tokens ended.`,
  disabled: (id) => `User ${id} disabled; its sessions and tokens ended.`,
  enabled: (id) => `User ${id} enabled.`,
  deleted: (id) => `User ${id} deleted.`,
};

/** The notice of `?done=…&user=…` (a known word and an id only: no text from the link). */
function doneNotice(search: string): string | undefined {
  const q = new URLSearchParams(search);
  const make = DONE[q.get("done") ?? ""];
  const id = q.get("user") ?? "";
  return make === undefined || !userIdSchema.safeParse(id).success ? undefined : make(id);
}

export function userRoutes(deps: AdminDeps): ApiRoute[] {
  const { accounts } = deps;

  async function rows(): Promise<UserRow[]> {
    const [users, logins] = await Promise.all([accounts.listUsers(), accounts.lastLogins()]);
    return users.map((u) => ({ ...u, lastLoginMs: logins.get(u.id) }));
  }

  async function row(id: string): Promise<UserRow> {
    const user = (await rows()).find((u) => u.id === id);
    if (user === undefined) throw notFound("no such user");
    return user;
  }

  async function customerProblem(customer: string | null | undefined): Promise<FieldProblems> {
    if (customer === undefined || customer === null || (await deps.customerExists(customer))) {
      return {};
    }
    return { customer: `no customer ${customer}` };
  }

  const list = async (input: RouteInput, status = 200, form?: UserForm) =>
    deps.render(
      input,
      status,
      "Users",
      renderUsers({
        viewer: deps.viewer(input),
        users: await rows(),
        form,
        done: doneNotice(input.search),
      }),
    );

  async function add(input: RouteInput): Promise<ApiReply> {
    const form = input.body as URLSearchParams;
    const values = Object.fromEntries(
      ["id", "role", "customer", "auth"].map((k) => [k, (form.get(k) ?? "").trim()]),
    );
    const password = form.get("password") ?? "";
    const parsed = newUserSchema.safeParse({
      id: values.id,
      role: values.role,
      auth: values.auth,
      ...(values.customer === "" ? {} : { customer: values.customer }),
      ...(password === "" ? {} : { password }),
    });
    if (!parsed.success)
      return list(input, 400, { values, problems: issueProblems(parsed.error.issues) });
    const missing = await customerProblem(parsed.data.customer);
    if (Object.keys(missing).length > 0) return list(input, 400, { values, problems: missing });
    const made = await accountCall(() => accounts.addUser(parsed.data, who(input), input.client));
    if (!made.ok) {
      return list(input, made.problems.id !== undefined ? 409 : 400, {
        values,
        problems: made.problems,
      });
    }
    return redirect(`/console/admin/users?done=added&user=${encodeURIComponent(made.value.id)}`);
  }

  const userPage = async (input: RouteInput, status = 200, form?: UserForm) => {
    const user = await row(input.params.id ?? "");
    return deps.render(
      input,
      status,
      `User ${user.id}`,
      renderUser({ viewer: deps.viewer(input), user, form, done: doneNotice(input.search) }),
    );
  };

  async function change(input: RouteInput): Promise<ApiReply> {
    const id = input.params.id ?? "";
    if (!userIdSchema.safeParse(id).success) throw notFound("no such user");
    const form = input.body as URLSearchParams;
    const action = form.get("action") ?? "";
    const values = Object.fromEntries(
      ["role", "customer", "auth"].map((k) => [k, (form.get(k) ?? "").trim()]),
    );
    const again = (problems: FieldProblems, status = 400) =>
      userPage(input, status, { values, problems });
    const to = (done: string) =>
      redirect(
        `/console/admin/users/${encodeURIComponent(id)}?done=${done}&user=${encodeURIComponent(id)}`,
      );
    if (action === "delete") {
      if (form.get("confirm") !== "yes")
        return again({ confirm: "tick the box to delete the user" });
      const r = await accountCall(() => accounts.deleteUser(id, who(input), input.client));
      if (!r.ok) return again(r.problems);
      return redirect(`/console/admin/users?done=deleted&user=${encodeURIComponent(id)}`);
    }
    let patch: unknown;
    let done: string;
    switch (action) {
      case "update":
        patch = {
          role: values.role,
          auth: values.auth,
          customer: values.customer === "" ? null : values.customer,
        };
        done = "saved";
        break;
      case "password":
        patch = { password: form.get("password") ?? "" };
        done = "password";
        break;
      case "disable":
      case "enable":
        patch = { disabled: action === "disable" };
        done = `${action}d`;
        break;
      default:
        return again({ form: "action: expected update, password, disable, enable or delete" });
    }
    const parsed = userPatchSchema.safeParse(patch);
    if (!parsed.success) return again(issueProblems(parsed.error.issues));
    const missing = await customerProblem(
      parsed.data.role !== undefined && isCustomerRole(parsed.data.role)
        ? parsed.data.customer
        : undefined,
    );
    if (Object.keys(missing).length > 0) return again(missing);
    const r = await accountCall(() =>
      accounts.updateUser(id, parsed.data, who(input), input.client),
    );
    if (!r.ok) return again(r.problems);
    return to(done);
  }

  const tokensPage = async (
    input: RouteInput,
    status = 200,
    o: { made?: { token: string; name: string }; form?: UserForm } = {},
  ) => {
    const p = who(input);
    const tokens = p.via === "operator-token" ? [] : await accounts.listTokens(p, false);
    const done =
      new URLSearchParams(input.search).get("done") === "revoked" ? "Token revoked." : undefined;
    return deps.render(
      input,
      status,
      "My API tokens",
      renderTokens({
        viewer: deps.viewer(input),
        tokens,
        made: o.made,
        form: o.form,
        done,
        admin: p.role === "admin",
      }),
      { area: isCustomerRole(p.role) ? "portal" : "console", scripts: true },
    );
  };

  async function tokens(input: RouteInput): Promise<ApiReply> {
    const form = input.body as URLSearchParams;
    const p = who(input);
    if (form.get("action") === "revoke") {
      const r = await accountCall(() =>
        accounts.revokeToken(p, form.get("id") ?? "", input.client),
      );
      if (!r.ok) return tokensPage(input, 400, { form: { values: {}, problems: r.problems } });
      return redirect("/console/tokens?done=revoked");
    }
    const name = (form.get("name") ?? "").trim();
    const expiry = form.get("expiresIn") ?? "";
    const values = { name, expiresIn: expiry };
    if (!TOKEN_EXPIRIES.some(([v]) => v === expiry)) {
      return tokensPage(input, 400, {
        form: { values, problems: { expiresIn: "is not one of the choices" } },
      });
    }
    const parsed = newTokenSchema.safeParse({
      name,
      ...(expiry === "" ? {} : { expiresIn: Number(expiry) }),
    });
    if (!parsed.success)
      return tokensPage(input, 400, {
        form: { values, problems: issueProblems(parsed.error.issues) },
      });
    const made = await accountCall(() => accounts.createToken(p, parsed.data, input.client));
    if (!made.ok) return tokensPage(input, 403, { form: { values, problems: made.problems } });
    return tokensPage(input, 201, {
      made: { token: made.value.token, name: made.value.info.name },
    });
  }

  const base = { page: true, inProcess: false } as const;
  return [
    {
      ...base,
      path: "/console/admin/users",
      access: "admin",
      summary: "Admin: the users, and the form that adds one",
      responses: PAGE,
      handler: (input) => list(input),
    },
    {
      ...base,
      method: "POST",
      form: true,
      path: "/console/admin/users",
      access: "admin",
      summary: "Admin: add a user from the users page's form",
      responses: MOVED,
      handler: add,
    },
    {
      ...base,
      path: "/console/admin/users/{id}",
      access: "admin",
      summary: "Admin: one user, with its forms",
      responses: PAGE,
      handler: (input) => userPage(input),
    },
    {
      ...base,
      method: "POST",
      form: true,
      path: "/console/admin/users/{id}",
      access: "admin",
      summary:
        "Admin: change, disable, enable or delete a user, or set its password, from its page's forms",
      responses: MOVED,
      handler: change,
    },
    {
      ...base,
      path: "/console/tokens",
      access: "user",
      summary: "The signed-in user's own API tokens",
      responses: PAGE,
      handler: (input) => tokensPage(input),
    },
    {
      ...base,
      method: "POST",
      form: true,
      path: "/console/tokens",
      access: "user",
      summary: "Make (shown once) or revoke one of one's own API tokens",
      responses: { 201: { description: "The new token, shown this once" }, ...MOVED },
      handler: tokens,
    },
  ];
}
