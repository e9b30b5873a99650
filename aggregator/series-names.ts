/**
 * Turns the rollups' numeric keys (link index, class index, direction) into the store's named
 * series keys. Link -1 is the pseudo-customer "unattributed".
 */
import type { CustomerModel } from "../collector/classify/customer-model.js";
import {
  type ResponseTimeRowDelta,
  type SeriesRowDelta,
  UNATTRIBUTED_CUSTOMER,
} from "../schema/series-store.js";
import type { ResponseDelta } from "./response-rollup.js";
import type { SeriesDelta } from "./rollup.js";

/** The named (customer, site, link, class) of a link index and class index. */
export function names(model: CustomerModel, linkIndex: number, classIndex: number) {
  const link = linkIndex >= 0 ? model.links.get(linkIndex) : undefined;
  return {
    customer: link?.customer ?? UNATTRIBUTED_CUSTOMER,
    site: link?.site ?? "",
    link: link?.link ?? "",
    trafficClass: model.classIds[classIndex] ?? model.classIds[model.classIds.length - 1]!,
  };
}

export function nameDeltas(model: CustomerModel, deltas: readonly SeriesDelta[]): SeriesRowDelta[] {
  return deltas.map((d) => ({
    level: d.level,
    startMs: d.startMs,
    ...names(model, d.link, d.classIndex),
    direction: d.direction === 0 ? "in" : "out",
    bytes: d.bytes,
    packets: d.packets,
    flows: d.flows,
  }));
}

export function nameResponseDeltas(
  model: CustomerModel,
  deltas: readonly ResponseDelta[],
): ResponseTimeRowDelta[] {
  return deltas.map(({ link, classIndex, ...rest }) => ({
    ...rest,
    ...names(model, link, classIndex),
  }));
}
