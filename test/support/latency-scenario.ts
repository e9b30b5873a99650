/**
 * Test support: the latency scenario of the flow-export proofs (test/e2e/flow-latency*.test.ts):
 * three minutes of Cisco AVC ART (with and without the histogram) and nProbe records for two
 * classes, the config that reads them, and the figures each minute must show, computed from the
 * generator's transactions (test/support/latency-exports.ts):
 * - class `web` (threshold 100 ms, on a bucket edge): every good/bad verdict is exact and equals
 *   the true count of transactions under 100 ms; estimated is 0;
 * - class `api` (threshold 70 ms, inside the bucket [60, 80) ms): the histogram's verdict is the
 *   documented linear split of that bucket, the sums-only records' the mean rule, both counted
 *   in `estimated`; the true count of good transactions is within `estimated` of the figure.
 * Each minute's SLA verdict is docs/sla.md's integer rule applied here to those figures.
 */
import { createSocket } from "node:dgram";
import { expect } from "vitest";
import {
  bucketOf,
  drawTransaction,
  type ExportGroup,
  latencyExports,
  latencyExportsV9,
  prng,
  type Transaction,
} from "./latency-exports.js";

export const MINUTE = 60_000;
/** decoder.artHistogramBounds in the config: upper edges of buckets 1 to 6, ms. */
export const EDGES_MS = [20, 40, 60, 80, 100, 150];
export const CLASSES = {
  // Targets between the seeded scenario's good shares (web 30.6, 32.4, 44.8 %; api 20.5, 30.6,
  // 24.3 %), so that the SLA check below sees compliant and breached minutes in both classes.
  web: { port: 80, thresholdMs: 100, targetPercent: 32 },
  api: { port: 8443, thresholdMs: 70, targetPercent: 24.5 },
} as const;
export type ClassId = keyof typeof CLASSES;

export const TOKEN = "flow-latency-test-token-0123";

/** The config; `store` (with `queue` when scaled out) as YAML lines. */
export function config(port: number, store: string): string {
  return `inputs:
  netflow:
    - listen: 127.0.0.1:${port}
      allowedExporters: [127.0.0.1/32]
api:
  listen: 127.0.0.1:0
  operatorTokens: [${TOKEN}]
${store}
decoder:
  artHistogramBounds: [${EDGES_MS.map((ms) => `${ms}ms`).join(", ")}]
classes:
  - id: web
    totalDelayThreshold: ${CLASSES.web.thresholdMs}ms
    serviceLevelTarget: ${CLASSES.web.targetPercent}
    match: { protocol: [tcp], ports: [${CLASSES.web.port}] }
  - id: api
    totalDelayThreshold: ${CLASSES.api.thresholdMs}ms
    serviceLevelTarget: ${CLASSES.api.targetPercent}
    match: { protocol: [tcp], ports: [${CLASSES.api.port}] }
customers:
  - id: acme
    name: Acme
    sites: [{ id: hq, links: [{ id: fiber, prefixes: [10.1.0.0/24] }] }]
`;
}

/** What each exporter kind reports for a transaction: network round trip and total delay (ms). */
function reported(kind: ExportGroup["kind"], t: Transaction): { network: number; total: number } {
  // nProbe sends half round trips and no total: total = network round trip + application latency.
  if (kind === "nprobe") {
    const network = 2 * (t.cndMs + t.sndMs);
    return { network, total: network + t.serverMs };
  }
  return { network: t.cndMs + t.sndMs, total: t.totalMs };
}

export interface Expected {
  transactions: number;
  /** The figure flowtally must report (exact, or the documented estimate). */
  good: number;
  /** The true number of transactions under the threshold. */
  trueGood: number;
  estimated: number;
  retransmissions: number;
  networkSum: number;
  networkCount: number;
  serverSum: number;
  serverCount: number;
  totalSum: number;
}

/** The figures of one (minute, class), computed from the generator's transactions. */
export function expectedOf(groups: readonly ExportGroup[], thresholdMs: number): Expected {
  const e: Expected = {
    transactions: 0,
    good: 0,
    trueGood: 0,
    estimated: 0,
    retransmissions: 0,
    networkSum: 0,
    networkCount: 0,
    serverSum: 0,
    serverCount: 0,
    totalSum: 0,
  };
  for (const g of groups) {
    const n = g.transactions.length;
    const totals = g.transactions.map((t) => reported(g.kind, t).total);
    e.transactions += n;
    e.trueGood += totals.filter((ms) => ms < thresholdMs).length;
    // nProbe's latency template carries no retransmission count.
    if (g.kind !== "nprobe") e.retransmissions += g.retransmissions;
    e.serverSum += g.transactions.reduce((a, t) => a + t.serverMs, 0);
    e.serverCount += n;
    e.totalSum += totals.reduce((a, b) => a + b, 0);
    if (g.kind === "nprobe") {
      for (const t of g.transactions) {
        e.networkSum += reported("nprobe", t).network;
        e.networkCount++;
      }
    } else {
      for (const t of g.transactions.slice(0, g.connections)) e.networkSum += t.cndMs + t.sndMs;
      e.networkCount += g.connections;
    }
    if (g.kind === "nprobe" || n === 1) {
      // One transaction per record: its own delay decides.
      e.good += totals.filter((ms) => ms < thresholdMs).length;
    } else if (g.kind === "art") {
      // Whole buckets under the threshold count; the one holding it is split linearly.
      const edges = [0, ...EDGES_MS, Number.POSITIVE_INFINITY];
      for (let k = 0; k < 7; k++) {
        const inBucket = totals.filter((ms) => bucketOf(ms, EDGES_MS) === k).length;
        const [lo, hi] = [edges[k]!, edges[k + 1]!];
        if (hi <= thresholdMs) e.good += inBucket;
        else if (lo < thresholdMs) {
          if (hi !== Number.POSITIVE_INFINITY)
            e.good += (inBucket * (thresholdMs - lo)) / (hi - lo);
          e.estimated += inBucket;
        }
      }
    } else {
      // Sums only: the mean decides for all of them, late responses are not good.
      const mean = totals.reduce((a, b) => a + b, 0) / n;
      if (mean < thresholdMs) e.good += n - g.lateResponses;
      e.estimated += n;
    }
  }
  return e;
}

