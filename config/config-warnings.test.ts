import { describe, expect, it } from "vitest";
import { configWarnings, formatWarning, SHORTEST_CUSTOMER_PREFIX } from "./config-warnings.js";
import { loadConfigFile, parseConfigText } from "./load-config.js";

const withPrefixes = (prefixes: string[]) =>
  parseConfigText(
    `customers:\n  - { id: acme, name: A, sites: [{ id: s, links: [{ id: l, prefixes: [${prefixes.map((p) => `"${p}"`).join(", ")}] }] }] }\n`,
  );

describe("config warnings", () => {
  it("accepts a default route or a very short customer prefix but warns, naming the path and why", () => {
    const warnings = configWarnings(withPrefixes(["203.0.113.0/24", "0.0.0.0/0", "::/0"]));
    expect(warnings.map(formatWarning)).toEqual([
      'customers[0].sites[0].links[0].prefixes[1]: "0.0.0.0/0" is shorter than /8: it holds every IPv4 address, so the traffic of all of them that no longer prefix matches is attributed to customer "acme" (a default route or a typo?)',
      'customers[0].sites[0].links[0].prefixes[2]: "::/0" is shorter than /16: it holds every IPv6 address, so the traffic of all of them that no longer prefix matches is attributed to customer "acme" (a default route or a typo?)',
    ]);
  });

  it("warns below /8 (IPv4) and /16 (IPv6), not at them", () => {
    expect(SHORTEST_CUSTOMER_PREFIX).toEqual({ ipv4: 8, ipv6: 16 });
    const paths = (prefixes: string[]) =>
      configWarnings(withPrefixes(prefixes)).map(
        (w) => /^.* is shorter than \/\d+/.exec(w.reason)?.[0],
      );
    expect(paths(["10.0.0.0/8", "2001::/16", "2001:db8::/32", "192.0.2.1"])).toEqual([]);
    expect(paths(["10.0.0.0/7", "2000::/15", "16.0.0.0/4"])).toEqual([
      '"10.0.0.0/7" is shorter than /8',
      '"2000::/15" is shorter than /16',
      '"16.0.0.0/4" is shorter than /8',
    ]);
    expect(configWarnings(withPrefixes(["16.0.0.0/4"]))[0]!.reason).toMatch(
      /holds 1\/16 of all IPv4 addresses/,
    );
  });

  it("a short prefix of multicast, link-local or unique local addresses is deliberate", () => {
    // config/demo.yaml's pseudo-customer `multicast` keeps the groups apart.
    const prefixes = [
      "224.0.0.0/4",
      "240.0.0.0/4",
      "224.0.0.0/3",
      "ff00::/8",
      "fe80::/10",
      "fc00::/7",
    ];
    expect(configWarnings(withPrefixes(prefixes))).toEqual([]);
    expect(
      configWarnings(withPrefixes(["192.0.0.0/2", "::/2", "2000::/3", "0.0.0.0/3"])),
    ).toHaveLength(4);
  });

  it("the example configs have none", () => {
    for (const f of ["demo.yaml", "flowtally.example.yaml", "influx.example.yaml"]) {
      expect(configWarnings(loadConfigFile(new URL(f, import.meta.url).pathname)), f).toEqual([]);
    }
  });

  it("warns of a RADIUS shared secret shorter than RFC 2865's 16 bytes, not of one read from the environment", () => {
    const cfg = parseConfigText(`radius:
  servers:
    - { host: 127.0.0.1, secret: "fifteen-bytes.." }
    - { host: 127.0.0.1, secret: "sixteen-bytes..." }
    - { host: ::1, secretEnv: RADIUS_SECRET }
`);
    expect(configWarnings(cfg).map((w) => w.path)).toEqual(["radius.servers[0].secret"]);
    expect(formatWarning(configWarnings(cfg)[0]!)).toMatch(
      /^radius\.servers\[0\]\.secret: is shorter than 16 bytes: RFC 2865/,
    );
    // Never the secret itself.
    expect(JSON.stringify(configWarnings(cfg))).not.toContain("fifteen");
  });

  it("a config without customers has none", () => {
    expect(configWarnings(parseConfigText(""))).toEqual([]);
  });
});
