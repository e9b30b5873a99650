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
const ALLOW = "GET, HEAD";

/** What the app is called with: the Node request over HTTP, the request target in process. */
export interface ApiBindings {
  incoming?: IncomingMessage;
  target?: string;
}
export interface ApiEnv {
  Bindings: ApiBindings;
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
  const limitBody = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new ApiError(
        413,
        "FT_BODY_TOO_LARGE",
        `the request body is larger than ${MAX_BODY_BYTES} bytes`,
      );
    },
  });
  // GET and HEAD bodies are never read (Node discards them); asking for one would cost a
  // whole Request object per request in @hono/node-server.
  app.use((c, next) =>
    c.req.method === "GET" || c.req.method === "HEAD" ? next() : limitBody(c, next),
  );
  for (const route of routes) {
    if (inProcess && !route.inProcess) continue;
    const path = honoPath(route.path);
    // Hono answers HEAD with the GET handler, without the body.
    app.get(path, guard(route), async (c) =>
      toResponse(
        await route.handler({
          params: c.req.param(),
          search: split(requestTarget(c.req.raw, c.env)).search,
        }),
      ),
    );
    app.all(path, guard(route), (c) => {
      throw new ApiError(
        405,
        "FT_METHOD_NOT_ALLOWED",
        `${shownName(c.req.method)} is not allowed here; use GET`,
        undefined,
        { allow: ALLOW },
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
