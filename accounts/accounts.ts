/**
 * Accounts as a component: logins (with their rate limits and audit), sessions and personal
 * tokens resolved to a Principal, and the management of users and tokens, over an AccountStore.
 * The HTTP layer (query/api/account-routes.ts) only parses, calls these and renders.
 *
 * A failed login answers the same whatever failed (unknown user, wrong password, disabled user,
 * RADIUS reject or unavailable), after the same work: an unknown user's password is checked
 * against a dummy hash made with the same parameters.
 */
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { ID_PATTERN } from "../schema/config.js";
import type { AccountStore, AuditInput, AuditSearch } from "./account-store.js";
import {
  createLoginLimiter,
  DEFAULT_LOGIN_LIMITS,
  type LoginLimits,
  limitName,
} from "./login-limits.js";
import {
  type AccountAuditEntry,
  isCustomerRole,
  type NewUser,
  type Principal,
  type Role,
  type StoredUser,
  type TokenInfo,
  type User,
  type UserPatch,
} from "./model.js";
import { createOutageBook, type OutageBook } from "./outages.js";
import {
  hashPassword,
  needsRehash,
  OWASP_SCRYPT,
  passwordProblem,
  type ScryptParams,
  verifyPassword,
} from "./password.js";
import type { RadiusVerdict } from "./radius-client.js";
import {
  cookieMaxAge,
  csrfToken,
  DEFAULT_SESSION_LIMITS,
  digestSecret,
  newSecret,
  newToken,
  type SessionLimits,
  sessionState,
  TOKEN_PREFIX,
  touchDue,
} from "./sessions.js";

const SWEEP_EVERY_MS = 10 * 60_000;
const MAX_REFUSALS_TRACKED = 10_000;

export type { RadiusVerdict };
/** Verifies a RADIUS user's password (the RADIUS client, radius-client.ts). */
export type RadiusCheck = (user: string, password: string) => Promise<RadiusVerdict>;

export type AccountErrorCode =
  | "FT_ACCOUNT_INVALID"
  | "FT_ACCOUNT_EXISTS"
  | "FT_ACCOUNT_NOT_FOUND"
  | "FT_ACCOUNT_FORBIDDEN";

/** A refused account call: the API answers 400, 409, 404 or 403 with `field` as the parameter. */
export class AccountError extends Error {
  constructor(
    readonly code: AccountErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = "AccountError";
  }
}

export function isAccountError(e: unknown): e is AccountError {
  return e instanceof AccountError;
}

export interface AccountsConfig {
  sessions: SessionLimits;
  login: LoginLimits;
  /** Password hashes made at most this many at once (each takes 128 MiB at OWASP's parameters). */
  maxConcurrentHashes?: number;
}

/** The accounts' part of the config (api.sessions, api.login). */
export function accountsConfigOf(api: {
  sessions: { idleTimeout: number; absoluteTimeout: number };
  login: {
    window: number;
    perAddress: number;
    perUserAddress: number;
    perUser: number;
    trustedFor: number;
    maxEntries: number;
  };
}): AccountsConfig {
  return {
    sessions: {
      idleTimeoutMs: api.sessions.idleTimeout,
      absoluteTimeoutMs: api.sessions.absoluteTimeout,
    },
    login: {
      windowMs: api.login.window,
      perAddress: api.login.perAddress,
      perUserAddress: api.login.perUserAddress,
      perUser: api.login.perUser,
      trustedForMs: api.login.trustedFor,
      maxEntries: api.login.maxEntries,
    },
  };
}

export interface AccountsDeps {
  store: AccountStore;
  now: () => number;
  log?: Logger;
  radius?: RadiusCheck;
  /** scrypt parameters of new hashes (default OWASP's; tests pass cheaper ones). */
  passwordParams?: ScryptParams;
}

export type LoginResult =
  | {
      ok: true;
      /** The session secret: the cookie's value, never stored. */
      secret: string;
      csrf: string;
      user: User;
      maxAgeSeconds: number;
    }
  | { ok: false; reason: "invalid" }
  | { ok: false; reason: "limited"; retryAfterMs: number };

export interface NewToken {
  /** The token itself: shown once, never stored. */
  token: string;
  info: TokenInfo;
}

