/**
 * The single-box pipeline shared by `run` and `replay`: decoders and the packet path → collectors
 * (classify, partial sums, response-time sums) → rollups → store. The caller feeds datagrams with their arrival time and calls
 * `handOver` with the current time (the wall clock for `run`, the capture's own clock for
 * `replay`); this module owns the order of the steps and never reads a clock itself.
 *
 * Each hand-over's rows are a batch: logged in the write-ahead log (wal/pipeline-wal.ts, fsync'd
 * within `wal.syncInterval`) and queued for the store, whose writes carry the log position they
 * cover, so that a crash loses at most the last sync interval and a restart writes what the store
 * lacked exactly once. Store writes never overlap: a hand-over during a write queues one more,
 * which takes everything waiting by then. When the store fails, rows are never dropped: they wait
 * in memory (and in the log) and are retried at each hand-over; at `close`, rows the log holds
 * stay there for the next start, and rows it does not (no log, full, failed) go to the store
 * spool (store/store-spool.ts), which the next start writes to the store before anything else.
 */
import type { Logger } from "pino";
import { ResponseRollup } from "../aggregator/response-rollup.js";
import { Rollup } from "../aggregator/rollup.js";
import { nameDeltas, nameResponseDeltas } from "../aggregator/series-names.js";
import type { CustomerModel } from "../collector/classify/customer-model.js";
import type { Config } from "../schema/config.js";
import { type ErrorCode, FlowtallyError } from "../schema/errors.js";
import type {
  LinkStatusRow,
  ResponseTimeRowDelta,
  SeriesRowDelta,
  SeriesStore,
} from "../schema/series-store.js";
import {
  createSlaAlerts,
  SLA_ALERTS_STOP_GRACE_MS,
  type SlaAlerts,
} from "../sla/alerts/sla-alerts.js";
import { configLevels } from "../sla/config-levels.js";
import { createStore, spoolStoreName, storeSpoolPlaces } from "../store/create-store.js";
import { completeBefore, floorTo } from "../store/levels.js";
import { createStoreSpool, type SpoolRows, spoolRowCount } from "../store/store-spool.js";
import {
  openPipelineWal,
  type PipelineWalStats,
  RESPONSES_MARK,
  SERIES_MARK,
} from "../wal/pipeline-wal.js";
import { type Collectors, createCollectors, restoredFlowDecoder } from "./collectors.js";
import { lockDataFiles } from "./data-lock.js";

/** One hand-over's rows waiting for the store, and its write-ahead log entry if it was logged. */
interface PendingBatch {
  seq: number | undefined;
  series: SeriesRowDelta[];
  responses: ResponseTimeRowDelta[];
  /** Its earliest 1-minute row's start, when made (completeUntil reads it, not the rows). */
  firstMinuteMs: number;
}

function firstMinute(rows: ReadonlyArray<{ level: string; startMs: number }>, from = Infinity) {
  let first = from;
  for (const r of rows) if (r.level === "1m" && r.startMs < first) first = r.startMs;
  return first;
}

export { type Collectors, createCollectors } from "./collectors.js";

/** Collectors, rollups and the store: the single-box pipeline. */
export interface Pipeline extends Omit<Collectors, "reload"> {
  readonly rollup: Rollup;
  readonly responseRollup: ResponseRollup;
  readonly store: SeriesStore;
  /** Series rows the store has accepted. */
  readonly stats: {
    seriesRowsWritten: number;
    responseRowsWritten: number;
    storeErrors: number;
    pendingRows: number;
    /** The last store write's error message, "" once a write succeeds again. */
    lastStoreError: string;
    /** Its code ("" when none). */
    lastStoreErrorCode: ErrorCode | "";
    /** Rows of earlier stops' spool files written to the store by this process. */
    spooledRowsWritten: number;
  };
  /** The write-ahead log's figures (wal/pipeline-wal.ts). */
  walStats(): PipelineWalStats;
  /** SLA alerts (sla/alerts/), when `sla.webhooks` has any. */
  readonly slaAlerts: SlaAlerts | undefined;
  /**
   * Takes everything received so far into a batch, logs it and syncs the log (every
   * `wal.syncInterval`), without writing the store; saves the decoder state if it changed.
   */
  persist(nowMs: number): Promise<void>;
  /**
   * Moves everything received so far (open intervals too) through the rollup to the store, as
   * deltas; `nowMs` (the arrival clock) only decides which partials count as late. `final` (on
   * stop, at the end of a replay) is the same step: nothing is held back.
   * Store writes never overlap: a call made while one is writing queues one more write. If the
   * store refuses a write, the rows are kept and retried at the next call; it never rejects for
   * that. Resolves once this call's rows are logged and the store write that takes them is done.
   */
  handOver(nowMs: number, final?: boolean): Promise<void>;
  /**
   * The first minute that may still change at `nowMs`: the lateness after the clock, and not past
   * the oldest minute of the rows still waiting for the store (the store is down or slow).
   */
  completeUntil(nowMs: number): number;
  /** Why the store is down now (its own problem, else the last write's error), or undefined. */
  storeDown(): { code: ErrorCode; message: string } | undefined;
  /**
   * Stops the store and spools the rows it did not take (after the final hand-over); never
   * rejects: what went wrong comes back as coded errors, the cause first.
   */
  close(nowMs: number): Promise<StoreCloseReport>;
  /**
   * SIGHUP: swaps the customer model (Collectors.reload) and, in the same synchronous step, moves
   * every open sum and bucket to the rows waiting for the store, named with the model they were
   * classified with; the next hand-over writes them. The store adds deltas, so a minute split
   * by a reload is summed back whole.
   */
  reloadModel(cfg: Config, model?: CustomerModel): void;
}

