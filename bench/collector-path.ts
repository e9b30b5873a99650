/**
 * The collector path of `flowtally run` without sockets, for instruction counts: a fixed
 * generated IPFIX (or v9) stream pushed through `createPipeline` (cli/pipeline.ts) the way the
 * run command's UDP input and tick do it — `collector.ingest` per datagram, `collector.expire`
 * and `handOver` once per second of the stream's own timeline, a final hand-over at the end —
 * into a DuckDB file in a temporary directory.
 *
 *   npm run build
 *   node dist/bench/collector-path.js --records 2000000                  # feed all, check totals
 *   node dist/bench/collector-path.js --records 2000000 --feed 1000000   # same stream, feed half
 *   node dist/bench/collector-path.js --records 2000000 --stream /tmp/s.bin   # generate once
 *   valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out \
 *     node dist/bench/collector-path.js --records 2000000 --stream /tmp/s.bin
 *
 * Deterministic: a fixed seed and start time, no clock, so that two runs over the same code do
 * the same work and callgrind's instruction counts compare across changes (wall-clock timings on
 * a shared VM do not). The whole stream is always generated, and `--feed` only limits what is
 * pushed through, so that the difference of two runs with different `--feed` is the cost of
 * the records in between (generation, start-up and the store's fixed costs cancel out).
 * `--stream FILE` reads the stream and its ground truth from FILE (and FILE.json), writing them
 * there first if FILE does not exist: generating costs more than collecting, and is no part of
 * what is measured.
 *
 * Prints a digest of every partial sum the collector handed over (any change of a result
 * changes it) and, when the whole stream is fed, checks the stored per-customer totals
 * against the generator's ground truth, exactly.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { createPipeline } from "../cli/pipeline.js";
import type { PartialSum } from "../collector/aggregate/partial-sums.js";
import { parseConfigText } from "../config/load-config.js";
import {
  createFlowGenerator,
  type DatagramPack,
  flowtallyConfigYaml,
  type GroundTruth,
  generateDatagrams,
  type TrafficTotals,
} from "./flow-generator.js";

/** 2026-11-22 00:00 UTC: a fixed start, so that runs are identical. */
const START_MS = Date.UTC(2026, 10, 22);
/** The run command's tick (cli/run-command.ts `tickMs`). */
const TICK_MS = 1000;
const EXPORTER = "127.0.0.1";

const { values } = parseArgs({
  options: {
    records: { type: "string", default: "2000000" },
    feed: { type: "string" },
    customers: { type: "string", default: "1000" },
    version: { type: "string", default: "10" },
    rate: { type: "string", default: "1000000" },
    seed: { type: "string", default: "1" },
    stream: { type: "string" },
  },
});
const records = Number(values.records);
const feed = values.feed === undefined ? records : Number(values.feed);
const rate = Number(values.rate);
const version = Number(values.version);
if (version !== 9 && version !== 10) throw new RangeError("--version: 9 or 10");
if (!(feed >= 0 && feed <= records)) throw new RangeError("--feed: 0 .. --records");

const gen = createFlowGenerator({
  seed: Number(values.seed),
  customers: Number(values.customers),
  version,
  startMs: START_MS,
  recordsPerSecond: rate,
});
const { pack, truth } =
  values.stream === undefined
    ? { pack: generateDatagrams(gen, records), truth: gen.truth() }
    : streamFile(values.stream);

/**
 * The stream in `path` (made with the same options: the file is not checked against them):
 * `datagrams`, then the offsets (u32) and record counts (u16) of the pack, then its bytes.
 */
