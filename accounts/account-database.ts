/**
 * Where a process's accounts live: the registry's database, PostgreSQL at registry.postgres.url
 * when given (shared by every process), else the embedded DuckDB file registry.embedded.path
 * (one process at a time: the one that serves the API); and the RADIUS client of `radius`.
 */
import type { Logger } from "pino";
import { registryDriver } from "../registry/open-registry.js";
import type { SqlDriver } from "../registry/sql-registry.js";
import type { Config } from "../schema/config.js";
import { type AccountStore, createAccountStore } from "./account-store.js";
import { type Accounts, accountsConfigOf, createAccounts, type RadiusCheck } from "./accounts.js";
import { createRadiusClient } from "./radius-client.js";
import { radiusClientConfig } from "./radius-config.js";

export function accountStoreFor(cfg: Readonly<Config>, driver?: SqlDriver): AccountStore {
  return createAccountStore(driver ?? registryDriver(cfg));
}

/**
 * The accounts of a process that serves the API (started and stopped by the caller), with the
 * RADIUS client of the config's `radius` section for users with `auth: radius` (its secrets read
 * from `env` where `secretEnv` says so), started and stopped with them.
 */
export function accountsFor(
  cfg: Readonly<Config>,
  deps: {
    log: Logger;
    now?: () => number;
    radius?: RadiusCheck;
    driver?: SqlDriver;
    env?: Readonly<Record<string, string | undefined>>;
  },
): Accounts {
  const client =
    deps.radius === undefined && cfg.radius !== undefined
      ? createRadiusClient(radiusClientConfig(cfg.radius, deps.env ?? process.env), {
          log: deps.log,
          ...(deps.now === undefined ? {} : { now: deps.now }),
        })
      : undefined;
  const radius: RadiusCheck | undefined =
    deps.radius ?? (client === undefined ? undefined : (u, p) => client.authenticate(u, p));
  const accounts = createAccounts(accountsConfigOf(cfg.api), {
    store: accountStoreFor(cfg, deps.driver),
    now: deps.now ?? Date.now,
    log: deps.log,
    ...(radius === undefined ? {} : { radius }),
  });
  if (client === undefined) return accounts;
  return {
    ...accounts,
    async start() {
      await client.start();
      await accounts.start();
    },
    async stop() {
      await client.stop();
      await accounts.stop();
    },
  };
}
