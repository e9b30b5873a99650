/**
 * The endpoints about the running process: its health (no token), Prometheus metrics, counters
 * and sFlow interface utilisation. Each is there only in a process that gives the API what it
 * reads (routes.ts); a query string in, an ApiReply out.
 */
import { isIP } from "node:net";
import { type ExportersSource, exportersView } from "../exporters.js";
import type { ApiStats, Metrics } from "../metrics.js";
import { badParameter, shown } from "./errors.js";
import { readParameters } from "./parameters.js";
import { type ApiReply, jsonReply, reply } from "./reply.js";
import { ExportersQuery, InterfacesQuery, parameterNames } from "./schemas.js";

/** A dependency that is down ("store", "redis") and the code of its error, when known. */
export interface DownDependency {
  name: string;
  code?: string;
}

/** `GET /healthz`: no secrets here (no auth): which dependency is down and its code, no message. */
export function healthReply(down: readonly DownDependency[]): ApiReply {
  if (down.length === 0) return jsonReply(200, { status: "ok" });
  const codes = Object.fromEntries(
    down.filter((d) => d.code !== undefined).map((d) => [d.name, d.code]),
  );
  return jsonReply(503, {
    status: "degraded",
    down: down.map((d) => d.name),
    ...(Object.keys(codes).length === 0 ? {} : { codes }),
  });
}

/** `GET /metrics`: the Prometheus text, with the API's own counters. */
export async function metricsReply(
  metrics: Metrics,
  stats: () => ApiStats,
  search: string,
): Promise<ApiReply> {
  readParameters(search, []);
  return reply(200, await metrics.text(stats()), metrics.contentType);
}

/** `GET /api/v1/status`: the running process's counters. */
export function statusReply(status: () => unknown, search: string): ApiReply {
  readParameters(search, []);
  return jsonReply(200, status());
}

const INTERFACES_PARAMETERS = parameterNames(InterfacesQuery);

/** `GET /api/v1/interfaces`: the latest utilisation of every interface, or one agent's. */
export function interfacesReply(
  interfaces: (exporter?: string) => unknown[],
  search: string,
): ApiReply {
  const p = readParameters(search, INTERFACES_PARAMETERS);
  const router = p.get("router");
  if (router !== undefined && isIP(router) === 0) {
    throw badParameter("router", `router ${shown(router)} is not an IP address`);
  }
  return jsonReply(200, { interfaces: interfaces(router) });
}

const EXPORTERS_PARAMETERS = parameterNames(ExportersQuery);

/** `GET /api/v1/exporters`: every exporter and sFlow agent heard, or one. */
export function exportersReply(
  exporters: () => ExportersSource,
  search: string,
  nowMs: number = Date.now(),
): ApiReply {
  const p = readParameters(search, EXPORTERS_PARAMETERS);
  const only = p.get("exporter");
  if (only !== undefined && isIP(only) === 0) {
    throw badParameter("exporter", `exporter ${shown(only)} is not an IP address`);
  }
  return jsonReply(200, { exporters: exportersView(exporters(), nowMs, only) });
}
