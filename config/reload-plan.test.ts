/** What a SIGHUP applies and what it names as needing a restart, on parsed config texts. */
import { describe, expect, it } from "vitest";
import { parseConfigText } from "./load-config.js";
import {
  API_KEYS,
  applyReload,
  effectiveLogLevel,
  LOG_ONLY_KEYS,
  restartNeeded,
} from "./reload-plan.js";

const base = [
  'inputs: { netflow: [{ listen: "127.0.0.1:2055" }] }',
  'api: { listen: "127.0.0.1:8080" }',
  "store: { embedded: { path: ft.duckdb } }",
  "classes: [{ id: web, match: { protocol: [tcp], ports: [80] }, totalDelayThreshold: 50ms }]",
  "customers: [{ id: a, name: A, sites: [{ id: s, links: [{ id: l, prefixes: [10.0.0.0/24] }] }] }]",
];

/** The base config with lines replaced (by their first key) or added. */
function config(...changes: string[]): ReturnType<typeof parseConfigText> {
  const lines = [...base];
  for (const c of changes) {
    const key = c.split(":")[0];
    const at = lines.findIndex((l) => l.split(":")[0] === key);
    if (at >= 0) lines[at] = c;
    else lines.push(c);
  }
  return parseConfigText(lines.join("\n"), "ft.yaml", "/etc/flowtally");
}

describe("reload plan", () => {
  it("applies customers, classes with their thresholds, the default threshold and the log level", () => {
    const running = config();
    const next = config(
      "classes: [{ id: web, match: { protocol: [tcp], ports: [80] }, totalDelayThreshold: 200ms }]",
      "defaultTotalDelayThreshold: 2s",
      "log: { level: debug }",
      "customers: []",
    );
    expect(restartNeeded(running, next)).toEqual([]);
    const after = applyReload(running, next);
    expect(after.classes[0]?.totalDelayThreshold).toBe(200);
    expect(after.defaultTotalDelayThreshold).toBe(2000);
    expect(after.log.level).toBe("debug");
    expect(after.customers).toEqual([]);
    expect(Object.isFrozen(after)).toBe(true);
  });

  it("names every start-only setting that changed, and keeps it", () => {
    const running = config();
    const next = config(
      'inputs: { netflow: [{ listen: "127.0.0.1:2056" }] }',
      'api: { listen: "127.0.0.1:8081" }',
      "store: { embedded: { path: other.duckdb } }",
      "dataDir: /var/lib/flowtally",
      'queue: { redis: { url: "redis://127.0.0.1:6380" } }',
      "aggregation: { lateness: 1m }",
      "log: { level: warn }",
    );
    expect(restartNeeded(running, next)).toEqual([
      "aggregation.lateness",
      "api.listen",
      // dataDir moves every file resolved against it.
      "collector.spoolPath",
      "dataDir",
      "decoder.statePath",
      "inputs.netflow",
      "queue",
      "registry.embedded",
      "sla.statePath",
      "store.embedded",
      "wal.path",
    ]);
    const after = applyReload(running, next);
    expect(after.inputs).toBe(running.inputs);
    expect(after.store).toBe(running.store);
    expect(after.log.level).toBe("warn");
  });

  it("serve applies the customers, classes and service types' billing; aggregate only the log level", () => {
    const running = config();
    const next = config(
      "customers: []",
      "serviceTypes: [{ id: business, billing: { availabilityTarget: 99.5 } }]",
    );
    expect(restartNeeded(running, next, API_KEYS)).toEqual([]);
    const after = applyReload(running, next, API_KEYS);
    expect(after.customers).toEqual([]);
    expect(after.serviceTypes[0]?.billing.availabilityTarget).toBe(99.5);
    expect(restartNeeded(running, next, LOG_ONLY_KEYS)).toEqual(["customers", "serviceTypes"]);
  });

  it("aggregate applies the log level only: customers and classes need a restart", () => {
    const running = config();
    const next = config("customers: []", "log: { level: error }");
    expect(restartNeeded(running, next, LOG_ONLY_KEYS)).toEqual(["customers"]);
    const after = applyReload(running, next, LOG_ONLY_KEYS);
    expect(after.customers).toBe(running.customers);
    expect(after.log.level).toBe("error");
  });

  it("the log level: --log-level on the command line, else log.level, else the default", () => {
    expect(effectiveLogLevel(config(), undefined, "info")).toBe("info");
    expect(effectiveLogLevel(config("log: { level: debug }"), undefined, "info")).toBe("debug");
    expect(effectiveLogLevel(config("log: { level: debug }"), "warn", "info")).toBe("warn");
    expect(() => config("log: { level: loud }")).toThrow(/log\.level/);
  });
});
