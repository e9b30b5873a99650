/**
 * The OpenAPI document against the API that serves it, over real HTTP on loopback (an embedded
 * store in a temporary directory): every route the Hono app has is in the document with its path
 * parameters, the document has no route the app lacks, each route refuses an unknown parameter
 * naming exactly the parameters the document lists, and real answers parse with the schemas the
 * document was generated from.
 */

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ZodType } from "zod";
import { buildCustomerModel } from "../../collector/classify/customer-model.js";
import { createSflowDecoder } from "../../collector/decoders/sflow.js";
import { validateConfig } from "../../config/load-config.js";
import { FlowBatch } from "../../schema/flow-record.js";
import type { SeriesStore } from "../../schema/series-store.js";
import { emptySlaAlertsState, type SlaAlertsState } from "../../sla/alerts/sla-alerts.js";
import { createDuckDbStore } from "../../store/duckdb-store.js";
import { captureDatagrams, decodeCapture } from "../../test/support/decode-capture.js";
import { captureLog } from "../../test/support/log-capture.js";
import { atAllLevels } from "../../test/support/store-conformance.js";
import { createMetrics, emptyMetricsSnapshot } from "../metrics.js";
import {
  type ApiRoute,
  type ApiServer,
  configRegistry,
  createApiServer,
  OPENAPI_PATH,
} from "./index.js";
import { ErrorBody } from "./schemas.js";

const TOKEN = "operator-token-0123456789";
const T0 = Date.UTC(2026, 10, 22);
const RANGE = "from=2026-11-22T10:00:00Z&to=2026-11-22T12:00:00Z";

const cfg = validateConfig({
  api: { listen: "127.0.0.1:0", operatorTokens: [TOKEN] },
  customers: [
    {
      id: "acme",
      name: "Acme",
      serviceType: "business",
      sites: [{ id: "hq", links: [{ id: "fiber", prefixes: ["198.51.100.0/28"] }] }],
    },
  ],
});

const INTERFACE = {
  exporter: "192.0.2.1",
  ifIndex: 3,
  ifSpeed: 1e9,
  adminUp: true,
  operUp: true,
  updatedMs: T0,
  seconds: 30,
  inBps: 1000,
  outBps: 2000,
  inUtilisation: 1e-6,
  outUtilisation: 2e-6,
  inErrors: 0,
  outErrors: 0,
  inDiscards: 0,
  outDiscards: 0,
};

/** An exporter of each kind, from real captures through the real decoders. */
const EXPORTERS = (() => {
  const fixtures = new URL("../../test/fixtures/flows/", import.meta.url).pathname;
  const { decoder } = decodeCapture(
    join(fixtures, "netflow-v9/akvorado__multiplesamplingrates__combined.pcap"),
  );
  const sflow = createSflowDecoder();
  const batch = new FlowBatch(64);
  for (const d of captureDatagrams(join(fixtures, "sflow/akvorado__data-1140.pcap"))) {
    sflow.decode(d.payload, d.exporter, d.timeMs, batch);
  }
  return {
    flow: decoder.exporterStats(),
    domains: decoder.exporterDomains(),
    sflow: sflow.agentStats(),
  };
})();
const delivery = {
  id: "0123456789abcdef0123456789abcdef",
  event: "incident.started",
  customer: "acme",
  class: "web",
  incident: "acme/web/2031-03-04T10:01:00.000Z",
  state: "delivered",
  attempts: 3,
  createdAt: "2031-03-04T10:03:00.100Z",
  lastAttemptAt: "2031-03-04T10:03:03.100Z",
  nextAttemptAt: null,
  lastStatus: 200,
  lastError: null,
} as const;
const SLA_WEBHOOKS: SlaAlertsState = {
  ...emptySlaAlertsState(),
  webhooks: [
    {
      name: "ops",
      url: "https://alerts:***@127.0.0.1:9/hook",
      pending: 1,
      delivered: 1,
      failed: 0,
      dropped: 0,
      attempts: 4,
      failedAttempts: 3,
      pendingDeliveries: [
        {
          ...delivery,
          event: "incident.ended",
          state: "pending",
          attempts: 1,
          nextAttemptAt: "2031-03-04T10:06:01.000Z",
          lastStatus: null,
          lastError: "timeout",
        },
      ],
      lastDeliveries: [delivery],
    },
  ],
  openIncidents: [
    {
      id: "acme/web/2031-03-04T10:01:00.000Z",
      customer: "acme",
      class: "web",
      start: "2031-03-04T10:01:00.000Z",
      end: "2031-03-04T10:05:00.000Z",
      minutes: 4,
    },
  ],
  judgedUntil: "2031-03-04T10:05:00.000Z",
};

