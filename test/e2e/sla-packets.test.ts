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
 *    witness: the generator's own counts from the planned delays. Also checked: the incidents of
 *    sla/compliance.ts and what GET /api/v1/customers/{id}/response-times answers per minute.
 * 2. The same generator run live in the test (tcpdump on lo, as root), against tshark only.
 * 3. The real captures of test/fixtures/packets/ with HTTP transactions on port 80: per stream
 *    (every transaction's minute and total delay) and per client and minute through replay.
 *
 * The service-level targets are the test's own numbers, passed to judgeMinute: the config key
 * (`classes[].serviceLevelTarget`) and the SLA series are being built beside this proof.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { runReplay } from "../../cli/replay-command.js";
import { readCaptureFile } from "../../collector/capture/capture-reader.js";
import { buildCustomerModel } from "../../collector/classify/customer-model.js";
import { readFlowRecord } from "../../collector/decoders/flow-record-view.js";
import { createFlowTable } from "../../collector/packet/flow-table.js";
import { PacketInfo } from "../../collector/packet/packet-info.js";
import { parsePacket } from "../../collector/packet/packet-parser.js";
import { loadConfigFile } from "../../config/load-config.js";
import { createApiServer } from "../../query/api/index.js";
import { FlowBatch } from "../../schema/flow-record.js";
import { incidents, judgeMinute, type SlaMinute } from "../../sla/compliance.js";
import { createDuckDbStore } from "../../store/duckdb-store.js";
import {
  type DelayManifest,
  type DelayPlan,
  recordDelayCapture,
} from "../support/delay-capture.js";
import {
  countPerMinute,
  type MinuteCount,
  referenceVerdict,
  tsharkHttp,
  tsharkTransactions,
} from "../support/tshark-transactions.js";

const fixtures = new URL("../fixtures/packets/", import.meta.url).pathname;
const TOKEN = "sla-proof-operator-token-0123";
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
        `api: { listen: "127.0.0.1:0", operatorTokens: [${TOKEN}] }`,
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
    // Incidents (consecutive breach minutes; a compliant minute, a minute without data or a
    // missing row ends one) of sla/compliance.ts on flowtally's minutes, against the plan's
    // shares at web 75 % / api 50 %: web breaches at 10:00 (3/5), 10:03 (3/5) and 10:05 (1/4),
    // api at 10:03 (1/3) and 10:05 (0/1), with 10:04 (no api transaction) between them.
    const minutesOf = (m: Map<number, MinuteCount>, target: number): SlaMinute[] =>
      [...m.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([startMs, c]) => ({ startMs, ...c, targetPercent: target }));
    const incident = (start: string, worstShare: number) => ({
      startMs: at(start),
      endMs: at(start) + MINUTE,
      minutes: 1,
      worstMinuteMs: at(start),
      worstShare,
    });
    expect(incidents(minutesOf(web, classes.web.targetPercent))).toEqual([
      incident("10:00", 3 / 5),
      incident("10:03", 3 / 5),
      incident("10:05", 1 / 4),
    ]);
    expect(incidents(minutesOf(api, classes.api.targetPercent))).toEqual([
      incident("10:03", 1 / 3),
      incident("10:05", 0),
    ]);

    // What a customer reads: GET /api/v1/customers/client/response-times?step=1m, every minute
    // (0 where nothing ended), equals tshark's count.
    const cfg = loadConfigFile(config);
    const store = createDuckDbStore({ path: db });
    await store.start();
    const server = createApiServer({
      config: cfg,
      model: buildCustomerModel(cfg),
      store,
      log: pino({ level: "silent" }),
      now: () => at("12:00"),
    });
    try {
      const { port } = await server.listen();
      for (const id of ["web", "api"] as const) {
        const r = await fetch(
          `http://127.0.0.1:${port}/api/v1/customers/client/response-times?from=2026-11-01T10:00:00Z&to=2026-11-01T10:07:00Z&step=1m&class=${id}`,
          { headers: { authorization: `Bearer ${TOKEN}` } },
        );
        expect(r.status).toBe(200);
        const body = (await r.json()) as {
          points: Array<{ time: string; transactions: number; goodTransactions: number }>;
        };
        const theirs = countPerMinute(
          reference.filter((t) => t.serverPort === manifest.ports[id]),
          classes[id].thresholdMs,
        );
        expect(
          body.points.map((p) => [p.time, p.transactions, p.goodTransactions]),
          id,
        ).toEqual(
          Array.from({ length: 7 }, (_, k) => {
            const m = at("10:00") + k * MINUTE;
            const c = theirs.get(m);
            return [
              new Date(m).toISOString().replace(".000Z", "Z"),
              c?.transactions ?? 0,
              c?.good ?? 0,
            ];
          }),
        );
      }
    } finally {
      await server.close();
      await store.stop();
    }
  }, 60_000);
});

