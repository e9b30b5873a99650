/**
 * The single-box pipeline shared by `run` and `replay`: decoder → collector (classify, partial
 * sums) → rollup → store. The caller feeds datagrams with their arrival time and calls
 * `handOver` with the current time (the wall clock for `run`, the capture's own clock for
 * `replay`); this module owns the order of the steps and never reads a clock itself.
 */
import type { Logger } from "pino";
import { Rollup } from "../aggregator/rollup.js";
import { nameDeltas } from "../aggregator/series-names.js";
import { buildCustomerModel, type CustomerModel } from "../collector/classify/customer-model.js";
import { decoderOptionsFromConfig } from "../collector/decoder-options.js";
import { loadDecoderState, saveDecoderState } from "../collector/decoder-state-file.js";
import { createFlowDecoder, type FlowDecoder } from "../collector/decoders/flow-decoder.js";
import { createFlowCollector, type FlowCollector } from "../collector/flow-collector.js";
import type { Config } from "../schema/config.js";
import type { SeriesRowDelta, SeriesStore } from "../schema/series-store.js";
import { createDuckDbStore } from "../store/duckdb-store.js";

export interface Pipeline {
  readonly model: CustomerModel;
  readonly decoder: FlowDecoder;
  readonly collector: FlowCollector;
  readonly rollup: Rollup;
  readonly store: SeriesStore;
  /** Series rows the store has accepted. */
  readonly stats: { seriesRowsWritten: number; storeErrors: number; pendingRows: number };
  /**
   * Moves the intervals that closed by `nowMs` (less the lateness) to the rollup and the closed
   * 1-minute buckets to the store; `final` moves everything (on stop, at the end of a replay).
   * Calls never overlap: a call made while one is writing waits for it. If the store refuses a
   * write, the rows are kept and retried at the next call (and the error is rethrown when `final`).
   */
  handOver(nowMs: number, final?: boolean): Promise<void>;
  /** Saves templates and sampling rates to `decoder.statePath` (no-op when it is ""). */
  saveState(): void;
}

/** Opens the store and restores the decoder state; `stop` the store when done. */
export async function createPipeline(cfg: Config, log: Logger): Promise<Pipeline> {
  const model = buildCustomerModel(cfg);
  const decoder = createFlowDecoder(decoderOptionsFromConfig(cfg.decoder));
  const statePath = cfg.decoder.statePath;
  if (statePath !== "") {
    const restored = loadDecoderState(statePath, decoder);
    if (restored.found) log.info({ path: statePath, ...restored }, "decoder state restored");
  }
  const collector = createFlowCollector({
    model,
    decoder,
    intervalMs: cfg.aggregation.interval,
    maxFutureMs: cfg.aggregation.maxFuture,
  });
  const rollup = new Rollup({ latenessMs: cfg.aggregation.lateness });
  const store: SeriesStore = createDuckDbStore({ path: cfg.store.embedded.path });
  await store.start();

  const stats = { seriesRowsWritten: 0, storeErrors: 0, pendingRows: 0 };
  let pending: SeriesRowDelta[] = [];
  let busy: Promise<void> = Promise.resolve();

  async function step(nowMs: number, final: boolean): Promise<void> {
    const cutoff = nowMs - cfg.aggregation.lateness;
    rollup.add(final ? collector.drainAll() : collector.drain(cutoff));
    const deltas = final ? rollup.flushAll() : rollup.flush(nowMs);
    if (deltas.length > 0) pending = pending.concat(nameDeltas(model, deltas));
    stats.pendingRows = pending.length;
    if (pending.length === 0) return;
    const rows = pending;
    try {
      await store.addDeltas(rows);
    } catch (e) {
      stats.storeErrors++;
      log.error({ err: e, rows: rows.length }, "store write failed; rows kept for the next try");
      if (final) throw e;
      return;
    }
    pending = [];
    stats.pendingRows = 0;
    stats.seriesRowsWritten += rows.length;
  }

  return {
    model,
    decoder,
    collector,
    rollup,
    store,
    stats,
    handOver(nowMs, final = false) {
      busy = busy.then(
        () => step(nowMs, final),
        () => step(nowMs, final),
      );
      return busy;
    },
    saveState() {
      if (statePath !== "") saveDecoderState(statePath, decoder);
    },
  };
}
