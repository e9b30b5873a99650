/**
 * pmacct's nfacctd as the peer of the end-to-end benchmark: started on a free loopback UDP port
 * with one print plugin that aggregates by customer prefix (`nfacctd_net: file`, the customer
 * prefixes as `networks_file`, `aggregate: src_net, dst_net, src_mask, dst_mask, flows`), so each
 * output row is a (source network, destination network) pair with its packets, bytes and flows.
 * A customer's `in` is the rows whose destination is its prefix, its `out` those whose source is:
 * flowtally's attribution, customer-to-customer rows counting for both. IPv4 addresses in no
 * listed prefix come out as 0.0.0.0/0; IPv6 ones as their own /48 (pmacct 1.7.7).
 *
 * pmacct runs a core process (reads the socket, decodes) and one process per plugin (aggregates,
 * writes): CPU time is the sum over the process tree, read from /proc/<pid>/stat. On SIGINT the
 * print plugin purges its cache to the CSV file and everything exits.
 *
 * Also here: the /proc readers the benchmark uses for any receiver (process-tree CPU seconds,
 * UDP counters of /proc/net/snmp and per-socket queue/drops of /proc/net/udp).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { GeneratedCustomer, TrafficTotals } from "./flow-generator.js";
import { customersByNetwork } from "./flow-generator.js";

// ---------------------------------------------------------------------------------------------
// /proc readers.

let ticks: number | undefined;

/** USER_HZ, the unit of /proc/<pid>/stat times. */
export function clockTicksPerSecond(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

export interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime, ticks. */
  cpuTicks: number;
  /** cutime + cstime: children that exited and were waited for, ticks. */
  childTicks: number;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // comm may hold spaces and parentheses: the fields after it start after the last ')'.
  const close = text.lastIndexOf(")");
  const comm = text.slice(text.indexOf("(") + 1, close);
  const f = text.slice(close + 2).split(" ");
  // f[0] is field 3 (state): field k is f[k - 3].
  return {
    pid,
    ppid: Number(f[1]),
    comm,
    cpuTicks: Number(f[11]) + Number(f[12]),
    childTicks: Number(f[13]) + Number(f[14]),
  };
}

/** `root` and its live descendants. */
export function processTree(root: number): ProcStat[] {
  const all: ProcStat[] = [];
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const s = readStat(pid);
    if (s !== undefined) all.push(s);
  }
  const inTree = new Set([root]);
  const out: ProcStat[] = [];
  // Parents before children is not guaranteed by pid order: iterate to a fixed point.
  for (let grew = true; grew; ) {
    grew = false;
    for (const s of all) {
      if (!inTree.has(s.pid) && inTree.has(s.ppid)) {
        inTree.add(s.pid);
        grew = true;
      }
    }
  }
  for (const s of all) if (inTree.has(s.pid)) out.push(s);
  return out;
}

export interface TreeCpu {
  /** User + system CPU seconds of the process, its live descendants and its reaped children. */
  seconds: number;
  processes: Array<{ pid: number; comm: string; seconds: number }>;
}

export function processTreeCpu(root: number): TreeCpu {
  const hz = clockTicksPerSecond();
  const tree = processTree(root);
  let total = 0;
  const processes = tree.map((s) => {
    const t = s.cpuTicks + s.childTicks;
    total += t;
    return { pid: s.pid, comm: s.comm, seconds: t / hz };
  });
  return { seconds: total / hz, processes };
}

export interface UdpCounters {
  inDatagrams: number;
  inErrors: number;
  rcvbufErrors: number;
  noPorts: number;
}

