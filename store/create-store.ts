/**
 * The store the config names: InfluxDB when `store.influx` is set, else the embedded DuckDB file.
 * The one place that decides, so that `run`, `replay` and `query` always agree; what the choice
 * means without opening anything is in configured-store.ts.
 */
import { basename, dirname, resolve } from "node:path";
import type { Logger } from "pino";
import type { Config } from "../schema/config.js";
import type { SeriesStore } from "../schema/series-store.js";
import type { LevelLookup } from "../sla/config-levels.js";
import { describeStore } from "./configured-store.js";
import { createDuckDbStore } from "./duckdb-store.js";
import { createInfluxStore } from "./influx-store.js";
import type { SpoolPlace } from "./store-spool.js";

type StoreConfig = Config["store"];

/**
 * `readOnly` (queries): the embedded file must exist and is opened read-only; InfluxDB is
 * only ever read by queries anyway.
 */
export function createStore(
  store: StoreConfig,
  deps: { log: Logger; readOnly?: boolean; slaLevel?: LevelLookup },
): SeriesStore {
  return store.influx === undefined
    ? createDuckDbStore({
        path: store.embedded.path,
        readOnly: deps.readOnly === true,
        ...(deps.slaLevel === undefined ? {} : { slaLevel: deps.slaLevel }),
      })
    : createInfluxStore(store.influx, deps);
}

/**
 * Where rows the store did not take by a stop are spooled, in order (store/store-spool.ts): beside
 * the embedded store's file (`<path>.spool-<time>-<pid>.json`: it travels with the file), then
 * the directory of `decoder.statePath` (`store-spool-<time>-<pid>.json`; `dataDir` when the
 * state is off), the only place for InfluxDB, and the one left when the store's own disk is full
 * or read-only. None for a store in memory, whose rows end with the process anyway.
 */
export function storeSpoolPlaces(cfg: Pick<Config, "store" | "decoder" | "dataDir">): SpoolPlace[] {
  const { path } = cfg.store.embedded;
  if (cfg.store.influx === undefined && path === ":memory:") return [];
  const stateDir = resolve(
    cfg.dataDir,
    cfg.decoder.statePath === "" ? "." : dirname(cfg.decoder.statePath),
  );
  const shared: SpoolPlace = { dir: stateDir, prefix: "store-spool-", shared: true };
  if (cfg.store.influx !== undefined) return [shared];
  const file = resolve(path);
  return [{ dir: dirname(file), prefix: `${basename(file)}.spool-`, shared: false }, shared];
}

/** The store's name in a spool file: describeStore, with the embedded path made absolute. */
export function spoolStoreName(store: StoreConfig): string {
  return describeStore(
    store.influx === undefined
      ? { ...store, embedded: { ...store.embedded, path: resolve(store.embedded.path) } }
      : store,
  );
}
