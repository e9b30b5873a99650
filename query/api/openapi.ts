/**
 * The OpenAPI 3.1 document of the routes a process serves, generated from the route table's zod
 * schemas (@asteasolutions/zod-to-openapi), and the route that serves it at
 * `/api/v1/openapi.json` (operator tokens, like everything under /api/). The errors each route
 * can answer are added from its access and parameters, all with the one error body.
 */
import { OpenAPIRegistry, OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";
import type { ZodType } from "zod";
import { readParameters } from "./parameters.js";
import { jsonReply } from "./reply.js";
import type { ApiRoute, RouteResponse } from "./routes.js";
import { ErrorBody, NoQuery, OpenApiDocument } from "./schemas.js";

export const OPENAPI_PATH = "/api/v1/openapi.json";

const BEARER = "bearerToken";
const COOKIE = "sessionCookie";

type Document = ReturnType<OpenApiGeneratorV31["generateDocument"]>;

function content(byType: Readonly<Record<string, ZodType>>) {
  return Object.fromEntries(Object.entries(byType).map(([type, schema]) => [type, { schema }]));
}

function error(description: string) {
  return { description, content: content({ "application/json": ErrorBody }) };
}

/** The answers of a route: its own, and the errors its access and parameters can give. */
function responses(route: ApiRoute) {
  const out: Record<string, ReturnType<typeof error> | { description: string }> = {};
  for (const [status, r] of Object.entries(route.responses) as Array<[string, RouteResponse]>) {
    out[status] = {
      description: r.description,
      ...(r.content === undefined ? {} : { content: content(r.content) }),
    };
  }
  if (route.query !== undefined && Object.keys(route.query.shape).length > 0) {
    out[400] = error("A parameter is missing, unknown, repeated or not valid (FT_BAD_PARAMETER)");
  }
  if (route.body !== undefined) {
    out[400] ??= error(
      "The body is not valid JSON, or a field is missing, unknown or wrong; `parameter` or `problems` names it (FT_BAD_BODY)",
    );
    out[413] = error("The body is larger than the route accepts (FT_BODY_TOO_LARGE)");
    out[415] = error("The body is not application/json (FT_UNSUPPORTED_MEDIA_TYPE)");
  }
  if (route.access !== "public") {
    out[401] ??= error(
      "No credentials, or not an operator token, a live personal token or session (FT_UNAUTHORIZED)",
    );
    out[429] ??= error("Too many failed authentications from this address (Retry-After)");
    out[503] ??= error("No operator tokens and no accounts are configured (FT_NO_OPERATOR_TOKENS)");
  }
  if (route.access !== "public" && route.access !== "user" && route.access !== "customer") {
    out[403] = error("The credentials' role may not use this route (FT_FORBIDDEN)");
  }
  if ((route.method ?? "GET") !== "GET" && route.access !== "public") {
    out[403] ??= error(
      "Cookie request without its X-CSRF-Token or with a foreign Origin (FT_CSRF)",
    );
  }
  if (route.params !== undefined) {
    out[404] ??= error(
      route.access === "customer" || route.access === "customer-admin"
        ? "No such customer, or another customer's (FT_NOT_FOUND)"
        : "Not found (FT_NOT_FOUND)",
    );
  }
  out.default = error("Any other error: docs/api.md#errors lists the codes");
  return out;
}

/** The document of `routes`, each with its method (a GET's HEAD answers the same without the body). */
export function openApiDocument(routes: readonly ApiRoute[]): Document {
  const registry = new OpenAPIRegistry();
  registry.registerComponent("securitySchemes", BEARER, {
    type: "http",
    scheme: "bearer",
    description:
      "One of api.operatorTokens (acts as admin), or a personal token (POST /api/v1/tokens)",
  });
  registry.registerComponent("securitySchemes", COOKIE, {
    type: "apiKey",
    in: "cookie",
    name: "__Host-flowtally_session",
    description:
      "The session of POST /api/v1/session; POST, PUT, PATCH and DELETE also need the X-CSRF-Token header",
  });
  for (const route of routes) {
    registry.registerPath({
      method: (route.method ?? "GET").toLowerCase() as "get",
      path: route.path,
      summary: route.summary,
      ...(route.description === undefined ? {} : { description: route.description }),
      security: route.access === "public" ? [] : [{ [BEARER]: [] }, { [COOKIE]: [] }],
      "x-access": route.access,
      request: {
        ...(route.params === undefined ? {} : { params: route.params }),
        ...(route.query === undefined ? {} : { query: route.query }),
        ...(route.body === undefined
          ? {}
          : { body: { required: true, content: { "application/json": { schema: route.body } } } }),
      },
      responses: responses(route),
    });
  }
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: "3.1.0",
    info: {
      title: "flowtally API",
      version: "1",
      description:
        "Traffic figures per customer from NetFlow/IPFIX/sFlow and packets. docs/api.md describes every endpoint, limit and error.",
    },
  });
}

/** `GET /api/v1/openapi.json`: the document of `routes` and of itself, made at the first ask. */
export function openApiRoute(routes: readonly ApiRoute[]): ApiRoute {
  let document: Document | undefined;
  const route: ApiRoute = {
    path: OPENAPI_PATH,
    access: "operator",
    inProcess: false,
    summary: "This OpenAPI 3.1 document",
    query: NoQuery,
    responses: {
      200: { description: "The document", content: { "application/json": OpenApiDocument } },
    },
    handler: ({ search }) => {
      readParameters(search, []);
      document ??= openApiDocument([...routes, route]);
      return jsonReply(200, document);
    },
  };
  return route;
}
