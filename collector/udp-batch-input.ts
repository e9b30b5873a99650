/**
 * The collector's UDP shell on the native batched receive path (native/udp_batch.c): the socket
 * is polled by libuv from the main thread and read with recvmmsg(2), up to 64 datagrams per
 * call, with one JS call per batch instead of dgram's Buffer + rinfo + callback per datagram.
 * Same interface and semantics as {@link openUdpInput}, with one difference callers must know:
 * the payload handed to `onDatagram` is a view of a receive buffer that the next batch
 * overwrites, so it is valid during the call only; copy what must outlive it. (The flow decoder
 * keeps nothing: held data sets are copied in decoder-core.ts `hold`.)
 *
 * The addon is optional: it is built by scripts/setup.sh when a compiler is there, and
 * {@link openUdpInputBest} falls back to node:dgram when it is not.
 */
import { lookup } from "node:dns/promises";
import { createRequire } from "node:module";
import { isIPv4, isIPv6, SocketAddress } from "node:net";
import { fileURLToPath } from "node:url";
import { parseHostPort } from "../schema/units.js";
import {
  CLOSE_COUNT_MAX_MS,
  drainSocket,
  openUdpInput,
  socketDrops,
  type UdpInput,
  type UdpInputOptions,
} from "./udp-input.js";

/** What native/udp_batch.c exports (see the comment at its top). */
export interface NativeUdp {
  open(options: {
    family: 4 | 6;
    address: string;
    port: number;
    receiveBufferBytes: number;
    payload: Uint8Array;
    slotBytes: number;
    meta: Int32Array;
    /** Read on a timer of this period while traffic flows (0: on readability only). */
    coalesceMs: number;
    onBatch(count: number): void;
  }): NativeUdpHandle;
  close(handle: NativeUdpHandle, onClosed: () => void): void;
}

export interface NativeUdpHandle {
  readonly address: string;
  readonly port: number;
  /** SO_RCVBUF as the kernel reports it (twice what was granted). */
  readonly receiveBufferBytes: number;
  /** Whether SO_RCVBUFFORCE was allowed (root): the size is then not capped by rmem_max. */
  readonly forced: boolean;
  /** Datagrams read per recvmmsg call at most. */
  readonly batch: number;
}

/**
 * While datagrams flow, the socket is read every millisecond instead of at each readable event,
 * so that reads find batches rather than one or two datagrams (see native/udp_batch.c).
 */
const COALESCE_MS = 1;
/** Datagrams per recvmmsg call. */
const BATCH = 64;
/** Room per datagram: the largest UDP payload (65507 over IPv4, 65527 over IPv6) fits. */
const SLOT_BYTES = 65536;
/** Int32 words per datagram in `meta`: length, family, address as 4 big-endian words. */
const META_WORDS = 6;
/** Distinct exporter names cached at most; past it the cache starts over. */
const MAX_CACHED_NAMES = 65536;

/** The compiled addon, relative to this module in the source tree and in dist/. */
const ADDON_CANDIDATES = [
  "../native/build/Release/udp_batch.node",
  "../../native/build/Release/udp_batch.node",
];

let loaded: { native: NativeUdp | null; reason: string | null } | undefined;

/**
 * The native receive path, or null when it can't be used; {@link nativeUdpUnavailableReason}
 * then says why, for a log line. Loaded once.
 */
export function loadNativeUdp(): NativeUdp | null {
  if (loaded === undefined) {
    loaded = loadNativeUdpFrom(
      ADDON_CANDIDATES.map((rel) => fileURLToPath(new URL(rel, import.meta.url))),
    );
  }
  return loaded.native;
}

/** Why {@link loadNativeUdp} returned null (null when it did not). */
export function nativeUdpUnavailableReason(): string | null {
  loadNativeUdp();
  return loaded!.reason;
}

/** Loads the first of `paths` that exists; exported for tests. */
export function loadNativeUdpFrom(paths: readonly string[]): {
  native: NativeUdp | null;
  reason: string | null;
} {
  if (process.platform !== "linux") {
    return { native: null, reason: `recvmmsg is Linux-only (platform ${process.platform})` };
  }
  const require = createRequire(import.meta.url);
  const errors: string[] = [];
  for (const path of paths) {
    try {
      const m = require(path) as Partial<NativeUdp>;
      if (typeof m.open !== "function" || typeof m.close !== "function") {
        errors.push(`${path}: not the udp_batch addon`);
        continue;
      }
      return { native: m as NativeUdp, reason: null };
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === "MODULE_NOT_FOUND") continue;
      errors.push(`${path}: ${err.message}`);
    }
  }
  return {
    native: null,
    reason:
      errors.length > 0
        ? `native/build/Release/udp_batch.node failed to load: ${errors.join("; ")}`
        : "native/build/Release/udp_batch.node is not built (scripts/setup.sh builds it when g++, make and python3 are present)",
  };
}

export type UdpBackend = "recvmmsg" | "dgram";

/**
 * Opens the input on the native batched path when the addon is available, else on node:dgram;
 * the returned input's `backend` says which. `backend` forces one ("recvmmsg" fails when the
 * addon is not available).
 */
export async function openUdpInputBest(
  opts: UdpInputOptions,
  backend: UdpBackend | "auto" = "auto",
): Promise<UdpInput & { backend: UdpBackend }> {
  if (backend === "dgram" || (backend === "auto" && loadNativeUdp() === null)) {
    return Object.assign(await openUdpInput(opts), { backend: "dgram" as const });
  }
  return openBatchedUdpInput(opts);
}

/**
 * {@link openUdpInput} on the native batched path; throws when the addon is not available.
 * `coalesceMs` is for benchmarks and tests.
 */
