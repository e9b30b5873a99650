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

const BEARER = "operatorToken";

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
  if (route.access === "operator") {
    out[401] = error("No bearer token, or not an operator token (FT_UNAUTHORIZED)");
    out[429] = error("Too many failed authentications from this address (Retry-After)");
    out[503] ??= error("No operator tokens are configured (FT_NO_OPERATOR_TOKENS)");
  }
  if (route.params !== undefined) out[404] ??= error("No such customer (FT_NOT_FOUND)");
  if (route.body !== undefined) {
    out[400] ??= error(
      "The body or a parameter is not valid; problems names each field (FT_BAD_BODY)",
    );
    out[413] = error("The body is larger than the route accepts (FT_BODY_TOO_LARGE)");
    out[415] = error("The body is not JSON (FT_UNSUPPORTED_MEDIA_TYPE)");
  }
  out.default = error("Any other error: docs/api.md#errors lists the codes");
  return out;
}

/** The document of `routes`, each under its method (GET: HEAD answers the same without the body). */
export function openApiDocument(routes: readonly ApiRoute[]): Document {
  const registry = new OpenAPIRegistry();
  registry.registerComponent("securitySchemes", BEARER, {
    type: "http",
    scheme: "bearer",
    description: "One of api.operatorTokens",
  });
  for (const route of routes) {
    registry.registerPath({
      method: route.method ?? "get",
      path: route.path,
      summary: route.summary,
      ...(route.description === undefined ? {} : { description: route.description }),
      security: route.access === "operator" ? [{ [BEARER]: [] }] : [],
      request: {
        ...(route.params === undefined ? {} : { params: route.params }),
        ...(route.query === undefined ? {} : { query: route.query }),
        ...(route.body === undefined
          ? {}
          : {
              body: {
                required: true,
                content: { "application/json": { schema: route.body } },
              },
            }),
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
