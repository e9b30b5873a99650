/**
 * Flow table benchmark: memory per flow, memory with 1 M concurrent flows, and packets/s per
 * core through `FlowTable.add` (with TCP timing on). Single core, main thread.
 *
 *   npm run build && node --expose-gc dist/bench/flow-table.js            # every case
 *   node --expose-gc dist/bench/flow-table.js memory-1m                   # one case
 *   node dist/bench/flow-table.js --list
 *   node dist/bench/flow-table.js --seconds 5 add-captures
 *
 * Cases:
 * - `memory-1m`: process.memoryUsage() (after full GCs with --expose-gc) before creating a
 *   table of 1 Mi entries, after creating it, and after filling it with 1 M distinct TCP
 *   flows (a SYN each: TCP timing state in use); with the table's own bytes per entry.
 * - `add-captures`: every IP packet of the TCP/UDP captures in test/fixtures/packets, parsed
 *   once into PacketInfo copies, then added over and over; each replay shifts the addresses
 *   (a new set of flows) and the time (so the previous replay's flows expire, as on a real
 *   link: creation, counting, timing and expiry all happen). The realistic mix.
 * - `add-synthetic`: 200 k concurrent flows (80 % TCP with handshake, request and response
 *   data, FIN; 20 % UDP), packets drawn so that a few flows carry most packets (Zipf-like),
 *   1 M-entry table. Pure `add` cost on a large table whose state is out of cache.
 * - `parse-and-add-captures`: as add-captures but parsing each frame again too (parsePacket +
 *   add): the packet path without classification.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { readCaptureFile } from "../collector/capture/capture-reader.js";
import { createFlowTable } from "../collector/packet/flow-table.js";
import { PacketInfo } from "../collector/packet/packet-info.js";
import { parsePacket } from "../collector/packet/packet-parser.js";
import { FlowBatch } from "../schema/flow-record.js";

const MIB = 1024 * 1024;
/** Run from the repository root. */
const FIXTURES = join(process.cwd(), "test/fixtures/packets");

const { values, positionals } = parseArgs({
  options: {
    seconds: { type: "string", default: "3" },
    warmup: { type: "string", default: "1" },
    list: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
  allowPositionals: true,
});
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);

interface Result {
  case: string;
  [k: string]: string | number;
}
const results: Result[] = [];

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g !== undefined) {
    g();
    g();
  }
}

function memory(): { rss: number; heap: number; arrayBuffers: number } {
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, arrayBuffers: m.arrayBuffers };
}

function copyInfo(from: PacketInfo): PacketInfo {
  const to = new PacketInfo();
  const src = from as unknown as Record<string, unknown>;
  const dst = to as unknown as Record<string, unknown>;
  for (const key of Object.keys(src)) {
    const v = src[key];
    if (v instanceof Uint8Array) (dst[key] as Uint8Array).set(v);
    else dst[key] = v;
  }
  return to;
}

async function loadCaptures(): Promise<{
  infos: PacketInfo[];
  raw: { data: Uint8Array; linkType: number }[];
  spanUs: number;
}> {
  const infos: PacketInfo[] = [];
  const raw: { data: Uint8Array; linkType: number }[] = [];
  const info = new PacketInfo();
  const files = readdirSync(FIXTURES).filter((f) => /\.pcap(ng)?$/.test(f));
  for (const file of files) {
    await readCaptureFile(join(FIXTURES, file), (p) => {
      const r = parsePacket(p.data, p.linkType, info);
      if ((r === "ok" || r === "truncated") && info.ipVersion !== 0) {
        infos.push(copyInfo(info));
        raw.push({ data: p.data.slice(), linkType: p.linkType });
      }
    });
  }
  // Packets are replayed at 2 µs intervals (500 k packets/s of packet time).
  return { infos, raw, spanUs: infos.length * 2 };
}

/**
 * XORs the replay number into both addresses (the same bits in both, so that the two
 * directions of a connection stay one flow): each replay is a new set of flows. Applying it
 * twice restores the packet.
 */
