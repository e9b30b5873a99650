/**
 * Freshness with the default settings: a record is in the API's answers within 5 s of arrival,
 * on one box (the built CLI's `run`) and scaled out (collect → Redis → aggregate → InfluxDB ←
 * serve), with the periods that may still grow marked `complete: false`.
 */
import { createSocket } from "node:dgram";
import { mkdtempSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAggregate, startServe } from "../../cli/aggregate-command.js";
import { startCollect } from "../../cli/collect-command.js";
import { parseConfigText } from "../../config/load-config.js";
import { freeUdpPort, startRun } from "../support/cli-process.js";
import { v5Packet } from "../support/export-builder.js";
import { influxql, startInfluxd, startRedis, type TestServer } from "../support/servers.js";

const TOKEN = "freshness-test-token-0123";
const MINUTE = 60_000;
/** What the issue asks: visible within 5 s of arrival, by default. */
const FRESH_MS = 5000;

/** One v5 datagram: `records` records of 1000 bytes to 10.0.0.1, ending a second ago. */
function download(records: number, sequence: number): Uint8Array {
  const now = Date.now();
  return v5Packet(
    { sysUptimeMs: 60_000, unixSecs: Math.floor(now / 1000), sequence },
    Array.from({ length: records }, () => ({
      src: "192.0.2.1",
      dst: "10.0.0.1",
      packets: 1,
      bytes: 1000,
      firstUptimeMs: 58_000,
      lastUptimeMs: 59_000,
    })),
  );
}

async function send(port: number, datagram: Uint8Array): Promise<void> {
  const s = createSocket("udp4");
  await new Promise<void>((r, j) => s.send(datagram, port, "127.0.0.1", (e) => (e ? j(e) : r())));
  await new Promise<void>((r) => s.close(() => r()));
}

async function getJson(url: string): Promise<Record<string, unknown>> {
  const r = await fetch(url, {
    headers: { authorization: `Bearer ${TOKEN}`, connection: "close" },
  });
  expect(r.status, await r.clone().text()).toBe(200);
  return (await r.json()) as Record<string, unknown>;
}

interface Overview {
  complete: boolean;
  completeUntil: string;
  rows: Array<{ customer: string; bytesIn: number }>;
}

/**
 * Sends 5 records of 1000 bytes for customer a, then asks the overview (no `to`: the current
 * minute included) every 50 ms; returns how long it took to see them, and the answer.
 */
async function timeToVisible(
  apiUrl: string,
  port: number,
): Promise<{ ms: number; answer: Overview; sentAt: number }> {
  const from = new Date(Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE).toISOString();
  const sentAt = Date.now();
  await send(port, download(5, 1));
  for (;;) {
    const answer = (await getJson(`${apiUrl}/api/v1/overview?from=${from}`)) as unknown as Overview;
    const a = answer.rows.find((r) => r.customer === "a");
    if (a !== undefined && a.bytesIn === 5000) return { ms: Date.now() - sentAt, answer, sentAt };
    if (Date.now() - sentAt > 4 * FRESH_MS)
      throw new Error(`not visible: ${JSON.stringify(answer)}`);
    await sleep(50);
  }
}

/** The answer says the newest minutes may still grow: completeUntil is the lateness (2 m) back. */
function expectMarkedIncomplete(answer: Overview, sentAt: number, writeDelayMs = 0): void {
  expect(answer.complete).toBe(false);
  const until = Date.parse(answer.completeUntil);
  expect(until % MINUTE).toBe(0);
  // Default lateness 2 minutes (plus, scaled out, the aggregators' write intervals).
  expect(until).toBeLessThanOrEqual(sentAt - 2 * MINUTE - writeDelayMs + 10_000);
  expect(until).toBeGreaterThan(sentAt - 2 * MINUTE - writeDelayMs - 2 * MINUTE);
}

const customers = `customers:
  - id: a
    name: A
    sites: [{ id: s, links: [{ id: l, prefixes: [10.0.0.0/24] }] }]
`;

describe("a record is in the API within 5 s of arrival (default settings)", () => {
  it("on one box: flowtally run, embedded store", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ft-fresh-"));
    const port = await freeUdpPort();
    const file = join(dir, "config.yaml");
    writeFileSync(
      file,
      `inputs:
  netflow:
    - listen: 127.0.0.1:${port}
      allowedExporters: [127.0.0.1/32]
api: { listen: "127.0.0.1:0", operatorTokens: [${TOKEN}] }
dataDir: ${dir}
${customers}`,
    );
    const run = await startRun(file);
    try {
      const { ms, answer, sentAt } = await timeToVisible(run.apiUrl, port);
      expect(ms).toBeLessThanOrEqual(FRESH_MS);
      expectMarkedIncomplete(answer, sentAt);
      // The series too: its last points (the current minute) hold the bytes, marked.
      const from = new Date(Math.floor(sentAt / MINUTE) * MINUTE - 5 * MINUTE).toISOString();
      const series = (await getJson(
        `${run.apiUrl}/api/v1/customers/a/traffic?from=${from}&step=1m`,
      )) as { points: Array<{ time: string; bytesIn: number; complete: boolean }> };
      const withBytes = series.points.filter((p) => p.bytesIn > 0);
      expect(withBytes.reduce((n, p) => n + p.bytesIn, 0)).toBe(5000);
      expect(withBytes.every((p) => !p.complete)).toBe(true);
      expect(series.points.at(-1)!.complete).toBe(false);
    } finally {
      const stopped = await run.stop();
      expect(stopped.status, stopped.stderr).toBe(0);
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);

  describe("scaled out", () => {
    let redis: TestServer;
    let influx: TestServer;
    beforeAll(async () => {
      [redis, influx] = await Promise.all([startRedis(), startInfluxd()]);
      await influxql(influx, "CREATE DATABASE fresh");
    });
    afterAll(async () => {
      await Promise.all([redis.close(), influx.close()]);
    });

    it("collect → Redis → aggregate → InfluxDB ← serve", async () => {
      const dir = mkdtempSync(join(tmpdir(), "ft-fresh-scale-"));
      const cfg = parseConfigText(
        `inputs: { netflow: [{ listen: "127.0.0.1:0", allowedExporters: [127.0.0.1/32] }] }
api: { listen: "127.0.0.1:0", operatorTokens: [${TOKEN}] }
dataDir: ${dir}
store:
  influx: { api: v1, url: "http://127.0.0.1:${influx.port}", database: fresh }
queue:
  redis: { url: "redis://127.0.0.1:${redis.port}" }
  prefix: fresh${Date.now().toString(36)}
${customers}`,
      );
      const silent = pino({ level: "silent" });
      const collector = await startCollect(
        { ...cfg, collector: { ...cfg.collector, id: "c1" } },
        silent,
      );
      const aggregator = await startAggregate(cfg, silent);
      const serve = await startServe(cfg, silent);
      try {
        const apiUrl = `http://127.0.0.1:${serve.api.port}`;
        const { ms, answer, sentAt } = await timeToVisible(
          apiUrl,
          collector.inputs[0]!.address.port,
        );
        expect(ms).toBeLessThanOrEqual(FRESH_MS);
        const q = cfg.queue!;
        expectMarkedIncomplete(answer, sentAt, 1000 + q.writeInterval + q.rollupWriteInterval);
      } finally {
        await collector.stop();
        await aggregator.stop();
        await serve.stop();
        await rm(dir, { recursive: true, force: true });
      }
    }, 30_000);
  });
});
