/**
 * Longest-prefix match over IPv4 and IPv6 prefixes: which access link a flow address belongs to.
 *
 * Pure: {@link parsePrefix} turns config text into bytes, a {@link PrefixTableBuilder} collects
 * (prefix, value) pairs and reports duplicates, and {@link PrefixTableBuilder.build} produces an
 * immutable {@link PrefixTable} whose lookups return the value (a link index, >= 0) of the longest
 * prefix holding the address, or {@link NO_MATCH}. Lookups allocate nothing and touch no strings.
 *
 * ## Data structure: a leaf-pushed multibit trie in one Int32Array per family
 *
 * A node ("chunk") is a run of 2^stride Int32 entries in one pool; the root is the first chunk.
 * An entry is a value (>= 0), NO_MATCH (-1), or a child node at pool offset `o` stored as
 * `-2 - o` (every entry < -1 is a child). Leaf pushing: each entry already holds the best match
 * so far (a chunk starts as the entry it hangs from, then the prefixes ending in it overwrite
 * their ranges, shortest first), so a lookup stops at the first entry that is not a child
 * without remembering anything on the way down. Nesting to any depth and /0 come for free.
 *
 * IPv4 strides are 16-8-4-4: the root indexes the top 16 bits (65536 entries, 256 KiB: it
 * stays in cache), a 256-entry chunk per /16 holds anything longer than /16, then 16-entry
 * chunks per /24 and per /28 hold customer links longer than /24. Measured with
 * bench/prefix-table.ts on this machine (100 k prefixes, mostly /24-/30; "random" spreads them
 * over the whole space, "isp-plan" puts them inside 8 provider /13s), IPv4 part of the table:
 *
 *   strides            random      isp-plan    lookups/s, random layout (random / inside addresses)
 *   24-8 (DIR-24-8)    135 MiB     80 MiB      33 M / 30 M
 *   16-8-8             121 MiB     16 MiB      30 M / 24 M
 *   16-8-4-4 (chosen)   56 MiB      3 MiB      31 M / 29 M
 *
 * DIR-24-8 saves a memory access, but its first level alone is 64 MiB however few prefixes there
 * are, for ~5 % more lookups: the lookups that matter miss the cache in every variant. A 4-bit
 * level costs 64 bytes (one cache line) per /24 or /28 that holds a longer prefix, where an
 * 8-bit level costs 1 KiB, and it is only visited for addresses inside a /25-/32.
 *
 * IPv6 strides are 16, then 8 down to the last byte, with path compression: a run of chunks
 * that each have one way on (everything else inherits one value) is stored as one skip node
 * `[n, key1, fallback1, ..., keyN, fallbackN, next entry]` at an odd offset (chunks sit at even
 * ones). Without it a lone /48 costs 4 KiB and a /128 host route 14 KiB (123 MiB for 25 k random
 * prefixes, 4.8 M lookups/s inside them); with it, 11 MiB and 16 M lookups/s. Prefixes from one
 * provider block share their upper chunks either way.
 */
import { isIPv6 } from "node:net";
import { runSteps, type Steps } from "./steps.js";

/** What a lookup returns when no prefix holds the address. */
export const NO_MATCH = -1;

/** The largest value a table can hold: values share the Int32 entries with child offsets. */
export const MAX_PREFIX_VALUE = 0x7fff_ffff;

/** A parsed prefix: network address bytes (host bits zero) and length in bits. */
export interface Prefix {
  version: 4 | 6;
  /** 4 bytes for IPv4, 16 for IPv6, network order. */
  bytes: Uint8Array;
  length: number;
}

/** Why a text is not a prefix, phrased to follow a config path (`...prefixes[0]: <error>`). */
export interface PrefixError {
  error: string;
}

/** The same prefix added twice: the values of both owners, so config validation can name them. */
export interface PrefixConflict {
  /** Canonical text of the prefix, e.g. `10.0.0.0/8`, `2001:db8::/32`. */
  prefix: string;
  /** The value added first; the table keeps it. */
  existing: number;
  /** The value of the later add, which the table ignores. */
  added: number;
}

export interface PrefixTableStats {
  prefixes4: number;
  prefixes6: number;
  /** Bytes held by the table's typed arrays: bytes4 + bytes6. */
  bytes: number;
  bytes4: number;
  bytes6: number;
}

// ---------------------------------------------------------------------------------------------
// Text <-> bytes

