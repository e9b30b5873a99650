/**
 * The route table (routes.ts) mounted on Hono: the request-target and body limits first, then
 * each route (by method) with its authentication (auth.ts), access check (access.ts) and CSRF
 * check before the handler, its JSON body read by its schema, 405 with `Allow` for the other
 * methods of a known path, 404 for the rest, and every error as `{ "error": { "code",
 * "message", "parameter"? } }` (errors.ts). Handlers get the raw path and query string as the client sent
 * them (routing is on the exact path: no decoding, no dot segments resolved, no trailing `/`
 * ignored), as the hand-written router did.
 *
 * Two forms: the HTTP app, where every route but the public ones needs credentials (auth.ts) and
 * a failure other than an ApiError is logged and answered 500; and the in-process app for `answer`, with the routes
 * marked `inProcess` only, no access check (holding the store file is more than any token
 * grants), and a failure thrown to the caller.
 */

import type { IncomingMessage } from "node:http";
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Logger } from "pino";
import type { z } from "zod";
import type { Principal } from "../../accounts/model.js";
import { sameSecret, sessionFromCookieHeader } from "../../accounts/sessions.js";
import { isFlowtallyError } from "../../schema/errors.js";
import { checkAccess } from "./access.js";
import { type ClientOf, createClientOf } from "./client-address.js";
import { ApiError, isApiError, notFound, shown, shownName } from "./errors.js";
import { type ApiReply, errorReply, toResponse } from "./reply.js";
import type { ApiRoute, UploadedFile } from "./routes.js";

/** Longest request target (path and query) accepted. */
export const MAX_URL_LENGTH = 2048;
/**
 * Largest request body accepted: a larger one is refused before anything else is looked at, so
 * that no client can make the API read it.
 */
export const MAX_BODY_BYTES = 1024 * 1024;

/** What the app is called with: the Node request over HTTP, the request target in process. */
export interface ApiBindings {
  incoming?: IncomingMessage;
  target?: string;
}
export interface ApiEnv {
  Bindings: ApiBindings;
  Variables: {
    principal?: Principal;
    page?: boolean;
    form?: URLSearchParams;
    files?: Map<string, UploadedFile>;
    /** A page's form sent a body too large: the page to go back to, and the limit (bytes). */
    tooLarge?: { back: string; max: number };
  };
}

/** The request target (path and query) as the client sent it. */
export function requestTarget(request: Request, env: ApiBindings | undefined): string {
  const raw = env?.incoming?.url ?? env?.target;
  if (raw !== undefined) return raw;
  const url = request.url;
  const start = url.indexOf("/", url.indexOf("//") + 2);
  return start < 0 ? "/" : url.slice(start);
}

function split(target: string): { path: string; search: string } {
  const q = target.indexOf("?");
  return q < 0
    ? { path: target, search: "" }
    : { path: target.slice(0, q), search: target.slice(q + 1) };
}

/** `/api/v1/customers/{id}/traffic` → `/api/v1/customers/:id/traffic`. */
export function honoPath(openApiPath: string): string {
  return openApiPath.replace(/\{([^}]+)\}/g, ":$1");
}

export interface ApiAppOptions {
  log: Logger;
  /**
   * The authentication (auth.ts): before every route but the public ones and every unknown path
   * under /api/; it sets the context's principal, which the route's access is checked against
   * (access.ts). Absent: the in-process app, which has no access check and throws what is not
   * an ApiError.
   */
  operator?: MiddlewareHandler<ApiEnv>;
  /** The API is served over TLS: answers carry Strict-Transport-Security. */
  tls?: boolean;
  /** The client of a request (client-address.ts); default: its socket's peer. */
  clientOf?: ClientOf;
  /**
   * How a page route (and an unknown path under `pagePrefixes`) answers a refusal or a failure:
   * web/ renders it as a page (a redirect to the login page for 401). Absent: as the API does.
   */
  pageError?: (e: ApiError, target: string, o?: { back?: string; max?: number }) => ApiReply;
  /** Path prefixes (`/console`) whose unknown paths are answered by `pageError` after authentication. */
  pagePrefixes?: readonly string[];
}

