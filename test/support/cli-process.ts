/**
 * Test support: the built command line (dist/, `npm run build`) run as a user runs it, and a real
 * `flowtally run` started on free loopback ports, stopped (SIGTERM) by the test or, at the latest,
 * killed when the test ends.
 */
import { spawn, spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, onTestFinished } from "vitest";

export const root = new URL("../../", import.meta.url).pathname;
export const cli = join(root, "dist/cli/flowtally.js");
export const flows = (p: string) => join(root, "test/fixtures/flows", p);

/**
 * The test's environment with `env` instead of its FLOWTALLY_* variables (the rest is kept: a
 * clock moved by libfaketime, scripts/test-calendar.sh, must reach the command too).
 */
function environment(env: Record<string, string> | undefined): NodeJS.ProcessEnv {
  if (env === undefined) return process.env;
  const kept = Object.entries(process.env).filter(([k]) => !k.startsWith("FLOWTALLY_"));
  return { ...Object.fromEntries(kept), ...env };
}

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs `flowtally ARGS` to the end; `env` replaces the FLOWTALLY_* variables. */
export function runCli(args: string[], env?: Record<string, string>): CliResult {
  const r = spawnSync(process.execPath, [cli, ...args], {
    encoding: "utf8",
    cwd: root,
    env: environment(env),
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** `runCli` without blocking: for a CLI talking to a server in the test's own process. */
export function runCliAsync(args: string[], env?: Record<string, string>): Promise<CliResult> {
  const child = spawn(process.execPath, [cli, ...args], { cwd: root, env: environment(env) });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    stdout += d;
  });
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  return new Promise((resolve) =>
    child.on("close", (status) => resolve({ status: status ?? -1, stdout, stderr })),
  );
}

export function freeUdpPort(): Promise<number> {
  const s = createSocket("udp4");
  return new Promise((resolve) =>
    s.bind(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    }),
  );
}

export interface RunningFlowtally {
  readonly pid: number;
  /** The query API's base URL (`api.listen` with port 0: the port it took). */
  apiUrl: string;
  /** What it logged so far. */
  stderr(): string;
  /** SIGTERM, then the exit status and the stop summary (stdout). */
  stop(): Promise<{ status: number | null; stdout: string; stderr: string }>;
}

/** Starts `flowtally run --config CONFIG` and waits for its API to listen. */
export function startRun(config: string): Promise<RunningFlowtally> {
  return startFlowtally("run", config);
}

/**
 * Starts `flowtally COMMAND --config CONFIG` (run, collect, serve) in `cwd` (default: the
 * checkout) and waits for its API to listen.
 */
export async function startFlowtally(
  command: "run" | "collect" | "serve",
  config: string,
  cwd = root,
): Promise<RunningFlowtally> {
  const child = spawn(process.execPath, [cli, command, "--config", config], { cwd });
  onTestFinished(() => {
    child.kill("SIGKILL"); // a no-op once it has exited
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    stdout += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr.on("data", (d) => {
      stderr += d;
      const line = stderr.split("\n").find((l) => /"(query|HTTP) API listening"/.test(l));
      if (line !== undefined) resolve((JSON.parse(line) as { port: number }).port);
    });
    exited.then(() => reject(new Error(`${command} exited: ${stderr}`)));
  });
  return {
    pid: child.pid ?? -1,
    apiUrl: `http://127.0.0.1:${port}`,
    stderr: () => stderr,
    async stop() {
      child.kill("SIGTERM");
      const status = await exited;
      return { status, stdout, stderr };
    },
  };
}

/** tshark's IP bytes of tcpreplay's test.pcap to and from 172.16.11.0/24: [in, out]. */
export function tsharkOfficeBytes(): [number, number] {
  const pairs = readFileSync(
    join(root, "test/fixtures/exporters/compare__tcpreplay__test.csv"),
    "utf8",
  )
    .trim()
    .split("\n")
    .slice(1)
    .map((l) => l.split(","));
  const sum = (side: 0 | 1) =>
    pairs.filter((f) => f[side]!.startsWith("172.16.11.")).reduce((a, f) => a + Number(f[3]), 0);
  return [sum(1), sum(0)];
}

/**
 * Every customer's stored bytes in over the last day and the next hour, from `query overview` on
 * the store of `config` (run must have let go of the file).
 */
export function storedBytesIn(config: string): Record<string, number> {
  const r = runCli([
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
  expect(r.status, r.stderr).toBe(0);
  const rows = (JSON.parse(r.stdout) as { rows: Array<{ customer: string; bytesIn: number }> })
    .rows;
  return Object.fromEntries(rows.map((x) => [x.customer, x.bytesIn]));
}
