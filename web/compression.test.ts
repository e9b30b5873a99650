/**
 * Compressed answers (web/compression.ts) over a real started server: an asset and a page asked
 * with `Accept-Encoding: gzip` (and br) come back encoded, decode to exactly the bytes of the
 * plain answer, and say `Vary: Accept-Encoding`; without the header, or with q=0, they come back
 * plain (and still say Vary). The choice of coding against RFC 9110's rules, by hand.
 */
import { request } from "node:http";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PASSWORD, startWebServer, type WebServer } from "../test/support/web-fixture.js";
import { chooseCoding } from "./compression.js";

let s: WebServer;
let cookie = "";

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bytes: Buffer;
}

/** A GET that keeps the bytes as sent (no decoding). */
function raw(path: string, headers: Record<string, string>): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: s.port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          bytes: Buffer.concat(chunks),
        }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

const varies = (r: Raw) =>
  String(r.headers.vary ?? "")
    .toLowerCase()
    .split(",")
    .map((v) => v.trim())
    .includes("accept-encoding");

beforeAll(async () => {
  s = await startWebServer();
  const login = await s.http("POST", "/console/login", {
    headers: { "content-type": "application/x-www-form-urlencoded" },
    raw: new URLSearchParams({ user: "ops", password: PASSWORD }).toString(),
  });
  expect(login.status).toBe(303);
  cookie = String(login.headers["set-cookie"]).split(";", 1)[0]!;
});
afterAll(() => s.close());

describe("chooseCoding", () => {
  it("takes br or gzip by q-value, br on a tie, and neither when refused", () => {
    expect(chooseCoding(undefined)).toBeUndefined();
    expect(chooseCoding("")).toBeUndefined();
    expect(chooseCoding("identity")).toBeUndefined();
    expect(chooseCoding("deflate")).toBeUndefined();
    expect(chooseCoding("gzip")).toBe("gzip");
    expect(chooseCoding("x-gzip")).toBe("gzip");
    expect(chooseCoding("gzip, deflate, br")).toBe("br");
    expect(chooseCoding("GZIP;q=1.0, br;q=0.5")).toBe("gzip");
    expect(chooseCoding("br;q=0, gzip")).toBe("gzip");
    expect(chooseCoding("gzip;q=0, br;q=0")).toBeUndefined();
    expect(chooseCoding("*")).toBe("br");
    expect(chooseCoding("*;q=0.5, br;q=0")).toBe("gzip");
  });
});

describe("compressed answers", () => {
  async function assetPath(): Promise<string> {
    const page = await s.http("GET", "/console/login");
    const m = /<script src="(\/assets\/htmx-[^"]+)"/.exec(page.text);
    expect(m).not.toBeNull();
    return m![1]!;
  }

  it("sends an asset gzip-encoded to a client that accepts gzip, the same bytes once decoded", async () => {
    const path = await assetPath();
    const plain = await raw(path, {});
    expect(plain.status).toBe(200);
    expect(plain.headers["content-encoding"]).toBeUndefined();
    expect(varies(plain)).toBe(true);
    const gz = await raw(path, { "accept-encoding": "gzip" });
    expect(gz.status).toBe(200);
    expect(gz.headers["content-encoding"]).toBe("gzip");
    expect(varies(gz)).toBe(true);
    expect(gz.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(Number(gz.headers["content-length"])).toBe(gz.bytes.length);
    expect(gz.bytes.length).toBeLessThan(plain.bytes.length / 2);
    expect(gunzipSync(gz.bytes).equals(plain.bytes)).toBe(true);
    const br = await raw(path, { "accept-encoding": "gzip, deflate, br" });
    expect(br.headers["content-encoding"]).toBe("br");
    expect(brotliDecompressSync(br.bytes).equals(plain.bytes)).toBe(true);
    const refused = await raw(path, { "accept-encoding": "gzip;q=0, br;q=0" });
    expect(refused.headers["content-encoding"]).toBeUndefined();
    expect(refused.bytes.equals(plain.bytes)).toBe(true);
  });

  it("sends a page compressed, the same page once decoded, with the page's headers", async () => {
    const path = "/console?period=month&month=2026-11";
    const plain = await raw(path, { cookie });
    expect(plain.status).toBe(200);
    expect(plain.headers["content-encoding"]).toBeUndefined();
    expect(varies(plain)).toBe(true);
    expect(plain.bytes.toString("utf8")).toContain("Acme Corp");
    const gz = await raw(path, { cookie, "accept-encoding": "gzip" });
    expect(gz.headers["content-encoding"]).toBe("gzip");
    expect(varies(gz)).toBe(true);
    expect(gz.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(gz.headers["cache-control"]).toBe("no-store");
    expect(String(gz.headers["content-security-policy"])).toContain("script-src 'self'");
    expect(gunzipSync(gz.bytes).equals(plain.bytes)).toBe(true);
    const br = await raw(path, { cookie, "accept-encoding": "br" });
    expect(br.headers["content-encoding"]).toBe("br");
    expect(brotliDecompressSync(br.bytes).equals(plain.bytes)).toBe(true);
  });

  it("sends a small answer (a redirect) as it is, still saying Vary", async () => {
    const r = await raw("/portal", { cookie, "accept-encoding": "gzip" });
    expect(r.status).toBe(303);
    expect(r.headers["content-encoding"]).toBeUndefined();
    expect(varies(r)).toBe(true);
  });
});
