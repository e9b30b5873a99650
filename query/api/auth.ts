/**
 * Authentication: the middleware that stands before every route but the public ones (and every
 * unknown path under /api/, so that an unauthenticated client learns nothing about which exist).
 * It finds who calls and puts the Principal on the context; access.ts then checks the route's
 * access. Credentials, in this order:
 *
 * - `Authorization: Bearer <token>`: one of api.operatorTokens (compared in constant time; acts
 *   as admin), or a personal token (accounts/);
 * - the session cookie (`__Host-flowtally_session`), when no Authorization header is sent.
 *
 * A client address with api.authFailures.limit failed bearer authentications in a window is
 * answered 429 until the window ends (auth-failures.ts), also when its token is right.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import type { Logger } from "pino";
import type { Accounts } from "../../accounts/accounts.js";
import type { Principal } from "../../accounts/model.js";
import {
  clearedSessionCookie,
  SESSION_COOKIE,
  sessionFromCookieHeader,
  TOKEN_PREFIX,
} from "../../accounts/sessions.js";
import type { Config } from "../../schema/config.js";
import { createAuthFailureTable } from "../auth-failures.js";
import type { ApiEnv } from "./app.js";
import { type ClientOf, createClientOf } from "./client-address.js";
import { ApiError, isApiError } from "./errors.js";
import { rateLimitedWarn } from "./rate-limited-warn.js";

/** Warnings about blocked addresses: one line per this. */
const WARN_INTERVAL_MS = 60_000;

export interface OperatorAuthStats {
  /** Requests with credentials that were not right (a wrong token or scheme). */
  authFailures: number;
  /** Requests answered 429 because their client was blocked. */
  authBlockedRequests: number;
  /** Client addresses (an IPv6 /64 counts as one) blocked now. */
  authBlockedAddresses: number;
  /** Client addresses dropped from the full failure table (api.authFailures.maxAddresses). */
  authAddressesEvicted: number;
}

export interface OperatorAuth {
  /**
   * Answers 503, 429 or 401 (ApiError) unless the request carries credentials; else sets the
   * context's `principal`.
   */
  readonly middleware: MiddlewareHandler<ApiEnv>;
  /** Whether any credential can work (tokens, or accounts); without, /api answers 503. */
  readonly enabled: boolean;
  stats(): OperatorAuthStats;
}

function digest(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

/** The principal of an operator token. */
export const OPERATOR_TOKEN_PRINCIPAL: Principal = {
  user: "operator-token",
  role: "admin",
  via: "operator-token",
};

export function createOperatorAuth(
  api: Readonly<Config["api"]>,
  deps: { log: Logger; now: () => number; accounts?: Accounts; clientOf?: ClientOf },
): OperatorAuth {
  const { log, now, accounts } = deps;
  const clientOf = deps.clientOf ?? createClientOf(api.trustedProxies);
  const tokenDigests = api.operatorTokens.map(digest);
  const authFailures = createAuthFailureTable({
    limit: api.authFailures.limit,
    windowMs: api.authFailures.window,
    maxAddresses: api.authFailures.maxAddresses,
  });
  let failureCount = 0;
  let blockedRequests = 0;
  const warnBlocked = rateLimitedWarn(log, WARN_INTERVAL_MS, "alsoBlocked");

  function failed(client: string): void {
    failureCount += 1;
    const t = now();
    if (!authFailures.fail(client, t)) return;
    warnBlocked(
      t,
      {
        client,
        failures: api.authFailures.limit,
        blockedSeconds: Math.ceil(authFailures.blockedFor(client, t) / 1000),
      },
      "API: too many failed authentications; client address blocked (api.authFailures)",
    );
  }

  async function bearer(header: string): Promise<Principal> {
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
    const token = m[1]!;
    const given = digest(token);
    // Equal-length digests, compared in constant time, against every token (no early exit).
    let ok = false;
    for (const d of tokenDigests) ok = timingSafeEqual(d, given) || ok;
    if (ok) {
      // The audit log names which token: the first hex digits of its digest, never the token.
      return {
        ...OPERATOR_TOKEN_PRINCIPAL,
        actor: `operator-token:${given.toString("hex").slice(0, 4)}`,
      };
    }
    const personal =
      accounts !== undefined && token.startsWith(TOKEN_PREFIX)
        ? await accounts.fromToken(token)
        : undefined;
    if (personal !== undefined) return personal;
    throw new ApiError(
      401,
      "FT_UNAUTHORIZED",
      token.startsWith(TOKEN_PREFIX) && accounts !== undefined
        ? "the personal token is not known, has expired or was revoked, or its user is disabled"
        : "the bearer token is not one of api.operatorTokens",
      undefined,
      { "www-authenticate": 'Bearer realm="flowtally", error="invalid_token"' },
    );
  }

  async function session(cookieHeader: string | undefined): Promise<Principal> {
    const secret = sessionFromCookieHeader(cookieHeader);
    if (secret === undefined || accounts === undefined) {
      const sentCookie = cookieHeader?.includes(`${SESSION_COOKIE}=`) === true;
      throw new ApiError(
        401,
        "FT_UNAUTHORIZED",
        sentCookie
          ? "the session cookie is not valid; log in again (POST /api/v1/session)"
          : accounts === undefined
            ? "missing Authorization: Bearer <token>"
            : "missing Authorization: Bearer <token> or a session cookie (POST /api/v1/session)",
        undefined,
        {
          "www-authenticate": 'Bearer realm="flowtally"',
          ...(sentCookie ? { "set-cookie": clearedSessionCookie() } : {}),
        },
      );
    }
    const p = await accounts.fromSession(secret);
    if (p === undefined) {
      throw new ApiError(
        401,
        "FT_UNAUTHORIZED",
        "the session has ended (logged out, timed out or the user changed); log in again",
        undefined,
        { "www-authenticate": 'Bearer realm="flowtally"', "set-cookie": clearedSessionCookie() },
      );
    }
    return p;
  }

  /**
   * A blocked client is refused before its token is looked at, whether right or not: answering
   * a right token differently would let guessing go on at full speed. Credentials that are not
   * right count against the client; a request without any does not (it guesses nothing).
   */
  const middleware: MiddlewareHandler<ApiEnv> = async (c, next) => {
    if (tokenDigests.length === 0 && accounts === undefined) {
      throw new ApiError(
        503,
        "FT_NO_OPERATOR_TOKENS",
        "the API is disabled: no api.operatorTokens are configured; add a token of at least 16 characters to the config and restart",
      );
    }
    const client = clientOf(c.env.incoming);
    const blockedMs = authFailures.blockedFor(client, now());
    if (blockedMs > 0) {
      blockedRequests += 1;
      const seconds = Math.ceil(blockedMs / 1000);
      throw new ApiError(
        429,
        "FT_TOO_MANY_AUTH_FAILURES",
        `too many failed authentications from this address; try again in ${seconds} s`,
        undefined,
        { "retry-after": String(seconds) },
      );
    }
    const header = c.req.header("authorization");
    let principal: Principal;
    try {
      principal =
        header === undefined ? await session(c.req.header("cookie")) : await bearer(header);
    } catch (e) {
      if (isApiError(e) && header !== undefined) failed(client);
      throw e;
    }
    c.set("principal", principal);
    await next();
  };

  return {
    middleware,
    enabled: tokenDigests.length > 0 || accounts !== undefined,
    stats: () => ({
      authFailures: failureCount,
      authBlockedRequests: blockedRequests,
      authBlockedAddresses: authFailures.blocked(now()),
      authAddressesEvicted: authFailures.evictions,
    }),
  };
}
