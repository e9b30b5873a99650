/**
 * Packet parser benchmark: named cases, runnable one by one, single core, main thread.
 *
 *   npm run build && node dist/bench/packet-parser.js            # every case
 *   node dist/bench/packet-parser.js netflix tcpreplay            # some
 *   node dist/bench/packet-parser.js --list
 *   node dist/bench/packet-parser.js --fuzz 1000000 --seed 1      # fuzz loop instead
 *
 * Each case loads the frames of capture files into memory (the capture file parser is not
 * timed), warms up, then parses them over and over for `--seconds` into one reused
 * PacketInfo, as the collector does, and prints packets/s, ns/packet, the heap growth and the
 * garbage collections seen (which show any per-packet allocation).
 *
 * `--fuzz N` parses N mutated frames (seeded, replayable by index) and checks that nothing
 * throws and that the fields stay in range; it prints mutants/s and the outcome counts.
 * Results go into bench/README.md with the command that produced them.
 */
import { existsSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { PerformanceObserver } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { getHeapStatistics } from "node:v8";
import { readCaptureFile } from "../collector/capture/capture-reader.js";
import { PacketInfo, type PacketResult, packetResults } from "../collector/packet/packet-info.js";
import { parsePacket } from "../collector/packet/packet-parser.js";
import { createRng, mutateFrame } from "../test/fuzz/mutate.js";

/** dist/bench/ after a build, bench/ when run from source, or `--fixtures DIR`. */
function fixturesDir(given: string | undefined): string {
  if (given !== undefined) return given;
  for (const rel of ["../../test/fixtures/packets/", "../test/fixtures/packets/"]) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(dir)) return dir;
  }
  throw new Error("test/fixtures/packets not found next to this script (give --fixtures)");
}

let PACKETS = "";

interface Frame {
  linkType: number;
  data: Uint8Array;
}

interface BenchCase {
  name: string;
  description: string;
  captures: string[];
}

const CASES: BenchCase[] = [
  {
    name: "tcpreplay",
    description: "tcpreplay test.pcap: HTTP, DNS, ICMP, IPv6, MPLS pseudowires",
    captures: ["tcpreplay__test.pcap"],
  },
  {
    name: "netflix",
    description: "nDPI netflix.pcap: IPv4 TCP/UDP, mostly full-size frames",
    captures: ["ndpi__netflix.pcap"],
  },
  {
    name: "http-ipv6",
    description: "nDPI http_ipv6.pcap: IPv6 TCP",
    captures: ["ndpi__http_ipv6.pcap"],
  },
  { name: "1kxun", description: "nDPI 1kxun.pcap: IPv4 TCP/UDP", captures: ["ndpi__1kxun.pcap"] },
  {
    name: "all-four",
    description: "the four captures above, interleaved in file order",
    captures: [
      "tcpreplay__test.pcap",
      "ndpi__netflix.pcap",
      "ndpi__http_ipv6.pcap",
      "ndpi__1kxun.pcap",
    ],
  },
];

async function loadFrames(captures: string[]): Promise<Frame[]> {
  const frames: Frame[] = [];
  for (const file of captures) {
    await readCaptureFile(join(PACKETS, file), (p) => {
      frames.push({ linkType: p.linkType, data: p.data.slice() });
    });
  }
  return frames;
}

class GcCounter {
  minor = 0;
  major = 0;
  private readonly observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as { detail?: { kind?: number } }).detail?.kind ?? 0;
      if (kind === 1) this.minor++;
      else this.major++;
    }
  });
  start(): void {
    this.observer.observe({ entryTypes: ["gc"] });
  }
  stop(): void {
    this.observer.disconnect();
  }
}

/** Parses every frame once; returns a checksum so that the work cannot be optimised away. */
function pass(frames: Frame[], info: PacketInfo): number {
  let sum = 0;
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    parsePacket(f.data, f.linkType, info);
    sum += info.ipLength + info.srcPort;
  }
  return sum;
}

