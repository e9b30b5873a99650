/**
 * Availability measured scaled out: sFlow counter samples whose ifOperStatus takes a link down
 * for known seconds reach `flowtally collect` → Redis (BullMQ) → `flowtally aggregate` →
 * InfluxDB ← `flowtally serve`, and the same datagrams reach a one-box `flowtally run` on the
 * embedded store. The SLA report's availability of both equals the figure computed here from the
 * send times (a status holds from its sample to the next one, for at most staleAfter; a minute
 * is down when a down status covers any of it, up when only up ones do), and so do the stored
 * 5-minute rows. Live: the samples' times are the receiving clock's, so the test takes about two
 * minutes.
 */
import { createSocket } from "node:dgram";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startAggregate, startServe } from "../../cli/aggregate-command.js";
import { startCollect } from "../../cli/collect-command.js";
import { startRun } from "../../cli/run-command.js";
import { parseConfigText } from "../../config/load-config.js";
import type { LinkStatusRow } from "../../schema/series-store.js";
import { createStore } from "../../store/create-store.js";
import { sflowDatagram } from "../support/export-builder.js";
import { httpClient } from "../support/http-client.js";
import { influxql, startInfluxd, startRedis, type TestServer } from "../support/servers.js";
import { counterSample } from "../support/sflow-counters.js";

const M = 60_000;
const STALE_MS = 10_000;
const IF_INDEX = 7;
const TOKEN = "sla-availability-scaled-token-0123";

function config(dir: string, store: string): string {
  return `dataDir: ${dir}
inputs: { sflow: [{ listen: "127.0.0.1:0" }] }
api: { listen: "127.0.0.1:0", operatorTokens: [${TOKEN}] }
decoder: { statePath: "" }
aggregation: { lateness: 2s }
sla: { availability: { staleAfter: ${STALE_MS / 1000}s } }
${store}
customers:
  - id: acme
    name: Acme
    billing: { availabilityTarget: 99.9 }
    sites: [{ id: hq, links: [{ id: fiber, router: 127.0.0.1, ifIndex: ${IF_INDEX} }] }]
`;
}

/** Per minute start: "up" or "down", from the samples' send times (ms) and statuses. */
function truth(samples: ReadonlyArray<[number, boolean]>): Map<number, "up" | "down"> {
  const out = new Map<number, "up" | "down">();
  samples.forEach(([t, up], k) => {
    const next = samples[k + 1]?.[0] ?? Number.POSITIVE_INFINITY;
    const end = Math.min(next, t + STALE_MS);
    for (let m = Math.floor(t / M) * M; m < end; m += M) {
      if (!up) out.set(m, "down");
      else if (!out.has(m)) out.set(m, "up");
    }
  });
  return out;
}

interface Availability {
  minutes: number;
  upMinutes: number;
  downMinutes: number;
  unknownMinutes: number;
  share: number | null;
  met: boolean | null;
  target: number | null;
}

