/**
 * The registry's customers sorted by id, as a list shared between versions in chunks: a version
 * made from another shares every chunk it did not change, so a change set touching a few
 * customers copies a few chunks of at most {@link MAX_CHUNK} pointers and the list of chunks
 * (about a hundred at 100 000 customers), not the 100 000 pointers of a whole array (readers
 * hold the previous version, so it may not be changed in place).
 *
 * A list a write group owns (made by `with`, read by nobody yet) may be changed in place
 * (`changeInPlace`): the chunks it made itself are changed in place, those it shares with the
 * version it came from are copied first.
 *
 * Pure: no I/O, nothing global.
 */
import type { RegistryCustomer } from "./model.js";

/** Chunks a list is built in (from a sorted array): room to grow before the first split. */
const BUILD_CHUNK = 1024;
/** A chunk growing past this is split in two. */
const MAX_CHUNK = 2048;
/** A chunk shrinking below this is joined with a neighbour when both fit in one. */
const MIN_CHUNK = 256;
/**
 * A change of more customers than this share of the list builds it again from one merged array
 * (an import): cheaper than a splice per customer.
 */
const REBUILD_SHARE = 1 / 16;

type Chunk = RegistryCustomer[];

/** A customer as two lists have it (undefined: not in that list). */
export type ListChange = readonly [
  before: RegistryCustomer | undefined,
  after: RegistryCustomer | undefined,
];

export class CustomerList implements Iterable<RegistryCustomer> {
  /** The list with no customer (never changed: frozen). */
  static readonly EMPTY: CustomerList = Object.freeze(new CustomerList([], [])) as CustomerList;

  /** The customers in `sorted` (sorted by id, ids unique: not checked), which is not kept. */
  static from(sorted: readonly RegistryCustomer[]): CustomerList {
    const chunks: Chunk[] = [];
    for (let i = 0; i < sorted.length; i += BUILD_CHUNK) {
      chunks.push(sorted.slice(i, i + BUILD_CHUNK));
    }
    return new CustomerList(
      chunks,
      chunks.map(() => true),
    );
  }

  /** How many customers (set by `count`). */
  readonly length: number = 0;
  /** The chunks in id order, none empty. */
  private chunks: Chunk[];
  /** Per chunk: this list made it and shares it with no other list (it may change it in place). */
  private mine: boolean[];
  /** Per chunk: the position of its first customer. */
  private starts: number[] = [];

  private constructor(chunks: Chunk[], mine: boolean[]) {
    this.chunks = chunks;
    this.mine = mine;
    this.count();
  }

  /** The customer with id `id`. */
  get(id: string): RegistryCustomer | undefined {
    const chunk = this.chunks[this.chunkOf(id)];
    if (chunk === undefined) return undefined;
    const at = find(chunk, id);
    return at < 0 ? undefined : chunk[at];
  }

  /** Position of customer `id`, or -1. */
  positionOf(id: string): number {
    const k = this.chunkOf(id);
    const chunk = this.chunks[k];
    if (chunk === undefined) return -1;
    const at = find(chunk, id);
    return at < 0 ? -1 : this.starts[k]! + at;
  }

  /** Where `id` goes: the position of the first customer whose id is not smaller. */
  insertionPoint(id: string): number {
    const k = this.chunkOf(id);
    const chunk = this.chunks[k];
    if (chunk === undefined) return 0;
    return this.starts[k]! + insertionPoint(chunk, id);
  }

  /** The customer at position `i` (0 ≤ i < length), or undefined. */
  at(i: number): RegistryCustomer | undefined {
    if (!(i >= 0 && i < this.length)) return undefined;
    const k = this.chunkAt(i);
    return this.chunks[k]![i - this.starts[k]!];
  }

