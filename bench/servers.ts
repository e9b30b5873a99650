/**
 * Real servers for the tests and benchmarks, each started on a free loopback port with its own temporary
 * directory and stopped afterwards: Redis here, InfluxDB, VictoriaMetrics and PostgreSQL beside it. A server
 * that cannot start fails the test with what it printed; nothing is skipped. `scripts/setup.sh
 * --test` installs the binaries (Debian packages redis-server, influxdb, victoria-metrics,
 * postgresql).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync } from "node:fs";
import {
  chown,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  writeFile,
} from "node:fs/promises";
import { request } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A TCP port nobody listens on right now, released before returning. In a vitest worker it comes
 * from the worker's own band below the kernel's ephemeral range (20 000 + 600 per worker), taken
 * in turn: the kernel's pick could be handed to a test in another worker a moment later, or be
 * taken by any outgoing connection before the server binds it. Elsewhere (the benchmarks) it is
 * the kernel's pick.
 */
export async function freePort(): Promise<number> {
  const worker = Number(process.env.VITEST_POOL_ID ?? 0);
  if (Number.isInteger(worker) && worker > 0) {
    const base = PORT_BANDS_FROM + ((worker - 1) % PORT_BANDS) * PORT_BAND;
    for (let tried = 0; tried < PORT_BAND; tried++) {
      bandNext = (bandNext + 1) % PORT_BAND;
      const port = await listenOnce(base + bandNext).catch(() => 0);
      if (port !== 0) return port;
    }
  }
  return listenOnce(0);
}

const PORT_BANDS_FROM = 20_000;
const PORT_BAND = 600;
const PORT_BANDS = 20;
/** Where this process's band is walked from next (a random start: a worker may be forked anew). */
let bandNext = Math.floor(Math.random() * PORT_BAND);

/** Listens on 127.0.0.1:port (0: the kernel picks), closes, and answers the port. */
function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === "string") reject(new Error("no port"));
        else resolve(address.port);
      });
    });
  });
}

/** A UDP port nobody has bound on 127.0.0.1 or ::1 right now (the kernel's pick, released). */
async function freeUdpPortOnBothLoopbacks(): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const port = await boundUdpPort("udp4", "127.0.0.1", 0);
    // The same number free on ::1 too, for a server that listens on both loopbacks.
    if ((await boundUdpPort("udp6", "::1", port).catch(() => 0)) === port || attempt >= 20) {
      return port;
    }
  }
}

function boundUdpPort(type: "udp4" | "udp6", host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(type);
    socket.once("error", (e) => {
      socket.close();
      reject(e);
    });
    socket.bind(port, host, () => {
      const bound = socket.address().port;
      socket.close(() => resolve(bound));
    });
  });
}

/**
 * Resolves once the process `pid` itself listens on TCP port `port` (Linux's /proc: a socket in
 * LISTEN state on the port whose inode is one of the process's descriptors), or rejects after
 * `ms`. Not merely "something accepts connections there": that may be another process that bound
 * the port first, while ours is about to exit "address already in use", and a test must never take
 * that one for its own server.
 */
async function waitUntilListening(
  pid: number | undefined,
  port: number,
  ms: number,
  exited: () => string | undefined,
): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const why = exited();
    if (why !== undefined) throw new Error(why);
    if (pid !== undefined && (await listensOn(pid, port))) return;
    if (Date.now() > deadline) {
      throw new Error(`process ${pid} does not listen on 127.0.0.1:${port} after ${ms} ms`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function listensOn(pid: number, port: number): Promise<boolean> {
  const inodes = new Set<string>();
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const text = await readFile(table, "utf8").catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex, st 0A is LISTEN, the inode is the tenth field.
      if (f.length > 9 && f[3] === "0A" && f[1]?.endsWith(`:${hex}`)) inodes.add(f[9] as string);
    }
  }
  if (inodes.size === 0) return false;
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  for (const fd of fds) {
    const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
    const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
    if (inode !== undefined && inodes.has(inode)) return true;
  }
  return false;
}

export interface ServerSpec {
  /** For messages: "redis-server". */
  name: string;
  /** The program, found on the PATH or in /usr/bin, /usr/sbin. */
  binary: string;
  /** The Debian package that provides it, named when it is missing. */
  debianPackage: string;
  args(port: number, dir: string): string[];
  /** Runs before each start, e.g. to write a config file into `dir`. */
  prepare?(port: number, dir: string): Promise<void>;
  /**
   * Resolves when the server answers (default: its port accepts TCP connections); `exited` says
   * why the process is gone, once it is, so that a wait can end early.
   */
  ready?(port: number, exited: () => string | undefined): Promise<void>;
  /** Its port is a UDP one: picked free for UDP, and only `ready` says when it answers. */
  udp?: boolean;
  /** How long a start may take. */
  startMs?: number;
  /** Runs the server as this user (a server that refuses root, like postgres, when we are root). */
  user?: { uid: number; gid: number };
}

