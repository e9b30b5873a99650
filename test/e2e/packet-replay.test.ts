/**
 * The packet path end to end: `flowtally replay` of ordinary packet captures (no flow exports in
 * them) parses every frame, keeps flows in the flow table, and writes per-customer bytes and
 * packets equal to tshark's per-host sums of IP lengths (test/fixtures/exporters/compare__*.csv,
 * the "tshark ip.len" columns), and TCP response times whose network delay is tshark's initial
 * RTT (test/fixtures/packets/expected/ndpi__http.pcapng.tcp.csv).
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runReplay } from "../../cli/replay-command.js";
import { createDuckDbStore } from "../../store/duckdb-store.js";
import {
  addPairs,
  prefixOwner,
  storedTotals,
  type Totals,
  tsharkPairs,
} from "../support/customer-totals.js";

const fixtures = new URL("../fixtures/", import.meta.url).pathname;
const captures = ["tcpreplay__test", "ndpi__netflix", "ndpi__http_ipv6", "ndpi__1kxun"];
const customers: Record<string, string[]> = {
  office: ["172.16.11.0/24"],
  v6home: ["2001:4958:15a0:24::/64"],
  lab: ["192.168.10.0/24", "192.168.40.0/24"],
  pseudowire: ["192.168.1.1/32", "192.168.1.2/32"],
  "netflix-home": ["192.168.1.7/32"],
  cdn: ["23.246.0.0/20"],
  campus: ["192.168.2.0/24", "192.168.115.0/24", "192.168.5.0/24"],
  v6office: ["2a00:d40:1:3::/64"],
  browser: ["192.168.1.128/32"],
};

/** tshark's per-pair IP bytes and packets summed per customer: dst's `in`, src's `out`. */
function tsharkTotals(): Record<string, Totals> {
  const owner = prefixOwner(customers);
  const out: Record<string, Totals> = {};
  for (const c of captures) addPairs(owner, tsharkPairs(c), out);
  // ndpi__http.pcapng, from its per-host tshark figures.
  const hosts = readFileSync(join(fixtures, "packets/expected/ndpi__http.pcapng.hosts.csv"), "utf8")
    .trim()
    .split("\n")
    .slice(1)
    .map((l) => l.split(","))
    .map(([src, dst, packets, bytes]) => [src!, dst!, Number(packets), Number(bytes)] as const);
  return addPairs(owner, hosts, out);
}

describe("packet path replay", () => {
  it("per-customer IP bytes and packets = tshark's; response times with tshark's iRTT", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ft-packets-"));
    const lines = [
      `store: { embedded: { path: ${JSON.stringify(join(dir, "ft.duckdb"))} } }`,
      'decoder: { statePath: "" }',
      "classes: [{ id: web, match: { protocol: [tcp], ports: [80, 443] }, totalDelayThreshold: 50ms }]",
      "customers:",
    ];
    for (const [id, prefixes] of Object.entries(customers)) {
      lines.push(
        `  - { id: ${id}, name: ${id}, sites: [{ id: s, links: [{ id: l, prefixes: [${prefixes.map((p) => JSON.stringify(p)).join(", ")}] }] }] }`,
      );
    }
    const config = join(dir, "ft.yaml");
    writeFileSync(config, `${lines.join("\n")}\n`);
    const files = [
      ...captures.map((c) => join(fixtures, `packets/${c}.pcap`)),
      join(fixtures, "packets/ndpi__http.pcapng"),
    ];
    const summary = await runReplay(files, { config, logLevel: "silent", progress: false });
    expect(summary.datagrams).toBe(0);
    expect(summary.packets).toBe(179 + 1793 + 193 + 1723 + 10);
    expect(summary.transactions).toBeGreaterThan(0);

    expect(await storedTotals(join(dir, "ft.duckdb"))).toEqual(tsharkTotals());

    const store = createDuckDbStore({ path: join(dir, "ft.duckdb") });
    await store.start();
    try {
      // The one HTTP connection of ndpi__http.pcapng: SYN → SYN-ACK 7.250 ms, SYN-ACK → ACK
      // 0.042 ms, iRTT 7.292 ms (tshark); one request and its response, 28.304 ms to first byte.
      const rt = await store.responseTimes({
        customer: "browser",
        fromMs: 0,
        toMs: Date.UTC(2100, 0, 1),
        level: "1d",
        trafficClass: "web",
      });
      const sum = rt.reduce(
        (a, p) => ({
          transactions: a.transactions + p.transactions,
          networkDelaySumUs: a.networkDelaySumUs + p.networkDelaySumUs,
          networkDelayCount: a.networkDelayCount + p.networkDelayCount,
        }),
        { transactions: 0, networkDelaySumUs: 0, networkDelayCount: 0 },
      );
      expect(sum.transactions).toBeGreaterThanOrEqual(1);
      expect(sum.networkDelaySumUs / sum.networkDelayCount).toBe(7292);
    } finally {
      await store.stop();
    }
  });
});
