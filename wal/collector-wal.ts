/**
 * The write-ahead log of `flowtally collect`: the partials messages made from what was received
 * are an entry, fsync'd every `wal.syncInterval`, before they wait in the shipper for Redis. An
 * entry is released once the shipper holds none of its messages (delivered, or dropped by
 * `collector.maxBufferedRows`). At start the entries left (a crash) are shipped again with their
 * own message ids: aggregators apply an id once (queue.dedupFor), so a message that was
 * delivered just before the crash is not counted twice.
 */
import type { Logger } from "pino";
import type { Config } from "../schema/config.js";
import { FlowtallyError } from "../schema/errors.js";
import { checkPartialsMessage, type PartialsMessage } from "../schema/partials-message.js";
import { NO_WAL_STATS, openWal, type WalStats } from "./wal-log.js";

const MIB = 1024 * 1024;

export interface CollectorWal {
  /** Messages of the entries found at start, to ship again. */
  readonly replay: readonly PartialsMessage[];
  /** Logs messages about to be shipped (not when off, full or broken). */
  log(messages: readonly PartialsMessage[]): void;
  /** Makes what was logged durable; never rejects (a failure breaks the log, logged). */
  sync(): Promise<void>;
  /** Releases the entries none of whose messages `holds` any more. Never rejects. */
  settle(holds: (m: PartialsMessage) => boolean): Promise<void>;
  stats(): WalStats & { enabled: boolean; broken: boolean; unloggedBatches: number };
  close(): Promise<void>;
}

export async function openCollectorWal(
  cfg: Config,
  shards: number,
  log: Logger,
): Promise<CollectorWal> {
  let unloggedBatches = 0;
  if (!cfg.wal.enabled) {
    return {
      replay: [],
      log: () => {
        unloggedBatches++;
      },
      sync: async () => {},
      settle: async () => {},
      stats: () => ({
        enabled: false,
        broken: false,
        unloggedBatches,
        ...NO_WAL_STATS,
      }),
      close: async () => {},
    };
  }
  const wal = await openWal({ dir: cfg.wal.path, maxBytes: cfg.wal.maxSizeMiB * MIB });
  /** Entries not released yet, oldest first, with their messages. */
  const open: Array<{ seq: number; messages: readonly PartialsMessage[] }> = [];
  const replay: PartialsMessage[] = [];
  for (const entry of wal.recovered) {
    try {
      const data = JSON.parse(entry.payload.toString()) as unknown;
      if (!Array.isArray(data)) throw new Error("not a list of messages");
      const messages = data.map((m) => checkPartialsMessage(m, shards));
      open.push({ seq: entry.seq, messages });
      replay.push(...messages);
    } catch (e) {
      log.error(
        { path: cfg.wal.path, seq: entry.seq, reason: (e as Error).message, code: "FT_WAL" },
        "write-ahead log: an entry is not readable (or of another queue.shards) and is skipped [FT_WAL]",
      );
    }
  }
  if (replay.length > 0) {
    log.info(
      { path: cfg.wal.path, entries: open.length, messages: replay.length },
      "write-ahead log: partials of the last run (a crash) are shipped again (aggregators apply each message id once)",
    );
  }
  let broken = false;
  const fail = (e: unknown) => {
    if (broken) return;
    broken = true;
    const error =
      e instanceof FlowtallyError ? e : new FlowtallyError("FT_WAL", String(e), { cause: e });
    log.error(
      { err: error, code: error.code },
      `write-ahead log failed [${error.code}]: received data is no longer crash-safe until a restart`,
    );
  };
  return {
    replay,
    log(messages) {
      if (messages.length === 0) return;
      const seq = broken ? undefined : wal.append(Buffer.from(JSON.stringify(messages)));
      if (seq === undefined) unloggedBatches++;
      else open.push({ seq, messages });
    },
    sync: () => wal.sync().catch(fail),
    async settle(holds) {
      let released = 0;
      while (open.length > 0 && !open[0]!.messages.some(holds)) released = open.shift()!.seq;
      if (released > 0) await wal.release(released).catch(fail);
    },
    stats: () => ({ ...wal.stats, enabled: true, broken, unloggedBatches }),
    close: () => wal.close().catch(fail),
  };
}
