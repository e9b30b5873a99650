/**
 * A write-ahead log: numbered entries appended to segment files in one directory, made durable
 * with fdatasync, read back whole at the next open, and dropped segment by segment once the
 * caller says their entries are safe elsewhere (written to the store).
 *
 * Layout: `wal-<first seq, 16 digits>.log` files; each entry is a frame
 *   magic "FTW1" | payload length (u32 LE) | CRC-32 of seq and payload (u32 LE) | seq (f64 LE) | payload
 * A crash can leave the last frame of the last segment half written (a torn tail): reading stops
 * there, and since every open starts a new segment, nothing is ever appended after a torn frame.
 * A bad frame before the end of a segment (the disk corrupted it) ends that segment's entries
 * too; both are counted in `recovery` for the caller to report.
 *
 * The size is bounded: an append that would take the log past `maxBytes` is refused (the caller
 * keeps the data in memory and counts it); segments are released as the store takes their
 * entries, so the log holds only what the store does not have yet.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { join } from "node:path";
import { FlowtallyError } from "../schema/errors.js";
import { crc32 } from "./crc32.js";

const MAGIC = 0x31575446; // "FTW1" read as u32 LE
const HEADER = 20;
const SEGMENT = /^wal-(\d{16})\.log$/;

export interface WalEntry {
  seq: number;
  payload: Buffer;
}

export interface WalOptions {
  dir: string;
  /** The most bytes the segments may hold together; appends past it are refused. */
  maxBytes: number;
  /** A segment is closed and a new one started past this size (default 16 MiB). */
  segmentBytes?: number;
  /** The first sequence number to use, at least (e.g. past what the store has applied). */
  nextSeqAtLeast?: number;
}

export interface WalStats {
  bytes: number;
  /** Bytes appended since open. */
  appendedBytes: number;
  segments: number;
  appended: number;
  /** Appends refused because the log was full. */
  refused: number;
  syncs: number;
  /** How long the last write + fdatasync took, ms. */
  lastSyncMs: number;
}

/** The figures of a log that is off. */
export const NO_WAL_STATS: Readonly<WalStats> = {
  bytes: 0,
  appendedBytes: 0,
  segments: 0,
  appended: 0,
  refused: 0,
  syncs: 0,
  lastSyncMs: 0,
};

export interface WriteAheadLog {
  /** The entries found at open, oldest first. */
  readonly recovered: readonly WalEntry[];
  /** What could not be read at open: bytes of torn tails, segments cut short by a bad frame. */
  readonly recovery: { tornBytes: number; badSegments: string[] };
  readonly stats: WalStats;
  /** Queues an entry for the next sync; its sequence number, or undefined when the log is full. */
  append(payload: Uint8Array): number | undefined;
  /** Writes the queued entries and fdatasyncs; resolves once they are durable. Calls queue. */
  sync(): Promise<void>;
  /** Entries up to `seq` are safe elsewhere: drops the segments that hold only such entries. */
  release(seq: number): Promise<void>;
  /**
   * Syncs what is queued and closes the current segment; removes every segment when all entries
   * were released.
   */
  close(): Promise<void>;
}

interface Segment {
  path: string;
  lastSeq: number;
  bytes: number;
}

function walError(message: string, cause?: unknown): FlowtallyError {
  return new FlowtallyError("FT_WAL", message, cause === undefined ? undefined : { cause });
}

export function encodeFrame(seq: number, payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(HEADER + payload.length);
  frame.writeUInt32LE(MAGIC, 0);
  frame.writeUInt32LE(payload.length, 4);
  frame.writeDoubleLE(seq, 12);
  frame.set(payload, HEADER);
  frame.writeUInt32LE(crc32(frame.subarray(12)), 8);
  return frame;
}

/** The entries of one segment's bytes, and where the valid frames end. */
export function decodeFrames(bytes: Buffer): { entries: WalEntry[]; validBytes: number } {
  const entries: WalEntry[] = [];
  let at = 0;
  while (at + HEADER <= bytes.length) {
    if (bytes.readUInt32LE(at) !== MAGIC) break;
    const length = bytes.readUInt32LE(at + 4);
    const end = at + HEADER + length;
    if (end > bytes.length) break;
    if (crc32(bytes.subarray(at + 12, end)) !== bytes.readUInt32LE(at + 8)) break;
    const seq = bytes.readDoubleLE(at + 12);
    if (!Number.isSafeInteger(seq) || seq < 1) break;
    entries.push({ seq, payload: bytes.subarray(at + HEADER, end) });
    at = end;
  }
  return { entries, validBytes: at };
}

function segmentName(firstSeq: number): string {
  return `wal-${String(firstSeq).padStart(16, "0")}.log`;
}