export interface Accounts {
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Checks the credentials and makes a new session; `previousSecret` (the session cookie the
   * client still sent) is ended when the login succeeds, so that a login never keeps an old id.
   */
  login(
    user: string,
    password: string,
    client: string,
    previousSecret?: string,
  ): Promise<LoginResult>;
  logout(principal: Principal, client: string): Promise<void>;
  /** The principal of a session secret (the cookie), or undefined when it is not a live session. */
  fromSession(secret: string): Promise<Principal | undefined>;
  /** The principal of a personal token, or undefined. */
  fromToken(token: string): Promise<Principal | undefined>;
  addUser(input: NewUser, actor: Principal, client: string): Promise<User>;
  listUsers(): Promise<User[]>;
  getUser(id: string): Promise<User>;
  updateUser(id: string, patch: UserPatch, actor: Principal, client: string): Promise<User>;
  deleteUser(id: string, actor: Principal, client: string): Promise<void>;
  changeOwnPassword(
    principal: Principal,
    current: string,
    next: string,
    client: string,
  ): Promise<void>;
  createToken(
    principal: Principal,
    input: { name: string; expiresIn?: number | undefined },
    client: string,
  ): Promise<NewToken>;
  /** The caller's tokens; an admin's call with `all` lists everyone's. */
  listTokens(principal: Principal, all: boolean): Promise<TokenInfo[]>;
  revokeToken(principal: Principal, id: string, client: string): Promise<void>;
  readAudit(query: { since?: number; limit?: number }): Promise<AccountAuditEntry[]>;
  /** Declared outages and maintenance windows of links (outages.ts), beside the accounts. */
  outages: OutageBook;

  /** The audit log newest first, filtered (the admin pages' audit page). */
  searchAudit(query: AuditSearch): Promise<AccountAuditEntry[]>;
  /** Each user's last successful login (ms). */
  lastLogins(): Promise<Map<string, number>>;
  /** Writes an audit entry of a change made elsewhere (a customer's message of the day). */
  recordChange(
    actor: Principal,
    action: string,
    target: string,
    client: string,
    detail: Record<string, unknown>,
  ): Promise<void>;
  /** The portal's settings saved on the admin pages (key → value; web/admin/portal-settings.ts). */
  readSettings(except?: readonly string[]): Promise<Map<string, string>>;
  readSetting(key: string): Promise<string | undefined>;
  /** Sets or removes (null) settings with one audit entry (`action`, `detail`). */
  writeSettings(
    changes: ReadonlyMap<string, string | null>,
    actor: Principal,
    client: string,
    entry: { action: string; target: string; detail: Record<string, unknown> },
  ): Promise<void>;
}

/** A user without its hash: what every answer shows. */
export function publicUser(u: StoredUser): User {
  const { passwordHash: _, ...rest } = u;
  return rest;
}

/** A name as the audit log may hold it: a user id, or a placeholder (never a pasted password). */
function auditName(name: string): string {
  return ID_PATTERN.test(name) ? name : "(not a user id)";
}

/** At most `n` at once; the others wait in order. */
function createGate(n: number) {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (running >= n) await new Promise<void>((r) => waiting.push(r));
    running += 1;
    try {
      return await fn();
    } finally {
      running -= 1;
      waiting.shift()?.();
    }
  };
}

