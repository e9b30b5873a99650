/**
 * A config of many customers: how long `flowtally check-config` and the start-up of
 * `flowtally run` take, and their peak memory, as child processes of the built CLI.
 *
 *   npm run build && node dist/bench/config-scale.js                 # 100 000 customers, 3 runs each
 *   node dist/bench/config-scale.js --customers 10000 --runs 1
 *   node dist/bench/config-scale.js --keep --json                    # keeps the temp dir
 *
 * The config is generated into a temp dir (bench/customers-config.ts): N customers, each with
 * one site and one link with an IPv4 /28 (from 10.0.0.0/8, then 100.64.0.0/10) and, for every
 * other customer, an IPv6 /56 too, a commit rate and one of three service types; two traffic
 * classes, one NetFlow input and the API on free loopback ports, the embedded store (DuckDB) and
 * the decoder state in the temp dir. `check-config` runs to its end (its output, the whole
 * effective config, goes to a file).
 * `run` is timed from spawn until GET /healthz answers 200, then stopped with SIGTERM (a second
 * later: it handles the signal once start-up has returned).
 *
 * Peak memory is the child's own max RSS: for check-config from getrusage
 * (`process.resourceUsage()`, written by a preloaded module when it exits), for run from
 * /proc/<pid>/status (VmHWM) when /healthz answers, with its CPU seconds so far from
 * /proc/<pid>/stat, so that the stop is not counted. Wall seconds are the parent's clock.
 */
