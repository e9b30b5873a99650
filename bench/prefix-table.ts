/**
 * Longest-prefix-match benchmark: build time, memory and lookups/s of the prefix table that
 * attributes flow addresses to access links. Single core, main thread.
 *
 *   npm run build && node --expose-gc dist/bench/prefix-table.js      # 100 k IPv4 + 25 k IPv6
 *   node --expose-gc dist/bench/prefix-table.js --prefixes 1000000 --seconds 5
 *   node dist/bench/prefix-table.js --layout random --json
 *
 * Length mix: IPv4 85 % /24-/30 customer links, 14.9 % /16-/23, 0.1 % /8-/15; IPv6 mostly /48,
 * /56 and /64, 15 % /32-/64, 10 % /128 host routes. Two layouts: `random` spreads prefixes over
 * the whole address space (IPv6: 2000::/3), the worst case for memory since few prefixes share
 * a chunk; `isp-plan` draws them inside provider blocks (8 IPv4 /13s, one IPv6 /32), as a real
 * address plan does. Each timed run looks up a fixed array of addresses over and over:
 * uniformly random ones (mostly no match or a short prefix), and ones drawn from inside the
 * prefixes (the realistic case: flows to and from customers). Lookup results are summed and
 * printed, so that the loop cannot be dropped. With --expose-gc, memory is read after full GCs.
 */
import { parseArgs } from "node:util";
import {
  type Prefix,
  type PrefixTable,
  PrefixTableBuilder,
  type PrefixTableStats,
} from "../collector/classify/prefix-table.js";
import { createRng, type Rng } from "../test/fuzz/mutate.js";

/** The target: IPv4 lookups per second per core with 100 k prefixes loaded. */
const TARGET_IPV4_LOOKUPS_PER_SECOND = 20_000_000;
/** Addresses per lookup array: large enough to defeat caching of the addresses themselves. */
const ADDRESSES = 1 << 20;
const MIB = 1024 * 1024;

type Layout = "random" | "isp-plan";
const LAYOUTS: readonly Layout[] = ["random", "isp-plan"];

interface Options {
  prefixes: number;
  seconds: number;
  warmup: number;
  seed: number;
  layouts: readonly Layout[];
  json: boolean;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      prefixes: { type: "string", default: "100000" },
      seconds: { type: "string", default: "3" },
      warmup: { type: "string", default: "1" },
      seed: { type: "string", default: "1" },
      layout: { type: "string", multiple: true },
      json: { type: "boolean", default: false },
    },
  });
  const layouts = (values.layout ?? LAYOUTS) as Layout[];
  for (const l of layouts) {
    if (!LAYOUTS.includes(l)) throw new Error(`--layout ${l}: expected ${LAYOUTS.join(" or ")}`);
  }
  return {
    prefixes: positive("prefixes", values.prefixes),
    seconds: positive("seconds", values.seconds),
    warmup: positive("warmup", values.warmup),
    seed: positive("seed", values.seed),
    layouts,
    json: values.json,
  };
}

