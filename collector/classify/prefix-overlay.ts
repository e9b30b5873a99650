/**
 * The prefix set of a customer model that follows registry versions (customer-model-update.ts):
 * every link's prefixes as keys with their link numbers, changed one at a time, and looked up
 * through a {@link PrefixTable} built whole now and then (the base) with a small table of the
 * prefixes changed since (the overlay) consulted first. A version that changes a few prefixes
 * then costs a table of those few, not a trie of 150 000.
 *
 * Longest-prefix semantics stay exactly those of a table built whole from the current set. The
 * overlay holds, for every prefix D added, removed or given another value since the base (a
 * "dirty" prefix): D itself, valued with the longest current prefix that covers D (D itself when
 * it is current; {@link NONE} when none is), and every current prefix strictly inside D with its
 * own value. An address inside no dirty prefix has the same covering prefixes, with the same
 * values, as when the base was built: the base's answer stands. An address inside some dirty
 * prefix gets the overlay's: every current prefix holding it is either inside the longest dirty
 * prefix D holding it (and in the overlay) or covers D (and is D's value, or shorter than it).
 * A removed prefix therefore stops matching, and a more-specific one moved to another link
 * answers with its new link, as in a whole rebuild. When the dirty prefixes grow many the base
 * is built again from the current set (in steps) and the overlay starts empty.
 */
import {
  ipv4ToUint32,
  lookupText,
  MAX_PREFIX_VALUE,
  NO_MATCH,
  type Prefix,
  type PrefixLookup,
  type PrefixTable,
  PrefixTableBuilder,
  type PrefixTableStats,
} from "./prefix-table.js";
import type { Steps } from "./steps.js";

/** In the overlay: a dirty prefix that no current prefix covers; the lookup finds nothing. */
const NONE = MAX_PREFIX_VALUE;

/** Dirty prefixes beyond which the base is built again rather than a larger overlay. */
const MAX_DIRTY = 2048;
/** Overlay entries (dirty prefixes and the current ones inside them) beyond which, the same. */
const MAX_OVERLAY = 8192;
/** Prefixes added to the new base's builder in one step (~1 ms). */
const PREFIXES_PER_STEP = 5000;

/**
 * A prefix as a key, ordered by network then length: IPv4 a number (the network as a uint32
 * × 64 + the length), IPv6 a string (32 hex digits, then the length in 3 digits).
 */
export type PrefixKey = number | string;

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

export function prefixKey(p: Prefix): PrefixKey {
  if (p.version === 4) return ipv4ToUint32(p.bytes) * 64 + p.length;
  let s = "";
  for (let i = 0; i < 16; i++) s += HEX[p.bytes[i]!];
  return s + String(p.length).padStart(3, "0");
}

export function keyPrefix(key: PrefixKey): Prefix {
  if (typeof key === "number") {
    const length = key % 64;
    const net = (key - length) / 64;
    const bytes = Uint8Array.of(net >>> 24, (net >>> 16) & 255, (net >>> 8) & 255, net & 255);
    return { version: 4, bytes, length };
  }
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = Number.parseInt(key.slice(2 * i, 2 * i + 2), 16);
  return { version: 6, bytes, length: Number(key.slice(32)) };
}

function keyLength(key: PrefixKey): number {
  return typeof key === "number" ? key % 64 : Number(key.slice(32));
}

/** The key of the first `length` bits of `p` (length <= p.length): a prefix covering it. */
function coverKey(p: Prefix, length: number): PrefixKey {
  const bytes = p.bytes.slice();
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, length - 8 * i));
    bytes[i] = bytes[i]! & (0xff00 >>> keep) & 0xff;
  }
  return prefixKey({ version: p.version, bytes, length });
}

/** The key of the last address of `p` as a host route: every prefix inside p sorts before it. */
function lastKey(p: Prefix): PrefixKey {
  const bytes = p.bytes.slice();
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, p.length - 8 * i));
    bytes[i] = bytes[i]! | (0xff >>> keep);
  }
  return prefixKey({ version: p.version, bytes, length: bytes.length * 8 });
}

/** The first position of `sorted` whose key is not below `key`. */
function lowerBound(sorted: readonly PrefixKey[], key: PrefixKey): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** One family's current prefixes. */
class Family {
  readonly values = new Map<PrefixKey, number>();
  /** The keys in order; rebuilt after a bulk load. */
  sorted: PrefixKey[] = [];
  unsorted = false;
  /** How many current prefixes have each length. */
  readonly lengths: Int32Array;

  constructor(bits: number) {
    this.lengths = new Int32Array(bits + 1);
  }

  sort(): void {
    if (!this.unsorted) return;
    const keys = [...this.values.keys()];
    this.sorted =
      typeof keys[0] === "number"
        ? Array.from(Float64Array.from(keys as number[]).sort())
        : (keys as string[]).sort();
    this.unsorted = false;
  }
}

/** A base table with the overlay of the prefixes changed since it was built. */
export class LayeredPrefixTable implements PrefixLookup {
  readonly #base: PrefixTable;
  readonly #overlay: PrefixTable;
  /** The current prefixes per family (the stats of a table built whole from them). */
  readonly #counts: { prefixes4: number; prefixes6: number };

  constructor(
    base: PrefixTable,
    overlay: PrefixTable,
    counts: { prefixes4: number; prefixes6: number },
  ) {
    this.#base = base;
    this.#overlay = overlay;
    this.#counts = counts;
  }

