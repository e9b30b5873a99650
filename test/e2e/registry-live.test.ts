/**
 * Proof of live registry changes (issue 15): a stream with known totals, a prefix moved from
 * customer A to customer B and customer C deleted by one change set between two batches, the
 * second batch sent only once every classifying process's /api/v1/status reports the change set's
 * version; each customer's stored totals then equal exactly its share: batch 1 under the old
 * registry, batch 2 under the new one, nothing lost or counted twice. On one box (`run`, the
 * embedded registry, the change posted to its API: POST /api/v1/changes) and scaled out
 * (PostgreSQL, Redis, two `collect`, `aggregate` and `serve`, the change applied by another
 * process: LISTEN/NOTIFY brings it).
 */
import { createSocket } from "node:dgram";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { startAggregate, startServe } from "../../cli/aggregate-command.js";
import { startCollect } from "../../cli/collect-command.js";
import { startRun } from "../../cli/run-command.js";
import { createDuckDbRegistry } from "../../registry/duckdb-registry.js";
import type { ChangeInput } from "../../registry/model.js";
import { createPostgresRegistry } from "../../registry/postgres-registry.js";
import type { Config } from "../../schema/config.js";
import { createDuckDbStore } from "../../store/duckdb-store.js";
import { v5Packet } from "../support/export-builder.js";
import { oneBoxConfig } from "../support/run-config.js";
import { collectorConfig, eventually } from "../support/scale-out.js";
import {
  type PostgresServer,
  startPostgres,
  startRedis,
  type TestServer,
} from "../support/servers.js";

const TOKEN = "registry-live-test-token-0123";
const silent = pino({ level: "silent" });

/**
 * A holds 192.0.2.0/28 (moved to B) and 192.0.2.16/28 (kept); B 198.51.100.0/28; C 203.0.113.0/28
 * (C is deleted). The addresses the stream sends to, one per prefix.
 */
const REGISTRY: ChangeInput[] = [
  { op: "add", customer: "a", record: { name: "A" } },
  { op: "add", customer: "a", site: "s", record: {} },
  { op: "add", customer: "a", site: "s", link: "moving", record: { prefixes: ["192.0.2.0/28"] } },
  { op: "add", customer: "a", site: "s", link: "kept", record: { prefixes: ["192.0.2.16/28"] } },
  { op: "add", customer: "b", record: { name: "B" } },
  { op: "add", customer: "b", site: "s", record: {} },
  { op: "add", customer: "b", site: "s", link: "l", record: { prefixes: ["198.51.100.0/28"] } },
  { op: "add", customer: "c", record: { name: "C" } },
  { op: "add", customer: "c", site: "s", record: {} },
  { op: "add", customer: "c", site: "s", link: "l", record: { prefixes: ["203.0.113.0/28"] } },
];
/** The change between the batches: the /28 leaves A's link for a new link of B; C goes. */
const CHANGE: ChangeInput[] = [
  { op: "delete", customer: "a", site: "s", link: "moving" },
  { op: "add", customer: "b", site: "s", link: "moved", record: { prefixes: ["192.0.2.0/28"] } },
  { op: "delete", customer: "c" },
];
const MOVING = "192.0.2.5";
const KEPT = "192.0.2.20";
const B = "198.51.100.7";
const C = "203.0.113.9";

/**
 * Records to each destination per batch, with their bytes: distinct primes per batch and address,
 * so that a record counted under the wrong customer or twice cannot add up to the right total.
 */
const BATCHES: Array<Record<string, { records: number; bytes: number }>> = [
  {
    [MOVING]: { records: 120, bytes: 1009 },
    [KEPT]: { records: 80, bytes: 1013 },
    [B]: { records: 60, bytes: 1019 },
    [C]: { records: 40, bytes: 1021 },
  },
  {
    [MOVING]: { records: 110, bytes: 1031 },
    [KEPT]: { records: 70, bytes: 1033 },
    [B]: { records: 50, bytes: 1039 },
    [C]: { records: 30, bytes: 1049 },
  },
];

const total = (batch: number, address: string) =>
  BATCHES[batch]![address]!.records * BATCHES[batch]![address]!.bytes;

