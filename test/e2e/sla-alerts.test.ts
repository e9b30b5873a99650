/**
 * SLA alerts end to end: `flowtally replay` of a generated packet capture whose HTTP
 * transactions have chosen server delays (good: 10 ms, bad: 300 ms, threshold 100 ms, target
 * 90 %) makes an incident of two breach minutes, and a real HTTP receiver on loopback (which
 * fails the first attempt) gets its start and its end once each, signed, with the figures of the
 * generator's ground truth computed by hand here. Also the kept state after the stop.
 */

import { createHmac } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runReplay } from "../../cli/replay-command.js";
import { pcapFile, TCP, tcpFrame } from "../support/pcap-writer.js";

/** 2031-03-04 10:00 UTC: the capture's own clock; nothing here compares it with the real one. */
const T0 = Date.UTC(2031, 2, 4, 10, 0);
const M = 60_000;
const SECRET = "e2e-secret";

const { SYN, ACK, PSH, FIN } = TCP;
const frame = tcpFrame;
const pcap = pcapFile;

/**
 * One HTTP connection from the customer's client: handshake, a 100-byte request, a 500-byte
 * response `delayMs` later, FINs. Total delay (docs/response-times.md) = delayMs + the client's
 * network delay (0.1 ms).
 */
function connection(startUs: number, port: number, delayMs: number) {
  const c = "10.1.0.10";
  const s = "192.0.2.80";
  const cs = 1000;
  const ss = 5000;
  const d = delayMs * 1000;
  return [
    { us: startUs, data: frame(c, s, port, 80, cs, 0, SYN, 0) },
    { us: startUs + 1000, data: frame(s, c, 80, port, ss, cs + 1, SYN | ACK, 0) },
    { us: startUs + 1100, data: frame(c, s, port, 80, cs + 1, ss + 1, ACK, 0) },
    { us: startUs + 2000, data: frame(c, s, port, 80, cs + 1, ss + 1, PSH | ACK, 100) },
    { us: startUs + 2000 + d, data: frame(s, c, 80, port, ss + 1, cs + 101, PSH | ACK, 500) },
    { us: startUs + 3000 + d, data: frame(s, c, 80, port, ss + 501, cs + 101, FIN | ACK, 0) },
    { us: startUs + 3100 + d, data: frame(c, s, port, 80, cs + 101, ss + 502, FIN | ACK, 0) },
    { us: startUs + 3200 + d, data: frame(s, c, 80, port, ss + 502, cs + 102, ACK, 0) },
  ];
}

/** Good transactions per minute (of 10): minutes 2 and 3 breach the 90 % target. */
const GOOD_PER_MINUTE = [10, 10, 5, 2, 10, 10];

function capture(): Buffer {
  const packets: Array<{ us: number; data: Uint8Array }> = [];
  let port = 40000;
  GOOD_PER_MINUTE.forEach((good, k) => {
    for (let i = 0; i < 10; i++) {
      const startUs = (T0 + k * M) * 1000 + i * 2_000_000;
      packets.push(...connection(startUs, port++, i < good ? 10 : 300));
    }
  });
  return pcap(packets);
}

// --- the receiver -----------------------------------------------------------------------------

interface Got {
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}
const got: Got[] = [];
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    // The first attempt of each delivery id fails.
    const id = String(req.headers["x-flowtally-delivery"]);
    const status = got.some((g) => g.headers["x-flowtally-delivery"] === id) ? 200 : 500;
    got.push({ headers: req.headers, body: Buffer.concat(chunks).toString(), status });
    res.writeHead(status).end();
  });
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("SLA alerts through the pipeline", () => {
  it("an incident from packets reaches a webhook that fails first: start and end once each, signed", async () => {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;
    const dir = mkdtempSync(join(tmpdir(), "ft-sla-alerts-"));
    const config = join(dir, "ft.yaml");
    writeFileSync(
      config,
      [
        `dataDir: ${JSON.stringify(dir)}`,
        "store: { embedded: { path: ft.duckdb } }",
        'decoder: { statePath: "" }',
        "classes:",
        "  - { id: web, match: { protocol: [tcp], ports: [80] }, totalDelayThreshold: 100ms, serviceLevelTarget: 90 }",
        "customers:",
        "  - { id: acme, name: Acme, serviceType: business, sites: [{ id: hq, links: [{ id: fiber, prefixes: [10.1.0.0/24] }] }] }",
        "sla:",
        "  webhooks:",
        `    - { name: ops, url: "http://127.0.0.1:${port}/hook", secret: ${SECRET}, serviceTypes: [business], retryDelayMs: 50 }`,
        `    - { name: other, url: "http://127.0.0.1:${port}/other", secret: ${SECRET}, classes: [voip] }`,
        "",
      ].join("\n"),
    );
    const file = join(dir, "sla.pcap");
    writeFileSync(file, capture());
    const summary = await runReplay([file], { config, logLevel: "silent", progress: false });
    expect(summary.transactions).toBe(60);

    // The start (500, then 200) and the end (500, then 200); none to the voip-only webhook.
    expect(got.map((g) => [JSON.parse(g.body).event, g.status])).toEqual([
      ["incident.started", 500],
      ["incident.started", 200],
      ["incident.ended", 500],
      ["incident.ended", 200],
    ]);
    for (const g of got) {
      const ts = String(g.headers["x-flowtally-timestamp"]);
      const hex = createHmac("sha256", SECRET).update(`${ts}.${g.body}`).digest("hex");
      expect(g.headers["x-flowtally-signature"]).toBe(`sha256=${hex}`);
    }
    const [start, end] = got.filter((g) => g.status === 200).map((g) => JSON.parse(g.body));
    // By hand: minute 2 has 5 good of 10 (50 % < 90 %), minute 3 has 2 of 10, minute 4 10 of 10.
    expect(start).toMatchObject({
      event: "incident.started",
      webhook: "ops",
      customer: "acme",
      class: "web",
      incident: {
        id: "acme/web/2031-03-04T10:02:00.000Z",
        start: "2031-03-04T10:02:00.000Z",
        end: "2031-03-04T10:03:00.000Z",
        minutes: 1,
        worstMinute: "2031-03-04T10:02:00.000Z",
        worstShare: 0.5,
        transactions: 10,
        good: 5,
      },
      target: 90,
      threshold: 100,
    });
    expect(end).toMatchObject({
      event: "incident.ended",
      incident: {
        id: "acme/web/2031-03-04T10:02:00.000Z",
        start: "2031-03-04T10:02:00.000Z",
        end: "2031-03-04T10:04:00.000Z",
        minutes: 2,
        worstMinute: "2031-03-04T10:03:00.000Z",
        worstShare: 0.2,
        transactions: 20,
        good: 7,
        endReason: "compliant",
      },
    });

    // Kept for the next start: nothing open, nothing waiting; judged up to the last whole minute.
    const kept = JSON.parse(readFileSync(join(dir, "sla-alerts.json"), "utf8"));
    expect(kept.tracker.open).toEqual([]);
    expect(kept.deliveries).toEqual([]);
    expect(kept.tracker.untilMs).toBe(T0 + 5 * M);
  });
});
