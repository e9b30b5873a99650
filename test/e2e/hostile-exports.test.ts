/**
 * What an attacker on the network (or a broken exporter) sends to the built `flowtally run` and
 * `flowtally collect`: one IPFIX datagram whose counters times its sampling rate once hung the
 * process at full CPU; v5 from a source that is not an exporter, dated weeks or years back, and
 * counters no router sends. The process keeps answering, stops on SIGTERM with its summary, and
 * counts exactly the one honest record.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { cli, freeUdpPort, root } from "../support/cli-process.js";
import { ipfixMessage, record, v5Packet } from "../support/export-builder.js";
import { freePort, startRedis } from "../support/servers.js";

const TOKEN = "hostile-test-token-0123456789";
const DAY = 86_400_000;

/** octetDeltaCount 2^64-1, packetDeltaCount, samplingInterval, start and end in ms. */
function ipfixRecord(o: {
  bytes: number[];
  packets: number;
  rate: number;
  startMs: number;
  endMs: number;
}): Uint8Array {
  return ipfixMessage({ exportSeconds: Math.floor(o.endMs / 1000), sequence: 0, domain: 1 }, [
    {
      kind: "template",
      id: 256,
      fields: [
        { id: 8, length: 4 },
        { id: 12, length: 4 },
        { id: 1, length: 8 },
        { id: 2, length: 8 },
        { id: 34, length: 4 },
        { id: 152, length: 8 },
        { id: 153, length: 8 },
      ],
    },
    {
      kind: "data",
      id: 256,
      records: [
        record((b) =>
          b
            .ipv4("8.8.8.8")
            .ipv4("172.16.11.5")
            .bytes(o.bytes)
            .u64(o.packets)
            .u32(o.rate)
            .u64(o.startMs)
            .u64(o.endMs),
        ),
      ],
    },
  ]);
}

/** A NetFlow v5 datagram of one record (72 bytes) ending at `endMs`, 45 s long. */
function v5(o: { endMs: number; bytes: number; packets: number; sequence: number }): Uint8Array {
  const uptime = 100_000;
  return v5Packet(
    {
      sysUptimeMs: uptime,
      unixSecs: Math.floor(o.endMs / 1000),
      unixNsecs: (o.endMs % 1000) * 1_000_000,
      sequence: o.sequence,
    },
    [
      {
        src: "8.8.4.4",
        dst: "172.16.11.9",
        packets: o.packets,
        bytes: o.bytes,
        firstUptimeMs: uptime - 45_000,
        lastUptimeMs: uptime,
        srcPort: 443,
        dstPort: 50_000,
        tcpFlags: 0x18,
      },
    ],
  );
}

async function sendFrom(source: string, port: number, payload: Uint8Array): Promise<void> {
  const s = createSocket("udp4");
  await new Promise<void>((resolve, reject) => {
    s.once("error", reject);
    s.bind(0, source, () => resolve());
  });
  await new Promise<void>((resolve, reject) =>
    s.send(payload, port, "127.0.0.1", (e) => (e ? reject(e) : resolve())),
  );
  s.close();
}

interface Started {
  child: ChildProcessWithoutNullStreams;
  output(): { stdout: string; stderr: string };
  exited: Promise<number | null>;
}

function start(args: string[]): Started {
  const child = spawn(process.execPath, [cli, ...args], { cwd: root });
  onTestFinished(() => {
    child.kill("SIGKILL");
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    stdout += d;
  });
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  return { child, output: () => ({ stdout, stderr }), exited };
}

/** Resolves when /healthz answers (any status) within `ms`, with the status. */
async function healthz(port: number, ms: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(ms) });
  await res.arrayBuffer();
  return res.status;
}