const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * Whether the Origin header names this server (its scheme aside: behind a TLS-terminating proxy
 * the API sees http). Absent Origin: nothing to check (non-browser clients, old browsers; the
 * CSRF token still is).
 */
function originMatches(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  try {
    const u = new URL(origin);
    return (u.protocol === "https:" || u.protocol === "http:") && u.host === host.toLowerCase();
  } catch {
    return false;
  }
}

/**
 * CSRF protection of a state-changing request that is not authenticated by a bearer token (the
 * cookie's, and the login itself): Sec-Fetch-Site, when the browser sends it, must be
 * same-origin (or none: typed by the user); without it a present Origin must be this server's;
 * and a cookie session
 * must send its CSRF token in X-CSRF-Token, or a page's form in its `csrf` field (compared in
 * constant time).
 */
function checkCsrf(c: Context<ApiEnv>, principal: Principal | undefined, formToken?: string): void {
  if (!STATE_CHANGING.has(c.req.method) || c.req.header("authorization") !== undefined) return;
  // A browser's own word on where the request comes from decides when it gives one (a page
  // served with Referrer-Policy: no-referrer makes its form posts send `Origin: null`); else a
  // present Origin must be this server's.
  const site = c.req.header("sec-fetch-site");
  if (site !== undefined) {
    if (site !== "same-origin" && site !== "none") {
      throw new ApiError(403, "FT_CSRF", "the request comes from another site (Sec-Fetch-Site)");
    }
  } else {
    const origin = c.req.header("origin");
    if (origin !== undefined && !originMatches(origin, c.req.header("host"))) {
      throw new ApiError(403, "FT_CSRF", "the Origin header is not this server's");
    }
  }
  if (principal?.via !== "session") return;
  const given = c.req.header("x-csrf-token") ?? formToken;
  if (given === undefined || principal.csrf === undefined || !sameSecret(given, principal.csrf)) {
    throw new ApiError(
      403,
      "FT_CSRF",
      "a request with the session cookie that changes something needs the session's X-CSRF-Token header",
    );
  }
}

function bodyError(issue: z.core.$ZodIssue): ApiError {
  const field = issue.path.map(String).join(".");
  const keys = issue.code === "unrecognized_keys" ? issue.keys : undefined;
  const name = keys !== undefined ? keys.map(shownName).join(", ") : shownName(field);
  const message =
    keys !== undefined
      ? `unknown field${keys.length > 1 ? "s" : ""} ${keys.map((k) => shown(k)).join(", ")}`
      : `${field === "" ? "the body" : field}: ${issue.message}`;
  return new ApiError(400, "FT_BAD_BODY", message, name === "" ? undefined : name);
}

/**
 * The request body as JSON: refused 415 unless its type is JSON, 400 (naming where) unless it
 * parses. An empty body is `undefined` (the schema or the handler says what it misses).
 */
async function readJson(c: Context<ApiEnv>): Promise<unknown> {
  const type = c.req.header("content-type");
  const media = (type ?? "").split(";", 1)[0]!.trim().toLowerCase();
  if (
    media !== "application/json" &&
    !(media.startsWith("application/") && media.endsWith("+json"))
  ) {
    throw new ApiError(
      415,
      "FT_UNSUPPORTED_MEDIA_TYPE",
      `the request body must be JSON (Content-Type: application/json), not ${type === undefined ? "untyped" : shown(type)}`,
      undefined,
      { "accept-patch": "application/json" },
    );
  }
  const text = await c.req.text();
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new ApiError(
      400,
      "FT_BAD_BODY",
      "the request body is not valid JSON",
      undefined,
      {},
      {
        problems: [{ path: "", reason: e instanceof Error ? e.message.slice(0, 200) : "not JSON" }],
      },
    );
  }
}