function shiftAddresses(info: PacketInfo, round: number): void {
  const hi = (round >>> 8) & 0xff;
  const lo = round & 0xff;
  if (info.ipVersion === 4) {
    const x = ((hi << 16) | (lo << 8)) >>> 0;
    info.src4 = (info.src4 ^ x) >>> 0;
    info.dst4 = (info.dst4 ^ x) >>> 0;
  } else {
    info.src6[12] = info.src6[12]! ^ hi;
    info.src6[13] = info.src6[13]! ^ lo;
    info.dst6[12] = info.dst6[12]! ^ hi;
    info.dst6[13] = info.dst6[13]! ^ lo;
  }
}

function timeLoop(run: () => number): { perSecond: number; units: number; elapsed: number } {
  const warmEnd = performance.now() + warmup * 1000;
  while (performance.now() < warmEnd) run();
  let units = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  let now = start;
  while (now < end) {
    units += run();
    now = performance.now();
  }
  const elapsed = (now - start) / 1000;
  return { perSecond: units / elapsed, units, elapsed };
}

const cases: Record<string, () => Promise<void>> = {
  async "memory-1m"() {
    const n = 1 << 20;
    const before = memory();
    const table = createFlowTable({
      maxFlows: n,
      idleTimeoutMs: 3_600_000,
      activeTimeoutMs: 3_600_000,
    });
    const created = memory();
    const info = new PacketInfo();
    info.ipVersion = 4;
    info.protocol = 6;
    info.hasTransport = true;
    info.tcpFlags = 0x02;
    info.ipLength = 60;
    const out = new FlowBatch(1024);
    const t0 = performance.now();
    for (let k = 0; k < 1_000_000; k++) {
      info.src4 = (0x0a000000 + (k >>> 4)) >>> 0;
      info.dst4 = 0xc0000201 + (k & 15);
      info.srcPort = 1024 + (k % 50_000);
      info.dstPort = 443;
      info.tcpSeq = k;
      table.add(info, 1_700_000_000 + Math.floor(k / 1_000_000), (k % 1_000_000) * 1000, out);
    }
    const fillSeconds = (performance.now() - t0) / 1000;
    const filled = memory();
    const r: Result = {
      case: "memory-1m",
      flows: table.size,
      tableBytesPerFlow: Math.round(table.bytesPerFlow),
      createdMiB: +((created.arrayBuffers - before.arrayBuffers) / MIB).toFixed(1),
      rssAfterCreateMiB: +((created.rss - before.rss) / MIB).toFixed(1),
      rssAfterFillMiB: +((filled.rss - before.rss) / MIB).toFixed(1),
      heapGrowthMiB: +((filled.heap - before.heap) / MIB).toFixed(1),
      bytesPerFlowMeasured: Math.round((filled.rss - before.rss) / table.size),
      fillPacketsPerSecond: Math.round(1_000_000 / fillSeconds),
    };
    results.push(r);
    if (table.size !== 1_000_000) throw new Error(`expected 1 M flows, got ${table.size}`);
  },

  async "add-captures"() {
    const { infos, spanUs } = await loadCaptures();
    const table = createFlowTable({ maxFlows: 1 << 18 });
    const out = new FlowBatch(4096);
    let round = 0;
    let records = 0;
    const run = (): number => {
      const baseUs = round * (spanUs + 60_000_000);
      round++;
      for (let k = 0; k < infos.length; k++) {
        const info = infos[k]!;
        shiftAddresses(info, round);
        const us = baseUs + 2 * k;
        table.add(info, 1_700_000_000 + Math.floor(us / 1e6), (us % 1e6) * 1000, out);
        shiftAddresses(info, round);
        if (out.length > 2048) {
          records += out.length;
          out.clear();
        }
      }
      return infos.length;
    };
    const t = timeLoop(run);
    results.push({
      case: "add-captures",
      packetsPerReplay: infos.length,
      packetsPerSecond: Math.round(t.perSecond),
      nsPerPacket: +(1e9 / t.perSecond).toFixed(1),
      records,
      transactions: table.tcpStats?.transactions ?? 0,
    });
  },

  async "parse-and-add-captures"() {
    const { raw, spanUs } = await loadCaptures();
    const table = createFlowTable({ maxFlows: 1 << 18 });
    const out = new FlowBatch(4096);
    const info = new PacketInfo();
    let round = 0;
    const run = (): number => {
      const baseUs = round * (spanUs + 60_000_000);
      round++;
      for (let k = 0; k < raw.length; k++) {
        const f = raw[k]!;
        parsePacket(f.data, f.linkType, info);
        shiftAddresses(info, round);
        const us = baseUs + 2 * k;
        table.add(info, 1_700_000_000 + Math.floor(us / 1e6), (us % 1e6) * 1000, out);
        if (out.length > 2048) out.clear();
      }
      return raw.length;
    };
    const t = timeLoop(run);
    results.push({
      case: "parse-and-add-captures",
      packetsPerSecond: Math.round(t.perSecond),
      nsPerPacket: +(1e9 / t.perSecond).toFixed(1),
    });
  },

  async "add-synthetic"() {
    const flows = 200_000;
    const packets = 1 << 20;
    // Pre-drawn packet stream: flow index per packet, Zipf-like (index = flows * u^3).
    let seed = 7;
    const rand = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 4294967296;
    };
    const flowOf = new Int32Array(packets);
    for (let k = 0; k < packets; k++) flowOf[k] = Math.floor(flows * rand() ** 3);
    const sent = new Uint32Array(flows);
    const seqC = new Uint32Array(flows);
    const seqS = new Uint32Array(flows);
    const table = createFlowTable({ maxFlows: 1 << 20, idleTimeoutMs: 3_600_000 });
    const out = new FlowBatch(4096);
    const info = new PacketInfo();
    info.ipVersion = 4;
    info.hasTransport = true;
    let clock = 0;
    const run = (): number => {
      for (let k = 0; k < packets; k++) {
        const f = flowOf[k]!;
        const n = sent[f]!;
        sent[f] = n + 1;
        const tcp = f % 5 !== 0;
        // SYN, SYN-ACK, ACK, then two client packets for each server packet.
        const fromClient = n === 1 ? false : n < 3 || n % 3 !== 2;
        info.protocol = tcp ? 6 : 17;
        info.src4 = fromClient ? 0x0a000000 + f : 0xc0000000 + (f & 0xfff);
        info.dst4 = fromClient ? 0xc0000000 + (f & 0xfff) : 0x0a000000 + f;
        info.srcPort = fromClient ? 1024 + (f & 0x7fff) : 443;
        info.dstPort = fromClient ? 443 : 1024 + (f & 0x7fff);
        if (tcp) {
          const phase = n % 64;
          info.tcpFlags = n === 0 ? 0x02 : n === 1 ? 0x12 : phase === 63 ? 0x11 : 0x18;
          // After the handshake: request (client), ACK (client), response (server).
          const clientAck = n > 2 && fromClient && n % 3 === 1;
          if (clientAck) info.tcpFlags = 0x10;
          const payload = n < 3 || clientAck ? 0 : fromClient ? 200 : 1400;
          info.tcpPayloadLength = payload;
          info.ipLength = 40 + payload;
          if (fromClient) {
            info.tcpSeq = seqC[f]!;
            seqC[f] = seqC[f]! + payload + (n === 0 ? 1 : 0);
          } else {
            info.tcpSeq = seqS[f]!;
            seqS[f] = seqS[f]! + payload + (n === 1 ? 1 : 0);
          }
        } else {
          info.tcpFlags = 0;
          info.ipLength = 1200;
        }
        clock += 2;
        table.add(info, 1_700_000_000 + Math.floor(clock / 1e6), (clock % 1e6) * 1000, out);
        if (out.length > 2048) out.clear();
      }
      return packets;
    };
    const t = timeLoop(run);
    results.push({
      case: "add-synthetic",
      packetsPerSecond: Math.round(t.perSecond),
      nsPerPacket: +(1e9 / t.perSecond).toFixed(1),
      flowsHeld: table.size,
      transactions: table.tcpStats?.transactions ?? 0,
    });
  },
};

async function main(): Promise<void> {
  if (values.list) {
    console.log(Object.keys(cases).join("\n"));
    return;
  }
  const chosen = positionals.length > 0 ? positionals : Object.keys(cases);
  for (const name of chosen) {
    const run = cases[name];
    if (run === undefined) throw new Error(`unknown case ${name} (see --list)`);
    await run();
    const r = results[results.length - 1];
    console.log(
      Object.entries(r ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join("  "),
    );
  }
  if (values.json) console.log(JSON.stringify(results, null, 2));
}

await main();
