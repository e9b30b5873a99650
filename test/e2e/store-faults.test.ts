/**
 * The embedded store failing under the built CLI (`dist/`, made by `npm run build`): its file
 * deleted, made read-only, its disk full. In each, `run` must say so (/healthz, a coded log line),
 * stop with its summary, the decoder state saved and a coded error line (status 1), and keep
 * every row: in the write-ahead log (the default) or, without one, spooled at stop; written by
 * the next start, once. The faults are real (an 8 MB tmpfs,
 * `chattr +i`; see test/support/fault-fs.ts): a machine that cannot make them fails these tests.
 */

import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { freeUdpPort, tsharkOfficeBytes } from "../support/cli-process.js";
import { mountTmpfs, setImmutable } from "../support/fault-fs.js";
import { eventually } from "../support/scale-out.js";
import { influxql, startInfluxd } from "../support/servers.js";

const root = new URL("../../", import.meta.url).pathname;
const cli = join(root, "dist/cli/flowtally.js");
const TOKEN = "store-faults-operator-token-0123";
const capture = join(
  root,
  "test/fixtures/flows/exported-from-packets/pmacctd-nfprobe-v9__tcpreplay__test.pcap",
);

/** Undone after each test, last first (processes, mounts, immutable files). */
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const undo of cleanups.splice(0).reverse()) await undo();
});

function cli1(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", cwd: root });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

interface Setup {
  dir: string;
  config: string;
  /** The embedded store's path ("" with InfluxDB). */
  store: string;
  state: string;
  port: number;
}

/**
 * A config: one NetFlow input, customer `office`, the embedded store at `store` (or the `store:`
 * line given), state in `dir/state`; no write-ahead log unless `wal` (these test the spool).
 */
async function setup(store: string, storeLine?: string, wal = false): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), "flowtally-store-faults-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freeUdpPort();
  const state = join(dir, "state", "decoder-state.json");
  const config = join(dir, "ft.yaml");
  writeFileSync(
    config,
    [
      `inputs: { netflow: [{ listen: "127.0.0.1:${port}" }] }`,
      storeLine ?? `store: { embedded: { path: ${JSON.stringify(store)} } }`,
      `decoder: { statePath: ${JSON.stringify(state)} }`,
      wal ? `wal: { path: ${JSON.stringify(join(dir, "wal"))} }` : "wal: { enabled: false }",
      // The capture is years old: records of any age count (flowtally send replays it).
      "aggregation: { maxPast: forever }",
      `api: { listen: "127.0.0.1:0", operatorTokens: [${TOKEN}] }`,
      "customers:",
      "  - { id: office, name: Office, sites: [{ id: a, links: [{ id: l, prefixes: [172.16.11.0/24] }] }] }",
      "",
    ].join("\n"),
  );
  return { dir, config, store, state, port };
}

interface Running {
  child: ChildProcess;
  apiPort: number;
  stderr(): string;
  healthz(): Promise<{ status: number; body: unknown }>;
  /** SIGTERM: exit status, stdout, stderr. */
  stop(): Promise<{ status: number | null; stdout: string; stderr: string }>;
}

async function startRun(s: Setup): Promise<Running> {
  const child = spawn(process.execPath, [cli, "run", "--config", s.config], { cwd: root });
  cleanups.push(() => {
    child.kill("SIGKILL"); // a no-op once it has exited
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    stdout += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  const apiPort = await new Promise<number>((resolve, reject) => {
    child.stderr.on("data", (d) => {
      stderr += d;
      const line = stderr.split("\n").find((l) => l.includes('"query API listening"'));
      if (line !== undefined) resolve((JSON.parse(line) as { port: number }).port);
    });
    exited.then(() => reject(new Error(`run exited: ${stderr}`)));
  });
  return {
    child,
    apiPort,
    stderr: () => stderr,
    async healthz() {
      // A connection of its own: the spawnSync calls between two checks block this process, so a
      // pooled keep-alive connection could outlive the server's keepAliveTimeout unnoticed.
      const res = await fetch(`http://127.0.0.1:${apiPort}/healthz`, {
        headers: { connection: "close" },
      });
      return { status: res.status, body: await res.json() };
    },
    async stop() {
      child.kill("SIGTERM");
      const status = await exited;
      return { status, stdout, stderr };
    },
  };
}

function send(s: Setup): void {
  const sent = cli1(["send", "--to", `127.0.0.1:${s.port}`, capture]);
  expect(sent.stdout).toMatch(/^sent 7 datagrams/);
}

/** office's row of `query overview` over all time. */
function officeBytes(s: Setup): [number, number] {
  const q = cli1([
    "query",
    "overview",
    "--config",
    s.config,
    "--from",
    "2000-01-01T00:00:00Z",
    "--to",
    "2100-01-01T00:00:00Z",
    "--format",
    "json",
  ]);
  expect(q.status, q.stderr).toBe(0);
  const row = (JSON.parse(q.stdout) as { rows: Array<Record<string, number | string>> }).rows.find(
    (r) => r.customer === "office",
  );
  return [Number(row?.bytesIn ?? 0), Number(row?.bytesOut ?? 0)];
}

/** Log lines (pino JSON on stderr) at error level or above. */
function errorLines(stderr: string): Array<{ msg: string; code?: string }> {
  return stderr
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { level: number; msg: string; code?: string })
    .filter((l) => l.level >= 50);
}

/** stderr lines that are not log lines: each must be a coded error line. */
function plainLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l !== "" && !l.startsWith("{"));
}