/**
 * Parses `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a /32 or /128). Rejects host bits
 * set, lengths out of range, zone ids and anything that is not an address.
 */
export function parsePrefix(text: string): Prefix | PrefixError {
  const slash = text.indexOf("/");
  const end = slash < 0 ? text.length : slash;
  // An IPv4 address is read in place (no copy of its text): most of 150 000 prefixes are.
  const v4 = parseIPv4(text, end);
  const address =
    v4 !== null ? { version: 4 as const, bytes: v4 } : parseAddress(text.slice(0, end));
  if ("error" in address) return { error: `"${text}" is not a prefix: ${address.error}` };
  const maxLength = address.version === 4 ? 32 : 128;
  const length = slash < 0 ? maxLength : parseLength(text, slash + 1, maxLength);
  if (length < 0) {
    const lengthText = text.slice(slash + 1);
    return {
      error: `"${text}" is not a prefix: length "${lengthText}" is not a whole number from 0 to ${maxLength}`,
    };
  }
  const prefix: Prefix = { version: address.version, bytes: address.bytes, length };
  if (hasHostBits(address.bytes, length)) {
    const network = { ...prefix, bytes: maskHostBits(address.bytes, length) };
    return { error: `"${text}" has host bits set (did you mean ${formatPrefix(network)}?)` };
  }
  return prefix;
}

/** Parses a bare IPv4 or IPv6 address (no zone id) into 4 or 16 bytes. */
export function parseAddress(text: string): { version: 4 | 6; bytes: Uint8Array } | PrefixError {
  const v4 = parseIPv4(text);
  if (v4 !== null) return { version: 4, bytes: v4 };
  if (text.includes("%")) return { error: "zone ids (%...) are not allowed" };
  if (isIPv6(text)) return { version: 6, bytes: parseIPv6(text) };
  return { error: `"${text}" is not an IPv4 or IPv6 address` };
}

/** Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run as `::`). */
export function formatPrefix(prefix: Prefix): string {
  return `${formatAddress(prefix.bytes)}/${prefix.length}`;
}

/** Canonical text of a 4- or 16-byte address. */
export function formatAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join(".");
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  if (isIPv4Mapped(groups)) return `::ffff:${bytes.subarray(12).join(".")}`;
  const [start, end] = longestZeroRun(groups);
  const hex = groups.map((g) => g.toString(16));
  if (end - start < 2) return hex.join(":");
  return `${hex.slice(0, start).join(":")}::${hex.slice(end).join(":")}`;
}

/** The IPv4 address in `bytes` as the uint32 that {@link PrefixTable.lookup4} takes. */
export function ipv4ToUint32(bytes: Uint8Array): number {
  return ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
}

/**
 * The length from `from` to the end of `text`: 1 to 3 digits, no sign or leading zero, so that
 * "/08" or "/+8" are not silently accepted; -1 if not one, or more than `max`.
 */
function parseLength(text: string, from: number, max: number): number {
  const digits = text.length - from;
  if (digits < 1 || digits > 3 || (digits > 1 && text.charCodeAt(from) === 48)) return -1;
  let n = 0;
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    n = n * 10 + (c - 48);
  }
  return n <= max ? n : -1;
}

/**
 * A dotted quad as `net.isIPv4` takes it (four decimal numbers 0-255, no leading zeros), in the
 * text up to `end`, or null. By hand rather than the regex and a split: a config of 100 000
 * customers parses every prefix twice (validation, then the customer model) and this was a fifth
 * of the time.
 */
function parseIPv4(text: string, end = text.length): Uint8Array | null {
  const bytes = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= end; i++) {
    const c = i < end ? text.charCodeAt(i) : 46; // the end closes the last part like a "."
    if (c >= 48 && c <= 57) {
      if (digits === 1 && value === 0) return null; // a leading zero
      value = value * 10 + (c - 48);
      if (++digits > 3 || value > 255) return null;
    } else if (c === 46) {
      if (digits === 0 || part === 4) return null;
      bytes[part++] = value;
      value = 0;
      digits = 0;
    } else return null;
  }
  return part === 4 ? bytes : null;
}

/**
 * `text` has passed `net.isIPv6` and has no zone id: groups of 1-4 hex digits, at most one `::`
 * (one or more zero groups), maybe a dotted IPv4 tail as the last two groups. Read in one pass.
 */
