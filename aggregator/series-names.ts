/**
 * Turns the rollup's numeric keys (link index, class index, direction) into the store's named
 * series keys. Link -1 is the pseudo-customer "unattributed".
 */
import type { CustomerModel } from "../collector/classify/customer-model.js";
import { type SeriesRowDelta, UNATTRIBUTED_CUSTOMER } from "../schema/series-store.js";
import type { SeriesDelta } from "./rollup.js";

export function nameDeltas(model: CustomerModel, deltas: readonly SeriesDelta[]): SeriesRowDelta[] {
  return deltas.map((d) => {
    const link = d.link >= 0 ? model.links[d.link] : undefined;
    return {
      level: d.level,
      startMs: d.startMs,
      customer: link?.customer ?? UNATTRIBUTED_CUSTOMER,
      site: link?.site ?? "",
      link: link?.link ?? "",
      trafficClass: model.classIds[d.classIndex] ?? model.classIds[model.classIds.length - 1]!,
      direction: d.direction === 0 ? "in" : "out",
      bytes: d.bytes,
      packets: d.packets,
      flows: d.flows,
    };
  });
}
