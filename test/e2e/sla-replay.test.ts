/**
 * SLA end to end: a generated capture of HTTP-like transactions with chosen server delays goes
 * through `flowtally replay` (flow table, TCP timing, aggregator, embedded store, which derives
 * the SLA rows) and comes out of `GET /api/v1/customers/{id}/sla` as the per-minute compliance
 * computed here from the generator's delays (the ground truth), independently of flowtally.
 *
 * Each connection: SYN, SYN-ACK 1 ms later, ACK 0.1 ms after that (the client network delay the
 * total delay adds, docs/response-times.md), a 100-byte request 2 ms after the SYN, one 200-byte
 * response `delay` ms after the request, then FIN. Total delay = delay + 0.1 ms; the class's
 * threshold is 50 ms, its target 80 %.
 */

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runReplay } from "../../cli/replay-command.js";
import { buildCustomerModel } from "../../collector/classify/customer-model.js";
import { loadConfigFile } from "../../config/load-config.js";
import { createApiServer } from "../../query/api/index.js";
import { createDuckDbStore } from "../../store/duckdb-store.js";
import { captureLog } from "../support/log-capture.js";
import { type PcapRecord, pcapFile, TCP, tcpFrame } from "../support/pcap-writer.js";

const MIN = 60_000;
/** 2026-11-22T10:00:00Z: the capture's first minute (the API's clock is injected). */
const T0 = Date.UTC(2026, 10, 22, 10);
const THRESHOLD_MS = 50;
const TARGET = 80;
const TOKEN = "operator-token-0123456789";

/** Server delays (ms) of the transactions of each minute; an empty minute has none. */
const MINUTES: number[][] = [
  [10, 20, 30, 40, 5], // 5 of 5 good: compliant
  [10, 20, 30, 200, 300], // 3 of 5: 60 %, a breach
  [], // no data
  [1, 2, 3, 4, 5, 6, 7, 8, 120, 49.95], // 49.95 + 0.1 ≥ 50: bad; 8 of 10 = 80 %: compliant
  [60, 70, 80, 90], // 0 of 4: a breach, the worst
];

/** A classic pcap (microseconds, Ethernet) of every connection, in time order. */
function capture(): Buffer {
  const records: PcapRecord[] = [];
  const { SYN, ACK, PSH, FIN } = TCP;
  const frame = tcpFrame;
  let port = 40000;
  MINUTES.forEach((delays, m) => {
    delays.forEach((delay, k) => {
      const client = `198.51.100.${10 + k}`;
      const server = "203.0.113.80";
      const sport = port++;
      const t = (T0 + m * MIN + 5_000 + k * 3_000) * 1000; // µs: whole connections mid-minute
      const c = 1000;
      const s = 5000;
      const up = (us: number, seq: number, ack: number, flags: number, len: number) =>
        records.push({ us, data: frame(client, server, sport, 80, seq, ack, flags, len) });
      const down = (us: number, seq: number, ack: number, flags: number, len: number) =>
        records.push({ us, data: frame(server, client, 80, sport, seq, ack, flags, len) });
      up(t, c, 0, SYN, 0);
      down(t + 1000, s, c + 1, SYN | ACK, 0);
      up(t + 1100, c + 1, s + 1, ACK, 0);
      up(t + 2000, c + 1, s + 1, PSH | ACK, 100);
      const answer = t + 2000 + Math.round(delay * 1000);
      down(answer, s + 1, c + 101, PSH | ACK, 200);
      up(answer + 100, c + 101, s + 201, ACK, 0);
      down(answer + 200, s + 201, c + 101, FIN | ACK, 0);
      up(answer + 300, c + 101, s + 202, FIN | ACK, 0);
      down(answer + 400, s + 202, c + 102, ACK, 0);
    });
  });
  return pcapFile(records);
}