function streamFile(path: string): { pack: DatagramPack; truth: GroundTruth } {
  if (!existsSync(path)) {
    const pack = generateDatagrams(gen, records);
    const truth = gen.truth();
    const head = new Uint32Array([pack.datagrams, pack.records, pack.bytes.byteLength]);
    const parts = [head, pack.offsets, pack.recordCounts, pack.bytes];
    writeFileSync(
      path,
      Buffer.concat(parts.map((a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength))),
    );
    writeFileSync(`${path}.json`, JSON.stringify({ ...truth, customers: [...truth.customers] }));
  }
  const file = readFileSync(path);
  const at = (offset: number, length: number) =>
    new Uint8Array(file.buffer, file.byteOffset + offset, length).slice().buffer;
  const [datagrams, packRecords, byteLength] = new Uint32Array(at(0, 12)) as unknown as number[];
  const offsets = new Uint32Array(at(12, (datagrams! + 1) * 4));
  const countsAt = 12 + offsets.byteLength;
  const recordCounts = new Uint16Array(at(countsAt, datagrams! * 2));
  const bytes = new Uint8Array(at(countsAt + recordCounts.byteLength, byteLength!));
  const saved = JSON.parse(readFileSync(`${path}.json`, "utf8")) as GroundTruth & {
    customers: Array<[string, TrafficTotals]>;
  };
  return {
    pack: { bytes, offsets, recordCounts, datagrams: datagrams!, records: packRecords! },
    truth: { ...saved, customers: new Map(saved.customers) },
  };
}

const workDir = mkdtempSync(join(tmpdir(), "flowtally-collector-path-"));
try {
  const cfg = parseConfigText(
    flowtallyConfigYaml(gen.customers, {
      listen: "127.0.0.1:0",
      storePath: join(workDir, "store.duckdb"),
      statePath: "",
    }),
  );
  const pipeline = await createPipeline(cfg, pino({ level: "silent" }));
  const { collector } = pipeline;

  // FNV-1a over every partial sum handed over, in hand-over order.
  let digest = 0x811c9dc5;
  let sums = 0;
  const fold = (x: number) => {
    digest = Math.imul(digest ^ (x >>> 0), 0x01000193) >>> 0;
    digest = Math.imul(digest ^ Math.floor(x / 4294967296), 0x01000193) >>> 0;
  };
  const digested = (out: PartialSum[]): PartialSum[] => {
    for (const s of out) {
      fold(s.startMs);
      fold(s.link);
      fold(s.classIndex);
      fold(s.direction);
      fold(s.bytes);
      fold(s.packets);
      fold(s.flows);
    }
    sums += out.length;
    return out;
  };
  const { drain, drainAll } = collector;
  Object.assign(collector, {
    drain: (beforeMs: number) => digested(drain(beforeMs)),
    drainAll: () => digested(drainAll()),
  });

  let fed = 0;
  let nowMs = START_MS;
  let nextTick = START_MS + TICK_MS;
  for (let k = 0; k < pack.datagrams && fed < feed; k++) {
    // Arrival on the generator's timeline, as a wall clock in whole ms.
    nowMs = START_MS + Math.floor((fed * 1000) / rate);
    if (nowMs >= nextTick) {
      collector.expire(nowMs);
      await pipeline.handOver(nowMs);
      nextTick += TICK_MS;
    }
    collector.ingest(pack.bytes.subarray(pack.offsets[k]!, pack.offsets[k + 1]!), EXPORTER, nowMs);
    fed += pack.recordCounts[k]!;
  }
  collector.expire(nowMs);
  await pipeline.handOver(nowMs, true);

  const out: Record<string, unknown> = {
    records,
    fed,
    datagrams: collector.stats.datagrams,
    partialSums: sums,
    digest: digest.toString(16).padStart(8, "0"),
    seriesRows: pipeline.stats.seriesRowsWritten,
  };
  if (fed === records) {
    const rows = await pipeline.store.overview({
      fromMs: START_MS - 3_600_000,
      toMs: START_MS + 86_400_000,
    });
    const byCustomer = new Map(rows.map((r) => [r.customer, r]));
    let exact = 0;
    for (const [id, t] of truth.customers) {
      const r = byCustomer.get(id);
      const same =
        r === undefined
          ? t.flows === 0
          : r.bytesIn === t.bytesIn &&
            r.bytesOut === t.bytesOut &&
            r.packetsIn === t.packetsIn &&
            r.packetsOut === t.packetsOut &&
            r.flows === t.flows;
      if (same) exact++;
    }
    out.customersExact = `${exact}/${truth.customers.size}`;
    if (exact !== truth.customers.size) process.exitCode = 1;
  }
  await pipeline.store.stop();
  process.stdout.write(`${JSON.stringify(out)}\n`);
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