function positive(name: string, text: string): number {
  const n = Number(text);
  if (!(n > 0)) throw new Error(`--${name} ${text}: expected a positive number`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Prefix sets

/** Picks from weighted choices: [weight, pick][]. */
function weighted<T>(rng: Rng, choices: readonly (readonly [number, () => T])[]): T {
  const total = choices.reduce((s, [w]) => s + w, 0);
  let r = (rng.u32() / 2 ** 32) * total;
  for (const [w, pick] of choices) {
    if (r < w) return pick();
    r -= w;
  }
  return choices[choices.length - 1]![1]();
}

function between(rng: Rng, lo: number, hi: number): number {
  return lo + rng.below(hi - lo + 1);
}

/** Customer links are mostly /24-/30, aggregates /16-/23, a few big blocks /8-/15 (random only). */
function ipv4Length(rng: Rng, layout: Layout): number {
  return weighted(rng, [
    [85, () => between(rng, 24, 30)],
    [14.9, () => between(rng, 16, 23)],
    [layout === "random" ? 0.1 : 0, () => between(rng, 8, 15)],
  ]);
}

/** Delegations /32-/64 (mostly /48, /56, /64), and some /128 host routes. */
function ipv6Length(rng: Rng): number {
  return weighted(rng, [
    [30, () => 48],
    [25, () => 56],
    [20, () => 64],
    [15, () => between(rng, 32, 64)],
    [10, () => 128],
  ]);
}

function randomBytes(rng: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 4) {
    const r = rng.u32();
    for (let k = 0; k < 4 && i + k < n; k++) out[i + k] = r >>> (8 * k);
  }
  return out;
}

/** `bytes` with the first `length` bits taken from `block`. */
function withinBlock(bytes: Uint8Array, block: Prefix): Uint8Array {
  const out = bytes.slice();
  for (let bit = 0; bit < block.length; bit++) {
    const byte = bit >>> 3;
    const mask = 0x80 >>> (bit & 7);
    out[byte] = (out[byte]! & ~mask) | (block.bytes[byte]! & mask);
  }
  return out;
}

function network(bytes: Uint8Array, length: number): Uint8Array {
  const out = bytes.slice();
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, length - 8 * i));
    out[i] = out[i]! & (0xff00 >>> keep);
  }
  return out;
}

/** The provider blocks of the `isp-plan` layout: IPv4 8 x /13, IPv6 one /32 in 2000::/3. */
function providerBlocks(rng: Rng, version: 4 | 6): Prefix[] {
  const n = version === 4 ? 8 : 1;
  const length = version === 4 ? 13 : 32;
  const blocks: Prefix[] = [];
  for (let i = 0; i < n; i++) {
    let bytes = randomBytes(rng, version === 4 ? 4 : 16);
    if (version === 6) bytes = withinBlock(bytes, globalUnicast);
    blocks.push({ version, bytes: network(bytes, length), length });
  }
  return blocks;
}

const globalUnicast: Prefix = { version: 6, bytes: new Uint8Array(16).fill(0x20, 0, 1), length: 3 };

interface PrefixSet {
  v4: Prefix[];
  v6: Prefix[];
}

/** `count` distinct prefixes of one family (duplicates drawn are dropped and drawn again). */
function drawPrefixes(rng: Rng, version: 4 | 6, count: number, layout: Layout): Prefix[] {
  const blocks = layout === "isp-plan" ? providerBlocks(rng, version) : [];
  const out: Prefix[] = [...blocks];
  const seen = new Set<string>(blocks.map(prefixKey));
  while (out.length < count) {
    const length = version === 4 ? ipv4Length(rng, layout) : ipv6Length(rng);
    let bytes = randomBytes(rng, version === 4 ? 4 : 16);
    const block = blocks[rng.below(blocks.length)];
    if (block !== undefined) bytes = withinBlock(bytes, block);
    else if (version === 6) bytes = withinBlock(bytes, globalUnicast);
    const prefix: Prefix = { version, bytes: network(bytes, length), length };
    const key = prefixKey(prefix);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(prefix);
  }
  return out;
}

function prefixKey(p: Prefix): string {
  return `${p.bytes.join(",")}/${p.length}`;
}

// ---------------------------------------------------------------------------------------------
// Addresses to look up

/** Random host bits under `p`. */
function addressInside(rng: Rng, p: Prefix): Uint8Array {
  return withinBlock(randomBytes(rng, p.bytes.length), p);
}

function ipv4Addresses(rng: Rng, inside: readonly Prefix[] | undefined): Uint32Array {
  const out = new Uint32Array(ADDRESSES);
  for (let i = 0; i < out.length; i++) {
    if (inside === undefined) {
      out[i] = rng.u32();
    } else {
      const b = addressInside(rng, inside[rng.below(inside.length)]!);
      out[i] = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
    }
  }
  return out;
}

