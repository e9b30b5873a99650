/**
 * The built CLI run as a service would run it, against real Redis and InfluxDB: several
 * processes on one host sharing one config file (`--listen`, `FLOWTALLY_API_LISTEN`), and
 * `/healthz` telling a dependency that is not there from the start.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { eventually, type FlowtallyProcess, spawnFlowtally } from "../support/scale-out.js";
import {
  freePort,
  influxql,
  startInfluxd,
  startRedis,
  type TestServer,
} from "../support/servers.js";

const root = new URL("../../", import.meta.url).pathname;
const TOKEN = "service-test-token-0123456789";
const dir = mkdtempSync(join(tmpdir(), "flowtally-service-"));

let redis: TestServer;
let influxd: TestServer;

/** A config for every scaled-out process on one host; `listen` is what the file says. */
function config(name: string, o: { redisPort: number; influxPort: number; listen: string }) {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    `queue:
  redis: { url: "redis://127.0.0.1:${o.redisPort}" }
  shards: 2
collector:
  id: ${name}
  spoolPath: ${join(dir, `${name}-spool.json`)}
decoder:
  statePath: ${join(dir, `${name}-state.json`)}
store:
  influx: { api: v1, url: "http://127.0.0.1:${o.influxPort}", database: flowtally, timeout: 2s }
api:
  listen: "${o.listen}"
  operatorTokens: ["${TOKEN}"]
`,
  );
  return path;
}

const cli = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [join(root, "dist/cli/flowtally.js"), ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
    timeout: 20_000,
  });

/** The pino line with this message, parsed. */
function logLine(p: FlowtallyProcess, msg: string): Record<string, unknown> | undefined {
  for (const line of p.output().split("\n")) {
    if (!line.startsWith("{")) continue;
    const o = JSON.parse(line) as Record<string, unknown>;
    if (o.msg === msg) return o;
  }
  return undefined;
}

async function answers(port: number): Promise<boolean> {
  // connection: close: spawnSync between two checks could leave a pooled connection stale.
  return fetch(`http://127.0.0.1:${port}/healthz`, { headers: { connection: "close" } }).then(
    (r) => r.arrayBuffer().then(() => true),
    () => false,
  );
}

beforeAll(async () => {
  [redis, influxd] = await Promise.all([startRedis(), startInfluxd()]);
  await influxql(influxd, "CREATE DATABASE flowtally");
}, 60_000);

afterAll(async () => {
  await Promise.all([redis?.close(), influxd?.close()]);
});

