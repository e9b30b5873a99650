/**
 * SIGHUP and SIGTERM against the built CLI: a reload moves a prefix between customers without
 * losing or double-counting a record, a broken file is refused, a start-only setting is named;
 * a burst sent right before SIGTERM is read before the sockets close.
 */
import { createSocket } from "node:dgram";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { expect, test } from "vitest";
import { parseSocketDrops } from "../../collector/udp-input.js";
import { freeUdpPort, startFlowtally, startRun, storedBytesIn } from "../support/cli-process.js";
import { v5Packet } from "../support/export-builder.js";

function config(
  dir: string,
  port: number,
  ownerOf10: "a" | "b",
  listenPort = port,
  receiveBuffer = 32 << 20,
): string {
  return `inputs:
  netflow:
    - listen: 127.0.0.1:${listenPort}
      allowedExporters: [127.0.0.1/32]
      receiveBuffer: ${receiveBuffer}
api:
  listen: 127.0.0.1:0
store:
  embedded:
    path: ${join(dir, "store.duckdb")}
customers:
  - id: a
    name: A
    sites: [{ id: s, links: [{ id: l, prefixes: [${ownerOf10 === "a" ? "10.0.0.0/24, " : ""}10.1.0.0/24] }] }]
  - id: b
    name: B
    sites: [{ id: s, links: [{ id: l, prefixes: [${ownerOf10 === "b" ? "10.0.0.0/24, " : ""}10.2.0.0/24] }] }]
`;
}

/** One v5 datagram of `n` records of 1000 bytes to 10.0.0.1, dated now. */
function download(n: number, sequence: number): Uint8Array {
  const now = Date.now();
  const records = Array.from({ length: n }, () => ({
    src: "192.0.2.1",
    dst: "10.0.0.1",
    packets: 1,
    bytes: 1000,
    firstUptimeMs: 50_000,
    lastUptimeMs: 59_000,
  }));
  return v5Packet({ sysUptimeMs: 60_000, unixSecs: Math.floor(now / 1000), sequence }, records);
}

async function send(port: number, datagrams: Uint8Array[]): Promise<void> {
  const s = createSocket("udp4");
  for (const d of datagrams) {
    await new Promise<void>((r, j) => s.send(d, port, "127.0.0.1", (e) => (e ? j(e) : r())));
  }
  await new Promise<void>((r) => s.close(() => r()));
}

async function waitFor(what: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!what()) {
    if (Date.now() > until) throw new Error("timed out");
    await sleep(20);
  }
}

test("SIGHUP moves a prefix to another customer between datagrams; bad files refused, listen changes named", async () => {
  const dir = mkdtempSync(join(tmpdir(), "flowtally-hup-"));
  const port = await freeUdpPort();
  const file = join(dir, "flowtally.yaml");
  writeFileSync(file, config(dir, port, "a"));
  const run = await startRun(file);
  // The run's process: the one whose command line names this config file.
  const pid = () =>
    Number(
      readdirSync("/proc").find((p) => {
        try {
          return /^\d+$/.test(p) && readFileSync(`/proc/${p}/cmdline`, "utf8").includes(file);
        } catch {
          return false;
        }
      }) ?? 0,
    );
  await send(port, [download(10, 1), download(10, 2)]);
  await waitFor(() => pid() > 0);
  await sleep(200);

  writeFileSync(file, config(dir, port, "b"));
  process.kill(pid(), "SIGHUP");
  await waitFor(() => run.stderr().includes("config reloaded"));
  await send(port, [download(5, 3)]);

  // A broken file: refused in one coded line, 10.0.0.0/24 still goes to b.
  writeFileSync(file, `${config(dir, port, "b")}bogus: 1\n`);
  process.kill(pid(), "SIGHUP");
  await waitFor(() => run.stderr().includes("config reload refused"));
  await send(port, [download(5, 4)]);

  // A new listen address: named, not applied (datagrams to the old port still counted).
  writeFileSync(file, config(dir, port, "b", port + 1));
  process.kill(pid(), "SIGHUP");
  await waitFor(() => run.stderr().includes("needs a restart"));
  await send(port, [download(3, 5)]);
  await sleep(200);

  const stopped = await run.stop();
  expect(stopped.status).toBe(0);
  const refused = run
    .stderr()
    .split("\n")
    .filter((l) => l.includes("config reload refused"));
  expect(refused).toHaveLength(1);
  expect(refused[0]).toMatch(/bogus.*\[FT_CONFIG_INVALID\]/);
  expect(run.stderr()).toMatch(/inputs\.netflow changed, needs a restart/);
  // The stop summary once, at SIGTERM only.
  expect(stopped.stdout.match(/^received /gm)).toHaveLength(1);
  expect(stopped.stdout).toMatch(/received 5 export datagrams, 33 records \(0 unattributed\)/);
  const totals = storedBytesIn(file);
  expect(totals.a).toBe(20 * 1000);
  expect(totals.b).toBe(13 * 1000);
}, 60_000);

