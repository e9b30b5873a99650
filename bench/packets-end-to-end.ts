/**
 * Packet path end to end: one capture file through `flowtally replay` (capture-file reading →
 * packet parser → flow table → classification → partial sums → rollup → embedded store) and
 * through pmacct's `pmacctd` (`pcap_savefile`, one print plugin aggregating by customer prefix:
 * `networks_file` + `aggregate: src_net, dst_net`), side by side in one run, each one's
 * per-customer totals compared with the generator's ground truth, exactly.
 *
 *   npm run build && node dist/bench/packets-end-to-end.js                   # 10 M packets, 50 k flows open
 *   node dist/bench/packets-end-to-end.js --packets 20000000 --flows 1000000 --max-flows 1048576
 *   node dist/bench/packets-end-to-end.js --runs 3 --collectors flowtally --cpu-prof
 *   node dist/bench/packets-end-to-end.js --file /tmp/x.pcap --customers 1000  # an existing capture
 *
 * The capture (bench/packet-capture-generator.ts) is written once, streaming, to
 * `--dir` (default /tmp/flowtally-bench-packets) under a name made of its parameters, with its
 * ground truth beside it (`.truth.json`), and reused by later runs. It is never committed.
 * `--file` benches another capture: its truth is `FILE.truth.json` when present; otherwise
 * flowtally's and pmacctd's totals are compared with each other.
 *
 * Measured per run, from outside the process: CPU seconds (user + system of the process and the
 * children it waited for, GNU time; also read from /proc/<pid>/stat while it runs, per process),
 * wall seconds from spawn to exit, and peak RSS (VmHWM of /proc/<pid>/status, polled every 50 ms,
 * summed over pmacctd's core and plugin processes). pmacctd sleeps 2 s before reading a savefile:
 * its wall time is shown without those 2 s; CPU time does not include sleep. flowtally's fixed
 * cost (node start, config, DuckDB open and close) is measured by replaying a 1000-packet capture
 * and shown subtracted as "net". Each collector runs `--runs` times, alternating which goes first;
 * the table has every run, the summary the best and the spread.
 *
 * `--cpu-prof`: one more flowtally run under `node --cpu-prof`, summarised as self time per
 * function and per stage (main thread only; V8 attributes inlined functions to their caller).
 *
 * `--collectors` may add `flowtally-path`: bench/packet-path.ts as its own process, the same
 * code as the replay up to the partial sums (capture reading, packet parser, flow table, TCP
 * timing, classification, aggregation into per-interval sums) without the rollup and the store,
 * i.e. what pmacctd's print plugin does; its per-customer totals are checked like the others.
 * Its fixed cost (node start, config, flow table allocation) is measured the same way.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statfsSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import {
  flowtallyConfigYaml,
  type GeneratedCustomer,
  networksFile,
  type TrafficTotals,
} from "./flow-generator.js";
import { flowtallyCli, flowtallyTotals } from "./flowtally-side.js";
import {
  type CollectorTotals,
  parsePrintCsv,
  processTreeCpu,
  spawnMeasured,
  totalsByCustomer,
} from "./nfacctd.js";
import {
  type CaptureTruth,
  generateCapture,
  planCustomers,
  truthFromJson,
  truthToJson,
} from "./packet-capture-generator.js";

const MIB = 1024 * 1024;
/** The NetFlow port of the flowtally config: below 1024 and no server port of the capture, so
 * that no packet of the capture is taken for an export. */
const EXPORT_PORT = 999;
const PMACCTD_SLEEP_SECONDS = 2;

const COLLECTORS = ["flowtally", "flowtally-path", "pmacctd"] as const;
type CollectorName = (typeof COLLECTORS)[number];

