/**
 * End-to-end benchmark: the same generated NetFlow v9 / IPFIX stream sent over loopback UDP to
 * pmacct's nfacctd (print plugin, aggregated by customer prefix) and to `flowtally run` side by
 * side in one run, each collector's stored per-customer totals compared with the generator's
 * ground truth, exactly.
 *
 *   npm run build && node dist/bench/end-to-end.js --records 5000000 --rate 1000000 --customers 1000 --version 10
 *   node dist/bench/end-to-end.js --rate 100000,300000,1000000 --collectors nfacctd
 *   node dist/bench/end-to-end.js --mode sequential     # one collector after the other
 *   node dist/bench/end-to-end.js --json --keep          # JSON too; keep the work directory
 *
 * For each rate: pre-generate the stream (records timed at that rate from now), start the
 * collectors on free 127.0.0.1 ports, send from a worker thread (`--mode parallel`: each datagram
 * to every collector in turn; `sequential`: the whole stream to one, then to the next), wait for
 * each to drain (socket queue empty, CPU idle for a second), read its CPU time, stop it (nfacctd:
 * SIGINT, the print plugin purges to CSV; flowtally: SIGTERM, it writes every open interval),
 * then read what it stored (nfacctd's CSV; `flowtally query overview --format json`).
 *
 * CPU seconds are user + system of the collector's process tree (nfacctd: core process and the
 * print plugin; flowtally: node and DuckDB's threads), from /proc while it runs: "drain CPU-s" is
 * what it used from the first datagram to drained, "total CPU-s" (GNU time) also counts start-up
 * and stop. records/CPU-s is records sent over drain CPU-s. Drops: the socket's drop counter
 * (/proc/net/udp) and the host's UDP RcvbufErrors over the run (both collectors in parallel mode).
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  createFlowGenerator,
  type DatagramPack,
  flowtallyConfigYaml,
  type GeneratedCustomer,
  generateDatagrams,
  networksFile,
} from "./flow-generator.js";
import { type Comparison, compare, flowtallyCli, flowtallyTotals } from "./flowtally-side.js";
import {
  type CollectorTotals,
  freeUdpPort,
  type MeasuredProcess,
  readSysctl,
  readUdpCounters,
  spawnMeasured,
  startNfacctd,
  totalsByCustomer,
  type UdpCounters,
  udpCountersDelta,
  udpSocketState,
  waitForUdpListener,
  waitUntilDrained,
} from "./nfacctd.js";
import { type SendReport, sendInWorker } from "./udp-sender.js";

/** flowtally-nowal: flowtally with `wal.enabled: false`, to measure the write-ahead log's cost. */
type CollectorName = "nfacctd" | "flowtally" | "flowtally-nowal";

interface Options {
  records: number;
  rates: number[];
  customers: number;
  version: 9 | 10;
  seed: number;
  collectors: CollectorName[];
  mode: "parallel" | "sequential";
  json: boolean;
  keep: boolean;
  drainTimeoutSeconds: number;
}

/** A started collector, uniform over nfacctd and flowtally. */
interface Receiver {
  name: CollectorName;
  port: number;
  cpuSeconds(): number;
  waitDrained(timeoutMs: number): Promise<number>;
  /** Stops it and reads what it stored. */
  finish(): Promise<Finished>;
}

interface Finished {
  totals: CollectorTotals;
  totalCpuSeconds: number | null;
  stopSeconds: number;
  exitCode: number | null;
  notes: string[];
}

interface Result {
  collector: CollectorName;
  version: 9 | 10;
  mode: "parallel" | "sequential";
  targetRate: number;
  send: SendReport;
  records: number;
  drainSeconds: number;
  drainCpuSeconds: number;
  totalCpuSeconds: number | null;
  stopSeconds: number;
  recordsPerCpuSecond: number;
  socketDrops: number;
  rcvbufErrors: number;
  comparison: Comparison;
  notes: string[];
}

