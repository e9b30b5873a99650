import {
  insertionPoint,
  type RegistryCustomer,
  type RegistryLink,
  type RegistrySite,
  type RegistrySnapshot,
} from "../../registry/index.js";
import type { RegistryAccess } from "./registry-access.js";
import { createListIndex, type ListRow } from "./registry-list.js";

/** The fields of a customer's list row (its columns: sortable and choosable). */
export const CUSTOMER_FIELDS = [
  "id",
  "name",
  "serviceType",
  "contact",
  "email",
  "phone",
  "address",
  "description",
  "motd",
  "portalTemplate",
  "revision",
  "siteCount",
  "linkCount",
] as const;
export const SITE_FIELDS = [
  "id",
  "name",
  "address",
  "description",
  "revision",
  "linkCount",
] as const;
export const LINK_FIELDS = [
  "id",
  "name",
  "description",
  "prefixes",
  "router",
  "ifIndex",
  "commitRate",
  "revision",
] as const;
/** Link columns a list sorts by (not the prefix list). */
export const LINK_SORTS = LINK_FIELDS.filter((f) => f !== "prefixes");

/** A customer's own fields, its revision and how many sites and links it has. */
export function customerRow(c: RegistryCustomer): ListRow {
  const { sites, ...own } = c;
  let links = 0;
  for (const s of sites) links += s.links.length;
  return { ...own, siteCount: sites.length, linkCount: links };
}

export function siteRow(s: RegistrySite): ListRow {
  const { links, ...own } = s;
  return { ...own, linkCount: links.length };
}

export function linkRow(l: RegistryLink): ListRow {
  return { ...l };
}

/** A record by id in a list sorted by id. */
export function findById<T extends { id: string }>(list: readonly T[], id: string): T | undefined {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const v = list[mid]!.id;
    if (v === id) return list[mid];
    if (v < id) lo = mid + 1;
    else hi = mid;
  }
  return undefined;
}

/**
 * The customers' list rows of each snapshot, and their sorted orders (registry-list.ts), kept
 * from one version to the next: only the customers a version replaced get a new row.
 */
export function createCustomerRows(registry: RegistryAccess) {
  const customerIndex = createListIndex();
  let rowsVersion = -1;
  /** The snapshot the rows were made of: the config's (version 0) is a new one after a SIGHUP. */
  let rowsSnapshot: RegistrySnapshot | undefined;
  let rows: ListRow[] = [];
  /** The customer object each row of `rows` was made from (same index). */
  let rowSources: readonly RegistryCustomer[] = [];
  /**
   * The customers' list rows of a snapshot: a row is made again only for a customer object the
   * version replaced (the snapshot shares the others' objects, and replaces a customer's when
   * anything under it changes), found by walking the old and new lists, both in id order; the
   * list index is told which rows went and came, to patch its sorted orders.
   */
  const customerRows = (snapshot: RegistrySnapshot): readonly ListRow[] => {
    const touched =
      snapshot.version !== rowsVersion && rowsVersion > 0
        ? registry.changedSince?.(rowsVersion, snapshot.version)
        : undefined;
    if (touched !== undefined) {
      // The versions in between were this process's writes: only the customers they named
      // change row (found by binary search), instead of a walk of every customer. Patched in
      // place: the rows are read synchronously (a page is cut before any await), and are this
      // function's own arrays (never the snapshot's).
      const fresh = rows as ListRow[];
      const sources = rowSources as RegistryCustomer[];
      const added: ListRow[] = [];
      const removed = new Set<ListRow>();
      for (const id of touched) {
        const c = snapshot.customers.get(id);
        const lo = insertionPoint(fresh, id);
        const present = lo < fresh.length && fresh[lo]!.id === id;
        if (present && sources[lo] === c) continue;
        if (present) removed.add(fresh[lo]!);
        if (c === undefined) {
          if (present) {
            fresh.splice(lo, 1);
            sources.splice(lo, 1);
          }
          continue;
        }
        const row = customerRow(c);
        added.push(row);
        if (present) {
          fresh[lo] = row;
          sources[lo] = c;
        } else {
          fresh.splice(lo, 0, row);
          sources.splice(lo, 0, c);
        }
      }
      customerIndex.advance(rowsVersion, snapshot.version, removed, added);
      rows = fresh;
      rowSources = sources;
      rowsVersion = snapshot.version;
      return rows;
    }
    if (
      snapshot.version !== rowsVersion ||
      (snapshot.version === 0 && (rows.length === 0 || snapshot !== rowsSnapshot))
    ) {
      rowsSnapshot = snapshot;
      const customers = snapshot.customers;
      const fresh: ListRow[] = new Array(customers.length);
      const added: ListRow[] = [];
      const removed = new Set<ListRow>();
      let i = 0;
      let j = 0;
      for (const c of customers) {
        while (i < rows.length && rows[i]!.id < c.id) removed.add(rows[i++]!);
        if (i < rows.length && rows[i]!.id === c.id) {
          if (rowSources[i] === c) {
            fresh[j++] = rows[i]!;
            i++;
            continue;
          }
          removed.add(rows[i++]!);
        }
        const row = customerRow(c);
        fresh[j++] = row;
        added.push(row);
      }
      while (i < rows.length) removed.add(rows[i++]!);
      customerIndex.advance(rowsVersion, snapshot.version, removed, added);
      rows = fresh;
      // A copy: the rows' sources are patched in place later, the snapshot's tree never.
      rowSources = customers.toArray();
      rowsVersion = snapshot.version;
    }
    return rows;
  };
  return { customerIndex, customerRows };
}
