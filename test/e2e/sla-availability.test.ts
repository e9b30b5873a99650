/**
 * Availability measured end to end: `flowtally replay` of a generated capture of sFlow v5
 * datagrams whose counter samples (generic interface counters) carry a link's ifOperStatus, with
 * chosen changes, writes link-status minutes equal to the generator's ground truth, computed here
 * second by second (a minute is down when a down status covers any second of it, up when an up
 * one does; a status lasts until the next sample, for at most sla.availability.staleAfter).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runReplay } from "../../cli/replay-command.js";
import { createDuckDbStore } from "../../store/duckdb-store.js";
import { udpFrame } from "../support/commit-rate-capture.js";
import { sflowDatagram } from "../support/export-builder.js";
import { pcapFile } from "../support/pcap-writer.js";
import { counterSample } from "../support/sflow-counters.js";

/** 2031-03-04 10:00 UTC: the capture's own clock. */
const T0 = Date.UTC(2031, 2, 4, 10, 0);
const S = 1000;
const M = 60_000;
const AGENT = "192.0.2.1";
const IF_INDEX = 7;
const STALE_S = 120;

/** The plan: (seconds after T0, oper up) of the link's samples, every 30 s. */
const PLAN: Array<[number, boolean]> = [];
for (let s = 10; s <= 9 * 60 + 40; s += 30) PLAN.push([s, !(s >= 250 && s < 340)]);

/** Ground truth, second by second: "up" / "down" per minute (from T0) that has a status. */
function truth(): Map<number, string> {
  const out = new Map<number, string>();
  for (let sec = 0; sec < 20 * 60; sec++) {
    let last: [number, boolean] | undefined;
    for (const p of PLAN) if (p[0] <= sec) last = p;
    const next = PLAN.find((p) => p[0] > (last?.[0] ?? -1));
    if (last === undefined || sec >= last[0] + STALE_S || (next !== undefined && sec >= next[0])) {
      continue;
    }
    const minute = Math.floor(sec / 60);
    if (!last[1]) out.set(minute, "down");
    else if (!out.has(minute)) out.set(minute, "up");
  }
  return out;
}

describe("availability from sFlow interface status", () => {
  it("link-status minutes in the store equal the generator's ground truth", async () => {
    const records = PLAN.map(([sec, up], k) => ({
      us: (T0 + sec * S) * 1000,
      data: udpFrame(
        sflowDatagram({ agent: AGENT, sequence: k + 1, uptimeMs: sec * S }, [
          counterSample(k + 1, IF_INDEX, up),
          counterSample(k + 1, IF_INDEX + 1, true), // an interface of no link
        ]),
        50000,
        6343,
      ),
    }));
    // Datagrams of an interface of no link at minute 14, enough for replay to hand over (every
    // 4096 datagrams) and close the minutes before the second capture.
    for (let k = 0; k < 12_000; k++) {
      records.push({
        us: (T0 + 14 * M) * 1000 + k,
        data: udpFrame(
          sflowDatagram({ agent: AGENT, sequence: 100 + k }, [
            counterSample(100 + k, IF_INDEX + 1, true),
          ]),
          50000,
          6343,
        ),
      });
    }
    // A last datagram of another interface moves the capture's clock past the carried minutes.
    records.push({
      us: (T0 + 15 * M) * 1000,
      data: udpFrame(
        sflowDatagram({ agent: AGENT, sequence: 20_000 }, [
          counterSample(20_000, IF_INDEX + 1, true),
        ]),
        50000,
        6343,
      ),
    });
    const tmp = mkdtempSync(join(tmpdir(), "ft-availability-"));
    const capture = join(tmp, "status.pcap");
    writeFileSync(capture, pcapFile(records));
    // A second capture replayed after it: a sample timed in minute 1, minutes closed long
    // before: dropped and counted, minute 1 stays up.
    const late = join(tmp, "late.pcap");
    writeFileSync(
      late,
      pcapFile([
        {
          us: (T0 + 90 * S) * 1000,
          data: udpFrame(
            sflowDatagram({ agent: AGENT, sequence: 97 }, [counterSample(97, IF_INDEX, false)]),
            50000,
            6343,
          ),
        },
      ]),
    );
    const config = join(tmp, "ft.yaml");
    writeFileSync(
      config,
      [
        'inputs: { sflow: [{ listen: "0.0.0.0:6343" }] }',
        `store: { embedded: { path: ${JSON.stringify(join(tmp, "ft.duckdb"))} } }`,
        'decoder: { statePath: "" }',
        "sla: { availability: { staleAfter: 120s } }",
        "customers:",
        `  - { id: acme, name: Acme, sites: [{ id: hq, links: [{ id: fiber, router: ${AGENT}, ifIndex: ${IF_INDEX} }] }] }`,
        "",
      ].join("\n"),
    );
    const summary = await runReplay([capture, late], {
      config,
      logLevel: "silent",
      progress: false,
    });
    expect(summary.lateLinkStatusSamples).toBe(1);

    const store = createDuckDbStore({ path: join(tmp, "ft.duckdb") });
    await store.start();
    try {
      const range = { customer: "acme", fromMs: T0, toMs: T0 + 20 * M };
      const minutes = await store.linkStatus({ ...range, level: "1m" });
      const got = new Map(
        minutes.map((r) => [(r.startMs - T0) / M, r.downMinutes > 0 ? "down" : "up"]),
      );
      const want = truth();
      // Hand-checked too: minutes 0–3 up, 4 and 5 down (samples at 4:10, 4:40, 5:10), 6–11 up
      // (the last sample, 9:40, carries to 11:40), none after.
      expect([...want.values()]).toEqual([
        ...Array(4).fill("up"),
        "down",
        "down",
        ...Array(6).fill("up"),
      ]);
      expect(Object.fromEntries(got)).toEqual(Object.fromEntries(want));
      for (const r of minutes) expect(r.upMinutes + r.downMinutes).toBe(1);
      const fives = await store.linkStatus({ ...range, level: "5m" });
      expect(fives.map((r) => [(r.startMs - T0) / M, r.upMinutes, r.downMinutes])).toEqual([
        [0, 4, 1],
        [5, 4, 1],
        [10, 2, 0],
      ]);
    } finally {
      await store.stop();
    }
  });
});