function start(store: SeriesStore, withDependencies: boolean): ApiServer {
  const { log } = captureLog();
  return createApiServer({
    config: cfg,
    model: buildCustomerModel(cfg),
    store,
    log,
    now: () => T0 + 12 * 3_600_000,
    ...(withDependencies
      ? {
          status: () => ({ uptimeSeconds: 1, datagrams: 2 }),
          registry: configRegistry(cfg.customers),
          health: () => [],
          interfaces: () => [INTERFACE],
          exporters: () => EXPORTERS,
          slaWebhooks: () => SLA_WEBHOOKS,
          metrics: createMetrics(emptyMetricsSnapshot),
        }
      : {}),
  });
}

let dir: string;
let store: SeriesStore;
const servers: ApiServer[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "flowtally-openapi-"));
  store = createDuckDbStore({ path: join(dir, "series.duckdb") });
  await store.start();
  const key = { customer: "acme", site: "hq", link: "fiber", trafficClass: "default" };
  await store.addDeltas([
    ...atAllLevels({ ...key, direction: "in" }, T0 + 10 * 3_600_000, 4_500, 5, 1),
    ...atAllLevels({ ...key, direction: "out" }, T0 + 11 * 3_600_000, 900, 2, 1),
  ]);
});

afterAll(async () => {
  for (const s of servers.splice(0)) await s.close();
  await store.stop();
  await rm(dir, { recursive: true, force: true });
});

async function listening(withDependencies = true) {
  const api = start(store, withDependencies);
  servers.push(api);
  const { port } = await api.listen();
  const get = async (path: string, token: string | null = TOKEN, method = "GET") => {
    const withBody = method === "POST" || method === "PATCH";
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: {
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        ...(withBody ? { "content-type": "application/json" } : {}),
      },
      ...(withBody ? { body: "{}" } : {}),
    });
    return {
      status: res.status,
      contentType: res.headers.get("content-type"),
      text: await res.text(),
    };
  };
  const document = JSON.parse((await get(OPENAPI_PATH)).text) as OpenApi;
  return { api, get, document };
}

interface OpenApiParameter {
  name: string;
  in: "path" | "query";
  required: boolean;
}
interface OpenApi {
  openapi: string;
  paths: Record<
    string,
    Record<string, { parameters?: OpenApiParameter[]; security: unknown[]; requestBody?: unknown }>
  >;
  components: { securitySchemes: Record<string, unknown> };
}

/** `/api/v1/customers/:id/traffic` → `/api/v1/customers/{id}/traffic`. */
const openApiPath = (honoPath: string) => honoPath.replace(/:([^/]+)/g, "{$1}");
/** A path with its parameters filled in (the one customer, its site and link). */
const filled = (path: string) =>
  path.replace("{id}", "acme").replace("{site}", "hq").replace("{link}", "fiber");
const methodOf = (route: ApiRoute) =>
  (route.method ?? "GET").toLowerCase() as "get" | "post" | "patch" | "delete";
const names = (ps: OpenApiParameter[] | undefined, where: "path" | "query") =>
  (ps ?? []).filter((p) => p.in === where).map((p) => p.name);