export interface StoreCloseReport {
  /** What failed, in order: the store (the last write, its stop), then the spool. */
  errors: FlowtallyError[];
  /** Rows written to a spool file for the next start. */
  spooled: { path: string; rows: number } | null;
  /** Rows left in the write-ahead log (its directory) for the next start. */
  inWal?: { path: string; rows: number } | null;
}

/** Link-status rows kept for a store that does not take them: a day of 100 links' 4 levels. */
const MAX_PENDING_STATUS = 576_000;

/** How often a store that keeps failing the same way is logged again. */
const STORE_ERROR_LOG_MS = 60_000;

function coded(e: unknown): FlowtallyError {
  return e instanceof FlowtallyError
    ? e
    : new FlowtallyError("FT_STORE_WRITE", e instanceof Error ? e.message : String(e), {
        cause: e,
      });
}

/** Opens the store and restores the decoder state; `stop` the store when done. */
export async function createPipeline(cfg: Config, log: Logger): Promise<Pipeline> {
  // The decoder state first: a state file that does not read stops the start before the store is
  // opened. Then the store opens on its own threads (DuckDB: 0.06-0.1 s) while the customer model
  // and the collectors are made here (as long again for 100 000 customers).
  const decoder = restoredFlowDecoder(cfg, log);
  // Two processes on one SLA state file would overwrite each other's incidents (FT_DATA_LOCKED).
  const slaLock =
    cfg.sla.webhooks.length === 0 || cfg.sla.statePath === ""
      ? undefined
      : lockDataFiles([["sla.statePath", cfg.sla.statePath]], log);
  // The SLA level of each class now: read by the store when it first judges a minute, swapped
  // by a reload (a change applies from that moment on: sla/series.ts).
  let slaLevels = configLevels(cfg);
  const store: SeriesStore = createStore(cfg.store, { log, slaLevel: (c) => slaLevels(c) });
  const started = store.start();
  let parts: Collectors;
  try {
    parts = createCollectors(cfg, log, decoder);
  } catch (e) {
    await started.then(
      () => store.stop(),
      () => {},
    );
    slaLock?.release();
    throw e;
  }
  const { collector, sflow } = parts;
  const rollup = new Rollup({ latenessMs: cfg.aggregation.lateness });
  const responseRollup = new ResponseRollup({ latenessMs: cfg.aggregation.lateness });
  await started.catch((e: unknown) => {
    slaLock?.release();
    throw e;
  });
  const spool = createStoreSpool({
    places: storeSpoolPlaces(cfg),
    store: spoolStoreName(cfg.store),
  });

  const stats = {
    seriesRowsWritten: 0,
    responseRowsWritten: 0,
    storeErrors: 0,
    pendingRows: 0,
    lastStoreError: "",
    lastStoreErrorCode: "" as ErrorCode | "",
    spooledRowsWritten: 0,
  };
  /** Rows waiting for the store, by hand-over, oldest first; `seq`: their log entry, if logged. */
  let batches: PendingBatch[] = [];
  let busy: Promise<void> = Promise.resolve();
  /** The write queued behind the one running (it takes every batch waiting when it starts). */
  let nextWrite: Promise<void> | undefined;
  let lastFailure: FlowtallyError | undefined;
  let lastLoggedMs = Number.NEGATIVE_INFINITY;
  /** Spool files left because the store refused them: tried again after a write succeeds. */
  let spoolsLeft = false;
  /** The last clock a hand-over was given (reloads between hand-overs count late against it). */
  let lastNowMs = Number.NEGATIVE_INFINITY;

  // SLA alerts: fed the 1-minute response rows of each hand-over, judged once minutes are
  // complete (docs/sla.md "Alerts").
  let serviceTypes: { model: CustomerModel; byId: Map<string, string> } | undefined;
  const slaAlerts =
    cfg.sla.webhooks.length === 0
      ? undefined
      : createSlaAlerts(cfg, {
          log,
          serviceTypeOf(customer) {
            const model = parts.model;
            if (serviceTypes?.model !== model) {
              serviceTypes = {
                model,
                byId: new Map(model.customers.map((c) => [c.id, c.serviceType])),
              };
            }
            return serviceTypes.byId.get(customer);
          },
        });
  slaAlerts?.start();

  let wal: Awaited<ReturnType<typeof openPipelineWal>>;
  try {
    wal = await openPipelineWal(cfg, store, log);
  } catch (e) {
    slaLock?.release();
    throw e;
  }
  for (const b of wal.replay) {
    batches.push({ ...b, firstMinuteMs: firstMinute(b.responses, firstMinute(b.series)) });
    slaAlerts?.addDeltas(b.responses);
  }
  countPending();

  function countPending(): void {
    let n = 0;
    for (const b of batches) n += b.series.length + b.responses.length;
    stats.pendingRows = n;
  }

  function failed(e: unknown, nowMs: number, what: string): void {
    const error = coded(e);
    stats.storeErrors++;
    const changed = error.message !== stats.lastStoreError;
    lastFailure = error;
    stats.lastStoreError = error.message;
    stats.lastStoreErrorCode = error.code;
    if (changed || nowMs - lastLoggedMs >= STORE_ERROR_LOG_MS) {
      lastLoggedMs = nowMs;
      log.error(
        { err: error, code: error.code, pendingRows: stats.pendingRows },
        `${what} [${error.code}]: rows kept for the next try; still unwritten at stop, they stay in the write-ahead log (or the spool) for the next start`,
      );
    }
  }

  function succeeded(): void {
    if (lastFailure !== undefined) {
      log.info({ code: lastFailure.code }, "the store takes writes again");
    }
    lastFailure = undefined;
    stats.lastStoreError = "";
    stats.lastStoreErrorCode = "";
  }

  /**
   * Writes the spool files of earlier stops to the store, oldest first, each once (see
   * store/store-spool.ts); stops at the first the store refuses, which waits for the next try.
   */
  async function writeSpools(nowMs: number): Promise<void> {
    const { paths, problems } = spool.find();
    for (const p of problems) log.error({ code: p.code, err: p }, `${p.message} [${p.code}]`);
    spoolsLeft = false;
    for (const path of paths) {
      let claimed: ReturnType<typeof spool.claim>;
      try {
        claimed = spool.claim(path);
      } catch (e) {
        const p = coded(e);
        log.error({ code: p.code, err: p }, `${p.message} [${p.code}]`);
        continue;
      }
      const left: SpoolRows = { series: claimed.series, responses: claimed.responses };
      try {
        if (left.series.length > 0) {
          await store.addDeltas(left.series);
          stats.seriesRowsWritten += left.series.length;
          stats.spooledRowsWritten += left.series.length;
          left.series = [];
        }
        if (left.responses.length > 0) {
          await store.addResponseTimes(left.responses);
          stats.responseRowsWritten += left.responses.length;
          stats.spooledRowsWritten += left.responses.length;
          left.responses = [];
        }
      } catch (e) {
        failed(e, nowMs, `the store did not take the rows spooled in ${path}`);
        spoolsLeft = true;
        try {
          spool.release(claimed, left);
        } catch (r) {
          const p = coded(r);
          log.error({ code: p.code, err: p }, `${p.message} [${p.code}]`);
        }
        return;
      }
      try {
        spool.done(claimed);
      } catch (r) {
        const p = coded(r);
        log.error({ code: p.code, err: p }, `${p.message} [${p.code}]`);
      }
      log.info(
        { path, rows: spoolRowCount(claimed) },
        "rows spooled at an earlier stop written to the store",
      );
      succeeded();
    }
  }

  // Before anything else: what earlier stops could not write. (Time 0: this module reads no
  // clock, and this only paces the error log.)
  await writeSpools(0);

  /**
   * Everything received so far (the open intervals too) as one batch, named with `model`: the
   * store adds deltas, so the current minute is readable at once and grows until whole
   * (aggregator/rollup.ts). Logged in the write-ahead log when there is one.
   */
  function take(nowMs: number, drained?: ReturnType<typeof parts.reload>): void {
    lastNowMs = Math.max(lastNowMs, nowMs);
    const model = drained?.previous ?? parts.model;
    if (drained === undefined) {
      const packets = parts.packetsIfUsed;
      const sources = packets === undefined ? [collector, sflow] : [collector, sflow, packets];
      for (const c of sources) rollup.add(c.drainAll(), nowMs);
      responseRollup.add(collector.drainAllResponses(), nowMs);
      if (packets !== undefined) responseRollup.add(packets.drainAllResponses(), nowMs);
    } else {
      rollup.add(drained.traffic, nowMs);
      responseRollup.add(drained.responses, nowMs);
    }
    const series = nameDeltas(model, rollup.flush());
    const responses = nameResponseDeltas(model, responseRollup.flush());
    if (series.length + responses.length === 0) return;
    slaAlerts?.addDeltas(responses);
    const seq = wal.log({ series, responses });
    const firstMinuteMs = firstMinute(responses, firstMinute(series));
    batches.push({ seq, series, responses, firstMinuteMs });
    countPending();
  }

  /**
   * Logs what was received and syncs the log; with a log, saves the decoder state if it changed
   * (without one, e.g. `replay`, the state is saved periodically and at the end).
   */
  async function persist(nowMs: number): Promise<void> {
    take(nowMs);
    if (cfg.wal.enabled) {
      try {
        parts.saveStateIfChanged();
      } catch (e) {
        log.error({ err: e }, "decoder state not saved");
      }
    }
    await wal.sync();
  }

  /** Queues a store write behind the running one, unless one is queued already. */
  function requestWrite(nowMs: number): Promise<void> {
    if (nextWrite !== undefined) return nextWrite;
    const run = () => {
      nextWrite = undefined;
      return write(nowMs);
    };
    const queued = busy.then(run, run);
    nextWrite = queued;
    busy = queued.catch(() => undefined);
    return queued;
  }

  /**
   * Link-status rows waiting for the store (sla/link-status.ts): not in the write-ahead log, so
   * a crash loses those not yet written (at most the last hand-over's minutes); kept across a
   * failed write up to MAX_PENDING_STATUS rows, the oldest dropped beyond (logged).
   */
  let pendingStatus: LinkStatusRow[] = [];
  function takeLinkStatus(untilMs: number): void {
    const rows = parts.linkStatus.close(untilMs);
    if (rows.length === 0) return;
    // concat, not push(...rows): 100 000 links give 400 000 rows, more arguments than a call takes.
    pendingStatus = pendingStatus.concat(rows);
    if (pendingStatus.length > MAX_PENDING_STATUS) {
      const dropped = pendingStatus.length - MAX_PENDING_STATUS;
      pendingStatus = pendingStatus.slice(dropped);
      log.warn({ dropped }, "link-status rows dropped: the store has not taken them for too long");
    }
  }

  async function writeLinkStatus(): Promise<void> {
    if (pendingStatus.length === 0) return;
    const rows = pendingStatus;
    pendingStatus = [];
    try {
      await store.addLinkStatus(rows);
    } catch (e) {
      // Rows the store refuses as such (RangeError) would be refused again: dropped.
      if (!(e instanceof RangeError)) pendingStatus = rows.concat(pendingStatus);
      throw e;
    }
  }

  /** Writes the batches waiting now: traffic, then response times, each with its log mark. */
  async function write(nowMs: number): Promise<void> {
    // A file deleted or replaced, DuckDB's FATAL: no write can succeed; rows wait for the spool.
    const down = store.problem();
    if (down !== undefined) {
      if (stats.pendingRows > 0 || lastFailure !== down) failed(down, nowMs, "the store is down");
      return;
    }
    try {
      await writeLinkStatus();
    } catch (e) {
      // Logged; the traffic and response rows go on (their own write says if the store is down).
      log.warn({ err: e }, "link-status rows not written; retried at the next hand-over");
    }
    const taken = batches.slice();
    if (taken.length === 0) return;
    let seq = 0;
    for (const b of taken) if (b.seq !== undefined) seq = Math.max(seq, b.seq);
    const series = taken.flatMap((b) => b.series);
    const responses = taken.flatMap((b) => b.responses);
    try {
      // Traffic first: if the response write fails, the traffic rows are not written twice.
      if (series.length > 0) {
        await store.addDeltas(series, seq > 0 ? { name: SERIES_MARK, seq } : undefined);
        for (const b of taken) b.series = [];
        stats.seriesRowsWritten += series.length;
      }
      if (responses.length > 0) {
        await store.addResponseTimes(
          responses,
          seq > 0 ? { name: RESPONSES_MARK, seq } : undefined,
        );
        for (const b of taken) b.responses = [];
        stats.responseRowsWritten += responses.length;
      }
      succeeded();
    } catch (e) {
      failed(e, nowMs, "store write failed");
      return;
    } finally {
      // Batches taken during the write stay; those written are gone.
      batches = batches.filter((b) => b.series.length + b.responses.length > 0);
      countPending();
    }
    if (seq > 0 && !batches.some((b) => b.seq !== undefined && b.seq <= seq)) {
      await wal.release(seq);
    }
    if (spoolsLeft) await writeSpools(nowMs);
  }

  async function close(nowMs: number): Promise<StoreCloseReport> {
    await busy.catch(() => undefined);
    await slaAlerts?.stop(SLA_ALERTS_STOP_GRACE_MS);
    slaLock?.release();
    await wal.close();
    const errors: FlowtallyError[] = [];
    // Rows the log holds wait there for the next start; the others (no log, full, or a log that
    // failed, which then may miss any) are spooled.
    const spooling = wal.broken ? batches : batches.filter((b) => b.seq === undefined);
    const rows: SpoolRows = {
      series: spooling.flatMap((b) => b.series),
      responses: spooling.flatMap((b) => b.responses),
    };
    // The store down for good, or the last write failed (its rows are still here).
    for (const e of [store.problem(), lastFailure]) {
      if (e !== undefined && !errors.includes(e)) errors.push(e);
    }
    try {
      await store.stop();
    } catch (e) {
      const error = coded(e);
      if (!errors.some((x) => x.message === error.message)) errors.push(error);
    }
    const keptRows = stats.pendingRows - spoolRowCount(rows);
    const inWal = keptRows > 0 ? { path: cfg.wal.path, rows: keptRows } : null;
    if (inWal !== null) {
      log.warn(
        inWal,
        "rows the store did not take stay in the write-ahead log: the next start writes them to the store first",
      );
    }
    if (spoolRowCount(rows) === 0) return { errors, spooled: null, inWal };
    try {
      const path = spool.write(rows, nowMs);
      const n = spoolRowCount(rows);
      batches = batches.filter((b) => !spooling.includes(b));
      countPending();
      // A failed log may hold some of these rows too: the spool has them all now.
      if (wal.broken) await wal.discard();
      log.warn(
        { path, rows: n },
        "rows the store did not take are spooled: the next start writes them to the store first",
      );
      return { errors, spooled: { path, rows: n }, inWal };
    } catch (e) {
      const error = coded(e);
      log.error({ code: error.code, err: error }, `${error.message} [${error.code}]`);
      errors.push(error);
      return { errors, spooled: null, inWal };
    }
  }

  function completeUntil(nowMs: number): number {
    let until = completeBefore(nowMs, cfg.aggregation.lateness);
    for (const b of batches) until = Math.min(until, b.firstMinuteMs);
    return until;
  }

  function storeDown(): { code: ErrorCode; message: string } | undefined {
    const down = store.problem() ?? lastFailure;
    return down === undefined ? undefined : { code: down.code, message: down.message };
  }

  function reloadModel(next: Config, model?: CustomerModel): void {
    take(lastNowMs, parts.reload(next, model));
    slaLevels = configLevels(next);
    slaAlerts?.reload(next, lastNowMs);
  }

  return {
    get model() {
      return parts.model;
    },
    reloadModel,
    decoder: parts.decoder,
    collector,
    sflow: parts.sflow,
    sflowDecoder: parts.sflowDecoder,
    interfaces: parts.interfaces,
    linkStatus: parts.linkStatus,
    packets: parts.packets,
    get packetsIfUsed() {
      return parts.packetsIfUsed;
    },
    saveState: parts.saveState,
    rollup,
    responseRollup,
    store,
    stats,
    saveStateIfChanged: parts.saveStateIfChanged,
    walStats: () => wal.stats(),
    persist,
    slaAlerts,
    async handOver(nowMs, final) {
      const logged = persist(nowMs);
      // The minutes complete now (at the end, all that ended by the clock: nothing more comes
      // to this process) are judged in slices, the loop turning between them (100 000
      // customers' minutes would hold it ~0.5 s); the webhooks are sent in the background.
      const complete =
        final === true ? floorTo(nowMs, 60_000) : completeBefore(nowMs, cfg.aggregation.lateness);
      const judged = slaAlerts?.judgeSliced(complete);
      // Links' interface status minutes, once complete (the same lateness as the series).
      takeLinkStatus(complete);
      await Promise.all([logged, requestWrite(nowMs), judged]);
    },
    storeDown,
    completeUntil,
    close,
  };
}
