/**
 * The RADIUS client's settings from the config's `radius` section: each server's shared secret
 * as written (`secret`) or read from the environment (`secretEnv`), so that a secret need not sit
 * in the config file. Pure: the environment is passed in.
 */
import type { RadiusConfig } from "../schema/config.js";
import { FlowtallyError } from "../schema/errors.js";
import type { RadiusClientConfig } from "./radius-client.js";

/**
 * The client's config, or FT_CONFIG_INVALID naming the key and the variable when a `secretEnv`
 * is not set or empty (never its value, never another secret).
 */
export function radiusClientConfig(
  radius: Readonly<RadiusConfig>,
  env: Readonly<Record<string, string | undefined>>,
): RadiusClientConfig {
  const problems: string[] = [];
  const servers = radius.servers.map((s, k) => {
    let secret = s.secret;
    if (s.secretEnv !== undefined) {
      secret = env[s.secretEnv];
      if (secret === undefined || secret === "") {
        problems.push(
          `radius.servers[${k}].secretEnv: the environment variable ${s.secretEnv} is ${secret === undefined ? "not set" : "empty"}`,
        );
      }
    }
    return { host: s.host, port: s.port, secret: secret ?? "" };
  });
  if (problems.length > 0) {
    throw new FlowtallyError("FT_CONFIG_INVALID", `invalid config\n  ${problems.join("\n  ")}`);
  }
  return { servers, timeout: radius.timeout, retries: radius.retries };
}
