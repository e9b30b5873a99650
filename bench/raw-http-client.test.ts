import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it, onTestFinished } from "vitest";
import { createRawClient } from "./raw-http-client.js";

/** A node:http server answering each request with what it received, in the form asked. */
async function echoServer() {
  const seen: Array<{
    method: string;
    url: string;
    headers: Record<string, unknown>;
    body: string;
  }> = [];
  const sockets = new Set<unknown>();
  const server = createServer((req, res) => {
    sockets.add(req.socket);
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => {
      body += c;
    });
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const answer = JSON.stringify({ url: req.url, body, é: "ü" });
      if (req.url === "/chunked") {
        // No length: node sends it chunked, in two writes.
        res.writeHead(200, { etag: '"c1"', "content-type": "application/json" });
        res.write(answer.slice(0, 5));
        res.end(answer.slice(5));
      } else if (req.url === "/empty") {
        res.writeHead(204, { etag: '"e"' });
        res.end();
      } else if (req.url === "/close") {
        res.writeHead(200, { connection: "close", "content-length": 2 });
        res.end("ok");
      } else {
        res.writeHead(201, { etag: 'W/"7"', "content-length": Buffer.byteLength(answer) });
        res.end(answer);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as AddressInfo).port, seen, sockets };
}

describe("the benchmarks' lean HTTP client", () => {
  it("reads lengths, chunked bodies, empty answers and ETags over one keep-alive connection", async () => {
    const { port, seen, sockets } = await echoServer();
    const client = createRawClient(port);
    onTestFinished(() => client.close());

    const a = await client.call("POST", "/items?x=1", '{"name":"ä"}', {
      "content-type": "application/json",
      authorization: "Bearer t",
    });
    expect(a).toEqual({
      status: 201,
      etag: 'W/"7"',
      text: JSON.stringify({ url: "/items?x=1", body: '{"name":"ä"}', é: "ü" }),
    });
    expect(seen[0]).toMatchObject({
      method: "POST",
      headers: { authorization: "Bearer t", "content-type": "application/json" },
    });

    const b = await client.call("GET", "/chunked");
    expect(b.status).toBe(200);
    expect(b.etag).toBe('"c1"');
    expect(JSON.parse(b.text)).toEqual({ url: "/chunked", body: "", é: "ü" });

    expect(await client.call("DELETE", "/empty")).toEqual({ status: 204, etag: '"e"', text: "" });
    // All three on one connection.
    expect(sockets.size).toBe(1);
  });

  it("opens a new connection after the server closed one, and fails a call whose connection drops", async () => {
    const { port, sockets } = await echoServer();
    const client = createRawClient(port);
    onTestFinished(() => client.close());
    expect((await client.call("GET", "/close")).text).toBe("ok");
    // The server's close reaches the client before the next call is made.
    await new Promise((r) => setTimeout(r, 50));
    expect((await client.call("GET", "/again")).status).toBe(201);
    expect(sockets.size).toBe(2);

    const dead = createRawClient(1);
    await expect(dead.call("GET", "/")).rejects.toThrow();
  });
});