describe("flowtally run like a service", () => {
  it("collect, aggregate and serve share one config: --listen and FLOWTALLY_API_LISTEN replace api.listen, and say so", async () => {
    const [configured, a, b, c, d] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const file = config("shared", {
      redisPort: redis.port,
      influxPort: influxd.port,
      listen: `127.0.0.1:${configured}`,
    });
    const started: FlowtallyProcess[] = [];
    onTestFinished(async () => {
      for (const p of started) await p.stop();
    });
    const collect = await spawnFlowtally(
      ["collect", "--config", file, "--listen", `127.0.0.1:${a}`],
      a,
      TOKEN,
    );
    started.push(collect);
    const aggregate = await spawnFlowtally(["aggregate", "--config", file], b, TOKEN, {
      FLOWTALLY_API_LISTEN: `127.0.0.1:${b}`,
    });
    started.push(aggregate);
    // Both: the option wins.
    const serve = await spawnFlowtally(
      ["serve", "--config", file, "--listen", `127.0.0.1:${d}`],
      d,
      TOKEN,
      { FLOWTALLY_API_LISTEN: `127.0.0.1:${c}` },
    );
    started.push(serve);

    for (const p of [collect, aggregate, serve])
      expect(await p.healthz()).toEqual({ status: 200, down: [] });
    expect(await answers(c), "the environment variable lost to --listen").toBe(false);
    expect(await answers(configured), "nothing listens on the config's api.listen").toBe(false);
    expect(logLine(collect, `api.listen overridden by --listen: 127.0.0.1:${a}`)).toMatchObject({
      from: "--listen",
      listen: `127.0.0.1:${a}`,
      configured: `127.0.0.1:${configured}`,
    });
    expect(
      logLine(aggregate, `api.listen overridden by FLOWTALLY_API_LISTEN: 127.0.0.1:${b}`),
    ).toMatchObject({ from: "FLOWTALLY_API_LISTEN", configured: `127.0.0.1:${configured}` });
    expect(logLine(serve, `api.listen overridden by --listen: 127.0.0.1:${d}`)).toBeDefined();
    // The ports the processes report as theirs.
    expect(logLine(collect, "query API listening")).toMatchObject({ port: a });
    expect(logLine(serve, "HTTP API listening")).toMatchObject({ port: d });
  }, 60_000);

  it("a --listen or FLOWTALLY_API_LISTEN that is not host:port is refused, naming it; an empty variable is none", async () => {
    const file = config("bad", {
      redisPort: redis.port,
      influxPort: influxd.port,
      listen: "127.0.0.1:0",
    });
    const bad = cli(["serve", "--config", file, "--listen", "8080"]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--listen "8080": is not "host:port".*\[FT_CONFIG_INVALID\]/);
    const badEnv = cli(["aggregate", "--config", file], { FLOWTALLY_API_LISTEN: "localhost" });
    expect(badEnv.status).toBe(1);
    expect(badEnv.stderr).toMatch(/FLOWTALLY_API_LISTEN "localhost": is not "host:port"/);
    expect(cli(["serve", "--help"]).stdout).toMatch(
      /--listen <host:port>.*\n?.*FLOWTALLY_API_LISTEN/s,
    );
    // Empty (a unit's `Environment=FLOWTALLY_API_LISTEN=`): the config's address is used.
    const port = await freePort();
    const own = config("own", {
      redisPort: redis.port,
      influxPort: influxd.port,
      listen: `127.0.0.1:${port}`,
    });
    const serve = await spawnFlowtally(["serve", "--config", own], port, TOKEN, {
      FLOWTALLY_API_LISTEN: "",
    });
    onTestFinished(() => serve.stop().then(() => undefined));
    expect(await serve.healthz()).toEqual({ status: 200, down: [] });
    expect(serve.output()).not.toMatch(/overridden/);
  }, 60_000);

  it("collect says Redis is down on /healthz from the start, and up once Redis is there", async () => {
    const later = await startRedis();
    onTestFinished(() => later.close());
    await later.stop(); // its port is free now: a Redis URL nothing answers
    const port = await freePort();
    const file = config("early", {
      redisPort: later.port,
      influxPort: influxd.port,
      listen: `127.0.0.1:${port}`,
    });
    const collect = await spawnFlowtally(["collect", "--config", file], port, TOKEN);
    onTestFinished(() => collect.stop().then(() => undefined));
    expect(await collect.healthz()).toEqual({ status: 503, down: ["redis"] });
    await eventually(
      "the start's log line on Redis",
      () =>
        logLine(
          collect,
          "Redis unreachable at start: partials are kept in memory until it is back",
        ) !== undefined,
      10_000,
    );
    expect(await collect.healthz()).toEqual({ status: 503, down: ["redis"] });
    await later.start();
    await eventually(
      "/healthz ok once Redis is up",
      async () => (await collect.healthz()).status === 200,
    );
  }, 60_000);

  it("aggregate says Redis is down on /healthz once it serves; serve without its store refuses to start", async () => {
    const gone = await startRedis();
    onTestFinished(() => gone.close());
    await gone.stop();
    const port = await freePort();
    const file = config("lonely", {
      redisPort: gone.port,
      influxPort: influxd.port,
      listen: `127.0.0.1:${port}`,
    });
    const aggregate = await spawnFlowtally(["aggregate", "--config", file], port, TOKEN);
    onTestFinished(() => aggregate.stop().then(() => undefined));
    expect(await aggregate.healthz()).toEqual({ status: 503, down: ["redis"] });

    const noStore = config("nostore", {
      redisPort: redis.port,
      influxPort: await freePort(),
      listen: "127.0.0.1:0",
    });
    const serve = cli(["serve", "--config", noStore]);
    expect(serve.status).toBe(1);
    expect(serve.stderr).toMatch(/InfluxDB could not be reached.*\[FT_STORE_UNREACHABLE\]/);
  }, 60_000);
});