  /** The customers at positions `from` to `to` (excluded), as Array.prototype.slice cuts them. */
  slice(from = 0, to = this.length): RegistryCustomer[] {
    const n = this.length;
    let lo = from < 0 ? Math.max(n + from, 0) : Math.min(from, n);
    const hi = to < 0 ? Math.max(n + to, 0) : Math.min(to, n);
    const out: RegistryCustomer[] = [];
    if (lo >= hi) return out;
    let k = this.chunkAt(lo);
    while (lo < hi) {
      const chunk = this.chunks[k]!;
      const start = this.starts[k]!;
      const end = Math.min(hi - start, chunk.length);
      for (let j = lo - start; j < end; j++) out.push(chunk[j]!);
      lo = start + end;
      k++;
    }
    return out;
  }

  /** Every customer in id order, as one new array. */
  toArray(): RegistryCustomer[] {
    const out = new Array<RegistryCustomer>(this.length);
    let j = 0;
    for (const chunk of this.chunks) for (const c of chunk) out[j++] = c;
    return out;
  }

  /** As JSON, the sorted array of customers it stands for (the API's tree, files). */
  toJSON(): RegistryCustomer[] {
    return this.toArray();
  }

  [Symbol.iterator](): Iterator<RegistryCustomer> {
    return new Walk(this.chunks);
  }

  /**
   * The customers that differ between this list and `next` (another version), in id order, as
   * [this one's, next's] (undefined: absent from that list; a customer object both hold is the
   * same customer). Chunks both lists share are skipped whole: two versions of one history cost
   * a walk of the chunks they do not share, not of every customer. Yields undefined after every
   * `every` customers compared: a point where a caller working in slices may pause.
   */
  *changesTo(next: CustomerList, every = 20_000): Generator<ListChange | undefined, void> {
    const a = this.chunks;
    const b = next.chunks;
    let ka = 0;
    let ia = 0;
    let kb = 0;
    let ib = 0;
    let compared = 0;
    for (;;) {
      const ca = a[ka];
      const cb = b[kb];
      if (ca !== undefined && ia === ca.length) {
        ka++;
        ia = 0;
        continue;
      }
      if (cb !== undefined && ib === cb.length) {
        kb++;
        ib = 0;
        continue;
      }
      if (ca === undefined && cb === undefined) return;
      if (ca === cb && ia === 0 && ib === 0) {
        ka++;
        kb++;
        continue;
      }
      if (++compared % every === 0) yield undefined;
      const x = ca?.[ia];
      const y = cb?.[ib];
      if (x === y) {
        ia++;
        ib++;
      } else if (y === undefined || (x !== undefined && x.id < y.id)) {
        yield [x, undefined];
        ia++;
      } else if (x !== undefined && x.id === y.id) {
        yield [x, y];
        ia++;
        ib++;
      } else {
        yield [undefined, y];
        ib++;
      }
    }
  }

  /**
   * This list with the customers in `changes` (by id) replaced or added (a customer) or removed
   * (null; an id not in the list: nothing), as a new list sharing the chunks it did not change.
   * This list is not changed.
   */
  with(changes: ReadonlyMap<string, RegistryCustomer | null>): CustomerList {
    if (changes.size > Math.max(this.length * REBUILD_SHARE, 64)) {
      return CustomerList.from(merged(this, changes));
    }
    const next = new CustomerList(
      this.chunks.slice(),
      this.chunks.map(() => false),
    );
    next.change(changes);
    return next;
  }

  /**
   * `with` done to this list itself: only for a list nobody else reads (a write group's own,
   * made by `with`); chunks it shares with other lists are copied before they change.
   */
  changeInPlace(changes: ReadonlyMap<string, RegistryCustomer | null>): void {
    if (Object.isFrozen(this)) throw new Error("the empty customer list is not changed");
    if (changes.size > Math.max(this.length * REBUILD_SHARE, 64)) {
      const whole = CustomerList.from(merged(this, changes));
      this.chunks = whole.chunks;
      this.mine = whole.mine;
      this.count();
      return;
    }
    this.change(changes);
  }

