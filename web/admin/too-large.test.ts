/**
 * A body over the limit (1 MiB): a page's form (the branding logo upload, the branding form)
 * gets an HTML page that says the limit and links back to the form's page, whether its length
 * was announced or it came chunked; an API client keeps its JSON 413. Nothing is saved.
 */
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_BODY_BYTES } from "../../query/api/index.js";
import { startWebServer, TOKEN, type WebServer } from "../../test/support/web-fixture.js";

let s: WebServer;
beforeAll(async () => {
  s = await startWebServer();
}, 60_000);
afterAll(async () => {
  await s?.close();
});

const admin = { authorization: `Bearer ${TOKEN}` };
const BOUNDARY = "----flowtally-test-7d1c";

/** A multipart form with one file field `logo` of `size` bytes (a PNG signature, then zeros). */
function logoForm(size: number): Buffer {
  const file = Buffer.alloc(size);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(file);
  return Buffer.concat([
    Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="logo"; filename="big.png"\r\nContent-Type: image/png\r\n\r\n`,
    ),
    file,
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ]);
}

/** Sends `body` chunked (no Content-Length), as a browser streaming a body may. */
function chunked(
  path: string,
  body: Buffer,
  headers: Record<string, string>,
): Promise<{ status: number; type: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: s.port, method: "POST", path, headers },
      (res) => {
        const parts: Buffer[] = [];
        res.on("data", (d: Buffer) => parts.push(d));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers["content-type"]),
            text: Buffer.concat(parts).toString("utf8"),
          }),
        );
      },
    );
    // The server may answer before it has read everything: that is its right.
    req.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EPIPE" && e.code !== "ECONNRESET") reject(e);
    });
    for (let k = 0; k < body.length; k += 64 * 1024) req.write(body.subarray(k, k + 64 * 1024));
    req.end();
  });
}

describe("a body over the limit", () => {
  it("a page's upload form gets a page saying the limit with a way back; nothing saved", async () => {
    const before = await s.http("GET", "/api/v1/settings/branding", { headers: admin });
    const multipart = { "content-type": `multipart/form-data; boundary=${BOUNDARY}` };
    const body = logoForm(MAX_BODY_BYTES + 100_000);
    const announced = await s.http("POST", "/console/admin/branding/logo", {
      headers: { ...admin, ...multipart },
      raw: body as unknown as string,
    });
    expect(announced.status).toBe(413);
    expect(announced.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(announced.text).toContain("larger than 1 MiB, the most a form takes; nothing was saved");
    expect(announced.text).toContain('<a href="/console/admin/branding">Back to the form</a>');
    expect(announced.text).not.toContain("FT_BODY_TOO_LARGE");

    const streamed = await chunked("/console/admin/branding/logo", body, {
      ...admin,
      ...multipart,
      "transfer-encoding": "chunked",
    });
    expect([streamed.status, streamed.type]).toEqual([413, "text/html; charset=utf-8"]);
    expect(streamed.text).toContain('<a href="/console/admin/branding">Back to the form</a>');

    // The branding form itself (its own page to go back to), urlencoded.
    const form = await s.http("POST", "/console/admin/branding", {
      headers: { ...admin, "content-type": "application/x-www-form-urlencoded" },
      raw: `title=${"x".repeat(MAX_BODY_BYTES)}`,
    });
    expect([form.status, form.headers["content-type"]]).toEqual([413, "text/html; charset=utf-8"]);
    expect(form.text).toContain('<a href="/console/admin/branding">Back to the form</a>');

    const after = await s.http("GET", "/api/v1/settings/branding", { headers: admin });
    expect(after.json).toEqual(before.json);
  });

  it("an API client gets its JSON 413, announced or chunked", async () => {
    const big = JSON.stringify({ motd: "x".repeat(MAX_BODY_BYTES) });
    const put = await s.http("PUT", "/api/v1/settings/motd", { headers: admin, raw: big });
    expect(put.status).toBe(413);
    expect(put.headers["content-type"]).toMatch(/^application\/json/);
    expect(put.json.error).toEqual({
      code: "FT_BODY_TOO_LARGE",
      message: `the request body is larger than ${MAX_BODY_BYTES} bytes`,
    });
    const streamed = await chunked("/api/v1/users", Buffer.from(big), {
      ...admin,
      "content-type": "application/json",
      "transfer-encoding": "chunked",
    });
    expect(streamed.status).toBe(413);
    expect(JSON.parse(streamed.text).error.code).toBe("FT_BODY_TOO_LARGE");
  });
});
