/**
 * SIGKILL of the built CLI's `run` (and of `collect`) at random moments during a stream of exports
 * whose content is known: after each kill a new one starts on the same data directory and the
 * stream goes on.
 * At the end the stored totals must be what was sent, less at most what was sent in the last
 * second before each kill (the write-ahead log syncs every 500 ms), and never more: nothing is
 * counted twice by the log's replay.
 */
import { createSocket } from "node:dgram";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAggregate } from "../../cli/aggregate-command.js";
import { parseConfigText } from "../../config/load-config.js";
import { createDuckDbStore } from "../../store/duckdb-store.js";
import { freeUdpPort, startFlowtally, storedBytesIn } from "../support/cli-process.js";
import { ipfixMessage, record, v5Packet } from "../support/export-builder.js";
import { influxql, startInfluxd, startRedis, type TestServer } from "../support/servers.js";

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

/**
 * Starts `command` on `config` KILLS + 1 times; each time streams datagrams (100 a second) for
 * 1.5 to 3.5 s, then SIGKILLs it (the last time: SIGTERM). Returns the datagrams sent, those sent
 * in the loss window before a kill, and how many starts replayed the log.
 */
async function streamWithKills(
  command: "run" | "collect",
  config: string,
  port: number,
): Promise<{ sent: number; mayBeLost: number; replays: number }> {
  const rnd = random(Number(process.env.CRASH_SEED ?? 20261206));
  const socket = createSocket("udp4");
  let sent = 0;
  let mayBeLost = 0;
  let replays = 0;
  try {
    for (let round = 0; round <= KILLS; round++) {
      const running = await startFlowtally(command, config);
      if (
        /write-ahead log: (what the store did not have|partials of the last run)/.test(
          running.stderr(),
        )
      ) {
        replays++;
      }
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
        const stopped = await running.stop();
        expect(stopped.status, stopped.stderr).toBe(0);
        break;
      }
      process.kill(running.pid, "SIGKILL");
      const killedAt = Date.now();
      mayBeLost += sentAt.filter((t) => t > killedAt - LOSS_WINDOW_MS).length;
      while (!processGone(running.pid)) await sleep(10);
    }
  } finally {
    socket.close();
  }
  return { sent, mayBeLost, replays };
}

/** Stored bytes per customer → datagrams counted: the same for every customer, a whole number. */
function expectCounted(
  stored: ReadonlyMap<string, number>,
  r: { sent: number; mayBeLost: number; replays: number },
): void {
  const counted = DATAGRAM_BYTES.map((bytes, k) => (stored.get(`c${k}`) ?? 0) / bytes);
  // Every customer's record of a datagram travels in the same datagram: one count for all.
  expect(new Set(counted).size, JSON.stringify(counted)).toBe(1);
  const datagrams = counted[0]!;
  expect(Number.isInteger(datagrams)).toBe(true);
  const why = `sent ${r.sent}, may be lost ${r.mayBeLost}`;
  expect(datagrams, why).toBeLessThanOrEqual(r.sent);
  expect(datagrams, why).toBeGreaterThanOrEqual(r.sent - r.mayBeLost);
  // The kills did find data in the log to write again (the test reached what it is about).
  expect(r.replays).toBeGreaterThan(0);
}

const customersYaml = DATAGRAM_BYTES.map(
  (_, k) =>
    `  - { id: c${k}, name: C${k}, sites: [{ id: s, links: [{ id: l, prefixes: [10.0.${k}.0/24] }] }] }`,
).join("\n");

/** A temp dir with a config of one NetFlow input on a free port and the customers above. */
async function runConfig(prefix: string): Promise<{ dir: string; port: number; config: string }> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const port = await freeUdpPort();
  const config = join(dir, "config.yaml");
  writeFileSync(
    config,
    `inputs: { netflow: [{ listen: "127.0.0.1:${port}", allowedExporters: [127.0.0.1/32] }] }
api: { listen: "127.0.0.1:0" }
customers:
${customersYaml}
`,
  );
  return { dir, port, config };
}

