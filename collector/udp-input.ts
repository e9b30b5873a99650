/**
 * The collector's UDP shell: one socket per `inputs.netflow[].listen`, with the largest receive
 * buffer the kernel grants, handing every datagram with its exporter address and arrival time to
 * a callback. Drops in the kernel (a full receive buffer) are read from /proc: per socket from
 * /proc/net/udp{,6} (the `drops` column of the socket bound to our port) and host-wide from
 * /proc/net/snmp (`Udp: RcvbufErrors`).
 */
import { createSocket, type Socket } from "node:dgram";
import { readFileSync } from "node:fs";
import { isIPv6 } from "node:net";
import { parseHostPort } from "../schema/units.js";

export interface UdpInputOptions {
  /** "host:port"; IPv6 as "[::]:2055" (that socket also receives IPv4, as mapped addresses). */
  listen: string;
  /** Requested SO_RCVBUF in bytes; the kernel caps it at net.core.rmem_max. */
  receiveBufferBytes: number;
  onDatagram(payload: Uint8Array, exporter: string, receivedMs: number): void;
}

export interface UdpInput {
  readonly listen: string;
  /** Address and port actually bound (port 0 in the config binds a free port). */
  readonly address: { address: string; port: number; family: "udp4" | "udp6" };
  /** Receive buffer the kernel granted (what it reports, which is twice what it can hold). */
  readonly receiveBufferBytes: number;
  readonly stats: { datagrams: number; bytes: number };
  /** How datagrams are read: node:dgram, or the native batched path (udp-batch-input.ts). */
  readonly backend?: "recvmmsg" | "dgram";
  /**
   * Datagrams the kernel dropped on this socket since it opened (null when /proc can't tell);
   * after `close`, the count at closing.
   */
  kernelDrops(): number | null;
  /**
   * Lets the socket be read until the kernel's receive queue is empty (at most DRAIN_MAX_MS),
   * so that datagrams queued at a stop are counted, not discarded with the socket; resolves with
   * the bytes still queued (0 when drained, null if /proc can't tell). Call before `close`.
   */
  drain(): Promise<number | null>;
  /**
   * Stops delivering at once (also from inside the callback), reads what the kernel still holds
   * without delivering it, counting it in `undrained` (at most CLOSE_COUNT_MAX_MS), and closes the
   * socket.
   */
  close(): Promise<void>;
  /**
   * What the socket held that was not delivered: `datagrams` read by `close` (and the rest of a
   * batch a close from the callback cut short), and `bytes` of the kernel's queue (rx_queue, as
   * the kernel accounts them) still unread when the socket closed, discarded without a count (a
   * sender that kept sending; null if /proc can't tell). Both 0 after a `drain` that emptied it.
   */
  undrained(): { datagrams: number; bytes: number | null };
}

export async function openUdpInput(opts: UdpInputOptions): Promise<UdpInput> {
  const hp = parseHostPort(opts.listen);
  if (hp === null) throw new RangeError(`${opts.listen}: not "host:port"`);
  const type = isIPv6(hp.host) ? "udp6" : "udp4";
  const socket: Socket = createSocket({
    type,
    reuseAddr: false,
    recvBufferSize: opts.receiveBufferBytes,
  });
  const stats = { datagrams: 0, bytes: 0 };
  const onDatagram = opts.onDatagram;
  const undrained = { datagrams: 0, bytes: 0 as number | null };
  let delivering = true;
  socket.on("message", (msg, rinfo) => {
    if (!delivering) {
      undrained.datagrams++;
      return;
    }
    stats.datagrams++;
    stats.bytes += msg.length;
    const a = rinfo.address;
    // A dual-stack socket reports IPv4 exporters as ::ffff:a.b.c.d; key them by the IPv4 form.
    onDatagram(msg, a.startsWith("::ffff:") ? a.slice(7) : a, Date.now());
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    socket.once("error", onError);
    socket.bind(hp.port, hp.host, () => {
      socket.off("error", onError);
      resolve();
    });
  });
  // After bind: a later socket error (rare for UDP) must not crash the process.
  socket.on("error", () => {});
  const bound = socket.address();
  const granted = socket.getRecvBufferSize();
  const baseline = socketDrops(type, bound.port);
  const drops = () => {
    const now = socketDrops(type, bound.port);
    return now === null || baseline === null ? now : now - baseline;
  };
  /** Read just before closing: the socket's line leaves /proc with it. */
  let closedDrops: number | null | undefined;
  let closing: Promise<void> | undefined;
  return {
    listen: opts.listen,
    address: { address: bound.address, port: bound.port, family: type },
    receiveBufferBytes: granted,
    stats,
    backend: "dgram",
    kernelDrops: () => (closedDrops === undefined ? drops() : closedDrops),
    drain: () => (delivering ? drainSocket(type, bound.port) : Promise.resolve(null)),
    close: () => {
      delivering = false;
      closing ??= drainSocket(type, bound.port, CLOSE_COUNT_MAX_MS).then(
        (left) =>
          new Promise<void>((resolve) => {
            undrained.bytes = left;
            closedDrops = drops();
            socket.close(() => resolve());
          }),
      );
      return closing;
    },
    undrained: () => ({ ...undrained }),
  };
}

