/**
 * The packet path's live shell: one libpcap capture per `inputs.capture[]` entry, through the
 * optional npm package `pcap` (node_pcap's native binding, loaded on first use), handing every
 * frame with its capture time and link type to a callback (the packet collector).
 *
 * How it reads: the handle is non-blocking and a timer drains it every `pollMs` (node_pcap's own
 * fd watcher would keep the process alive after `close` on an idle interface: libpcap only
 * honours the break request when a packet arrives). On Linux the kernel hands packets over in
 * blocks (TPACKET_V3) that it releases when full or after `blockTimeoutMs`, so a packet is
 * counted at most that long after it arrived; `close` waits that long once more so that nothing
 * received before it is lost. Kernel statistics (pcap_stats: received, dropped because the
 * buffer was full, dropped by the interface) are read every `statsMs` and once more at close.
 * A frame the callback throws on is counted and skipped: nothing throws past a packet.
 */
import { createRequire } from "node:module";
import type { Logger } from "pino";
import { FlowtallyError } from "../schema/errors.js";

export interface CaptureInputOptions {
  /** Network interface ("eth1", "any"). */
  interface: string;
  /** BPF filter (tcpdump syntax); "" captures everything. */
  filter: string;
  /** Bytes kept of each frame: headers only; bytes are counted from the IP total length. */
  snaplen: number;
  /** Kernel capture buffer in bytes: what absorbs bursts while the collector is busy. */
  bufferSize: number;
  promiscuous: boolean;
  /** Where the config set this input ("inputs.capture[0]"), for error messages. */
  path?: string;
}

export interface CaptureTimings {
  /** Period of the reads from the kernel buffer. */
  pollMs: number;
  /** How long the kernel may hold a partly filled block of packets (pcap_set_timeout). */
  blockTimeoutMs: number;
  /** Period of the kernel statistics reads. */
  statsMs: number;
}

export interface CaptureKernelStats {
  /** Packets the kernel passed through the filter (ps_recv). */
  received: number;
  /** Packets dropped because the capture buffer was full (ps_drop). */
  dropped: number;
  /** Packets the interface or its driver dropped (ps_ifdrop), where the platform tells. */
  interfaceDropped: number;
}

export interface CaptureInput {
  readonly interface: string;
  /** pcap LINKTYPE of the frames (1 Ethernet, 113 Linux cooked, 101 raw IP...). */
  readonly linkType: number;
  readonly linkTypeName: string;
  readonly snaplen: number;
  readonly bufferSize: number;
  readonly stats: {
    /** Frames handed to the callback. */
    packets: number;
    /** Reads that failed (the interface went down or disappeared). */
    readErrors: number;
    /** Frames the callback threw on (counted and skipped). */
    callbackErrors: number;
  };
  /** Kernel statistics since open, as of the last read; after `close`, the final ones. */
  kernelStats(): CaptureKernelStats;
  /** Counts what the kernel still holds, then stops the capture. */
  close(): Promise<void>;
}

export type OnFrame = (frame: Uint8Array, linkType: number, tsSec: number, tsNsec: number) => void;

/** node_pcap's native session (pcap_session.cc), the part of it we use. */
interface PcapBindingSession {
  open_live(
    device: string,
    filter: string,
    bufferSize: number,
    snaplen: number,
    outfile: string,
    onPacket: () => void,
    monitor: boolean,
    timeoutMs: number,
    onWarning: (message: string) => void,
    promiscuous: boolean,
  ): string;
  /** Reads every packet available; -1 on error, -2 once closed (the handle is then freed). */
  dispatch(frame: Buffer, header: Buffer): number;
  stats(): { ps_recv: number; ps_drop: number; ps_ifdrop: number };
  close(): void;
}

interface PcapBinding {
  PcapSession: new () => PcapBindingSession;
  lib_version(): string;
}

const defaultTimings: CaptureTimings = { pollMs: 10, blockTimeoutMs: 100, statsMs: 1000 };

