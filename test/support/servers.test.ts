import { existsSync, readFileSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { join } from "node:path";
import pg from "pg";
import { pino } from "pino";
import { describe, expect, it, onTestFinished } from "vitest";
import { createRadiusClient } from "../../accounts/radius-client.js";
import {
  startFreeradius,
  startInfluxd,
  startPostgres,
  startRedis,
  startServer,
  startVictoriaMetrics,
} from "./servers.js";

/** Sends one inline Redis command and returns the first reply line. */
async function redisCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let reply = "";
    socket.once("error", reject);
    socket.on("data", (b) => {
      reply += b.toString();
      if (reply.includes("\r\n")) {
        socket.destroy();
        resolve(reply.split("\r\n")[0]!);
      }
    });
    socket.write(`${command}\r\n`);
  });
}

describe("startRedis", () => {
  it("starts redis-server on a free port whose data survives a kill and a start", async () => {
    const redis = await startRedis();
    onTestFinished(() => redis.close());
    expect(redis.port).not.toBe(6379);
    expect(await redisCommand(redis.port, "SET flowtally-test 42")).toBe("+OK");
    await redis.kill();
    await expect(redisCommand(redis.port, "PING")).rejects.toThrow();
    await redis.start();
    expect(await redisCommand(redis.port, "GET flowtally-test")).toBe("$2");
  });
});

describe("startServer", () => {
  it("starts again on another port when its port is taken between the pick and the bind", async () => {
    // Another process binds the picked port just before redis-server starts on it (as an outgoing
    // connection's ephemeral port did once in CI): the first start fails "address already in use".
    const squatters: Server[] = [];
    const squatted: number[] = [];
    onTestFinished(() => {
      for (const s of squatters) s.close();
    });
    const redis = await startServer({
      name: "redis-server",
      binary: "redis-server",
      debianPackage: "redis-server",
      async prepare(port) {
        if (squatters.length > 0) return;
        const squatter = createServer();
        await new Promise<void>((resolve) => squatter.listen(port, "127.0.0.1", resolve));
        squatters.push(squatter);
        squatted.push(port);
      },
      args: (port, dir) => ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir],
    });
    onTestFinished(() => redis.close());
    expect(squatted).toHaveLength(1);
    expect(redis.port).not.toBe(squatted[0]);
    expect(await redisCommand(redis.port, "PING")).toBe("+PONG");
  });
});

describe("startInfluxd", () => {
  it("starts influxd on free ports with its data in the temporary directory, across a restart", async () => {
    const influxd = await startInfluxd();
    onTestFinished(() => influxd.close());
    expect(influxd.port).not.toBe(8086);
    const q = async (query: string) =>
      (
        await fetch(`http://127.0.0.1:${influxd.port}/query`, {
          method: "POST",
          body: new URLSearchParams({ q: query }),
        })
      ).text();
    await q("CREATE DATABASE survives");
    await influxd.stop();
    await influxd.start();
    expect(await q("SHOW DATABASES")).toContain("survives");
  });
});

describe("startVictoriaMetrics", () => {
  it("starts victoria-metrics on a free port, healthy", async () => {
    const vm = await startVictoriaMetrics();
    onTestFinished(() => vm.close());
    expect((await fetch(`http://127.0.0.1:${vm.port}/health`)).status).toBe(200);
  });
});

describe("startPostgres", () => {
  it("starts its own PostgreSQL on a free loopback port whose data survives a stop and a start", async () => {
    const postgres = await startPostgres();
    onTestFinished(() => postgres.close());
    expect(postgres.port).not.toBe(5432);
    const query = async (sql: string) => {
      const client = new pg.Client({ connectionString: postgres.url });
      await client.connect();
      try {
        return (await client.query(sql)).rows;
      } finally {
        await client.end();
      }
    };
    await query("CREATE TABLE t (n int); INSERT INTO t VALUES (42)");
    expect(await query("SELECT current_setting('listen_addresses') AS a")).toEqual([
      { a: "127.0.0.1" },
    ]);
    await postgres.stop();
    await expect(query("SELECT 1")).rejects.toThrow();
    await postgres.start();
    expect(await query("SELECT n FROM t")).toEqual([{ n: 42 }]);
  });
});

describe("startFreeradius", () => {
  it("starts FreeRADIUS on a free loopback UDP port with its config in the temporary directory, across a stop and a start", async () => {
    const secret = "servers-test-shared-secret";
    const radius = await startFreeradius({ users: [{ name: "u", password: "pw" }], secret });
    onTestFinished(() => radius.close());
    expect(radius.port).not.toBe(1812);
    expect(radius.version).toMatch(/^3\.\d+\.\d+$/);
    const conf = readFileSync(join(radius.dir, "radiusd.conf"), "utf8");
    expect(conf).toMatch(/require_message_authenticator = yes/);
    expect(conf).not.toMatch(/\/etc\/freeradius/);
    const client = createRadiusClient(
      { servers: [{ host: "127.0.0.1", port: radius.port, secret }], timeout: 300, retries: 0 },
      { log: pino({ level: "silent" }) },
    );
    onTestFinished(() => client.stop());
    expect(await client.authenticate("u", "pw")).toBe("accept");
    await radius.stop();
    expect(await client.authenticate("u", "pw")).toBe("unavailable");
    await radius.start();
    expect(await client.authenticate("u", "pw")).toBe("accept");
    await radius.close();
    expect(existsSync(radius.dir)).toBe(false);
  });
});
