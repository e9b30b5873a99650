/**
 * `flowtally replay --config FILE CAPTURE...`: runs the single-box pipeline over capture files
 * on the packets' own timestamps (decode → classify → partial sums → rollup → store) and exits
 * once everything is written. UDP datagrams to a port of `inputs.netflow[].listen` are flow
 * exports; everything else is skipped (the packet path will count it as traffic).
 */
import { createReadStream, statSync } from "node:fs";
import { createCaptureParser } from "../collector/capture/capture-file.js";
import { createUdpDatagram, extractUdp } from "../collector/capture/udp-datagram.js";
import { loadConfigFile } from "../config/load-config.js";
import { FlowtallyError } from "../schema/errors.js";
import { parseHostPort } from "../schema/units.js";
import { createLogger, type LogLevel } from "./logger.js";
import { createPipeline } from "./pipeline.js";
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
  futureRecords: number;
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
  const pipeline = await createPipeline(cfg, log);
  const { collector, decoder, rollup, store } = pipeline;

  const udp = createUdpDatagram();
  let datagrams = 0;
  let otherFrames = 0;
  let watermark = Number.NEGATIVE_INFINITY;
  const totalBytes = captures.reduce((n, p) => n + fileSize(p), 0);
  const progress = createProgress({
    total: totalBytes,
    enabled: opts.progress ?? process.stderr.isTTY,
  });

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
            await pipeline.handOver(watermark);
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
    await pipeline.handOver(watermark, true);
  } finally {
    progress.done();
    await store.stop();
    pipeline.saveState();
  }
  return {
    captures: captures.length,
    datagrams,
    otherFrames,
    records: collector.stats.records,
    unattributedRecords: collector.stats.unattributedRecords,
    futureRecords: collector.stats.futureRecords,
    seriesRowsWritten: pipeline.stats.seriesRowsWritten,
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
