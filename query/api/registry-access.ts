import {
  type AuditEntry,
  CustomerList,
  type RegistryCustomer,
  type RegistryLink,
  type RegistrySite,
  type RegistrySnapshot,
  type RegistryStore,
} from "../../registry/index.js";
import type { Config } from "../../schema/config.js";
import type { SeriesStore } from "../../schema/series-store.js";
import type { CustomerScope } from "./data-endpoints.js";
import { ApiError } from "./errors.js";

/** Largest body of an item write (POST, PATCH). */
export const MAX_ITEM_BODY_BYTES = 1024 * 1024;

/** Where the API reads and writes customers: the registry database, or the config read-only. */
export interface RegistryAccess {
  readonly source: "config" | "database";
  snapshot(): Promise<RegistrySnapshot>;
  /** Throws FT_REGISTRY_READONLY (as an ApiError) with `registry.source: config`. */
  apply(changes: unknown, options: { actor: string }): Promise<{ version: number }>;
  audit(query: { since?: number; limit?: number }): Promise<AuditEntry[]>;
  /**
   * The ids of the customers the versions after `from` up to `to` changed (a site or link
   * counts for its customer), when this process made every one of them; undefined otherwise.
   */
  changedSince?(from: number, to: number): ReadonlySet<string> | undefined;
  /**
   * Checks what `apply` checks beyond the registry's own rules (the config's template names:
   * registry/portal-template-names.ts), for a dry run; throws as `apply` would.
   */
  checkChanges?(changes: unknown): void;
}

export function readOnly(): never {
  throw new ApiError(
    409,
    "FT_REGISTRY_READONLY",
    "registry.source is config: change customers in the config file, or set registry.source: database",
    "registry.source",
  );
}

/**
 * The config's customers as a registry at version 0, every record at revision 0; writes
 * answer 409 FT_REGISTRY_READONLY.
 */
/**
 * A customer by id from the registry's current snapshot (for `GET /api/v1/me`'s message of the
 * day, and the users API's check that a customer user names a customer), indexed once per
 * snapshot.
 */
export function registryCustomers(registry: RegistryAccess): {
  get(id: string): Promise<RegistryCustomer | undefined>;
} {
  return {
    async get(id) {
      // The snapshot's list finds an id by binary search: no index of its own per version.
      return (await registry.snapshot()).customers.get(id);
    },
  };
}

export function configRegistry(
  customers: Config["customers"] | (() => Config["customers"]),
): RegistryAccess {
  const byId = <T extends { id: string }>(a: T, b: T) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const snapshotOf = (list: Config["customers"]): RegistrySnapshot => ({
    version: 0,
    customers: CustomerList.from(
      list
        .map(
          // A config customer's portalTemplate is a file (web/portal/templates.ts reads it); a
          // record's is a name of portal.templates, so the file is not a record's field.
          ({ sites, portalTemplate: _file, ...c }): RegistryCustomer => ({
            ...c,
            revision: 0,
            sites: sites
              .map(
                ({ links, ...s }): RegistrySite => ({
                  ...s,
                  revision: 0,
                  links: links.map((l): RegistryLink => ({ ...l, revision: 0 })).sort(byId),
                }),
              )
              .sort(byId),
          }),
        )
        .sort(byId),
    ),
  });
  // A getter (the config of a process that reloads it at SIGHUP): a new snapshot per new list.
  const current = typeof customers === "function" ? customers : () => customers;
  let made: { of: Config["customers"]; snapshot: RegistrySnapshot } | undefined;
  const snapshot = (): RegistrySnapshot => {
    const list = current();
    if (made?.of !== list) made = { of: list, snapshot: snapshotOf(list) };
    return made.snapshot;
  };
  return {
    source: "config",
    snapshot: () => Promise.resolve(snapshot()),
    apply: () => Promise.resolve().then(readOnly),
    audit: () => Promise.resolve([]),
  };
}