export function createAccounts(config: Partial<AccountsConfig>, deps: AccountsDeps): Accounts {
  const { store, now, log } = deps;
  const sessions = config.sessions ?? DEFAULT_SESSION_LIMITS;
  const params = deps.passwordParams ?? OWASP_SCRYPT;
  const limiter = createLoginLimiter(config.login ?? DEFAULT_LOGIN_LIMITS);
  const gate = createGate(config.maxConcurrentHashes ?? 4);
  /** (name, address, budget) → end of the refusal already audited. */
  const refusalsAudited = new Map<string, number>();
  let dummyHash: Promise<string> | undefined;
  const dummy = () => {
    dummyHash ??= hashPassword(randomBytes(24).toString("base64"), params);
    return dummyHash;
  };
  const hash = (password: string) => gate(() => hashPassword(password, params));
  const verify = (password: string, encoded: string) =>
    gate(() => verifyPassword(password, encoded));

  /** Checks against the hash, or (no hash) against the dummy one and fails: the same work. */
  async function verifyOrDummy(password: string, encoded: string | undefined): Promise<boolean> {
    if (encoded !== undefined) return verify(password, encoded);
    await verify(password, await dummy());
    return false;
  }

  const audit = (
    actor: string,
    action: string,
    target: string,
    client: string,
    detail: Record<string, unknown> = {},
  ): AuditInput => ({ at: now(), actor, action, target, client, detail });

  function checkPassword(password: string, field = "password"): void {
    const problem = passwordProblem(password);
    if (problem !== undefined)
      throw new AccountError("FT_ACCOUNT_INVALID", `${field} ${problem}`, field);
  }

  async function mustGet(id: string): Promise<StoredUser> {
    const u = await store.getUser(id);
    if (u === undefined)
      throw new AccountError("FT_ACCOUNT_NOT_FOUND", `no user ${JSON.stringify(id)}`);
    return u;
  }

  /** Why a login fails, or the user: the same work (one hash) on every path. */
  async function authenticate(
    name: string,
    password: string,
  ): Promise<{ user: StoredUser } | { failure: string }> {
    const user = ID_PATTERN.test(name) ? await store.getUser(name) : undefined;
    if (user === undefined) {
      await verify(password, await dummy());
      return { failure: "unknown-user" };
    }
    if (user.auth === "radius") {
      // The dummy hash beside the RADIUS request: a RADIUS user's failed login takes at least as
      // long as a local user's, so the time does not tell which a name is.
      const [verdict] = await Promise.all([
        deps.radius === undefined
          ? ("unavailable" as RadiusVerdict)
          : deps.radius(user.id, password).catch(() => "unavailable" as const),
        dummy().then((h) => verify(password, h)),
      ]);
      if (verdict !== "accept") return { failure: `radius-${verdict}` };
    } else {
      const ok = await verifyOrDummy(password, user.passwordHash);
      if (!ok) return { failure: "wrong-password" };
    }
    if (user.disabled) return { failure: "disabled" };
    return { user };
  }

  function principalOf(user: StoredUser, via: Principal["via"]): Principal {
    return {
      user: user.id,
      role: user.role,
      ...(user.customer === undefined ? {} : { customer: user.customer }),
      via,
    };
  }

  const actorName = (p: Principal) => p.user;

  /** Sessions past their ends are deleted this often (they are refused anyway). */
  let sweeper: NodeJS.Timeout | undefined;
  const sweep = async () => {
    const t = now();
    const n = await store
      .deleteSessionsBefore(t - sessions.idleTimeoutMs, t - sessions.absoluteTimeoutMs)
      .catch((e: unknown) => {
        log?.warn({ err: e }, "accounts: ended sessions could not be deleted");
        return 0;
      });
    if (n > 0) log?.debug({ sessions: n }, "accounts: ended sessions deleted");
  };

  return {
    async start() {
      await store.start();
      await sweep();
      sweeper = setInterval(() => void sweep(), SWEEP_EVERY_MS);
      sweeper.unref();
    },
    async stop() {
      clearInterval(sweeper);
      sweeper = undefined;
      await store.stop();
    },

    async login(name, password, client, previousSecret) {
      const t = now();
      const limited = limiter.check(name, client, t);
      if (!limited.ok) {
        // Refused logins cost the guesser nothing: one audit entry per (name, address) and
        // refusal, not one per request, so that a flood of them does not become a flood of writes.
        const key = `${limitName(name)}\u0000${client}\u0000${limited.limit}`;
        const until = refusalsAudited.get(key);
        if (until === undefined || t >= until) {
          refusalsAudited.delete(key);
          if (refusalsAudited.size >= MAX_REFUSALS_TRACKED) {
            refusalsAudited.delete(refusalsAudited.keys().next().value as string);
          }
          refusalsAudited.set(key, t + limited.retryAfterMs);
          await store.audit(
            audit(auditName(name), "login-refused", auditName(name), client, {
              limit: limited.limit,
              retryAfterSeconds: Math.ceil(limited.retryAfterMs / 1000),
            }),
          );
        }
        return { ok: false, reason: "limited", retryAfterMs: limited.retryAfterMs };
      }
      const result = await authenticate(name, password);
      if ("failure" in result) {
        limiter.failed(name, client, t);
        await store.audit(
          audit(auditName(name), "login-failed", auditName(name), client, {
            reason: result.failure,
          }),
        );
        if (result.failure === "radius-unavailable") {
          log?.warn({ user: name, client }, "login: RADIUS unavailable");
        }
        return { ok: false, reason: "invalid" };
      }
      const { user } = result;
      limiter.succeeded(name, client, t);
      if (previousSecret !== undefined) await store.deleteSession(digestSecret(previousSecret));
      const secret = newSecret();
      const row = { user: user.id, createdAt: now(), lastSeenAt: now() };
      await store.addSession(digestSecret(secret), row);
      await store.audit(audit(user.id, "login", user.id, client, { role: user.role }));
      if (
        user.auth === "local" &&
        user.passwordHash !== undefined &&
        needsRehash(user.passwordHash, params)
      ) {
        const passwordHash = await hash(password);
        await store.updateUser(
          user.id,
          {
            role: user.role,
            customer: user.customer ?? null,
            auth: user.auth,
            passwordHash,
            disabled: user.disabled,
            updatedAt: now(),
          },
          { endCredentials: false, audit: audit(user.id, "password-rehash", user.id, client) },
        );
      }
      return {
        ok: true,
        secret,
        csrf: csrfToken(secret),
        user: publicUser(user),
        maxAgeSeconds: cookieMaxAge(row, row.createdAt, sessions),
      };
    },

    async logout(principal, client) {
      if (principal.sessionKey !== undefined) await store.deleteSession(principal.sessionKey);
      await store.audit(audit(actorName(principal), "logout", principal.user, client));
    },

    async fromSession(secret) {
      const key = digestSecret(secret);
      const s = await store.getSession(key);
      if (s === undefined) return undefined;
      const t = now();
      if (sessionState(s, t, sessions) !== "valid") {
        await store.deleteSession(key);
        return undefined;
      }
      const user = await store.getUser(s.user);
      if (user === undefined || user.disabled) {
        await store.deleteSession(key);
        return undefined;
      }
      if (touchDue(s, t, sessions)) await store.touchSession(key, t);
      return { ...principalOf(user, "session"), csrf: csrfToken(secret), sessionKey: key };
    },

    async fromToken(token) {
      if (!token.startsWith(TOKEN_PREFIX)) return undefined;
      const key = digestSecret(token);
      const row = await store.getToken(key);
      if (row === undefined) return undefined;
      const t = now();
      if (row.expiresAt !== null && t >= row.expiresAt) return undefined;
      const user = await store.getUser(row.user);
      if (user === undefined || user.disabled) return undefined;
      if (row.lastUsedAt === null || t - row.lastUsedAt >= 60_000) await store.touchToken(key, t);
      return { ...principalOf(user, "token"), tokenId: row.id };
    },

    async addUser(input, actor, client) {
      if (input.auth === "local" && input.password !== undefined) checkPassword(input.password);
      const t = now();
      const stored: StoredUser = {
        id: input.id,
        role: input.role,
        ...(input.customer === undefined ? {} : { customer: input.customer }),
        auth: input.auth,
        disabled: input.disabled,
        createdAt: t,
        updatedAt: t,
        ...(input.password === undefined ? {} : { passwordHash: await hash(input.password) }),
      };
      const added = await store.addUser(
        stored,
        audit(actorName(actor), "user-add", input.id, client, {
          role: input.role,
          ...(input.customer === undefined ? {} : { customer: input.customer }),
          auth: input.auth,
          disabled: input.disabled,
          password: input.password === undefined ? "none" : "set",
        }),
      );
      if (!added) {
        throw new AccountError(
          "FT_ACCOUNT_EXISTS",
          `user ${JSON.stringify(input.id)} exists`,
          "id",
        );
      }
      return publicUser(stored);
    },

    listUsers: async () => (await store.listUsers()).map(publicUser),
    getUser: async (id) => publicUser(await mustGet(id)),

    async updateUser(id, patch, actor, client) {
      const u = await mustGet(id);
      if (patch.currentPassword !== undefined) {
        throw new AccountError(
          "FT_ACCOUNT_INVALID",
          "currentPassword is for POST /api/v1/session/password; an admin sets password alone",
          "currentPassword",
        );
      }
      const role: Role = patch.role ?? u.role;
      const customer =
        patch.customer === null
          ? undefined
          : (patch.customer ?? (isCustomerRole(role) ? u.customer : undefined));
      if (isCustomerRole(role) && customer === undefined) {
        throw new AccountError(
          "FT_ACCOUNT_INVALID",
          `customer is required for role ${role}`,
          "customer",
        );
      }
      if (!isCustomerRole(role) && customer !== undefined) {
        throw new AccountError(
          "FT_ACCOUNT_INVALID",
          `customer is not allowed for role ${role}`,
          "customer",
        );
      }
      const auth = patch.auth ?? u.auth;
      if (auth === "radius" && patch.password !== undefined) {
        throw new AccountError(
          "FT_ACCOUNT_INVALID",
          "password is not allowed with auth radius",
          "password",
        );
      }
      if (patch.password !== undefined) checkPassword(patch.password);
      const passwordHash =
        auth === "radius"
          ? null
          : patch.password !== undefined
            ? await hash(patch.password)
            : (u.passwordHash ?? null);
      const disabled = patch.disabled ?? u.disabled;
      const endCredentials =
        (disabled && !u.disabled) ||
        patch.password !== undefined ||
        auth !== u.auth ||
        role !== u.role ||
        customer !== u.customer;
      const changed = Object.keys(patch).filter((k) => k !== "currentPassword");
      await store.updateUser(
        id,
        { role, customer: customer ?? null, auth, passwordHash, disabled, updatedAt: now() },
        {
          endCredentials,
          audit: audit(actorName(actor), "user-update", id, client, {
            changed,
            ...(patch.role === undefined ? {} : { role }),
            ...(patch.customer === undefined ? {} : { customer: customer ?? null }),
            ...(patch.auth === undefined ? {} : { auth }),
            ...(patch.disabled === undefined ? {} : { disabled }),
            endedCredentials: endCredentials,
          }),
        },
      );
      return publicUser(await mustGet(id));
    },

    async deleteUser(id, actor, client) {
      const deleted = await store.deleteUser(
        id,
        audit(actorName(actor), "user-delete", id, client),
      );
      if (!deleted) throw new AccountError("FT_ACCOUNT_NOT_FOUND", `no user ${JSON.stringify(id)}`);
    },

    async changeOwnPassword(principal, current, next, client) {
      if (principal.via === "operator-token") {
        throw new AccountError(
          "FT_ACCOUNT_FORBIDDEN",
          "an operator token has no password; an admin sets a user's with PATCH /api/v1/users/{id}",
        );
      }
      const u = await mustGet(principal.user);
      if (u.auth !== "local") {
        throw new AccountError(
          "FT_ACCOUNT_INVALID",
          "this user authenticates by RADIUS",
          "password",
        );
      }
      checkPassword(next);
      const ok = await verifyOrDummy(current, u.passwordHash);
      if (!ok) {
        await store.audit(audit(u.id, "password-change-failed", u.id, client));
        throw new AccountError(
          "FT_ACCOUNT_INVALID",
          "currentPassword is not right",
          "currentPassword",
        );
      }
      await store.updateUser(
        u.id,
        {
          role: u.role,
          customer: u.customer ?? null,
          auth: u.auth,
          passwordHash: await hash(next),
          disabled: u.disabled,
          updatedAt: now(),
        },
        { endCredentials: true, audit: audit(u.id, "password-change", u.id, client) },
      );
    },

    async createToken(principal, input, client) {
      if (principal.via === "operator-token") {
        throw new AccountError(
          "FT_ACCOUNT_FORBIDDEN",
          "an operator token is not a user: personal tokens belong to users",
        );
      }
      const token = newToken();
      const t = now();
      const info: TokenInfo = {
        id: randomBytes(8).toString("hex"),
        user: principal.user,
        name: input.name,
        createdAt: t,
        expiresAt: input.expiresIn === undefined ? null : t + input.expiresIn * 1000,
        lastUsedAt: null,
      };
      await store.addToken(
        digestSecret(token),
        info,
        audit(actorName(principal), "token-add", principal.user, client, {
          token: info.id,
          name: info.name,
          expiresAt: info.expiresAt,
        }),
      );
      return { token, info };
    },

    listTokens: (principal, all) =>
      store.listTokens(all && principal.role === "admin" ? undefined : principal.user),

    async revokeToken(principal, id, client) {
      const owner = principal.role === "admin" ? undefined : principal.user;
      const deleted = await store.deleteToken(
        id,
        owner,
        audit(actorName(principal), "token-revoke", id, client),
      );
      if (!deleted)
        throw new AccountError("FT_ACCOUNT_NOT_FOUND", `no token ${JSON.stringify(id)}`);
    },

    readAudit: (query) => store.readAudit(query),
    outages: createOutageBook(store, now),

    searchAudit: (query) => store.searchAudit(query),
    lastLogins: () => store.lastLogins(),
    recordChange: (actor, action, target, client, detail) =>
      store.audit(audit(actorName(actor), action, target, client, detail)),
    readSettings: (except) => store.readSettings(except),
    readSetting: (key) => store.readSetting(key),
    writeSettings: (changes, actor, client, entry) =>
      store.writeSettings(
        changes,
        now(),
        audit(actorName(actor), entry.action, entry.target, client, entry.detail),
      ),
  };
}
