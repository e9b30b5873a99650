/**
 * Load over UDP on loopback: a seeded generator (bench/flow-generator.ts) makes IPFIX and
 * NetFlow v9 exports for 2000 customers with known totals, two sender threads send them at a high
 * rate to one `flowtally run` at the same time, and every customer's stored bytes, packets and
 * flows must equal the generator's ground truth exactly, with no datagram dropped.
 *
 * Runs on its own after the rest of the suite (scripts/test.sh: `vitest run test/load`), so that
 * other test files do not compete with the receiver for the two cores.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import {
  createFlowGenerator,
  flowtallyCustomers,
  generateDatagrams,
} from "../../bench/flow-generator.js";
import { startRun } from "../../cli/run-command.js";
import { parseConfigText } from "../../config/load-config.js";
import { createDuckDbStore } from "../../store/duckdb-store.js";
import { combineTruths as combine } from "../support/customer-totals.js";

const root = new URL("../../", import.meta.url).pathname;
/** Records per stream and the rate each stream is sent at. */
const RECORDS = 400_000;
const RATE = 200_000;

describe("generator over UDP → flowtally run", () => {
  it(`${2 * RECORDS} records at ${(2 * RATE) / 1000} k records/s: exact per-customer totals, no loss`, async () => {
    // Built by scripts/setup.sh: a worker thread needs JavaScript, not the TypeScript source.
    const { sendInWorker } = (await import(
      join(root, "dist/bench/udp-sender.js")
    )) as typeof import("../../bench/udp-sender.js");
    const startMs = Date.now() - 60_000;
    const ipfix = createFlowGenerator({ seed: 11, customers: 2000, version: 10, startMs });
    const v9 = createFlowGenerator({ seed: 12, customers: 2000, version: 9, startMs, domain: 7 });
    const packs = [generateDatagrams(ipfix, RECORDS), generateDatagrams(v9, RECORDS)];
    const truths = [ipfix.truth(), v9.truth()];

    const dir = mkdtempSync(join(tmpdir(), "ft-load-"));
    const cfg = parseConfigText(
      stringify({
        inputs: { netflow: [{ listen: "127.0.0.1:0" }] },
        store: { embedded: { path: join(dir, "ft.duckdb") } },
        decoder: { statePath: "" },
        api: { listen: "127.0.0.1:0", operatorTokens: ["load-test-token-0123456789"] },
        customers: flowtallyCustomers(ipfix.customers),
      }),
    );
    const running = await startRun(cfg, pino({ level: "silent" }));
    let stopped = false;
    try {
      const port = running.inputs[0]!.address.port;
      const sent = await Promise.all(
        packs.map((pack) => sendInWorker({ pack, ports: [port], recordsPerSecond: RATE })),
      );
      for (const s of sent) expect(s.errors).toBe(0);
      const datagrams = packs[0]!.datagrams + packs[1]!.datagrams;
      for (let t = 0; t < 100 && running.stats().datagrams < datagrams; t++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      // The same counters over the API, kernel drops included.
      const res = await fetch(`http://127.0.0.1:${running.api.port}/api/v1/status`, {
        headers: { authorization: "Bearer load-test-token-0123456789" },
      });
      expect(res.status).toBe(200);
      const status = (await res.json()) as { datagrams: number; kernelDrops: number | null };
      expect([status.datagrams, status.kernelDrops]).toEqual([datagrams, 0]);
      // And in the Prometheus exposition.
      const metrics = await fetch(`http://127.0.0.1:${running.api.port}/metrics`, {
        headers: { authorization: "Bearer load-test-token-0123456789" },
      });
      const text = await metrics.text();
      expect(text).toContain(
        `flowtally_datagrams_received_total{exporter="127.0.0.1"} ${datagrams}`,
      );
      expect(text).toContain(
        `flowtally_records_received_total{exporter="127.0.0.1"} ${2 * RECORDS}`,
      );
      expect(text).toMatch(/flowtally_udp_kernel_drops_total\{listen="127\.0\.0\.1:0"\} 0\n/);
      const stats = await running.stop();
      stopped = true;
      expect(stats.kernelDrops).toBe(0);
      expect(stats.datagrams).toBe(datagrams);
      expect(stats.records).toBe(2 * RECORDS);

      const store = createDuckDbStore({ path: join(dir, "ft.duckdb") });
      await store.start();
      try {
        const rows = await store.overview({ fromMs: 0, toMs: Date.UTC(2100, 0, 1) });
        const got = new Map(rows.map((r) => [r.customer, r]));
        const want = combine(truths);
        let exact = 0;
        for (const [id, t] of want) {
          const r = got.get(id);
          const same =
            r !== undefined &&
            r.bytesIn === t.bytesIn &&
            r.bytesOut === t.bytesOut &&
            r.packetsIn === t.packetsIn &&
            r.packetsOut === t.packetsOut &&
            r.flows === t.flows;
          if (same) exact++;
          else expect({ id, ...r }).toEqual({ id, customer: id, ...t });
        }
        expect(exact).toBe(2000);
        const un = got.get("unattributed");
        expect([un?.bytesIn ?? 0, un?.flows ?? 0]).toEqual([
          truths[0]!.unattributed.bytes + truths[1]!.unattributed.bytes,
          truths[0]!.unattributed.flows + truths[1]!.unattributed.flows,
        ]);
      } finally {
        await store.stop();
      }
    } finally {
      if (!stopped) await running.stop();
    }
  }, 120_000);
});