export async function openWal(options: WalOptions): Promise<WriteAheadLog> {
  const { dir, maxBytes } = options;
  const segmentBytes = options.segmentBytes ?? 16 * 1024 * 1024;
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw walError(
      `${dir}: the write-ahead log's directory cannot be made: ${(e as Error).message}`,
      e,
    );
  }
  const segments: Segment[] = [];
  const recovered: WalEntry[] = [];
  const recovery = { tornBytes: 0, badSegments: [] as string[] };
  const names = readdirSync(dir)
    .filter((n) => SEGMENT.test(n))
    .sort();
  let nextSeq = Math.max(1, options.nextSeqAtLeast ?? 1);
  names.forEach((name, k) => {
    const path = join(dir, name);
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (e) {
      throw walError(`${path}: the write-ahead log cannot be read: ${(e as Error).message}`, e);
    }
    const { entries, validBytes } = decodeFrames(bytes);
    if (validBytes < bytes.length) {
      if (k === names.length - 1) recovery.tornBytes += bytes.length - validBytes;
      else recovery.badSegments.push(path);
    }
    let lastSeq = 0;
    for (const e of entries) {
      // Sequence numbers only grow: an entry that does not is not ours to replay.
      if (e.seq < nextSeq) continue;
      recovered.push(e);
      lastSeq = e.seq;
      nextSeq = e.seq + 1;
    }
    segments.push({ path, lastSeq, bytes: bytes.length });
  });

  const stats: WalStats = {
    bytes: segments.reduce((n, s) => n + s.bytes, 0),
    segments: segments.length,
    appendedBytes: 0,
    appended: 0,
    refused: 0,
    syncs: 0,
    lastSyncMs: 0,
  };
  let queued: Buffer[] = [];
  let queuedBytes = 0;
  let queuedLastSeq = 0;
  let current: { segment: Segment; handle: FileHandle } | undefined;
  let chain: Promise<void> = Promise.resolve();
  let closed = false;
  /** The highest sequence number released so far. */
  let releasedSeq = 0;

  async function startSegment(firstSeq: number): Promise<void> {
    const path = join(dir, segmentName(firstSeq));
    try {
      const handle = await open(path, "wx");
      const segment = { path, lastSeq: 0, bytes: 0 };
      segments.push(segment);
      stats.segments = segments.length;
      current = { segment, handle };
      // The new file's name must survive a crash as well as its content.
      const d = await open(dir, "r");
      try {
        await d.sync();
      } finally {
        await d.close();
      }
    } catch (e) {
      throw walError(
        `${path}: a write-ahead log segment cannot be created: ${(e as Error).message}`,
        e,
      );
    }
  }

  async function writeQueued(): Promise<void> {
    if (queued.length === 0) return;
    const frames = Buffer.concat(queued, queuedBytes);
    const firstSeq = frames.readDoubleLE(12);
    const lastSeq = queuedLastSeq;
    queued = [];
    queuedBytes = 0;
    if (current === undefined || current.segment.bytes >= segmentBytes) {
      await current?.handle.close();
      current = undefined;
      await startSegment(firstSeq);
    }
    const { segment, handle } = current!;
    const started = performance.now();
    try {
      await handle.write(frames, 0, frames.length);
      await handle.datasync();
    } catch (e) {
      throw walError(
        `${segment.path}: the write-ahead log could not be written: ${(e as Error).message}`,
        e,
      );
    }
    stats.lastSyncMs = performance.now() - started;
    stats.syncs++;
    segment.bytes += frames.length;
    segment.lastSeq = lastSeq;
  }

  function queue(step: () => Promise<void>): Promise<void> {
    const next = chain.then(step, step);
    chain = next.catch(() => undefined);
    return next;
  }

  return {
    recovered,
    recovery,
    stats,
    append(payload) {
      if (closed) throw walError(`${dir}: the write-ahead log is closed`);
      const frameBytes = HEADER + payload.length;
      if (stats.bytes + frameBytes > maxBytes) {
        stats.refused++;
        return undefined;
      }
      const seq = nextSeq++;
      queued.push(encodeFrame(seq, payload));
      queuedBytes += frameBytes;
      queuedLastSeq = seq;
      stats.bytes += frameBytes;
      stats.appendedBytes += frameBytes;
      stats.appended++;
      return seq;
    },
    sync: () => queue(writeQueued),
    release(seq) {
      releasedSeq = Math.max(releasedSeq, seq);
      return queue(async () => {
        for (const s of [...segments]) {
          const isCurrent = current?.segment === s;
          if (s.lastSeq > seq || (isCurrent && queued.length > 0)) continue;
          if (isCurrent) {
            // Only worth a new file once it has grown; an empty one stays.
            if (s.bytes < 1024 * 1024) continue;
            await current!.handle.close();
            current = undefined;
          }
          rmSync(s.path, { force: true });
          segments.splice(segments.indexOf(s), 1);
          stats.bytes -= s.bytes;
        }
        stats.segments = segments.length;
      });
    },
    async close() {
      if (closed) return;
      await queue(writeQueued);
      closed = true;
      await queue(async () => {
        await current?.handle.close();
        current = undefined;
        // Everything is safe elsewhere: an empty directory, so the next start replays nothing.
        if (releasedSeq >= nextSeq - 1) {
          for (const s of segments) rmSync(s.path, { force: true });
          segments.length = 0;
          stats.segments = 0;
          stats.bytes = 0;
        }
      });
    },
  };
}
