/**
 * The registry a config names: PostgreSQL at `registry.postgres.url` when given (shared by every
 * process), else the embedded DuckDB file `registry.embedded.path` (one process). `driver`: a
 * connection the process already shares with its account store (shareDriver), since one process
 * may open the embedded file once.
 */
import type { Config } from "../schema/config.js";
import { createDuckDbDriver } from "./duckdb-registry.js";
import { createPostgresDriver } from "./postgres-registry.js";
import { createSqlRegistry, type RegistryStore, type SqlDriver } from "./sql-registry.js";
import { treeFileBeside } from "./tree-snapshot.js";

/** The registry database's connection of a config (not opened). */
export function registryDriver(cfg: Pick<Config, "registry">): SqlDriver {
  const pg = cfg.registry.postgres;
  return pg === undefined
    ? createDuckDbDriver({ path: cfg.registry.embedded.path })
    : createPostgresDriver({ url: pg.url });
}

export function openRegistry(
  cfg: Pick<Config, "registry">,
  deps: { now?: () => number; driver?: SqlDriver } = {},
): RegistryStore {
  const { postgres, embedded } = cfg.registry;
  return createSqlRegistry(deps.driver ?? registryDriver(cfg), {
    ...(deps.now === undefined ? {} : { now: deps.now }),
    // One process holds the embedded file: its tree is saved beside it for the next start.
    ...(postgres === undefined && embedded.path !== ":memory:"
      ? { treeFile: treeFileBeside(embedded.path) }
      : {}),
  });
}