interface Options {
  packets: number;
  customers: number;
  flows: number;
  pps: number;
  seed: number;
  snaplen: number;
  file: string | undefined;
  dir: string;
  maxFlows: number | undefined;
  runs: number;
  collectors: CollectorName[];
  cpuProf: boolean;
  json: boolean;
  keep: boolean;
  pmacctdPipeBytes: number;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      packets: { type: "string", default: "10000000" },
      customers: { type: "string", default: "1000" },
      flows: { type: "string", default: "50000" },
      pps: { type: "string", default: "1000000" },
      seed: { type: "string", default: "1" },
      snaplen: { type: "string", default: "128" },
      file: { type: "string" },
      dir: { type: "string", default: join(tmpdir(), "flowtally-bench-packets") },
      "max-flows": { type: "string" },
      runs: { type: "string", default: "2" },
      collectors: { type: "string", default: "flowtally,pmacctd" },
      "cpu-prof": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
      "pmacctd-pipe": { type: "string", default: String(256 * MIB) },
      "summarise-profile": { type: "string" },
    },
  });
  if (values["summarise-profile"] !== undefined) {
    process.stdout.write(
      `${profileTables(summariseProfile(values["summarise-profile"])).join("\n")}\n`,
    );
    process.exit(0);
  }
  const collectors = values.collectors.split(",").map((c) => c.trim());
  for (const c of collectors)
    if (!(COLLECTORS as readonly string[]).includes(c))
      throw new Error(`unknown collector ${c}: expected ${COLLECTORS.join(", ")}`);
  return {
    packets: Number(values.packets),
    customers: Number(values.customers),
    flows: Number(values.flows),
    pps: Number(values.pps),
    seed: Number(values.seed),
    snaplen: Number(values.snaplen),
    file: values.file,
    dir: values.dir,
    maxFlows: values["max-flows"] === undefined ? undefined : Number(values["max-flows"]),
    runs: Number(values.runs),
    collectors: collectors as CollectorName[],
    cpuProf: values["cpu-prof"],
    json: values.json,
    keep: values.keep,
    pmacctdPipeBytes: Number(values["pmacctd-pipe"]),
  };
}

const log = (m: string) => process.stderr.write(`[${new Date().toISOString()}] ${m}\n`);

// ---------------------------------------------------------------------------------------------
// The capture file.

interface Capture {
  path: string;
  truth: CaptureTruth | undefined;
  fileBytes: number;
}

/** 2026-01-01T00:00:00Z: fixed, so that the same options give the same file. */
const START_MS = Date.UTC(2026, 0, 1);

function writeCaptureFile(path: string, o: Parameters<typeof generateCapture>[0]): CaptureTruth {
  const partial = `${path}.partial`;
  const fd = openSync(partial, "w");
  let truth: CaptureTruth;
  try {
    truth = generateCapture(o, (chunk) => {
      let done = 0;
      while (done < chunk.byteLength) done += writeSync(fd, chunk, done);
    });
  } finally {
    closeSync(fd);
  }
  renameSync(partial, path);
  writeFileSync(`${path}.truth.json`, truthToJson(truth));
  return truth;
}

function ensureCapture(o: Options): Capture {
  if (o.file !== undefined) {
    const truthPath = `${o.file}.truth.json`;
    return {
      path: o.file,
      truth: existsSync(truthPath) ? truthFromJson(readFileSync(truthPath, "utf8")) : undefined,
      fileBytes: statSync(o.file).size,
    };
  }
  mkdirSync(o.dir, { recursive: true });
  const name = `packets-s${o.seed}-c${o.customers}-p${o.packets}-f${o.flows}-r${o.pps}-l${o.snaplen}.pcap`;
  const path = join(o.dir, name);
  if (existsSync(path) && existsSync(`${path}.truth.json`)) {
    log(`reusing ${path}`);
    return {
      path,
      truth: truthFromJson(readFileSync(`${path}.truth.json`, "utf8")),
      fileBytes: statSync(path).size,
    };
  }
  const worst = 24 + o.packets * (16 + o.snaplen);
  const fs = statfsSync(o.dir);
  const free = fs.bavail * fs.bsize;
  if (worst > 0.8 * free)
    throw new Error(
      `${path} may need ${(worst / 2 ** 30).toFixed(1)} GiB; ${(free / 2 ** 30).toFixed(1)} GiB free`,
    );
  log(`writing ${path} (at most ${(worst / 2 ** 30).toFixed(2)} GiB)`);
  const t0 = performance.now();
  const truth = writeCaptureFile(path, {
    seed: o.seed,
    customers: o.customers,
    packets: o.packets,
    concurrentFlows: o.flows,
    packetsPerSecond: o.pps,
    startMs: START_MS,
    snaplen: o.snaplen,
  });
  log(
    `wrote ${truth.packets} packets, ${(truth.fileBytes / 2 ** 30).toFixed(2)} GiB in ` +
      `${((performance.now() - t0) / 1000).toFixed(1)} s: flows ${JSON.stringify(truth.flows)}, ` +
      `peak open ${truth.peakOpenFlows}, peak table ${truth.peakTableFlows}`,
  );
  return { path, truth, fileBytes: truth.fileBytes };
}