async function runCase(c: BenchCase, seconds: number): Promise<void> {
  const frames = await loadFrames(c.captures);
  const info = new PacketInfo();
  let sink = 0;
  // Warm-up: let the optimising compiler see the real mix first.
  const warmUntil = performance.now() + 500;
  while (performance.now() < warmUntil) sink += pass(frames, info);
  const gc = new GcCounter();
  gc.start();
  const heapBefore = getHeapStatistics().used_heap_size;
  let packets = 0;
  const start = performance.now();
  const until = start + seconds * 1000;
  while (performance.now() < until) {
    sink += pass(frames, info);
    packets += frames.length;
  }
  const elapsed = (performance.now() - start) / 1000;
  const heapAfter = getHeapStatistics().used_heap_size;
  // Let the observer deliver the entries queued during the run.
  await new Promise((resolve) => setImmediate(resolve));
  gc.stop();
  const rate = packets / elapsed;
  console.log(
    `${c.name.padEnd(10)} ${String(frames.length).padStart(5)} frames  ${(rate / 1e6).toFixed(2).padStart(6)} M packets/s  ` +
      `${((1e9 * elapsed) / packets).toFixed(1).padStart(6)} ns/packet  heap ${formatBytes(heapAfter - heapBefore)}  ` +
      `gc minor ${gc.minor} major ${gc.major}  (${c.description}; checksum ${sink % 1000})`,
  );
}

function formatBytes(n: number): string {
  const sign = n < 0 ? "-" : "+";
  const v = Math.abs(n);
  return v < 1024 * 1024
    ? `${sign}${(v / 1024).toFixed(0)} KiB`
    : `${sign}${(v / 1024 / 1024).toFixed(1)} MiB`;
}

// ---------------------------------------------------------------------------------------------
// Fuzz loop

function inRange(info: PacketInfo, length: number): boolean {
  if (info.ipVersion !== 0) {
    if (info.ipOffset >= length || info.ipLength < 20 || info.ipLength > 65575) return false;
    if (info.capturedIpBytes > info.ipLength || info.capturedIpBytes > length - info.ipOffset)
      return false;
  }
  if (info.hasTransport && info.transportOffset >= length) return false;
  if (info.srcPort > 0xffff || info.dstPort > 0xffff || info.tcpPayloadLength < 0) return false;
  return info.vlanCount <= 8 && info.mplsCount <= 8 && info.ipv6ExtensionHeaders <= 8;
}

async function fuzz(count: number, seed: number): Promise<void> {
  const corpus = await loadFrames(CASES.at(-1)!.captures);
  const rng = createRng(seed);
  const work = new Uint8Array(65536 + 2048);
  const info = new PacketInfo();
  const counts = new Map<PacketResult, number>(packetResults.map((r) => [r, 0]));
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const f = corpus[rng.below(corpus.length)]!;
    const donor = corpus[rng.below(corpus.length)]!.data;
    const mutant = mutateFrame(rng, f.data, donor, work);
    let result: PacketResult;
    try {
      result = parsePacket(mutant, f.linkType, info);
    } catch (error) {
      throw new Error(`mutant ${i} (seed ${seed}) threw: ${String(error)}`);
    }
    if (!packetResults.includes(result) || !inRange(info, mutant.byteLength)) {
      throw new Error(`mutant ${i} (seed ${seed}): ${result}, fields out of range`);
    }
    counts.set(result, (counts.get(result) ?? 0) + 1);
  }
  const elapsed = (performance.now() - start) / 1000;
  console.log(
    `fuzz: ${count} mutants (seed ${seed}) in ${elapsed.toFixed(1)} s, ${(count / elapsed / 1e6).toFixed(2)} M/s, no exception, fields in range`,
  );
  console.log(`  ${[...counts].map(([r, n]) => `${r} ${n}`).join(", ")}`);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      seconds: { type: "string", default: "3" },
      list: { type: "boolean", default: false },
      fuzz: { type: "string" },
      seed: { type: "string", default: "1" },
      fixtures: { type: "string" },
    },
  });
  PACKETS = fixturesDir(values.fixtures);
  if (values.list) {
    for (const c of CASES) console.log(`${c.name.padEnd(10)} ${c.description}`);
    return;
  }
  if (values.fuzz !== undefined) {
    await fuzz(Number(values.fuzz), Number(values.seed));
    return;
  }
  const wanted =
    positionals.length === 0 ? CASES : CASES.filter((c) => positionals.includes(c.name));
  const unknown = positionals.filter((p) => !CASES.some((c) => c.name === p));
  if (unknown.length > 0) throw new Error(`unknown case(s): ${unknown.join(", ")} (see --list)`);
  console.log(
    `node ${process.version}, ${cpus()[0]?.model ?? "unknown CPU"}, one core, ${values.seconds} s per case`,
  );
  for (const c of wanted) await runCase(c, Number(values.seconds));
}

await main();