/** Until /healthz answers 200: the API listens and its dependencies (collect: Redis) are up. */
async function waitForApi(port: number, s: Started): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const status = await healthz(port, 1000).catch(() => 0);
    if (status === 200) return;
    if (Date.now() > deadline) {
      throw new Error(`/healthz on ${port} not 200 (last: ${status}):\n${s.output().stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** SIGTERM, then the exit code within `ms` (null if it did not stop). */
async function stopWithin(s: Started, ms: number): Promise<number | null | "hung"> {
  s.child.kill("SIGTERM");
  return Promise.race([s.exited, new Promise<"hung">((r) => setTimeout(() => r("hung"), ms))]);
}

function config(dir: string, udpPort: number, apiPort: number, extra: string[] = []): string {
  const path = join(dir, "ft.yaml");
  writeFileSync(
    path,
    [
      `inputs: { netflow: [{ listen: "127.0.0.1:${udpPort}", allowedExporters: [127.0.0.1/32] }] }`,
      `store: { embedded: { path: ${JSON.stringify(join(dir, "ft.duckdb"))} } }`,
      'decoder: { statePath: "" }',
      `api: { listen: "127.0.0.1:${apiPort}", operatorTokens: [${TOKEN}] }`,
      "customers:",
      "  - { id: office, name: Office, sites: [{ id: a, links: [{ id: l, prefixes: [172.16.11.0/24] }] }] }",
      ...extra,
      "",
    ].join("\n"),
  );
  return path;
}

/** The attack: what each datagram should come to, sent in order. */
function attack(now: number) {
  return {
    /** The datagram that hung the collector: (2^64-1) bytes x (2^32-1), a 45 s flow. */
    hang: ipfixRecord({
      bytes: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
      packets: 1,
      rate: 0xffff_ffff,
      startMs: now - 45_000,
      endMs: now,
    }),
    /** 1.8e19 bytes unsampled. */
    huge: ipfixRecord({
      bytes: [0xf9, 0xcc, 0xd8, 0xa1, 0xc5, 0x08, 0x00, 0x00],
      packets: 10,
      rate: 1,
      startMs: now - 10_000,
      endMs: now,
    }),
    spoofed: v5({ endMs: now, bytes: 4_000_000_000, packets: 1, sequence: 0 }),
    lastMonth: v5({ endMs: now - 35 * DAY, bytes: 4_000_000_000, packets: 1, sequence: 1 }),
    leapDay: v5({
      endMs: Date.UTC(2016, 1, 29, 12),
      bytes: 4_000_000_000,
      packets: 1,
      sequence: 2,
    }),
    honest: v5({ endMs: now, bytes: 1234, packets: 3, sequence: 3 }),
  };
}

describe("hostile exports against the built CLI", () => {
  it("run keeps answering, drops and counts each by reason and source, and counts the honest record", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ft-hostile-"));
    const udpPort = await freeUdpPort();
    const apiPort = await freePort();
    const s = start(["run", "--config", config(dir, udpPort, apiPort)]);
    await waitForApi(apiPort, s);
    expect(s.output().stderr).not.toMatch(/takes NetFlow .* from any source address/);

    const a = attack(Date.now());
    await sendFrom("127.0.0.1", udpPort, a.hang);
    // The process used to spin here: /healthz stopped answering within 2 s.
    for (let k = 0; k < 5; k++) {
      expect(await healthz(apiPort, 2000)).toBe(200);
      await new Promise((r) => setTimeout(r, 200));
    }
    await sendFrom("127.0.0.1", udpPort, a.huge);
    await sendFrom("127.0.0.99", udpPort, a.spoofed);
    await sendFrom("127.0.0.1", udpPort, a.lastMonth);
    await sendFrom("127.0.0.1", udpPort, a.leapDay);
    await sendFrom("127.0.0.1", udpPort, a.honest);
    // Every datagram read (the refused one too) before the stop.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const res = await fetch(`http://127.0.0.1:${apiPort}/api/v1/status`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      const status = (await res.json()) as { datagrams: number; refusedDatagrams: number };
      if (status.datagrams + status.refusedDatagrams >= 6) {
        expect(status).toMatchObject({
          datagrams: 5,
          refusedDatagrams: 1,
          refusedBySource: { "127.0.0.99": 1 },
          droppedRecords: {
            "bytes-absurd": 2,
            "packets-absurd": 0,
            "sampling-rate-absurd": 0,
            "time-invalid": 0,
            "too-old": 2,
          },
        });
        break;
      }
      if (Date.now() > deadline) throw new Error(`not all read: ${JSON.stringify(status)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const metrics = await (
      await fetch(`http://127.0.0.1:${apiPort}/metrics`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      })
    ).text();
    expect(metrics).toMatch(/flowtally_records_dropped_total\{reason="too-old"\} 2/);
    expect(metrics).toMatch(/flowtally_datagrams_refused_total\{listen="127\.0\.0\.1:\d+"\} 1/);

    expect(await stopWithin(s, 15_000)).toBe(0);
    const { stdout } = s.output();
    expect(stdout).toMatch(
      /1 datagrams from sources not in allowedExporters were dropped \(127\.0\.0\.99: 1\)/,
    );
    expect(stdout).toMatch(/records dropped: bytes-absurd 2, too-old 2/);

    const q = spawn(process.execPath, [
      cli,
      "query",
      "overview",
      "--config",
      join(dir, "ft.yaml"),
      "--from",
      "2000-01-01T00:00:00Z",
      "--to",
      "2100-01-01T00:00:00Z",
      "--format",
      "json",
    ]);
    let out = "";
    q.stdout.on("data", (d) => {
      out += d;
    });
    expect(await new Promise((r) => q.on("close", r))).toBe(0);
    const { rows } = JSON.parse(out) as {
      rows: Array<{ customer: string; bytesIn: number; bytesOut: number }>;
    };
    // 8.8.4.4 -> 172.16.11.9: the office downloads the honest record's 1234 bytes, nothing else.
    expect(rows.find((r) => r.customer === "office")).toMatchObject({ bytesIn: 1234, bytesOut: 0 });
    expect(rows.filter((r) => r.customer === "unattributed")).toEqual([]);
  }, 60_000);

  it("collect keeps answering after the datagram that hung it, and stops on SIGTERM", async () => {
    const redis = await startRedis();
    onTestFinished(() => redis.close());
    const dir = mkdtempSync(join(tmpdir(), "ft-hostile-"));
    const udpPort = await freeUdpPort();
    const apiPort = await freePort();
    const path = config(dir, udpPort, apiPort, [
      `queue: { redis: { url: "redis://127.0.0.1:${redis.port}" } }`,
      `collector: { id: hostile, spoolPath: ${JSON.stringify(join(dir, "spool.json"))} }`,
    ]);
    const s = start(["collect", "--config", path]);
    await waitForApi(apiPort, s);
    await sendFrom("127.0.0.1", udpPort, attack(Date.now()).hang);
    for (let k = 0; k < 5; k++) {
      expect(await healthz(apiPort, 2000)).toBe(200);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(await stopWithin(s, 15_000)).toBe(0);
    expect(s.output().stdout).toMatch(/records dropped: bytes-absurd 1/);
  }, 60_000);
});
