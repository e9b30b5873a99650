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
import { runCli, tsharkOfficeBytes } from "../support/cli-process.js";

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
      "customer,name,serviceType,bytesIn,bytesOut,packetsIn,packetsOut,flows,bpsIn,bpsOut",
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

describe("replay of a capture holding exports to ports the config does not list", () => {
  // A mirror port's capture: tcpreplay's test.pcap (traffic), then sFlow v5 and NetFlow v5 to
  // 15.184.3.9:6343 (tcpdump's sflow_multiple_counter_30_pdus) and pmacctd's NetFlow v9 to
  // 127.0.0.1:36096; the config lists neither port. The collectors' addresses belong to a
  // customer: counted as traffic, the exports would be its downloads.
  const captures = [
    "packets/tcpreplay__test.pcap",
    "flows/sflow/tcpdump__sflow_multiple_counter_30_pdus.pcap",
    "flows/exported-from-packets/pmacctd-nfprobe-v9__tcpreplay__test.pcap",
  ].map((f) => join(fixtures, f));

  function config(dir: string): string {
    const path = join(dir, "flowtally.yaml");
    writeFileSync(
      path,
      [
        "inputs:",
        '  netflow: [{ listen: "127.0.0.1:2055" }]',
        "store:",
        `  embedded: { path: ${JSON.stringify(join(dir, "ft.duckdb"))} }`,
        "decoder:",
        `  statePath: ${JSON.stringify(join(dir, "state.json"))}`,
        "aggregation: { maxPast: forever }",
        "customers:",
        "  - { id: office, name: office, sites: [{ id: main, links: [{ id: uplink, prefixes: [172.16.11.0/24] }] }] }",
        "  - { id: collectors, name: collectors, sites: [{ id: main, links: [{ id: uplink, prefixes: [127.0.0.0/8, 15.184.3.9/32] }] }] }",
        "",
      ].join("\n"),
    );
    return path;
  }

  async function totals(cfg: string): Promise<Record<string, [number, number]>> {
    const json = await runOverview({
      config: cfg,
      from: Date.UTC(2000, 0, 1),
      to: Date.UTC(2100, 0, 1),
      sort: "customer",
      order: "asc",
      format: "json",
    });
    const rows = JSON.parse(json).rows as Array<{
      customer: string;
      bytesIn: number;
      bytesOut: number;
    }>;
    return Object.fromEntries(rows.map((r) => [r.customer, [r.bytesIn, r.bytesOut]]));
  }

  // Per port, what tshark found (expected-flows.json; EXPECTED.md names the 5 NetFlow v5
  // datagrams among the sFlow ones on 6343).
  const unlisted = [
    { port: 6343, datagrams: 30, kinds: { "sflow-v5": 25, "netflow-v5": 5 } },
    { port: 36096, datagrams: 7, kinds: { "netflow-v9": 7 } },
  ];

  it("counts them per port, warns, and counts none as traffic", async () => {
    const dir = mkdtempSync(join(tmpdir(), "flowtally-unlisted-"));
    const cfg = config(dir);
    const s = await runReplay(captures, { config: cfg, logLevel: "silent", progress: false });
    expect(s.unlistedExports).toEqual(unlisted);
    expect(s.unlistedExportsDecoded).toBe(false);
    expect(s.datagrams).toBe(0);
    const t = await totals(cfg);
    // The office's traffic is tshark's of test.pcap; the collectors' addresses received nothing.
    expect(t.office).toEqual(tsharkOfficeBytes());
    expect(t.collectors ?? [0, 0]).toEqual([0, 0]);

    // The built CLI: the warning on stderr, the line in the summary.
    const again = mkdtempSync(join(tmpdir(), "flowtally-unlisted-"));
    const r = runCli(["replay", "--no-progress", "-c", config(again), ...captures]);
    expect(r.status, r.stderr).toBe(0);
    const warning = r.stderr.split("\n").find((l) => l.includes("look like flow exports"));
    expect(JSON.parse(warning!)).toMatchObject({ level: 40, unlistedExports: unlisted });
    expect(r.stdout).toContain(
      "37 datagrams to UDP ports the config does not list look like flow exports, not decoded and not counted as traffic (port 6343: 25 sFlow v5 and 5 NetFlow v5; port 36096: 7 NetFlow v9): replay with --exports auto",
    );
  });

  it("decodes them with --exports auto: sFlow as sFlow, NetFlow as NetFlow", async () => {
    const dir = mkdtempSync(join(tmpdir(), "flowtally-unlisted-"));
    const cfg = config(dir);
    const s = await runReplay(captures, {
      config: cfg,
      logLevel: "silent",
      progress: false,
      exports: "auto",
    });
    expect(s.unlistedExports).toEqual(unlisted);
    expect(s.unlistedExportsDecoded).toBe(true);
    expect(s.datagrams).toBe(37);
    // EXPECTED.md: pmacctd's v9 export holds 45 records, the v5 datagrams on 6343 hold 7. The
    // sFlow datagrams hold counter samples only (no flow rows) and decode without a problem,
    // which they would not as NetFlow.
    expect(s.records - s.packetFlowRecords).toBe(45 + 7);
    expect(s.problems).toEqual({ "sampling-unknown": 45 });
    // The office counted twice: from the packets and from pmacctd's export of the same packets.
    const [bytesIn, bytesOut] = tsharkOfficeBytes();
    const t = await totals(cfg);
    expect(t.office).toEqual([2 * bytesIn, 2 * bytesOut]);
    expect(t.collectors ?? [0, 0]).toEqual([0, 0]);

    const again = mkdtempSync(join(tmpdir(), "flowtally-unlisted-"));
    const r = runCli([
      "replay",
      "--no-progress",
      "--exports",
      "auto",
      "-c",
      config(again),
      ...captures,
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^replayed 3 capture\(s\): 37 export datagrams/);
    expect(r.stdout).toContain(
      "of the export datagrams, 37 went to UDP ports the config does not list and were decoded (--exports auto): port 6343: 25 sFlow v5 and 5 NetFlow v5; port 36096: 7 NetFlow v9",
    );
  });
});
