/**
 * Which store the config names, described without loading either store's modules (DuckDB's
 * native binding, the InfluxDB client): `check-config` and the API need only this.
 */
import type { Config } from "../schema/config.js";
import type { Retention } from "./retention.js";

type StoreConfig = Config["store"];

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
