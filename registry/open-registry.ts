/**
 * The registry a config names: PostgreSQL at `registry.postgres.url` when given (shared by every
 * process), else the embedded DuckDB file `registry.embedded.path` (one process).
 */
import type { Config } from "../schema/config.js";
import { createDuckDbRegistry } from "./duckdb-registry.js";
import { createPostgresRegistry } from "./postgres-registry.js";
import type { RegistryStore } from "./sql-registry.js";

export function openRegistry(
  cfg: Pick<Config, "registry">,
  deps: { now?: () => number } = {},
): RegistryStore {
  const { postgres, embedded } = cfg.registry;
  return postgres === undefined
    ? createDuckDbRegistry({ path: embedded.path }, deps)
    : createPostgresRegistry({ url: postgres.url }, deps);
}
