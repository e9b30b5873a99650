/**
 * The store the config names: InfluxDB when `store.influx` is set, else the embedded DuckDB file.
 * The one place that decides, so that `run`, `replay` and `query` always agree.
 */
import type { Logger } from "pino";
import type { Config } from "../schema/config.js";
import type { SeriesStore } from "../schema/series-store.js";
import { createDuckDbStore } from "./duckdb-store.js";
import { createInfluxStore } from "./influx-store.js";
import type { Retention } from "./retention.js";

type StoreConfig = Config["store"];

/**
 * `readOnly` (queries): the embedded file must exist and is opened read-only; InfluxDB is
 * only ever read by queries anyway.
 */
export function createStore(
  store: StoreConfig,
  deps: { log: Logger; readOnly?: boolean },
): SeriesStore {
  return store.influx === undefined
    ? createDuckDbStore({ path: store.embedded.path, readOnly: deps.readOnly === true })
    : createInfluxStore(store.influx, deps);
}

/** How long the configured store keeps each level, and the config key that says so. */
export function storeRetention(store: StoreConfig): { retention: Retention; key: string } {
  return store.influx === undefined
    ? { retention: store.embedded.retention, key: "store.embedded.retention" }
    : { retention: store.influx.retention, key: "store.influx.retention" };
}

/** One line for people: which store, where (never a credential). */
export function describeStore(store: StoreConfig): string {
  const influx = store.influx;
  if (influx === undefined) return `embedded store (DuckDB) ${store.embedded.path}`;
  return influx.api === "v1"
    ? `InfluxDB (v1 API) ${influx.url} database ${influx.database}${
        influx.retentionPolicy === undefined
          ? ""
          : ` retention policy ${
              typeof influx.retentionPolicy === "string"
                ? influx.retentionPolicy
                : JSON.stringify(influx.retentionPolicy)
            }`
      }`
    : `InfluxDB (v2 API) ${influx.url} org ${influx.org} bucket ${influx.bucket}`;
}
