/**
 * Where a process's accounts live: the registry's database, PostgreSQL at registry.postgres.url
 * when given (shared by every process), else the embedded DuckDB file registry.embedded.path
 * (one process at a time: the one that serves the API).
 */
import type { Logger } from "pino";
import { createDuckDbDriver } from "../registry/duckdb-registry.js";
import { createPostgresDriver } from "../registry/postgres-registry.js";
import type { SqlDriver } from "../registry/sql-registry.js";
import type { Config } from "../schema/config.js";
import { type AccountStore, createAccountStore } from "./account-store.js";
import { type Accounts, accountsConfigOf, createAccounts, type RadiusCheck } from "./accounts.js";

/** The registry database's connection of a config (not opened). */
export function registryDriver(cfg: Readonly<Config>): SqlDriver {
  const pg = cfg.registry.postgres;
  return pg === undefined
    ? createDuckDbDriver({ path: cfg.registry.embedded.path })
    : createPostgresDriver({ url: pg.url });
}

export function accountStoreFor(cfg: Readonly<Config>, driver?: SqlDriver): AccountStore {
  return createAccountStore(driver ?? registryDriver(cfg));
}

/** The accounts of a process that serves the API (started by the caller). */
export function accountsFor(
  cfg: Readonly<Config>,
  deps: { log: Logger; now?: () => number; radius?: RadiusCheck; driver?: SqlDriver },
): Accounts {
  return createAccounts(accountsConfigOf(cfg.api), {
    store: accountStoreFor(cfg, deps.driver),
    now: deps.now ?? Date.now,
    log: deps.log,
    ...(deps.radius === undefined ? {} : { radius: deps.radius }),
  });
}
