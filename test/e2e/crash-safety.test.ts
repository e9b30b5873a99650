/**
 * SIGKILL of the built CLI's `run` at random moments during a stream of exports whose content is
 * known: after each kill a new `run` starts on the same data directory and the stream goes on.
 * At the end the stored totals must be what was sent, less at most what was sent in the last
 * second before each kill (the write-ahead log syncs every 500 ms), and never more: nothing is
 * counted twice by the log's replay.
 */
import { createSocket } from "node:dgram";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { expect, it } from "vitest";
import { freeUdpPort, runCli, startRun } from "../support/cli-process.js";
import { v5Packet } from "../support/export-builder.js";

const CUSTOMERS = 10;
/** Records per datagram: one per customer, customer k's of 1000 × (k + 1) bytes. */
const DATAGRAM_BYTES = Array.from({ length: CUSTOMERS }, (_, k) => 1000 * (k + 1));
const KILLS = 4;
/** What a crash may lose: the records received in the last second before it. */
const LOSS_WINDOW_MS = 1000;

function datagram(sequence: number): Uint8Array {
  const now = Date.now();
  return v5Packet(
    { sysUptimeMs: 60_000, unixSecs: Math.floor(now / 1000), sequence },
    DATAGRAM_BYTES.map((bytes, k) => ({
      src: "192.0.2.1",
      dst: `10.0.${k}.1`,
      packets: 1,
      bytes,
      firstUptimeMs: 58_000,
      lastUptimeMs: 59_000,
    })),
  );
}

/** A seeded generator, so that a failure can be run again with the same kill moments. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

it("SIGKILL at random moments loses at most the last second's records, and counts none twice", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ft-crash-"));
  const port = await freeUdpPort();
  const config = join(dir, "config.yaml");
  writeFileSync(
    config,
    `inputs: { netflow: [{ listen: "127.0.0.1:${port}", allowedExporters: [127.0.0.1/32] }] }
api: { listen: "127.0.0.1:0" }
customers:
${DATAGRAM_BYTES.map((_, k) => `  - { id: c${k}, name: C${k}, sites: [{ id: s, links: [{ id: l, prefixes: [10.0.${k}.0/24] }] }] }`).join("\n")}
`,
  );
  const rnd = random(Number(process.env.CRASH_SEED ?? 20261206));
  const socket = createSocket("udp4");
  let sent = 0;
  /** Datagrams sent within the loss window before each kill. */
  let mayBeLost = 0;
  let replays = 0;
  try {
    for (let round = 0; round <= KILLS; round++) {
      const run = await startRun(config);
      if (/write-ahead log: what the store did not have/.test(run.stderr())) replays++;
      // 100 datagrams a second (1000 records) for 1.5 to 3.5 s, then SIGKILL (the last round:
      // SIGTERM, which writes everything).
      const until = Date.now() + 1500 + rnd() * 2000;
      const sentAt: number[] = [];
      while (Date.now() < until) {
        for (let k = 0; k < 5; k++) {
          const d = datagram(sent + 1);
          await new Promise<void>((r, j) =>
            socket.send(d, port, "127.0.0.1", (e) => (e ? j(e) : r())),
          );
          sent++;
          sentAt.push(Date.now());
        }
        await sleep(50);
      }
      if (round === KILLS) {
        const stopped = await run.stop();
        expect(stopped.status, stopped.stderr).toBe(0);
        break;
      }
      process.kill(run.pid, "SIGKILL");
      const killedAt = Date.now();
      mayBeLost += sentAt.filter((t) => t > killedAt - LOSS_WINDOW_MS).length;
      while (!processGone(run.pid)) await sleep(10);
    }
  } finally {
    socket.close();
  }
  const q = runCli([
    "query",
    "overview",
    "-c",
    config,
    "--from",
    "now-1d",
    "--to",
    new Date(Math.ceil(Date.now() / 3_600_000) * 3_600_000 + 3_600_000).toISOString(),
    "-f",
    "json",
  ]);
  expect(q.status, q.stderr).toBe(0);
  const rows = (JSON.parse(q.stdout) as { rows: Array<{ customer: string; bytesIn: number }> })
    .rows;
  const stored = new Map(rows.map((r) => [r.customer, r.bytesIn]));
  const counted = DATAGRAM_BYTES.map((bytes, k) => (stored.get(`c${k}`) ?? 0) / bytes);
  // Every customer's record of a datagram travels in the same datagram: one count for all.
  expect(new Set(counted).size, JSON.stringify(counted)).toBe(1);
  const datagrams = counted[0]!;
  expect(Number.isInteger(datagrams)).toBe(true);
  expect(datagrams, `sent ${sent}, may be lost ${mayBeLost}`).toBeLessThanOrEqual(sent);
  expect(datagrams, `sent ${sent}, may be lost ${mayBeLost}`).toBeGreaterThanOrEqual(
    sent - mayBeLost,
  );
  // The kills did find data in the log to write again (the test reached what it is about).
  expect(replays).toBeGreaterThan(0);
  rmSync(dir, { recursive: true, force: true });
}, 120_000);
