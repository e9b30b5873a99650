/**
 * The alerts component: rows in, minutes judged with the level in force, events to a real
 * loopback receiver; its state kept in `sla.statePath` across a stop and a start (an incident
 * open at the stop ends after the start, once); its counters in /metrics.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateConfig } from "../../config/load-config.js";
import { createMetrics, emptyMetricsSnapshot } from "../../query/metrics.js";
import { captureLog } from "../../test/support/log-capture.js";
import { createSlaAlerts } from "./sla-alerts.js";

const T0 = Date.UTC(2031, 2, 4, 10, 0);
const M = 60_000;
const got: Array<Record<string, unknown>> = [];
let answer = 200;
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    got.push(JSON.parse(Buffer.concat(chunks).toString()));
    res.writeHead(answer).end();
  });
});
beforeAll(() => new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r)));
afterAll(() => new Promise<void>((r) => receiver.close(() => r())));

const row = (k: number, link: string, transactions: number, good: number) => ({
  level: "1m",
  startMs: T0 + k * M,
  customer: "acme",
  site: "hq",
  link,
  trafficClass: "web",
  transactions,
  good,
});

describe("SLA alerts", () => {
  it("keeps an open incident across a stop and a start, and ends it once after", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ft-sla-state-"));
    const { port } = (receiver.address() as AddressInfo) ?? { port: 0 };
    const cfg = validateConfig(
      {
        dataDir: dir,
        classes: [{ id: "web", totalDelayThreshold: "250ms" }],
        defaultServiceLevelTarget: 99,
        customers: [
          {
            id: "acme",
            name: "Acme",
            serviceType: "business",
            sites: [{ id: "hq", links: [{ id: "a", prefixes: ["10.0.0.0/24"] }] }],
          },
        ],
        sla: {
          webhooks: [
            {
              name: "ops",
              url: `http://127.0.0.1:${port}/`,
              secret: "k",
              serviceTypes: ["business"],
              retryDelayMs: 10,
            },
          ],
        },
      },
      "test",
      dir,
    );
    const { log } = captureLog();
    const serviceTypeOf = (c: string) => (c === "acme" ? "business" : undefined);
    const first = createSlaAlerts(cfg, { log, serviceTypeOf });
    first.start();
    // 99 % target (the default): 99 of 100 meets it, 98 of 100 does not.
    first.addDeltas([row(0, "a", 60, 60), row(0, "b", 40, 39), row(1, "a", 100, 98)]);
    expect(first.judge(T0 + M + 30_000)).toEqual([]);
    const started = first.judge(T0 + 2 * M);
    expect(started.map((e) => e.event)).toEqual(["incident.started"]);
    expect(started[0]!.incident).toMatchObject({ targetPercent: 99, thresholdMs: 250 });
    // Partial minute 2 at the stop: not judged, not kept.
    first.addDeltas([row(2, "a", 100, 0)]);
    answer = 500; // the start is still waiting when the process stops
    await first.stop(300);
    const kept = JSON.parse(readFileSync(join(dir, "sla-alerts.json"), "utf8"));
    expect(kept.tracker.untilMs).toBe(T0 + 2 * M);
    expect(kept.tracker.open.map((i: { id: string }) => i.id)).toEqual([
      "acme/web/2031-03-04T10:01:00.000Z",
    ]);
    expect(kept.deliveries.map((d: { event: { event: string } }) => d.event.event)).toEqual([
      "incident.started",
    ]);

    answer = 200;
    const second = createSlaAlerts(cfg, { log, serviceTypeOf });
    second.start();
    expect(second.state().openIncidents.map((i) => i.id)).toEqual([
      "acme/web/2031-03-04T10:01:00.000Z",
    ]);
    // After the start: minute 2 breaches again (the same incident), minute 3 is compliant.
    second.addDeltas([row(1, "a", 1, 0), row(2, "a", 50, 10), row(3, "a", 10, 10)]);
    const events = second.judge(T0 + 4 * M);
    expect(events.map((e) => [e.event, e.incident.minutes, e.incident.good])).toEqual([
      ["incident.ended", 2, 98 + 10],
    ]);
    expect(second.state().minutes).toMatchObject({ lateRows: 1, minutes: 2 });
    await second.stop(5000);
    // The receiver: the start (refused, then sent again after the start), then the end.
    const ok = got.slice(-2);
    expect(ok.map((b) => b.event)).toEqual(["incident.started", "incident.ended"]);
    expect(ok[0]!.id).toBe(got[0]!.id);
    expect(second.state().webhooks[0]).toMatchObject({ delivered: 2, pending: 0 });

    const metrics = await createMetrics(() => ({
      ...emptyMetricsSnapshot(),
      slaWebhooks: second.state().webhooks,
    })).text();
    expect(metrics).toContain('flowtally_sla_webhook_delivered_total{webhook="ops"} 2\n');
    expect(metrics).toContain('flowtally_sla_webhook_pending{webhook="ops"} 0\n');
    expect(metrics).toContain('flowtally_sla_webhook_attempts_total{webhook="ops"} 2\n');
  });

  it("judgeSliced: the events of judge, in slices with the loop turning; rows between slices are late", async () => {
    // 20 000 customers, class web at 99 %: every 10th breaches in minutes 0 and 1 (one incident
    // each, 2 000 started), then in minute 2 every 20th recovers (compliant: 1 000 ended) and
    // the other breaching ones have no row (1 000 ended "no-row" when minute 2 is judged).
    const cfg = validateConfig({
      classes: [{ id: "web", totalDelayThreshold: "250ms" }],
      defaultServiceLevelTarget: 99,
      sla: { statePath: join(mkdtempSync(join(tmpdir(), "ft-sla-sliced-")), "state.json") },
    });
    const { log } = captureLog();
    const N = 20_000;
    const rows = (k: number) =>
      Array.from({ length: N }, (_, c) => ({
        ...row(k, "a", 100, c % 10 === 0 && k < 2 ? 50 : 100),
        customer: `c${c}`,
      })).filter((_r, c) => !(k === 2 && c % 10 === 0 && c % 20 !== 0));
    const whole = createSlaAlerts(cfg, { log, serviceTypeOf: () => undefined });
    const sliced = createSlaAlerts(cfg, { log, serviceTypeOf: () => undefined });
    let slices = 0;
    const between = async () => {
      slices++;
      // A late row of a minute being judged, and an early one of minute 5: neither in this step.
      sliced.addDeltas([{ ...row(0, "a", 1, 0), customer: "c1" }, row(5, "a", 100, 100)]);
      await new Promise((r) => setImmediate(r));
    };
    const want: unknown[] = [];
    const have: unknown[] = [];
    for (let k = 0; k < 3; k++) {
      whole.addDeltas(rows(k));
      sliced.addDeltas(rows(k));
      want.push(whole.judge(T0 + (k + 1) * M));
      have.push(await sliced.judgeSliced(T0 + (k + 1) * M, { sliceMs: 1, between }));
    }
    expect(have).toEqual(want);
    const events = want.flat() as Array<{ event: string; reason?: string }>;
    expect(events.filter((e) => e.event === "incident.started")).toHaveLength(2000);
    expect(events.filter((e) => e.reason === "compliant")).toHaveLength(1000);
    expect(events.filter((e) => e.reason === "no-row")).toHaveLength(1000);
    expect(slices).toBeGreaterThan(3);
    expect(sliced.state().minutes.lateRows).toBe(slices);
    // The rows of minute 5 added between slices are judged in their step.
    whole.addDeltas(Array.from({ length: slices }, () => row(5, "a", 100, 100)));
    expect(await sliced.judgeSliced(T0 + 6 * M)).toEqual(whole.judge(T0 + 6 * M));
    expect(sliced.state().minutes).toEqual({ ...whole.state().minutes, lateRows: slices });
  });
});