/** Groups for one minute: for `web` only exact kinds, for `api` every kind. */
function minuteGroups(rand: () => number, minuteStartMs: number): Record<ClassId, ExportGroup[]> {
  const draw = (n: number, max: number) =>
    Array.from({ length: n }, () => drawTransaction(rand, max));
  const group = (
    kind: ExportGroup["kind"],
    cls: ClassId,
    transactions: Transaction[],
    at: number,
  ): ExportGroup => ({
    kind,
    client: `10.1.0.${1 + Math.floor(rand() * 200)}`,
    server: "192.0.2.80",
    serverPort: CLASSES[cls].port,
    endMs: minuteStartMs + at,
    transactions,
    connections: Math.max(1, Math.ceil(transactions.length / 3)),
    lateResponses: transactions.filter((t) => t.totalMs >= 150).length,
    retransmissions: Math.floor(rand() * 4),
  });
  return {
    web: [
      group("art", "web", draw(12 + Math.floor(rand() * 10), 220), 5_000),
      group("art", "web", draw(7, 160), 21_000),
      group("art-sums-only", "web", draw(1, 200), 33_000),
      group("nprobe", "web", draw(9, 200), 41_000),
    ],
    api: [
      group("art", "api", draw(15 + Math.floor(rand() * 10), 180), 7_000),
      group("art-sums-only", "api", draw(6, 140), 25_000),
      group("art-sums-only", "api", draw(5, 60), 37_000),
      group("nprobe", "api", draw(8, 200), 52_000),
    ],
  };
}

export async function send(port: number, datagrams: Uint8Array[]): Promise<void> {
  const s = createSocket("udp4");
  for (const d of datagrams) {
    await new Promise<void>((r, j) => s.send(d, port, "127.0.0.1", (e) => (e ? j(e) : r())));
  }
  await new Promise<void>((r) => s.close(() => r()));
}

export interface Point {
  time: string;
  transactions: number;
  goodTransactions: number;
  estimated: number;
  retransmissions: number;
  meanNetworkDelayMs: number | null;
  meanServerDelayMs: number | null;
  meanTotalDelayMs: number | null;
}

/** Three whole minutes that ended before now (within aggregation.maxPast), and their exports. */
export function scenario(format: "ipfix" | "v9" = "ipfix") {
  const rand = prng(20261206);
  const firstMinute = Math.floor(Date.now() / MINUTE) * MINUTE - 4 * MINUTE;
  const minutes = [0, 1, 2].map((m) => firstMinute + m * MINUTE);
  const plan = minutes.map((start) => minuteGroups(rand, start));
  const exports = format === "v9" ? latencyExportsV9 : latencyExports;
  const datagrams = exports(
    plan.flatMap((p) => [...p.web, ...p.api]),
    EDGES_MS,
    Math.floor(Date.now() / 1000),
  );
  return { firstMinute, minutes, plan, datagrams };
}

export type Scenario = ReturnType<typeof scenario>;

export function checkPoints(s: Scenario, cls: ClassId, points: Point[]): void {
  expect(points.map((p) => Date.parse(p.time))).toEqual(s.minutes);
  s.plan.forEach((p, m) => {
    const e = expectedOf(p[cls], CLASSES[cls].thresholdMs);
    const got = points[m]!;
    const where = `${cls} minute ${m}`;
    expect(got.transactions, where).toBe(e.transactions);
    expect(got.goodTransactions, where).toBeCloseTo(e.good, 9);
    expect(got.estimated, where).toBe(e.estimated);
    expect(got.retransmissions, where).toBe(e.retransmissions);
    expect(got.meanNetworkDelayMs, where).toBeCloseTo(e.networkSum / e.networkCount, 9);
    expect(got.meanServerDelayMs, where).toBeCloseTo(e.serverSum / e.serverCount, 9);
    expect(got.meanTotalDelayMs, where).toBeCloseTo(e.totalSum / e.transactions, 9);
    // The estimate is never further from the truth than the verdicts it estimated.
    expect(Math.abs(got.goodTransactions - e.trueGood), where).toBeLessThanOrEqual(e.estimated);
    if (cls === "web") {
      expect(e.estimated, where).toBe(0);
      expect(got.goodTransactions, where).toBe(e.trueGood);
    } else {
      expect(e.estimated, where).toBeGreaterThan(0);
    }
  });
}

export const range = (s: Scenario) =>
  `from=${new Date(s.firstMinute).toISOString()}&to=${new Date(s.firstMinute + 3 * MINUTE).toISOString()}`;

/** docs/sla.md's verdict of one minute with these figures (targets in thousandths of a percent). */
export function verdictOf(e: Expected, targetPercent: number): "ok" | "breach" | "none" {
  if (e.transactions === 0) return "none";
  return e.good * 100_000 >= Math.round(targetPercent * 1000) * e.transactions ? "ok" : "breach";
}
