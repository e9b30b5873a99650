/**
 * One customer's (site's, link's) traffic per traffic class over a range: bytes and packets in and
 * out of each class, summed from the store's rows at one level. The console's drill-down shows it
 * as a table and a stacked graph; the portal's top classes can use it too. Exact: each class's
 * figure is the sum of its own stored rows, and `other` is what the customer's rows hold beyond
 * the classes asked for (classes no longer configured), so the classes and `other` add up to the
 * customer's total.
 */
import type { SeriesStore, TrafficQuery } from "../schema/series-store.js";

export interface ClassTotals {
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
}

export interface ClassTraffic extends ClassTotals {
  trafficClass: string;
}

export interface TrafficByClass {
  /** The classes with traffic, most bytes (in + out) first, then by id. */
  classes: ClassTraffic[];
  /** What the rows hold beyond these classes; undefined when nothing. */
  other: ClassTotals | undefined;
  /** Every row of the range, classes and other. */
  total: ClassTotals;
}

const zero = (): ClassTotals => ({ bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0 });

function summed(points: readonly ClassTotals[]): ClassTotals {
  const t = zero();
  for (const p of points) {
    t.bytesIn += p.bytesIn;
    t.bytesOut += p.bytesOut;
    t.packetsIn += p.packetsIn;
    t.packetsOut += p.packetsOut;
  }
  return t;
}

/**
 * The traffic of `classIds` over the query's range (whole periods of its level), one store read
 * per class plus one for the total.
 */
export async function trafficByClass(
  store: Pick<SeriesStore, "traffic">,
  q: Omit<TrafficQuery, "trafficClass">,
  classIds: readonly string[],
): Promise<TrafficByClass> {
  const [total, ...perClass] = await Promise.all([
    store.traffic(q).then(summed),
    ...classIds.map((trafficClass) =>
      store.traffic({ ...q, trafficClass }).then((points) => ({ trafficClass, ...summed(points) })),
    ),
  ]);
  const classes = perClass
    .filter((c) => c.bytesIn + c.bytesOut + c.packetsIn + c.packetsOut > 0)
    .sort(
      (a, b) =>
        b.bytesIn + b.bytesOut - (a.bytesIn + a.bytesOut) ||
        (a.trafficClass < b.trafficClass ? -1 : 1),
    );
  const rest = summed(classes);
  const other = {
    bytesIn: total.bytesIn - rest.bytesIn,
    bytesOut: total.bytesOut - rest.bytesOut,
    packetsIn: total.packetsIn - rest.packetsIn,
    packetsOut: total.packetsOut - rest.packetsOut,
  };
  const anyOther = Object.values(other).some((v) => v !== 0);
  return { classes, other: anyOther ? other : undefined, total };
}