export interface TestServer {
  readonly port: number;
  /** The running process's pid (undefined while stopped). */
  readonly pid: number | undefined;
  /** The temporary directory holding the server's data; removed by `close`. */
  readonly dir: string;
  /** What the server printed (stdout and stderr), for failure messages. */
  output(): string;
  /** Stops the process (SIGTERM, SIGKILL after 10 s) and keeps its data. */
  stop(): Promise<void>;
  /** Kills the process at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Starts it again on the same port and directory (after stop or kill). */
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  close(): Promise<void>;
}

function findBinary(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(":").concat(["/usr/bin", "/usr/sbin"])) {
    const path = join(dir, binary);
    if (dir !== "" && existsSync(path)) return path;
  }
  return undefined;
}

/**
 * The servers' environment: ours without a preloaded library. The calendar check
 * (scripts/test-calendar.sh) runs the tests on a clock moved years ahead with libfaketime, which
 * redis-server does not survive; the servers keep the machine's clock (the Go ones, influxd and
 * victoria-metrics, read it without libc anyway), and their settings must keep whatever a test
 * writes at any date (see startVictoriaMetrics).
 */
export function serverEnv(): NodeJS.ProcessEnv {
  const { LD_PRELOAD: _preload, FAKETIME: _faketime, ...env } = process.env;
  return env;
}

/** What a server prints when its port was taken between our pick and its bind. */
const PORT_TAKEN = /address already in use|EADDRINUSE/i;

/**
 * Starts a server of `spec` on a free port in a new temporary directory. A free port is only free
 * when it is picked: another process (any outgoing connection takes an ephemeral port) may bind it
 * before the server does, so a first start that fails with "address already in use" is tried again
 * on another port, in a new directory, up to five times.
 */
export async function startServer(spec: ServerSpec): Promise<TestServer> {
  const path = spec.binary.startsWith("/") ? spec.binary : findBinary(spec.binary);
  if (path === undefined || !existsSync(path)) {
    throw new Error(
      `${spec.binary} not found: install Debian's ${spec.debianPackage} (sh scripts/setup.sh --test does it as root)`,
    );
  }
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(spec, path);
    } catch (e) {
      if (attempt >= 5 || !PORT_TAKEN.test((e as Error).message)) throw e;
    }
  }
}