/**
 * An HTML form's body: refused 415 unless it is application/x-www-form-urlencoded, or (a route
 * with `upload`) multipart/form-data, whose files are put in the context's `files`.
 */
async function readForm(c: Context<ApiEnv>, upload = false): Promise<URLSearchParams> {
  const type = c.req.header("content-type");
  const media = (type ?? "").split(";", 1)[0]!.trim().toLowerCase();
  if (upload && media === "multipart/form-data") {
    const form = new URLSearchParams();
    const files = new Map<string, UploadedFile>();
    let parts: Record<string, string | File>;
    try {
      parts = await c.req.parseBody();
    } catch (e) {
      throw new ApiError(400, "FT_BAD_BODY", `the form cannot be read: ${(e as Error).message}`);
    }
    for (const [name, v] of Object.entries(parts)) {
      if (typeof v === "string") form.append(name, v);
      else
        files.set(name, {
          name: v.name,
          type: v.type,
          bytes: new Uint8Array(await v.arrayBuffer()),
        });
    }
    c.set("files", files);
    return form;
  }
  if (media !== "application/x-www-form-urlencoded") {
    throw new ApiError(
      415,
      "FT_UNSUPPORTED_MEDIA_TYPE",
      `a form must be application/x-www-form-urlencoded, not ${type === undefined ? "untyped" : shown(type)}`,
    );
  }
  return new URLSearchParams(await c.req.text());
}

/** The body as the route reads it: its schema's result, or the JSON for the handler to check. */
async function readBody(c: Context<ApiEnv>, route: ApiRoute): Promise<unknown> {
  const raw = await readJson(c);
  if (route.bodyCheckedBy === "handler" || route.body === undefined) return raw;
  const parsed = route.body.safeParse(raw);
  if (!parsed.success) throw bodyError(parsed.error.issues[0]!);
  return parsed.data;
}

