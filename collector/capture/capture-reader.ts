/**
 * The I/O shell around {@link createCaptureParser}: streams a capture file from disk in chunks
 * (never the whole file in memory) and hands each packet to a callback.
 */
import { open } from "node:fs/promises";
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
  const chunks = fileChunks(path, {
    chunkBytes: options.highWaterMark ?? 256 * 1024,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  for await (const chunk of chunks) {
    parser.push(chunk);
    if (parser.stats.stopped) break;
  }
  parser.end();
  return parser.stats;
}

/**
 * The bytes of the file at `path`, in order, as views of ONE buffer of `chunkBytes` that every
 * read refills: a chunk is valid until the next one is asked for (the capture parser keeps
 * nothing of a chunk after `push`). Reusing the buffer spares a fresh allocation per chunk,
 * whose pages the kernel had to fault in and zero (a GiB of them for a GiB of capture).
 * Rejects on I/O errors and, with `signal`, on abort; the file is closed either way.
 */
export async function* fileChunks(
  path: string,
  options: { chunkBytes: number; signal?: AbortSignal },
): AsyncGenerator<Uint8Array, void, undefined> {
  const file = await open(path, "r");
  try {
    const buffer = new Uint8Array(options.chunkBytes);
    for (;;) {
      options.signal?.throwIfAborted();
      const { bytesRead } = await file.read(buffer, 0, buffer.byteLength, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await file.close();
  }
}
