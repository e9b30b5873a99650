/**
 * The config bench/config-scale.ts times: `customers` customers, each with one site and one link
 * with an IPv4 /28 (from 10.0.0.0/8, then 100.64.0.0/10) and, for every other customer, an IPv6
 * /56 too, a commit rate and one of three service types; two traffic classes, one NetFlow input
 * and the API on free loopback ports, the embedded store and the decoder state in `dir`. Its own
 * module so that config/yaml-fast-path.test.ts checks the same text.
 */
import { join } from "node:path";

export function customersConfig(dir: string, customers: number): string {
  const lines = [
    "# bench/config-scale.ts",
    'inputs: { netflow: [{ listen: "127.0.0.1:0" }] }',
    'api: { listen: "127.0.0.1:0", operatorTokens: ["bench-config-scale-token"] }',
    `store: { embedded: { path: ${JSON.stringify(join(dir, "ft.duckdb"))} } }`,
    `decoder: { statePath: ${JSON.stringify(join(dir, "state.json"))} }`,
    "classes:",
    "  - { id: voip, match: { protocol: [udp], ports: [5060, '10000-20000'] } }",
    "  - { id: web, match: { protocol: [tcp], ports: [80, 443] } }",
    "customers:",
  ];
  const types = ["business", "residential", "wholesale"];
  for (let i = 0; i < customers; i++) {
    const prefixes = i % 2 === 0 ? `${ipv4Prefix(i)}, "${ipv6Prefix(i)}"` : ipv4Prefix(i);
    lines.push(
      `  - id: c${i}`,
      `    name: Customer ${i}`,
      `    serviceType: ${types[i % 3]}`,
      "    sites:",
      `      - id: site-${i}`,
      "        links:",
      `          - id: link-${i}`,
      `            prefixes: [${prefixes}]`,
      "            commitRate: 100M",
    );
  }
  return `${lines.join("\n")}\n`;
}

/** An IPv4 /28 per customer: 10.0.0.0/8 holds 2^20 of them, then 100.64.0.0/10 (2^18). */
function ipv4Prefix(i: number): string {
  const base = i < 1 << 20 ? 10 << 24 : ((100 << 24) | (64 << 16)) >>> 0;
  const n = i < 1 << 20 ? i : i - (1 << 20);
  const a = (base + n * 16) >>> 0;
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/28`;
}

/** An IPv6 /56 per customer inside 2001:db8::/32. */
function ipv6Prefix(i: number): string {
  return `2001:db8:${(i >>> 8).toString(16)}:${((i & 255) << 8).toString(16)}::/56`;
}