/** The kernel's UDP counters, IPv4 (/proc/net/snmp) plus IPv6 (/proc/net/snmp6). */
export function readUdpCounters(): UdpCounters {
  const out: UdpCounters = { inDatagrams: 0, inErrors: 0, rcvbufErrors: 0, noPorts: 0 };
  const lines = readFileSync("/proc/net/snmp", "utf8").split("\n");
  const rows = lines.filter((l) => l.startsWith("Udp: "));
  if (rows.length >= 2) {
    const names = rows[0]!.split(/\s+/).slice(1);
    const values = rows[1]!.split(/\s+/).slice(1).map(Number);
    const get = (n: string) => values[names.indexOf(n)] ?? 0;
    out.inDatagrams += get("InDatagrams");
    out.inErrors += get("InErrors");
    out.rcvbufErrors += get("RcvbufErrors");
    out.noPorts += get("NoPorts");
  }
  try {
    for (const l of readFileSync("/proc/net/snmp6", "utf8").split("\n")) {
      const [k, v] = l.trim().split(/\s+/);
      if (k === "Udp6InDatagrams") out.inDatagrams += Number(v);
      else if (k === "Udp6InErrors") out.inErrors += Number(v);
      else if (k === "Udp6RcvbufErrors") out.rcvbufErrors += Number(v);
      else if (k === "Udp6NoPorts") out.noPorts += Number(v);
    }
  } catch {
    // no IPv6
  }
  return out;
}

export function udpCountersDelta(before: UdpCounters, after: UdpCounters): UdpCounters {
  return {
    inDatagrams: after.inDatagrams - before.inDatagrams,
    inErrors: after.inErrors - before.inErrors,
    rcvbufErrors: after.rcvbufErrors - before.rcvbufErrors,
    noPorts: after.noPorts - before.noPorts,
  };
}

export interface UdpSocketState {
  /** Bytes waiting in the receive queue. */
  rxQueue: number;
  /** Datagrams this socket dropped (receive buffer full) since it was opened. */
  drops: number;
  sockets: number;
}

/** Receive queue and drops of the UDP sockets bound to `port` (/proc/net/udp and udp6). */
export function udpSocketState(port: number): UdpSocketState {
  const out: UdpSocketState = { rxQueue: 0, drops: 0, sockets: 0 };
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  for (const file of ["/proc/net/udp", "/proc/net/udp6"]) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 13 || !f[1]!.endsWith(`:${hexPort}`)) continue;
      const queues = f[4]!.split(":");
      out.rxQueue += Number.parseInt(queues[1] ?? "0", 16);
      out.drops += Number(f[f.length - 1]);
      out.sockets++;
    }
  }
  return out;
}

