/**
 * Commit-rate proof (issue 18, "Proof"): known 5-minute samples on two access links of one bill
 * (test/support/commit-rate-capture.ts) go through the real pipeline as NetFlow v5 exports
 * (`flowtally replay` → decoder → classifier → 1-minute sums → 5-minute rollup → embedded store);
 * sla/commit-rate.ts, fed with the 5-minute rows the pipeline stored for each link, gives the
 * 95th percentile, excess, compliance and windows above the rate that a numpy-free Python script
 * (test/support/commit-rate-reference.py) computes from the generator's ground truth, for
 * max(in, out), in, out and in + out, the links summed per window before the percentile.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runReplay } from "../../cli/replay-command.js";
import {
  billingPeriod,
  billSamples,
  commitCompliance,
  type PercentileOf,
  projectPeriod,
} from "../../sla/commit-rate.js";
import { createDuckDbStore } from "../../store/duckdb-store.js";
import {
  commitRatePlan,
  WINDOW_MS,
  writeCommitRateCapture,
} from "../support/commit-rate-capture.js";

const reference = new URL("../support/commit-rate-reference.py", import.meta.url).pathname;
const START = Date.UTC(2026, 10, 1);
const WINDOWS = 72; // six hours
const COMMIT_BPS = 45_000_000;
const PORT = 2055;
/** November 2026 with billing day 1: 30 days of 288 windows; the six hours are its start. */
const MONTH_WINDOWS = 30 * 288;

interface Expected {
  p95Bps: number;
  excessBps: number;
  compliant: boolean;
  windowsAbove: number;
  sumOfLinkP95s: number;
  projectedP95Bps: number;
  floorP95Bps: number;
  burstWindowsLeft: number;
}

describe("commit rate: two links of one bill through the pipeline", () => {
  it("p95 and excess per percentileOf = the Python reference, links summed per window", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ft-sla-commit-"));
    const plan = commitRatePlan(START, WINDOWS, 18);
    const capture = join(dir, "commit.pcap");
    const records = writeCommitRateCapture(plan, capture, PORT);
    const db = join(dir, "ft.duckdb");
    const config = join(dir, "ft.yaml");
    writeFileSync(
      config,
      [
        "inputs:",
        `  netflow: [{ listen: "127.0.0.1:${PORT}" }]`,
        `store: { embedded: { path: ${JSON.stringify(db)} } }`,
        'decoder: { statePath: "" }',
        "customers:",
        "  - id: acme",
        "    name: Acme",
        "    sites:",
        "      - id: hq",
        "        links:",
        ...plan.links.map((l) => `          - { id: ${l.id}, prefixes: ["${l.net}.0/24"] }`),
        "",
      ].join("\n"),
    );
    const summary = await runReplay([capture], { config, logLevel: "silent", progress: false });
    expect(summary.records).toBe(records);

    // What the pipeline stored per link and 5-minute window.
    const store = createDuckDbStore({ path: db });
    await store.start();
    const stored: Array<Array<{ startMs: number; bytesIn: number; bytesOut: number }>> = [];
    try {
      for (const link of plan.links) {
        const points = await store.traffic({
          customer: "acme",
          fromMs: START,
          toMs: START + WINDOWS * WINDOW_MS,
          level: "5m",
          site: "hq",
          link: link.id,
        });
        stored.push(
          points.map((p) => ({ startMs: p.timeMs, bytesIn: p.bytesIn, bytesOut: p.bytesOut })),
        );
      }
    } finally {
      await store.stop();
    }
    // The store holds the generator's bytes (a window without traffic has no row).
    const withTraffic = (s: { bytesIn: number; bytesOut: number }) => s.bytesIn + s.bytesOut > 0;
    expect(stored).toEqual(plan.links.map((l) => l.samples.filter(withTraffic)));

    const expected = JSON.parse(
      execFileSync("python3", [reference], {
        input: JSON.stringify({
          windows: WINDOWS,
          periodWindows: MONTH_WINDOWS,
          commitRateBps: COMMIT_BPS,
          links: plan.links,
        }),
        encoding: "utf8",
      }),
    ) as Record<PercentileOf, Expected>;

    const modes = ["in", "max", "out", "sum"] as const;
    expect(Object.keys(expected)).toEqual(modes);
    for (const of of modes) {
      const c = commitCompliance(billSamples(stored, of), WINDOWS, COMMIT_BPS);
      const e = expected[of];
      expect(
        { p95Bps: c.p95Bps, excessBps: c.excessBps, compliant: c.compliant, above: c.windowsAbove },
        of,
      ).toEqual({
        p95Bps: e.p95Bps,
        excessBps: e.excessBps,
        compliant: e.compliant,
        above: e.windowsAbove,
      });
      // The month-end projection, six hours into November (billing day 1).
      const period = billingPeriod(START + WINDOWS * WINDOW_MS, 1);
      expect(period).toEqual({ fromMs: START, toMs: Date.UTC(2026, 11, 1) });
      expect((period.toMs - period.fromMs) / WINDOW_MS).toBe(MONTH_WINDOWS);
      const p = projectPeriod(billSamples(stored, of), WINDOWS, MONTH_WINDOWS, COMMIT_BPS);
      expect(p, of).toEqual({
        projectedP95Bps: e.projectedP95Bps,
        floorP95Bps: e.floorP95Bps,
        burstWindowsLeft: e.burstWindowsLeft,
      });
      // The sum-per-window rule matters on this data: adding the links' own percentiles is
      // another, larger figure.
      expect(e.sumOfLinkP95s, of).toBeGreaterThan(e.p95Bps);
    }
    // The figures (Python's): p95 in 49 196 196 b/s (excess 4 196 196), max(in, out) the same,
    // out 39 520 678 (compliant), in + out 64 991 528 (excess 19 991 528); windows above 45 Mbit/s:
    // 6, 8, 2, 13. Each link's own p95 added would bill 53.6, 78.0, 46.3 and 94.0 Mbit/s.
    expect(expected.sum).toMatchObject({ p95Bps: 64_991_528, excessBps: 19_991_528 });
    // Both verdicts occur: max(in, out), in and in + out are over 45 Mbit/s, out is within.
    expect(Object.values(expected).map((e) => e.compliant)).toEqual([false, false, true, false]);
  }, 60_000);
});