/** 16 bytes per address, as in a FlowBatch's src6/dst6 columns. */
function ipv6Addresses(rng: Rng, inside: readonly Prefix[] | undefined): Uint8Array {
  const out = new Uint8Array(ADDRESSES * 16);
  for (let i = 0; i < ADDRESSES; i++) {
    const b =
      inside === undefined
        ? withinBlock(randomBytes(rng, 16), globalUnicast)
        : addressInside(rng, inside[rng.below(inside.length)]!);
    out.set(b, i * 16);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Timing

/** One pass over the addresses; returns the sum of the results so the work is kept. */
function pass4(table: PrefixTable, addresses: Uint32Array): number {
  let sum = 0;
  for (let i = 0; i < addresses.length; i++) sum += table.lookup4(addresses[i]!);
  return sum;
}

function pass6(table: PrefixTable, addresses: Uint8Array): number {
  let sum = 0;
  for (let o = 0; o < addresses.length; o += 16) sum += table.lookup6(addresses, o);
  return sum;
}

function matched4(table: PrefixTable, addresses: Uint32Array): number {
  let n = 0;
  for (let i = 0; i < addresses.length; i++) if (table.lookup4(addresses[i]!) >= 0) n++;
  return n / addresses.length;
}

function matched6(table: PrefixTable, addresses: Uint8Array): number {
  let n = 0;
  for (let o = 0; o < addresses.length; o += 16) if (table.lookup6(addresses, o) >= 0) n++;
  return n / (addresses.length / 16);
}

interface Timed {
  lookupsPerSecond: number;
  nsPerLookup: number;
  checksum: number;
}

/** Repeats `pass` for `seconds` after `warmup` seconds; every pass is `perPass` lookups. */
function timePasses(pass: () => number, perPass: number, seconds: number, warmup: number): Timed {
  runFor(pass, warmup);
  const { passes, ns, checksum } = runFor(pass, seconds);
  const lookups = passes * perPass;
  return {
    lookupsPerSecond: lookups / (Number(ns) / 1e9),
    nsPerLookup: Number(ns) / lookups,
    checksum,
  };
}

function runFor(pass: () => number, seconds: number) {
  const budget = BigInt(Math.round(seconds * 1e9));
  const start = process.hrtime.bigint();
  let passes = 0;
  let checksum = 0;
  let ns = 0n;
  do {
    checksum = (checksum + pass()) % 0x7fff_ffff;
    passes++;
    ns = process.hrtime.bigint() - start;
  } while (ns < budget);
  return { passes, ns, checksum };
}

// ---------------------------------------------------------------------------------------------
// Memory

interface Memory {
  rss: number;
  heapUsed: number;
  arrayBuffers: number;
}

function memory(): Memory {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers };
}

function mib(bytes: number): string {
  return (bytes / MIB).toFixed(1);
}

// ---------------------------------------------------------------------------------------------
// One layout

interface LayoutResult {
  layout: Layout;
  prefixes4: number;
  prefixes6: number;
  buildMs: number;
  stats: PrefixTableStats;
  before: Memory;
  after: Memory;
  rows: Row[];
}

interface Row {
  family: "IPv4" | "IPv6";
  addresses: "random" | "inside prefixes";
  matched: number;
  timed: Timed;
}

function runLayout(layout: Layout, options: Options): LayoutResult {
  const rng = createRng(options.seed);
  const v4 = drawPrefixes(rng, 4, options.prefixes, layout);
  const v6 = drawPrefixes(rng, 6, Math.round(options.prefixes / 4), layout);
  const set: PrefixSet = { v4, v6 };

  const before = memory();
  const start = process.hrtime.bigint();
  const table = buildTable(set);
  const buildMs = Number(process.hrtime.bigint() - start) / 1e6;
  const after = memory();

  const rows: Row[] = [];
  for (const inside of [undefined, set.v4] as const) {
    const addresses = ipv4Addresses(rng, inside);
    rows.push({
      family: "IPv4",
      addresses: inside === undefined ? "random" : "inside prefixes",
      matched: matched4(table, addresses),
      timed: timePasses(() => pass4(table, addresses), ADDRESSES, options.seconds, options.warmup),
    });
  }
  for (const inside of [undefined, set.v6] as const) {
    const addresses = ipv6Addresses(rng, inside);
    rows.push({
      family: "IPv6",
      addresses: inside === undefined ? "random" : "inside prefixes",
      matched: matched6(table, addresses),
      timed: timePasses(() => pass6(table, addresses), ADDRESSES, options.seconds, options.warmup),
    });
  }
  return {
    layout,
    prefixes4: v4.length,
    prefixes6: v6.length,
    buildMs,
    stats: table.stats(),
    before,
    after,
    rows,
  };
}

function buildTable(set: PrefixSet): PrefixTable {
  const builder = new PrefixTableBuilder();
  for (const [i, p] of set.v4.entries()) builder.add(p, i);
  for (const [i, p] of set.v6.entries()) builder.add(p, i);
  return builder.build();
}

// ---------------------------------------------------------------------------------------------
// Report

function formatRate(perSecond: number): string {
  return `${(perSecond / 1e6).toFixed(1)} M`;
}

function printMarkdown(results: readonly LayoutResult[]): void {
  console.log(
    "| layout | prefixes IPv4 + IPv6 | build ms | table MiB (IPv4 + IPv6) | heap+buffers MiB before→after build | RSS MiB before→after build |",
  );
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const r of results) {
    const cells = [
      r.layout,
      `${r.prefixes4} + ${r.prefixes6}`,
      r.buildMs.toFixed(0),
      `${mib(r.stats.bytes)} (${mib(r.stats.bytes4)} + ${mib(r.stats.bytes6)})`,
      `${mib(r.before.heapUsed + r.before.arrayBuffers)}→${mib(r.after.heapUsed + r.after.arrayBuffers)}`,
      `${mib(r.before.rss)}→${mib(r.after.rss)}`,
    ];
    console.log(`| ${cells.join(" | ")} |`);
  }
  console.log(
    "\n| layout | family | addresses | matched | lookups/s | ns/lookup | target 20 M/s (IPv4) |",
  );
  console.log("|---|---|---|---:|---:|---:|---|");
  for (const r of results) {
    for (const row of r.rows) {
      const rate = row.timed.lookupsPerSecond;
      const met = rate >= TARGET_IPV4_LOOKUPS_PER_SECOND ? "met" : "**below**";
      const cells = [
        r.layout,
        row.family,
        row.addresses,
        `${(row.matched * 100).toFixed(1)} %`,
        formatRate(rate),
        row.timed.nsPerLookup.toFixed(1),
        row.family === "IPv4" ? met : "n/a",
      ];
      console.log(`| ${cells.join(" | ")} |`);
    }
  }
  const checksums = results.flatMap((r) => r.rows.map((x) => x.timed.checksum));
  console.log(`\nchecksums (the sums of the lookup results): ${checksums.join(" ")}`);
}

function main(): void {
  const options = parseOptions();
  const hasGc = typeof (globalThis as { gc?: unknown }).gc === "function";
  console.log(
    `prefix table: ${options.prefixes} IPv4 + ${Math.round(options.prefixes / 4)} IPv6 prefixes, ` +
      `${options.seconds} s per run after ${options.warmup} s warm-up, ${ADDRESSES} addresses per array` +
      `${hasGc ? "" : " (run with --expose-gc for memory after full GCs)"}\n`,
  );
  const results = options.layouts.map((layout) => runLayout(layout, options));
  printMarkdown(results);
  if (options.json) console.log(JSON.stringify(results, null, 2));
}

main();