function parseIPv6(text: string): Uint8Array {
  const groups = new Uint16Array(8);
  let n = 0;
  /** Where `::` stands: the index of the first group after it, -1 without one. */
  let gap = -1;
  let value = 0;
  let digits = 0;
  let segmentStart = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 58) {
      // ":"
      if (digits > 0) groups[n++] = value;
      value = 0;
      digits = 0;
      if (text.charCodeAt(i + 1) === 58) {
        gap = n;
        i++;
      }
      segmentStart = i + 1;
    } else if (c === 46) {
      // "." of an IPv4 tail: the rest of the text is a dotted quad.
      const [a, b, c3, d] = parseIPv4(text.slice(segmentStart)) as unknown as number[];
      groups[n++] = (a! << 8) | b!;
      groups[n++] = (c3! << 8) | d!;
      digits = 0;
      break;
    } else {
      value = value * 16 + (c <= 57 ? c - 48 : (c | 32) - 87);
      digits++;
    }
  }
  if (digits > 0) groups[n++] = value;
  const bytes = new Uint8Array(16);
  for (let g = 0; g < n; g++) {
    const at = gap >= 0 && g >= gap ? g + 8 - n : g;
    bytes[2 * at] = groups[g]! >>> 8;
    bytes[2 * at + 1] = groups[g]! & 0xff;
  }
  return bytes;
}

function isIPv4Mapped(groups: readonly number[]): boolean {
  return groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
}

/** [start, end) of the first longest run of zero groups (RFC 5952 section 4.2.3). */
function longestZeroRun(groups: readonly number[]): [number, number] {
  let best: [number, number] = [0, 0];
  let start = -1;
  for (let i = 0; i <= groups.length; i++) {
    if (i < groups.length && groups[i] === 0) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      if (i - start > best[1] - best[0]) best = [start, i];
      start = -1;
    }
  }
  return best;
}

function hasHostBits(bytes: Uint8Array, length: number): boolean {
  // The bytes before `length >>> 3` are all network bits.
  for (let i = length >>> 3; i < bytes.length; i++) {
    const keep = i === length >>> 3 ? length & 7 : 0;
    if ((bytes[i]! & (0xff >>> keep)) !== 0) return true;
  }
  return false;
}

function maskHostBits(bytes: Uint8Array, length: number): Uint8Array {
  const out = bytes.slice();
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, length - 8 * i));
    out[i] = out[i]! & (0xff00 >>> keep) & 0xff;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Building

interface TrieShape {
  /** Bits consumed per level, root first. */
  strides: readonly number[];
  /** Collapse runs of one-way chunks into skip nodes; needs 8-bit strides below the root. */
  compressPaths: boolean;
}

const IPV4_SHAPE: TrieShape = { strides: [16, 8, 4, 4], compressPaths: false };
const IPV6_SHAPE: TrieShape = {
  strides: [16, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8],
  compressPaths: true,
};

/**
 * Collects (prefix, value) pairs. The same prefix added twice is a conflict: reported by
 * {@link add} and listed by {@link conflicts}; the first value stays in the table.
 */
export class PrefixTableBuilder {
  readonly #v4 = new PrefixList(4);
  readonly #v6 = new PrefixList(16);
  readonly #conflicts: PrefixConflict[] = [];

  /**
   * Adds a prefix (parsed, or text that must parse: validate config with {@link parsePrefix}
   * first to report errors with their path). Returns the conflict if the prefix was already added.
   */
  add(prefix: Prefix | string, value: number): PrefixConflict | undefined {
    const p = typeof prefix === "string" ? parseOrThrow(prefix) : checkPrefix(prefix);
    if (!Number.isInteger(value) || value < 0 || value > MAX_PREFIX_VALUE) {
      throw new RangeError(`prefix value ${value} is not an integer from 0 to ${MAX_PREFIX_VALUE}`);
    }
    const list = p.version === 4 ? this.#v4 : this.#v6;
    const existing = list.find(p);
    if (existing >= 0) {
      const conflict = { prefix: formatPrefix(p), existing: list.values[existing]!, added: value };
      this.#conflicts.push(conflict);
      return conflict;
    }
    list.push(p, value);
    return undefined;
  }

  /** Every duplicate added so far, in order. */
  conflicts(): readonly PrefixConflict[] {
    return this.#conflicts;
  }

  /** Distinct prefixes added. */
  get size(): number {
    return this.#v4.count + this.#v6.count;
  }