/**
 * Bytes waiting in the receive queue of the UDP socket bound to `port` (/proc/net/udp{,6}
 * `rx_queue`, summed if several), null when /proc can't tell.
 */
export function socketQueue(type: "udp4" | "udp6", port: number): number | null {
  let text: string;
  try {
    text = readFileSync(type === "udp4" ? "/proc/net/udp" : "/proc/net/udp6", "utf8");
  } catch {
    return null;
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  let found = false;
  let bytes = 0;
  for (const line of text.split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (!cols[1]?.endsWith(`:${hexPort}`)) continue;
    const rx = Number.parseInt(cols[4]?.split(":")[1] ?? "", 16);
    if (!Number.isFinite(rx)) continue;
    found = true;
    bytes += rx;
  }
  return found ? bytes : null;
}

/** How long a stop waits at most for a socket's queue to be read empty. */
export const DRAIN_MAX_MS = 2000;
/**
 * How long `close` reads at most to count what is still queued (after a drain, nothing: this
 * bounds a close without one, or with a sender that kept sending).
 */
export const CLOSE_COUNT_MAX_MS = 500;

/**
 * On stop, before the socket closes: lets the event loop read what the kernel still holds, until
 * the receive queue reads empty (or `maxMs` passed). A datagram queued at stop is counted, not
 * discarded with the socket. Returns the bytes still queued (0 when drained, null if unknown).
 */
export async function drainSocket(
  type: "udp4" | "udp6",
  port: number,
  maxMs = DRAIN_MAX_MS,
): Promise<number | null> {
  const until = Date.now() + maxMs;
  let queued = socketQueue(type, port);
  while (queued !== null && queued > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 1));
    queued = socketQueue(type, port);
  }
  return queued;
}

/** The kernel's per-socket drop counter of the UDP socket bound to `port` (sum if several). */
export function socketDrops(type: "udp4" | "udp6", port: number): number | null {
  let text: string;
  try {
    text = readFileSync(type === "udp4" ? "/proc/net/udp" : "/proc/net/udp6", "utf8");
  } catch {
    return null;
  }
  return parseSocketDrops(text, port);
}

/** Pure: sums the `drops` column of the lines of /proc/net/udp{,6} whose local port is `port`. */
export function parseSocketDrops(procNetUdp: string, port: number): number | null {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  let found = false;
  let drops = 0;
  for (const line of procNetUdp.split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    const local = cols[1];
    if (local === undefined || !local.endsWith(`:${hexPort}`)) continue;
    const d = Number(cols[cols.length - 1]);
    if (!Number.isFinite(d)) continue;
    found = true;
    drops += d;
  }
  return found ? drops : null;
}

/** Host-wide UDP receive-buffer errors (/proc/net/snmp `Udp: RcvbufErrors`), null if unknown. */
export function readRcvbufErrors(snmp?: string): number | null {
  let text = snmp;
  if (text === undefined) {
    try {
      text = readFileSync("/proc/net/snmp", "utf8");
    } catch {
      return null;
    }
  }
  const lines = text.split("\n").filter((l) => l.startsWith("Udp:"));
  if (lines.length < 2) return null;
  const names = lines[0]!.trim().split(/\s+/);
  const values = lines[1]!.trim().split(/\s+/);
  const k = names.indexOf("RcvbufErrors");
  if (k < 0) return null;
  const v = Number(values[k]);
  return Number.isFinite(v) ? v : null;
}