// ---------------------------------------------------------------------------------------------

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      records: { type: "string", default: "1000000" },
      rate: { type: "string", default: "200000" },
      customers: { type: "string", default: "1000" },
      version: { type: "string", default: "10" },
      seed: { type: "string", default: "1" },
      collectors: { type: "string", default: "nfacctd,flowtally" },
      mode: { type: "string", default: "parallel" },
      json: { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
      "drain-timeout": { type: "string", default: "600" },
    },
  });
  const version = Number(values.version);
  if (version !== 9 && version !== 10) throw new Error("--version must be 9 or 10");
  const collectors = values.collectors.split(",").map((c) => c.trim());
  for (const c of collectors)
    if (c !== "nfacctd" && c !== "flowtally" && c !== "flowtally-nowal") {
      throw new Error(`unknown collector ${c}`);
    }
  if (values.mode !== "parallel" && values.mode !== "sequential")
    throw new Error("--mode must be parallel or sequential");
  const rates = values.rate.split(",").map(Number);
  if (rates.some((r) => !(r >= 0))) throw new Error("--rate: records/s, 0 for unpaced");
  return {
    records: Number(values.records),
    rates,
    customers: Number(values.customers),
    version,
    seed: Number(values.seed),
    collectors: collectors as CollectorName[],
    mode: values.mode,
    json: values.json,
    keep: values.keep,
    drainTimeoutSeconds: Number(values["drain-timeout"]),
  };
}

// ---------------------------------------------------------------------------------------------
// Collectors.

async function startNfacctdReceiver(
  workDir: string,
  customers: readonly GeneratedCustomer[],
): Promise<Receiver> {
  const nf = await startNfacctd({ workDir, networks: networksFile(customers) });
  return {
    name: "nfacctd",
    port: nf.port,
    cpuSeconds: () => nf.cpu().seconds,
    waitDrained: (timeoutMs) => waitUntilDrained(nf.pid, nf.port, { timeoutMs }),
    async finish() {
      const r = await nf.stop();
      const notes = r.warnings.slice(0, 5);
      // Core process (decodes) and print plugin (aggregates): where nfacctd's CPU goes.
      const byProcess = r.cpu.processes
        .filter((p) => p.comm !== "time")
        .map((p) => `${p.pid} ${p.seconds.toFixed(2)} s`);
      notes.push(`CPU by process at drain (core first): ${byProcess.join(", ")}`);
      if (r.exitCode !== 0) notes.push(`exit code ${r.exitCode}`);
      return {
        totals: totalsByCustomer(r.rows, customers),
        totalCpuSeconds: r.totalCpuSeconds,
        stopSeconds: r.stopSeconds,
        exitCode: r.exitCode,
        notes,
      };
    },
  };
}

async function startFlowtallyReceiver(
  workDir: string,
  customers: readonly GeneratedCustomer[],
  fromMs: number,
  name: "flowtally" | "flowtally-nowal" = "flowtally",
): Promise<Receiver> {
  const port = await freeUdpPort();
  const configPath = join(workDir, `${name}.yaml`);
  const rmemMax = readSysctl("net.core.rmem_max");
  await writeFile(
    configPath,
    flowtallyConfigYaml(customers, {
      listen: `127.0.0.1:${port}`,
      storePath: join(workDir, `${name}.duckdb`),
      statePath: "",
      apiListen: `127.0.0.1:${await freeTcpPort()}`,
      ...(rmemMax === undefined ? {} : { receiveBuffer: rmemMax }),
      wal: name === "flowtally",
    }),
  );
  const cli = flowtallyCli();
  const proc: MeasuredProcess = await spawnMeasured(
    process.execPath,
    [cli, "run", "--config", configPath, "--log-level", "warn"],
    { workDir, name },
  );
  try {
    await waitForUdpListener(port, () => proc.exited(), 60_000);
  } catch (err) {
    await proc.stop("SIGKILL");
    throw new Error(`flowtally run did not start: ${(err as Error).message}\n${proc.log()}`);
  }
  return {
    name,
    port,
    cpuSeconds: () => proc.cpu().seconds,
    waitDrained: (timeoutMs) =>
      // node's timers and the 1 s hand-over tick use a little CPU even when idle.
      waitUntilDrained(proc.rootPid, port, { timeoutMs, idleCpuSeconds: 0.05 }),
    async finish() {
      const end = await proc.stop("SIGTERM");
      const notes: string[] = [];
      if (end.exitCode !== 0) notes.push(`exit code ${end.exitCode}: ${proc.log().slice(-500)}`);
      for (const line of proc.log().split("\n")) {
        if (line.startsWith("received ") || line.startsWith("write-ahead log:")) notes.push(line);
      }
      const totals = await queryFlowtally(configPath, customers, fromMs, Date.now() + 3_600_000);
      return {
        totals,
        totalCpuSeconds: end.totalCpuSeconds,
        stopSeconds: end.stopSeconds,
        exitCode: end.exitCode,
        notes,
      };
    },
  };
}

