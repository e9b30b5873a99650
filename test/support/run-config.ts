/**
 * The config of a one-box `flowtally run` in a test's temp dir: NetFlow and the API on free
 * loopback ports, the embedded store and the write-ahead log in `dir`, no decoder state file, one
 * operator token; `extra` adds or replaces top-level keys (registry, customers, …).
 */
import { join } from "node:path";
import { stringify } from "yaml";
import { parseConfigText } from "../../config/load-config.js";
import type { Config } from "../../schema/config.js";

export function oneBoxConfig(dir: string, token: string, extra: Record<string, unknown>): Config {
  return parseConfigText(
    stringify({
      inputs: { netflow: [{ listen: "127.0.0.1:0" }] },
      store: { embedded: { path: join(dir, "series.duckdb") } },
      decoder: { statePath: "" },
      api: { listen: "127.0.0.1:0", operatorTokens: [token] },
      wal: { path: join(dir, "wal") },
      ...extra,
    }),
    join(dir, "flowtally.yaml"),
    dir,
  );
}
