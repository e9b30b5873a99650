/**
 * The routes of accounts (docs/accounts.md): login and logout (`/api/v1/session`), the caller's own
 * password, `me` (who am I, with the messages of the day), the users (admin), personal tokens
 * and the accounts audit log (`/api/v1/accounts/audit`, admin; the customer registry's own audit
 * is apart). Handlers parse, call accounts/ and render; the access is the table's.
 */
import { z } from "zod";
import { type AccountError, type Accounts, isAccountError } from "../../accounts/accounts.js";
import {
  AUTH_METHODS,
  loginSchema,
  newTokenSchema,
  newUserSchema,
  type Principal,
  ROLES,
  type User,
  userIdSchema,
  userPatchSchema,
} from "../../accounts/model.js";
import { clearedSessionCookie, sessionCookie } from "../../accounts/sessions.js";
import { ApiError, badParameter, shown } from "./errors.js";
import { readParameters } from "./parameters.js";
import { type ApiReply, jsonReply, noContent } from "./reply.js";
import type { ApiRoute, RouteInput } from "./routes.js";
import { NoQuery } from "./schemas.js";

export interface AccountRouteDeps {
  accounts: Accounts;
  /** The global message of the day in force (config `motd`, or the one the admin pages saved). */
  motd?: () => string | undefined | Promise<string | undefined>;
  /** A customer's own message of the day (the registry's, or none). */
  customerMotd?: (customer: string) => string | undefined | Promise<string | undefined>;
  /** Whether a customer id exists (users of the customer roles must name one); absent: any. */
  customerExists?: (customer: string) => boolean | Promise<boolean>;
}

const json = (schema: z.ZodType) => ({ "application/json": schema });

const UserBody = z
  .strictObject({
    id: z.string(),
    role: z.enum(ROLES),
    customer: z.string().optional(),
    auth: z.enum(AUTH_METHODS),
    disabled: z.boolean(),
    createdAt: z.string().meta({ description: "UTC, ISO 8601" }),
    updatedAt: z.string().meta({ description: "UTC, ISO 8601" }),
  })
  .meta({ id: "User" });
const UsersBody = z.strictObject({ users: z.array(UserBody) });
const LoginAnswer = z.strictObject({
  user: z.strictObject({
    id: z.string(),
    role: z.enum(ROLES),
    customer: z.string().optional(),
  }),
  csrfToken: z.string().meta({
    description:
      "Send it as X-CSRF-Token with every POST, PUT, PATCH and DELETE that uses the session cookie",
  }),
});
const MeAnswer = z.strictObject({
  id: z.string(),
  role: z.enum(ROLES),
  customer: z.string().optional(),
  via: z.enum(["session", "token", "operator-token"]),
  csrfToken: z.string().optional(),
  motd: z.strictObject({ global: z.string().nullable(), customer: z.string().nullable() }),
});
const TokenInfoBody = z.strictObject({
  id: z.string(),
  user: z.string(),
  name: z.string(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
});
const NewTokenAnswer = z.strictObject({
  token: z.string().meta({ description: "The token: shown this once, never again" }),
  info: TokenInfoBody,
});
const TokensBody = z.strictObject({ tokens: z.array(TokenInfoBody) });
const AuditBody = z.strictObject({
  entries: z.array(
    z.strictObject({
      seq: z.number(),
      at: z.string(),
      actor: z.string(),
      action: z.string(),
      target: z.string(),
      client: z.string(),
      detail: z.record(z.string(), z.unknown()),
    }),
  ),
});
const PasswordChange = z.strictObject({ currentPassword: z.string(), password: z.string() });
const UserPath = z.strictObject({ id: z.string().meta({ description: "A user id" }) });
const TokenPath = z.strictObject({ id: z.string().meta({ description: "A token id" }) });
const TokensQuery = z.strictObject({
  all: z.enum(["true", "false"]).optional().meta({ description: "Admins: everyone's tokens" }),
});
const AuditQuery = z.strictObject({
  since: z.string().optional().meta({ description: "Entries after this sequence number" }),
  limit: z.string().optional().meta({ description: "At most this many entries (1-10000)" }),
});

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

function userOut(u: User) {
  return { ...u, createdAt: iso(u.createdAt), updatedAt: iso(u.updatedAt) };
}

function tokenOut(t: {
  id: string;
  user: string;
  name: string;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
}) {
  return {
    ...t,
    createdAt: iso(t.createdAt),
    expiresAt: isoOrNull(t.expiresAt),
    lastUsedAt: isoOrNull(t.lastUsedAt),
  };
}

function apiErrorOf(e: AccountError): ApiError {
  switch (e.code) {
    case "FT_ACCOUNT_INVALID":
      return new ApiError(400, "FT_BAD_BODY", e.message, e.field);
    case "FT_ACCOUNT_EXISTS":
      return new ApiError(409, "FT_CONFLICT", e.message, e.field);
    case "FT_ACCOUNT_NOT_FOUND":
      return new ApiError(404, "FT_NOT_FOUND", e.message);
    case "FT_ACCOUNT_FORBIDDEN":
      return new ApiError(403, "FT_FORBIDDEN", e.message);
  }
}

/** Runs an account call, its refusals answered as API errors. */
async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isAccountError(e)) throw apiErrorOf(e);
    throw e;
  }
}