/** The ground truth: per minute, transactions and good ones, judged against the target. */
function expected() {
  const minutes = MINUTES.map((delays, m) => {
    const good = delays.filter((d) => d + 0.1 < THRESHOLD_MS).length;
    const tx = delays.length;
    const verdict = tx === 0 ? "no-data" : good * 100 >= TARGET * tx ? "compliant" : "breach";
    return { m, tx, good, verdict };
  });
  return {
    transactions: minutes.reduce((a, x) => a + x.tx, 0),
    good: minutes.reduce((a, x) => a + x.good, 0),
    compliantMinutes: minutes.filter((x) => x.verdict === "compliant").length,
    breachMinutes: minutes.filter((x) => x.verdict === "breach").length,
    noDataMinutes: minutes.filter((x) => x.verdict === "no-data").length,
    breaches: minutes.filter((x) => x.verdict === "breach"),
  };
}

const dir = mkdtempSync(join(tmpdir(), "ft-sla-e2e-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("SLA from packets to the API", () => {
  it("the per-minute compliance of known transactions comes out of /sla", async () => {
    const pcap = join(dir, "sla.pcap");
    writeFileSync(pcap, capture());
    const config = join(dir, "ft.yaml");
    writeFileSync(
      config,
      [
        `store: { embedded: { path: ${JSON.stringify(join(dir, "ft.duckdb"))} } }`,
        'decoder: { statePath: "" }',
        `api: { operatorTokens: [${TOKEN}] }`,
        `classes: [{ id: web, match: { protocol: [tcp], ports: [80] }, totalDelayThreshold: ${THRESHOLD_MS}ms, serviceLevelTarget: ${TARGET} }]`,
        "customers:",
        "  - { id: acme, name: Acme, sites: [{ id: hq, links: [{ id: fiber, prefixes: [198.51.100.0/24] }] }] }",
        "",
      ].join("\n"),
    );
    const summary = await runReplay([pcap], { config, logLevel: "silent", progress: false });
    const truth = expected();
    expect(summary.transactions).toBe(truth.transactions);

    const cfg = loadConfigFile(config);
    const store = createDuckDbStore({ path: join(dir, "ft.duckdb"), readOnly: true });
    await store.start();
    const { log } = captureLog();
    const api = createApiServer({
      config: cfg,
      model: buildCustomerModel(cfg),
      store,
      log,
      now: () => T0 + 3_600_000,
    });
    try {
      const { port } = await api.listen();
      const from = new Date(T0).toISOString();
      const to = new Date(T0 + MINUTES.length * MIN).toISOString();
      const res = await fetch(
        `http://127.0.0.1:${port}/api/v1/customers/acme/sla?from=${from}&to=${to}&class=web`,
        { headers: { authorization: `Bearer ${TOKEN}` } },
      );
      expect(res.status).toBe(200);
      const body = (await res.json()) as { classes: Array<Record<string, unknown>> };
      const web = body.classes[0]!;
      expect(web).toMatchObject({
        class: "web",
        threshold: THRESHOLD_MS,
        target: TARGET,
        transactions: truth.transactions,
        good: truth.good,
        minutes: MINUTES.length,
        compliantMinutes: truth.compliantMinutes,
        breachMinutes: truth.breachMinutes,
        noDataMinutes: truth.noDataMinutes,
        estimated: false,
      });
      expect(truth).toMatchObject({
        transactions: 24,
        good: 16,
        compliantMinutes: 2,
        breachMinutes: 2,
      });
      // The two breach minutes are apart: two incidents, each one minute long.
      expect(web.incidents).toEqual(
        truth.breaches.map((b) => ({
          start: new Date(T0 + b.m * MIN).toISOString().replace(".000Z", "Z"),
          end: new Date(T0 + (b.m + 1) * MIN).toISOString().replace(".000Z", "Z"),
          minutes: 1,
          worstMinute: new Date(T0 + b.m * MIN).toISOString().replace(".000Z", "Z"),
          worstShare: b.good / b.tx,
        })),
      );
    } finally {
      await api.close();
      await store.stop();
    }
  }, 60_000);
});