export async function openBatchedUdpInput(
  opts: UdpInputOptions,
  coalesceMs = COALESCE_MS,
): Promise<UdpInput & { backend: "recvmmsg" }> {
  const native = loadNativeUdp();
  if (native === null) throw new Error(`native UDP input: ${nativeUdpUnavailableReason()}`);
  const hp = parseHostPort(opts.listen);
  if (hp === null) throw new RangeError(`${opts.listen}: not "host:port"`);
  let family: 4 | 6;
  let address = hp.host;
  if (isIPv6(address)) family = 6;
  else if (isIPv4(address)) family = 4;
  else {
    // As dgram's udp4 bind does with a name.
    address = (await lookup(address, { family: 4 })).address;
    family = 4;
  }
  const type = family === 6 ? "udp6" : "udp4";

  const payloadBuffer = Buffer.alloc(BATCH * SLOT_BYTES);
  const payloadAb = payloadBuffer.buffer;
  const payloadBase = payloadBuffer.byteOffset;
  const meta = new Int32Array(BATCH * META_WORDS);
  const names = new ExporterNames();
  const stats = { datagrams: 0, bytes: 0 };
  const onDatagram = opts.onDatagram;
  const undrained = { datagrams: 0, bytes: 0 as number | null };
  let open = true;
  let lastAddress = 0;
  let lastName = "";

  const onBatch = (count: number): void => {
    const receivedMs = Date.now();
    let i = 0;
    for (; i < count && open; i++) {
      const m = i * META_WORDS;
      const length = meta[m]!;
      const a = meta[m + 2]!;
      let exporter: string;
      if (meta[m + 1] === 4) {
        if (a === lastAddress && lastName !== "") exporter = lastName;
        else {
          exporter = names.ipv4(a);
          lastAddress = a;
          lastName = exporter;
        }
      } else {
        exporter = names.ipv6(a, meta[m + 3]!, meta[m + 4]!, meta[m + 5]!);
      }
      stats.datagrams++;
      stats.bytes += length;
      const start = i * SLOT_BYTES;
      // A plain Uint8Array view: cheaper to make than a Buffer one, per datagram.
      onDatagram(new Uint8Array(payloadAb, payloadBase + start, length), exporter, receivedMs);
    }
    // Closing: read, not delivered (also the rest of a batch a close from the callback cut).
    undrained.datagrams += count - i;
  };

  const handle = native.open({
    family,
    address,
    port: hp.port,
    receiveBufferBytes: opts.receiveBufferBytes,
    payload: payloadBuffer,
    slotBytes: SLOT_BYTES,
    meta,
    coalesceMs,
    onBatch,
  });
  const port = handle.port;
  const baseline = socketDrops(type, port);
  const drops = () => {
    const now = socketDrops(type, port);
    return now === null || baseline === null ? now : now - baseline;
  };
  /** Read just before closing: the socket's line leaves /proc with it. */
  let closedDrops: number | null | undefined;
  let closing: Promise<void> | undefined;
  return {
    listen: opts.listen,
    address: { address: handle.address, port, family: type },
    receiveBufferBytes: handle.receiveBufferBytes,
    stats,
    backend: "recvmmsg",
    kernelDrops: () => (closedDrops === undefined ? drops() : closedDrops),
    drain: () => (open ? drainSocket(type, port) : Promise.resolve(null)),
    close: () => {
      open = false;
      closing ??= drainSocket(type, port, CLOSE_COUNT_MAX_MS).then(
        (left) =>
          new Promise<void>((resolve) => {
            undrained.bytes = left;
            closedDrops = drops();
            native.close(handle, resolve);
          }),
      );
      return closing;
    },
    undrained: () => ({ ...undrained }),
  };
}

/**
 * Exporter address strings, made once per source address: an IPv4 address (also an IPv4-mapped
 * one on a dual-stack socket) in dotted form, an IPv6 address as dgram would write it.
 */
export class ExporterNames {
  private v4 = new Map<number, string>();
  /** By a hash of the four words; a bucket lists the addresses that share it. */
  private v6 = new Map<number, Array<{ w: [number, number, number, number]; name: string }>>();
  private size = 0;

  ipv4(a: number): string {
    let name = this.v4.get(a);
    if (name === undefined) {
      name = `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
      this.count();
      this.v4.set(a, name);
    }
    return name;
  }

  ipv6(w0: number, w1: number, w2: number, w3: number): string {
    const h = (Math.imul(w0 ^ Math.imul(w1, 0x9e3779b1), 0x85ebca6b) ^ w2 ^ Math.imul(w3, 31)) | 0;
    let bucket = this.v6.get(h);
    if (bucket !== undefined) {
      for (const e of bucket) {
        if (e.w[0] === w0 && e.w[1] === w1 && e.w[2] === w2 && e.w[3] === w3) return e.name;
      }
    }
    const groups: string[] = [];
    for (const w of [w0, w1, w2, w3]) {
      groups.push(((w >>> 16) & 0xffff).toString(16), (w & 0xffff).toString(16));
    }
    // libuv's formatting (the one dgram's rinfo uses): zero runs compressed, lower case.
    const name = new SocketAddress({ address: groups.join(":"), family: "ipv6" }).address;
    this.count();
    if (bucket === undefined) {
      bucket = [];
      this.v6.set(h, bucket);
    }
    bucket.push({ w: [w0, w1, w2, w3], name });
    return name;
  }

  /** Starts over past the bound, so spoofed sources can't grow the cache without end. */
  private count(): void {
    if (++this.size <= MAX_CACHED_NAMES) return;
    this.v4.clear();
    this.v6.clear();
    this.size = 1;
  }
}