it("run: SIGKILL at random moments loses at most the last second's records, and counts none twice", async () => {
  const { dir, port, config } = await runConfig("ft-crash-");
  const r = await streamWithKills("run", config, port);
  expectCounted(new Map(Object.entries(storedBytesIn(config))), r);
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe("collect", () => {
  let redis: TestServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.close();
  });

  it("SIGKILL at random moments loses at most the last second's records, and counts none twice (aggregators apply a message id once)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ft-crash-collect-"));
    const port = await freeUdpPort();
    const config = join(dir, "config.yaml");
    const text = `inputs: { netflow: [{ listen: "127.0.0.1:${port}", allowedExporters: [127.0.0.1/32] }] }
api: { listen: "127.0.0.1:0" }
dataDir: ${dir}
queue:
  redis: { url: "redis://127.0.0.1:${redis.port}" }
  prefix: crash${Date.now().toString(36)}
collector: { id: edge }
customers:
${customersYaml}
`;
    writeFileSync(config, text);
    const aggregator = await startAggregate(
      parseConfigText(text, config, dir),
      pino({ level: "silent" }),
    );
    try {
      const r = await streamWithKills("collect", config, port);
      // Everything shipped is applied, then written.
      const deadline = Date.now() + 20_000;
      let idle = 0;
      while (idle < 3 && Date.now() < deadline) {
        const q = await aggregator.worker!.queueState();
        idle = q.waiting + q.active === 0 ? idle + 1 : 0;
        await sleep(300);
      }
      await aggregator.worker!.writeNow();
      const store = createDuckDbStore({ path: join(dir, "flowtally.duckdb"), readOnly: true });
      await aggregator.stop();
      await store.start();
      try {
        const rows = await store.overview({ fromMs: 0, toMs: Date.UTC(2100, 0, 1) });
        expectCounted(new Map(rows.map((x) => [x.customer, x.bytesIn])), r);
      } finally {
        await store.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe("run with its store down", () => {
  let influx: TestServer;
  beforeAll(async () => {
    influx = await startInfluxd();
    await influxql(influx, "CREATE DATABASE crash");
  });
  afterAll(async () => {
    await influx.close();
  });

  it("SIGKILL while InfluxDB is away: what waited for it is in the log, and written once it is back", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ft-crash-influx-"));
    const port = await freeUdpPort();
    const config = join(dir, "config.yaml");
    writeFileSync(
      config,
      `inputs: { netflow: [{ listen: "127.0.0.1:${port}", allowedExporters: [127.0.0.1/32] }] }
api: { listen: "127.0.0.1:0" }
store: { influx: { api: v1, url: "http://127.0.0.1:${influx.port}", database: crash, timeout: 1s } }
customers:
${customersYaml}
`,
    );
    const socket = createSocket("udp4");
    let sent = 0;
    const sendFor = async (ms: number): Promise<number[]> => {
      const at: number[] = [];
      const until = Date.now() + ms;
      while (Date.now() < until) {
        const d = datagram(++sent);
        await new Promise<void>((r, j) =>
          socket.send(d, port, "127.0.0.1", (e) => (e ? j(e) : r())),
        );
        at.push(Date.now());
        await sleep(10);
      }
      return at;
    };
    try {
      const first = await startFlowtally("run", config);
      await sendFor(1000);
      await influx.stop();
      // Three seconds of data wait for the store: in memory and in the write-ahead log.
      const at = await sendFor(3000);
      process.kill(first.pid, "SIGKILL");
      const killedAt = Date.now();
      const mayBeLost = at.filter((t) => t > killedAt - LOSS_WINDOW_MS).length;
      while (!processGone(first.pid)) await sleep(10);
      await influx.start();
      const second = await startFlowtally("run", config);
      expect(second.stderr()).toMatch(/write-ahead log: what the store did not have/);
      const stopped = await second.stop();
      expect(stopped.status, stopped.stderr).toBe(0);
      expectCounted(new Map(Object.entries(storedBytesIn(config))), {
        sent,
        mayBeLost,
        replays: 1,
      });
    } finally {
      socket.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

it("templates learnt just before a SIGKILL are kept: data after the restart decodes at once", async () => {
  const { dir, port, config } = await runConfig("ft-crash-templates-");
  // sourceIPv4Address, destinationIPv4Address, octetDeltaCount, packetDeltaCount,
  // flowStartMilliseconds, flowEndMilliseconds
  const fields = [8, 12, 1, 2, 152, 153].map((id) => ({ id, length: id < 100 && id > 2 ? 4 : 8 }));
  const data = (bytes: number) => {
    const end = Date.now() - 1000;
    return record((b) =>
      b
        .ipv4("192.0.2.1")
        .ipv4("10.0.3.1")
        .u64(bytes)
        .u64(1)
        .u64(end - 1000)
        .u64(end),
    );
  };
  const socket = createSocket("udp4");
  const send = (m: Uint8Array) =>
    new Promise<void>((r, j) => socket.send(m, port, "127.0.0.1", (e) => (e ? j(e) : r())));
  try {
    const first = await startFlowtally("run", config);
    const seconds = Math.floor(Date.now() / 1000);
    await send(
      ipfixMessage({ exportSeconds: seconds, sequence: 0, domain: 7 }, [
        { kind: "template", id: 300, fields },
        { kind: "data", id: 300, records: [data(5000)] },
      ]),
    );
    // Within a second of learning it (the state is saved every wal.syncInterval, 500 ms).
    await sleep(900);
    process.kill(first.pid, "SIGKILL");
    while (!processGone(first.pid)) await sleep(10);
    const second = await startFlowtally("run", config);
    // Data only: the exporter has not sent its template again.
    await send(
      ipfixMessage({ exportSeconds: Math.floor(Date.now() / 1000), sequence: 1, domain: 7 }, [
        { kind: "data", id: 300, records: [data(7000)] },
      ]),
    );
    await sleep(1500);
    const stopped = await second.stop();
    expect(stopped.status, stopped.stderr).toBe(0);
    // Decoded, not held for a template: its 7000 bytes are stored (the first 5000 may be the
    // crash's loss, since they came in the last second).
    expect(stopped.stderr).not.toMatch(/still waiting for its template/);
    const bytes = storedBytesIn(config).c3 ?? 0;
    expect([7000, 12_000]).toContain(bytes);
  } finally {
    socket.close();
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