/** A 1000-packet capture of the same plan: the collectors' fixed cost. */
function ensureTinyCapture(o: Options): string {
  mkdirSync(o.dir, { recursive: true });
  const path = join(o.dir, `packets-tiny-c${o.customers}.pcap`);
  if (!existsSync(path))
    writeCaptureFile(path, {
      seed: o.seed,
      customers: o.customers,
      packets: 1000,
      concurrentFlows: 100,
      packetsPerSecond: o.pps,
      startMs: START_MS,
      snaplen: o.snaplen,
    });
  return path;
}

// ---------------------------------------------------------------------------------------------
// Running a collector to its exit.

interface Measured {
  exitCode: number | null;
  /** GNU time: user + system of the process and the children it waited for. */
  cpuSeconds: number;
  /** Last /proc reading before the exit, per process (pid, comm, seconds). */
  cpuByProcess: Array<{ comm: string; seconds: number }>;
  wallSeconds: number;
  /** Sum of VmHWM over the process tree (without the time wrapper), at its largest. */
  peakRssBytes: number;
  /**
   * Largest sum of Pss (smaps_rollup) over the tree: shared memory (pmacct's core → plugin
   * queue) counted once, not once per process as in the VmHWM sum.
   */
  peakPssBytes: number;
  log: string;
}

function pss(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
    return m === null ? 0 : Number(m[1]) * 1024;
  } catch {
    return 0;
  }
}

function vmHwm(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m === null ? 0 : Number(m[1]) * 1024;
  } catch {
    return 0;
  }
}

