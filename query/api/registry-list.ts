/**
 * Lists of registry records (customers, a customer's sites, a site's links): sorting by any
 * column, a text and a service-type filter, field selection and keyset pagination with an opaque
 * cursor. Pure: rows in, a page out. The sorted (and filtered) orders of a registry version are
 * kept by `createListIndex`, so a page of 100 000 customers costs a binary search and a slice,
 * not a sort.
 *
 * Why a keyset cursor rather than `offset`: the cursor holds the last row's sort value and id,
 * and the next page starts after that position in whatever version the registry is at by then.
 * A customer added or deleted meanwhile does not shift the pages (an offset would repeat or skip
 * a row for each insert or delete before it), so a walk sees every customer that existed all
 * along exactly once.
 */
import { badParameter, shown } from "./errors.js";

/** One row of a list: its fields by name, `id` always among them. */
export type ListRow = Readonly<Record<string, unknown>> & { readonly id: string };

export interface ListRequest {
  sort: string;
  order: "asc" | "desc";
  /** Case-insensitive text searched in id, name and description. */
  q?: string;
  serviceType?: string;
  limit: number;
  cursor?: string;
  /** The fields answered (id always); undefined: all. */
  fields?: readonly string[];
}

export interface ListPage {
  items: Array<Readonly<Record<string, unknown>>>;
  total: number;
  next: string | null;
}

export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1000;

/** Values compared: numbers as numbers, the rest as strings by code unit; missing ones last. */
function compareValues(a: unknown, b: unknown): number {
  const am = a === undefined || a === null;
  const bm = b === undefined || b === null;
  if (am || bm) return am === bm ? 0 : am ? 1 : -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  const as = String(a);
  const bs = String(b);
  return as < bs ? -1 : as > bs ? 1 : 0;
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Ascending by `column`, then by id (ids are unique: a total order). */
function comparator(column: string) {
  return (a: ListRow, b: ListRow) => compareValues(a[column], b[column]) || compareIds(a.id, b.id);
}

/** The filter's key in the cursor: a cursor is only good for the list it came from. */
function listKey(r: ListRequest): string {
  return JSON.stringify([r.sort, r.order, r.q ?? null, r.serviceType ?? null]);
}

interface CursorPosition {
  key: string;
  value: unknown;
  id: string;
}

export function encodeCursor(r: ListRequest, row: ListRow): string {
  return Buffer.from(JSON.stringify([listKey(r), row[r.sort] ?? null, row.id])).toString(
    "base64url",
  );
}

function decodeCursor(r: ListRequest): CursorPosition | undefined {
  if (r.cursor === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(r.cursor, "base64url").toString("utf8"));
  } catch {
    parsed = undefined;
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 3 ||
    typeof parsed[0] !== "string" ||
    typeof parsed[2] !== "string"
  ) {
    throw badParameter("cursor", `cursor ${shown(r.cursor)} is not a cursor this API gave`);
  }
  if (parsed[0] !== listKey(r)) {
    throw badParameter(
      "cursor",
      "cursor belongs to another list: give the same sort, order, q and serviceType as the request it came from",
    );
  }
  return { key: parsed[0], value: parsed[1], id: parsed[2] };
}

type OrderKey = Pick<ListRequest, "sort" | "q" | "serviceType">;

/** Whether a row passes the request's filters. */
function matcher(r: OrderKey): ((row: ListRow) => boolean) | undefined {
  if (r.serviceType === undefined && r.q === undefined) return undefined;
  const needle = r.q?.toLowerCase();
  const has = (v: unknown) => typeof v === "string" && v.toLowerCase().includes(needle!);
  return (row) =>
    (r.serviceType === undefined || row.serviceType === r.serviceType) &&
    (needle === undefined || has(row.id) || has(row.name) || has(row.description));
}

/** The rows a request sees, in ascending order of its sort column. */
export function filterAndSort(rows: readonly ListRow[], r: OrderKey): readonly ListRow[] {
  let out: readonly ListRow[] = rows;
  const keep = matcher(r);
  if (keep !== undefined) out = out.filter(keep);
  // Rows come sorted by id: sorting by id is free.
  if (r.sort !== "id")
    out = (out === rows ? out.slice() : (out as ListRow[])).sort(comparator(r.sort));
  return out;
}

/** One page of `sorted` (ascending by the request's column) after the cursor. */
export function listPage(sorted: readonly ListRow[], r: ListRequest): ListPage {
  const after = decodeCursor(r);
  const cmp = comparator(r.sort);
  const items: ListRow[] = [];
  let more: boolean;
  if (r.order === "asc") {
    let i = 0;
    if (after !== undefined) {
      // The first row after the cursor's position.
      const probe = { id: after.id, [r.sort]: after.value } as ListRow;
      let lo = 0;
      let hi = sorted.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (cmp(sorted[mid]!, probe) <= 0) lo = mid + 1;
        else hi = mid;
      }
      i = lo;
    }
    for (; i < sorted.length && items.length < r.limit; i++) items.push(sorted[i]!);
    more = i < sorted.length;
  } else {
    let i = sorted.length - 1;
    if (after !== undefined) {
      // The last row before the cursor's position.
      const probe = { id: after.id, [r.sort]: after.value } as ListRow;
      let lo = 0;
      let hi = sorted.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (cmp(sorted[mid]!, probe) < 0) lo = mid + 1;
        else hi = mid;
      }
      i = lo - 1;
    }
    for (; i >= 0 && items.length < r.limit; i--) items.push(sorted[i]!);
    more = i >= 0;
  }
  const last = items.at(-1);
  return {
    items: items.map((row) => select(row, r.fields)),
    total: sorted.length,
    next: more && last !== undefined ? encodeCursor(r, last) : null,
  };
}