  build(): PrefixTable {
    return runSteps(this.buildSteps());
  }

  /**
   * {@link build} in steps of a few milliseconds at most (one sort pass, or a few top-level
   * subtrees), for a process that keeps its event loop turning while it builds (steps.ts).
   */
  *buildSteps(): Steps<PrefixTable> {
    const trie4 = yield* buildTrie(this.#v4, IPV4_SHAPE);
    const trie6 = yield* buildTrie(this.#v6, IPV6_SHAPE);
    return new PrefixTable(trie4, trie6, this.#v4.count, this.#v6.count);
  }
}

function parseOrThrow(text: string): Prefix {
  const parsed = parsePrefix(text);
  if ("error" in parsed) throw new TypeError(parsed.error);
  return parsed;
}

/** Guards hand-made prefixes: a wrong byte count or host bits would corrupt the trie. */
function checkPrefix(p: Prefix): Prefix {
  const bits = p.version === 4 ? 32 : 128;
  const ok =
    p.bytes.length === bits / 8 &&
    Number.isInteger(p.length) &&
    p.length >= 0 &&
    p.length <= bits &&
    !hasHostBits(p.bytes, p.length);
  if (!ok) throw new TypeError(`not a valid IPv${p.version} prefix: ${formatPrefix(p)}`);
  return p;
}

/**
 * One family's prefixes in flat typed arrays rather than an object each: a million prefixes
 * then cost a few MiB and build without the garbage collector taking most of the time. Found
 * again (a duplicate) through a hash index over the same arrays: a map keyed by the prefix made
 * a key string for each IPv6 prefix (1.7 us an add).
 */
class PrefixList {
  readonly width: number;
  bytes: Uint8Array;
  lengths: Uint8Array;
  values: Int32Array;
  count = 0;
  /** Open addressing: each slot holds a prefix's index + 1, or 0; at most half of them used. */
  #slots = new Int32Array(128);

  /** `width`: bytes per address. */
  constructor(width: number) {
    this.width = width;
    this.bytes = new Uint8Array(64 * width);
    this.lengths = new Uint8Array(64);
    this.values = new Int32Array(64);
  }

  push(p: Prefix, value: number): void {
    if (this.count === this.lengths.length) this.#grow();
    if (2 * (this.count + 1) > this.#slots.length) this.#rehash();
    this.bytes.set(p.bytes, this.count * this.width);
    this.lengths[this.count] = p.length;
    this.values[this.count] = value;
    this.#slots[this.#freeSlot(hashPrefix(p.bytes, 0, this.width, p.length))] = ++this.count;
  }

  /** The index of the prefix with the same address and length, or -1. */
  find(p: Prefix): number {
    const { bytes, width } = this;
    const mask = this.#slots.length - 1;
    for (let s = hashPrefix(p.bytes, 0, width, p.length) & mask; ; s = (s + 1) & mask) {
      const i = this.#slots[s]! - 1;
      if (i < 0) return -1;
      if (this.lengths[i] !== p.length) continue;
      let k = 0;
      while (k < width && bytes[i * width + k] === p.bytes[k]) k++;
      if (k === width) return i;
    }
  }

  #freeSlot(hash: number): number {
    const mask = this.#slots.length - 1;
    let s = hash & mask;
    while (this.#slots[s] !== 0) s = (s + 1) & mask;
    return s;
  }

  #rehash(): void {
    this.#slots = new Int32Array(this.#slots.length * 2);
    for (let i = 0; i < this.count; i++) {
      const hash = hashPrefix(this.bytes, i * this.width, this.width, this.lengths[i]!);
      this.#slots[this.#freeSlot(hash)] = i + 1;
    }
  }

  #grow(): void {
    const grow = <T extends Uint8Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const bigger = make(a.length * 2);
      bigger.set(a);
      return bigger;
    };
    this.bytes = grow(this.bytes, (n) => new Uint8Array(n));
    this.lengths = grow(this.lengths, (n) => new Uint8Array(n));
    this.values = grow(this.values, (n) => new Int32Array(n));
  }

  /**
   * Indices of the prefixes in address order, shorter first on equal addresses. In that order
   * the prefixes below any trie entry are contiguous, and those that end at the entry's level
   * come before those that go deeper (their address is the first one of the entry's range).
   */
  *sortedOrder(): Steps<Uint32Array> {
    // A radix sort, one byte at a time from the last (the length first): the prefixes are
    // distinct, so any sort gives this order, and this one compares nothing (150 000 prefixes
    // with a comparator took 30-60 ms). A byte that all prefixes share leaves the order as it is.
    const { bytes, lengths, width, count } = this;
    let order = new Uint32Array(count).map((_, i) => i);
    let next = new Uint32Array(count);
    const starts = new Uint32Array(257);
    for (let column = width; column >= 0; column--) {
      const keys = column === width ? lengths : bytes;
      const stride = column === width ? 1 : width;
      const at = column === width ? 0 : column;
      starts.fill(0);
      for (let i = 0; i < count; i++) starts[keys[i * stride + at]! + 1]!++;
      if (count === 0 || starts[keys[at]! + 1] === count) continue;
      for (let v = 1; v < 257; v++) starts[v]! += starts[v - 1]!;
      for (let k = 0; k < count; k++) {
        const i = order[k]!;
        next[starts[keys[i * stride + at]!]!++] = i;
      }
      [order, next] = [next, order];
      yield;
    }
    return order;
  }

  /** `width` bits of prefix `i`'s address from bit `offset` (width <= 24), as an index. */
  bitsAt(i: number, offset: number, width: number): number {
    const first = offset >>> 3;
    const last = (offset + width - 1) >>> 3;
    let v = 0;
    for (let b = first; b <= last; b++) v = v * 256 + this.bytes[i * this.width + b]!;
    // At most 4 bytes: below 2^32, where the shift is exact.
    const below = (last + 1) * 8 - (offset + width);
    return (v >>> below) & ((1 << width) - 1);
  }
}

/** FNV-1a over an address's `width` bytes from `offset`, and its length. */
function hashPrefix(bytes: Uint8Array, offset: number, width: number, length: number): number {
  let h = 0x811c9dc5 ^ length;
  for (let k = 0; k < width; k++) h = Math.imul(h ^ bytes[offset + k]!, 0x01000193);
  return (h ^ (h >>> 15)) >>> 0;
}

/** What the bottom-up pass shares, to keep its signatures short. */
interface Compiler {
  list: PrefixList;
  shape: TrieShape;
  order: Uint32Array;
  pool: Pool;
  /** One chunk-sized scratch array per level: a chunk is copied into the pool once complete. */
  scratch: Int32Array[];
}

/** The prefixes order[lo, hi) that lie below entry `index` of a chunk and end deeper. */
interface ChildRange {
  index: number;
  lo: number;
  hi: number;
}

/**
 * A run of one-way chunks, not yet written: for each, the byte that leads on and what every
 * other byte gives (its inherited best match); then the entry the last one leads to. With no
 * keys, just an entry.
 */
interface Chain {
  keys: number[];
  fallbacks: number[];
  tail: number;
}

/** The subtrees of the root compiled in one step: a /16 of /28s (4096 prefixes) is ~0.1 ms. */
const SUBTREES_PER_STEP = 16;

/**
 * The trie of one family, in steps: the sort, one pass per step; then the root as
 * {@link compile} makes a chunk, a few of its subtrees per step.
 */
function* buildTrie(list: PrefixList, shape: TrieShape): Steps<Int32Array> {
  const scratch = shape.strides.map((stride) => new Int32Array(1 << stride));
  const order = yield* list.sortedOrder();
  // Room for the root and, per prefix, about what a /28 costs (two 16-entry chunks); grown as needed.
  const pool = new Pool(scratch[0]!.length + Math.min(1 << 18, 32 * list.count + 64));
  const c: Compiler = { list, shape, order, pool, scratch };
  c.pool.reserve(scratch[0]!.length); // the root sits at offset 0: lookups start there
  // The root level of compile(c, 0, list.count, 0, 0, NO_MATCH): never one-way, never a chain.
  const entries = scratch[0]!;
  const children = expandChunk(c, 0, list.count, 0, 0, NO_MATCH);
  yield;
  for (let k = 0; k < children.length; k++) {
    const { index, lo, hi } = children[k]!;
    entries[index] = emit(c.pool, compile(c, lo, hi, 1, shape.strides[0]!, entries[index]!));
    if (k % SUBTREES_PER_STEP === SUBTREES_PER_STEP - 1) yield;
  }
  c.pool.array.set(entries, 0);
  return c.pool.trimmed();
}

/**
 * Writes the chunk for order[lo, hi) at trie level `level` >= 1 (starting at bit `offset`)
 * after the chunks below it, and returns what the parent entry must hold ({@link buildTrie}
 * makes the root).
 *
 * Leaf pushing: the chunk starts as the inherited best match, the prefixes that end in it
 * overwrite their ranges shortest first (a longer one wins inside a shorter one), and each
 * child inherits its entry, so every entry holds the best match so far and a lookup can stop
 * at the first entry that is not a child.
 *
 * Path compression: a chunk whose entries all equal the inherited value but one is "one-way";
 * it is not written but becomes a link of a chain, and the parent (or {@link emit}) writes the
 * whole chain as one skip node. A lone /48 or /128 would otherwise cost a 1 KiB chunk per byte.
 */
function compile(
  c: Compiler,
  lo: number,
  hi: number,
  level: number,
  offset: number,
  inherited: number,
): Chain {
  const entries = c.scratch[level]!;
  const stride = c.shape.strides[level]!;
  const children = expandChunk(c, lo, hi, level, offset, inherited);
  const only = c.shape.compressPaths ? oneWayIndex(entries, children, inherited) : -1;
  if (only >= 0) {
    const child = children[0];
    const next = child
      ? compile(c, child.lo, child.hi, level + 1, offset + stride, entries[only]!)
      : { keys: [], fallbacks: [], tail: entries[only]! };
    next.keys.unshift(only);
    next.fallbacks.unshift(inherited);
    return next;
  }
  for (const { index, lo, hi } of children) {
    const chain = compile(c, lo, hi, level + 1, offset + stride, entries[index]!);
    entries[index] = emit(c.pool, chain);
  }
  return { keys: [], fallbacks: [], tail: encodeChild(c.pool.appendChunk(entries)) };
}

/**
 * Fills the level's scratch chunk with the inherited value and the prefixes of order[lo, hi)
 * that end at this level; returns the ranges of those that go deeper, by entry.
 */
function expandChunk(
  c: Compiler,
  lo: number,
  hi: number,
  level: number,
  offset: number,
  inherited: number,
): ChildRange[] {
  const { list, order } = c;
  const stride = c.shape.strides[level]!;
  const end = offset + stride;
  const entries = c.scratch[level]!.fill(inherited);
  const ends: number[] = [];
  const children: ChildRange[] = [];
  for (let k = lo; k < hi; ) {
    const i = order[k]!;
    const index = list.bitsAt(i, offset, stride);
    if (list.lengths[i]! <= end) {
      ends.push(i);
      k++;
      continue;
    }
    let next = k + 1;
    while (next < hi && list.bitsAt(order[next]!, offset, stride) === index) next++;
    children.push({ index, lo: k, hi: next });
    k = next;
  }
  if (ends.length > 1) ends.sort((a, b) => list.lengths[a]! - list.lengths[b]!);
  for (const i of ends) {
    const index = list.bitsAt(i, offset, stride);
    entries.fill(list.values[i]!, index, index + 2 ** (end - list.lengths[i]!));
  }
  return children;
}

/** The one entry that differs from `inherited` or has a child, or -1 if not exactly one. */
function oneWayIndex(
  entries: Int32Array,
  children: readonly ChildRange[],
  inherited: number,
): number {
  if (children.length > 1) return -1;
  const child = children[0]?.index ?? -1;
  let only = -1;
  for (let i = 0; i < entries.length; i++) {
    if (entries[i] === inherited && i !== child) continue;
    if (only >= 0) return -1;
    only = i;
  }
  return only;
}

/** The entry for a chain: its tail when it has no links, else a skip node written now. */
function emit(pool: Pool, chain: Chain): number {
  if (chain.keys.length === 0) return chain.tail;
  const node = [chain.keys.length];
  for (let i = 0; i < chain.keys.length; i++) node.push(chain.keys[i]!, chain.fallbacks[i]!);
  node.push(chain.tail);
  return encodeChild(pool.appendSkip(node));
}

/** Child entries are below NO_MATCH; chunks sit at even offsets, skip nodes at odd ones. */
function encodeChild(offset: number): number {
  return -2 - offset;
}

/** A growable Int32Array; the result is copied out without slack. */
class Pool {
  array: Int32Array;
  used = 0;