async function runToExit(
  command: string,
  args: readonly string[],
  workDir: string,
  name: string,
  timeoutMs = 1_800_000,
): Promise<Measured> {
  const t0 = performance.now();
  const proc = await spawnMeasured(command, args, { workDir, name });
  const hwm = new Map<number, number>();
  const cpuOf = new Map<number, { comm: string; seconds: number }>();
  let last = processTreeCpu(proc.rootPid);
  let peak = 0;
  let peakPss = 0;
  let polls = 0;
  while (!proc.exited()) {
    const cpu = processTreeCpu(proc.rootPid);
    if (cpu.processes.length > 0) last = cpu;
    for (const p of cpu.processes) cpuOf.set(p.pid, { comm: p.comm, seconds: p.seconds });
    let sum = 0;
    let pssSum = 0;
    // Pss walks the page tables: every 4th poll (200 ms).
    const readPss = polls++ % 4 === 0;
    for (const p of cpu.processes) {
      if (p.pid === proc.rootPid && p.comm === "time") continue;
      const h = Math.max(hwm.get(p.pid) ?? 0, vmHwm(p.pid));
      hwm.set(p.pid, h);
      if (readPss) pssSum += pss(p.pid);
    }
    if (pssSum > peakPss) peakPss = pssSum;
    for (const h of hwm.values()) sum += h;
    if (sum > peak) peak = sum;
    if (performance.now() - t0 > timeoutMs) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const end = await proc.stop("SIGTERM");
  const wallSeconds = (performance.now() - t0) / 1000;
  const fromProc = last.seconds;
  return {
    exitCode: end.exitCode,
    cpuSeconds: Math.max(end.totalCpuSeconds ?? 0, fromProc),
    // Each process's last reading: a plugin that exited before its parent keeps its own.
    cpuByProcess: [...cpuOf.values()].filter((p) => p.comm !== "time"),
    wallSeconds,
    peakRssBytes: peak,
    peakPssBytes: peakPss,
    log: proc.log(),
  };
}

// ---------------------------------------------------------------------------------------------
// flowtally.

function writeFlowtallyConfig(
  workDir: string,
  customers: readonly GeneratedCustomer[],
  maxFlows: number | undefined,
): string {
  const configPath = join(workDir, "flowtally.yaml");
  let yaml = flowtallyConfigYaml(customers, {
    listen: `127.0.0.1:${EXPORT_PORT}`,
    storePath: join(workDir, "flowtally.duckdb"),
    statePath: "",
  });
  if (maxFlows !== undefined) yaml += `flowTable:\n  maxFlows: ${maxFlows}\n`;
  writeFileSync(configPath, yaml);
  return configPath;
}

interface RunResult {
  collector: CollectorName;
  run: number;
  measured: Measured;
  totals: CollectorTotals;
  /** flowtally: the replay summary line. */
  summary: string;
  /** flowtally: numbers of the summary line. */
  packetsSeen: number | undefined;
  flowRecords: number | undefined;
  notes: string[];
}

async function runFlowtally(
  o: Options,
  file: string,
  customers: readonly GeneratedCustomer[],
  run: number,
  nodeArgs: readonly string[] = [],
): Promise<RunResult & { workDir: string }> {
  const workDir = await mkdtemp(join(tmpdir(), "flowtally-pkt-"));
  const configPath = writeFlowtallyConfig(workDir, customers, o.maxFlows);
  const m = await runToExit(
    process.execPath,
    [...nodeArgs, flowtallyCli(), "replay", "--config", configPath, "--no-progress", file],
    workDir,
    "flowtally",
  );
  const summary = m.log.split("\n").find((l) => l.startsWith("replayed ")) ?? "";
  const notes: string[] = [];
  if (m.exitCode !== 0) notes.push(`exit code ${m.exitCode}: ${m.log.slice(-800)}`);
  const totals = await flowtallyTotals(
    configPath,
    customers,
    "2000-01-01T00:00:00Z",
    "2100-01-01T00:00:00Z",
  );
  return {
    collector: "flowtally",
    run,
    measured: m,
    totals,
    summary,
    packetsSeen: numberIn(summary, /(\d+) other packets/),
    flowRecords: numberIn(summary, /\((\d+) flow records/),
    notes,
    workDir,
  };
}

/** The number the first group of `re` finds in a summary line. */
function numberIn(summary: string, re: RegExp): number | undefined {
  const x = re.exec(summary);
  return x === null ? undefined : Number(x[1]);
}

function runCollector(
  c: CollectorName,
  o: Options,
  file: string,
  customers: readonly GeneratedCustomer[],
  run: number,
): Promise<RunResult & { workDir: string }> {
  switch (c) {
    case "flowtally":
      return runFlowtally(o, file, customers, run);
    case "flowtally-path":
      return runFlowtallyPath(o, file, customers, run);
    default:
      return runPmacctd(o, file, customers, run);
  }
}

/** bench/packet-path.js: the replay's code up to the partial sums, without rollup and store. */
async function runFlowtallyPath(
  o: Options,
  file: string,
  customers: readonly GeneratedCustomer[],
  run: number,
): Promise<RunResult & { workDir: string }> {
  const workDir = await mkdtemp(join(tmpdir(), "flowtally-path-"));
  const configPath = writeFlowtallyConfig(workDir, customers, o.maxFlows);
  const totalsPath = join(workDir, "totals.json");
  const m = await runToExit(
    process.execPath,
    [packetPathScript(), "--config", configPath, "--totals", totalsPath, file],
    workDir,
    "flowtally-path",
  );
  const summary = m.log.split("\n").find((l) => l.includes(" frames in ")) ?? "";
  const notes: string[] = [];
  if (m.exitCode !== 0) notes.push(`exit code ${m.exitCode}: ${m.log.slice(-800)}`);
  const totals: CollectorTotals = {
    customers: new Map(),
    unattributed: { bytes: 0, packets: 0, flows: 0 },
    unknownNetworks: [],
  };
  if (existsSync(totalsPath)) {
    const json = JSON.parse(readFileSync(totalsPath, "utf8")) as {
      customers: Record<string, Omit<TrafficTotals, "flows">>;
      unattributed: { bytes: number; packets: number };
    };
    for (const c of customers) {
      const t = json.customers[c.id];
      totals.customers.set(c.id, {
        bytesIn: 0,
        bytesOut: 0,
        packetsIn: 0,
        packetsOut: 0,
        flows: 0,
        ...t,
      });
    }
    totals.unattributed = { ...json.unattributed, flows: 0 };
  }
  return {
    collector: "flowtally-path",
    run,
    measured: m,
    totals,
    summary,
    packetsSeen: numberIn(summary, /^(\d+) frames/),
    flowRecords: numberIn(summary, /; (\d+) flow records/),
    notes,
    workDir,
  };
}

function packetPathScript(): string {
  return join(import.meta.dirname, "packet-path.js");
}

// ---------------------------------------------------------------------------------------------
// pmacctd.

function pmacctdConfig(o: {
  file: string;
  networksPath: string;
  outputPath: string;
  pipeBytes: number;
}): string {
  return `${[
    "daemonize: false",
    `pcap_savefile: ${o.file}`,
    // IPv4 addresses in no listed network come out as 0.0.0.0; IPv6 ones as their /48 (see
    // bench/nfacctd.ts): totalsByCustomer takes any non-customer network as remote.
    "pmacctd_net: file",
    `networks_file: ${o.networksPath}`,
    "plugins: print[p]",
    "aggregate[p]: src_net, dst_net",
    "print_output[p]: csv",
    `print_output_file[p]: ${o.outputPath}`,
    // Written once, at the end of the file.
    "print_refresh_time[p]: 86400",
    "print_cache_entries[p]: 65537",
    `plugin_pipe_size[p]: ${o.pipeBytes}`,
    `plugin_buffer_size[p]: ${Math.max(8192, Math.floor(o.pipeBytes / 1000))}`,
  ].join("\n")}\n`;
}

async function runPmacctd(
  o: Options,
  file: string,
  customers: readonly GeneratedCustomer[],
  run: number,
): Promise<RunResult & { workDir: string }> {
  const workDir = await mkdtemp(join(tmpdir(), "pmacctd-pkt-"));
  const networksPath = join(workDir, "networks.txt");
  const outputPath = join(workDir, "pmacctd-out.csv");
  const configPath = join(workDir, "pmacctd.conf");
  writeFileSync(networksPath, networksFile(customers));
  writeFileSync(
    configPath,
    pmacctdConfig({ file, networksPath, outputPath, pipeBytes: o.pmacctdPipeBytes }),
  );
  const m = await runToExit("pmacctd", ["-f", configPath], workDir, "pmacctd");
  m.wallSeconds -= PMACCTD_SLEEP_SECONDS;
  let csv = "";
  try {
    csv = readFileSync(outputPath, "utf8");
  } catch {
    // nothing aggregated
  }
  const notes = m.log
    .split("\n")
    .filter((l) => /^(WARN|ERROR)\b|missing data|dropped/i.test(l))
    .slice(0, 5);
  if (m.exitCode !== 0) notes.push(`exit code ${m.exitCode}`);
  notes.push(
    `CPU by process at the last /proc reading: ${m.cpuByProcess.map((p) => `${p.comm} ${p.seconds.toFixed(2)} s`).join(", ")}`,
  );
  return {
    collector: "pmacctd",
    run,
    measured: m,
    totals: totalsByCustomer(parsePrintCsv(csv), customers),
    summary: "",
    packetsSeen: undefined,
    flowRecords: undefined,
    notes,
    workDir,
  };
}

// ---------------------------------------------------------------------------------------------
// Comparison.

interface Comparison {
  exactCustomers: number;
  customers: number;
  /** Share of the reference's customer bytes / packets that is missing (negative: extra). */
  bytesLoss: number;
  packetsLoss: number;
  unattributedBytesLoss: number;
}

function compare(
  want: Map<string, TrafficTotals>,
  wantUnattributedBytes: number,
  got: CollectorTotals,
): Comparison {
  const zero: TrafficTotals = { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0, flows: 0 };
  let exact = 0;
  let wb = 0;
  let wp = 0;
  let gb = 0;
  let gp = 0;
  for (const [id, w] of want) {
    const g = got.customers.get(id) ?? zero;
    wb += w.bytesIn + w.bytesOut;
    wp += w.packetsIn + w.packetsOut;
    gb += g.bytesIn + g.bytesOut;
    gp += g.packetsIn + g.packetsOut;
    if (
      g.bytesIn === w.bytesIn &&
      g.bytesOut === w.bytesOut &&
      g.packetsIn === w.packetsIn &&
      g.packetsOut === w.packetsOut
    )
      exact++;
  }
  const loss = (w: number, g: number) => (w === 0 ? 0 : (w - g) / w);
  return {
    exactCustomers: exact,
    customers: want.size,
    bytesLoss: loss(wb, gb),
    packetsLoss: loss(wp, gp),
    unattributedBytesLoss: loss(wantUnattributedBytes, got.unattributed.bytes),
  };
}

// ---------------------------------------------------------------------------------------------
// CPU profile summary.

interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }>;
  samples: number[];
  timeDeltas: number[];
}