describe("SLA from packets: a fresh recording (tcpdump on lo, as root)", () => {
  // The committed capture's generator, run again: the servers answer now, on this machine, and
  // tcpdump records them. Its delays carry this machine's timer jitter, so only tshark (not the
  // plan) is the reference here.
  const plan: DelayPlan = {
    start: "2026-11-01T10:00:00Z",
    groups: [
      {
        minute: 0,
        atSecond: 30,
        connections: [
          { service: "web", delaysMs: [5, 150, 20] },
          { service: "api", delaysMs: [400, 5] },
        ],
      },
      { minute: 0, atSecond: 59.9, connections: [{ service: "web", delaysMs: [300] }] },
      { minute: 2, atSecond: 1, connections: [{ service: "api", delaysMs: [20, 80] }] },
    ],
  };

  it("per class and minute, flowtally's transactions, good and verdict = tshark's", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ft-sla-live-"));
    const pcap = join(dir, "delays.pcap");
    const manifest = await recordDelayCapture(plan, {
      rawPcap: join(dir, "raw.pcap"),
      outPcap: pcap,
    });
    expect(manifest.tcpdump).toMatch(/ 0 packets dropped by kernel/);
    const db = join(dir, "ft.duckdb");
    const config = join(dir, "ft.yaml");
    writeFileSync(
      config,
      [
        `store: { embedded: { path: ${JSON.stringify(db)} } }`,
        'decoder: { statePath: "" }',
        "classes:",
        `  - { id: web, match: { protocol: [tcp], ports: [${manifest.ports.web}] }, totalDelayThreshold: 100ms }`,
        `  - { id: api, match: { protocol: [tcp], ports: [${manifest.ports.api}] }, totalDelayThreshold: 50ms }`,
        "customers:",
        `  - { id: client, name: client, sites: [{ id: s, links: [{ id: l, prefixes: ["${manifest.client}/32"] }] }] }`,
        "",
      ].join("\n"),
    );
    await runReplay([pcap], { config, logLevel: "silent", progress: false });
    const reference = tsharkTransactions(pcap);
    expect(reference).toHaveLength(8);
    for (const [id, thresholdMs] of [
      ["web", 100],
      ["api", 50],
    ] as const) {
      const ours = await storedMinutes(db, "client", id);
      const theirs = countPerMinute(
        reference.filter((t) => t.serverPort === manifest.ports[id]),
        thresholdMs,
      );
      expect(sorted(ours), id).toEqual(sorted(theirs));
      for (const [m, c] of theirs) {
        const o = ours.get(m);
        expect(judgeMinute(o?.transactions ?? 0, o?.good ?? 0, 60)).toBe(referenceVerdict(c, 60));
      }
    }
    // The 300 ms request planned across 10:01:00 ended in 10:01 (the others keep their minute).
    const web = await storedMinutes(db, "client", "web");
    expect([...web.keys()].sort()).toEqual([
      Date.parse("2026-11-01T10:00:00Z"),
      Date.parse("2026-11-01T10:01:00Z"),
    ]);
    expect(web.get(Date.parse("2026-11-01T10:01:00Z"))?.transactions).toBe(1);
  }, 60_000);
});