/**
 * The stop after a store failure: status 1, the summary on stdout with the spool line, coded
 * error lines only, the decoder state saved. Returns the spool file's path.
 */
function expectFailedStop(
  s: Setup,
  stopped: { status: number | null; stdout: string; stderr: string },
  codes: string[],
  spoolDir: string,
  sends = 1,
): string {
  expect(stopped.status, stopped.stderr).toBe(1);
  const summary =
    /^received (\d+) export datagrams, (\d+) records \(\d+ unattributed\), (\d+) series rows written;/.exec(
      stopped.stdout,
    );
  expect(summary, stopped.stdout).not.toBeNull();
  expect([Number(summary![1]), Number(summary![2])]).toEqual([7 * sends, 45 * sends]);
  // Rows are claimed written only where the store took them (the first sends, on a full disk).
  if (sends === 1) expect(summary![3]).toBe("0");
  const spooled =
    /\n(\d+) rows the store did not take are spooled to (\S+); the next start writes them to the store first\n/.exec(
      stopped.stdout,
    );
  expect(spooled, stopped.stdout).not.toBeNull();
  const path = spooled![2]!;
  expect(path.startsWith(`${spoolDir}/`), path).toBe(true);
  expect(existsSync(path)).toBe(true);
  const plain = plainLines(stopped.stderr);
  expect(plain.length).toBeGreaterThan(0);
  for (const line of plain) expect(line).toMatch(/^flowtally: .* \[FT_[A-Z_]+\]$/);
  expect(plain.map((l) => /\[(FT_[A-Z_]+)\]$/.exec(l)![1])).toEqual(codes);
  expect(stopped.stderr).not.toMatch(/^FATAL|^Error/m);
  expect(existsSync(s.state), "the decoder state is saved").toBe(true);
  return path;
}

/** The next start writes the spool first, once: the totals are tshark's, the spool is gone. */
async function expectNextStartWritesTheSpool(s: Setup, spool: string, sends = 1): Promise<void> {
  const want = tsharkOfficeBytes().map((b) => b * sends);
  const next = await startRun(s);
  expect(next.stderr()).toMatch(/"rows spooled at an earlier stop written to the store"/);
  expect(existsSync(spool)).toBe(false);
  expect(existsSync(`${spool}.writing`)).toBe(false);
  expect(await next.healthz()).toEqual({ status: 200, body: { status: "ok" } });
  const stopped = await next.stop();
  expect(stopped.status, stopped.stderr).toBe(0);
  expect(officeBytes(s)).toEqual(want);
  // A third start finds nothing to write again.
  const third = await startRun(s);
  expect(third.stderr()).not.toMatch(/spooled at an earlier stop/);
  expect((await third.stop()).status).toBe(0);
  expect(officeBytes(s)).toEqual(want);
}

