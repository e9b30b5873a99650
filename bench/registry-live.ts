/**
 * Live registry changes at scale: how long a committed change set takes to reach classification
 * (commit → the new customer model built and swapped in), on one box and scaled out, and how long
 * `flowtally run` takes to start with its customers in the registry.
 *
 *   npm run build && node dist/bench/registry-live.js                      # 100 000 customers, 50 changes
 *   node dist/bench/registry-live.js --customers 10000 --changes 20
 *   node dist/bench/registry-live.js --skip scaled-out,startup        # or one-box (and its startup)
 *
 * The registry: N customers, each with one site and two access links (2N links), an IPv4 /28
 * each (from 10.0.0.0/8), every other customer's first link an IPv6 /56 too; imported as one change
 * set. Each change moves one spare prefix (192.0.2.0/28) to the next customer's first link (two
 * link updates in one change set), as an operator's edit would.
 *
 * - one box: the embedded registry (a DuckDB file); the change applied through the store that
 *   the runtime follows (as the API does in `run`); commit = apply() resolved, applied = the
 *   runtime's onApplied (model and prefix table built, swapped in).
 * - scaled out: PostgreSQL (its own server on a free port); a writer store in this process (the
 *   API's) and `--followers` child processes (the collect processes), each a registry runtime
 *   on its own store, following through LISTEN/NOTIFY; applied = the last follower's onApplied,
 *   on the wall clock (one host). The CPU figure is the busiest follower's for that version.
 * - startup: `flowtally run` (the built CLI) on the one-box registry file, from spawn until
 *   /healthz answers 200 (bench/config-scale.ts times the same with the customers in the config).
 */
