/**
 * One data directory: relative data paths resolve against `dataDir`, itself relative to the
 * config file, never the working directory; a second process on the same collector spool refuses
 * to start, naming the file and the pid; a lock left by a dead process is taken over, logged.
 * The built command line, as a user runs it.
 */
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import {
  type CliResult,
  cli,
  flows,
  startFlowtally,
  tsharkOfficeBytes,
} from "../support/cli-process.js";

function runIn(cwd: string, args: string[]): CliResult {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", cwd });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe("dataDir", () => {
  it("the same config run from two working directories uses the same store, beside the config", () => {
    const tmp = mkdtempSync(join(tmpdir(), "ft-datadir-"));
    for (const d of ["conf", "a", "b"]) mkdirSync(join(tmp, d));
    writeFileSync(
      join(tmp, "conf/ft.yaml"),
      [
        "dataDir: ../data",
        'inputs: { netflow: [{ listen: "127.0.0.1:36096" }] }',
        "aggregation: { maxPast: forever }",
        "store: { embedded: { path: ft.duckdb } }",
        "decoder: { statePath: state/decoder.json }",
        "customers:",
        "  - { id: office, name: Office, serviceType: business, sites: [{ id: main, links: [{ id: uplink, prefixes: [172.16.11.0/24] }] }] }",
        "",
      ].join("\n"),
    );
    const capture = flows("exported-from-packets/pmacctd-nfprobe-v9__tcpreplay__test.pcap");
    for (const cwd of ["a", "b"]) {
      const dir = join(tmp, cwd);
      const r = runIn(dir, [
        "replay",
        "--config",
        relative(dir, join(tmp, "conf/ft.yaml")),
        capture,
      ]);
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
    }
    expect(readdirSync(join(tmp, "a"))).toEqual([]);
    expect(readdirSync(join(tmp, "b"))).toEqual([]);
    expect(existsSync(join(tmp, "data/ft.duckdb"))).toBe(true);
    expect(existsSync(join(tmp, "data/state/decoder.json"))).toBe(true);

    // check-config shows where, absolute, from anywhere.
    const checked = runIn(join(tmp, "a"), ["check-config", "--config", "../conf/ft.yaml"]);
    expect(checked.stdout).toContain(`dataDir: ${join(tmp, "data")}\n`);
    expect(checked.stdout).toContain(`store.embedded.path: ${join(tmp, "data/ft.duckdb")}\n`);
    expect(checked.stdout).toContain(
      `decoder.statePath: ${join(tmp, "data/state/decoder.json")}\n`,
    );

    // One store holding both replays: twice tshark's bytes.
    const [bytesIn, bytesOut] = tsharkOfficeBytes();
    const q = runIn(tmp, [
      "query",
      "overview",
      "--config",
      "conf/ft.yaml",
      "--from",
      "2000-01-01T00:00:00Z",
      "--to",
      "2100-01-01T00:00:00Z",
      "--format",
      "json",
    ]);
    expect(q.status).toBe(0);
    const office = (JSON.parse(q.stdout) as { rows: Array<Record<string, unknown>> }).rows.find(
      (r) => r.customer === "office",
    );
    expect(office).toMatchObject({ bytesIn: 2 * bytesIn, bytesOut: 2 * bytesOut });
  });
});

describe("data file locks", () => {
  function collectConfig(): { config: string; spool: string } {
    const dir = mkdtempSync(join(tmpdir(), "ft-lock-"));
    const config = join(dir, "ft.yaml");
    writeFileSync(
      config,
      [
        // Nothing listens on port 1: collect starts anyway (and keeps partials in memory).
        'queue: { redis: { url: "redis://127.0.0.1:1" } }',
        "collector: { id: c1, spoolPath: spool/partials.json }",
        'decoder: { statePath: "" }',
        'api: { listen: "127.0.0.1:0" }',
        "",
      ].join("\n"),
    );
    return { config, spool: join(dir, "spool/partials.json") };
  }

  it("a second collect on the same spool refuses, naming the file and the pid", async () => {
    const { config, spool } = collectConfig();
    const first = await startFlowtally("collect", config);
    expect(JSON.parse(readFileSync(`${spool}.lock`, "utf8"))).toMatchObject({ pid: first.pid });
    // From another directory, by another path to the same config: the same spool.
    const second = runIn(tmpdir(), ["collect", "--config", config]);
    expect(second.status).toBe(1);
    expect(second.stderr).toContain(
      `flowtally: collector.spoolPath ${spool}: in use by process ${first.pid} (`,
    );
    expect(second.stderr).toMatch(/\[FT_DATA_LOCKED\]\n$/);
    await first.stop();
    expect(existsSync(`${spool}.lock`)).toBe(false);
  }, 30_000);

  it("a lock left by a process that is gone is taken over, with a log line", async () => {
    const { config, spool } = collectConfig();
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], {
      encoding: "utf8",
    });
    const deadPid = Number(dead.stdout);
    mkdirSync(join(spool, ".."), { recursive: true });
    writeFileSync(
      `${spool}.lock`,
      JSON.stringify({ pid: deadPid, command: "flowtally collect", since: "2026-01-01" }),
    );
    const running = await startFlowtally("collect", config);
    expect(running.stderr()).toContain(
      `collector.spoolPath: taking over the lock of process ${deadPid}, which is no longer running`,
    );
    expect(JSON.parse(readFileSync(`${spool}.lock`, "utf8"))).toMatchObject({ pid: running.pid });
    await running.stop();
  }, 30_000);
});
