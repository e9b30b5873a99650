/**
 * sFlow decode benchmark: every sFlow v5 datagram of test/fixtures/flows (flow samples with raw
 * headers and sampled IPv4/IPv6 records, expanded samples, counter samples), decoded over and
 * over by one `createSflowDecoder` into one FlowBatch and one InterfaceCounterBatch, both
 * cleared before every datagram (as the collector does). Single core, main thread.
 *
 *   npm run build && node dist/bench/sflow-decode.js
 *   node dist/bench/sflow-decode.js --seconds 5 --warmup 1 --runs 3
 *
 * Prints samples (flow rows + counter rows) per second, ns per sample, and a digest of the
 * rows of one pass, which must not change when the decoder is only reorganised.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createSflowDecoder } from "../collector/decoders/sflow.js";
import { InterfaceCounterBatch } from "../collector/decoders/sflow-records.js";
import { FlowBatch } from "../schema/flow-record.js";
import { captureDatagrams } from "../test/support/decode-capture.js";

interface Datagram {
  exporter: string;
  timeMs: number;
  payload: Uint8Array;
}

function sflowDatagrams(dir: string): Datagram[] {
  const out: Datagram[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith(".pcap")) continue;
    for (const d of captureDatagrams(join(dir, file))) {
      const p = d.payload;
      if (p.byteLength < 8 || p[0] !== 0 || p[1] !== 0 || p[2] !== 0 || p[3] !== 5) continue;
      out.push(d);
    }
  }
  return out;
}

/** FNV-1a over the rows' key columns and counters: equal before and after a refactoring. */
function digest(datagrams: readonly Datagram[]): string {
  const decoder = createSflowDecoder();
  const batch = new FlowBatch(4096);
  const counters = new InterfaceCounterBatch();
  let h = 0x811c9dc5;
  const mix = (x: number): void => {
    const v = Number.isFinite(x) ? x : 0;
    h = Math.imul(h ^ (v >>> 0), 0x01000193);
    h = Math.imul(h ^ Math.floor(v / 4294967296), 0x01000193);
  };
  for (const d of datagrams) {
    batch.clear();
    counters.clear();
    decoder.decode(d.payload, d.exporter, d.timeMs, batch, counters);
    for (let i = 0; i < batch.length; i++) {
      for (const v of [
        batch.exporterId[i]!,
        batch.version[i]!,
        batch.domain[i]!,
        batch.inIf[i]!,
        batch.outIf[i]!,
        batch.ipVersion[i]!,
        batch.src4[i]!,
        batch.dst4[i]!,
        batch.srcPort[i]!,
        batch.dstPort[i]!,
        batch.protocol[i]!,
        batch.tcpFlags[i]!,
        batch.dscp[i]!,
        batch.bytes[i]!,
        batch.packets[i]!,
        batch.startMs[i]!,
        batch.samplingRate[i]!,
        batch.samplingSource[i]!,
      ]) {
        mix(v);
      }
      for (let k = 0; k < 16; k++) mix(batch.src6[16 * i + k]! + 256 * batch.dst6[16 * i + k]!);
    }
    for (let i = 0; i < counters.length; i++) {
      for (const v of Object.values(counters.rows[i]!)) mix(v as number);
    }
  }
  for (const v of Object.values(decoder.problems)) mix(v);
  for (const a of decoder.agentStats()) for (const v of Object.values(a)) mix(Number(v));
  return (h >>> 0).toString(16).padStart(8, "0");
}

function main(): void {
  const { values } = parseArgs({
    options: {
      seconds: { type: "string", default: "3" },
      warmup: { type: "string", default: "1" },
      runs: { type: "string", default: "1" },
      fixtures: { type: "string" },
    },
  });
  const root =
    values.fixtures ?? fileURLToPath(new URL("../../test/fixtures/flows", import.meta.url));
  const datagrams = sflowDatagrams(join(root, "sflow"));
  const decoder = createSflowDecoder();
  const batch = new FlowBatch(4096);
  const counters = new InterfaceCounterBatch();
  const pass = (): number => {
    let rows = 0;
    for (let k = 0; k < datagrams.length; k++) {
      const d = datagrams[k]!;
      batch.clear();
      counters.clear();
      rows += decoder.decode(d.payload, d.exporter, d.timeMs, batch, counters);
      rows += counters.length;
    }
    return rows;
  };
  const timed = (seconds: number): { rows: number; datagrams: number; ns: bigint } => {
    const start = process.hrtime.bigint();
    const until = start + BigInt(Math.round(seconds * 1e9));
    let rows = 0;
    let n = 0;
    let now = start;
    while (now < until) {
      rows += pass();
      n += datagrams.length;
      now = process.hrtime.bigint();
    }
    return { rows, datagrams: n, ns: now - start };
  };
  console.log(
    `sflow corpus: ${datagrams.length} datagrams, ${pass()} rows a pass (flow + counter), digest ${digest(datagrams)}`,
  );
  timed(Number(values.warmup));
  for (let r = 0; r < Number(values.runs); r++) {
    const cpu0 = process.cpuUsage();
    const t = timed(Number(values.seconds));
    const cpu = process.cpuUsage(cpu0);
    const s = Number(t.ns) / 1e9;
    const cpuS = (cpu.user + cpu.system) / 1e6;
    console.log(
      `run ${r + 1}: ${(t.rows / s / 1e6).toFixed(2)} M rows/s, ${((s * 1e9) / t.rows).toFixed(1)} ns/row, ` +
        `${(t.datagrams / s / 1e3).toFixed(0)} k datagrams/s, ${(t.rows / cpuS / 1e6).toFixed(2)} M rows/CPU-s`,
    );
  }
}

main();
