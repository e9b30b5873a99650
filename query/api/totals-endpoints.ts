/**
 * `GET /api/v1/customers/{id}/totals` (docs/api.md#totals): one customer's exact bytes and
 * packets over a range of whole minutes, by traffic class (`by=class`, the portal's top classes)
 * or by access link (`by=link`), as JSON or CSV. Reads the strict query string, checks the
 * customer, sums the store's rows part by part (query/totals.ts) and renders. No HTTP here.
 */
import type { TrafficQuery } from "../../schema/series-store.js";
import {
  exactParts,
  type Sums,
  type TotalsDimension,
  totalsCsv,
  totalsDimensions,
  totalsRows,
} from "../totals.js";
import { MAX_RANGE_MS } from "../traffic.js";
import { badParameter, unknownCustomer } from "./errors.js";
import { choice, isoTime, minuteRange, readParameters } from "./parameters.js";
import { type ApiReply, jsonReply, reply } from "./reply.js";
import { parameterNames, TotalsQuery } from "./schemas.js";
import type { SlaEndpointDeps } from "./sla-endpoints.js";

const TOTALS_PARAMETERS = parameterNames(TotalsQuery);

/** What the SLA endpoints need, and when the coarse rows are complete. */
export interface TotalsEndpointDeps
  extends Pick<SlaEndpointDeps, "model" | "now" | "seriesStore" | "scopeOf"> {
  /** The first minute that may still change: hours ending by it are read from the hourly rows. */
  completeUntil: () => number;
}

export interface TotalsEndpoints {
  totals(customer: string, search: string): Promise<ApiReply>;
}

export function createTotalsEndpoints(deps: TotalsEndpointDeps): TotalsEndpoints {
  async function sumOf(
    q: Omit<TrafficQuery, "level" | "fromMs" | "toMs">,
    parts: ReturnType<typeof exactParts>,
  ): Promise<Sums> {
    const s: Sums = { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0 };
    const answers = await Promise.all(
      parts.map((p) =>
        deps.seriesStore().traffic({ ...q, fromMs: p.fromMs, toMs: p.toMs, level: p.step }),
      ),
    );
    for (const points of answers) {
      for (const p of points) {
        s.bytesIn += p.bytesIn;
        s.bytesOut += p.bytesOut;
        s.packetsIn += p.packetsIn;
        s.packetsOut += p.packetsOut;
      }
    }
    return s;
  }

  async function totals(customer: string, search: string): Promise<ApiReply> {
    const p = readParameters(search, TOTALS_PARAMETERS);
    const { fromMs, toMs } = minuteRange(p, deps.now());
    if (toMs - fromMs > MAX_RANGE_MS) {
      throw badParameter(
        "to",
        `range too long: ${isoTime(fromMs)} to ${isoTime(toMs)} is more than ${MAX_RANGE_MS / 86_400_000} days`,
      );
    }
    const by = choice<TotalsDimension>(p, "by", totalsDimensions, "class");
    const format = choice(p, "format", ["json", "csv"] as const, "json");
    const scope = await deps.scopeOf(customer);
    if (scope === undefined) throw unknownCustomer(customer);
    const parts = exactParts({ fromMs, toMs }, deps.completeUntil());
    const keys: Array<{ class?: string; site?: string; link?: string }> =
      by === "class"
        ? deps.model.classIds.map((c) => ({ class: c }))
        : scope === "any"
          ? []
          : [...scope].flatMap(([site, links]) => [...links].map((link) => ({ site, link })));
    const sums = await Promise.all(
      keys.map(async (key) => ({
        key,
        sums: await sumOf(
          {
            customer,
            ...(key.class === undefined ? {} : { trafficClass: key.class }),
            ...(key.site === undefined ? {} : { site: key.site }),
            ...(key.link === undefined ? {} : { link: key.link }),
          },
          parts,
        ),
      })),
    );
    const rows = totalsRows(by, sums, toMs - fromMs);
    const [from, to] = [isoTime(fromMs), isoTime(toMs)];
    if (format === "csv") {
      const compact = (s: string) => s.replace(/[-:]/g, "");
      return reply(200, totalsCsv(by, from, to, rows), "text/csv; charset=utf-8", {
        "content-disposition": `attachment; filename="flowtally-${by}-totals-${compact(from)}-${compact(to)}.csv"`,
      });
    }
    return jsonReply(200, { customer, from, to, by, rows });
  }

  return { totals };
}
