/**
 * `--listen` and `FLOWTALLY_API_LISTEN`: the HTTP API's address for one process, overriding the
 * config's `api.listen`, so that several processes on one host (a collector, an aggregator, the
 * API) can share one config file. Checked like the config key; the option wins over the
 * environment variable, and either over the file.
 */
import type { Config } from "../schema/config.js";
import { FlowtallyError } from "../schema/errors.js";
import { parseHostPort } from "../schema/units.js";

export const LISTEN_ENV = "FLOWTALLY_API_LISTEN";

export interface ListenOverride {
  /** Where the address came from: the option or the environment variable. */
  from: "--listen" | typeof LISTEN_ENV;
  listen: string;
  /** What the config file said (or its default). */
  configured: string;
}

/**
 * The config with `api.listen` replaced by `listen` (from `from`), or unchanged when `listen` is
 * undefined. An address that is not host:port is a config error naming where it came from.
 */
export function overrideListen(
  cfg: Readonly<Config>,
  listen: string | undefined,
  from: ListenOverride["from"],
): { cfg: Readonly<Config>; override: ListenOverride | undefined } {
  if (listen === undefined) return { cfg, override: undefined };
  if (parseHostPort(listen) === null) {
    throw new FlowtallyError(
      "FT_CONFIG_INVALID",
      `${from} "${listen}": is not "host:port" (IPv6: "[::1]:8080"); it replaces api.listen`,
    );
  }
  const api = Object.freeze({ ...cfg.api, listen });
  return {
    cfg: Object.freeze({ ...cfg, api }),
    override: { from, listen, configured: cfg.api.listen },
  };
}
