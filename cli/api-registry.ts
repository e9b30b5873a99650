/**
 * The customer registry the API serves (docs/api.md#the-customer-registry), as `run` and `serve`
 * open it: `registry.source: config` reads the config's customers (nothing to open; writes
 * answer 409), `database` opens the registry database with openRegistry (the embedded DuckDB file
 * or PostgreSQL) and closes it at stop. A registry that cannot be opened stops the start with
 * FT_REGISTRY_OPEN naming it.
 */
import type { Logger } from "pino";
import { configRegistry, databaseRegistry, type RegistryAccess } from "../query/api/index.js";
import { openRegistry, type RegistryStore } from "../registry/index.js";
import type { SqlDriver } from "../registry/sql-registry.js";
import type { Config } from "../schema/config.js";

export interface ApiRegistry {
  readonly access: RegistryAccess;
  /** The opened database (source: database), for what else the process does with it. */
  readonly store?: RegistryStore;
  start(): Promise<void>;
  /**
   * Once the process has started (its API listening): makes in the background what the first
   * write would otherwise wait for (RegistryStore.prepareWrites). Nothing with source: config.
   */
  prepareWrites(): void;
  stop(): Promise<void>;
}

export function createApiRegistry(
  cfg: Pick<Config, "registry" | "customers">,
  deps: {
    log: Logger;
    open?: typeof openRegistry;
    driver?: SqlDriver;
    /**
     * The process's registry store, opened and closed by its owner (the registry runtime, which
     * classification follows): the API's writes go through it, so they are seen at once.
     */
    store?: RegistryStore;
    /** The customers now, for `registry.source: config` (a process that reloads its config). */
    customers?: () => Config["customers"];
  },
): ApiRegistry {
  if (cfg.registry.source === "config") {
    return {
      access: configRegistry(deps.customers ?? cfg.customers),
      start: () => Promise.resolve(),
      prepareWrites: () => {},
      stop: () => Promise.resolve(),
    };
  }
  const owned = deps.store === undefined;
  const store =
    deps.store ??
    (deps.open ?? openRegistry)(cfg, deps.driver === undefined ? {} : { driver: deps.driver });
  const where = cfg.registry.postgres === undefined ? "embedded" : "postgres";
  return {
    // The embedded file is held by this process alone: its snapshot can stay in memory.
    access: databaseRegistry(store, { exclusive: cfg.registry.postgres === undefined }),
    store,
    async start() {
      if (owned) await store.start();
      deps.log.info(
        { registry: where, version: await store.version() },
        "customer registry opened (registry.source: database)",
      );
    },
    prepareWrites() {
      store.prepareWrites?.().catch((e: unknown) => {
        deps.log.warn({ err: e }, "the registry's validation index not made ahead");
      });
    },
    stop: () => (owned ? store.stop() : Promise.resolve()),
  };
}