describe("availability scaled out", () => {
  let redis: TestServer;
  let influx: TestServer;
  beforeAll(async () => {
    [redis, influx] = await Promise.all([startRedis(), startInfluxd()]);
    await influxql(influx, "CREATE DATABASE availability");
  });
  afterAll(async () => {
    await Promise.all([redis.close(), influx.close()]);
  });

  test("collect → Redis → aggregate → InfluxDB ← serve gives the availability computed from the samples, as one box does", async () => {
    const silent = pino({ level: "silent" });
    const scaledDir = mkdtempSync(join(tmpdir(), "ft-availability-scaled-"));
    const boxDir = mkdtempSync(join(tmpdir(), "ft-availability-box-"));
    const scaled = parseConfigText(
      config(
        scaledDir,
        `store: { influx: { api: v1, url: "http://127.0.0.1:${influx.port}", database: availability } }
queue: { redis: { url: "redis://127.0.0.1:${redis.port}" }, prefix: avail${Date.now().toString(36)} }`,
      ),
    );
    const box = parseConfigText(
      config(boxDir, `store: { embedded: { path: ${join(boxDir, "ft.duckdb")} } }`),
    );
    const collector = await startCollect(
      { ...scaled, collector: { ...scaled.collector, id: "c1" } },
      silent,
    );
    const aggregator = await startAggregate(scaled, silent);
    const serve = await startServe(scaled, silent);
    const run = await startRun(box, silent);
    const stopped = new Set<string>();
    const stop = async (name: string, p: { stop(): Promise<unknown> }) => {
      if (stopped.has(name)) return;
      stopped.add(name);
      await p.stop();
    };
    const socket = createSocket("udp4");
    const ports = [collector.inputs[0]!.address.port, run.inputs[0]!.address.port];
    try {
      // Two minutes: m0 (the one now, unless it is nearly over) and m1; down from m1 + 20 s to
      // m1 + 40 s. Samples every 2 s, never within a second of a minute's edge.
      if (Date.now() % M > 45_000) await sleep(M - (Date.now() % M) + 500);
      const m0 = Math.floor(Date.now() / M) * M;
      const m1 = m0 + M;
      const samples: Array<[number, boolean]> = [];
      let sequence = 0;
      for (let t = m0 + 1000; t <= m1 + M + 3000; t += 2000) {
        if (t < Date.now()) continue;
        await sleep(t - Date.now());
        const up = !(t >= m1 + 20_000 && t < m1 + 40_000);
        sequence++;
        const datagram = sflowDatagram(
          { agent: "127.0.0.1", sequence, uptimeMs: sequence * 2000 },
          [counterSample(sequence, IF_INDEX, up)],
        );
        samples.push([Date.now(), up]);
        for (const port of ports) socket.send(datagram, port, "127.0.0.1");
      }
      const want = truth(samples);
      // Hand-checked: m0 up (only up samples), m1 down (down samples from 20 s on).
      expect([want.get(m0), want.get(m1)]).toEqual(["up", "down"]);
      const up = [m0, m1].filter((m) => want.get(m) === "up").length;
      const down = [m0, m1].filter((m) => want.get(m) === "down").length;
      const range = `from=${new Date(m0).toISOString()}&to=${new Date(m1 + M).toISOString()}`;

      const availabilityOf = async (port: number): Promise<Availability | undefined> => {
        const r = await httpClient({ port })("GET", `/api/v1/customers/acme/sla?${range}`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        expect(r.status, r.text).toBe(200);
        return r.json.links.find((l: { link: string }) => l.link === "fiber")?.availability;
      };
      const settled = async (port: number): Promise<Availability | undefined> => {
        let got: Availability | undefined;
        const until = Date.now() + 30_000;
        while (Date.now() < until) {
          got = await availabilityOf(port);
          if (got !== undefined && got.upMinutes + got.downMinutes === 2) break;
          await sleep(500);
        }
        return got;
      };
      const expected = {
        minutes: 2,
        upMinutes: up,
        downMinutes: down,
        unknownMinutes: 0,
        share: up / (up + down),
        target: 99.9,
        met: false,
      };
      expect(await settled(serve.api.port)).toMatchObject(expected);
      expect(await settled(run.api.port)).toMatchObject(expected);
      // Nothing came late (samples are timed by their arrival); the figure is shown all the same.
      for (const port of [run.api.port, collector.api.port]) {
        const http = httpClient({ port });
        const status = await http("GET", "/api/v1/status", {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        // links: 1 while its last sample is fresh, 0 once stale (by now, either).
        expect(status.json.linkStatus, status.text).toMatchObject({ lateSamples: 0 });
        expect([0, 1]).toContain(status.json.linkStatus.links);
        const metrics = await http("GET", "/metrics", {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        expect(metrics.text).toContain("flowtally_link_status_late_samples_total 0");
      }

      // The stored 5-minute rows (the minutes summed) are the same in both stores.
      const fives = (rows: LinkStatusRow[]) =>
        rows.map((r) => [r.startMs, r.link, r.upMinutes, r.downMinutes]);
      const five = Math.floor(m0 / (5 * M)) * 5 * M;
      const q = { customer: "acme", fromMs: five, toMs: m1 + 5 * M, level: "5m" as const };
      const wantFives = [five, m1].map((m) => Math.floor(m / (5 * M)) * 5 * M);
      const byWindow = new Map<number, [number, number]>();
      for (const [k, m] of [m0, m1].entries()) {
        const w = wantFives[k]!;
        const [u, d] = byWindow.get(w) ?? [0, 0];
        byWindow.set(w, want.get(m) === "down" ? [u, d + 1] : [u + 1, d]);
      }
      const wantRows = [...byWindow].map(([w, [u, d]]) => [w, "fiber", u, d]);
      await stop("aggregate", aggregator);
      const stored = createStore(scaled.store, { log: silent, readOnly: true });
      await stored.start();
      try {
        expect(fives(await stored.linkStatus(q))).toEqual(wantRows);
      } finally {
        await stored.stop();
      }
      await stop("run", run);
      const embedded = createStore(box.store, { log: silent, readOnly: true });
      await embedded.start();
      try {
        expect(fives(await embedded.linkStatus(q))).toEqual(wantRows);
      } finally {
        await embedded.stop();
      }
    } finally {
      socket.close();
      await stop("collect", collector);
      await stop("aggregate", aggregator);
      await stop("serve", serve);
      await stop("run", run);
    }
  }, 240_000);
});