/** What each customer's stored bytesIn must be, worked out by hand from the batches. */
const EXPECTED = {
  // Batch 1: both of A's prefixes. Batch 2: only the kept one.
  a: total(0, MOVING) + total(0, KEPT) + total(1, KEPT),
  // Batch 1: its own prefix. Batch 2: its own and the moved one.
  b: total(0, B) + total(1, B) + total(1, MOVING),
  // Batch 1 only: deleted before batch 2.
  c: total(0, C),
  // C's traffic after its deletion.
  unattributed: total(1, C),
};

const batchRecords = (batch: number) =>
  Object.values(BATCHES[batch]!).reduce((n, r) => n + r.records, 0);

/** A batch as NetFlow v5 datagrams (30 records each), the records a second old. */
function batchDatagrams(batch: number, sequenceFrom: number): Uint8Array[] {
  const records = Object.entries(BATCHES[batch]!).flatMap(([dst, r]) =>
    Array.from({ length: r.records }, (_, k) => ({
      src: `100.64.${k % 200}.${1 + (k % 250)}`,
      dst,
      packets: 1,
      bytes: r.bytes,
      firstUptimeMs: 999_000,
      lastUptimeMs: 999_500,
      srcPort: 40_000 + k,
      dstPort: 443,
    })),
  );
  const out: Uint8Array[] = [];
  for (let k = 0; k < records.length; k += 30) {
    out.push(
      v5Packet(
        {
          sysUptimeMs: 1_000_000,
          unixSecs: Math.floor(Date.now() / 1000),
          sequence: sequenceFrom + k,
        },
        records.slice(k, k + 30),
      ),
    );
  }
  return out;
}

async function send(datagrams: readonly Uint8Array[], port: number): Promise<void> {
  const socket = createSocket("udp4");
  try {
    for (const [k, d] of datagrams.entries()) {
      await new Promise<void>((resolve, reject) =>
        socket.send(d, port, "127.0.0.1", (e) => (e ? reject(e) : resolve())),
      );
      if (k % 16 === 15) await new Promise((r) => setTimeout(r, 1));
    }
  } finally {
    socket.close();
  }
}