  lookup4(addr: number): number {
    const o = this.#overlay.lookup4(addr);
    if (o === NO_MATCH) return this.#base.lookup4(addr);
    return o === NONE ? NO_MATCH : o;
  }

  lookup6(bytes: Uint8Array, offset = 0): number {
    const o = this.#overlay.lookup6(bytes, offset);
    if (o === NO_MATCH) return this.#base.lookup6(bytes, offset);
    return o === NONE ? NO_MATCH : o;
  }

  lookup(address: string): number {
    return lookupText(this, address);
  }

  stats(): PrefixTableStats {
    const b = this.#base.stats();
    const o = this.#overlay.stats();
    return {
      ...this.#counts,
      bytes: b.bytes + o.bytes,
      bytes4: b.bytes4 + o.bytes4,
      bytes6: b.bytes6 + o.bytes6,
    };
  }
}

/** The current prefixes (key → link number), and the table that answers for them. */
export class PrefixSet {
  readonly #v4 = new Family(32);
  readonly #v6 = new Family(128);
  #base: PrefixTable = new PrefixTableBuilder().build();
  /** Keys added, removed or revalued since the base was built. */
  readonly #dirty = new Set<PrefixKey>();
  /** The table made last, while no prefix changed since. */
  #table: PrefixLookup | undefined;

  #family(key: PrefixKey): Family {
    return typeof key === "number" ? this.#v4 : this.#v6;
  }

  get size(): number {
    return this.#v4.values.size + this.#v6.values.size;
  }

  /** The link number of a current prefix, or undefined. */
  valueOf(key: PrefixKey): number | undefined {
    return this.#family(key).values.get(key);
  }

  /**
   * Adds a prefix of a whole build (no overlay: the base is built next, {@link compactSteps});
   * false, and nothing added, when it is already there (the first owner stays, as in a table
   * built whole).
   */
  load(key: PrefixKey, value: number): boolean {
    const f = this.#family(key);
    if (f.values.has(key)) return false;
    f.values.set(key, value);
    f.lengths[keyLength(key)]!++;
    f.unsorted = true;
    return true;
  }

  /** Sets a prefix's value, adding the prefix if needed. */
  set(key: PrefixKey, value: number): void {
    const f = this.#family(key);
    const had = f.values.get(key);
    if (had === value) return;
    f.values.set(key, value);
    this.#dirty.add(key);
    this.#table = undefined;
    if (had !== undefined) return;
    f.lengths[keyLength(key)]!++;
    if (!f.unsorted) f.sorted.splice(lowerBound(f.sorted, key), 0, key);
  }

  delete(key: PrefixKey): void {
    const f = this.#family(key);
    if (!f.values.delete(key)) return;
    this.#dirty.add(key);
    this.#table = undefined;
    f.lengths[keyLength(key)]!--;
    if (!f.unsorted) f.sorted.splice(lowerBound(f.sorted, key), 1);
  }

  /** Builds the base again from the current prefixes, in steps; the overlay is then empty. */
  *compactSteps(): Steps<void> {
    this.#v4.sort();
    yield;
    this.#v6.sort();
    const builder = new PrefixTableBuilder();
    let n = 0;
    for (const f of [this.#v4, this.#v6]) {
      for (const [key, value] of f.values) {
        if (++n % PREFIXES_PER_STEP === 0) yield;
        builder.add(keyPrefix(key), value);
      }
    }
    this.#base = yield* builder.buildSteps();
    this.#dirty.clear();
    this.#table = undefined;
  }

  /**
   * The table of the current prefixes: the base alone, the base with an overlay, or (many
   * changes since the base) a new base.
   */
  *tableSteps(): Steps<PrefixLookup> {
    if (this.#table !== undefined) return this.#table;
    if (this.#dirty.size === 0) {
      this.#table = this.#base;
      return this.#table;
    }
    const overlay = this.#dirty.size > MAX_DIRTY ? undefined : this.#overlay();
    if (overlay === undefined) {
      yield* this.compactSteps();
      this.#table = this.#base;
      return this.#table;
    }
    this.#table = new LayeredPrefixTable(this.#base, overlay, {
      prefixes4: this.#v4.values.size,
      prefixes6: this.#v6.values.size,
    });
    return this.#table;
  }

  /** The overlay of the dirty prefixes (see the file's comment), or undefined if too large. */
  #overlay(): PrefixTable | undefined {
    const b = new PrefixTableBuilder();
    let entries = 0;
    for (const key of this.#dirty) {
      const f = this.#family(key);
      const p = keyPrefix(key);
      const cover = this.#cover(f, p);
      b.add(p, cover === undefined ? NONE : cover);
      const last = lastKey(p);
      for (let i = lowerBound(f.sorted, key); i < f.sorted.length; i++) {
        const inside = f.sorted[i]!;
        if (inside > last) break;
        if (keyLength(inside) <= p.length) continue;
        b.add(keyPrefix(inside), f.values.get(inside)!);
        if (++entries > MAX_OVERLAY) return undefined;
      }
      if (++entries > MAX_OVERLAY) return undefined;
    }
    return b.build();
  }

  /** The value of the longest current prefix covering `p` (p itself included), or undefined. */
  #cover(f: Family, p: Prefix): number | undefined {
    for (let length = p.length; length >= 0; length--) {
      if (f.lengths[length] === 0) continue;
      const v = f.values.get(coverKey(p, length));
      if (v !== undefined) return v;
    }
    return undefined;
  }
}
