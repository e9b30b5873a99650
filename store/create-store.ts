/** The store the config names: the embedded DuckDB file by default. */
import type { Logger } from "pino";
import type { Config } from "../schema/config.js";
import type { SeriesStore } from "../schema/series-store.js";
import { createDuckDbStore } from "./duckdb-store.js";

export function createStore(cfg: Config, _log: Logger): SeriesStore {
  return createDuckDbStore({ path: cfg.store.embedded.path });
}
