/**
 * The write-ahead log's cost, in process and without UDP (the CPU the kernel and other programs
 * take would drown a few percent): the same generated IPFIX stream through `run`'s pipeline
 * (cli/pipeline.ts: decode, classify, partial sums, rollup, embedded store) on a simulated clock
 * at the given record rate, persisting every 500 ms and handing over to the store every second
 * of that clock, with the log on and off, alternately, several times. Reported: records per
 * CPU-second of this process (DuckDB's threads included), the log's bytes per minute of the
 * stream and per record, and its fsyncs.
 *
 *   npm run build && node dist/bench/wal.js                           # 5 M records, 1000 customers
 *   node dist/bench/wal.js --records 2000000 --customers 10000 --runs 2
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { createPipeline } from "../cli/pipeline.js";
import { parseConfigText } from "../config/load-config.js";
import {
  createFlowGenerator,
  type DatagramPack,
  flowtallyConfigYaml,
  generateDatagrams,
} from "./flow-generator.js";

interface Result {
  wal: boolean;
  cpuSeconds: number;
  recordsPerCpuSecond: number;
  walBytes: number;
  syncs: number;
}

async function once(
  pack: DatagramPack,
  configYaml: string,
  dir: string,
  wal: boolean,
  rate: number,
  startMs: number,
): Promise<Result> {
  const runDir = await mkdtemp(join(dir, wal ? "wal-" : "nowal-"));
  const cfg = parseConfigText(
    `${configYaml}\nwal: { enabled: ${wal} }\ndataDir: ${runDir}\n`,
    "bench",
    runDir,
  );
  const p = await createPipeline(cfg, pino({ level: "warn" }));
  const cpu0 = process.cpuUsage();
  let records = 0;
  let nextPersist = startMs + 500;
  let nextHandOver = startMs + 1000;
  for (let k = 0; k < pack.datagrams; k++) {
    const now = startMs + (records / rate) * 1000;
    while (now >= nextPersist) {
      if (nextPersist >= nextHandOver) {
        await p.handOver(nextPersist);
        nextHandOver += 1000;
      } else {
        await p.persist(nextPersist);
      }
      nextPersist += 500;
    }
    p.collector.ingest(pack.bytes.subarray(pack.offsets[k], pack.offsets[k + 1]), "127.0.0.1", now);
    records += pack.recordCounts[k]!;
  }
  await p.handOver(startMs + (records / rate) * 1000 + 1000, true);
  const used = process.cpuUsage(cpu0);
  const w = p.walStats();
  await p.close(Date.now());
  await rm(runDir, { recursive: true, force: true });
  const cpuSeconds = (used.user + used.system) / 1e6;
  return {
    wal,
    cpuSeconds,
    recordsPerCpuSecond: records / cpuSeconds,
    walBytes: w.appendedBytes,
    syncs: w.syncs,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      records: { type: "string", default: "5000000" },
      customers: { type: "string", default: "1000" },
      rate: { type: "string", default: "1000000" },
      runs: { type: "string", default: "3" },
    },
  });
  const records = Number(values.records);
  const rate = Number(values.rate);
  const startMs = Date.now() - 60_000;
  const gen = createFlowGenerator({
    seed: 1,
    customers: Number(values.customers),
    version: 10,
    startMs,
    recordsPerSecond: rate,
  });
  const pack = generateDatagrams(gen, records);
  const configYaml = flowtallyConfigYaml(gen.customers, {
    listen: "127.0.0.1:0",
    storePath: "flowtally.duckdb",
    statePath: "",
  });
  const dir = await mkdtemp(join(tmpdir(), "ft-bench-wal-"));
  const results: Result[] = [];
  try {
    // A first pass of each, not counted: the JIT and DuckDB warm up.
    await once(pack, configYaml, dir, true, rate, startMs);
    await once(pack, configYaml, dir, false, rate, startMs);
    for (let run = 0; run < Number(values.runs); run++) {
      for (const wal of run % 2 === 0 ? [true, false] : [false, true]) {
        results.push(await once(pack, configYaml, dir, wal, rate, startMs));
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const streamMinutes = records / rate / 60;
  console.log(
    `${records} records, ${values.customers} customers, ${rate} records/s of stream (${(streamMinutes * 60).toFixed(1)} s)`,
  );
  console.log(
    "| log | CPU-s | records/CPU-s | log MiB per minute of stream | bytes per record | fsyncs |",
  );
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const r of results) {
    console.log(
      `| ${r.wal ? "on" : "off"} | ${r.cpuSeconds.toFixed(2)} | ${(r.recordsPerCpuSecond / 1e6).toFixed(2)} M | ${
        r.wal ? (r.walBytes / 2 ** 20 / streamMinutes).toFixed(1) : "-"
      } | ${r.wal ? (r.walBytes / records).toFixed(2) : "-"} | ${r.wal ? r.syncs : "-"} |`,
    );
  }
  const mean = (on: boolean) => {
    const xs = results.filter((r) => r.wal === on).map((r) => r.cpuSeconds);
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  console.log(
    `mean CPU-s: on ${mean(true).toFixed(2)}, off ${mean(false).toFixed(2)}: the log costs ${(
      ((mean(true) - mean(false)) / mean(false)) * 100
    ).toFixed(1)} %`,
  );
}

await main();