/** LINKTYPE numbers of the names node_pcap gives the link layers it knows. */
const linkTypes: Readonly<Record<string, number>> = {
  LINKTYPE_NULL: 0,
  LINKTYPE_ETHERNET: 1,
  LINKTYPE_RAW: 101,
  LINKTYPE_LINUX_SLL: 113,
  LINKTYPE_IEEE802_11_RADIO: 127,
};

let binding: PcapBinding | undefined;
let bindingError: Error | undefined;

/** Loads node_pcap's native binding once; throws why it can't be loaded. */
function loadPcap(): PcapBinding {
  if (binding !== undefined) return binding;
  if (bindingError !== undefined) throw bindingError;
  try {
    const require = createRequire(import.meta.url);
    binding = require("pcap/build/Release/pcap_binding.node") as PcapBinding;
    return binding;
  } catch (e) {
    bindingError = e as Error;
    throw bindingError;
  }
}

/** libpcap's version string, or null when the `pcap` package is not built. */
export function pcapVersion(): string | null {
  try {
    return loadPcap().lib_version();
  } catch {
    return null;
  }
}

export async function openCaptureInput(
  opts: CaptureInputOptions,
  onFrame: OnFrame,
  deps: {
    log?: Pick<Logger, "warn" | "debug">;
    timings?: Partial<CaptureTimings>;
    /**
     * Called after each read, once its frames have gone to `onFrame`: a consumer that holds
     * frames back to count them in groups (PacketGroup) counts the rest here.
     */
    onReadEnd?: () => void;
  } = {},
): Promise<CaptureInput> {
  const t = { ...defaultTimings, ...deps.timings };
  const where = `${opts.path ?? "capture"} interface "${opts.interface}"`;
  let pcap: PcapBinding;
  try {
    pcap = loadPcap();
  } catch (e) {
    throw new FlowtallyError(
      "FT_CAPTURE_OPEN",
      `${where}: live capture is not available: the optional package "pcap" is not built (${firstLine(e)}). Install libpcap-dev, then run "npm ci" again (scripts/setup.sh does both)`,
      { cause: e },
    );
  }

  const session = new pcap.PcapSession();
  const snaplen = opts.snaplen;
  const frame = Buffer.alloc(snaplen);
  const header = Buffer.alloc(16);
  /** views[n]: the first n bytes of `frame`, made once per length so that a packet allocates nothing. */
  const views: Buffer[] = [];
  const stats = { packets: 0, readErrors: 0, callbackErrors: 0 };
  let linkType = -1;
  let closed = false;
  let lastCallbackErrorLog = Number.NEGATIVE_INFINITY;
  const callbackFailed = (e: unknown): void => {
    // The native caller turns an exception into a fatal one: count it, log it now and then.
    stats.callbackErrors++;
    const now = Date.now();
    if (now - lastCallbackErrorLog >= 10_000) {
      lastCallbackErrorLog = now;
      deps.log?.warn(
        { err: e, interface: opts.interface, callbackErrors: stats.callbackErrors },
        "a captured frame could not be processed (skipped)",
      );
    }
  };

  const onPacket = (): void => {
    if (closed) return;
    const tsSec = header.readUInt32LE(0);
    const tsUsec = header.readUInt32LE(4);
    let caplen = header.readUInt32LE(8);
    if (caplen > snaplen) caplen = snaplen;
    let view = views[caplen];
    if (view === undefined) {
      view = frame.subarray(0, caplen);
      views[caplen] = view;
    }
    stats.packets++;
    try {
      onFrame(view, linkType, tsSec, tsUsec * 1000);
    } catch (e) {
      callbackFailed(e);
    }
  };

  let linkTypeName: string;
  try {
    linkTypeName = session.open_live(
      opts.interface,
      opts.filter,
      opts.bufferSize,
      snaplen,
      "",
      onPacket,
      false,
      t.blockTimeoutMs,
      (message) => deps.log?.debug({ interface: opts.interface, message }, "libpcap"),
      opts.promiscuous,
    );
  } catch (e) {
    throw captureOpenError(where, opts, e);
  }
  linkType =
    linkTypes[linkTypeName] ?? Number(/Unknown linktype (\d+)/.exec(linkTypeName)?.[1] ?? -1);

  // pcap_stats counters are 32-bit and wrap: sum their differences.
  const kernel: CaptureKernelStats = { received: 0, dropped: 0, interfaceDropped: 0 };
  let last = { ps_recv: 0, ps_drop: 0, ps_ifdrop: 0 };
  const readStats = (): void => {
    let now: { ps_recv: number; ps_drop: number; ps_ifdrop: number };
    try {
      now = session.stats();
    } catch {
      return; // a closed handle: keep the last figures
    }
    kernel.received += (now.ps_recv - last.ps_recv) >>> 0;
    kernel.dropped += (now.ps_drop - last.ps_drop) >>> 0;
    kernel.interfaceDropped += (now.ps_ifdrop - last.ps_ifdrop) >>> 0;
    last = now;
  };
  readStats();

  let lastReadErrorLog = Number.NEGATIVE_INFINITY;
  const read = (): void => {
    const n = session.dispatch(frame, header);
    if (deps.onReadEnd !== undefined) {
      try {
        deps.onReadEnd();
      } catch (e) {
        callbackFailed(e);
      }
    }
    if (n === -1) {
      stats.readErrors++;
      const now = Date.now();
      if (now - lastReadErrorLog >= 60_000) {
        lastReadErrorLog = now;
        deps.log?.warn(
          { interface: opts.interface, readErrors: stats.readErrors },
          "capture read failed: the interface went down or disappeared",
        );
      }
    }
  };
  let sinceStats = 0;
  const timer = setInterval(() => {
    read();
    sinceStats += t.pollMs;
    if (sinceStats >= t.statsMs) {
      sinceStats = 0;
      readStats();
    }
  }, t.pollMs);

  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    // Packets already in a block the kernel has not released yet: wait for it, read them.
    await new Promise((resolve) => setTimeout(resolve, t.blockTimeoutMs + 2 * t.pollMs));
    clearInterval(timer);
    read();
    readStats();
    closed = true;
    session.close();
    // libpcap frees the handle on the next read that sees the break request, which needs a
    // packet: with one pending this frees it now; otherwise it is freed when the process exits.
    session.dispatch(frame, header);
  };

  return {
    interface: opts.interface,
    linkType,
    linkTypeName,
    snaplen,
    bufferSize: opts.bufferSize,
    stats,
    kernelStats: () => kernel,
    close: () => {
      closing ??= close();
      return closing;
    },
  };
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split("\n")[0] ?? "";
}

/** A coded error naming the input, what libpcap said and what to do about it. */
export function captureOpenError(
  where: string,
  opts: Pick<CaptureInputOptions, "filter" | "path">,
  e: unknown,
): FlowtallyError {
  const said = firstLine(e);
  const why = /no such device|doesn't exist|does not exist/i.test(said)
    ? `no such device (${said}): "ip link" lists the interfaces`
    : /permission|not permitted|EPERM|EACCES/i.test(said)
      ? `permission denied (${said}): run as root, or give node the capabilities: setcap cap_net_raw,cap_net_admin=eip "$(readlink -f "$(command -v node)")"`
      : /syntax error|filter|parse error|unknown host|illegal|expression/i.test(said)
        ? `${opts.path === undefined ? "filter" : `${opts.path}.filter`} ${JSON.stringify(opts.filter)} is not a valid BPF filter (${said})`
        : /not up|down/i.test(said)
          ? `the interface is down (${said}): "ip link set IFACE up"`
          : said;
  return new FlowtallyError("FT_CAPTURE_OPEN", `${where}: ${why}`, { cause: e });
}