import { fork, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { parseConfigText } from "../config/load-config.js";
import { createDuckDbRegistry } from "../registry/duckdb-registry.js";
import type { ChangeInput } from "../registry/model.js";
import { createPostgresRegistry } from "../registry/postgres-registry.js";
import { type AppliedRegistry, createRegistryRuntime } from "../registry/registry-runtime.js";
import type { RegistryStore } from "../registry/sql-registry.js";
import { healthz, startPostgres } from "./servers.js";

const cli = new URL("../cli/flowtally.js", import.meta.url).pathname;
const silent = pino({ level: "silent" });
const SPARE = "192.0.2.0/28";

function options() {
  const { values } = parseArgs({
    options: {
      customers: { type: "string", default: "100000" },
      changes: { type: "string", default: "50" },
      followers: { type: "string", default: "2" },
      runs: { type: "string", default: "3" },
      skip: { type: "string", default: "" },
      follower: { type: "string" },
    },
  });
  return {
    customers: Number(values.customers),
    changes: Number(values.changes),
    followers: Number(values.followers),
    runs: Number(values.runs),
    skip: new Set(values.skip.split(",").filter((s) => s !== "")),
    follower: values.follower,
  };
}

function ipv4(n: number): string {
  const a = ((10 << 24) + n * 16) >>> 0;
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/28`;
}

function firstPrefixes(i: number): string[] {
  return i % 2 === 0
    ? [ipv4(2 * i), `2001:db8:${(i >>> 8).toString(16)}:${((i & 255) << 8).toString(16)}::/56`]
    : [ipv4(2 * i)];
}

/** The whole registry as one change set: customer, site, two links each. */
function importChanges(customers: number): ChangeInput[] {
  const out: ChangeInput[] = [];
  const types = ["business", "residential", "wholesale"];
  for (let i = 0; i < customers; i++) {
    const customer = `c${i}`;
    out.push(
      {
        op: "add",
        customer,
        record: { name: `Customer ${i}`, serviceType: types[i % 3]! },
      },
      { op: "add", customer, site: "s", record: { name: `Site ${i}` } },
      {
        op: "add",
        customer,
        site: "s",
        link: "a",
        record: { prefixes: firstPrefixes(i), commitRate: "100M" },
      },
      {
        op: "add",
        customer,
        site: "s",
        link: "b",
        record: { prefixes: [ipv4(2 * i + 1)], commitRate: "10M" },
      },
    );
  }
  return out;
}

/** Change k: the spare prefix leaves customer k-1's first link (if there) for customer k's. */
function moveChange(k: number, customers: number): ChangeInput[] {
  const to = k % customers;
  const out: ChangeInput[] = [];
  if (k > 0) {
    const from = (k - 1) % customers;
    out.push({
      op: "update",
      customer: `c${from}`,
      site: "s",
      link: "a",
      set: { prefixes: firstPrefixes(from) },
    });
  }
  out.push({
    op: "update",
    customer: `c${to}`,
    site: "s",
    link: "a",
    set: { prefixes: [...firstPrefixes(to), SPARE] },
  });
  return out;
}

function config(source: Record<string, unknown>) {
  return parseConfigText(
    JSON.stringify({
      registry: { source: "database", ...source },
      classes: [
        { id: "voip", match: { protocol: ["udp"], ports: [5060, "10000-20000"] } },
        { id: "web", match: { protocol: ["tcp"], ports: [80, 443] } },
      ],
    }),
    "bench.yaml",
    tmpdir(),
  );
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summary(
  name: string,
  m: { live: number[]; apply: number[]; cpu: number[] },
  cpuWhat = "this process's CPU in that time",
) {
  const r = (v: number) => Math.round(v);
  const { live: ms, apply: applyMs, cpu } = m;
  console.log(
    `${name}: commit → applied p50 ${r(percentile(ms, 50))} ms, p99 ${r(percentile(ms, 99))} ms, max ${r(Math.max(...ms))} ms over ${ms.length} changes; ${cpuWhat} p50 ${r(percentile(cpu, 50))} ms, p99 ${r(percentile(cpu, 99))} ms (the apply itself: p50 ${r(percentile(applyMs, 50))} ms, p99 ${r(percentile(applyMs, 99))} ms); load average ${loadavg()[0]!.toFixed(1)}`,
  );
}

/** Applies the changes one after another; per change: commit → every follower applied it. */
async function measureChanges(
  writer: RegistryStore,
  followers: ReadonlyArray<{ onApplied(l: (a: AppliedRegistry) => void): () => void }>,
  changes: number,
  customers: number,
): Promise<{ live: number[]; apply: number[]; cpu: number[] }> {
  const appliedAt = followers.map(() => new Map<number, { at: number; cpu: number }>());
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  for (const [k, f] of followers.entries()) {
    f.onApplied((a) => {
      appliedAt[k]!.set(a.version, { at: performance.now(), cpu: cpuMs() });
    });
  }
  const live: number[] = [];
  const apply: number[] = [];
  const cpu: number[] = [];
  for (let k = 0; k < changes; k++) {
    const t0 = performance.now();
    const { version } = await writer.apply(moveChange(k, customers), { actor: "bench" });
    const committed = performance.now();
    const cpuAtCommit = cpuMs();
    apply.push(committed - t0);
    while (!appliedAt.every((m) => m.has(version))) await sleep(1);
    const last = appliedAt.map((m) => m.get(version)!);
    live.push(Math.max(...last.map((x) => x.at)) - committed);
    cpu.push(Math.max(...last.map((x) => x.cpu)) - cpuAtCommit);
  }
  return { live, apply, cpu };
}

async function oneBox(dir: string, o: ReturnType<typeof options>): Promise<string> {
  const path = join(dir, "registry.duckdb");
  const store = createDuckDbRegistry({ path });
  await store.start();
  let t = performance.now();
  await store.apply(importChanges(o.customers), { actor: "bench" });
  console.log(
    `one box: imported ${o.customers} customers, ${2 * o.customers} links in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
  await store.stop();
  const runtime = createRegistryRuntime(config({ embedded: { path } }), {
    log: silent,
    store,
    pollMs: 3_600_000,
  });
  t = performance.now();
  await runtime.start();
  // As `run` does (run-command.ts): listens for versions, then classifies with the start
  // version's model, which is made for the updates then.
  const unApplied = runtime.onApplied(() => undefined);
  void runtime.current().model.prefixes;
  console.log(
    `one box: runtime start (open, read, model and prefix table) ${Math.round(performance.now() - t)} ms`,
  );
  t = performance.now();
  await runtime.following();
  unApplied();
  console.log(
    `one box: the start version's model made for updates, after the start ${Math.round(performance.now() - t)} ms`,
  );
  // As `run` does once its API listens (cli/api-registry.ts): the validation index, in slices.
  t = performance.now();
  await store.prepareWrites?.();
  console.log(
    `one box: the validation index made ahead of the first write (in slices) ${Math.round(performance.now() - t)} ms`,
  );
  const r = await measureChanges(store, [runtime], o.changes, o.customers);
  summary("one box", r);
  await runtime.stop();
  return path;
}

async function scaledOut(o: ReturnType<typeof options>): Promise<void> {
  const server = await startPostgres();
  try {
    const writer = createPostgresRegistry({ url: server.url });
    await writer.start();
    const t = performance.now();
    await writer.apply(importChanges(o.customers), { actor: "bench" });
    console.log(
      `scaled out: imported ${o.customers} customers in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
    // The followers: one process each, as collect processes are.
    const t1 = performance.now();
    const children = Array.from({ length: o.followers }, () =>
      fork(new URL(import.meta.url).pathname, ["--follower", server.url], { stdio: "inherit" }),
    );
    const applied = children.map(() => new Map<number, { at: number; cpuMs: number }>());
    const cpuAt = children.map(() => 0);
    await Promise.all(
      children.map(
        (c, k) =>
          new Promise<void>((resolve, reject) => {
            c.on(
              "message",
              (m: { started?: true; version?: number; at?: number; cpuMs?: number }) => {
                if (m.started === true) resolve();
                else applied[k]!.set(m.version!, { at: m.at!, cpuMs: m.cpuMs! });
              },
            );
            c.once("exit", (code) => reject(new Error(`a follower exited (${code})`)));
          }),
      ),
    );
    console.log(
      `scaled out: ${o.followers} follower processes started (each reads the whole registry) in ${Math.round(performance.now() - t1)} ms`,
    );
    const live: number[] = [];
    const apply: number[] = [];
    const cpu: number[] = [];
    for (let k = 0; k < o.changes; k++) {
      const t0 = performance.now();
      const { version } = await writer.apply(moveChange(k, o.customers), { actor: "bench" });
      const committed = Date.now();
      apply.push(performance.now() - t0);
      while (!applied.every((m) => m.has(version))) await sleep(1);
      const last = applied.map((m) => m.get(version)!);
      live.push(Math.max(...last.map((x) => x.at)) - committed);
      // Each follower's CPU since the version before (its work for this one), the largest.
      cpu.push(Math.max(...last.map((x, j) => x.cpuMs - cpuAt[j]!)));
      last.forEach((x, j) => {
        cpuAt[j] = x.cpuMs;
      });
    }
    // The first change's CPU counts the start-up: dropped from the CPU figures.
    summary(
      `scaled out (${o.followers} follower processes, NOTIFY)`,
      {
        live,
        apply,
        cpu: cpu.slice(1),
      },
      "the busiest follower's CPU for the version",
    );
    for (const c of children) c.disconnect();
    await writer.stop();
  } finally {
    await server.close();
  }
}

async function startup(dir: string, registryPath: string, runs: number): Promise<void> {
  const configPath = join(dir, "run.yaml");
  writeFileSync(
    configPath,
    JSON.stringify({
      inputs: { netflow: [{ listen: "127.0.0.1:0" }] },
      api: { listen: "127.0.0.1:0", operatorTokens: ["bench-registry-live-token"] },
      store: { embedded: { path: join(dir, "ft.duckdb") } },
      decoder: { statePath: join(dir, "state.json") },
      registry: { source: "database", embedded: { path: registryPath } },
    }),
  );
  const seconds: number[] = [];
  for (let k = 0; k < runs; k++) {
    const t0 = performance.now();
    const child = spawn(process.execPath, [cli, "run", "-c", configPath, "--log-level", "info"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    let port: number | undefined;
    let failed = false;
    void exited.then(() => {
      failed = true;
    });
    while (port === undefined) {
      if (failed) throw new Error(`run exited: ${stderr}`);
      const line = stderr.split("\n").find((l) => l.includes('"query API listening"'));
      if (line !== undefined) port = (JSON.parse(line) as { port: number }).port;
      else await sleep(5);
    }
    while ((await healthz(port)) !== 200) {
      if (failed) throw new Error(`run exited: ${stderr}`);
      await sleep(5);
    }
    seconds.push((performance.now() - t0) / 1000);
    await sleep(1000);
    child.kill("SIGTERM");
    await exited;
  }
  console.log(
    `run start-up with the customers in the registry: ${seconds.map((s) => s.toFixed(2)).join(", ")} s (spawn → /healthz 200)`,
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `--follower URL`: one collect process's registry runtime on its own PostgreSQL store; tells
 * the parent (IPC) when it started and each version it applied, with the wall clock.
 */
async function follower(url: string): Promise<void> {
  const runtime = createRegistryRuntime(config({ postgres: { url } }), {
    log: silent,
    pollMs: 3_600_000,
  });
  await runtime.start();
  runtime.onApplied((a) => {
    const u = process.cpuUsage();
    process.send?.({ version: a.version, at: Date.now(), cpuMs: (u.user + u.system) / 1000 });
  });
  // As `collect` does (run-command.ts's swapIn): the start version's model, classifying at once.
  void runtime.current().model.prefixes;
  process.send?.({ started: true });
  process.on("disconnect", () => {
    void runtime.stop().then(() => process.exit(0));
  });
}

async function main(): Promise<void> {
  const o = options();
  const dir = await mkdtemp(join(tmpdir(), "ft-registry-live-"));
  try {
    if (!o.skip.has("one-box")) {
      const path = await oneBox(dir, o);
      if (!o.skip.has("startup")) await startup(dir, path, o.runs);
    }
    if (!o.skip.has("scaled-out")) await scaledOut(o);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const asFollower = options().follower;
if (asFollower !== undefined) await follower(asFollower);
else await main();