  private change(changes: ReadonlyMap<string, RegistryCustomer | null>): void {
    for (const [id, c] of changes) {
      if (this.chunks.length === 0) {
        if (c !== null) {
          this.chunks.push([c]);
          this.mine.push(true);
        }
        continue;
      }
      const k = this.chunkOf(id);
      const at = find(this.chunks[k]!, id);
      if (at >= 0) {
        const chunk = this.own(k);
        if (c !== null) chunk[at] = c;
        else {
          chunk.splice(at, 1);
          this.shrunk(k);
        }
      } else if (c !== null) {
        const chunk = this.own(k);
        chunk.splice(insertionPoint(chunk, id), 0, c);
        if (chunk.length > MAX_CHUNK) {
          const half = chunk.length >>> 1;
          this.chunks.splice(k + 1, 0, chunk.slice(half));
          this.mine.splice(k + 1, 0, true);
          chunk.length = half;
        }
      }
    }
    this.count();
  }

  /** Chunk `k`, copied first unless this list made it. */
  private own(k: number): Chunk {
    if (this.mine[k]) return this.chunks[k]!;
    const copy = this.chunks[k]!.slice();
    this.chunks[k] = copy;
    this.mine[k] = true;
    return copy;
  }

  /** After a removal from chunk `k` (own): dropped when empty, joined with a neighbour when small. */
  private shrunk(k: number): void {
    const chunk = this.chunks[k]!;
    if (chunk.length === 0) {
      this.chunks.splice(k, 1);
      this.mine.splice(k, 1);
      return;
    }
    if (chunk.length >= MIN_CHUNK) return;
    for (const n of [k + 1, k - 1]) {
      const other = this.chunks[n];
      if (other === undefined || other.length + chunk.length > MAX_CHUNK) continue;
      const first = Math.min(k, n);
      this.chunks.splice(first, 2, this.chunks[first]!.concat(this.chunks[first + 1]!));
      this.mine.splice(first, 2, true);
      return;
    }
  }

  /** Length and chunk starts again, after a change. */
  private count(): void {
    const starts = new Array<number>(this.chunks.length);
    let n = 0;
    for (let k = 0; k < this.chunks.length; k++) {
      starts[k] = n;
      n += this.chunks[k]!.length;
    }
    this.starts = starts;
    (this as { length: number }).length = n;
  }

  /** The chunk where `id` is or would go: the last whose first id is not greater (or the first). */
  private chunkOf(id: string): number {
    const chunks = this.chunks;
    let lo = 0;
    let hi = chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (chunks[mid]![0]!.id <= id) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The chunk holding position `i` (0 ≤ i < length). */
  private chunkAt(i: number): number {
    const starts = this.starts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid]! <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

/** In-order iteration over the chunks (a plain class: no generator's cost per customer). */
class Walk implements Iterator<RegistryCustomer> {
  private k = 0;
  private j = 0;
  constructor(private readonly chunks: readonly Chunk[]) {}
  next(): IteratorResult<RegistryCustomer> {
    let chunk = this.chunks[this.k];
    while (chunk !== undefined && this.j >= chunk.length) {
      chunk = this.chunks[++this.k];
      this.j = 0;
    }
    if (chunk === undefined) return { done: true, value: undefined };
    return { done: false, value: chunk[this.j++]! };
  }
}

/** Position of `id` in a chunk sorted by id, or -1. */
function find(chunk: Chunk, id: string): number {
  let lo = 0;
  let hi = chunk.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const m = chunk[mid]!.id;
    if (m === id) return mid;
    if (m < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Where `id` goes in a list sorted by id: the first position whose id is not smaller. */
export function insertionPoint(sorted: readonly { id: string }[], id: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]!.id < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** `list` with `changes` as one sorted array: one walk, the additions merged in. */
function merged(
  list: CustomerList,
  changes: ReadonlyMap<string, RegistryCustomer | null>,
): RegistryCustomer[] {
  const added: RegistryCustomer[] = [];
  for (const [id, c] of changes) if (c !== null && list.positionOf(id) < 0) added.push(c);
  added.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const out: RegistryCustomer[] = [];
  let k = 0;
  for (const c of list) {
    while (k < added.length && added[k]!.id < c.id) out.push(added[k++]!);
    const next = changes.get(c.id);
    if (next === undefined) out.push(c);
    else if (next !== null) out.push(next);
  }
  while (k < added.length) out.push(added[k++]!);
  return out;
}
