/**
 * End to end on one box: pmacctd's NetFlow v9 export of tcpreplay's test.pcap is replayed
 * through decode → classify → partial sums → rollup → the embedded store, and the operator
 * overview must give, per customer, the bytes and packets tshark counts for the customers'
 * prefixes in the original packet capture (test/fixtures/exporters/compare__tcpreplay__test.csv).
 *
 * pmacctd's export equals tshark for every host pair it exports; it does not export the
 * Ethernet-over-MPLS pseudowire pairs 192.168.1.1 <-> 192.168.1.2 (no exporter does, see
 * EXPECTED.md), so no customer here owns those addresses.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runOverview } from "../../cli/query-command.js";
import { runReplay } from "../../cli/replay-command.js";
import { parsePrefix } from "../../collector/classify/prefix-table.js";

const fixtures = new URL("../fixtures/", import.meta.url).pathname;
const customers: Record<string, string[]> = {
  office: ["172.16.11.0/24"],
  v6home: ["2001:4958:15a0:24::/64"],
  lab10: ["192.168.10.0/24"],
  lab40: ["192.168.40.0/24"],
  multicast: ["224.0.0.0/4"],
};

function configFor(dir: string, extra: string[] = []): string {
  const lines = [
    ...extra,
    "inputs:",
    '  netflow: [{ listen: "127.0.0.1:36096" }]',
    "store:",
    `  embedded: { path: ${JSON.stringify(join(dir, "ft.duckdb"))} }`,
    "decoder:",
    `  statePath: ${JSON.stringify(join(dir, "state.json"))}`,
    "customers:",
  ];
  for (const [id, prefixes] of Object.entries(customers)) {
    lines.push(
      `  - id: ${id}`,
      `    name: ${id}`,
      `    serviceType: ${id.startsWith("lab") ? "lab" : "retail"}`,
      "    sites:",
      "      - id: main",
      "        links:",
      `          - id: uplink`,
      `            prefixes: [${prefixes.join(", ")}]`,
    );
  }
  const path = join(dir, "flowtally.yaml");
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}

/** tshark's per-customer sums: a pair counts `in` for the customer owning dst, `out` for src. */
function tsharkTotals(): Map<
  string,
  { bytesIn: number; bytesOut: number; packetsIn: number; packetsOut: number }
> {
  const csv = readFileSync(join(fixtures, "exporters/compare__tcpreplay__test.csv"), "utf8")
    .trim()
    .split("\n");
  const header = csv[0]!.split(",");
  const col = (name: string) => header.indexOf(name);
  const owner = (addr: string) => {
    for (const [id, prefixes] of Object.entries(customers)) {
      for (const p of prefixes) if (contains(p, addr)) return id;
    }
    return undefined;
  };
  const out = new Map<
    string,
    { bytesIn: number; bytesOut: number; packetsIn: number; packetsOut: number }
  >();
  const get = (id: string) => {
    let t = out.get(id);
    if (t === undefined) {
      t = { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0 };
      out.set(id, t);
    }
    return t;
  };
  for (const line of csv.slice(1)) {
    const f = line.split(",");
    const [src, dst] = [f[0]!, f[1]!];
    const packets = Number(f[col("tshark ip.len pkts")]);
    const bytes = Number(f[col("tshark ip.len bytes")]);
    const to = owner(dst);
    const from = owner(src);
    if (to !== undefined) {
      get(to).bytesIn += bytes;
      get(to).packetsIn += packets;
    }
    if (from !== undefined) {
      get(from).bytesOut += bytes;
      get(from).packetsOut += packets;
    }
  }
  return out;
}

function contains(prefix: string, address: string): boolean {
  const p = parsePrefix(prefix);
  const a = parsePrefix(address);
  if ("error" in p || "error" in a || p.version !== a.version) return false;
  for (let bit = 0; bit < p.length; bit++) {
    const mask = 0x80 >> (bit % 8);
    if ((p.bytes[bit >> 3]! & mask) !== (a.bytes[bit >> 3]! & mask)) return false;
  }
  return true;
}

describe("replay of a real NetFlow v9 export into the embedded store", () => {
  it("gives every customer tshark's bytes and packets", async () => {
    const capture = join(
      fixtures,
      "flows/exported-from-packets/pmacctd-nfprobe-v9__tcpreplay__test.pcap",
    );
    // pmacctd read a capture of 2010 and stamped its flows with those times; the export was
    // recorded in 2026. Live, records that old are dropped (aggregation.maxPast, 2 h), and the
    // replay, on the recording's clock, does the same...
    const strict = mkdtempSync(join(tmpdir(), "flowtally-e2e-"));
    const dropped = await runReplay([capture], {
      config: configFor(strict),
      logLevel: "silent",
      progress: false,
    });
    expect(dropped.records).toBe(45);
    expect(dropped.droppedRecords["too-old"]).toBe(45);
    expect(dropped.seriesRowsWritten).toBe(0);

    // ...unless the config keeps records of any age.
    const dir = mkdtempSync(join(tmpdir(), "flowtally-e2e-"));
    const config = configFor(dir, ["aggregation: { maxPast: forever }"]);
    const summary = await runReplay([capture], { config, logLevel: "silent", progress: false });
    expect(summary.datagrams).toBe(7);
    expect(summary.records).toBe(45);
    expect(summary.droppedRecords["too-old"]).toBe(0);

    const json = await runOverview({
      config,
      from: Date.UTC(2000, 0, 1),
      to: Date.UTC(2100, 0, 1),
      sort: "customer",
      order: "asc",
      format: "json",
    });
    const rows = JSON.parse(json).rows as Array<Record<string, number | string>>;
    const want = tsharkTotals();
    for (const id of Object.keys(customers)) {
      const r = rows.find((x) => x.customer === id)!;
      const w = want.get(id) ?? { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0 };
      expect({
        id,
        bytesIn: r.bytesIn,
        bytesOut: r.bytesOut,
        packetsIn: r.packetsIn,
        packetsOut: r.packetsOut,
      }).toEqual({
        id,
        ...w,
      });
    }
    expect(want.get("office")!.bytesIn).toBeGreaterThan(50_000);

    const csv = await runOverview({
      config,
      from: Date.UTC(2000, 0, 1),
      to: Date.UTC(2100, 0, 1),
      serviceType: "lab",
      sort: "bytesIn",
      order: "desc",
      format: "csv",
    });
    expect(csv.split("\r\n")[0]).toBe(
      "customer,name,serviceType,bytesIn,bytesOut,packetsIn,packetsOut,flows",
    );
    expect(
      csv
        .trim()
        .split("\r\n")
        .slice(1)
        .map((l) => l.split(",")[0]),
    ).toEqual(["lab10", "lab40"]);
  });
});
