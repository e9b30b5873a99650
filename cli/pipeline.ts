/**
 * The single-box pipeline shared by `run` and `replay`: decoders and the packet path → collectors
 * (classify, partial sums, response-time sums) → rollups → store. The caller feeds datagrams with their arrival time and calls
 * `handOver` with the current time (the wall clock for `run`, the capture's own clock for
 * `replay`); this module owns the order of the steps and never reads a clock itself.
 */
import type { Logger } from "pino";
import { ResponseRollup } from "../aggregator/response-rollup.js";
import { Rollup } from "../aggregator/rollup.js";
import { nameDeltas, nameResponseDeltas } from "../aggregator/series-names.js";
import type { Config } from "../schema/config.js";
import type { ResponseTimeRowDelta, SeriesRowDelta, SeriesStore } from "../schema/series-store.js";
import { createStore } from "../store/create-store.js";
import { type Collectors, createCollectors } from "./collectors.js";

export { type Collectors, createCollectors } from "./collectors.js";

/** Collectors, rollups and the store: the single-box pipeline. */
export interface Pipeline extends Collectors {
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
  };
  /**
   * Moves the intervals that closed by `nowMs` (less the lateness) to the rollup and the closed
   * 1-minute buckets to the store; `final` moves everything (on stop, at the end of a replay).
   * Calls never overlap: a call made while one is writing waits for it. If the store refuses a
   * write, the rows are kept and retried at the next call (and the error is rethrown when `final`).
   */
  handOver(nowMs: number, final?: boolean): Promise<void>;
}

/** Opens the store and restores the decoder state; `stop` the store when done. */
export async function createPipeline(cfg: Config, log: Logger): Promise<Pipeline> {
  const parts = createCollectors(cfg, log);
  const { model, collector, sflow } = parts;
  const rollup = new Rollup({ latenessMs: cfg.aggregation.lateness });
  const responseRollup = new ResponseRollup({ latenessMs: cfg.aggregation.lateness });
  const store: SeriesStore = createStore(cfg.store, { log });
  await store.start();

  const stats = {
    seriesRowsWritten: 0,
    responseRowsWritten: 0,
    storeErrors: 0,
    pendingRows: 0,
    lastStoreError: "",
  };
  let pending: SeriesRowDelta[] = [];
  let pendingResponses: ResponseTimeRowDelta[] = [];
  let busy: Promise<void> = Promise.resolve();

  async function step(nowMs: number, final: boolean): Promise<void> {
    const cutoff = nowMs - cfg.aggregation.lateness;
    const packets = parts.packetsIfUsed;
    const sources = packets === undefined ? [collector, sflow] : [collector, sflow, packets];
    for (const c of sources) rollup.add(final ? c.drainAll() : c.drain(cutoff));
    if (packets !== undefined) {
      responseRollup.add(final ? packets.drainAllResponses() : packets.drainResponses(cutoff));
    }
    const deltas = final ? rollup.flushAll() : rollup.flush(nowMs);
    if (deltas.length > 0) pending = pending.concat(nameDeltas(model, deltas));
    const responseDeltas = final ? responseRollup.flushAll() : responseRollup.flush(nowMs);
    if (responseDeltas.length > 0) {
      pendingResponses = pendingResponses.concat(nameResponseDeltas(model, responseDeltas));
    }
    stats.pendingRows = pending.length + pendingResponses.length;
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
      stats.lastStoreError = "";
    } catch (e) {
      stats.storeErrors++;
      stats.lastStoreError = e instanceof Error ? e.message : String(e);
      log.error(
        { err: e, rows: pending.length + pendingResponses.length },
        "store write failed; rows kept for the next try",
      );
      if (final) throw e;
    } finally {
      stats.pendingRows = pending.length + pendingResponses.length;
    }
  }

  return {
    model,
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
    handOver(nowMs, final = false) {
      busy = busy.then(
        () => step(nowMs, final),
        () => step(nowMs, final),
      );
      return busy;
    },
  };
}
