/**
 * The route table (routes.ts) mounted on Hono: the request-target and body limits first, then
 * each route with its access check before the handler, 405 with `Allow` for the other methods of
 * a known path, 404 for the rest, and every error as `{ "error": { "code", "message",
 * "parameter"? } }` (errors.ts). Handlers get the raw path and query string as the client sent
 * them (routing is on the exact path: no decoding, no dot segments resolved, no trailing `/`
 * ignored), as the hand-written router did.
 *
 * Two forms: the HTTP app, where operator routes need a token (auth.ts) and a failure other than
 * an ApiError is logged and answered 500; and the in-process app for `answer`, with the routes
 * marked `inProcess` only, no access check (holding the store file is more than any token
 * grants), and a failure thrown to the caller.
 */
import type { IncomingMessage } from "node:http";
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Logger } from "pino";
import { ApiError, isApiError, notFound, shown, shownName } from "./errors.js";
import { errorReply, toResponse } from "./reply.js";
import type { ApiRoute } from "./routes.js";

/** Longest request target (path and query) accepted. */
export const MAX_URL_LENGTH = 2048;
/**
 * Largest request body accepted. No route reads a body yet: a larger one is refused before
 * anything else is looked at, so that no client can make the API read it.
 */
export const MAX_BODY_BYTES = 1024 * 1024;

/** What the app is called with: the Node request over HTTP, the request target in process. */
export interface ApiBindings {
  incoming?: IncomingMessage;
  target?: string;
}
export interface ApiEnv {
  Bindings: ApiBindings;
  /** Set by the access check: who is calling (`operator-token:1a2b`), for the audit log. */
  Variables: { actor?: string };
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

/**
 * The request body as JSON: refused 415 unless its type is JSON, 400 (naming where) unless it
 * parses. An empty body is `undefined` (the handler says what it misses).
 */
async function readJsonBody(c: Context<ApiEnv>): Promise<{ value: unknown }> {
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
  if (text.trim() === "") return { value: undefined };
  try {
    return { value: JSON.parse(text) as unknown };
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

export interface ApiAppOptions {
  log: Logger;
  /**
   * The operator access check (auth.ts): before every operator route and every unknown path
   * under /api/. Absent: the in-process app, which has no access check and throws what is not
   * an ApiError.
   */
  operator?: MiddlewareHandler<ApiEnv>;
}

export function createApiApp(routes: readonly ApiRoute[], options: ApiAppOptions): Hono<ApiEnv> {
  const { log, operator } = options;
  const inProcess = operator === undefined;
  const app = new Hono<ApiEnv>({
    getPath: (request, o) => split(requestTarget(request, o?.env)).path,
  });
  const open: MiddlewareHandler<ApiEnv> = (_c, next) => next();
  const guard = (route: ApiRoute) =>
    route.access === "public" || operator === undefined ? open : operator;
  const answerNotFound = (c: Context<ApiEnv>) =>
    toResponse(errorReply(notFound(`no endpoint ${shown(c.req.path)}`)));

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
  const tooLarge = (max: number) => () => {
    throw new ApiError(413, "FT_BODY_TOO_LARGE", `the request body is larger than ${max} bytes`);
  };
  const limitBody: MiddlewareHandler<ApiEnv> = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: tooLarge(MAX_BODY_BYTES),
  });
  /** Paths (without parameters) whose routes take larger bodies: POST /api/v1/changes. */
  const larger = new Map<string, MiddlewareHandler<ApiEnv>>();
  for (const route of routes) {
    const max = route.maxBodyBytes;
    if (max !== undefined && max > MAX_BODY_BYTES && !route.path.includes("{")) {
      const limit: MiddlewareHandler<ApiEnv> = bodyLimit({ maxSize: max, onError: tooLarge(max) });
      larger.set(route.path, limit);
    }
  }
  // GET and HEAD bodies are never read (Node discards them); asking for one would cost a
  // whole Request object per request in @hono/node-server. A larger body is refused before
  // anything else is looked at (authentication included).
  app.use((c, next) =>
    c.req.method === "GET" || c.req.method === "HEAD"
      ? next()
      : (larger.get(c.req.path) ?? limitBody)(c, next),
  );
  /** The routes by path, in the table's order: each path's methods, then its 405. */
  const byPath = new Map<string, ApiRoute[]>();
  for (const route of routes) {
    if (inProcess && !route.inProcess) continue;
    const same = byPath.get(route.path) ?? [];
    same.push(route);
    byPath.set(route.path, same);
  }
  for (const [openApiPath, same] of byPath) {
    const path = honoPath(openApiPath);
    const methods = same.map((r) => (r.method ?? "get").toUpperCase());
    const allow = [...methods, ...(methods.includes("GET") ? ["HEAD"] : [])].join(", ");
    for (const route of same) {
      // Hono answers HEAD with the GET handler, without the body.
      app.on((route.method ?? "get").toUpperCase(), path, guard(route), async (c) => {
        const body = route.body === undefined ? undefined : await readJsonBody(c);
        return toResponse(
          await route.handler({
            params: c.req.param() as Record<string, string>,
            search: split(requestTarget(c.req.raw, c.env)).search,
            header: (name) => c.req.header(name),
            ...(body === undefined ? {} : { body: body.value }),
            actor: c.get("actor") ?? "local",
          }),
        );
      });
    }
    app.all(path, guard(same[0]!), (c) => {
      throw new ApiError(
        405,
        "FT_METHOD_NOT_ALLOWED",
        `${shownName(c.req.method)} is not allowed here; use ${methods.join(" or ")}`,
        undefined,
        { allow },
      );
    });
  }
  if (operator !== undefined) {
    // Authentication first under /api/: no endpoint or customer shows to a client without a token.
    app.all("/api", operator, answerNotFound);
    app.all("/api/*", operator, answerNotFound);
  }
  app.notFound(answerNotFound);
  app.onError((e, c) => {
    if (isApiError(e)) return toResponse(errorReply(e));
    if (inProcess) throw e;
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