export function createApiApp(routes: readonly ApiRoute[], options: ApiAppOptions): Hono<ApiEnv> {
  const { log, operator } = options;
  const inProcess = operator === undefined;
  const app = new Hono<ApiEnv>({
    getPath: (request, o) => split(requestTarget(request, o?.env)).path,
  });
  const open: MiddlewareHandler<ApiEnv> = (_c, next) => next();
  const authenticate = operator ?? open;
  const answerNotFound = (c: Context<ApiEnv>) =>
    toResponse(errorReply(notFound(`no endpoint ${shown(c.req.path)}`)));
  const clientOfIncoming = options.clientOf ?? createClientOf([]);
  const clientOf = (c: Context<ApiEnv>) =>
    inProcess ? "in-process" : clientOfIncoming(c.env?.incoming);

  if (options.tls === true) {
    app.use(async (c, next) => {
      await next();
      c.res.headers.set("strict-transport-security", "max-age=31536000; includeSubDomains");
    });
  }
  app.use(async (c, next) => {
    if (requestTarget(c.req.raw, c.env).length > MAX_URL_LENGTH) {
      throw new ApiError(
        414,
        "FT_URI_TOO_LONG",
        `the request target is longer than ${MAX_URL_LENGTH} characters`,
      );
    }
    await next();
  });
  /**
   * A page's form (a POST under `pagePrefixes`, from a browser) whose body is too large is
   * answered as a page saying the limit with a link back to the form's page (`formPage`); an
   * API client keeps its JSON 413.
   */
  const formPages = new Map<string, string>();
  for (const route of routes) {
    if (route.page === true && route.form === true) {
      formPages.set(route.path, route.formPage ?? route.path);
    }
  }
  const pageBack = (path: string): string | undefined => {
    if (options.pageError === undefined || inProcess) return undefined;
    const known = formPages.get(path);
    if (known !== undefined) return known;
    const prefixes = options.pagePrefixes ?? [];
    return prefixes.some((p) => path === p || path.startsWith(`${p}/`)) ? path : undefined;
  };
  const tooLarge = (max: number) => (c?: Context<ApiEnv>) => {
    const back = c === undefined ? undefined : pageBack(c.req.path);
    if (c !== undefined && back !== undefined) {
      c.set("page", true);
      c.set("tooLarge", { back, max });
    }
    throw new ApiError(413, "FT_BODY_TOO_LARGE", `the request body is larger than ${max} bytes`);
  };
  const limitBody: MiddlewareHandler<ApiEnv> = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: tooLarge(MAX_BODY_BYTES),
  });
  /** Paths (without parameters) whose routes take larger bodies: POST /api/v1/changes. */
  const larger = new Map<string, { max: number; limit: MiddlewareHandler<ApiEnv> }>();
  for (const route of routes) {
    const max = route.maxBodyBytes;
    if (max !== undefined && max > MAX_BODY_BYTES && !route.path.includes("{")) {
      larger.set(route.path, { max, limit: bodyLimit({ maxSize: max, onError: tooLarge(max) }) });
    }
  }
  // GET and HEAD bodies are never read (Node discards them); asking for one would cost a
  // whole Request object per request in @hono/node-server. A larger body is refused before
  // anything else is looked at (authentication included). Over HTTP, a body whose length is
  // announced (Content-Length), or none, is judged from the header, without asking for the
  // body: that would make the whole Request object too, where reading it later goes straight
  // from the socket (8 % of the API's CPU under 50 clients writing 20 %); a chunked body is
  // counted as it is read, by hono's bodyLimit.
  app.use((c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    const special = larger.get(c.req.path);
    const headers = c.env?.incoming?.headers;
    if (headers !== undefined && headers["transfer-encoding"] === undefined) {
      const max = special?.max ?? MAX_BODY_BYTES;
      const length = headers["content-length"];
      if (length !== undefined && Number(length) > max) tooLarge(max)(c);
      return next();
    }
    return (special?.limit ?? limitBody)(c, next);
  });

  const byPath = new Map<string, ApiRoute[]>();
  for (const route of routes) {
    if (inProcess && !route.inProcess) continue;
    const list = byPath.get(route.path) ?? [];
    list.push(route);
    byPath.set(route.path, list);
  }
  for (const [openApiPath, list] of byPath) {
    const path = honoPath(openApiPath);
    for (const route of list) {
      const method = route.method ?? "GET";
      // A form's CSRF token is its `csrf` field: the form is read before the check.
      const formToken = async (c: Context<ApiEnv>) => {
        if (route.form !== true || inProcess) return undefined;
        const form = await readForm(c, route.upload === true);
        c.set("form", form);
        return form.get("csrf") ?? undefined;
      };
      const markPage: MiddlewareHandler<ApiEnv> = async (c, next) => {
        if (route.page === true) c.set("page", true);
        await next();
      };
      const check: MiddlewareHandler<ApiEnv> =
        route.access === "public"
          ? async (c, next) => {
              if (!inProcess) checkCsrf(c, undefined, await formToken(c));
              await next();
            }
          : async (c, next) =>
              authenticate(c, async () => {
                if (!inProcess) {
                  const principal = c.get("principal");
                  checkAccess(route.access, principal, c.req.param());
                  checkCsrf(c, principal, await formToken(c));
                }
                await next();
              });
      const guard: MiddlewareHandler<ApiEnv> = (c, next) =>
        markPage(c, async () => {
          await check(c, next);
        });
      const handle = async (c: Context<ApiEnv>) => {
        const principal = c.get("principal");
        const sessionSecret = inProcess
          ? undefined
          : sessionFromCookieHeader(c.req.header("cookie"));
        return toResponse(
          await route.handler({
            params: c.req.param(),
            search: split(requestTarget(c.req.raw, c.env)).search,
            header: (name) => c.req.header(name),
            client: clientOf(c),
            actor: principal === undefined ? "local" : (principal.actor ?? principal.user),
            ...(principal === undefined ? {} : { principal }),
            ...(sessionSecret === undefined ? {} : { sessionSecret }),
            ...(route.form === true
              ? {
                  body: c.get("form") ?? (await readForm(c, route.upload === true)),
                  ...(c.get("files") === undefined ? {} : { files: c.get("files")! }),
                }
              : route.body === undefined
                ? {}
                : { body: await readBody(c, route) }),
          }),
        );
      };
      // Hono answers HEAD with the GET handler, without the body.
      if (method === "GET") app.get(path, guard, handle);
      else app.on(method, path, guard, handle);
    }
    const methods = list.map((r) => r.method ?? "GET");
    const allow = methods.flatMap((m) => (m === "GET" ? ["GET", "HEAD"] : [m])).join(", ");
    // Another method: authentication first (unless the path has a public route), so that a
    // client without credentials learns nothing about which paths exist.
    const anyPublic = list.some((r) => r.access === "public");
    app.all(path, anyPublic ? open : authenticate, (c) => {
      throw new ApiError(
        405,
        "FT_METHOD_NOT_ALLOWED",
        `${shownName(c.req.method)} is not allowed here; use ${methods.join(" or ")}`,
        undefined,
        { allow },
      );
    });
  }
  const pageError = options.pageError;
  if (operator !== undefined && pageError !== undefined) {
    // An unknown page: authentication first (no credentials: the login page), then the 404 page.
    const unknownPage: MiddlewareHandler<ApiEnv> = async (c, next) => {
      c.set("page", true);
      return operator(c, next);
    };
    for (const prefix of options.pagePrefixes ?? []) {
      for (const p of [prefix, `${prefix}/*`]) {
        app.all(p, unknownPage, (c) => {
          throw notFound(`no page ${shown(c.req.path)}`);
        });
      }
    }
  }
  if (operator !== undefined) {
    // Authentication first under /api/: no endpoint or customer shows to a client without credentials.
    app.all("/api", operator, answerNotFound);
    app.all("/api/*", operator, answerNotFound);
  }
  app.notFound(answerNotFound);
  app.onError((e, c) => {
    if (pageError !== undefined && c.get("page") === true && !inProcess) {
      if (!isApiError(e)) {
        log.error(
          { err: e, method: c.req.method, path: c.req.path.slice(0, 200) },
          "page request failed",
        );
      }
      const shownError = isApiError(e)
        ? e
        : new ApiError(500, "FT_INTERNAL", "internal error; see the server log");
      return toResponse(pageError(shownError, requestTarget(c.req.raw, c.env), c.get("tooLarge")));
    }
    if (isApiError(e)) return toResponse(errorReply(e));
    if (inProcess) throw e;
    const unavailable = storeUnavailable(e);
    if (unavailable !== undefined) {
      log.error(
        { err: e, code: unavailable, method: c.req.method, path: c.req.path.slice(0, 200) },
        "API request failed: the store is unavailable",
      );
      // The store's own message names its URL or path: for the log, not for any caller.
      return toResponse(
        errorReply(
          new ApiError(
            503,
            "FT_STORE_UNAVAILABLE",
            `the series store is unavailable (${unavailable}); try again later`,
            undefined,
            { "retry-after": "10" },
          ),
        ),
      );
    }
    log.error(
      { err: e, method: c.req.method, path: c.req.path.slice(0, 200) },
      "API request failed",
    );
    return toResponse(
      errorReply(new ApiError(500, "FT_INTERNAL", "internal error; see the server log")),
    );
  });
  return app;
}

/** The code of a store failure that a retry may get past (the store down or gone), else undefined. */
function storeUnavailable(e: unknown): string | undefined {
  if (!isFlowtallyError(e)) return undefined;
  return e.code === "FT_STORE_UNREACHABLE" ||
    e.code === "FT_STORE_FILE" ||
    e.code === "FT_STORE_OPEN" ||
    e.code === "FT_STORE_CLOSED"
    ? e.code
    : undefined;
}
