/**
 * The API's coded errors: what a handler or middleware throws to answer `{ "error": { "code",
 * "message", "parameter"? } }` with a 4xx or 5xx status (errors.ts → reply.ts renders them), and
 * how a caller's text is shown in a message without letting it forge lines or grow without bound.
 */
import type { OutgoingHttpHeaders } from "node:http";

/** Codes of API error responses, listed with what to do in docs/api.md. */
export const apiErrorCodes = {
  FT_BAD_PARAMETER: "A query parameter is missing, unknown, repeated or invalid.",
  FT_BAD_REQUEST: "The request target or Host header is not one a URL can be made of.",
  FT_UNAUTHORIZED:
    "No credentials, a bearer token that is neither an operator token nor a live personal token, or a session that has ended: log in again.",
  FT_FORBIDDEN:
    "The credentials are right but their role may not use this route (a customer user on an operator route, a non-admin on users).",
  FT_CSRF:
    "A state-changing request authenticated by the session cookie came without the session's X-CSRF-Token, or with an Origin other than the API's own.",
  FT_LOGIN_FAILED: "The user name or the password is not right (the same answer for both).",
  FT_TOO_MANY_LOGINS:
    "Too many failed logins from this address or for this user name (api.login): try again after Retry-After seconds.",
  FT_CONFLICT: "The record exists already (a user id that is taken).",
  FT_TOO_MANY_AUTH_FAILURES:
    "Too many failed authentications from this address: blocked until the window ends (Retry-After).",
  FT_NO_OPERATOR_TOKENS: "api.operatorTokens is empty: the API refuses every request.",
  FT_NOT_FOUND: "No such endpoint or customer.",
  FT_METHOD_NOT_ALLOWED: "The endpoint does not answer this method (Allow lists the ones it does).",
  FT_BODY_TOO_LARGE: "The request body is larger than the API accepts.",
  FT_UNSUPPORTED_MEDIA_TYPE: "The request body is not JSON (Content-Type: application/json).",
  FT_BAD_BODY:
    "The request body is not JSON, or a field is unknown, missing or not valid (problems names each).",
  FT_REGISTRY_INVALID:
    "The change breaks a rule of the registry (a prefix owned twice, host bits, …; problems names each).",
  FT_REGISTRY_CONFLICT:
    "If-Match (or ifRevision) names a revision the record no longer has: read it again and retry.",
  FT_REGISTRY_EXISTS: "A record with this id exists already.",
  FT_REGISTRY_READONLY:
    "registry.source is config: customers are changed in the config file, not through the API.",
  FT_REGISTRY_UNAVAILABLE: "The registry database cannot be reached; the server log has the cause.",
  FT_SETTINGS_INVALID:
    "A portal setting breaks a rule (a colour that is not #rrggbb, a text too long; problems names each field).",
  FT_URI_TOO_LONG: "The request target is longer than the API accepts.",
  FT_STORE_UNAVAILABLE:
    "The series store cannot be reached or its file is gone (the code in the message says which): try again after Retry-After seconds.",
  FT_INTERNAL: "The store failed; the server log has the cause.",
} as const;
export type ApiErrorCode = keyof typeof apiErrorCodes;

/** One problem of a request body: the field (`name`, `prefixes[0]`, `changes[2].set.name`) and why. */
export interface BodyProblem {
  path: string;
  reason: string;
}

/** What an error body may carry besides its code and message. */
export interface ApiErrorDetails {
  /** The body's fields at fault. */
  problems?: readonly BodyProblem[];
  /** The record's current revision (412: what If-Match should have named). */
  revision?: number;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly parameter?: string,
    readonly headers: OutgoingHttpHeaders = {},
    readonly details: ApiErrorDetails = {},
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError;
}

export function badParameter(parameter: string, message: string): ApiError {
  return new ApiError(400, "FT_BAD_PARAMETER", message, parameter);
}

export function notFound(message: string): ApiError {
  return new ApiError(404, "FT_NOT_FOUND", message);
}

/** A caller's string fit for a message: quoted, control characters escaped, at most 64 chars. */
export function shown(s: string): string {
  return JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);
}

function isControl(c: string): boolean {
  const code = c.charCodeAt(0);
  return code < 0x20 || code === 0x7f;
}

export function hasControl(s: string): boolean {
  for (const c of s) if (isControl(c)) return true;
  return false;
}

/** A caller's string fit for the `parameter` field. */
export function shownName(s: string): string {
  const t = Array.from(s, (c) => (isControl(c) ? "?" : c)).join("");
  return t.length > 64 ? `${t.slice(0, 64)}…` : t;
}

/**
 * The answer for a customer id that is not known: also what a customer credential gets for any
 * customer but its own (query/api/access.ts), so that the two cannot be told apart.
 */
export function unknownCustomer(id: string): ApiError {
  return notFound(`no customer ${shown(id)}`);
}
