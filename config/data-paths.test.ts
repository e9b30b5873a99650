import { describe, expect, it } from "vitest";
import { configSchema } from "../schema/config.js";
import { resolveDataPaths } from "./data-paths.js";
import { parseConfigText } from "./load-config.js";

describe("resolveDataPaths", () => {
  it("puts the default files in the config file's directory", () => {
    const cfg = parseConfigText("queue: { redis: { url: redis://r:6379 } }", "x", "/etc/ft");
    expect(cfg.dataDir).toBe("/etc/ft");
    expect(cfg.store.embedded.path).toBe("/etc/ft/flowtally.duckdb");
    expect(cfg.decoder.statePath).toBe("/etc/ft/decoder-state.json");
    expect(cfg.collector.spoolPath).toBe("/etc/ft/collector-spool.json");
  });

  it("resolves dataDir against the config's directory and data paths against dataDir", () => {
    const cfg = resolveDataPaths(
      configSchema.parse({
        dataDir: "../data",
        store: { embedded: { path: "db/ft.duckdb" } },
        decoder: { statePath: "/abs/state.json" },
        collector: { spoolPath: "spool.json" },
      }),
      "/etc/ft",
    );
    expect(cfg.dataDir).toBe("/etc/data");
    expect(cfg.store.embedded.path).toBe("/etc/data/db/ft.duckdb");
    expect(cfg.decoder.statePath).toBe("/abs/state.json");
    expect(cfg.collector.spoolPath).toBe("/etc/data/spool.json");
  });

  it('keeps "" (off) and ":memory:" as they are', () => {
    const cfg = resolveDataPaths(
      configSchema.parse({
        dataDir: "/var/lib/ft",
        store: { embedded: { path: ":memory:" } },
        decoder: { statePath: "" },
        collector: { spoolPath: "" },
      }),
      "/etc/ft",
    );
    expect([
      cfg.dataDir,
      cfg.store.embedded.path,
      cfg.decoder.statePath,
      cfg.collector.spoolPath,
    ]).toEqual(["/var/lib/ft", ":memory:", "", ""]);
  });
});