async function appliedVersion(apiPort: number): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${apiPort}/api/v1/status`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  const body = (await r.json()) as { registry?: { appliedVersion?: number } };
  return body.registry?.appliedVersion ?? -1;
}

/** bytesIn per customer of every stored row, all time. */
async function storedBytes(path: string): Promise<Record<string, number>> {
  const store = createDuckDbStore({ path });
  await store.start();
  try {
    const rows = await store.overview({ fromMs: 0, toMs: Date.UTC(2100, 0, 1) });
    return Object.fromEntries(rows.map((r) => [r.customer, r.bytesIn]));
  } finally {
    await store.stop();
  }
}

function baseConfig(dir: string, extra: Record<string, unknown>): Config {
  return oneBoxConfig(dir, TOKEN, extra);
}

describe("live registry changes", () => {
  it("one box: a prefix moved and a customer deleted between two batches attribute exactly", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ft-live-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const registryPath = join(dir, "registry.duckdb");
    // The registry as `flowtally customers import` would leave it, before the process starts.
    const seed = createDuckDbRegistry({ path: registryPath });
    await seed.start();
    await seed.apply(REGISTRY, { actor: "test" });
    await seed.stop();
    const cfg = baseConfig(dir, {
      registry: { source: "database", embedded: { path: registryPath } },
    });
    const running = await startRun(cfg, silent, { tickMs: 100 });
    let stopped = false;
    onTestFinished(async () => {
      if (!stopped) await running.stop();
    });
    const port = running.inputs[0]!.address.port;
    expect(await appliedVersion(running.api.port)).toBe(1);

    await send(batchDatagrams(0, 0), port);
    await eventually("batch 1 received", () => running.stats().records === batchRecords(0));
    // The API's own view of the customers follows too: B's new link is unknown before the
    // change, known after it.
    const from = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000).toISOString();
    const movedLink = () =>
      fetch(
        `http://127.0.0.1:${running.api.port}/api/v1/customers/b/traffic?from=${from}&site=s&link=moved`,
        { headers: { authorization: `Bearer ${TOKEN}` } },
      );
    expect((await movedLink()).status).toBe(400);
    const premium = () =>
      fetch(
        `http://127.0.0.1:${running.api.port}/api/v1/overview?from=${from}&serviceType=premium`,
        { headers: { authorization: `Bearer ${TOKEN}` } },
      );
    // No customer has that service type yet: refused (and the overview's indexes made).
    expect((await premium()).status).toBe(400);
    // Through the API, as an operator would: POST /api/v1/changes.
    const answer = await fetch(`http://127.0.0.1:${running.api.port}/api/v1/changes`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ changes: CHANGE }),
    });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("registry-version")).toBe("2");
    await eventually(
      "the change applied",
      async () => (await appliedVersion(running.api.port)) === 2,
    );
    expect((await movedLink()).status).toBe(200);
    await send(batchDatagrams(1, 10_000), port);
    await eventually(
      "batch 2 received",
      () => running.stats().records === batchRecords(0) + batchRecords(1),
    );
    // A customer of a new service type: the overview's filter knows it once applied.
    const added = await fetch(`http://127.0.0.1:${running.api.port}/api/v1/customers`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ id: "d", name: "D", serviceType: "premium" }),
    });
    expect(added.status).toBe(201);
    await eventually(
      "the new customer applied",
      async () => (await appliedVersion(running.api.port)) === 3,
    );
    expect((await premium()).status).toBe(200);
    const s = await running.stop();
    stopped = true;
    expect(s.registry).toMatchObject({ source: "database", appliedVersion: 3 });
    expect(s.unattributedRecords).toBe(BATCHES[1]![C]!.records);
    expect(await storedBytes(join(dir, "series.duckdb"))).toEqual(EXPECTED);
  }, 60_000);

  it("one box: records sent while versions are swapped in are each counted once", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ft-live-busy-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const registryPath = join(dir, "registry.duckdb");
    const seed = createDuckDbRegistry({ path: registryPath });
    await seed.start();
    await seed.apply(REGISTRY, { actor: "test" });
    await seed.stop();
    const running = await startRun(
      baseConfig(dir, { registry: { source: "database", embedded: { path: registryPath } } }),
      silent,
      { tickMs: 50 },
    );
    let stopped = false;
    onTestFinished(async () => {
      if (!stopped) await running.stop();
    });
    const port = running.inputs[0]!.address.port;
    const rounds = 20;
    const perRound = batchRecords(0) + batchRecords(1);
    // The prefix goes back and forth between A and B while both batches are sent again and again.
    const there: ChangeInput[] = CHANGE.slice(0, 2);
    const back: ChangeInput[] = [
      { op: "delete", customer: "b", site: "s", link: "moved" },
      {
        op: "add",
        customer: "a",
        site: "s",
        link: "moving",
        record: { prefixes: ["192.0.2.0/28"] },
      },
    ];
    const sending = (async () => {
      for (let k = 0; k < rounds; k++) {
        await send(batchDatagrams(0, 2 * k * 1000), port);
        await send(batchDatagrams(1, (2 * k + 1) * 1000), port);
      }
    })();
    let changes = 0;
    while (changes < 10) {
      await running.registry.store!.apply(changes % 2 === 0 ? there : back, { actor: "test" });
      changes += 1;
      await new Promise((r) => setTimeout(r, 20));
    }
    await sending;
    await eventually("everything received", () => running.stats().records === rounds * perRound);
    await eventually("the last change applied", () => running.registry.appliedVersion() === 11);
    await running.stop();
    stopped = true;
    const stored = await storedBytes(join(dir, "series.duckdb"));
    const sent =
      rounds * Object.keys(BATCHES[0]!).reduce((n, addr) => n + total(0, addr) + total(1, addr), 0);
    expect(Object.values(stored).reduce((n, b) => n + b, 0)).toBe(sent);
    // Only the moving prefix changed hands: C's is exactly C's, A and B have at least their own.
    expect(stored.c).toBe(rounds * (total(0, C) + total(1, C)));
    expect(stored.a).toBeGreaterThanOrEqual(rounds * (total(0, KEPT) + total(1, KEPT)));
    expect(stored.b).toBeGreaterThanOrEqual(rounds * (total(0, B) + total(1, B)));
    expect(stored.unattributed).toBeUndefined();
  }, 60_000);

  describe("scaled out", () => {
    let postgres: PostgresServer;
    let redis: TestServer;
    beforeAll(async () => {
      [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
    }, 60_000);
    afterAll(async () => {
      await Promise.all([postgres?.close(), redis?.close()]);
    });

    it("every collector applies the change (NOTIFY) before batch 2; the stored totals are exact", async () => {
      const dir = await mkdtemp(join(tmpdir(), "ft-live-out-"));
      onTestFinished(() => rm(dir, { recursive: true, force: true }));
      // Another process (the API's, an import) writes the registry.
      const writer = createPostgresRegistry({ url: postgres.url });
      await writer.start();
      onTestFinished(() => writer.stop());
      await writer.apply(REGISTRY, { actor: "test" });
      const cfg = baseConfig(dir, {
        registry: { source: "database", postgres: { url: postgres.url } },
        queue: {
          redis: { url: `redis://127.0.0.1:${redis.port}` },
          prefix: `live${Date.now().toString(36)}`,
          shards: 2,
          writeInterval: "200ms",
          rollupWriteInterval: "1s",
        },
        collector: { shipAfter: "0s" },
      });
      // The slow poll stays out of the way: only NOTIFY can bring the change within the wait.
      const collectors = await Promise.all(
        ["c1", "c2"].map((id) =>
          startCollect(collectorConfig(cfg, dir, id), silent, {
            tickMs: 100,
            registryPollMs: 3_600_000,
          }),
        ),
      );
      const stopCollectors = async () => {
        const out = await Promise.all(collectors.map((c) => c.stop()));
        collectors.length = 0;
        return out;
      };
      onTestFinished(async () => {
        await stopCollectors();
      });
      const aggregator = await startAggregate(cfg, silent, { writeIntervalMs: 200 });
      let aggregatorStopped: Promise<void> | undefined;
      const stopAggregator = () => {
        aggregatorStopped ??= aggregator.stop();
        return aggregatorStopped;
      };
      onTestFinished(stopAggregator);
      // serve lists the customers: it follows the registry too (its own store file here).
      const serve = await startServe(
        {
          ...cfg,
          store: {
            ...cfg.store,
            embedded: { ...cfg.store.embedded!, path: join(dir, "serve.duckdb") },
          },
        },
        silent,
        { registryPollMs: 3_600_000 },
      );
      onTestFinished(() => serve.stop());
      const processes = [...collectors.map((c) => c.api.port), serve.api.port];
      for (const p of processes) expect(await appliedVersion(p)).toBe(1);

      // Each batch split between the two collectors.
      const sendBatch = async (batch: number) => {
        const datagrams = batchDatagrams(batch, batch * 10_000);
        const half = Math.ceil(datagrams.length / 2);
        await send(datagrams.slice(0, half), collectors[0]!.inputs[0]!.address.port);
        await send(datagrams.slice(half), collectors[1]!.inputs[0]!.address.port);
      };
      const received = () => collectors.reduce((n, c) => n + c.stats().records, 0);
      await sendBatch(0);
      await eventually("batch 1 received", () => received() === batchRecords(0));
      const committedAt = Date.now();
      const { version } = await writer.apply(CHANGE, { actor: "test" });
      await eventually("every process applied the change", async () => {
        const versions = await Promise.all(processes.map(appliedVersion));
        return versions.every((v) => v === version);
      });
      expect(Date.now() - committedAt).toBeLessThan(5000);
      await sendBatch(1);
      await eventually("batch 2 received", () => received() === batchRecords(0) + batchRecords(1));
      const shipped = await stopCollectors();
      const messages = shipped.reduce((n, s) => n + (s.queue?.shippedMessages ?? 0), 0);
      expect(shipped.map((s) => s.registry.appliedVersion)).toEqual([version, version]);
      await eventually("all messages applied", () => aggregator.worker!.stats.applied === messages);
      await stopAggregator();
      expect(await storedBytes(join(dir, "series.duckdb"))).toEqual(EXPECTED);
    }, 90_000);
  });
});