test("datagrams queued when SIGTERM comes are read and counted before the socket closes", async () => {
  const dir = mkdtempSync(join(tmpdir(), "flowtally-term-"));
  const port = await freeUdpPort();
  const file = join(dir, "flowtally.yaml");
  writeFileSync(file, config(dir, port, "a"));
  const run = await startRun(file);
  const burst = Array.from({ length: 400 }, (_, k) => download(20, k));
  // Sent without waiting for each callback, then SIGTERM at once: the queue is full at stop.
  const s = createSocket("udp4");
  await Promise.all(
    burst.map((d) => new Promise<void>((r) => s.send(d, port, "127.0.0.1", () => r()))),
  );
  s.close();
  const stopped = await run.stop();
  expect(stopped.status).toBe(0);
  const m = /received (\d+) export datagrams, (\d+) records.*dropped by the kernel: (\d+)/.exec(
    stopped.stdout,
  );
  expect(m, stopped.stdout).not.toBeNull();
  const [, datagrams, records, drops] = m!.map(Number);
  expect(datagrams! + drops!).toBe(400);
  expect(drops).toBe(0);
  expect(records).toBe(400 * 20);
  expect(storedBytesIn(file).a).toBe(400 * 20 * 1000);
}, 60_000);

test("a burst of 5000 right before SIGTERM: received + dropped by the kernel + left undecoded = sent", async () => {
  const dir = mkdtempSync(join(tmpdir(), "flowtally-term-"));
  const port = await freeUdpPort();
  const file = join(dir, "flowtally.yaml");
  // The smallest receive buffer (64 KiB, about a hundred of these datagrams): the kernel may
  // drop some of the burst, and must say so.
  writeFileSync(file, config(dir, port, "a", port, 65_536));
  const run = await startRun(file);
  const sent = 5000;
  const s = createSocket("udp4");
  const results = await Promise.all(
    Array.from(
      { length: sent },
      (_, k) =>
        new Promise<Error | null>((r) => s.send(download(20, k), port, "127.0.0.1", (e) => r(e))),
    ),
  );
  s.close();
  expect(results.filter((e) => e !== null)).toEqual([]);
  // Every datagram is now queued on the socket or dropped by the kernel: its own count.
  const kernelDrops = parseSocketDrops(readFileSync("/proc/net/udp", "utf8"), port);
  expect(kernelDrops).not.toBeNull();
  const stopped = await run.stop();
  expect(stopped.status, stopped.stderr).toBe(0);
  const m =
    /received (\d+) export datagrams, (\d+) records.*dropped by the kernel: (\d+), left undecoded at stop: (\d+)/.exec(
      stopped.stdout,
    );
  expect(m, stopped.stdout).not.toBeNull();
  const [, datagrams, records, drops, undecoded] = m!.map(Number);
  expect(drops).toBe(kernelDrops);
  expect(datagrams! + drops! + undecoded!).toBe(sent);
  // Nothing was sent after the signal: the drain read everything the kernel held.
  expect(undecoded).toBe(0);
  expect(records).toBe(datagrams! * 20);
  expect(storedBytesIn(file).a).toBe(datagrams! * 20 * 1000);
}, 60_000);