/** The pipeline stage a source file belongs to. */
function stageOf(url: string, fn: string): string {
  if (url === "") return fn.startsWith("(") ? fn : "(native / builtins)";
  const rules: Array<[RegExp, string]> = [
    [/collector\/capture\/capture-file/, "capture-file parsing (pcap records)"],
    [/collector\/capture\/udp-datagram/, "export check (extractUdp)"],
    [/cli\/replay-command/, "replay loop"],
    [/cli\/progress/, "progress"],
    [/collector\/packet\/packet-parser/, "packet parser"],
    [/collector\/packet\/packet-info/, "packet parser (PacketInfo.reset)"],
    [/collector\/packet\/(flow-table|tcp-timing)/, "flow table + TCP timing"],
    [/collector\/packet-collector/, "packet collector (glue)"],
    [/collector\/classify\//, "classification"],
    [
      /collector\/aggregate\/(response|latency)|@datadog\/sketches/,
      "response-time sums (DDSketch)",
    ],
    [/collector\/aggregate\//, "partial sums"],
    [/collector\/flow-collector/, "record sink"],
    [/aggregator\//, "rollup"],
    [/dist\/store\/|@duckdb/, "store (DuckDB appender, main thread)"],
    [/dist\/(cli|config)\//, "start-up (CLI, config)"],
    [/schema\//, "schema (FlowBatch)"],
    [/node:internal\/(fs|streams)|node:fs|node:stream/, "file reading (node streams)"],
    [/node:(internal\/)?buffer/, "Buffer views (subarray per packet)"],
    [/node_modules/, "other node_modules"],
    [/^node:/, "node internals (module loading...)"],
  ];
  for (const [re, stage] of rules) if (re.test(url)) return stage;
  return url;
}

interface ProfileSummary {
  totalMs: number;
  functions: Array<{ name: string; ms: number; share: number }>;
  stages: Array<{ stage: string; ms: number; share: number }>;
}

function summariseProfile(path: string, top = 20): ProfileSummary {
  const p = JSON.parse(readFileSync(path, "utf8")) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const fnMs = new Map<string, number>();
  const stageMs = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    // timeDeltas[i + 1] is the time until the next sample: this sample's share.
    const ms = (p.timeDeltas[i + 1] ?? 0) / 1000;
    const n = byId.get(p.samples[i]!);
    if (n === undefined) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    if (functionName === "(idle)") continue;
    const name =
      url === ""
        ? functionName || "(anonymous)"
        : `${functionName || "(anonymous)"} ${basename(url)}:${lineNumber + 1}`;
    fnMs.set(name, (fnMs.get(name) ?? 0) + ms);
    const stage = stageOf(url, functionName);
    stageMs.set(stage, (stageMs.get(stage) ?? 0) + ms);
    total += ms;
  }
  const sorted = <K>(m: Map<K, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return {
    totalMs: total,
    functions: sorted(fnMs)
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms, share: ms / total })),
    stages: sorted(stageMs).map(([stage, ms]) => ({ stage, ms, share: ms / total })),
  };
}

function profileTables(profile: ProfileSummary): string[] {
  const lines = [
    `CPU profile of the replay (main thread, ${(profile.totalMs / 1000).toFixed(1)} s sampled, idle excluded):`,
    "",
    "| self | stage |",
    "|---:|---|",
  ];
  for (const s of profile.stages) lines.push(`| ${(s.share * 100).toFixed(1)} % | ${s.stage} |`);
  lines.push("", "| self | function |", "|---:|---|");
  for (const f of profile.functions)
    lines.push(`| ${(f.share * 100).toFixed(1)} % | \`${f.name}\` |`);
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Report.

function m(x: number): string {
  return x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : `${(x / 1e3).toFixed(0)} k`;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(x === 0 ? 0 : 4)} %`;
}

function spread(xs: number[]): string {
  if (xs.length < 2) return "";
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return ` (runs ${xs.map((x) => m(x)).join(", ")}; spread ${(((hi - lo) / hi) * 100).toFixed(0)} %)`;
}

function machine(): string {
  return `node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "?"}, load average ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`;
}

async function main(): Promise<number> {
  const o = parseOptions();
  if (o.collectors.includes("flowtally") && !existsSync(flowtallyCli()))
    throw new Error(`${flowtallyCli()} not built: npx tsc -p tsconfig.build.json`);
  process.stderr.write(`${machine()}\n`);
  const capture = ensureCapture(o);
  const customers = planCustomers(o.customers);
  const truth = capture.truth;
  const packets = truth?.packets;

  // Fixed cost of each flowtally collector on a 1000-packet capture (node start, config, table
  // allocation; the replay's DuckDB open and close too).
  const fixed = new Map<CollectorName, { cpu: number; wall: number; rss: number }>();
  for (const c of o.collectors) {
    if (c === "pmacctd") continue;
    const tiny = ensureTinyCapture(o);
    const costs: Array<{ cpu: number; wall: number; rss: number }> = [];
    for (let k = 0; k < 2; k++) {
      const r = await runCollector(c, o, tiny, customers, 0);
      costs.push({
        cpu: r.measured.cpuSeconds,
        wall: r.measured.wallSeconds,
        rss: r.measured.peakRssBytes,
      });
      await rm(r.workDir, { recursive: true, force: true });
    }
    const cost = {
      cpu: Math.min(...costs.map((x) => x.cpu)),
      wall: Math.min(...costs.map((x) => x.wall)),
      rss: Math.min(...costs.map((x) => x.rss)),
    };
    fixed.set(c, cost);
    log(
      `${c} fixed cost (1000-packet capture): ${cost.cpu.toFixed(2)} CPU-s, ${cost.wall.toFixed(2)} s wall`,
    );
  }
  const fixedCpu = (c: CollectorName) => fixed.get(c)?.cpu ?? 0;

  const results: RunResult[] = [];
  for (let run = 1; run <= o.runs; run++) {
    const order = run % 2 === 1 ? o.collectors : [...o.collectors].reverse();
    for (const c of order) {
      log(`run ${run}: ${c} on ${capture.path}`);
      const r = await runCollector(c, o, capture.path, customers, run);
      log(
        `${c}: ${r.measured.cpuSeconds.toFixed(2)} CPU-s, ${r.measured.wallSeconds.toFixed(2)} s wall, ` +
          `peak RSS ${(r.measured.peakRssBytes / MIB).toFixed(0)} MiB${r.summary ? `; ${r.summary}` : ""}`,
      );
      results.push(r);
      if (!o.keep) await rm(r.workDir, { recursive: true, force: true });
      else log(`kept ${r.workDir}`);
    }
  }

  let profile: ProfileSummary | undefined;
  if (o.cpuProf) {
    const profDir = await mkdtemp(join(tmpdir(), "flowtally-prof-"));
    log(`profiling flowtally replay (profiles in ${profDir})`);
    const r = await runFlowtally(o, capture.path, customers, 0, [
      "--cpu-prof",
      `--cpu-prof-dir=${profDir}`,
    ]);
    await rm(r.workDir, { recursive: true, force: true });
    const files = readdirSync(profDir).filter((f) => f.endsWith(".cpuprofile"));
    // The replay's own process wrote the largest one.
    const biggest = files
      .map((f) => join(profDir, f))
      .sort((a, b) => statSync(b).size - statSync(a).size)[0];
    if (biggest !== undefined) {
      profile = summariseProfile(biggest);
      log(`profile ${biggest}: ${r.measured.wallSeconds.toFixed(1)} s wall under the profiler`);
    }
  }

  // ---- report
  const refName = truth !== undefined ? "ground truth" : "pmacctd";
  const pm = results.find((r) => r.collector === "pmacctd");
  const reference =
    truth !== undefined
      ? { customers: truth.customers, unattributedBytes: truth.unattributed.bytes }
      : pm !== undefined
        ? { customers: pm.totals.customers, unattributedBytes: pm.totals.unattributed.bytes }
        : undefined;
  // Without a truth file, the packets flowtally's replay read (pmacctd prints no count).
  const seen = results.find((r) => r.packetsSeen !== undefined)?.packetsSeen;
  const packetCount = (r: RunResult) => packets ?? r.packetsSeen ?? seen ?? 0;
  const lines: string[] = [];
  lines.push(`${machine()}`);
  lines.push(
    `capture: ${capture.path}, ${(capture.fileBytes / 2 ** 30).toFixed(2)} GiB` +
      (truth === undefined
        ? ""
        : `, ${truth.packets} packets, ${(truth.ipBytes / 2 ** 30).toFixed(1)} GiB of IP bytes, ` +
          `${((truth.lastMs - truth.firstMs) / 1000).toFixed(1)} s of capture time; flows ${JSON.stringify(truth.flows)}; ` +
          `open at once (peak) ${truth.peakOpenFlows}, table entries needed (peak, est.) ${truth.peakTableFlows}; ` +
          `flow directions ${truth.flowDirections}`),
  );
  lines.push(
    `flowtally flowTable.maxFlows: ${o.maxFlows ?? "262144 (default)"}; fixed cost (1000-packet capture) ` +
      [...fixed]
        .map(
          ([c, x]) =>
            `${c} ${x.cpu.toFixed(2)} CPU-s, ${x.wall.toFixed(2)} s wall, peak RSS ${(x.rss / MIB).toFixed(0)} MiB`,
        )
        .join("; "),
  );
  lines.push("");
  lines.push(
    `| collector | run | CPU-s | net CPU-s | wall s | packets/CPU-s | net packets/CPU-s | packets/wall-s | peak RSS MiB | peak PSS MiB | customers exact (vs ${refName}) | bytes loss | packets loss | unattributed bytes loss | flow records |`,
  );
  lines.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of results) {
    const pk = packetCount(r);
    const net = r.measured.cpuSeconds - fixedCpu(r.collector);
    const c =
      reference === undefined || (r === pm && truth === undefined)
        ? undefined
        : compare(reference.customers, reference.unattributedBytes, r.totals);
    lines.push(
      `| ${r.collector} | ${r.run} | ${r.measured.cpuSeconds.toFixed(2)} | ${net.toFixed(2)} | ` +
        `${r.measured.wallSeconds.toFixed(2)} | ${m(pk / r.measured.cpuSeconds)} | ${m(pk / net)} | ` +
        `${m(pk / r.measured.wallSeconds)} | ${(r.measured.peakRssBytes / MIB).toFixed(0)} | ` +
        `${(r.measured.peakPssBytes / MIB).toFixed(0)} | ` +
        (c === undefined
          ? "(reference) | | | | "
          : `${c.exactCustomers}/${c.customers} | ${pct(c.bytesLoss)} | ${pct(c.packetsLoss)} | ${pct(c.unattributedBytesLoss)} | `) +
        `${r.flowRecords ?? ""} |`,
    );
  }
  lines.push("");
  for (const name of o.collectors) {
    const rs = results.filter((r) => r.collector === name);
    if (rs.length === 0) continue;
    const rates = rs.map((r) => packetCount(r) / r.measured.cpuSeconds);
    const best = Math.max(...rates);
    lines.push(`${name}: best ${m(best)} packets/CPU-s${spread(rates)}`);
  }
  const notes = results.flatMap((r) => [
    ...(r.summary ? [`${r.collector} run ${r.run}: ${r.summary}`] : []),
    ...r.notes.map((n) => `${r.collector} run ${r.run}: ${n}`),
  ]);
  if (notes.length > 0) lines.push("", ...notes);
  if (profile !== undefined) lines.push("", ...profileTables(profile));
  if (o.json)
    process.stdout.write(
      `${JSON.stringify(
        {
          machine: machine(),
          capture: {
            path: capture.path,
            fileBytes: capture.fileBytes,
            truth: truth && { ...truth, customers: undefined },
          },
          fixedCpu: Object.fromEntries([...fixed].map(([c, x]) => [c, x.cpu])),
          results: results.map((r) => ({
            ...r,
            totals: undefined,
            measured: { ...r.measured, log: undefined },
          })),
          profile,
        },
        null,
        2,
      )}\n`,
    );
  process.stdout.write(`\n${lines.join("\n")}\n`);
  return 0;
}

process.exitCode = await main();
