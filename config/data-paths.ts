/**
 * Where a config's data files are: `dataDir` relative to the config file's directory, and every
 * relative data path (store, decoder state, collector spool) relative to `dataDir`. Never the
 * current working directory, so the same config run from anywhere uses the same files.
 */
import { isAbsolute, resolve } from "node:path";
import type { Config } from "../schema/config.js";

/**
 * The config with `dataDir` and every data path made absolute; "" (off) and ":memory:" stay as
 * they are. `configDir` must be absolute: the directory of the config file.
 */
export function resolveDataPaths(cfg: Config, configDir: string): Config {
  if (!isAbsolute(configDir)) throw new Error(`configDir must be absolute (got ${configDir})`);
  const dataDir = resolve(configDir, cfg.dataDir);
  const inData = (p: string) => (p === "" ? p : resolve(dataDir, p));
  const store = cfg.store.embedded.path;
  // The certificate and key are the operator's files, not data: relative to the config file.
  const inConfig = (tls: Config["api"]["tls"]) => ({
    ...(tls.cert === undefined ? {} : { cert: resolve(configDir, tls.cert) }),
    ...(tls.key === undefined ? {} : { key: resolve(configDir, tls.key) }),
  });
  return {
    ...cfg,
    dataDir,
    decoder: { ...cfg.decoder, statePath: inData(cfg.decoder.statePath) },
    store: {
      ...cfg.store,
      embedded: { ...cfg.store.embedded, path: store === ":memory:" ? store : inData(store) },
    },
    collector: { ...cfg.collector, spoolPath: inData(cfg.collector.spoolPath) },
    wal: { ...cfg.wal, path: inData(cfg.wal.path) },
    sla: { ...cfg.sla, statePath: inData(cfg.sla.statePath) },
    api: { ...cfg.api, tls: inConfig(cfg.api.tls) },
    portal: {
      ...cfg.portal,
      branding:
        cfg.portal.branding.logo === undefined
          ? cfg.portal.branding
          : { ...cfg.portal.branding, logo: resolve(configDir, cfg.portal.branding.logo) },
      // The provider's templates are the operator's files, like the logo: relative to the config.
      ...(cfg.portal.template === undefined
        ? {}
        : { template: resolve(configDir, cfg.portal.template) }),
      serviceTypeTemplates: Object.fromEntries(
        Object.entries(cfg.portal.serviceTypeTemplates).map(([t, f]) => [t, resolve(configDir, f)]),
      ),
      templates: Object.fromEntries(
        Object.entries(cfg.portal.templates).map(([n, f]) => [n, resolve(configDir, f)]),
      ),
    },
    customers: cfg.customers.some((c) => c.portalTemplate !== undefined)
      ? cfg.customers.map((c) =>
          c.portalTemplate === undefined
            ? c
            : { ...c, portalTemplate: resolve(configDir, c.portalTemplate) },
        )
      : cfg.customers,
    registry: {
      ...cfg.registry,
      embedded: {
        path:
          cfg.registry.embedded.path === ":memory:"
            ? ":memory:"
            : inData(cfg.registry.embedded.path),
      },
    },
  };
}

/** The data files a config names, absolute, for the start log and check-config. */
export function dataFiles(cfg: Config): Record<string, string> {
  return {
    dataDir: cfg.dataDir,
    ...(cfg.store.influx === undefined ? { "store.embedded.path": cfg.store.embedded.path } : {}),
    "decoder.statePath": cfg.decoder.statePath === "" ? "(off)" : cfg.decoder.statePath,
    "wal.path": cfg.wal.enabled ? cfg.wal.path : "(off)",
    ...(cfg.registry.source === "database" && cfg.registry.postgres === undefined
      ? { "registry.embedded.path": cfg.registry.embedded.path }
      : {}),
    ...(cfg.queue === undefined
      ? {}
      : {
          "collector.spoolPath": cfg.collector.spoolPath === "" ? "(off)" : cfg.collector.spoolPath,
        }),
  };
}