  /** `initial`: entries to start with (a table of a few prefixes needs little more than its root). */
  constructor(initial: number) {
    this.array = new Int32Array(initial);
  }

  reserve(n: number): number {
    if (this.used + n > this.array.length) {
      const grown = new Int32Array(Math.max(this.array.length * 2, this.used + n));
      grown.set(this.array.subarray(0, this.used));
      this.array = grown;
    }
    const offset = this.used;
    this.used += n;
    return offset;
  }

  /** A chunk at an even offset (every chunk size is even, so only skip nodes need padding). */
  appendChunk(entries: Int32Array): number {
    if (this.used % 2 === 1) this.reserve(1);
    const offset = this.reserve(entries.length);
    this.array.set(entries, offset);
    return offset;
  }

  /** A skip node at an odd offset. */
  appendSkip(node: readonly number[]): number {
    if (this.used % 2 === 0) this.reserve(1);
    const offset = this.reserve(node.length);
    this.array.set(node, offset);
    return offset;
  }

  trimmed(): Int32Array {
    return this.array.slice(0, this.used);
  }
}

// ---------------------------------------------------------------------------------------------
// Looking up

/**
 * What the classifier asks of a prefix table: a {@link PrefixTable}, or one with a small table of
 * recent changes over it (prefix-overlay.ts: a registry version applied from the one before).
 */
export interface PrefixLookup {
  lookup4(addr: number): number;
  lookup6(bytes: Uint8Array, offset?: number): number;
  lookup(address: string): number;
  stats(): PrefixTableStats;
}

/** {@link PrefixLookup.lookup}: a bare address given as text, looked up in `table`. */
export function lookupText(table: PrefixLookup, address: string): number {
  const parsed = parseAddress(address);
  if ("error" in parsed) throw new TypeError(parsed.error);
  if (parsed.version === 4) return table.lookup4(ipv4ToUint32(parsed.bytes));
  return table.lookup6(parsed.bytes, 0);
}

/** An immutable longest-prefix-match table; made by {@link PrefixTableBuilder.build}. */
export class PrefixTable implements PrefixLookup {
  readonly #trie4: Int32Array;
  readonly #trie6: Int32Array;
  readonly #prefixes4: number;
  readonly #prefixes6: number;

