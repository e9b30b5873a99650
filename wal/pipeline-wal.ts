/**
 * The write-ahead log of `flowtally run`'s pipeline (cli/pipeline.ts): every hand-over's rows are
 * an entry, fsync'd within `wal.syncInterval`; each store write carries the sequence number of
 * the last entry it holds (a StoreMark, in the same transaction on the embedded store); at start
 * the entries after the store's marks are handed back to be written, so each is added exactly
 * once. Entries the store has are released, so the log holds only what the store lacks.
 *
 * Never throws past its calls once open: a log that fails to write is "broken" (logged once,
 * FT_WAL) and the pipeline falls back to what it did without one (spooling at stop).
 */
import type { Logger } from "pino";
import type { Config } from "../schema/config.js";
import { FlowtallyError } from "../schema/errors.js";
import type { SeriesStore } from "../schema/series-store.js";
import { atEveryLevel, decodeBatch, encodeBatch, type WalBatch } from "./wal-batch.js";
import { NO_WAL_STATS, openWal, type WalStats, type WriteAheadLog } from "./wal-log.js";

/** The marks `run` writes with its rows (StoreMark names). */
export const SERIES_MARK = "run.series";
export const RESPONSES_MARK = "run.responses";

const MIB = 1024 * 1024;
/** How often a full log is reported again. */
const FULL_LOG_MS = 60_000;

export interface ReplayedBatch extends WalBatch {
  seq: number;
}

export interface PipelineWalStats extends WalStats {
  enabled: boolean;
  broken: boolean;
  /** Hand-overs that were not logged because the log was full or broken (memory only). */
  unloggedBatches: number;
  /** Entries read back at start and handed over again, and their rows (1 m). */
  replayedEntries: number;
  replayedRows: number;
  /** Entries at start that could not be read (not ours, or corrupt). */
  badEntries: number;
}

export interface PipelineWal {
  /** Batches of the log the store does not have yet, oldest first (rows at every level). */
  readonly replay: readonly ReplayedBatch[];
  /** Logs a batch; its sequence number, or undefined when it is not logged (off, full, broken). */
  log(batch: WalBatch): number | undefined;
  /** Makes what was logged durable; never rejects (a failure breaks the log). */
  sync(): Promise<void>;
  /** The store has every entry up to `seq`. Never rejects. */
  release(seq: number): Promise<void>;
  /** Whether a batch logged earlier may be missing from the log (it failed): spool everything. */
  readonly broken: boolean;
  stats(): PipelineWalStats;
  /** Syncs and closes; never rejects. */
  close(): Promise<void>;
  /** Removes every segment (their rows were spooled instead); never rejects. */
  discard(): Promise<void>;
}

export async function openPipelineWal(
  cfg: Config,
  store: SeriesStore,
  log: Logger,
): Promise<PipelineWal> {
  const counts = { unloggedBatches: 0, replayedEntries: 0, replayedRows: 0, badEntries: 0 };
  if (!cfg.wal.enabled) return offWal(counts);
  const marks = await store.readMarks();
  const seriesMark = marks[SERIES_MARK] ?? 0;
  const responsesMark = marks[RESPONSES_MARK] ?? 0;
  const wal: WriteAheadLog = await openWal({
    dir: cfg.wal.path,
    maxBytes: cfg.wal.maxSizeMiB * MIB,
    nextSeqAtLeast: Math.max(seriesMark, responsesMark) + 1,
  });
  if (wal.recovery.tornBytes > 0) {
    log.info(
      { path: cfg.wal.path, bytes: wal.recovery.tornBytes },
      "write-ahead log: the last entry was cut short by the stop (a crash); the entries before it are read",
    );
  }
  for (const path of wal.recovery.badSegments) {
    log.error(
      { path, code: "FT_WAL" },
      "write-ahead log: a segment has a corrupt entry; the entries after it are lost [FT_WAL]",
    );
  }
  const replay: ReplayedBatch[] = [];
  for (const entry of wal.recovered) {
    let batch: WalBatch;
    try {
      batch = decodeBatch(entry.payload);
    } catch (e) {
      counts.badEntries++;
      log.error(
        { path: cfg.wal.path, seq: entry.seq, reason: (e as Error).message, code: "FT_WAL" },
        "write-ahead log: an entry is not readable and is skipped [FT_WAL]",
      );
      continue;
    }
    const series = entry.seq > seriesMark ? batch.series : [];
    const responses = entry.seq > responsesMark ? batch.responses : [];
    if (series.length + responses.length === 0) continue;
    counts.replayedEntries++;
    counts.replayedRows += series.length + responses.length;
    replay.push({
      seq: entry.seq,
      series: atEveryLevel(series),
      responses: atEveryLevel(responses),
    });
  }
  if (replay.length > 0) {
    log.info(
      { path: cfg.wal.path, entries: counts.replayedEntries, rows: counts.replayedRows },
      "write-ahead log: what the store did not have at the last stop (a crash) is written again",
    );
  }

  let broken = false;
  let fullLoggedMs = Number.NEGATIVE_INFINITY;
  const fail = (what: string, e: unknown) => {
    if (broken) return;
    broken = true;
    const error =
      e instanceof FlowtallyError
        ? e
        : new FlowtallyError("FT_WAL", (e as Error).message, { cause: e });
    log.error(
      { err: error, code: error.code },
      `write-ahead log: ${what} failed [${error.code}]: received data is no longer crash-safe until a restart; at stop, what the store did not take is spooled`,
    );
  };
  return {
    replay,
    get broken() {
      return broken;
    },
    log(batch) {
      if (broken) {
        counts.unloggedBatches++;
        return undefined;
      }
      const seq = wal.append(encodeBatch(batch));
      if (seq === undefined) {
        counts.unloggedBatches++;
        const now = Date.now();
        if (now - fullLoggedMs >= FULL_LOG_MS) {
          fullLoggedMs = now;
          log.error(
            { path: cfg.wal.path, maxSizeMiB: cfg.wal.maxSizeMiB, code: "FT_WAL" },
            "write-ahead log full (the store has not taken writes for a while): new data is kept in memory only, and spooled at stop [FT_WAL]",
          );
        }
      }
      return seq;
    },
    sync: () => wal.sync().catch((e: unknown) => fail("a write", e)),
    release: (seq) => wal.release(seq).catch((e: unknown) => fail("a release", e)),
    stats: () => ({ ...wal.stats, ...counts, enabled: true, broken }),
    close: () => wal.close().catch((e: unknown) => fail("the close", e)),
    async discard() {
      await wal.close().catch(() => undefined);
      await wal.release(Number.MAX_SAFE_INTEGER).catch(() => undefined);
    },
  };
}

function offWal(
  counts: Omit<PipelineWalStats, keyof WalStats | "enabled" | "broken">,
): PipelineWal {
  return {
    replay: [],
    broken: false,
    log() {
      return undefined;
    },
    sync: async () => {},
    release: async () => {},
    stats: () => ({
      ...counts,
      enabled: false,
      broken: false,
      ...NO_WAL_STATS,
    }),
    close: async () => {},
    discard: async () => {},
  };
}
