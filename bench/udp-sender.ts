/**
 * Sends a pre-generated stream of export datagrams ({@link DatagramPack}) over UDP to loopback
 * ports at a target rate in records/s, and reports what it achieved. With several ports, every
 * datagram goes to each of them in turn, so that two collectors receive the same stream in one
 * run. {@link sendInWorker} runs the sender in a worker thread that reads the pack from shared
 * memory, so the sending costs neither the receivers nor the orchestrating thread.
 *
 * Pacing: time is cut in slices (1 ms by default); at each slice the sender sends what the
 * target allows up to the end of that slice, then sleeps. When it cannot keep up it sends
 * without sleeping, and the achieved rate says so.
 *
 * Only 127.0.0.1 and ::1 are accepted as destinations: a benchmark never sends anywhere else.
 */
import { createSocket, type Socket } from "node:dgram";
import { setTimeout as sleep, setImmediate as yieldToLoop } from "node:timers/promises";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import type { DatagramPack } from "./flow-generator.js";

export type LoopbackHost = "127.0.0.1" | "::1";

export interface SendOptions {
  pack: Pick<DatagramPack, "bytes" | "offsets" | "recordCounts" | "datagrams">;
  /** Destination ports on `host`; each datagram is sent to every port. */
  ports: readonly number[];
  host?: LoopbackHost;
  /** Target data records per second (each copy counted once); 0: as fast as possible. */
  recordsPerSecond: number;
  /** Pacing slice (default 1 ms). */
  sliceMs?: number;
  /** SO_SNDBUF of each socket (default 4 MiB; the kernel caps it at net.core.wmem_max). */
  sendBufferBytes?: number;
}

export interface SendReport {
  datagrams: number;
  records: number;
  bytes: number;
  /** Ports each datagram went to. */
  copies: number;
  seconds: number;
  targetRecordsPerSecond: number;
  recordsPerSecond: number;
  datagramsPerSecond: number;
  /** Sends that failed (each copy counted), and the first error's message. */
  errors: number;
  firstError: string | null;
  /** Largest lag behind the schedule seen at a slice boundary, ms. */
  maxLagMs: number;
}

/** Throws unless `host` is the IPv4 or IPv6 loopback address. */
export function assertLoopback(host: string): asserts host is LoopbackHost {
  if (host !== "127.0.0.1" && host !== "::1")
    throw new Error(`refusing to send to ${host}: only 127.0.0.1 and ::1 are allowed`);
}

/** Datagrams sent per turn of the event loop at most, so send callbacks get to run. */
const MAX_PER_TURN = 512;
/** Sends whose callback has not run yet, at most, before the sender waits for them. */
const MAX_PENDING = 8192;

async function connectedSocket(host: LoopbackHost, port: number, sndbuf: number): Promise<Socket> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`bad port ${port}`);
  const socket = createSocket(host === "::1" ? "udp6" : "udp4");
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.connect(port, host, () => {
      socket.off("error", reject);
      resolve();
    });
  });
  try {
    socket.setSendBufferSize(sndbuf);
  } catch {
    // keep the default size
  }
  // ICMP port unreachable surfaces as an error event on a connected socket: count, don't crash.
  return socket;
}

/** Sends the pack in the calling thread. */
export async function sendDatagrams(opts: SendOptions): Promise<SendReport> {
  const host = opts.host ?? "127.0.0.1";
  assertLoopback(host);
  if (opts.ports.length === 0) throw new Error("no destination port");
  const rate = opts.recordsPerSecond;
  if (!(rate >= 0)) throw new RangeError(`recordsPerSecond: ${rate}`);
  const sliceMs = opts.sliceMs ?? 1;
  const sockets = await Promise.all(
    opts.ports.map((p) => connectedSocket(host, p, opts.sendBufferBytes ?? 4 * 1024 * 1024)),
  );
  const { bytes: data, offsets, recordCounts, datagrams: n } = opts.pack;

  let errors = 0;
  let firstError: string | null = null;
  let pending = 0;
  const onError = (err: Error | null) => {
    if (err === null) return;
    errors++;
    firstError ??= err.message;
  };
  const onSent = (err: Error | null) => {
    pending--;
    onError(err);
  };
  for (const s of sockets) s.on("error", onError);

  let i = 0;
  let records = 0;
  let bytes = 0;
  let maxLagMs = 0;
  const t0 = performance.now();
  while (i < n) {
    const elapsed = performance.now() - t0;
    let allowed = Number.POSITIVE_INFINITY;
    if (rate > 0) {
      allowed = (rate * (elapsed + sliceMs)) / 1000;
      // How far behind schedule the previous slices left us.
      const lag = elapsed - (records / rate) * 1000;
      if (lag > maxLagMs) maxLagMs = lag;
    }
    let turn = 0;
    while (i < n && records < allowed && turn < MAX_PER_TURN) {
      const off = offsets[i]!;
      const len = offsets[i + 1]! - off;
      const buf = Buffer.from(data.buffer, data.byteOffset + off, len);
      for (const s of sockets) {
        pending++;
        s.send(buf, onSent);
      }
      records += recordCounts[i]!;
      bytes += len;
      i++;
      turn++;
    }
    while (pending > MAX_PENDING) await yieldToLoop();
    if (i < n && records >= allowed) await sleep(sliceMs);
    else await yieldToLoop();
  }
  while (pending > 0) await yieldToLoop();
  const seconds = (performance.now() - t0) / 1000;
  await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return {
    datagrams: n,
    records,
    bytes,
    copies: sockets.length,
    seconds,
    targetRecordsPerSecond: rate,
    recordsPerSecond: records / seconds,
    datagramsPerSecond: n / seconds,
    errors,
    firstError,
    maxLagMs,
  };
}

const WORKER_KIND = "flowtally-bench-udp-sender";

/**
 * Sends the pack from a worker thread. The pack's arrays should be backed by a
 * SharedArrayBuffer (as {@link generateDatagrams} makes them): they are then shared, not copied.
 */
export function sendInWorker(opts: SendOptions): Promise<SendReport> {
  assertLoopback(opts.host ?? "127.0.0.1");
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), {
      workerData: { kind: WORKER_KIND, options: opts },
    });
    let report: SendReport | undefined;
    worker.once("message", (m: SendReport) => {
      report = m;
    });
    worker.once("error", reject);
    worker.once("exit", (code) => {
      if (report !== undefined) resolve(report);
      else reject(new Error(`sender worker exited with code ${code} and no report`));
    });
  });
}

if (!isMainThread && (workerData as { kind?: unknown } | null)?.kind === WORKER_KIND) {
  const { options } = workerData as { options: SendOptions };
  parentPort?.postMessage(await sendDatagrams(options));
}