import { spawn } from "node:child_process";
import { createWriteStream, readFileSync, statSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { customersConfig } from "./customers-config.js";
import { healthz } from "./servers.js";

const cli = new URL("../cli/flowtally.js", import.meta.url).pathname;
const MIB = 1024 * 1024;
/** The targets for 100 000 customers. */
const TARGET_SECONDS = 2;
const TARGET_RSS_MIB = 500;

/** Preloaded into each child: its max RSS and CPU times, as JSON on fd 3, when it exits. */
const REPORT_USAGE =
  'data:text/javascript,import{writeSync}from"node:fs";process.on("exit",()=>{try{writeSync(3,JSON.stringify(process.resourceUsage()))}catch{}})';

interface Options {
  customers: number;
  runs: number;
  keep: boolean;
  json: boolean;
}

interface Measured {
  case: "check-config" | "run start-up";
  wallSeconds: number;
  cpuSeconds: number;
  maxRssMiB: number;
  exitCode: number | null;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      customers: { type: "string", default: "100000" },
      runs: { type: "string", default: "3" },
      keep: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  const customers = Number(values.customers);
  if (!Number.isInteger(customers) || customers < 1 || customers > 4_000_000) {
    throw new Error(`--customers ${values.customers}: expected an integer from 1 to 4000000`);
  }
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs ${values.runs}: expected >= 1`);
  return { customers, runs, keep: values.keep, json: values.json };
}

function generateConfig(dir: string, customers: number): string {
  const path = join(dir, "customers.yaml");
  writeFileSync(path, customersConfig(dir, customers));
  return path;
}

interface Child {
  exited: Promise<{ code: number | null; usage: NodeJS.ResourceUsage | null }>;
  pid: number | undefined;
  stderr: () => string;
  kill(signal: NodeJS.Signals): void;
}

function spawnCli(args: string[], stdoutFile?: string): Child {
  const child = spawn(process.execPath, ["--import", REPORT_USAGE, cli, ...args], {
    stdio: ["ignore", stdoutFile === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
  if (stdoutFile !== undefined) child.stdout?.pipe(createWriteStream(stdoutFile));
  let stderr = "";
  child.stderr?.on("data", (d) => {
    stderr += d;
  });
  let usage = "";
  (child.stdio[3] as NodeJS.ReadableStream).on("data", (d) => {
    usage += d;
  });
  const exited = new Promise<{ code: number | null; usage: NodeJS.ResourceUsage | null }>(
    (resolve) =>
      child.on("close", (code) =>
        resolve({ code, usage: usage === "" ? null : (JSON.parse(usage) as NodeJS.ResourceUsage) }),
      ),
  );
  return { exited, pid: child.pid, stderr: () => stderr, kill: (s) => child.kill(s) };
}

function measured(
  what: Measured["case"],
  startedAt: number,
  wallEnd: number,
  done: { code: number | null; usage: NodeJS.ResourceUsage | null },
): Measured {
  const u = done.usage;
  return {
    case: what,
    wallSeconds: round((wallEnd - startedAt) / 1000, 2),
    cpuSeconds: u === null ? Number.NaN : round((u.userCPUTime + u.systemCPUTime) / 1e6, 2),
    maxRssMiB: u === null ? Number.NaN : round((u.maxRSS * 1024) / MIB, 0),
    exitCode: done.code,
  };
}

async function checkConfig(config: string, out: string): Promise<Measured> {
  const t0 = performance.now();
  const child = spawnCli(["check-config", "-c", config], out);
  const done = await child.exited;
  if (done.code !== 0) throw new Error(`check-config exited ${done.code}: ${child.stderr()}`);
  return measured("check-config", t0, performance.now(), done);
}

async function runStartUp(config: string): Promise<Measured> {
  const t0 = performance.now();
  const child = spawnCli(["run", "-c", config, "--log-level", "info"]);
  let failed: Error | undefined;
  child.exited.then(() => {
    failed = new Error(`run exited before answering /healthz: ${child.stderr()}`);
  });
  // The API's port is in its "query API listening" log line (api.listen asks for port 0).
  let port: number | undefined;
  while (port === undefined) {
    if (failed !== undefined) throw failed;
    const line = child
      .stderr()
      .split("\n")
      .find((l) => l.includes('"query API listening"'));
    if (line !== undefined) port = (JSON.parse(line) as { port: number }).port;
    else await sleep(5);
  }
  while ((await healthz(port)) !== 200) {
    if (failed !== undefined) throw failed;
    await sleep(5);
  }
  const ready = performance.now();
  // Start-up only: CPU and peak RSS so far, from /proc (the exit report would add the stop).
  const atReady = procUsage(child.pid);
  // `run` answers /healthz a moment before it handles SIGTERM (the handler comes after start-up
  // returns); a signal before that would kill it without its exit report.
  await sleep(1000);
  child.kill("SIGTERM");
  const done = await child.exited;
  if (done.code !== 0) throw new Error(`run exited ${done.code} on SIGTERM: ${child.stderr()}`);
  return measured("run start-up", t0, ready, { ...done, usage: atReady ?? done.usage });
}

/** CPU times and peak RSS of a live process, as `process.resourceUsage()` gives them. */
function procUsage(pid: number | undefined): NodeJS.ResourceUsage | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const hz = 100; // USER_HZ
    const peak = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return {
      userCPUTime: (Number(fields[11]) / hz) * 1e6,
      systemCPUTime: (Number(fields[12]) / hz) * 1e6,
      maxRSS: Number(peak?.[1] ?? Number.NaN),
    } as NodeJS.ResourceUsage;
  } catch {
    return null;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

async function main(): Promise<void> {
  const o = parseOptions();
  const dir = await mkdtemp(join(tmpdir(), "flowtally-config-scale-"));
  try {
    const config = generateConfig(dir, o.customers);
    const size = statSync(config).size;
    process.stderr.write(
      `${o.customers} customers: ${config} (${round(size / MIB, 1)} MiB), ${o.runs} run(s) each\n`,
    );
    const results: Measured[] = [];
    for (let r = 0; r < o.runs; r++) {
      results.push(await checkConfig(config, join(dir, "check-config.out")));
      results.push(await runStartUp(config));
    }
    if (o.json) {
      process.stdout.write(`${JSON.stringify({ customers: o.customers, bytes: size, results })}\n`);
      return;
    }
    process.stdout.write(
      `| case | wall s | CPU s | max RSS MiB | targets (${o.customers === 100_000 ? "100 000 customers" : "for 100 000 customers"}) |\n|---|---:|---:|---:|---|\n`,
    );
    for (const m of results) {
      const met = m.wallSeconds < TARGET_SECONDS && m.maxRssMiB < TARGET_RSS_MIB;
      process.stdout.write(
        `| ${m.case} | ${m.wallSeconds} | ${m.cpuSeconds} | ${m.maxRssMiB} | < ${TARGET_SECONDS} s, < ${TARGET_RSS_MIB} MiB: ${met ? "met" : "not met"} |\n`,
      );
    }
  } finally {
    if (o.keep) process.stderr.write(`kept ${dir}\n`);
    else await rm(dir, { recursive: true, force: true });
  }
}

await main();
