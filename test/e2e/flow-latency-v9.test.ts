/**
 * Cisco AVC ART (and nProbe) latency over NetFlow v9, through `flowtally run` on loopback: the
 * scenario of flow-latency.test.ts (test/support/latency-scenario.ts), its records exported as
 * a Flexible NetFlow monitor does with `export-protocol netflow-v9` (ART ids without an
 * enterprise number, 4-byte counters, sysUptime first/last switched). While it runs, the API's
 * response-time series and SLA report must show, per minute and class, the figures the
 * generator's transactions give: transactions, good (exact on a bucket edge, the documented
 * estimate inside one), estimated, and the minute's verdict (compliant or breach) by docs/sla.md's
 * rule: the same figures as over IPFIX.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { expect, test } from "vitest";
import { freeUdpPort, startRun } from "../support/cli-process.js";
import {
  CLASSES,
  type ClassId,
  checkPoints,
  config,
  expectedOf,
  MINUTE,
  type Point,
  range,
  scenario,
  send,
  TOKEN,
  verdictOf,
} from "../support/latency-scenario.js";

interface ClassSla {
  class: string;
  transactions: number;
  good: number;
  minutes: number;
  compliantMinutes: number;
  breachMinutes: number;
  noDataMinutes: number;
  estimated: boolean;
}

test("ART over NetFlow v9: per minute, the response-time series and the SLA report's good/total and verdict equal the generator's", async () => {
  const dir = mkdtempSync(join(tmpdir(), "flowtally-flow-latency-v9-"));
  const port = await freeUdpPort();
  const file = join(dir, "flowtally.yaml");
  writeFileSync(file, config(port, `store:\n  embedded:\n    path: ${join(dir, "store.duckdb")}`));
  const s = scenario("v9");
  const run = await startRun(file);
  const get = async <T>(path: string): Promise<T> => {
    const r = await fetch(`${run.apiUrl}${path}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(r.status, await r.clone().text()).toBe(200);
    return (await r.json()) as T;
  };
  try {
    await send(port, s.datagrams);
    for (const cls of Object.keys(CLASSES) as ClassId[]) {
      const want = s.plan.map((p) => expectedOf(p[cls], CLASSES[cls].thresholdMs).transactions);
      let points: Point[] = [];
      const until = Date.now() + 20_000;
      while (Date.now() < until) {
        points = (
          await get<{ points: Point[] }>(
            `/api/v1/customers/acme/response-times?${range(s)}&step=1m&class=${cls}`,
          )
        ).points;
        if (points.map((p) => p.transactions).join() === want.join()) break;
        await sleep(200);
      }
      checkPoints(s, cls, points);
    }

    // The SLA report of each minute alone, then of the three.
    const verdicts: Record<ClassId, string[]> = { web: [], api: [] };
    for (const [m, minuteMs] of s.minutes.entries()) {
      const from = new Date(minuteMs).toISOString();
      const to = new Date(minuteMs + MINUTE).toISOString();
      const report = await get<{ classes: ClassSla[] }>(
        `/api/v1/customers/acme/sla?from=${from}&to=${to}`,
      );
      for (const cls of Object.keys(CLASSES) as ClassId[]) {
        const e = expectedOf(s.plan[m]![cls], CLASSES[cls].thresholdMs);
        const verdict = verdictOf(e, CLASSES[cls].targetPercent);
        verdicts[cls].push(verdict);
        const got = report.classes.find((x) => x.class === cls);
        const where = `${cls} minute ${m}`;
        expect(got, where).toBeDefined();
        expect(got!.transactions, where).toBe(e.transactions);
        expect(got!.good, where).toBeCloseTo(e.good, 9);
        expect(got!.estimated, where).toBe(e.estimated > 0);
        expect(
          [got!.minutes, got!.compliantMinutes, got!.breachMinutes, got!.noDataMinutes],
          where,
        ).toEqual([1, verdict === "ok" ? 1 : 0, verdict === "breach" ? 1 : 0, 0]);
      }
    }
    // The scenario's targets sit between its minutes' shares: both verdicts occur in each class.
    for (const cls of Object.keys(CLASSES) as ClassId[]) {
      expect(verdicts[cls], cls).toContain("ok");
      expect(verdicts[cls], cls).toContain("breach");
    }
    const all = await get<{ classes: ClassSla[] }>(`/api/v1/customers/acme/sla?${range(s)}`);
    for (const cls of Object.keys(CLASSES) as ClassId[]) {
      const per = s.plan.map((p) => expectedOf(p[cls], CLASSES[cls].thresholdMs));
      const got = all.classes.find((x) => x.class === cls)!;
      expect(got.transactions, cls).toBe(per.reduce((a, e) => a + e.transactions, 0));
      expect(got.good, cls).toBeCloseTo(
        per.reduce((a, e) => a + e.good, 0),
        9,
      );
      expect([got.compliantMinutes, got.breachMinutes], cls).toEqual([
        verdicts[cls].filter((v) => v === "ok").length,
        verdicts[cls].filter((v) => v === "breach").length,
      ]);
    }
  } finally {
    const stopped = await run.stop();
    expect(stopped.status, stopped.stderr).toBe(0);
  }
}, 60_000);
