/**
 * `flowtally replay --config FILE CAPTURE...`: runs the single-box pipeline over capture files
 * on the packets' own timestamps (decode → classify → partial sums → rollup → store) and exits
 * once everything is written. UDP datagrams to a port of `inputs.netflow[].listen` are flow
 * exports; everything else is skipped (the packet path will count it as traffic).
 */
import { createReadStream, statSync } from "node:fs";
import { Rollup } from "../aggregator/rollup.js";
import { nameDeltas } from "../aggregator/series-names.js";
import { createCaptureParser } from "../collector/capture/capture-file.js";
import { createUdpDatagram, extractUdp } from "../collector/capture/udp-datagram.js";
import { buildCustomerModel } from "../collector/classify/customer-model.js";
import { decoderOptionsFromConfig } from "../collector/decoder-options.js";
import { loadDecoderState, saveDecoderState } from "../collector/decoder-state-file.js";
import { createFlowDecoder } from "../collector/decoders/flow-decoder.js";
import { createFlowCollector } from "../collector/flow-collector.js";
import { loadConfigFile } from "../config/load-config.js";
import { FlowtallyError } from "../schema/errors.js";
import type { SeriesStore } from "../schema/series-store.js";
import { parseHostPort } from "../schema/units.js";
import { createDuckDbStore } from "../store/duckdb-store.js";
import { createLogger, type LogLevel } from "./logger.js";
import { createProgress } from "./progress.js";

export interface ReplayOptions {
  config: string;
  logLevel: LogLevel;
  progress?: boolean;
}

export interface ReplaySummary {
  captures: number;
  datagrams: number;
  otherFrames: number;
  records: number;
  unattributedRecords: number;
  seriesRowsWritten: number;
  latePartials: number;
  heldAtEnd: { count: number; bytes: number };
  problems: Record<string, number>;
}

/** Datagrams between two hand-overs of closed intervals to the store. */
const FLUSH_EVERY = 4096;

export async function runReplay(captures: string[], opts: ReplayOptions): Promise<ReplaySummary> {
  const cfg = loadConfigFile(opts.config);
  const log = createLogger(opts.logLevel);
  const ports = new Set(
    cfg.inputs.netflow.map((i) => parseHostPort(i.listen)?.port).filter((p) => p !== undefined),
  );
  if (ports.size === 0) {
    throw new FlowtallyError(
      "FT_CONFIG_INVALID",
      `${opts.config}: inputs.netflow has no listen port: replay needs it to tell flow exports from other traffic`,
    );
  }
  const model = buildCustomerModel(cfg);
  const decoder = createFlowDecoder(decoderOptionsFromConfig(cfg.decoder));
  const statePath = cfg.decoder.statePath;
  if (statePath !== "") {
    const restored = loadDecoderState(statePath, decoder);
    if (restored.found) log.info({ path: statePath, ...restored }, "decoder state restored");
  }
  const collector = createFlowCollector({ model, decoder, intervalMs: cfg.aggregation.interval });
  const rollup = new Rollup({ latenessMs: cfg.aggregation.lateness });
  const store: SeriesStore = createDuckDbStore({ path: cfg.store.embedded.path });
  await store.start();

  const udp = createUdpDatagram();
  let datagrams = 0;
  let otherFrames = 0;
  let written = 0;
  let watermark = Number.NEGATIVE_INFINITY;
  const totalBytes = captures.reduce((n, p) => n + fileSize(p), 0);
  const progress = createProgress({
    total: totalBytes,
    enabled: opts.progress ?? process.stderr.isTTY,
  });

  const handOver = async (final: boolean) => {
    const cutoff = watermark - cfg.aggregation.lateness;
    rollup.add(final ? collector.drainAll() : collector.drain(cutoff));
    const deltas = final ? rollup.flushAll() : rollup.flush(watermark);
    if (deltas.length > 0) {
      await store.addDeltas(nameDeltas(model, deltas));
      written += deltas.length;
    }
  };

  try {
    for (const path of captures) {
      const parser = createCaptureParser((p) => {
        progress.advance(p.capturedLength + 16);
        if (!extractUdp(p.linkType, p.data, udp) || !ports.has(udp.dstPort)) {
          otherFrames++;
          return;
        }
        const t = p.tsSec * 1000 + p.tsNsec / 1e6;
        if (t > watermark) watermark = t;
        datagrams++;
        collector.ingest(udp.payload, udp.srcAddress, t);
      });
      try {
        let since = 0;
        for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
          parser.push(chunk as Buffer);
          if (datagrams - since >= FLUSH_EVERY) {
            since = datagrams;
            collector.expire(watermark);
            await handOver(false);
          }
          if (parser.stats.stopped) break;
        }
        parser.end();
      } catch (e) {
        throw new FlowtallyError("FT_CAPTURE_READ", `${path}: ${(e as Error).message}`, {
          cause: e,
        });
      }
      const bad = Object.entries(parser.stats.errors).filter(([, n]) => n > 0);
      if (bad.length > 0)
        log.warn({ path, errors: Object.fromEntries(bad) }, "capture file problems");
    }
    await handOver(true);
  } finally {
    progress.done();
    await store.stop();
    if (statePath !== "") saveDecoderState(statePath, decoder);
  }
  return {
    captures: captures.length,
    datagrams,
    otherFrames,
    records: collector.stats.records,
    unattributedRecords: collector.stats.unattributedRecords,
    seriesRowsWritten: written,
    latePartials: rollup.stats.latePartials,
    heldAtEnd: decoder.heldSets(),
    problems: Object.fromEntries(Object.entries(decoder.problems).filter(([, n]) => n > 0)),
  };
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch (e) {
    throw new FlowtallyError("FT_CAPTURE_READ", `${path}: ${(e as Error).message}`, { cause: e });
  }
}
