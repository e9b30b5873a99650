/**
 * `flowtally decode`: replays the flow exports of capture files through the decoder and reports
 * what it found. The same decoder, state file and counters as the collector.
 */
import { readCaptureFile } from "../collector/capture/capture-reader.js";
import { createUdpDatagram, extractUdp } from "../collector/capture/udp-datagram.js";
import { decoderOptionsFromConfig } from "../collector/decoder-options.js";
import { loadDecoderState, saveDecoderState } from "../collector/decoder-state-file.js";
import { createFlowDecoder } from "../collector/decoders/flow-decoder.js";
import { readFlowRecord } from "../collector/decoders/flow-record-view.js";
import { createProblemReporter } from "../collector/problem-reporter.js";
import { loadConfigFile } from "../config/load-config.js";
import { configSchema } from "../schema/config.js";
import { FlowtallyError } from "../schema/errors.js";
import { FlowBatch, samplingSourceNames } from "../schema/flow-record.js";
import { createLogger, type LogLevel } from "./logger.js";

export interface DecodeCommandOptions {
  config?: string;
  port: number[];
  format: "table" | "json";
  records?: boolean;
  state?: string;
  logLevel: LogLevel;
}

export async function runDecode(captures: string[], opts: DecodeCommandOptions): Promise<number> {
  const cfg = opts.config === undefined ? configSchema.parse({}) : loadConfigFile(opts.config);
  const decoder = createFlowDecoder(decoderOptionsFromConfig(cfg.decoder));
  const log = createLogger(opts.logLevel);
  const restored = opts.state === undefined ? null : loadDecoderState(opts.state, decoder);
  if (restored !== null) log.info({ path: opts.state, ...restored }, "decoder state restored");
  const reporter = createProblemReporter(log);

  const ports = new Set(opts.port);
  const udp = createUdpDatagram();
  const batch = new FlowBatch(1024);
  const out = process.stdout;
  const totals = { datagrams: 0, records: 0, bytes: 0, packets: 0, otherFrames: 0 };
  const bySource = new Map<string, { records: number; bytes: number; packets: number }>();
  let lastMs = 0;

  const consume = (): void => {
    for (let i = 0; i < batch.length; i++) {
      totals.records++;
      totals.bytes += batch.bytes[i]!;
      totals.packets += batch.packets[i]!;
      const src = samplingSourceNames[batch.samplingSource[i] as keyof typeof samplingSourceNames];
      const s = bySource.get(src) ?? { records: 0, bytes: 0, packets: 0 };
      s.records++;
      s.bytes += batch.bytes[i]!;
      s.packets += batch.packets[i]!;
      bySource.set(src, s);
      if (opts.records) out.write(`${JSON.stringify(readFlowRecord(batch, i))}\n`);
    }
    batch.clear();
  };

  for (const path of captures) {
    try {
      await readCaptureFile(path, (p) => {
        if (!extractUdp(p.linkType, p.data, udp) || (ports.size > 0 && !ports.has(udp.dstPort))) {
          totals.otherFrames++;
          return;
        }
        totals.datagrams++;
        lastMs = p.tsSec * 1000 + p.tsNsec / 1e6;
        decoder.decode(udp.payload, udp.srcAddress, lastMs, batch);
        consume();
        reporter.report(lastMs, decoder.problems);
      });
    } catch (e) {
      throw new FlowtallyError("FT_CAPTURE_READ", `${path}: ${(e as Error).message}`, { cause: e });
    }
  }
  reporter.report(lastMs, decoder.problems, true);
  // Held data that never met its template is reported as held, not silently forgotten.
  const held = decoder.heldSets();
  if (held.count > 0)
    log.warn(held, "data still held at the end: no template or sampling rate arrived for it");
  if (opts.state !== undefined) saveDecoderState(opts.state, decoder);
  if (opts.records) return 0;

  const problems = Object.fromEntries(Object.entries(decoder.problems).filter(([, n]) => n > 0));
  const summary = {
    captures,
    ...(restored === null ? {} : { stateRestored: restored }),
    datagrams: totals.datagrams,
    otherFrames: totals.otherFrames,
    records: totals.records,
    bytes: totals.bytes,
    packets: totals.packets,
    bySamplingSource: Object.fromEntries(bySource),
    heldAtEnd: held,
    problems,
    exporters: decoder.exporterStats(),
  };
  if (opts.format === "json") {
    out.write(`${JSON.stringify(summary, null, 2)}\n`);
    return 0;
  }
  out.write(renderSummary(summary));
  return 0;
}

function renderSummary(s: {
  datagrams: number;
  otherFrames: number;
  records: number;
  bytes: number;
  packets: number;
  bySamplingSource: Record<string, { records: number; bytes: number; packets: number }>;
  heldAtEnd: { count: number; bytes: number };
  problems: Record<string, number>;
  exporters: ReadonlyArray<{ exporter: string }>;
}): string {
  const lines: string[] = [];
  lines.push(
    `flow export datagrams: ${s.datagrams}  (other frames skipped: ${s.otherFrames})`,
    `flow records:          ${s.records}`,
    `bytes (sampled up):    ${s.bytes}`,
    `packets (sampled up):  ${s.packets}`,
    "",
    "by sampling source:",
  );
  for (const [src, t] of Object.entries(s.bySamplingSource)) {
    lines.push(`  ${src.padEnd(20)} ${String(t.records).padStart(8)} records ${t.bytes} bytes`);
  }
  lines.push("", "exporters:");
  const cols = [
    "exporter",
    "datagrams",
    "records",
    "optionsRecords",
    "templates",
    "lostRecords",
    "lostPackets",
    "sequenceResets",
  ];
  const rows = s.exporters.map((e) =>
    cols.map((c) => String((e as unknown as Record<string, unknown>)[c] ?? "")),
  );
  const widths = cols.map((c, k) => Math.max(c.length, ...rows.map((r) => r[k]!.length)));
  lines.push(`  ${cols.map((c, k) => c.padEnd(widths[k]!)).join("  ")}`);
  for (const r of rows) lines.push(`  ${r.map((v, k) => v.padEnd(widths[k]!)).join("  ")}`);
  lines.push("", "decode problems:");
  const probs = Object.entries(s.problems);
  if (probs.length === 0) lines.push("  none");
  for (const [p, n] of probs) lines.push(`  ${p.padEnd(24)} ${n}`);
  if (s.heldAtEnd.count > 0) {
    lines.push(
      "",
      `still held at the end (no template or rate arrived): ${s.heldAtEnd.count} sets, ${s.heldAtEnd.bytes} bytes`,
    );
  }
  return `${lines.join("\n")}\n`;
}
