/**
 * The InfluxDB store: the series of `schema/series-store.ts` in InfluxDB, for the scale-out setup
 * (docs/series-schema.md is the schema operators query; this comment says why it is so).
 *
 * Two APIs (`store.influx.api`):
 * - v1: line protocol POSTed to `/write`, InfluxQL on `/query`. The one path that reaches
 *   InfluxDB 1.x and, through their compatibility API, 2.x and 3.x.
 * - v2: writes through `@influxdata/influxdb-client` (`/api/v2/write`, its batching, retries and
 *   backoff); reads still InfluxQL on the v1-compatibility `/query` (with `Authorization: Token`
 *   and a DBRP mapping): InfluxQL is the one query language 1.x, 2.x and 3.x all answer.
 *
 * Schema: one measurement per level, `traffic_1m` ... `traffic_1d` (tags customer, site, link,
 * class, direction; float fields bytes, packets, flows) and `response_1m` ... `response_1d`
 * (tags customer, site, link, class; float fields: the response-time counters by name, and one
 * `bin_<key>` field per latency-sketch bin). Time is the period start in ms. One measurement per
 * level for the same reason as the embedded store's one table per level: every read names one
 * level, and a retention policy or a Grafana panel can pick a level by name.
 *
 * InfluxDB has no "add to the stored value": a point written again with the same measurement,
 * tags and time replaces the fields it carries. So `addDeltas` reads the current values of the
 * keys it touches, adds, and writes the sums back (read-modify-write). Calls of one store are
 * serialised, so they never lose each other's updates; two processes writing the same keys would,
 * so each key must have a single writer (the scale-out aggregator shards by customer, and writes
 * absolute totals with `putSeries`, which is idempotent). A call whose write fails after InfluxDB
 * stored part of it, and is then retried as deltas, would add that part twice: the reason the
 * scale-out path writes absolute totals.
 *
 * A replace (`putResponseTimes`) must also clear the sketch bins the new row no longer has: a
 * point only replaces the fields it carries, so those bins are written as 0, and bins at 0 are
 * read as absent (the embedded store does not keep empty bins either).
 *
 * Every value in a query goes through quoteString/quoteIdentifier (store/influx-text.ts) and every
 * tag through the line-protocol escaping there: no customer id, site or class can inject InfluxQL
 * or a line. Times are whole ms, clamped to InfluxDB's range (int64 ns).
 */
import type { Logger } from "pino";
import type { InfluxConfig } from "../schema/config.js";
import type { SeriesStore } from "../schema/series-store.js";
import type { LevelLookup } from "../sla/config-levels.js";
import { createInfluxBillingProfiles } from "./influx-billing-profiles.js";
import { createInfluxClient } from "./influx-client.js";
import { createInfluxLinkStatusRows } from "./influx-link-status-rows.js";
import { createInfluxPrune } from "./influx-prune.js";
import { createInfluxReadBack } from "./influx-read-back.js";
import { createInfluxResponseReads } from "./influx-response-reads.js";
import { createInfluxTrafficReads } from "./influx-traffic-reads.js";
import { createInfluxWrites } from "./influx-writes.js";

export interface InfluxStoreDeps {
  log: Logger;
  /** The SLA level of each class now (duckdb-store.ts's option of the same name). */
  slaLevel?: LevelLookup;
}

/** The store: its connection (store/influx-client.ts) and the files of each job, wired. */
export function createInfluxStore(config: InfluxConfig, deps: InfluxStoreDeps): SeriesStore {
  const slaLevel: LevelLookup = deps.slaLevel ?? (() => undefined);
  const client = createInfluxClient(config, deps);
  const readBack = createInfluxReadBack(client);
  return {
    start: client.start,
    stop: client.stop,
    // A server away is a passing failure: the calls that fail say so.
    problem: () => undefined,
    ...createInfluxWrites(client, readBack, slaLevel),
    readMarks: readBack.readMarks,
    readSeries: readBack.readSeries,
    readResponseTimes: readBack.readResponseTimes,
    ...createInfluxPrune(client),
    ...createInfluxTrafficReads(client),
    ...createInfluxResponseReads(client, readBack),
    ...createInfluxLinkStatusRows(client, readBack),
    ...createInfluxBillingProfiles(client),
  };
}