  /** @internal use {@link PrefixTableBuilder}. */
  constructor(trie4: Int32Array, trie6: Int32Array, prefixes4: number, prefixes6: number) {
    this.#trie4 = trie4;
    this.#trie6 = trie6;
    this.#prefixes4 = prefixes4;
    this.#prefixes6 = prefixes6;
  }

  /** The value of the longest IPv4 prefix holding `addr` (a uint32), or NO_MATCH. */
  lookup4(addr: number): number {
    const t = this.#trie4;
    let e = t[addr >>> 16]!;
    if (e >= NO_MATCH) return e;
    e = t[-2 - e + ((addr >>> 8) & 0xff)]!;
    if (e >= NO_MATCH) return e;
    e = t[-2 - e + ((addr >>> 4) & 0xf)]!;
    if (e >= NO_MATCH) return e;
    return t[-2 - e + (addr & 0xf)]!;
  }

  /**
   * The value of the longest IPv6 prefix holding the 16 bytes at `bytes[offset]`, or NO_MATCH.
   * The caller guarantees the 16 bytes are there (rows of a FlowBatch column).
   */
  lookup6(bytes: Uint8Array, offset = 0): number {
    const t = this.#trie6;
    let e = t[(bytes[offset]! << 8) | bytes[offset + 1]!]!;
    let i = offset + 2;
    while (e < NO_MATCH) {
      const node = -2 - e;
      if ((node & 1) === 0) {
        e = t[node + bytes[i++]!]!;
        continue;
      }
      // A skip node: [n, key1, fallback1, ..., keyN, fallbackN, next entry].
      const n = t[node]!;
      let k = 0;
      while (k < n && bytes[i + k] === t[node + 1 + 2 * k]) k++;
      if (k < n) return t[node + 2 + 2 * k]!;
      i += n;
      e = t[node + 1 + 2 * n]!;
    }
    return e;
  }

  /** Convenience for tests and tools: looks up a bare address given as text. */
  lookup(address: string): number {
    return lookupText(this, address);
  }

  stats(): PrefixTableStats {
    return {
      prefixes4: this.#prefixes4,
      prefixes6: this.#prefixes6,
      bytes: this.#trie4.byteLength + this.#trie6.byteLength,
      bytes4: this.#trie4.byteLength,
      bytes6: this.#trie6.byteLength,
    };
  }
}
