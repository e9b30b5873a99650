/**
 * A lean HTTP/1.1 client for the load benchmarks: one keep-alive connection, one request at a
 * time, the request written as one string and the answer read with a minimal parser (status,
 * ETag, a Content-Length or chunked body), as autocannon does. With node's http client the 50
 * clients of bench/registry-api.ts took 46 % of a core (at 2 800 requests/s) from the two cores
 * the server measured beside them runs on; with this one 24 % (at 3 400/s; bench/README.md).
 */
import { connect, type Socket } from "node:net";

export interface RawAnswer {
  status: number;
  etag: string | undefined;
  text: string;
}

export interface RawClient {
  call(
    method: string,
    path: string,
    body?: string,
    headers?: Readonly<Record<string, string>>,
  ): Promise<RawAnswer>;
  close(): void;
}

const HEAD_END = Buffer.from("\r\n\r\n");

export function createRawClient(port: number, host = "127.0.0.1"): RawClient {
  let socket: Socket | undefined;
  let buffered: Buffer = Buffer.alloc(0);
  let waiting: { resolve: (a: RawAnswer) => void; reject: (e: Error) => void } | undefined;

  function open(): Socket {
    const s = connect(port, host);
    s.setNoDelay(true);
    s.on("data", (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      parse();
    });
    const gone = (e?: Error) => {
      if (socket === s) socket = undefined;
      buffered = Buffer.alloc(0);
      const w = waiting;
      waiting = undefined;
      w?.reject(e ?? new Error("the server closed the connection"));
    };
    s.on("error", gone);
    s.on("close", () => gone());
    return s;
  }

  /** Resolves the waiting request once its whole answer is in `buffered`. */
  function parse(): void {
    if (waiting === undefined) return;
    const end = buffered.indexOf(HEAD_END);
    if (end < 0) return;
    const head = buffered.toString("latin1", 0, end);
    const lines = head.split("\r\n");
    const status = Number(lines[0]!.slice(9, 12));
    let length = -1;
    let chunked = false;
    let etag: string | undefined;
    for (let k = 1; k < lines.length; k++) {
      const line = lines[k]!;
      const colon = line.indexOf(":");
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === "content-length") length = Number(value);
      else if (name === "transfer-encoding") chunked = value.toLowerCase().includes("chunked");
      else if (name === "etag") etag = value;
    }
    const start = end + HEAD_END.length;
    let text: string;
    let consumed: number;
    if (chunked) {
      const parts: Buffer[] = [];
      let at = start;
      for (;;) {
        const lineEnd = buffered.indexOf("\r\n", at);
        if (lineEnd < 0) return;
        const size = Number.parseInt(buffered.toString("latin1", at, lineEnd), 16);
        if (buffered.length < lineEnd + 2 + size + 2) return;
        if (size === 0) {
          consumed = lineEnd + 4;
          break;
        }
        parts.push(buffered.subarray(lineEnd + 2, lineEnd + 2 + size));
        at = lineEnd + 2 + size + 2;
      }
      text = Buffer.concat(parts).toString("utf8");
    } else {
      const size = length < 0 ? 0 : length;
      if (buffered.length < start + size) return;
      text = buffered.toString("utf8", start, start + size);
      consumed = start + size;
    }
    buffered = buffered.subarray(consumed);
    const w = waiting;
    waiting = undefined;
    w.resolve({ status, etag, text });
  }

  return {
    call(method, path, body, headers = {}) {
      socket ??= open();
      let request = `${method} ${path} HTTP/1.1\r\nhost: ${host}:${port}\r\n`;
      for (const [name, value] of Object.entries(headers)) request += `${name}: ${value}\r\n`;
      if (body !== undefined) request += `content-length: ${Buffer.byteLength(body)}\r\n`;
      request += `\r\n${body ?? ""}`;
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
        socket!.write(request);
      });
    },
    close() {
      socket?.destroy();
      socket = undefined;
    },
  };
}