describe("flowtally run when the embedded store fails", () => {
  it("its file deleted while running: /healthz 503 FT_STORE_FILE, an error log line, no rows claimed written, rows spooled beside the store and written by the next start", async () => {
    const base = mkdtempSync(join(tmpdir(), "flowtally-store-faults-db-"));
    cleanups.push(() => rmSync(base, { recursive: true, force: true }));
    const s = await setup(join(base, "ft.duckdb"));
    const running = await startRun(s);
    expect(await running.healthz()).toEqual({ status: 200, body: { status: "ok" } });

    rmSync(s.store);
    expect(await running.healthz()).toEqual({
      status: 503,
      body: { status: "degraded", down: ["store"], codes: { store: "FT_STORE_FILE" } },
    });
    send(s);
    await eventually("the error log line", () =>
      errorLines(running.stderr()).some((l) => l.code === "FT_STORE_FILE"),
    );
    const logged = errorLines(running.stderr()).find((l) => l.code === "FT_STORE_FILE")!;
    expect(logged.msg).toMatch(/^the store is down \[FT_STORE_FILE\]: rows kept/);

    const stopped = await running.stop();
    const spool = expectFailedStop(s, stopped, ["FT_STORE_FILE"], base);
    expect(plainLines(stopped.stderr)[0]).toContain(
      `flowtally: ${s.store}: the embedded store's file was deleted while flowtally had it open`,
    );
    expect(readdirSync(base).filter((f) => f.startsWith("ft.duckdb.spool-"))).toHaveLength(1);

    await expectNextStartWritesTheSpool(s, spool);
  });

  it("its file deleted while running, with the write-ahead log: the rows stay in the log at stop, and the next start writes them, once", async () => {
    const base = mkdtempSync(join(tmpdir(), "flowtally-store-faults-db-"));
    cleanups.push(() => rmSync(base, { recursive: true, force: true }));
    const s = await setup(join(base, "ft.duckdb"), undefined, true);
    const running = await startRun(s);
    rmSync(s.store);
    send(s);
    await eventually("the error log line", () =>
      errorLines(running.stderr()).some((l) => l.code === "FT_STORE_FILE"),
    );
    const stopped = await running.stop();
    expect(stopped.status, stopped.stderr).toBe(1);
    expect(stopped.stdout).toMatch(
      new RegExp(
        `\\n\\d+ rows the store did not take stay in the write-ahead log ${join(s.dir, "wal")}; the next start writes them to the store first\\n`,
      ),
    );
    expect(stopped.stdout).not.toMatch(/spooled to/);
    expect(readdirSync(base).filter((f) => f.includes("spool"))).toEqual([]);

    const want = tsharkOfficeBytes();
    const next = await startRun(s);
    expect(next.stderr()).toMatch(/"write-ahead log: what the store did not have at the last stop/);
    expect((await next.stop()).status).toBe(0);
    expect(officeBytes(s)).toEqual(want);
    // A third start finds nothing to write again.
    const third = await startRun(s);
    expect(third.stderr()).not.toMatch(/what the store did not have/);
    expect((await third.stop()).status).toBe(0);
    expect(officeBytes(s)).toEqual(want);
  });

  it("its directory and files made read-only (chattr +i): /healthz 503 FT_STORE_WRITE; at stop the rows go to the spool in the state's directory", async () => {
    const base = mkdtempSync(join(tmpdir(), "flowtally-store-faults-ro-"));
    cleanups.push(() => rmSync(base, { recursive: true, force: true }));
    const s = await setup(join(base, "ft.duckdb"));
    const running = await startRun(s);
    const files = [base, ...readdirSync(base).map((f) => join(base, f))];
    setImmutable(files, true);
    cleanups.push(() => setImmutable(files, false));

    send(s);
    await eventually("the failed write", () =>
      errorLines(running.stderr()).some((l) => l.code === "FT_STORE_WRITE"),
    );
    expect(await running.healthz()).toEqual({
      status: 503,
      body: { status: "degraded", down: ["store"], codes: { store: "FT_STORE_WRITE" } },
    });
    // Rows wait for the store: answers say nothing is complete from their first minute on (the
    // capture's flows, before its last frame), not the clock's `now - lateness`.
    const lastFrameMs = Math.max(
      ...execFileSync("tshark", ["-r", capture, "-T", "fields", "-e", "frame.time_epoch"], {
        encoding: "utf8",
      })
        .trim()
        .split("\n")
        .map((t) => Number(t) * 1000),
    );
    const overview = await fetch(
      `http://127.0.0.1:${running.apiPort}/api/v1/overview?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z`,
      { headers: { authorization: `Bearer ${TOKEN}`, connection: "close" } },
    );
    expect(overview.status).toBe(200);
    const answer = (await overview.json()) as { completeUntil: string; complete: boolean };
    expect(answer.complete).toBe(false);
    expect(Date.parse(answer.completeUntil)).toBeLessThanOrEqual(lastFrameMs);
    const stopped = await running.stop();
    const spool = expectFailedStop(
      s,
      stopped,
      ["FT_STORE_WRITE", "FT_STORE_WRITE"],
      join(s.dir, "state"),
    );
    expect(plainLines(stopped.stderr)[0]).toMatch(
      /could not write: .*Operation not permitted \(the file or its directory cannot be written/,
    );
    setImmutable(files, false);

    await expectNextStartWritesTheSpool(s, spool);
  });

  it("its disk full (an 8 MB tmpfs): writes fail with a code; the checkpoint at stop too, not as a raw FATAL; rows are spooled off the full disk; the next start applies the WAL and the spool, each once", async () => {
    const base = mkdtempSync(join(tmpdir(), "flowtally-store-faults-full-"));
    cleanups.push(() => rmSync(base, { recursive: true, force: true }));
    // Room for the store's file with every table (SLA, link status) once the filler is gone: its
    // next starts write and checkpoint there; the filler takes whatever is left before that.
    const disk = mountTmpfs(join(base, "disk"), 8 * 1024 * 1024);
    cleanups.push(() => disk.close());
    const s = await setup(join(disk.dir, "ft.duckdb"));
    const running = await startRun(s);
    const filler = join(disk.dir, "filler");
    spawnSync("dd", ["if=/dev/zero", `of=${filler}`, "bs=64k"], { stdio: "ignore" });
    expect(spawnSync("df", ["--output=avail", disk.dir], { encoding: "utf8" }).stdout).toMatch(
      /\n\s*0\n/,
    );
    // The first writes may still fit in the last page of the WAL: send again until one fails.
    let sends = 0;
    while (!errorLines(running.stderr()).some((l) => l.code === "FT_STORE_WRITE")) {
      expect(sends, "a write failed on the full disk").toBeLessThan(20);
      send(s);
      sends++;
      await new Promise((r) => setTimeout(r, 1500));
    }
    expect((await running.healthz()).body).toEqual({
      status: "degraded",
      down: ["store"],
      codes: { store: "FT_STORE_WRITE" },
    });
    const stopped = await running.stop();
    const spool = expectFailedStop(
      s,
      stopped,
      ["FT_STORE_WRITE", "FT_STORE_WRITE"],
      join(s.dir, "state"),
      sends,
    );
    const [write, checkpoint] = plainLines(stopped.stderr);
    expect(write).toMatch(/could not write: .*No space left on device \(the disk is full\)/);
    expect(checkpoint).toMatch(
      /could not write its file at stop \(checkpoint\): FATAL Error: Failed to create checkpoint.*the disk is full.*ft\.duckdb\.wal, which the next start applies/,
    );

    rmSync(filler);
    await expectNextStartWritesTheSpool(s, spool, sends);
  });

  it("InfluxDB away at stop: FT_STORE_UNREACHABLE on /healthz and at stop; rows spooled in the state's directory, written once InfluxDB is back", async () => {
    const influxd = await startInfluxd();
    cleanups.push(() => influxd.close());
    await influxql(influxd, "CREATE DATABASE flowtally");
    const s = await setup(
      "",
      `store: { influx: { api: v1, url: "http://127.0.0.1:${influxd.port}", database: flowtally, timeout: 2s } }`,
    );
    const running = await startRun(s);
    await influxd.stop();
    send(s);
    await eventually("the failed write", () =>
      errorLines(running.stderr()).some((l) => l.code === "FT_STORE_UNREACHABLE"),
    );
    expect(await running.healthz()).toEqual({
      status: 503,
      body: { status: "degraded", down: ["store"], codes: { store: "FT_STORE_UNREACHABLE" } },
    });
    // Queries answer a clear 503 (no address in it), not an internal error.
    const down = await fetch(
      `http://127.0.0.1:${running.apiPort}/api/v1/overview?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z`,
      { headers: { authorization: `Bearer ${TOKEN}`, connection: "close" } },
    );
    expect([down.status, down.headers.get("retry-after")]).toEqual([503, "10"]);
    expect(await down.json()).toEqual({
      error: {
        code: "FT_STORE_UNAVAILABLE",
        message: "the series store is unavailable (FT_STORE_UNREACHABLE); try again later",
      },
    });
    const stopped = await running.stop();
    const spool = expectFailedStop(s, stopped, ["FT_STORE_UNREACHABLE"], join(s.dir, "state"));
    expect(spool).toMatch(/\/state\/store-spool-\d{8}T\d{9}Z-\d+\.json$/);
    expect(JSON.parse(readFileSync(spool, "utf8")).store).toBe(
      `InfluxDB (v1 API) http://127.0.0.1:${influxd.port} database flowtally`,
    );

    await influxd.start();
    await expectNextStartWritesTheSpool(s, spool);
  });
});
