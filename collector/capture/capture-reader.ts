/**
 * The I/O shell around {@link createCaptureParser}: streams a capture file from disk in chunks
 * (never the whole file in memory) and hands each packet to a callback.
 */
import { createReadStream } from "node:fs";
import {
  type CapturedPacket,
  type CaptureParserStats,
  createCaptureParser,
} from "./capture-file.js";

export interface ReadCaptureOptions {
  /** Read size in bytes (default 256 KiB). */
  highWaterMark?: number;
  /** Aborting rejects the promise with an AbortError and closes the file. */
  signal?: AbortSignal;
}

/**
 * Calls `onPacket` for every packet of the pcap/pcapng file at `path`, in file order, and
 * resolves with the parser's counters. The packet object is reused and `packet.data` is valid
 * only during the call: copy what you keep. A malformed capture is not an error here (it is
 * counted in `stats.errors`, and reading ends where the parser stopped); the promise rejects
 * only on I/O errors, on abort, or when `onPacket` throws.
 */
export async function readCaptureFile(
  path: string,
  onPacket: (packet: CapturedPacket) => void,
  options: ReadCaptureOptions = {},
): Promise<CaptureParserStats> {
  const parser = createCaptureParser(onPacket);
  const stream = createReadStream(path, {
    highWaterMark: options.highWaterMark ?? 256 * 1024,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  for await (const chunk of stream) {
    parser.push(chunk as Buffer);
    if (parser.stats.stopped) break;
  }
  parser.end();
  return parser.stats;
}
