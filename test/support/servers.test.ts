import { connect } from "node:net";
import { describe, expect, it, onTestFinished } from "vitest";
import { startRedis } from "./servers.js";

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
