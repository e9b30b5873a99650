/**
 * `GET /api/v1/exporters` over real HTTP, fed by the real decoders after real captures, against
 * the captures' documented content (../shared/data/EXPECTED.md, tshark) rather than our output.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { buildCustomerModel } from "../../collector/classify/customer-model.js";
import { createSflowDecoder } from "../../collector/decoders/sflow.js";
import { validateConfig } from "../../config/load-config.js";
import { FlowBatch } from "../../schema/flow-record.js";
import { captureDatagrams, decodeCapture } from "../../test/support/decode-capture.js";
import { exportersView } from "../exporters.js";
import { type ApiServer, createApiServer } from "./index.js";

const TOKEN = "operator-token-0123456789";
const root = new URL("../../", import.meta.url).pathname;
const flows = (p: string) => join(root, "test/fixtures/flows", p);
// EXPECTED.md: 4 datagrams, 1 template and 1 options template, 12 records (both passes), 2
// options records, sampling_interval=2000/4000.
const V9 = flows("netflow-v9/akvorado__multiplesamplingrates__combined.pcap");
// EXPECTED.md: 1 datagram, agent 172.16.0.3, flow=5 samples, sampling rate 1024.
const SFLOW = flows("sflow/akvorado__data-1140.pcap");

/** tshark's times of a capture's frames, in whole ms (the decoders get µs cut to ms). */
function tsharkTimesMs(path: string): number[] {
  return execFileSync("tshark", ["-r", path, "-T", "fields", "-e", "frame.time_epoch"], {
    encoding: "utf8",
  })
    .trim()
    .split("\n")
    .map((t) => Math.floor(Number(t) * 1000));
}

function decoders() {
  const { decoder } = decodeCapture(V9);
  const sflow = createSflowDecoder();
  const batch = new FlowBatch(64);
  for (const d of captureDatagrams(SFLOW)) sflow.decode(d.payload, d.exporter, d.timeMs, batch);
  return {
    flow: decoder.exporterStats(),
    domains: decoder.exporterDomains(),
    sflow: sflow.agentStats(),
  };
}

describe("GET /api/v1/exporters", () => {
  const servers: ApiServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.close();
  });

  it("answers each exporter's counters, templates and sampling rates as the captures hold them", async () => {
    const cfg = validateConfig({ api: { listen: "127.0.0.1:0", operatorTokens: [TOKEN] } });
    const source = decoders();
    const server = createApiServer({
      config: cfg,
      model: buildCustomerModel(cfg),
      log: pino({ level: "silent" }),
      exporters: () => source,
      // A fixed clock: silentSeconds is measured from it.
      now: () => Date.UTC(2026, 10, 1),
    });
    servers.push(server);
    const { port } = await server.listen();
    const get = (path: string, token = TOKEN) =>
      fetch(`http://127.0.0.1:${port}${path}`, { headers: { authorization: `Bearer ${token}` } });

    const all = (await (await get("/api/v1/exporters")).json()) as {
      exporters: Array<Record<string, unknown>>;
    };
    const v9Times = tsharkTimesMs(V9);
    const sflowTimes = tsharkTimesMs(SFLOW);
    // tshark: the v9 datagrams come from 238.0.0.1; the sFlow agent address is in the datagram.
    expect(all.exporters.map((e) => [e.exporter, e.protocol])).toEqual([
      ["172.16.0.3", "sflow"],
      ["238.0.0.1", "netflow"],
    ]);
    const v9 = all.exporters[1]!;
    expect(v9).toMatchObject({
      datagrams: 4,
      records: 12,
      firstSeen: new Date(Math.min(...v9Times)).toISOString(),
      lastSeen: new Date(Math.max(...v9Times)).toISOString(),
      templates: { known: 2, learnt: 2, redefined: 0, withdrawn: 0 },
    });
    const [domain] = v9.domains as Array<{
      version: number;
      templates: Array<{ options: boolean }>;
      samplingRates: Array<{ rate: number }>;
    }>;
    expect(domain!.version).toBe(9);
    expect(domain!.templates.map((t) => t.options).sort()).toEqual([false, true]);
    expect(domain!.samplingRates.map((r) => r.rate).sort((a, b) => a - b)).toEqual([2000, 4000]);
    expect(all.exporters[0]).toMatchObject({
      datagrams: 1,
      samples: { flow: 5, counter: 0 },
      firstSeen: new Date(sflowTimes[0]!).toISOString(),
    });
    expect(all.exporters[0]).not.toHaveProperty("templates");

    const one = (await (await get("/api/v1/exporters?exporter=172.16.0.3")).json()) as {
      exporters: unknown[];
    };
    expect(one.exporters).toEqual([all.exporters[0]]);
    const bad = await get("/api/v1/exporters?exporter=router-1");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { parameter: string } }).error.parameter).toBe(
      "exporter",
    );
    expect((await get("/api/v1/exporters?exporters=x")).status).toBe(400);
    expect((await get("/api/v1/exporters", "wrong-token-0123456789")).status).toBe(401);
  });

  it("computes the share lost and the silence from the counters (hand-checked)", () => {
    const base = {
      datagrams: 10,
      optionsRecords: 0,
      sequenceResets: 1,
      templatesLearnt: 3,
      templateRedefinitions: 1,
      templatesWithdrawn: 0,
    };
    const view = exportersView(
      {
        flow: [
          {
            ...base,
            exporter: "192.0.2.9",
            templates: 2,
            records: 300,
            lostRecords: 100,
            lostPackets: 0,
            firstSeenMs: Date.UTC(2026, 10, 1, 0, 0, 0),
            lastSeenMs: Date.UTC(2026, 10, 1, 0, 5, 0),
          },
          {
            ...base,
            exporter: "192.0.2.10",
            templates: 0,
            records: 0,
            lostRecords: 0,
            lostPackets: 0,
            firstSeenMs: Number.NaN,
            lastSeenMs: Number.NaN,
          },
        ],
        domains: [],
        sflow: [],
      },
      Date.UTC(2026, 10, 1, 0, 6, 30),
    );
    // Sorted by address text: "192.0.2.10" < "192.0.2.9".
    expect(view.map((e) => [e.exporter, e.lossShare, e.silentSeconds, e.lastSeen])).toEqual([
      ["192.0.2.10", null, null, null],
      ["192.0.2.9", 0.25, 90, "2026-11-01T00:05:00.000Z"],
    ]);
  });
});