describe("SLA from packets: real captures with HTTP", () => {
  const captures = [
    "tcpreplay__test.pcap",
    "ndpi__1kxun.pcap",
    "ndpi__netflix.pcap",
    "ndpi__http.pcapng",
    "ndpi__sites.pcapng",
    "debian-gopacket__test_ethernet.pcap",
    "debian-gopacket__test_loopback.pcap",
  ];
  const THRESHOLD_MS = 100;
  const TARGET = 80;

  /** flowtally's transactions on port 80, by client address and port, from the flow table. */
  async function flowTableTransactions(capture: string) {
    const out = new Map<string, Array<{ endUs: number; totalDelayUs: number }>>();
    const table = createFlowTable(
      { maxFlows: 65_536, idleTimeoutMs: 3_600_000, activeTimeoutMs: 3_600_000 },
      {
        onTransaction: (t) => {
          const r = readFlowRecord(t.flow, 0);
          if (r.dstPort !== 80) return;
          const key = `${r.srcAddress}|${r.srcPort}`;
          const list = out.get(key) ?? [];
          list.push({ endUs: t.responseEndUs, totalDelayUs: t.totalDelayUs });
          out.set(key, list);
        },
      },
    );
    const batch = new FlowBatch(1024);
    const info = new PacketInfo();
    await readCaptureFile(capture, (p) => {
      const result = parsePacket(p.data, p.linkType, info);
      if (result === "ok" || result === "truncated") table.add(info, p.tsSec, p.tsNsec, batch);
      batch.clear();
    });
    table.flushAll(batch);
    return out;
  }

  /**
   * Streams where flowtally's transactions and HTTP messages are not the same thing, found by
   * the test below and explained (docs/response-times.md, "What is timed and what is not"):
   * - "interim": a POST with `Expect: 100-continue`: the client sends the headers, the server
   *   answers 100 Continue, the client sends the body, the server the final response. tshark
   *   makes one HTTP transaction of it; flowtally, which does not parse HTTP, two (each
   *   direction change is one).
   * - "unfinished": tshark never completed a response, so it gives no http.time: in
   *   ndpi__1kxun.pcap the capture ends in the middle of a 9 MB download; ndpi__netflix.pcap
   *   lost packets ("TCP Previous segment not captured" in most of its port-80 streams), so
   *   tshark cannot reassemble the bodies. flowtally times what it saw, up to the last response
   *   packet (the flow leaves the table at the end of the file).
   * Streams per capture and reason.
   */
  const EXPLAINED: Record<string, number> = {
    "ndpi__1kxun.pcap interim": 1,
    "ndpi__1kxun.pcap unfinished": 1,
    "ndpi__netflix.pcap unfinished": 26,
  };
  /** Clients with a stream above: their per-minute sums cannot be compared with tshark's. */
  const UNCOMPARABLE = ["192.168.115.8", "192.168.1.7"];

  it("per stream: flowtally's transactions = tshark's HTTP transactions, where they are the same thing", async () => {
    const found: Record<string, number> = {};
    const note = (c: string, why: string) => {
      found[`${c} ${why}`] = (found[`${c} ${why}`] ?? 0) + 1;
    };
    let compared = 0;
    for (const c of captures) {
      const ref = tsharkHttp(join(fixtures, c));
      const ours = await flowTableTransactions(join(fixtures, c));
      for (const [stream, s] of ref.streams) {
        if (!s.timed || s.serverPort !== 80 || s.requests === 0) continue;
        const key = `${s.client}|${s.clientPort}`;
        if (s.interim > 0) note(c, "interim");
        else if (s.responses !== s.requests) note(c, "unfinished");
        else {
          const theirs = ref.transactions
            .filter((t) => t.stream === stream)
            .map((t) => ({
              minute: Number(t.endNs / 60_000_000_000n),
              totalDelayUs: Number((t.totalDelayNs + 500n) / 1000n),
            }));
          const mine = (ours.get(key) ?? []).map((t) => ({
            minute: Math.floor(t.endUs / 60_000_000),
            totalDelayUs: t.totalDelayUs,
          }));
          expect(mine.length, `${c} ${key}`).toBe(theirs.length);
          mine.forEach((m, i) => {
            expect(m.minute, `${c} ${key} #${i + 1}`).toBe(theirs[i]!.minute);
            expect(
              Math.abs(m.totalDelayUs - theirs[i]!.totalDelayUs),
              `${c} ${key} #${i + 1}`,
            ).toBeLessThanOrEqual(1);
          });
          compared += theirs.length;
        }
        ours.delete(key);
      }
      // Every port-80 transaction flowtally timed is on a stream tshark saw HTTP on.
      expect([...ours.keys()], c).toEqual([]);
    }
    expect(found).toEqual(EXPLAINED);
    expect(compared).toBe(34);
  }, 60_000);

  it("per client and minute through replay: transactions, good and verdict = tshark's", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ft-sla-real-"));
    const db = join(dir, "ft.duckdb");
    const config = join(dir, "ft.yaml");
    const ref = captures.flatMap((c) =>
      tsharkTransactions(join(fixtures, c)).filter((t) => t.serverPort === 80),
    );
    const clients = [...new Set(ref.map((t) => t.client))].filter(
      (ip) => !UNCOMPARABLE.includes(ip),
    );
    expect(clients).toHaveLength(6);
    const id = (ip: string) => `c-${ip.replace(/[.:]/g, "-")}`;
    writeFileSync(
      config,
      [
        `store: { embedded: { path: ${JSON.stringify(db)} } }`,
        'decoder: { statePath: "" }',
        "classes:",
        `  - { id: http, match: { protocol: [tcp], ports: [80] }, totalDelayThreshold: ${THRESHOLD_MS}ms }`,
        "customers:",
        ...clients.map(
          (ip) =>
            `  - { id: ${id(ip)}, name: x, sites: [{ id: s, links: [{ id: l, prefixes: ["${ip}/${ip.includes(":") ? 128 : 32}"] }] }] }`,
        ),
        "",
      ].join("\n"),
    );
    await runReplay(
      captures.map((c) => join(fixtures, c)),
      { config, logLevel: "silent", progress: false },
    );
    let transactions = 0;
    let good = 0;
    for (const ip of clients) {
      const ours = await storedMinutes(db, id(ip), "http");
      const theirs = countPerMinute(
        ref.filter((t) => t.client === ip),
        THRESHOLD_MS,
      );
      expect(sorted(ours), ip).toEqual(sorted(theirs));
      for (const [m, c] of theirs) {
        const o = ours.get(m);
        expect(judgeMinute(o?.transactions ?? 0, o?.good ?? 0, TARGET)).toBe(
          referenceVerdict(c, TARGET),
        );
        transactions += c.transactions;
        good += c.good;
      }
    }
    // 20 HTTP transactions of six clients in five captures, 15 of them under 100 ms.
    expect({ transactions, good }).toEqual({ transactions: 20, good: 15 });
  }, 60_000);
});