async function freeTcpPort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** `flowtally query overview` over the run (whole hours around it), as per-customer totals. */
function queryFlowtally(
  configPath: string,
  customers: readonly GeneratedCustomer[],
  fromMs: number,
  toMs: number,
): Promise<CollectorTotals> {
  const hour = 3_600_000;
  const from = new Date(Math.floor(fromMs / hour) * hour - hour).toISOString();
  const to = new Date(Math.ceil(toMs / hour) * hour).toISOString();
  return flowtallyTotals(configPath, customers, from, to);
}

// ---------------------------------------------------------------------------------------------
// One run: one rate, every collector.

async function runOnce(o: Options, rate: number): Promise<Result[]> {
  const workDir = await mkdtemp(join(tmpdir(), "flowtally-e2e-"));
  const log = (m: string) => process.stderr.write(`[${new Date().toISOString()}] ${m}\n`);
  const receivers: Receiver[] = [];
  try {
    // Records are timed from a little ahead of now, at the target rate (or 1 M/s unpaced), so that
    // flowtally sees them as current, not late.
    const startMs = Date.now() + 5000;
    const gen = createFlowGenerator({
      seed: o.seed,
      customers: o.customers,
      version: o.version,
      startMs,
      recordsPerSecond: rate > 0 ? rate : 1_000_000,
    });
    const t0 = performance.now();
    const pack: DatagramPack = generateDatagrams(gen, o.records);
    const truth = gen.truth();
    log(
      `generated ${pack.records} records in ${pack.datagrams} datagrams (${(pack.bytes.byteLength / 2 ** 20).toFixed(0)} MiB) ` +
        `in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${truth.attributedRecords} attributed`,
    );

    for (const name of o.collectors) {
      if (name === "nfacctd") receivers.push(await startNfacctdReceiver(workDir, gen.customers));
      else {
        if (!existsSync(flowtallyCli())) throw new Error(`${flowtallyCli()} not built`);
        receivers.push(
          await startFlowtallyReceiver(workDir, gen.customers, startMs - 60_000, name),
        );
      }
      log(`${name} listening on 127.0.0.1:${receivers.at(-1)!.port}`);
    }

    const results: Result[] = [];
    const groups = o.mode === "parallel" ? [[...receivers]] : receivers.map((r) => [r]);
    for (const group of groups) {
      const snmpBefore: UdpCounters = readUdpCounters();
      const cpuBefore = group.map((r) => r.cpuSeconds());
      const dropsBefore = group.map((r) => udpSocketState(r.port).drops);
      log(`sending to ${group.map((r) => r.name).join(" + ")} at ${rate || "max"} records/s`);
      const send = await sendInWorker({
        pack,
        ports: group.map((r) => r.port),
        recordsPerSecond: rate,
      });
      log(
        `sent ${send.records} records × ${send.copies} in ${send.seconds.toFixed(2)} s: ` +
          `${Math.round(send.recordsPerSecond)} records/s, ${send.errors} send errors`,
      );
      const drain = await Promise.all(
        group.map((r) => r.waitDrained(o.drainTimeoutSeconds * 1000)),
      );
      const cpuAfter = group.map((r) => r.cpuSeconds());
      const dropsAfter = group.map((r) => udpSocketState(r.port).drops);
      const snmp = udpCountersDelta(snmpBefore, readUdpCounters());
      for (const [k, r] of group.entries()) {
        receivers.splice(receivers.indexOf(r), 1);
        const finished = await r.finish();
        const drainCpu = cpuAfter[k]! - cpuBefore[k]!;
        results.push({
          collector: r.name,
          version: o.version,
          mode: o.mode,
          targetRate: rate,
          send,
          records: pack.records,
          drainSeconds: send.seconds + drain[k]! / 1000,
          drainCpuSeconds: drainCpu,
          totalCpuSeconds: finished.totalCpuSeconds,
          stopSeconds: finished.stopSeconds,
          recordsPerCpuSecond: pack.records / drainCpu,
          socketDrops: dropsAfter[k]! - dropsBefore[k]!,
          rcvbufErrors: snmp.rcvbufErrors,
          comparison: compare(truth, finished.totals),
          notes: finished.notes,
        });
        log(`${r.name} stopped in ${finished.stopSeconds.toFixed(1)} s`);
      }
    }
    return results;
  } finally {
    for (const r of receivers) await r.finish().catch(() => undefined);
    if (o.keep) log(`work directory kept: ${workDir}`);
    else await rm(workDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

function pct(x: number): string {
  return `${(x * 100).toFixed(x === 0 ? 0 : 3)} %`;
}

function k(x: number): string {
  return x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : `${(x / 1e3).toFixed(0)} k`;
}

function table(results: readonly Result[]): string {
  const rows = [
    "| collector | version | mode | target rec/s | sent rec/s | records | drain CPU-s | total CPU-s | records/CPU-s | bytes loss | packets loss | flows loss | customers exact | socket drops | RcvbufErrors |",
    "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of results) {
    const c = r.comparison;
    rows.push(
      `| ${r.collector} | ${r.version === 10 ? "IPFIX" : "v9"} | ${r.mode} | ` +
        `${r.targetRate === 0 ? "max" : k(r.targetRate)} | ${k(r.send.recordsPerSecond)} | ` +
        `${k(r.records)} | ${r.drainCpuSeconds.toFixed(2)} | ${r.totalCpuSeconds?.toFixed(2) ?? "?"} | ` +
        `${k(r.recordsPerCpuSecond)} | ${pct(c.bytesLoss)} | ${pct(c.packetsLoss)} | ` +
        `${pct(c.flowsLoss)} | ${c.exactCustomers}/${c.customers} | ${r.socketDrops} | ${r.rcvbufErrors} |`,
    );
  }
  return rows.join("\n");
}

function machine(): string {
  const model = cpus()[0]?.model ?? "unknown CPU";
  return `node ${process.version}, ${cpus().length} × ${model}, net.core.rmem_max ${readSysctl("net.core.rmem_max") ?? "?"}`;
}

async function main(): Promise<number> {
  const o = parseOptions();
  process.stderr.write(`${machine()}\n`);
  const results: Result[] = [];
  for (const rate of o.rates) results.push(...(await runOnce(o, rate)));
  if (o.json) process.stdout.write(`${JSON.stringify({ machine: machine(), results }, null, 2)}\n`);
  process.stdout.write(`\n${machine()}\n\n${table(results)}\n`);
  const notes = results.flatMap((r) =>
    r.notes.map((n) => `${r.collector} @ ${r.targetRate}: ${n}`),
  );
  if (notes.length > 0) process.stdout.write(`\n${notes.join("\n")}\n`);
  return 0;
}

process.exitCode = await main();