/** The log lines after the first one containing `after`, parsed. */
function linesAfter(stderr: string, after: string): Array<{ level: number; msg: string }> {
  const lines = stderr.split("\n").filter((l) => l.startsWith("{"));
  const at = lines.findIndex((l) => l.includes(after));
  expect(at, stderr).toBeGreaterThanOrEqual(0);
  return lines.slice(at + 1).map((l) => JSON.parse(l) as { level: number; msg: string });
}

test("SIGHUP applies log.level; a changed store is named and not applied", async () => {
  const dir = mkdtempSync(join(tmpdir(), "flowtally-hup-level-"));
  const port = await freeUdpPort();
  const file = join(dir, "flowtally.yaml");
  const text = config(dir, port, "a");
  writeFileSync(file, text);
  const run = await startRun(file);
  await send(port, [download(10, 1)]);
  writeFileSync(file, `${text.replace("store.duckdb", "elsewhere.duckdb")}log:\n  level: warn\n`);
  process.kill(run.pid, "SIGHUP");
  await waitFor(() => run.stderr().includes("config reloaded"));
  expect(run.stderr()).toMatch(/store\.embedded changed, needs a restart/);
  expect(
    JSON.parse(
      run
        .stderr()
        .split("\n")
        .find((l) => l.includes("config reloaded"))!,
    ),
  ).toMatchObject({
    level: 30,
    signal: "SIGHUP",
    logLevel: "warn",
  });
  await send(port, [download(5, 2)]);
  await sleep(200);
  const stopped = await run.stop();
  expect(stopped.status).toBe(0);
  // At warn, the stop's info lines ("stopping: ...", "stopped") are not logged any more.
  expect(linesAfter(stopped.stderr, "config reloaded").filter((l) => l.level < 40)).toEqual([]);
  expect(stopped.stdout).toMatch(/received 2 export datagrams, 15 records/);
  // The store it started with holds everything (the new path was not applied).
  writeFileSync(file, text);
  expect(storedBytesIn(file).a).toBe(15 * 1000);
}, 60_000);

test("serve: SIGHUP applies its API's customers and billing and the log level, keeps running", async () => {
  const dir = mkdtempSync(join(tmpdir(), "flowtally-hup-serve-"));
  const port = await freeUdpPort();
  const file = join(dir, "flowtally.yaml");
  const token = "serve-hup-token-0123456789";
  const api = `api:\n  listen: 127.0.0.1:0\n  operatorTokens: [${token}]\n`;
  const text = config(dir, port, "a").replace("api:\n  listen: 127.0.0.1:0\n", api);
  writeFileSync(file, text);
  const serve = await startFlowtally("serve", file);
  // The billing in force at the end of a range: the hour after now (versions are dated now).
  const target = async () => {
    const hour = Math.ceil(Date.now() / 3_600_000) * 3_600_000;
    const range = `from=${new Date(hour).toISOString()}&to=${new Date(hour + 3_600_000).toISOString()}`;
    const r = await fetch(`${serve.apiUrl}/api/v1/customers/a/sla?${range}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(r.status).toBe(200);
    return ((await r.json()) as { billing: { availabilityTarget?: number } }).billing
      .availabilityTarget;
  };
  expect(await target()).toBeUndefined();
  writeFileSync(
    file,
    `${text.replace(/customers:\n/, "serviceTypes:\n  - id: default\n    billing: { availabilityTarget: 99.5 }\ncustomers:\n")}log:\n  level: warn\n`,
  );
  process.kill(serve.pid, "SIGHUP");
  await waitFor(() => serve.stderr().includes("config reloaded"));
  expect(serve.stderr()).not.toMatch(/needs a restart/);
  // The reload's profile version is stored in the background.
  const until = Date.now() + 10_000;
  while ((await target()) !== 99.5 && Date.now() < until) await sleep(50);
  expect(await target()).toBe(99.5);
  expect((await fetch(`${serve.apiUrl}/healthz`)).status).toBe(200);
  const stopped = await serve.stop();
  expect(stopped.status).toBe(0);
  expect(linesAfter(stopped.stderr, "config reloaded").filter((l) => l.level < 40)).toEqual([]);
}, 60_000);