function who(input: RouteInput): Principal {
  if (input.principal === undefined) throw new Error("a user route ran without a principal");
  return input.principal;
}

function userId(params: Readonly<Record<string, string>>): string {
  const id = params.id ?? "";
  if (!userIdSchema.safeParse(id).success) {
    // Not an id any user can have: the same answer as an unknown one.
    throw new ApiError(404, "FT_NOT_FOUND", `no user ${shown(id)}`);
  }
  return id;
}

function intParameter(p: Map<string, string>, name: string, min: number, max: number) {
  const v = p.get(name);
  if (v === undefined) return undefined;
  if (!/^\d{1,15}$/.test(v) || Number(v) < min || Number(v) > max) {
    throw badParameter(name, `${name} ${shown(v)} is not a whole number from ${min} to ${max}`);
  }
  return Number(v);
}

export function accountRoutes(deps: AccountRouteDeps): ApiRoute[] {
  const { accounts } = deps;

  async function checkCustomer(customer: string | null | undefined): Promise<void> {
    if (customer === undefined || customer === null || deps.customerExists === undefined) return;
    if (!(await deps.customerExists(customer))) {
      throw new ApiError(
        400,
        "FT_BAD_BODY",
        `customer: no customer ${shown(customer)}`,
        "customer",
      );
    }
  }

  const base = { inProcess: false } as const;
  return [
    {
      ...base,
      method: "POST",
      path: "/api/v1/session",
      access: "public",
      summary: "Log in: sets the session cookie and answers the CSRF token",
      description:
        "A wrong password and an unknown user get the same 401. Failed logins are limited per address, per (user, address) and per user (docs/accounts.md#rate-limits): 429 with Retry-After.",
      body: loginSchema,
      responses: {
        200: {
          description: "Logged in (Set-Cookie: __Host-flowtally_session)",
          content: json(LoginAnswer),
        },
        401: { description: "The user name or the password is not right (FT_LOGIN_FAILED)" },
        429: { description: "Too many failed logins (FT_TOO_MANY_LOGINS)" },
      },
      async handler({ body, client, sessionSecret }): Promise<ApiReply> {
        const { user, password } = body as z.infer<typeof loginSchema>;
        const r = await accounts.login(user, password, client, sessionSecret);
        if (!r.ok) {
          if (r.reason === "limited") {
            const seconds = Math.max(1, Math.ceil(r.retryAfterMs / 1000));
            throw new ApiError(
              429,
              "FT_TOO_MANY_LOGINS",
              `too many failed logins; try again in ${seconds} s`,
              undefined,
              { "retry-after": String(seconds) },
            );
          }
          throw new ApiError(401, "FT_LOGIN_FAILED", "the user name or the password is not right");
        }
        return jsonReply(
          200,
          {
            user: {
              id: r.user.id,
              role: r.user.role,
              ...(r.user.customer === undefined ? {} : { customer: r.user.customer }),
            },
            csrfToken: r.csrf,
          },
          { "set-cookie": sessionCookie(r.secret, { maxAgeSeconds: r.maxAgeSeconds }) },
        );
      },
    },
    {
      ...base,
      method: "DELETE",
      path: "/api/v1/session",
      access: "user",
      summary: "Log out: ends the session and clears the cookie",
      responses: { 204: { description: "Logged out" } },
      async handler(input) {
        await accounts.logout(who(input), input.client);
        return noContent({ "set-cookie": clearedSessionCookie() });
      },
    },
    {
      ...base,
      method: "POST",
      path: "/api/v1/session/password",
      access: "user",
      summary: "Change one's own password (ends every session and token of the user)",
      body: PasswordChange,
      responses: { 204: { description: "Changed; log in again" } },
      async handler(input) {
        const { currentPassword, password } = input.body as z.infer<typeof PasswordChange>;
        await call(() =>
          accounts.changeOwnPassword(who(input), currentPassword, password, input.client),
        );
        return noContent({ "set-cookie": clearedSessionCookie() });
      },
    },
    {
      ...base,
      path: "/api/v1/me",
      access: "user",
      summary: "Who the credentials are: user, role, customer, and the messages of the day",
      query: NoQuery,
      responses: { 200: { description: "The caller", content: json(MeAnswer) } },
      async handler(input) {
        readParameters(input.search, []);
        const p = who(input);
        const customerMotd =
          p.customer === undefined ? undefined : await deps.customerMotd?.(p.customer);
        return jsonReply(200, {
          id: p.user,
          role: p.role,
          ...(p.customer === undefined ? {} : { customer: p.customer }),
          via: p.via,
          ...(p.csrf === undefined ? {} : { csrfToken: p.csrf }),
          motd: { global: (await deps.motd?.()) ?? null, customer: customerMotd ?? null },
        });
      },
    },
    {
      ...base,
      method: "POST",
      path: "/api/v1/users",
      access: "admin",
      summary: "Add a user",
      body: newUserSchema,
      responses: {
        201: { description: "The user", content: json(UserBody) },
        409: { description: "The id is taken (FT_CONFLICT)" },
      },
      async handler(input) {
        const u = input.body as z.infer<typeof newUserSchema>;
        await checkCustomer(u.customer);
        const made = await call(() => accounts.addUser(u, who(input), input.client));
        return jsonReply(201, userOut(made));
      },
    },
    {
      ...base,
      path: "/api/v1/users",
      access: "admin",
      summary: "Every user (never a password hash)",
      query: NoQuery,
      responses: { 200: { description: "The users", content: json(UsersBody) } },
      async handler({ search }) {
        readParameters(search, []);
        return jsonReply(200, { users: (await accounts.listUsers()).map(userOut) });
      },
    },
    {
      ...base,
      path: "/api/v1/users/{id}",
      access: "admin",
      summary: "One user",
      params: UserPath,
      query: NoQuery,
      responses: { 200: { description: "The user", content: json(UserBody) } },
      async handler({ params, search }) {
        readParameters(search, []);
        return jsonReply(200, userOut(await call(() => accounts.getUser(userId(params)))));
      },
    },
    {
      ...base,
      method: "PATCH",
      path: "/api/v1/users/{id}",
      access: "admin",
      summary:
        "Change a user: role, customer, auth, password, disabled (disabling, a new password, auth, role or customer end its sessions and tokens)",
      params: UserPath,
      body: userPatchSchema,
      responses: { 200: { description: "The user", content: json(UserBody) } },
      async handler(input) {
        const patch = input.body as z.infer<typeof userPatchSchema>;
        const id = userId(input.params);
        await checkCustomer(patch.customer);
        const u = await call(() => accounts.updateUser(id, patch, who(input), input.client));
        return jsonReply(200, userOut(u));
      },
    },
    {
      ...base,
      method: "DELETE",
      path: "/api/v1/users/{id}",
      access: "admin",
      summary: "Delete a user, with its sessions and tokens",
      params: UserPath,
      responses: { 204: { description: "Deleted" } },
      async handler(input) {
        const id = userId(input.params);
        await call(() => accounts.deleteUser(id, who(input), input.client));
        return noContent();
      },
    },
    {
      ...base,
      method: "POST",
      path: "/api/v1/tokens",
      access: "user",
      summary: "Make a personal API token for the caller: the answer is the only time it is shown",
      body: newTokenSchema,
      responses: { 201: { description: "The token", content: json(NewTokenAnswer) } },
      async handler(input) {
        const body = input.body as z.infer<typeof newTokenSchema>;
        const made = await call(() => accounts.createToken(who(input), body, input.client));
        return jsonReply(201, { token: made.token, info: tokenOut(made.info) });
      },
    },
    {
      ...base,
      path: "/api/v1/tokens",
      access: "user",
      summary:
        "The caller's personal tokens (never their secrets); admins: `all=true` for everyone's",
      query: TokensQuery,
      responses: { 200: { description: "The tokens", content: json(TokensBody) } },
      async handler(input) {
        const p = readParameters(input.search, ["all"]);
        const all = p.get("all");
        if (all !== undefined && all !== "true" && all !== "false") {
          throw badParameter("all", `all ${shown(all)}: expected true or false`);
        }
        const tokens = await accounts.listTokens(who(input), all === "true");
        return jsonReply(200, { tokens: tokens.map(tokenOut) });
      },
    },
    {
      ...base,
      method: "DELETE",
      path: "/api/v1/tokens/{id}",
      access: "user",
      summary: "Revoke a personal token (one's own; admins: any)",
      params: TokenPath,
      responses: { 204: { description: "Revoked" } },
      async handler(input) {
        const id = input.params.id ?? "";
        await call(() => accounts.revokeToken(who(input), id, input.client));
        return noContent();
      },
    },
    {
      ...base,
      path: "/api/v1/accounts/audit",
      access: "admin",
      summary:
        "The accounts audit log: logins, failures, user and token changes (never a password)",
      query: AuditQuery,
      responses: { 200: { description: "The entries, oldest first", content: json(AuditBody) } },
      async handler({ search }) {
        const p = readParameters(search, ["since", "limit"]);
        const since = intParameter(p, "since", 0, Number.MAX_SAFE_INTEGER) ?? 0;
        const limit = intParameter(p, "limit", 1, 10_000) ?? 1000;
        const entries = await accounts.readAudit({ since, limit });
        return jsonReply(200, {
          entries: entries.map((e) => ({ ...e, at: iso(e.at) })),
        });
      },
    },
  ];
}
