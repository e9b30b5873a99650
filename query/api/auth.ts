/**
 * Operator authentication: the middleware that stands before every operator route (and every
 * unknown path under /api/, so that an unauthenticated client learns nothing about which exist).
 * A bearer token must be one of api.operatorTokens, compared in constant time; a client address
 * with api.authFailures.limit failed authentications in a window is answered 429 until the
 * window ends (auth-failures.ts), also when its token is right.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import type { Logger } from "pino";
import type { Config } from "../../schema/config.js";
import { clientKey, createAuthFailureTable } from "../auth-failures.js";
import type { ApiEnv } from "./app.js";
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
  /** Answers 503, 429 or 401 (ApiError) unless the request carries an operator token. */
  readonly middleware: MiddlewareHandler<ApiEnv>;
  /** Whether any token is configured (without, every operator route answers 503). */
  readonly enabled: boolean;
  stats(): OperatorAuthStats;
}

function digest(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

export function createOperatorAuth(
  api: Readonly<Config["api"]>,
  deps: { log: Logger; now: () => number },
): OperatorAuth {
  const { log, now } = deps;
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

  /** The caller's name for the audit log: the token's digest's first 4 hex digits (never the token). */
  function checkCredentials(header: string | undefined): string {
    if (header === undefined) {
      throw new ApiError(
        401,
        "FT_UNAUTHORIZED",
        "missing Authorization: Bearer <token>",
        undefined,
        { "www-authenticate": 'Bearer realm="flowtally"' },
      );
    }
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
    // Equal-length digests, compared in constant time, against every token (no early exit).
    const given = digest(m[1]!);
    let ok = false;
    for (const d of tokenDigests) ok = timingSafeEqual(d, given) || ok;
    if (ok) return `operator-token:${given.toString("hex").slice(0, 4)}`;
    throw new ApiError(
      401,
      "FT_UNAUTHORIZED",
      "the bearer token is not one of api.operatorTokens",
      undefined,
      { "www-authenticate": 'Bearer realm="flowtally", error="invalid_token"' },
    );
  }

  /**
   * A blocked client is refused before its token is looked at, whether right or not: answering
   * a right token differently would let guessing go on at full speed. Credentials that are not
   * right count against the client; a request without any does not (it guesses nothing).
   */
  const middleware: MiddlewareHandler<ApiEnv> = async (c, next) => {
    if (tokenDigests.length === 0) {
      throw new ApiError(
        503,
        "FT_NO_OPERATOR_TOKENS",
        "the API is disabled: no api.operatorTokens are configured; add a token of at least 16 characters to the config and restart",
      );
    }
    const client = clientKey(c.env.incoming?.socket.remoteAddress);
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
    try {
      c.set("actor", checkCredentials(header));
    } catch (e) {
      if (isApiError(e) && header !== undefined) failed(client);
      throw e;
    }
    await next();
  };

  return {
    middleware,
    enabled: tokenDigests.length > 0,
    stats: () => ({
      authFailures: failureCount,
      authBlockedRequests: blockedRequests,
      authBlockedAddresses: authFailures.blocked(now()),
      authAddressesEvicted: authFailures.evictions,
    }),
  };
}