describe("GET /api/v1/openapi.json", () => {
  it("serves an OpenAPI 3.1 document to operator tokens, like everything under /api/", async () => {
    const { get, document } = await listening();
    const r = await get(OPENAPI_PATH);
    expect(r.status).toBe(200);
    expect(r.contentType).toBe("application/json; charset=utf-8");
    expect(document.openapi).toBe("3.1.0");
    expect(document.components.securitySchemes.bearerToken).toMatchObject({
      type: "http",
      scheme: "bearer",
    });
    expect(document.components.securitySchemes.sessionCookie).toMatchObject({
      type: "apiKey",
      in: "cookie",
      name: "__Host-flowtally_session",
    });
    const anonymous = await get(OPENAPI_PATH, null);
    expect(anonymous.status).toBe(401);
    expect(ErrorBody.parse(JSON.parse(anonymous.text)).error.code).toBe("FT_UNAUTHORIZED");
    expect((await get(`${OPENAPI_PATH}?x=1`)).status).toBe(400);
  });

  it("lists every route of the app with its method and path parameters, and no other", async () => {
    const { api, document } = await listening();
    const appRoutes = new Map<string, Set<string>>();
    for (const r of api.app.routes) {
      if (!["GET", "POST", "PATCH", "DELETE"].includes(r.method)) continue;
      const path = openApiPath(r.path);
      appRoutes.set(path, (appRoutes.get(path) ?? new Set()).add(r.method.toLowerCase()));
    }
    // Every route of the table is mounted (the OpenAPI document's own included).
    expect([...appRoutes.keys()].sort()).toEqual(
      [...new Set(api.routes.map((r) => r.path))].sort(),
    );
    expect(appRoutes.get(OPENAPI_PATH)).toEqual(new Set(["get"]));
    expect(appRoutes.get("/api/v1/customers/{id}")).toEqual(new Set(["get", "patch", "delete"]));
    for (const [path, methods] of appRoutes) {
      expect(Object.keys(document.paths[path] ?? {}).sort(), path).toEqual([...methods].sort());
      for (const method of methods) {
        const operation = document.paths[path]![method]!;
        const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
        expect(names(operation.parameters, "path"), `${method} ${path}`).toEqual(inPath);
      }
    }
    expect(Object.keys(document.paths).sort()).toEqual([...appRoutes.keys()].sort());
    for (const route of api.routes) {
      const operation = document.paths[route.path]![methodOf(route)] as { requestBody?: unknown };
      expect(operation.requestBody !== undefined, `${methodOf(route)} ${route.path}`).toBe(
        route.body !== undefined,
      );
    }
  });

  it("documents only the routes this process serves", async () => {
    const { document } = await listening(false);
    expect(Object.keys(document.paths).sort()).toEqual([
      "/api/v1/customers/{id}/response-times",
      "/api/v1/customers/{id}/sla",
      "/api/v1/customers/{id}/totals",
      "/api/v1/customers/{id}/traffic",
      "/api/v1/openapi.json",
      "/api/v1/overview",
      "/api/v1/sla/breaches",
      "/healthz",
    ]);
    expect(document.paths["/healthz"]!.get!.security).toEqual([]);
    expect(document.paths["/api/v1/overview"]!.get!.security).toEqual([
      { bearerToken: [] },
      { sessionCookie: [] },
    ]);
  });

  it("lists exactly the query parameters each route accepts", async () => {
    const { api, get, document } = await listening();
    for (const route of api.routes) {
      const method = methodOf(route);
      const documented = names(document.paths[route.path]![method]!.parameters, "query");
      if (route.query === undefined) {
        // /healthz reads no parameters: it documents none and ignores what it is given.
        expect(documented, route.path).toEqual([]);
        expect((await get(`${route.path}?anything=1`)).status).toBe(200);
        continue;
      }
      const r = await get(`${filled(route.path)}?zz-unknown=1`, TOKEN, method.toUpperCase());
      expect(r.status, `${method} ${route.path}`).toBe(400);
      const { error } = ErrorBody.parse(JSON.parse(r.text));
      expect([error.code, error.parameter]).toEqual(["FT_BAD_PARAMETER", "zz-unknown"]);
      const taken = /this endpoint takes (.*)$/.exec(error.message)![1]!;
      expect(taken === "" ? [] : taken.split(", "), route.path).toEqual(documented);
    }
    const from = document.paths["/api/v1/overview"]!.get!.parameters!.find(
      (p) => p.name === "from",
    );
    expect(from?.required).toBe(true);
  });

  it("answers with bodies that parse with the documented schemas", async () => {
    const { api, get } = await listening();
    const bySchema = (route: ApiRoute, status: number, contentType: string): ZodType => {
      const content = route.responses[status]?.content ?? {};
      const schema = content[contentType];
      expect(schema, `${route.path} ${status} ${contentType}`).toBeDefined();
      return schema!;
    };
    const queries: Record<string, string> = {
      "/api/v1/overview": RANGE,
      "/api/v1/customers/{id}/traffic": `${RANGE}&step=5m`,
      "/api/v1/customers/{id}/response-times": RANGE,
      "/api/v1/customers/{id}/sla": RANGE,
      "/api/v1/customers/{id}/totals": RANGE,
      "/api/v1/sla/breaches": RANGE,
    };
    for (const route of api.routes) {
      // Writes answer 409 here (registry.source: config); registry-api.test.ts checks them.
      if (methodOf(route) !== "get") continue;
      const q = queries[route.path];
      const r = await get(`${filled(route.path)}${q === undefined ? "" : `?${q}`}`);
      expect(r.status, route.path).toBe(200);
      const contentType = r.contentType ?? "";
      const body = contentType.startsWith("application/json") ? JSON.parse(r.text) : r.text;
      const schema = bySchema(
        route,
        200,
        contentType.startsWith("application/json") ? "application/json" : contentType,
      );
      expect(schema.safeParse(body).error, route.path).toBeUndefined();
    }
    const overview = api.routes.find((r) => r.path === "/api/v1/overview")!;
    const csv = await get(`/api/v1/overview?${RANGE}&format=csv`);
    expect(csv.contentType).toBe("text/csv; charset=utf-8");
    expect(bySchema(overview, 200, "text/csv; charset=utf-8").safeParse(csv.text).success).toBe(
      true,
    );
    const sla = api.routes.find((r) => r.path === "/api/v1/customers/{id}/sla")!;
    const slaCsv = await get(`/api/v1/customers/acme/sla?${RANGE}&format=csv`);
    expect(slaCsv.contentType).toBe("text/csv; charset=utf-8");
    expect(bySchema(sla, 200, "text/csv; charset=utf-8").safeParse(slaCsv.text).success).toBe(true);
    for (const [path, q] of [
      ["/api/v1/customers/{id}/totals", `${RANGE}&by=link&format=csv`],
      ["/api/v1/customers/{id}/traffic", `${RANGE}&format=csv`],
      ["/api/v1/customers/{id}/response-times", `${RANGE}&format=csv`],
    ] as const) {
      const route = api.routes.find((r) => r.path === path)!;
      const r = await get(`${filled(path)}?${q}`);
      expect(r.contentType, path).toBe("text/csv; charset=utf-8");
      expect(bySchema(route, 200, "text/csv; charset=utf-8").safeParse(r.text).success).toBe(true);
    }
    const totals = JSON.parse((await get(`/api/v1/customers/acme/totals?${RANGE}`)).text) as {
      rows: Array<{ class: string; bytesIn: number }>;
    };
    expect(totals.rows.reduce((a, r) => a + r.bytesIn, 0)).toBe(4_500);
    const traffic = JSON.parse((await get(`/api/v1/customers/acme/traffic?${RANGE}`)).text) as {
      points: Array<{ bytesIn: number }>;
    };
    expect(traffic.points.map((p) => p.bytesIn)).toEqual([4_500, 0]);
  });
});