/** Each list row's JSON, made at its first page (rows are read-only: a change makes a new row). */
const rowTexts = new WeakMap<object, string>();

/** `JSON.stringify(row)`, once per row object. */
export function rowJson(row: Readonly<Record<string, unknown>>): string {
  let text = rowTexts.get(row);
  if (text === undefined) {
    text = JSON.stringify(row);
    rowTexts.set(row, text);
  }
  return text;
}

/** The row's chosen fields; every field: the row itself (read-only, shared with the order). */
function select(
  row: ListRow,
  fields: readonly string[] | undefined,
): Readonly<Record<string, unknown>> {
  if (fields === undefined) return row;
  const out: Record<string, unknown> = { id: row.id };
  for (const f of fields) if (row[f] !== undefined) out[f] = row[f];
  return out;
}

/** The first position in `rows` (sorted by `cmp`) whose row is not before `row`. */
function lowerBound(
  rows: readonly ListRow[],
  row: ListRow,
  cmp: (a: ListRow, b: ListRow) => number,
): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(rows[mid]!, row) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Changes of a version beyond this many rows are sorted afresh rather than patched in. */
const MAX_PATCHED = 1000;

/**
 * The sorted and filtered orders of the current registry version, made at the first request that
 * needs each (a few recent ones are kept). When the version moves on by a few rows (`advance`),
 * each kept order is patched in place (the rows gone and the new ones found by binary search)
 * instead of sorted again: one edit costs a memmove, not a sort of 100 000 rows on the event
 * loop.
 */
export function createListIndex(maxOrders = 16) {
  let version = -1;
  let orders = new Map<string, { key: OrderKey; rows: readonly ListRow[] }>();
  return {
    /**
     * The version now has `removed` rows fewer and `added` rows more than the one before
     * (`previous`); orders of any other version are dropped.
     */
    advance(
      previous: number,
      next: number,
      removed: ReadonlySet<ListRow>,
      added: readonly ListRow[],
    ): void {
      if (previous !== version || removed.size + added.length > MAX_PATCHED) {
        orders = new Map();
      } else {
        // A row replaced by one of the same id (an edit): where the sort value stayed, the new
        // row takes the old one's place, without moving the rows after it.
        const removedById = new Map<string, ListRow>();
        for (const row of removed) removedById.set(row.id, row);
        for (const [k, order] of orders) {
          // Sorted by id without a filter, an order is the rows themselves: free to make again.
          if (order.key.sort === "id" && matcher(order.key) === undefined) {
            orders.delete(k);
            continue;
          }
          // Patched in place (pages are cut from an order synchronously: nobody holds one while
          // it changes): each row gone found and each new one placed by binary search, so an
          // edit costs a memmove, not a pass over the order.
          const keep = matcher(order.key);
          const cmp = comparator(order.key.sort);
          const rows = order.rows as ListRow[];
          const placed = new Set<ListRow>();
          for (const row of added) {
            const old = removedById.get(row.id);
            // (A row the filter drops, or an old one it dropped, takes the general path.)
            if (old === undefined || cmp(old, row) !== 0) continue;
            if (keep !== undefined && !(keep(old) && keep(row))) continue;
            const at = lowerBound(rows, old, cmp);
            if (rows[at] !== old) continue;
            rows[at] = row;
            placed.add(row);
          }
          for (const row of removed) {
            if (keep !== undefined && !keep(row)) continue;
            const at = lowerBound(rows, row, cmp);
            if (rows[at] === row) rows.splice(at, 1);
          }
          for (const row of added) {
            if (placed.has(row) || (keep !== undefined && !keep(row))) continue;
            rows.splice(lowerBound(rows, row, cmp), 0, row);
          }
        }
      }
      version = next;
    },
    sorted(rowsVersion: number, rows: () => readonly ListRow[], r: ListRequest) {
      if (rowsVersion !== version) {
        version = rowsVersion;
        orders = new Map();
      }
      const key = JSON.stringify([r.sort, r.q ?? null, r.serviceType ?? null]);
      let out = orders.get(key)?.rows;
      if (out === undefined) {
        out = filterAndSort(rows(), r);
        if (orders.size >= maxOrders) orders.delete(orders.keys().next().value!);
        const { sort, q, serviceType } = r;
        orders.set(key, {
          key: {
            sort,
            ...(q === undefined ? {} : { q }),
            ...(serviceType === undefined ? {} : { serviceType }),
          },
          rows: out,
        });
      }
      return out;
    },
  };
}
