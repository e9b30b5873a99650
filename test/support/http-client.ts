/**
 * A small HTTP(S) client for API tests that need what fetch hides: the Set-Cookie header as sent,
 * an Origin or Cookie header of the test's choosing, a source address on the loopback network
 * (127.0.0.2, … as another client), and a self-signed CA.
 */
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: a test reads what it expects
  json: any;
}

export interface HttpOptions {
  headers?: Record<string, string>;
  /** Sent as JSON (content-type application/json) unless `raw`. */
  body?: unknown;
  raw?: string;
  /** The source address (loopback: 127.0.0.2 is another client). */
  localAddress?: string;
}

export function httpClient(base: { port: number; tls?: { ca: string } }) {
  return (method: string, path: string, o: HttpOptions = {}): Promise<HttpAnswer> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...o.headers };
      let payload: string | undefined;
      if (o.raw !== undefined) payload = o.raw;
      else if (o.body !== undefined) {
        payload = JSON.stringify(o.body);
        headers["content-type"] ??= "application/json";
      }
      if (payload !== undefined) headers["content-length"] = String(Buffer.byteLength(payload));
      const options = {
        host: "127.0.0.1",
        port: base.port,
        method,
        path,
        headers,
        agent: false as const,
        ...(o.localAddress === undefined ? {} : { localAddress: o.localAddress }),
        ...(base.tls === undefined ? {} : { ca: base.tls.ca, servername: "localhost" }),
      };
      const req = (base.tls === undefined ? httpRequest : httpsRequest)(options, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(payload);
    });
}

/** The `name=value` of a Set-Cookie header (for a Cookie header). */
export function cookieOf(a: HttpAnswer): string {
  const set = a.headers["set-cookie"];
  const first = Array.isArray(set) ? set[0] : set;
  if (first === undefined) throw new Error(`no Set-Cookie in ${a.status} ${a.text}`);
  return first.split(";", 1)[0]!;
}
