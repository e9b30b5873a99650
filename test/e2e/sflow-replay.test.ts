/**
 * sFlow through the single-box pipeline: `flowtally replay` of real sFlow v5 captures with
 * `inputs.sflow` on their port (6343) writes per-customer bytes and packets equal to the sampled
 * packets' IP lengths × the sampling rate, as tshark decodes every flow sample
 * (test/fixtures/flows/sflow/expected/tshark-flow-samples.json, made by tshark-flow-samples.py).
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { BlockList, isIPv6 } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runReplay } from "../../cli/replay-command.js";
import { createDuckDbStore } from "../../store/duckdb-store.js";

const dir = new URL("../fixtures/flows/sflow/", import.meta.url).pathname;
const captures = [
  "telegraf__sflow_issue_15918.pcap",
  "ndpi__sflow.pcap",
  "tcpdump__sflow-print-v6.pcap",
  "akvorado__data-1140.pcap",
];
const customers: Record<string, string[]> = {
  lan100: ["192.168.100.0/24"],
  lan101: ["192.168.101.0/24"],
  dc: ["172.16.0.0/12", "10.0.0.0/8"],
  v6: ["2000::/3"],
};

interface Sample {
  rate: number;
  packet?: { ipLength: number; src: string; dst: string };
}

describe("sFlow replay", () => {
  it("per-customer bytes and packets = tshark's IP length × rate of every flow sample", async () => {
    const tshark = JSON.parse(readFileSync(join(dir, "expected/tshark-flow-samples.json"), "utf8"))
      .captures as Record<string, Sample[]>;
    const owners = Object.entries(customers).map(([id, prefixes]) => {
      const list = new BlockList();
      for (const p of prefixes) {
        const [a, l] = p.split("/") as [string, string];
        list.addSubnet(a, Number(l), isIPv6(a) ? "ipv6" : "ipv4");
      }
      return { id, list };
    });
    const owner = (a: string) =>
      owners.find((o) => o.list.check(a, isIPv6(a) ? "ipv6" : "ipv4"))?.id ?? "unattributed";
    const want = new Map<string, { bytesIn: number; bytesOut: number; packetsIn: number }>();
    const get = (id: string) => {
      const t = want.get(id) ?? { bytesIn: 0, bytesOut: 0, packetsIn: 0 };
      want.set(id, t);
      return t;
    };
    let samples = 0;
    for (const c of captures) {
      for (const s of tshark[c] ?? []) {
        if (s.packet === undefined) continue;
        samples++;
        const dst = owner(s.packet.dst);
        const src = owner(s.packet.src);
        const bytes = s.packet.ipLength * s.rate;
        // `in` for the owner of the destination, `out` for the owner of the source; traffic
        // that is no customer's is "unattributed", counted once as `in` (see the classifier).
        if (dst !== "unattributed" || src === "unattributed") {
          get(dst).bytesIn += bytes;
          get(dst).packetsIn += s.rate;
        }
        if (src !== "unattributed") get(src).bytesOut += bytes;
      }
    }
    expect(samples).toBeGreaterThan(20);

    const tmp = mkdtempSync(join(tmpdir(), "ft-sflow-"));
    const config = join(tmp, "ft.yaml");
    const lines = [
      'inputs: { sflow: [{ listen: "0.0.0.0:6343" }] }',
      `store: { embedded: { path: ${JSON.stringify(join(tmp, "ft.duckdb"))} } }`,
      'decoder: { statePath: "" }',
      "customers:",
    ];
    for (const [id, prefixes] of Object.entries(customers)) {
      lines.push(
        `  - { id: ${id}, name: ${id}, sites: [{ id: s, links: [{ id: l, prefixes: [${prefixes.join(", ")}] }] }] }`,
      );
    }
    writeFileSync(config, `${lines.join("\n")}\n`);
    const summary = await runReplay(
      captures.map((c) => join(dir, c)),
      { config, logLevel: "silent", progress: false },
    );
    expect(summary.records).toBe(samples);

    const store = createDuckDbStore({ path: join(tmp, "ft.duckdb") });
    await store.start();
    try {
      const rows = await store.overview({ fromMs: 0, toMs: Date.UTC(2100, 0, 1) });
      const got = new Map(
        rows.map((r) => [
          r.customer,
          { bytesIn: r.bytesIn, bytesOut: r.bytesOut, packetsIn: r.packetsIn },
        ]),
      );
      expect(Object.fromEntries(got)).toEqual(Object.fromEntries(want));
    } finally {
      await store.stop();
    }
  });
});