/**
 * The registry database (`registry.source: database`), started by the caller. Concurrent reads
 * share one snapshot call (a write in between starts a new one, so a read after a write always
 * sees it). `exclusive`: this process is the registry's only writer (the embedded DuckDB file,
 * which one process holds): the snapshot is kept in memory between writes instead of asking the
 * database each time. PostgreSQL is shared by processes: every read asks (a version check).
 */
/** Versions whose touched customers databaseRegistry remembers (for the list rows' patches). */
const MAX_TOUCHED_VERSIONS = 4096;

export function databaseRegistry(
  store: RegistryStore,
  options: { exclusive?: boolean } = {},
): RegistryAccess {
  let generation = 0;
  let inFlight: { generation: number; snapshot: Promise<RegistrySnapshot> } | undefined;
  let held: { generation: number; snapshot: RegistrySnapshot } | undefined;
  const read = (): Promise<RegistrySnapshot> => {
    if (options.exclusive === true && held?.generation === generation) {
      return Promise.resolve(held.snapshot);
    }
    if (inFlight?.generation === generation) return inFlight.snapshot;
    const at = generation;
    const snapshot = store.snapshot();
    inFlight = { generation: at, snapshot };
    snapshot.then(
      (s) => {
        if (inFlight?.snapshot === snapshot) inFlight = undefined;
        if (at === generation) held = { generation: at, snapshot: s };
      },
      () => {
        if (inFlight?.snapshot === snapshot) inFlight = undefined;
      },
    );
    return snapshot;
  };
  /** Version → the customers its change set named (this process's writes only), the last ones. */
  const touched = new Map<number, ReadonlySet<string>>();
  const remember = (version: number, changes: unknown) => {
    if (!Array.isArray(changes)) return;
    const ids = new Set<string>();
    for (const c of changes) {
      const id = (c as { customer?: unknown } | null)?.customer;
      if (typeof id !== "string") return;
      ids.add(id);
    }
    touched.set(version, ids);
    if (touched.size > MAX_TOUCHED_VERSIONS) touched.delete(touched.keys().next().value!);
  };
  return {
    source: "database",
    snapshot: read,
    changedSince(from, to) {
      if (from < 0 || to < from) return undefined;
      const ids = new Set<string>();
      for (let v = from + 1; v <= to; v++) {
        const t = touched.get(v);
        if (t === undefined) return undefined;
        for (const id of t) ids.add(id);
      }
      return ids;
    },
    async apply(changes, o) {
      try {
        const applied = await store.apply(changes, o);
        remember(applied.version, changes);
        // Writes commit one after the other: the tree of the last one is the current one.
        const tree = applied.snapshot;
        if (tree !== undefined && (held === undefined || tree.version > held.snapshot.version)) {
          held = { generation: generation + 1, snapshot: tree };
        } else held = undefined;
        return { version: applied.version };
      } finally {
        // Reads during the write answered the version before it; from here on they ask again
        // (exclusive: they answer the tree the write made).
        generation += 1;
      }
    },
    audit: (query) => store.audit(query),
  };
}

/**
 * The traffic routes' customers with `registry.source: database`: the registry's, and a deleted
 * customer's as long as the store holds series of it (readable until retention or a purge).
 */
export function registryCustomerScope(
  registry: RegistryAccess,
  store: SeriesStore | undefined,
  now: () => number,
): (customer: string) => Promise<CustomerScope | undefined> {
  return async (customer) => {
    const s = await registry.snapshot();
    const c = s.customers.get(customer);
    if (c !== undefined) {
      return new Map(c.sites.map((site) => [site.id, new Set(site.links.map((l) => l.id))]));
    }
    if (store === undefined) return undefined;
    const day = 86_400_000;
    const totals = await store.overview({
      fromMs: 0,
      toMs: Math.ceil(now() / day) * day + day,
      customers: [customer],
    });
    return totals.some((t) => t.customer === customer) ? "any" : undefined;
  };
}
