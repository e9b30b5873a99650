import { describe, expect, it } from "vitest";
import {
  createExporterAllowlist,
  MAX_COUNTED_SOURCES,
  parseExporterPrefix,
} from "./exporter-allowlist.js";

describe("exporter allowlist", () => {
  it("takes every source when none is configured", () => {
    const a = createExporterAllowlist(undefined);
    expect(a.allows("203.0.113.9")).toBe(true);
    expect(a.allows("2001:db8::1")).toBe(true);
    expect(a.dropped).toBe(0);
  });

  it("takes sources inside its prefixes, drops and counts the others per source", () => {
    const a = createExporterAllowlist(["192.0.2.0/24", "2001:db8:1::/48", "198.51.100.7"]);
    expect(a.prefixes).toEqual(["192.0.2.0/24", "2001:db8:1::/48", "198.51.100.7/32"]);
    expect(a.allows("192.0.2.200")).toBe(true);
    expect(a.allows("198.51.100.7")).toBe(true);
    expect(a.allows("2001:db8:1:ffff::9")).toBe(true);
    expect(a.allows("198.51.100.8")).toBe(false);
    expect(a.allows("192.0.3.1")).toBe(false);
    expect(a.allows("192.0.3.1")).toBe(false);
    expect(a.allows("2001:db8:2::1")).toBe(false);
    expect(a.allows("fe80::1%eth0")).toBe(false);
    expect(a.dropped).toBe(5);
    expect(a.droppedBySource()).toEqual({
      "198.51.100.8": 1,
      "192.0.3.1": 2,
      "2001:db8:2::1": 1,
      "fe80::1%eth0": 1,
    });
  });

  it("keeps its per-source counts bounded under a flood of spoofed sources", () => {
    const a = createExporterAllowlist(["192.0.2.0/24"]);
    const n = MAX_COUNTED_SOURCES + 500;
    for (let k = 0; k < n; k++) a.allows(`10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`);
    const counted = a.droppedBySource();
    expect(Object.keys(counted)).toHaveLength(MAX_COUNTED_SOURCES + 1);
    expect(counted.other).toBe(500);
    expect(a.dropped).toBe(n);
  });

  it("parses prefixes and bare addresses, refusing host bits and non-addresses", () => {
    expect(parseExporterPrefix("192.0.2.1")).toEqual({ prefix: "192.0.2.1/32" });
    expect(parseExporterPrefix("2001:DB8::/32")).toEqual({ prefix: "2001:db8::/32" });
    expect(parseExporterPrefix("192.0.2.1/24")).toMatchObject({ error: /host bits/ });
    expect(parseExporterPrefix("router1")).toMatchObject({ error: /not a prefix/ });
  });
});
