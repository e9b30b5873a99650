/**
 * The single-box pipeline shared by `run` and `replay`: decoders and the packet path → collectors
 * (classify, partial sums, response-time sums) → rollups → store. The caller feeds datagrams with their arrival time and calls
 * `handOver` with the current time (the wall clock for `run`, the capture's own clock for
 * `replay`); this module owns the order of the steps and never reads a clock itself.
 *
 * When the store fails, rows are never dropped: they wait in memory and are retried at each
 * hand-over, and what is still waiting at `close` goes to the store spool
 * (store/store-spool.ts), which the next start writes to the store before anything else.
 */
import type { Logger } from "pino";
import { ResponseRollup } from "../aggregator/response-rollup.js";
import { Rollup } from "../aggregator/rollup.js";
import { nameDeltas, nameResponseDeltas } from "../aggregator/series-names.js";
import type { Config } from "../schema/config.js";
import { type ErrorCode, FlowtallyError } from "../schema/errors.js";
import type { ResponseTimeRowDelta, SeriesRowDelta, SeriesStore } from "../schema/series-store.js";
import { createStore, spoolStoreName, storeSpoolPlaces } from "../store/create-store.js";
import { completeBefore } from "../store/levels.js";
import { createStoreSpool, type SpoolRows, spoolRowCount } from "../store/store-spool.js";
import { type Collectors, createCollectors } from "./collectors.js";

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
  /**
   * Moves everything received so far (open intervals too) through the rollup to the store, as
   * deltas; `nowMs` (the arrival clock) only decides which partials count as late. `final` (on
   * stop, at the end of a replay) is the same step: nothing is held back.
   * Calls never overlap: a call made while one is writing waits for it. If the store refuses a
   * write, the rows are kept and retried at the next call; it never rejects for that.
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
  reloadModel(cfg: Config): void;
}

export interface StoreCloseReport {
  /** What failed, in order: the store (the last write, its stop), then the spool. */
  errors: FlowtallyError[];
  /** Rows written to a spool file for the next start. */
  spooled: { path: string; rows: number } | null;
}

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
  const parts = createCollectors(cfg, log);
  const { collector, sflow } = parts;
  const rollup = new Rollup({ latenessMs: cfg.aggregation.lateness });
  const responseRollup = new ResponseRollup({ latenessMs: cfg.aggregation.lateness });
  const store: SeriesStore = createStore(cfg.store, { log });
  await store.start();
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
  let pending: SeriesRowDelta[] = [];
  let pendingResponses: ResponseTimeRowDelta[] = [];
  let busy: Promise<void> = Promise.resolve();
  let lastFailure: FlowtallyError | undefined;
  let lastLoggedMs = Number.NEGATIVE_INFINITY;
  /** Spool files left because the store refused them: tried again after a write succeeds. */
  let spoolsLeft = false;

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
        { err: error, code: error.code, pendingRows: pending.length + pendingResponses.length },
        `${what} [${error.code}]: rows kept for the next try, and spooled if still unwritten at stop`,
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

  async function step(nowMs: number): Promise<void> {
    // Everything received so far, the open intervals too: the store adds deltas, so the current
    // minute is readable at once and grows until whole (aggregator/rollup.ts).
    const packets = parts.packetsIfUsed;
    const sources = packets === undefined ? [collector, sflow] : [collector, sflow, packets];
    for (const c of sources) rollup.add(c.drainAll(), nowMs);
    if (packets !== undefined) responseRollup.add(packets.drainAllResponses(), nowMs);
    const deltas = rollup.flush();
    if (deltas.length > 0) pending = pending.concat(nameDeltas(parts.model, deltas));
    const responseDeltas = responseRollup.flush();
    if (responseDeltas.length > 0) {
      pendingResponses = pendingResponses.concat(nameResponseDeltas(parts.model, responseDeltas));
    }
    stats.pendingRows = pending.length + pendingResponses.length;
    // A file deleted or replaced, DuckDB's FATAL: no write can succeed; rows wait for the spool.
    const down = store.problem();
    if (down !== undefined) {
      if (stats.pendingRows > 0 || lastFailure !== down) failed(down, nowMs, "the store is down");
      return;
    }
    if (stats.pendingRows === 0) return;
    const rows = pending;
    const responseRows = pendingResponses;
    try {
      // Traffic first: if the response write fails, the traffic rows are not written twice.
      if (rows.length > 0) {
        await store.addDeltas(rows);
        pending = [];
        stats.seriesRowsWritten += rows.length;
      }
      if (responseRows.length > 0) {
        await store.addResponseTimes(responseRows);
        pendingResponses = [];
        stats.responseRowsWritten += responseRows.length;
      }
      succeeded();
    } catch (e) {
      stats.pendingRows = pending.length + pendingResponses.length;
      failed(e, nowMs, "store write failed");
      return;
    } finally {
      stats.pendingRows = pending.length + pendingResponses.length;
    }
    if (spoolsLeft) await writeSpools(nowMs);
  }

  async function close(nowMs: number): Promise<StoreCloseReport> {
    await busy.catch(() => undefined);
    const errors: FlowtallyError[] = [];
    const rows: SpoolRows = { series: pending, responses: pendingResponses };
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
    if (spoolRowCount(rows) === 0) return { errors, spooled: null };
    try {
      const path = spool.write(rows, nowMs);
      const n = spoolRowCount(rows);
      pending = [];
      pendingResponses = [];
      stats.pendingRows = 0;
      log.warn(
        { path, rows: n },
        "rows the store did not take are spooled: the next start writes them to the store first",
      );
      return { errors, spooled: { path, rows: n } };
    } catch (e) {
      const error = coded(e);
      log.error({ code: error.code, err: error }, `${error.message} [${error.code}]`);
      errors.push(error);
      return { errors, spooled: null };
    }
  }

  function completeUntil(nowMs: number): number {
    let until = completeBefore(nowMs, cfg.aggregation.lateness);
    for (const rows of [pending, pendingResponses] as const) {
      for (const r of rows) if (r.level === "1m" && r.startMs < until) until = r.startMs;
    }
    return until;
  }

  function storeDown(): { code: ErrorCode; message: string } | undefined {
    const down = store.problem() ?? lastFailure;
    return down === undefined ? undefined : { code: down.code, message: down.message };
  }

  function reloadModel(next: Config): void {
    const { previous, traffic, responses } = parts.reload(next);
    rollup.add(traffic);
    responseRollup.add(responses);
    const deltas = rollup.flush();
    if (deltas.length > 0) pending = pending.concat(nameDeltas(previous, deltas));
    const responseDeltas = responseRollup.flush();
    if (responseDeltas.length > 0) {
      pendingResponses = pendingResponses.concat(nameResponseDeltas(previous, responseDeltas));
    }
    stats.pendingRows = pending.length + pendingResponses.length;
  }

  return {
    get model() {
      return parts.model;
    },
    reloadModel,
    decoder: parts.decoder,
    collector,
    sflow: parts.sflow,
    interfaces: parts.interfaces,
    packets: parts.packets,
    get packetsIfUsed() {
      return parts.packetsIfUsed;
    },
    saveState: parts.saveState,
    rollup,
    responseRollup,
    store,
    stats,
    handOver(nowMs) {
      busy = busy.then(
        () => step(nowMs),
        () => step(nowMs),
      );
      return busy;
    },
    storeDown,
    completeUntil,
    close,
  };
}
