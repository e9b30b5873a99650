/**
 * SLA proof from packets (issue 18, "Proof"): good/total transactions and the service-level
 * verdict per class and minute, as `flowtally replay` writes them into the response-time series,
 * equal an independent count from tshark's per-transaction times at the configured thresholds
 * (test/support/tshark-transactions.ts), and the judgement of sla/compliance.ts on flowtally's
 * counts equals the rule of docs/sla.md applied in the test to tshark's counts.
 *
 * 1. test/fixtures/packets/generated/delays.pcap: a real loopback capture of two HTTP servers
 *    answering after chosen delays (5, 20, 80, 150, 400 ms), re-timed to 2026-11-01 10:00–10:06
 *    (test/support/delay-capture.ts, recorded by bench/delay-capture.ts). Its manifest is a third
 *    witness: the generator's own counts from the planned delays.
 * 2. The real captures of test/fixtures/packets/ with HTTP transactions on port 80.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runReplay } from "../../cli/replay-command.js";
import { judgeMinute } from "../../sla/compliance.js";
import { createDuckDbStore } from "../../store/duckdb-store.js";
import type { DelayManifest } from "../support/delay-capture.js";
import {
  countPerMinute,
  type MinuteCount,
  referenceVerdict,
  tsharkTransactions,
} from "../support/tshark-transactions.js";

const fixtures = new URL("../fixtures/packets/", import.meta.url).pathname;
const MINUTE = 60_000;

/** flowtally's response_1m rows of one customer and class: transactions and good per minute. */
async function storedMinutes(
  dbPath: string,
  customer: string,
  trafficClass: string,
): Promise<Map<number, MinuteCount>> {
  const store = createDuckDbStore({ path: dbPath });
  await store.start();
  try {
    const points = await store.responseTimes({
      customer,
      fromMs: 0,
      toMs: Date.UTC(2100, 0, 1),
      level: "1m",
      trafficClass,
    });
    return new Map(points.map((p) => [p.timeMs, { transactions: p.transactions, good: p.good }]));
  } finally {
    await store.stop();
  }
}

const sorted = (m: Map<number, MinuteCount>) =>
  [...m.entries()].sort((a, b) => a[0] - b[0]).map(([t, c]) => [new Date(t).toISOString(), c]);

describe("SLA from packets: a capture with known server delays", () => {
  const pcap = join(fixtures, "generated/delays.pcap");
  const manifest = JSON.parse(
    readFileSync(join(fixtures, "generated/delays.json"), "utf8"),
  ) as DelayManifest;
  const classes = {
    web: { thresholdMs: 100, targetPercent: 75 },
    api: { thresholdMs: 50, targetPercent: 50 },
  } as const;

  /** The generator's count: each planned delay at its planned minute (the plan keeps clear of
   * the thresholds and of minute edges, except the request planned across 10:05:00). */
  function plannedMinutes(service: "web" | "api", thresholdMs: number) {
    const out = new Map<number, MinuteCount>();
    const startMs = Date.parse(manifest.plan.start);
    const elapsed = new Map<number, number>();
    for (const c of manifest.connections) {
      const g = manifest.plan.groups[c.group]!;
      for (const d of c.delaysMs) {
        const ms = (elapsed.get(c.group) ?? 0) + d;
        elapsed.set(c.group, ms);
        if (c.service !== service) continue;
        const minute =
          startMs + g.minute * MINUTE + Math.floor((g.atSecond * 1000 + ms) / MINUTE) * MINUTE;
        const m = out.get(minute) ?? { transactions: 0, good: 0 };
        m.transactions++;
        if (d < thresholdMs) m.good++;
        out.set(minute, m);
      }
    }
    return out;
  }

  it("transactions, good and the verdict per minute = tshark's = the plan's", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ft-sla-packets-"));
    const db = join(dir, "ft.duckdb");
    const config = join(dir, "ft.yaml");
    writeFileSync(
      config,
      [
        `store: { embedded: { path: ${JSON.stringify(db)} } }`,
        'decoder: { statePath: "" }',
        "classes:",
        `  - { id: web, match: { protocol: [tcp], ports: [${manifest.ports.web}] }, totalDelayThreshold: ${classes.web.thresholdMs}ms }`,
        `  - { id: api, match: { protocol: [tcp], ports: [${manifest.ports.api}] }, totalDelayThreshold: ${classes.api.thresholdMs}ms }`,
        "customers:",
        `  - { id: client, name: client, sites: [{ id: s, links: [{ id: l, prefixes: ["${manifest.client}/32"] }] }] }`,
        "",
      ].join("\n"),
    );
    const summary = await runReplay([pcap], { config, logLevel: "silent", progress: false });
    const reference = tsharkTransactions(pcap);
    const planned = manifest.connections.reduce((n, c) => n + c.delaysMs.length, 0);
    expect(reference.length).toBe(planned);
    expect(summary.transactions).toBe(planned);

    for (const [id, cls] of Object.entries(classes) as Array<
      [keyof typeof classes, (typeof classes)[keyof typeof classes]]
    >) {
      const ours = await storedMinutes(db, "client", id);
      const port = manifest.ports[id];
      const theirs = countPerMinute(
        reference.filter((t) => t.serverPort === port),
        cls.thresholdMs,
      );
      expect(sorted(ours), id).toEqual(sorted(theirs));
      expect(sorted(theirs), `${id}: tshark vs the plan`).toEqual(
        sorted(plannedMinutes(id, cls.thresholdMs)),
      );
      // Every minute of the range, with or without a row: the same verdict.
      const from = Date.parse(manifest.plan.start);
      for (let m = from; m < from + 7 * MINUTE; m += MINUTE) {
        const o = ours.get(m);
        expect(
          judgeMinute(o?.transactions ?? 0, o?.good ?? 0, cls.targetPercent),
          `${id} ${m}`,
        ).toBe(referenceVerdict(theirs.get(m), cls.targetPercent));
      }
    }

    // The figures, spelled out (from the plan's delays at web 100 ms / api 50 ms).
    const web = await storedMinutes(db, "client", "web");
    const api = await storedMinutes(db, "client", "api");
    const at = (hhmm: string) => Date.parse(`2026-11-01T${hhmm}:00Z`);
    expect(sorted(web)).toEqual(
      sorted(
        new Map([
          [at("10:00"), { transactions: 5, good: 3 }],
          [at("10:01"), { transactions: 8, good: 7 }],
          [at("10:03"), { transactions: 5, good: 3 }],
          [at("10:04"), { transactions: 2, good: 2 }],
          [at("10:05"), { transactions: 4, good: 1 }],
        ]),
      ),
    );
    expect(sorted(api)).toEqual(
      sorted(
        new Map([
          [at("10:00"), { transactions: 3, good: 2 }],
          [at("10:01"), { transactions: 4, good: 4 }],
          [at("10:03"), { transactions: 3, good: 1 }],
          [at("10:05"), { transactions: 1, good: 0 }],
        ]),
      ),
    );
  }, 60_000);
});