async function startOnce(spec: ServerSpec, path: string): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), `flowtally-${spec.name}-`));
  if (spec.user !== undefined) await chown(dir, spec.user.uid, spec.user.gid);
  const port = spec.udp === true ? await freeUdpPortOnBothLoopbacks() : await freePort();
  let child: ChildProcess | undefined;
  let exit: Promise<void> = Promise.resolve();
  let printed = "";

  async function start(): Promise<void> {
    if (child !== undefined) throw new Error(`${spec.name} is already running`);
    await spec.prepare?.(port, dir);
    const c = spawn(path as string, spec.args(port, dir), {
      stdio: ["ignore", "pipe", "pipe"],
      env: serverEnv(),
      ...(spec.user === undefined ? {} : { uid: spec.user.uid, gid: spec.user.gid }),
    });
    child = c;
    let exitedWith: string | undefined;
    exit = new Promise((resolve) => {
      c.once("exit", (code, signal) => {
        exitedWith = `${spec.name} exited (${signal ?? code}) before it was ready:\n${printed.slice(-4000)}`;
        if (child === c) child = undefined;
        resolve();
      });
    });
    const keep = (b: Buffer) => {
      printed = (printed + b.toString()).slice(-64_000);
    };
    c.stdout?.on("data", keep);
    c.stderr?.on("data", keep);
    try {
      if (spec.udp !== true) {
        await waitUntilListening(c.pid, port, spec.startMs ?? 20_000, () => exitedWith);
      }
      if (spec.ready !== undefined) await spec.ready(port, () => exitedWith);
    } catch (e) {
      c.kill("SIGKILL");
      await exit;
      throw new Error(
        `${spec.name} did not start: ${(e as Error).message}\n${printed.slice(-4000)}`,
      );
    }
  }

  async function signal(sig: NodeJS.Signals, graceMs: number): Promise<void> {
    const c = child;
    if (c === undefined) return;
    c.kill(sig);
    const timer = setTimeout(() => c.kill("SIGKILL"), graceMs);
    await exit;
    clearTimeout(timer);
  }

  try {
    await start();
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    port,
    get pid() {
      return child?.pid;
    },
    dir,
    output: () => printed,
    stop: () => signal("SIGTERM", 10_000),
    kill: () => signal("SIGKILL", 0),
    start,
    async close() {
      await signal("SIGTERM", 10_000);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * redis-server with an append-only file fsynced on every write, as flowtally's scale-out
 * deployment asks for (docs/scale-out.md): a restart, even a kill, loses nothing acknowledged.
 */
export function startRedis(
  options: { cluster?: boolean; appendfsync?: "always" | "everysec" } = {},
): Promise<TestServer> {
  return startServer({
    name: "redis-server",
    binary: "redis-server",
    debianPackage: "redis-server",
    args: (port, dir) => [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--appendonly",
      "yes",
      "--appendfsync",
      options.appendfsync ?? "always",
      "--save",
      "",
      "--protected-mode",
      "no",
      ...(options.cluster === true
        ? ["--cluster-enabled", "yes", "--cluster-config-file", join(dir, "nodes.conf")]
        : []),
    ],
  });
}

/**
 * A Redis Cluster of three masters (no replicas), each a redis-server of startRedis, joined with
 * `redis-cli --cluster create`; resolves once every slot is served.
 */
export async function startRedisCluster(): Promise<TestServer[]> {
  const nodes: TestServer[] = [];
  try {
    for (let k = 0; k < 3; k++) nodes.push(await startRedis({ cluster: true }));
    const create = spawnSync(
      "redis-cli",
      [
        "--cluster",
        "create",
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        "--cluster-replicas",
        "0",
        "--cluster-yes",
      ],
      { encoding: "utf8", timeout: 30_000, env: serverEnv() },
    );
    if (create.status !== 0) {
      throw new Error(`redis-cli --cluster create failed:\n${create.stdout}${create.stderr}`);
    }
    const deadline = Date.now() + 20_000;
    for (;;) {
      const info = spawnSync("redis-cli", ["-p", String(nodes[0]!.port), "cluster", "info"], {
        encoding: "utf8",
        env: serverEnv(),
      });
      if (/cluster_state:ok/.test(info.stdout)) return nodes;
      if (Date.now() > deadline) throw new Error(`cluster not ready:\n${info.stdout}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (e) {
    for (const n of nodes) await n.close();
    throw e;
  }
}

/** Resolves once GET http://127.0.0.1:port<path> answers `status`, or rejects after `ms`. */
async function waitForHttp(port: number, path: string, status: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  let last = "";
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      await res.arrayBuffer();
      if (res.status === status) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > deadline) {
      throw new Error(`GET ${path} did not answer ${status} after ${ms} ms (last: ${last})`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface InfluxdOptions {
  /** Turns on authentication ([http] auth-enabled); the first user is created without one. */
  auth?: boolean;
}

/**
 * InfluxDB 1.x (Debian's influxdb, 1.6.7): HTTP API on the free port, every other listener
 * (the RPC bind-address, 8088 by default) on port 0 (the kernel's pick) and everything optional off,
 * so that tests running side by side never meet on a fixed port; meta, data and WAL in the
 * temporary directory. Ready when /ping answers 204.
 */
export async function startInfluxd(options: InfluxdOptions = {}): Promise<TestServer> {
  return startServer({
    name: "influxd",
    binary: "influxd",
    debianPackage: "influxdb",
    async prepare(port, dir) {
      for (const sub of ["meta", "data", "wal"]) await mkdir(join(dir, sub), { recursive: true });
      await writeFile(
        join(dir, "influxdb.conf"),
        `reporting-disabled = true
# The RPC service (backup and restore) on a port the kernel picks as influxd binds it.
bind-address = "127.0.0.1:0"

[meta]
  dir = "${join(dir, "meta")}"
  # A new database's default policy (autogen) keeps points forever: a 1.x server refuses points
  # older than its policy's duration, so a finite one would drop old fixtures as the years pass.
  retention-autocreate = true

[data]
  dir = "${join(dir, "data")}"
  wal-dir = "${join(dir, "wal")}"
  query-log-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:${port}"
  auth-enabled = ${options.auth === true}
  log-enabled = false

[monitor]
  store-enabled = false

[continuous_queries]
  enabled = false

[subscriber]
  enabled = false

[logging]
  level = "warn"
`,
      );
    },
    args: (_port, dir) => ["run", "-config", join(dir, "influxdb.conf")],
    ready: (port) => waitForHttp(port, "/ping", 204, 20_000),
  });
}

/**
 * Runs InfluxQL statements on a test influxd (to set a test up: databases, users, policies) and
 * returns the parsed answer; fails on an HTTP error or a statement's error.
 */
export async function influxql(server: TestServer, q: string, authorization?: string) {
  const res = await fetch(`http://127.0.0.1:${server.port}/query`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      ...(authorization === undefined ? {} : { authorization }),
    },
    body: new URLSearchParams({ q }).toString(),
  });
  const text = await res.text();
  const body = JSON.parse(text) as {
    results?: Array<{ error?: string; series?: Array<{ values: unknown[][] }> }>;
  };
  const error = body.results?.find((r) => r.error !== undefined)?.error;
  if (res.status !== 200 || error !== undefined) {
    throw new Error(`influxd: ${q}: HTTP ${res.status}: ${error ?? text}`);
  }
  return body;
}

/**
 * VictoriaMetrics (Debian's victoria-metrics), which accepts InfluxDB line protocol on
 * /write and /api/v2/write: the server the v2 write path is checked against. Ready when /health
 * answers 200.
 */
export function startVictoriaMetrics(): Promise<TestServer> {
  return startServer({
    name: "victoria-metrics",
    binary: "victoria-metrics",
    debianPackage: "victoria-metrics",
    args: (port, dir) => [
      `-httpListenAddr=127.0.0.1:${port}`,
      `-storageDataPath=${join(dir, "data")}`,
      // The default keeps one month: fixtures dated a month before today were dropped on write.
      // 100 years is the longest it takes; it refuses timestamps before 1970 and more than two
      // days after its clock, whatever this says.
      "-retentionPeriod=100y",
      "-loggerLevel=WARN",
    ],
    ready: (port) => waitForHttp(port, "/health", 200, 20_000),
  });
}

/** Debian's PostgreSQL 15 programs (package postgresql). */
const POSTGRES_BIN = "/usr/lib/postgresql/15/bin";

/** The user a test PostgreSQL runs as: ourselves, or Debian's `postgres` when we are root. */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => spawnSync("id", [flag, "postgres"], { encoding: "utf8" });
  const uid = id("-u");
  const gid = id("-g");
  if (uid.status !== 0 || gid.status !== 0) {
    throw new Error(
      "postgres refuses to run as root and there is no user postgres: install Debian's postgresql",
    );
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export interface PostgresServer extends TestServer {
  /** `postgres://flowtally@127.0.0.1:PORT/flowtally`: trust authentication, loopback only. */
  readonly url: string;
  /** Creates an empty database `name` (letters, digits, '_') and answers its URL. */
  database(name: string): Promise<string>;
}

/**
 * PostgreSQL (Debian's postgresql 15) of its own: `initdb` into the temporary directory (user
 * `flowtally`, trust authentication, database `flowtally`), then `postgres` on the free port,
 * 127.0.0.1 only, its socket in the directory; never the machine's server on 5432. As root it
 * runs as the user `postgres` (postgres refuses root). fsync is off: the tests' data is thrown
 * away. Ready when a query answers.
 */
export async function startPostgres(): Promise<PostgresServer> {
  const user = postgresUser();
  const asUser = user === undefined ? {} : { uid: user.uid, gid: user.gid };
  const server = await startServer({
    name: "postgres",
    binary: join(POSTGRES_BIN, "postgres"),
    debianPackage: "postgresql",
    ...(user === undefined ? {} : { user }),
    async prepare(_port, dir) {
      const data = join(dir, "data");
      if (existsSync(data)) return;
      const init = spawnSync(
        join(POSTGRES_BIN, "initdb"),
        ["-D", data, "-U", "flowtally", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"],
        { encoding: "utf8", env: serverEnv(), ...asUser },
      );
      if (init.status !== 0) throw new Error(`initdb failed:\n${init.stdout}${init.stderr}`);
    },
    args: (port, dir) => [
      "-D",
      join(dir, "data"),
      "-p",
      String(port),
      "-k",
      dir,
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "fsync=off",
      "-c",
      "synchronous_commit=off",
      "-c",
      "full_page_writes=off",
    ],
    ready: (port) => waitForPostgres(port, 20_000),
  });
  const url = `postgres://flowtally@127.0.0.1:${server.port}/flowtally`;
  return Object.assign(server, {
    url,
    async database(name: string) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`${name}: not a database name`);
      const { default: pg } = await import("pg");
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      const u = new URL(url);
      u.pathname = `/${name}`;
      return u.toString();
    },
  });
}

/** Resolves once PostgreSQL on the port answers a query as `flowtally` (and the database exists). */
async function waitForPostgres(port: number, ms: number): Promise<void> {
  const { default: pg } = await import("pg");
  const deadline = Date.now() + ms;
  let created = false;
  for (;;) {
    const client = new pg.Client({
      host: "127.0.0.1",
      port,
      user: "flowtally",
      database: "postgres",
    });
    try {
      await client.connect();
      if (!created) {
        const has = await client.query("SELECT 1 FROM pg_database WHERE datname = 'flowtally'");
        if (has.rowCount === 0) await client.query("CREATE DATABASE flowtally");
        created = true;
      }
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      await client.end().catch(() => {});
    }
  }
}

/** The status of `GET /healthz` on 127.0.0.1:port; 0 when nothing answers (still starting). */
export function healthz(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path: "/healthz" }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", () => resolve(0));
    req.end();
  });
}