/** A UDP port on 127.0.0.1 that was free a moment ago. */
export async function freeUdpPort(): Promise<number> {
  const s = createSocket("udp4");
  await new Promise<void>((resolve, reject) => {
    s.once("error", reject);
    s.bind(0, "127.0.0.1", () => resolve());
  });
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export function readSysctl(path: string): number | undefined {
  try {
    return Number(readFileSync(`/proc/sys/${path.replaceAll(".", "/")}`, "utf8").trim());
  } catch {
    return undefined;
  }
}

/**
 * Waits until a receiver has taken in what was sent: its socket's receive queue is empty and
 * its process tree has used less than `idleCpuSeconds` of CPU over the last `quietMs`.
 * Resolves with the time it took, or rejects after `timeoutMs`.
 */
export async function waitUntilDrained(
  pid: number,
  port: number,
  opts: { quietMs?: number; idleCpuSeconds?: number; timeoutMs?: number } = {},
): Promise<number> {
  const quietMs = opts.quietMs ?? 1000;
  const idle = opts.idleCpuSeconds ?? 0.02;
  const timeoutMs = opts.timeoutMs ?? 600_000;
  const t0 = Date.now();
  const step = 100;
  const history: number[] = [];
  for (;;) {
    const cpu = processTreeCpu(pid).seconds;
    history.push(cpu);
    const window = Math.ceil(quietMs / step);
    if (history.length > window) {
      const used = cpu - history[history.length - 1 - window]!;
      if (used < idle && udpSocketState(port).rxQueue === 0) return Date.now() - t0;
    }
    if (Date.now() - t0 > timeoutMs)
      throw new Error(`receiver ${pid} on port ${port} still busy after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, step));
  }
}

/** Polls until a UDP socket is bound to `port`, or rejects after `timeoutMs`. */
export async function waitForUdpListener(
  port: number,
  exited: () => boolean,
  timeoutMs = 15_000,
): Promise<void> {
  const t0 = Date.now();
  while (udpSocketState(port).sockets === 0) {
    if (exited()) throw new Error(`the receiver exited before listening on port ${port}`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`nothing listens on UDP port ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---------------------------------------------------------------------------------------------
// nfacctd.

export interface NfacctdOptions {
  /** Directory for the config, networks file, CSV output and log. */
  workDir: string;
  /** networks_file content: one prefix a line ({@link networksFile}). */
  networks: string;
  /** UDP port on 127.0.0.1 (default: a free one). */
  port?: number;
  binary?: string;
  /** nfacctd_pipe_size, the socket receive buffer (default: net.core.rmem_max). */
  socketBufferBytes?: number;
  /** plugin_pipe_size, the core → plugin queue (default 64 MiB). */
  pluginPipeBytes?: number;
  /** plugin_buffer_size, the unit of transfer on that queue (default 1/1000 of the pipe). */
  pluginBufferBytes?: number;
  /** print_cache_entries, a prime (default 65537). */
  cacheEntries?: number;
}

export interface PrintRow {
  srcNet: string;
  dstNet: string;
  packets: number;
  bytes: number;
  flows: number;
}

export interface NfacctdResult {
  rows: PrintRow[];
  /** CPU seconds of the process tree read just before the SIGINT (the purge not included). */
  cpu: TreeCpu;
  /** User + system seconds of the whole run (start and purge included), from GNU time. */
  totalCpuSeconds: number | null;
  /** SIGINT to exit. */
  stopSeconds: number;
  /** The socket's drop counter just before the SIGINT. */
  socketDrops: number;
  exitCode: number | null;
  log: string;
  /** Lines of the log that say data was lost ("missing data detected", sequence warnings). */
  warnings: string[];
}

export interface NfacctdRun {
  readonly port: number;
  readonly pid: number;
  readonly configPath: string;
  readonly outputPath: string;
  cpu(): TreeCpu;
  socket(): UdpSocketState;
  /** SIGINT, wait for the exit, parse the CSV. */
  stop(): Promise<NfacctdResult>;
}

export function nfacctdConfig(o: {
  port: number;
  networksPath: string;
  outputPath: string;
  socketBufferBytes: number;
  pluginPipeBytes: number;
  pluginBufferBytes: number;
  cacheEntries: number;
}): string {
  return `${[
    "daemonize: false",
    "nfacctd_ip: 127.0.0.1",
    `nfacctd_port: ${o.port}`,
    `nfacctd_pipe_size: ${o.socketBufferBytes}`,
    // IPv4 addresses in no customer network become 0.0.0.0/0. IPv6 ones keep a /48 each: in
    // pmacct 1.7.7, load_networks6() sets its "default route present" flag for any table, which
    // disables networks_file_filter for IPv6, and a covering ::/0 or 2000::/3 line shadows the
    // customer /48s instead of being their parent. The generator draws remote IPv6 addresses
    // from 64 /48s, so that costs at most a few thousand rows.
    "nfacctd_net: file",
    `networks_file: ${o.networksPath}`,
    "plugins: print[p]",
    "aggregate[p]: src_net, dst_net, src_mask, dst_mask, flows",
    "print_output[p]: csv",
    `print_output_file[p]: ${o.outputPath}`,
    // Nothing is written until the purge on SIGINT.
    "print_refresh_time[p]: 86400",
    // Buckets of the plugin's cache (default 16411), a prime well above the rows expected.
    `print_cache_entries[p]: ${o.cacheEntries}`,
    `plugin_pipe_size[p]: ${o.pluginPipeBytes}`,
    `plugin_buffer_size[p]: ${o.pluginBufferBytes}`,
  ].join("\n")}\n`;
}

export async function startNfacctd(opts: NfacctdOptions): Promise<NfacctdRun> {
  const port = opts.port ?? (await freeUdpPort());
  const networksPath = join(opts.workDir, "nfacctd-networks.txt");
  const configPath = join(opts.workDir, "nfacctd.conf");
  const outputPath = join(opts.workDir, "nfacctd-out.csv");
  const pipe = opts.pluginPipeBytes ?? 64 * 1024 * 1024;
  writeFileSync(networksPath, opts.networks);
  writeFileSync(
    configPath,
    nfacctdConfig({
      port,
      networksPath,
      outputPath,
      socketBufferBytes: opts.socketBufferBytes ?? readSysctl("net.core.rmem_max") ?? 4194304,
      pluginPipeBytes: pipe,
      pluginBufferBytes: opts.pluginBufferBytes ?? Math.max(8192, Math.floor(pipe / 1000)),
      cacheEntries: opts.cacheEntries ?? 65_537,
    }),
  );
  const proc = await spawnMeasured(opts.binary ?? "nfacctd", ["-f", configPath], {
    workDir: opts.workDir,
    name: "nfacctd",
  });
  try {
    await waitForUdpListener(port, () => proc.exited());
    // The plugin process loads the networks file after the core binds: give it its moment.
    await new Promise((r) => setTimeout(r, 300));
  } catch (err) {
    await proc.stop("SIGKILL");
    throw new Error(`nfacctd did not start: ${(err as Error).message}\n${proc.log()}`);
  }

  return {
    port,
    pid: proc.pid,
    configPath,
    outputPath,
    cpu: () => proc.cpu(),
    socket: () => udpSocketState(port),
    async stop(): Promise<NfacctdResult> {
      const cpu = proc.cpu();
      const socketDrops = udpSocketState(port).drops;
      const end = await proc.stop("SIGINT");
      const text = proc.log();
      let csv = "";
      try {
        csv = readFileSync(outputPath, "utf8");
      } catch {
        // nothing was aggregated
      }
      return {
        rows: parsePrintCsv(csv),
        cpu,
        totalCpuSeconds: end.totalCpuSeconds,
        stopSeconds: end.stopSeconds,
        socketDrops,
        exitCode: end.exitCode,
        log: text,
        warnings: text
          .split("\n")
          .filter((l) => /^(WARN|ERROR)\b|missing data|expecting flow/.test(l))
          .slice(0, 50),
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Running a receiver under GNU time, so that its whole CPU time (the stop included, and every
// child it waited for) is known after it exits; while it runs, /proc tells the CPU so far.

export interface MeasuredProcess {
  /** The receiver's own pid (the child of /usr/bin/time when that is used). */
  readonly pid: number;
  /** The pid whose process tree is the receiver's (the time wrapper, or the receiver). */
  readonly rootPid: number;
  exited(): boolean;
  cpu(): TreeCpu;
  log(): string;
  /** Sends `signal` to the receiver, waits for it to exit (SIGKILL after `timeoutMs`). */
  stop(
    signal: NodeJS.Signals,
    timeoutMs?: number,
  ): Promise<{ exitCode: number | null; totalCpuSeconds: number | null; stopSeconds: number }>;
}

const GNU_TIME = "/usr/bin/time";

export async function spawnMeasured(
  command: string,
  args: readonly string[],
  opts: { workDir: string; name: string; env?: NodeJS.ProcessEnv },
): Promise<MeasuredProcess> {
  const logPath = join(opts.workDir, `${opts.name}.log`);
  const timePath = join(opts.workDir, `${opts.name}.time`);
  const useTime = existsSync(GNU_TIME);
  const log = openSync(logPath, "w");
  let child: ChildProcess;
  try {
    child = useTime
      ? spawn(GNU_TIME, ["-f", "%e %U %S", "-o", timePath, command, ...args], {
          stdio: ["ignore", log, log],
          env: opts.env ?? process.env,
        })
      : spawn(command, args, { stdio: ["ignore", log, log], env: opts.env ?? process.env });
  } finally {
    closeSync(log);
  }
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code, signal) => {
      exitCode = code ?? (signal === null ? null : -1);
      resolve(exitCode);
    });
    child.once("error", () => {
      exitCode = -1;
      resolve(-1);
    });
  });
  const rootPid = child.pid;
  if (rootPid === undefined) {
    await exited;
    throw new Error(`could not start ${command}: ${readLog(logPath)}`);
  }
  // GNU time ignores SIGINT while it waits: signals go to its child, the receiver.
  let pid = rootPid;
  if (useTime) {
    const t0 = Date.now();
    for (;;) {
      const child = processTree(rootPid).find((p) => p.ppid === rootPid);
      if (child !== undefined) {
        pid = child.pid;
        break;
      }
      if (exitCode !== undefined || Date.now() - t0 > 5000)
        throw new Error(`${command} did not start: ${readLog(logPath)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  return {
    pid,
    rootPid,
    exited: () => exitCode !== undefined,
    cpu: () => processTreeCpu(rootPid),
    log: () => readLog(logPath),
    async stop(signal, timeoutMs = 120_000) {
      const t0 = performance.now();
      if (exitCode === undefined) process.kill(pid, signal);
      const timer = setTimeout(() => {
        if (exitCode === undefined) process.kill(pid, "SIGKILL");
      }, timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      const stopSeconds = (performance.now() - t0) / 1000;
      let totalCpuSeconds: number | null = null;
      if (useTime) {
        // "Command exited with non-zero status N" or "Command terminated by signal N" may come
        // first; the format's line is the last.
        const last = readLog(timePath).trim().split("\n").pop() ?? "";
        const [, user, sys] = last.split(" ").map(Number);
        if (user !== undefined && sys !== undefined && Number.isFinite(user + sys))
          totalCpuSeconds = user + sys;
      }
      return { exitCode: code, totalCpuSeconds, stopSeconds };
    },
  };
}

function readLog(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** Parses the print plugin's CSV (header line first; column names vary with the primitives). */
export function parsePrintCsv(text: string): PrintRow[] {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  if (lines.length === 0) return [];
  const header = lines[0]!.split(",").map((h) => h.trim());
  const col = (name: string) => {
    const k = header.indexOf(name);
    if (k < 0) throw new Error(`nfacctd CSV has no ${name} column: ${lines[0]}`);
    return k;
  };
  const srcNet = col("SRC_NET");
  const dstNet = col("DST_NET");
  const packets = col("PACKETS");
  const bytes = col("BYTES");
  const flows = header.indexOf("FLOWS");
  return lines.slice(1).map((l) => {
    const f = l.split(",");
    return {
      srcNet: f[srcNet]!,
      dstNet: f[dstNet]!,
      packets: Number(f[packets]),
      bytes: Number(f[bytes]),
      flows: flows < 0 ? 0 : Number(f[flows]),
    };
  });
}

export interface CollectorTotals {
  customers: Map<string, TrafficTotals>;
  unattributed: { bytes: number; packets: number; flows: number };
  /** Networks in the output that are no customer's and not 0.0.0.0 / :: (IPv6 remote /48s). */
  unknownNetworks: string[];
}

/** Per-customer in/out totals from the print plugin's (src_net, dst_net) rows. */
export function totalsByCustomer(
  rows: readonly PrintRow[],
  customers: readonly GeneratedCustomer[],
): CollectorTotals {
  const byNet = customersByNetwork(customers);
  const totals = new Map<string, TrafficTotals>();
  for (const c of customers)
    totals.set(c.id, { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0, flows: 0 });
  const unattributed = { bytes: 0, packets: 0, flows: 0 };
  const unknown = new Set<string>();
  // Addresses in no listed network come out as 0.0.0.0 (mask 0) for IPv4, but as their own /48
  // for IPv6 (pmacct 1.7.7): anything that is not a customer's network is the remote side.
  const owner = (net: string): TrafficTotals | undefined => {
    const c = byNet.get(net);
    if (c === undefined && net !== "0.0.0.0" && net !== "::") unknown.add(net);
    return c === undefined ? undefined : totals.get(c.id);
  };
  for (const r of rows) {
    const src = owner(r.srcNet);
    const dst = owner(r.dstNet);
    if (dst) {
      dst.bytesIn += r.bytes;
      dst.packetsIn += r.packets;
      dst.flows += r.flows;
    }
    if (src) {
      src.bytesOut += r.bytes;
      src.packetsOut += r.packets;
      src.flows += r.flows;
    }
    if (!src && !dst) {
      unattributed.bytes += r.bytes;
      unattributed.packets += r.packets;
      unattributed.flows += r.flows;
    }
  }
  return { customers: totals, unattributed, unknownNetworks: [...unknown] };
}
