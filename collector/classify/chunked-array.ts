/**
 * An array in fixed-size chunks that versions share: {@link ChunkedArray.snapshot} hands out the
 * array as it is now, and a later write copies only the chunk it lands in (1 024 pointers, ~1 µs)
 * and the short list of chunks, not the whole array. The customer model keeps its 100 000
 * customers and 200 000 links this way (customer-model-update.ts): each registry version is a
 * snapshot, and a version that changes a few customers copies a few chunks instead of both arrays.
 *
 * A read costs one indirection more than a plain array's (the chunk, then the entry).
 */

const CHUNK_BITS = 10;
/** Entries per chunk. */
export const CHUNK_SIZE = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK_SIZE - 1;

/** What a reader of a snapshot may do: entries by index, the length, a walk. */
export interface ReadonlyChunkedArray<T> extends Iterable<T> {
  readonly length: number;
  /** The entry at `index`, or undefined outside 0 .. length - 1 (as a plain array's `[index]`). */
  get(index: number): T | undefined;
  /** The entries mapped, in order, into a plain array. */
  map<U>(fn: (value: T, index: number) => U): U[];
}

export class ChunkedArray<T> implements ReadonlyChunkedArray<T> {
  /** Full chunks, then the last one (1 to CHUNK_SIZE entries); no empty chunk. */
  #chunks: T[][];
  #length: number;
  /** Whether #chunks is this array's to change (no snapshot holds it). */
  #ownList: boolean;
  /** By chunk number: whether that chunk is this array's to change (no snapshot holds it). */
  #ownChunks: boolean[];
  /** The last snapshot, while nothing was written since: the next snapshot is the same. */
  #snapshot: ChunkedArray<T> | undefined;
  /** A snapshot: writes throw (the array it came from may hand it out again). */
  #frozen: boolean;

  constructor() {
    this.#chunks = [];
    this.#length = 0;
    this.#ownList = true;
    this.#ownChunks = [];
    this.#snapshot = undefined;
    this.#frozen = false;
  }

  /** A new array of `values`' entries (copied). */
  static from<T>(values: Iterable<T>): ChunkedArray<T> {
    const a = new ChunkedArray<T>();
    for (const v of values) a.push(v);
    return a;
  }

  get length(): number {
    return this.#length;
  }

  get(index: number): T | undefined {
    if (!(index >= 0 && index < this.#length)) return undefined;
    return this.#chunks[index >>> CHUNK_BITS]![index & CHUNK_MASK];
  }

  /** Replaces the entry at `index` (an integer, 0 .. length - 1). */
  set(index: number, value: T): void {
    if (!(index >= 0 && index < this.#length && Number.isInteger(index))) {
      throw new RangeError(`index ${index} outside 0 .. ${this.#length - 1}`);
    }
    this.#writable(index >>> CHUNK_BITS)[index & CHUNK_MASK] = value;
  }

  push(value: T): void {
    const k = this.#length >>> CHUNK_BITS;
    if ((this.#length & CHUNK_MASK) === 0) {
      // A new chunk, this array's own from the start.
      this.#writableList().push([value]);
      this.#ownChunks[k] = true;
      this.#snapshot = undefined;
    } else {
      this.#writable(k).push(value);
    }
    this.#length++;
  }

  /** Removes the last entry and returns it (undefined when empty). */
  pop(): T | undefined {
    if (this.#length === 0) return undefined;
    const k = (this.#length - 1) >>> CHUNK_BITS;
    const chunk = this.#writable(k);
    const value = chunk.pop();
    this.#length--;
    if (chunk.length === 0) {
      this.#writableList().pop();
      this.#ownChunks.length = k;
    }
    return value;
  }

  /**
   * The array as it is now, for readers: later writes to this array do not show in it, and it
   * cannot be written itself (a write throws). The same object again while nothing was written
   * since, so that readers caching on its identity rebuild only after a change.
   */
  snapshot(): ChunkedArray<T> {
    if (this.#snapshot !== undefined) return this.#snapshot;
    const s = new ChunkedArray<T>();
    s.#chunks = this.#chunks;
    s.#length = this.#length;
    s.#ownList = false;
    s.#frozen = true;
    this.#ownList = false;
    this.#ownChunks = [];
    this.#snapshot = s;
    return s;
  }

  map<U>(fn: (value: T, index: number) => U): U[] {
    const out = new Array<U>(this.#length);
    let i = 0;
    for (const chunk of this.#chunks) {
      for (let j = 0; j < chunk.length; j++, i++) out[i] = fn(chunk[j]!, i);
    }
    return out;
  }

  [Symbol.iterator](): Iterator<T> {
    return new Entries(this.#chunks, this.#length);
  }

  /** The chunk list to change, copied first if a snapshot holds it. */
  #writableList(): T[][] {
    if (!this.#ownList) {
      if (this.#frozen) throw new TypeError("a snapshot of a chunked array is read-only");
      this.#chunks = this.#chunks.slice();
      this.#ownList = true;
    }
    return this.#chunks;
  }

  /** Chunk `k` to change, copied first if a snapshot holds it. */
  #writable(k: number): T[] {
    this.#snapshot = undefined;
    if (this.#ownChunks[k] === true) return this.#chunks[k]!;
    const chunk = this.#chunks[k]!.slice();
    this.#writableList()[k] = chunk;
    this.#ownChunks[k] = true;
    return chunk;
  }
}

/**
 * A walk over the entries (a class, not a generator: walks of 200 000 links are common). It hands
 * back one result object, changed at each step: for-of, spreading and Array.from read it before
 * the next step, and a fresh object per entry made the walk 2-3 times slower (V8 did not remove
 * the allocation). A caller of next() that keeps results must copy them.
 */
class Entries<T> implements Iterator<T> {
  readonly #chunks: readonly T[][];
  readonly #length: number;
  #index = 0;
  readonly #result: { done: boolean; value: T | undefined } = { done: false, value: undefined };

  constructor(chunks: readonly T[][], length: number) {
    this.#chunks = chunks;
    this.#length = length;
  }

  next(): IteratorResult<T> {
    const i = this.#index;
    const r = this.#result;
    if (i >= this.#length) {
      r.done = true;
      r.value = undefined;
    } else {
      this.#index = i + 1;
      r.value = this.#chunks[i >>> CHUNK_BITS]![i & CHUNK_MASK]!;
    }
    return r as IteratorResult<T>;
  }
}
