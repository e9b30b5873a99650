/**
 * Test support for the scaled-out setup: generated exports with known totals, sent over UDP on
 * loopback, and the check of stored per-customer totals against the generators' ground truth.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { join } from "node:path";
import { expect } from "vitest";
import type { DatagramPack, GroundTruth } from "../../bench/flow-generator.js";
import type { Config } from "../../schema/config.js";
import type { SeriesStore } from "../../schema/series-store.js";
import { combineTruths } from "./customer-totals.js";

/**
 * The config of collector `id` of several in one test: its own spool and write-ahead log in
 * `dir` (two collectors on one file refuse, FT_DATA_LOCKED).
 */
export function collectorConfig(cfg: Config, dir: string, id: string): Config {
  return {
    ...cfg,
    collector: { ...cfg.collector, id, spoolPath: join(dir, `${id}-spool.json`) },
    wal: { ...cfg.wal, path: join(dir, `${id}-wal`) },
  };
}

/** Sends datagrams [from, to) of a pack to 127.0.0.1:port, pausing every 64 datagrams. */
export async function sendPack(
  pack: DatagramPack,
  port: number,
  from = 0,
  to = pack.datagrams,
): Promise<void> {
  const socket = createSocket("udp4");
  try {
    for (let k = from; k < to; k++) {
      const datagram = pack.bytes.subarray(pack.offsets[k], pack.offsets[k + 1]);
      await new Promise<void>((resolve, reject) =>
        socket.send(datagram, port, "127.0.0.1", (e) => (e ? reject(e) : resolve())),
      );
      if (k % 64 === 63) await new Promise((r) => setTimeout(r, 1));
    }
  } finally {
    socket.close();
  }
}

/** The datagram index where the records sent reach `fraction` of the pack's. */
export function splitPoint(pack: DatagramPack, fraction: number): number {
  let records = 0;
  for (let k = 0; k < pack.datagrams; k++) {
    records += pack.recordCounts[k] ?? 0;
    if (records >= fraction * pack.records) return k + 1;
  }
  return pack.datagrams;
}

/**
 * Every customer's stored totals (all time) equal the generators' ground truth, exactly. Starts
 * the store given and stops it.
 */
export async function expectStoredTotals(
  store: SeriesStore,
  truths: readonly GroundTruth[],
): Promise<void> {
  await store.start();
  try {
    const rows = await store.overview({ fromMs: 0, toMs: Date.UTC(2100, 0, 1) });
    const got = new Map(rows.map(({ customer, ...r }) => [customer, r]));
    const want = combineTruths(truths);
    const unattributed = truths.reduce(
      (a, t) => ({ bytes: a.bytes + t.unattributed.bytes, flows: a.flows + t.unattributed.flows }),
      { bytes: 0, flows: 0 },
    );
    const un = got.get("unattributed");
    got.delete("unattributed");
    expect(got).toEqual(want);
    expect({ bytes: un?.bytesIn ?? 0, flows: un?.flows ?? 0 }).toEqual(unattributed);
  } finally {
    await store.stop();
  }
}

/** Polls `done` every 50 ms until it holds, or fails after `ms` with `what`. */
export async function eventually(
  what: string,
  done: () => boolean | Promise<boolean>,
  ms = 20_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface FlowtallyProcess {
  readonly child: ChildProcess;
  /** What it printed so far (stdout and stderr). */
  output(): string;
  /** GET an API path with the test token, as JSON. */
  get<T>(path: string): Promise<T>;
  /** GET /healthz (no token): the status code and the dependencies said to be down. */
  healthz(): Promise<{ status: number; down: string[] }>;
  /** SIGTERM and the exit code. */
  stop(): Promise<number | null>;
  kill(): Promise<void>;
}

const root = new URL("../../", import.meta.url).pathname;

/**
 * Runs the built CLI (`dist/`, made by `npm run build`) with `args` (and `env` added to ours); its
 * API on `apiPort`.
 */
export async function spawnFlowtally(
  args: string[],
  apiPort: number,
  token: string,
  env: Readonly<Record<string, string>> = {},
): Promise<FlowtallyProcess> {
  const child = spawn(process.execPath, [join(root, "dist/cli/flowtally.js"), ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let printed = "";
  const keep = (b: Buffer) => {
    printed = (printed + b.toString()).slice(-200_000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`http://127.0.0.1:${apiPort}${path}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  try {
    await eventually(
      `flowtally ${args[0]} to serve its API:\n${printed}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`flowtally ${args[0]} exited:\n${printed}`);
        return get("/api/v1/status").then(
          () => true,
          () => false,
        );
      },
      20_000,
    );
  } catch (e) {
    // A process that never served is not left running after the test.
    child.kill("SIGKILL");
    throw e;
  }
  return {
    child,
    output: () => printed,
    get,
    async healthz() {
      const res = await fetch(`http://127.0.0.1:${apiPort}/healthz`);
      const body = (await res.json()) as { down?: string[] };
      return { status: res.status, down: body.down ?? [] };
    },
    async stop() {
      child.kill("SIGTERM");
      return exited;
    },
    async kill() {
      child.kill("SIGKILL");
      await exited;
    },
  };
}
