/**
 * The registry's pure core: a change set applied to a snapshot gives the next snapshot, the
 * records to write and the audit entries, or throws a coded error and changes nothing. Each
 * record is checked with its zod schema, then the resulting tree with the config's own rules
 * (config/validate-model.ts validateCustomers), records named by id. The stores
 * (duckdb-registry.ts, postgres-registry.ts) only load, lock and write.
 */
import { runSteps, type Steps } from "../collector/classify/steps.js";
import { formatPath, issueReason } from "../config/path.js";
import type { RecordPath } from "../config/validate-model.js";
import { FlowtallyError } from "../schema/errors.js";
import type { CustomerList } from "./customer-list.js";
import {
  type AuditEntry,
  type Change,
  type CustomerRecord,
  changeSetSchema,
  customerRecordSchema,
  kindOf,
  type LinkRecord,
  linkRecordSchema,
  type RecordKind,
  type RegistryCustomer,
  type RegistryLink,
  type RegistrySite,
  type RegistrySnapshot,
  recordPath,
  type SiteRecord,
  siteRecordSchema,
} from "./model.js";
import { recordDerivation } from "./tree-derivation.js";
import {
  checkTouched,
  checkTree,
  checkTreeSteps,
  type TreeCheck,
  type TreeIndex,
} from "./tree-index.js";

/**
 * A record to write (`record` set) or to delete with everything under it (`record` undefined);
 * `created`: the record is new (nothing to replace).
 */
export interface RegistryWrite {
  readonly kind: RecordKind;
  readonly created: boolean;
  readonly customer: string;
  readonly site?: string;
  readonly link?: string;
  readonly revision: number;
  readonly record?: CustomerRecord | SiteRecord | LinkRecord;
  /** A customer or site deleted with sites or links still under it (rows to delete with it). */
  readonly emptied?: true;
}

export interface AppliedChangeSet {
  readonly snapshot: RegistrySnapshot;
  readonly writes: readonly RegistryWrite[];
  readonly audit: readonly AuditEntry[];
}

type MutableSite = Omit<RegistrySite, "links"> & { links: RegistryLink[] };
type MutableCustomer = Omit<RegistryCustomer, "sites"> & { sites: MutableSite[] };

const schemas = {
  customer: customerRecordSchema,
  site: siteRecordSchema,
  link: linkRecordSchema,
} as const;

/**
 * Applies `input` (a change set, checked here with changeSetSchema) to `snapshot` as one change:
 * version + 1, every written record at that revision, one audit entry per operation.
 */
export function applyChangeSet(
  snapshot: RegistrySnapshot,
  input: unknown,
  context: {
    actor: string;
    atMs: number;
    /**
     * The caller writes the result (the store does): the snapshot's validation index moves to
     * the new tree. Without it (a preview, a dry run) the snapshot keeps its index, and the next
     * change set on it is as quick.
     */
    commit?: boolean;
    /**
     * The snapshot's customer list belongs to the caller alone (a tree an earlier change set of
     * the same write group made, which nobody reads yet): with an index, the new tree is that
     * list changed in place once the change set is valid (its own chunks changed, not copied).
     */
    ownsTree?: boolean;
  },
): AppliedChangeSet {
  const parsed = changeSetSchema.safeParse(input);
  if (!parsed.success) {
    throw invalid(
      parsed.error.issues.map((i) => `${formatPath(["changes", ...i.path])}: ${issueReason(i)}`),
    );
  }
  if (context.actor === "") throw invalid(["actor: a change needs someone who made it"]);
  const version = snapshot.version + 1;
  const base = snapshot.customers;
  /**
   * The customers this change set touches, by id: their new version (copied from the snapshot
   * before the first change, so the snapshot is never modified), or null once deleted. The rest
   * of the tree is shared with the snapshot, not copied.
   */
  const changed = new Map<string, MutableCustomer | null>();
  const writes: RegistryWrite[] = [];
  const audit: AuditEntry[] = [];
  const problems: string[] = [];

  const customers = {
    get(id: string): RegistryCustomer | MutableCustomer | undefined {
      const c = changed.get(id);
      if (c !== undefined) return c ?? undefined;
      return base.get(id);
    },
    set(id: string, c: MutableCustomer) {
      changed.set(id, c);
    },
    delete(id: string) {
      changed.set(id, null);
    },
  };

  /** The customer as a copy this change set may modify (once per customer). */
  const editable = (id: string): MutableCustomer | undefined => {
    const have = changed.get(id);
    if (have !== undefined) return have ?? undefined;
    const c = base.get(id);
    if (c === undefined) return undefined;
    const copy: MutableCustomer = {
      ...c,
      sites: c.sites.map((s) => ({ ...s, links: s.links.slice() })),
    };
    changed.set(id, copy);
    return copy;
  };

  parsed.data.forEach((change, index) => {
    const kind = kindOf(change);
    const path = recordPath(change);
    const where = `changes[${index}] (${change.op} ${path})`;
    const customer = editable(change.customer);
    const sites = customer?.sites;
    const site = change.site === undefined ? undefined : sites?.find((s) => s.id === change.site);
    const siblings: Array<{ id: string; revision: number }> | undefined =
      kind === "customer" ? undefined : kind === "site" ? sites : site?.links;
    const ownId =
      kind === "customer" ? change.customer : kind === "site" ? change.site! : change.link!;
    const current =
      kind === "customer"
        ? customer
        : (siblings?.find((r) => r.id === ownId) as { revision: number } | undefined);

    if (change.op === "add") {
      if (
        kind !== "customer" &&
        (customer === undefined || (kind === "link" && site === undefined))
      ) {
        throw new FlowtallyError(
          "FT_REGISTRY_NOT_FOUND",
          `${where}: ${customer === undefined ? recordPath({ customer: change.customer }) : recordPath({ customer: change.customer, site: change.site })} does not exist`,
        );
      }
      if (current !== undefined) {
        throw new FlowtallyError("FT_REGISTRY_EXISTS", `${where}: ${path} exists already`);
      }
      if ("id" in change.record) {
        problems.push(`${path}.id: the id is given by the change's ${kind}, not in the record`);
        return;
      }
      const value = { id: ownId, ...change.record };
      const record = parseRecord(kind, value, path, problems);
      // A refused record is put in place all the same, so that the operations under it report
      // their own problems, not "does not exist"; the change set fails at the end anyway.
      insert(kind, change, record ?? (value as LinkRecord));
      if (record === undefined) return;
      writes.push({ ...target(change), kind, created: true, revision: version, record });
      audit.push(entry(index, change, path, null, record));
      return;
    }

    if (current === undefined) {
      throw new FlowtallyError("FT_REGISTRY_NOT_FOUND", `${where}: ${path} does not exist`);
    }
    if (change.ifRevision !== undefined && change.ifRevision !== current.revision) {
      throw new FlowtallyError(
        "FT_REGISTRY_CONFLICT",
        `${where}: ${path} is at revision ${current.revision}, not ${change.ifRevision}: it changed since it was read`,
      );
    }
    const before = withoutRevisions(current);

    if (change.op === "delete") {
      if (kind === "customer") customers.delete(change.customer);
      else if (kind === "site") sites!.splice(sites!.indexOf(current as MutableSite), 1);
      else site!.links.splice(site!.links.indexOf(current as RegistryLink), 1);
      const under =
        kind === "customer"
          ? (current as MutableCustomer).sites.length
          : kind === "site"
            ? (current as MutableSite).links.length
            : 0;
      writes.push({
        ...target(change),
        kind,
        created: false,
        revision: version,
        ...(under > 0 ? { emptied: true as const } : {}),
      });
      audit.push(entry(index, change, path, before, null));
      return;
    }

    if ("id" in change.set) {
      problems.push(`${path}.id: an id does not change (delete the record and add it anew)`);
      return;
    }
    const merged: Record<string, unknown> = { ...recordFields(current) };
    for (const [key, value] of Object.entries(change.set)) {
      if (value === null) delete merged[key];
      else merged[key] = value;
    }
    const record = parseRecord(kind, merged, path, problems);
    if (record === undefined) return;
    replace(kind, change, current, record);
    writes.push({ ...target(change), kind, created: false, revision: version, record });
    audit.push(entry(index, change, path, recordFields(before as object), record));
  });

  /** Puts a new record in place (customers are sorted at the end, sites and links here). */
  function insert(kind: RecordKind, c: Change, record: CustomerRecord | SiteRecord | LinkRecord) {
    if (kind === "customer") {
      customers.set(c.customer, { ...(record as CustomerRecord), revision: version, sites: [] });
    } else if (kind === "site") {
      const sites = (customers.get(c.customer) as MutableCustomer).sites;
      sites.push({ ...(record as SiteRecord), revision: version, links: [] });
      sites.sort(byId);
    } else {
      const site = (customers.get(c.customer) as MutableCustomer).sites.find(
        (s) => s.id === c.site,
      )!;
      site.links.push({ ...(record as LinkRecord), revision: version });
      site.links.sort(byId);
    }
  }

  function replace(
    kind: RecordKind,
    c: Change,
    current: object,
    record: CustomerRecord | SiteRecord | LinkRecord,
  ) {
    if (kind === "customer") {
      const old = customers.get(c.customer) as MutableCustomer;
      customers.set(c.customer, {
        ...(record as CustomerRecord),
        revision: version,
        sites: old.sites,
      });
    } else if (kind === "site") {
      const sites = (customers.get(c.customer) as MutableCustomer).sites;
      const old = current as MutableSite;
      sites[sites.indexOf(old)] = {
        ...(record as SiteRecord),
        revision: version,
        links: old.links,
      };
    } else {
      const site = (customers.get(c.customer) as MutableCustomer).sites.find(
        (s) => s.id === c.site,
      )!;
      site.links[site.links.indexOf(current as RegistryLink)] = {
        ...(record as LinkRecord),
        revision: version,
      };
    }
  }

  function entry(
    index: number,
    c: Change,
    path: string,
    before: unknown,
    after: unknown,
  ): AuditEntry {
    return {
      version,
      index,
      atMs: context.atMs,
      actor: context.actor,
      op: c.op,
      path,
      before,
      after,
    };
  }

  if (problems.length > 0) throw invalid(problems);
  const inPlace = context.ownsTree === true && treeIndexes.has(base);
  const tree = inPlace ? base : base.with(changed);
  // The tree's rules are about links (prefixes, interfaces, being matchable): a change set that
  // adds or updates none cannot break them in a tree that kept them (deletes only take away).
  // With the index of the snapshot's tree only the touched customers are checked; without one
  // (the first change after a load, or a tree read elsewhere) the whole tree is, once.
  const linksChanged = parsed.data.some((c) => c.op !== "delete" && c.link !== undefined);
  const index = treeIndexes.get(base);
  let check: TreeCheck | undefined;
  if (index !== undefined) {
    const before: RegistryCustomer[] = [];
    const after: MutableCustomer[] = [];
    // Whether every touched customer keeps its links (the same objects under the same sites):
    // then the index, which holds only links, is the new tree's as it is (a customer's or a
    // site's own fields edited, a customer without sites added or deleted).
    let linksKept = !linksChanged;
    for (const [id, c] of changed) {
      const old = base.get(id);
      if (old !== undefined) before.push(old);
      if (c !== null) after.push(c);
      if (linksKept) linksKept = sameLinks(old, c);
    }
    check = linksKept
      ? { problems: [], commit: () => index }
      : linksChanged
        ? checkTouched(index, before, after)
        : { problems: [], commit: () => checkTouched(index, before, after).commit() };
  } else if (linksChanged) {
    check = checkTree(tree.toArray());
  }
  if (check !== undefined && check.problems.length > 0) throw invalid(check.problems);
  // Valid: only now may a tree the caller owns be changed.
  if (inPlace) tree.changeInPlace(changed);
  const snapshotOut: RegistrySnapshot = { version, customers: tree };
  recordDerivation(snapshotOut, snapshot, changed.keys());
  if (check !== undefined && (context.commit === true || inPlace)) {
    // The index moves to the new tree (updated in place): the old snapshot, should it be used
    // again, gets a fresh one built from its own tree.
    treeIndexes.delete(base);
    treeIndexes.set(tree, check.commit());
  }
  return { snapshot: snapshotOut, writes, audit };
}

/** Whether two versions of a customer (absent or deleted: none) have the same links under the same sites. */
function sameLinks(
  before: RegistryCustomer | undefined,
  after: MutableCustomer | null | undefined,
): boolean {
  const a = before?.sites ?? [];
  const b = after?.sites ?? [];
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) {
    const x = a[k]!;
    const y = b[k]!;
    if (x.id !== y.id || x.links.length !== y.links.length) return false;
    for (let j = 0; j < x.links.length; j++) if (x.links[j] !== y.links[j]) return false;
  }
  return true;
}

/**
 * The index of each tree that has one (valid trees only), by the snapshot's customer list. At
 * most one tree holds a given index: it moves to the tree a change set makes.
 */
const treeIndexes = new WeakMap<CustomerList, TreeIndex>();

/**
 * Builds the index of a tree the store has just loaded, so that the first change set after a
 * start is as quick as the next ones (a full check, about as long as validateCustomers).
 * Nothing is kept for a tree that breaks the rules: change sets on it get full checks.
 */
export function prepareIndex(snapshot: RegistrySnapshot): void {
  if (treeIndexes.has(snapshot.customers)) return;
  // Being made in slices (prepareIndexSteps): finished now, not made a second time.
  const started = preparing.get(snapshot.customers);
  if (started !== undefined) {
    runSteps(started);
    return;
  }
  const check = checkTree(snapshot.customers.toArray());
  if (check.problems.length === 0) treeIndexes.set(snapshot.customers, check.commit());
}

function* nothing(): Steps<void> {}

/** Trees whose index is being made in slices, with the steps left. */
const preparing = new WeakMap<CustomerList, Steps<void>>();

/**
 * prepareIndex in steps, to run in slices before any change set comes (a process that takes
 * writes, once it has started: registry/sql-registry.ts `prepareWrites`); a change set that comes
 * first finishes it at once. Nothing to do where the index is made, or being made.
 */
export function prepareIndexSteps(snapshot: RegistrySnapshot): Steps<void> {
  const customers = snapshot.customers;
  if (treeIndexes.has(customers) || preparing.has(customers)) return nothing();
  function* steps(): Steps<void> {
    try {
      const check = yield* checkTreeSteps(customers.toArray());
      if (check.problems.length === 0) treeIndexes.set(customers, check.commit());
    } finally {
      preparing.delete(customers);
    }
  }
  const made = steps();
  preparing.set(customers, made);
  return made;
}

/**
 * The tree another process wrote (`to`: `from` with the customers in `changed` replaced, added
 * or deleted), read back by a store: `from`'s index moves to it, updated for those customers, so
 * that the next change set is checked incrementally too. Nothing moves if `from` has no index.
 */
export function carryIndex(
  from: RegistrySnapshot,
  to: RegistrySnapshot,
  changed: ReadonlyMap<string, RegistryCustomer | null>,
): void {
  const index = treeIndexes.get(from.customers);
  if (index === undefined) return;
  const before: RegistryCustomer[] = [];
  const after: RegistryCustomer[] = [];
  for (const [id, c] of changed) {
    const old = from.customers.get(id);
    if (old !== undefined) before.push(old);
    if (c !== null) after.push(c);
  }
  const check = checkTouched(index, before, after);
  treeIndexes.delete(from.customers);
  // A tree that breaks the rules (written by hand?) gets full checks, as without an index.
  if (check.problems.length === 0) treeIndexes.set(to.customers, check.commit());
}

/** Whether change sets on this snapshot are checked incrementally (it has its index). */
export function hasIndex(snapshot: RegistrySnapshot): boolean {
  return treeIndexes.has(snapshot.customers);
}

/**
 * The snapshot's tree with the changed customers in place: a new list sharing with `base` every
 * chunk of it the change did not touch (customer-list.ts), never a copy of every pointer.
 */
export function mergeTree(
  base: CustomerList,
  changed: ReadonlyMap<string, RegistryCustomer | null>,
): CustomerList {
  return base.with(changed);
}

/** Names records by id (`customers/acme/sites/hq/links/l1`) in the tree rule's problems. */
export function idRecordPath(tree: readonly RegistryCustomer[]): RecordPath {
  return (ci, si, li) => {
    const c = tree[ci]!;
    const s = si === undefined ? undefined : c.sites[si]!;
    return recordPath({
      customer: c.id,
      site: s?.id,
      link: li === undefined ? undefined : s!.links[li]!.id,
    });
  };
}

function parseRecord(
  kind: RecordKind,
  value: Record<string, unknown>,
  path: string,
  problems: string[],
): CustomerRecord | SiteRecord | LinkRecord | undefined {
  const r = schemas[kind].safeParse(value);
  if (r.success) return r.data;
  for (const i of r.error.issues) {
    problems.push(
      `${path}${i.path.length === 0 ? "" : `.${formatPath(i.path)}`}: ${issueReason(i)}`,
    );
  }
  return undefined;
}

/** The record's own fields: without its revision and without what is under it. */
export function recordFields(r: object): Record<string, unknown> {
  const { revision: _r, sites: _s, links: _l, ...rest } = r as Record<string, unknown>;
  return rest;
}

/** A record and what is under it, without revisions: as export writes it and the audit keeps it. */
export function withoutRevisions(r: object): unknown {
  if (Array.isArray(r)) return r.map((x: object) => withoutRevisions(x));
  const { revision: _r, ...rest } = r as Record<string, unknown>;
  if (Array.isArray(rest.sites)) rest.sites = withoutRevisions(rest.sites);
  if (Array.isArray(rest.links)) rest.links = withoutRevisions(rest.links);
  return rest;
}

function target(c: Change): { customer: string; site?: string; link?: string } {
  return {
    customer: c.customer,
    ...(c.site === undefined ? {} : { site: c.site }),
    ...(c.link === undefined ? {} : { link: c.link }),
  };
}

export function byId(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Problems listed in one error at most: a wrong import file could have a million. */
const MAX_PROBLEMS = 100;

function invalid(lines: readonly string[]): FlowtallyError {
  const shown =
    lines.length > MAX_PROBLEMS
      ? [...lines.slice(0, MAX_PROBLEMS), `… and ${lines.length - MAX_PROBLEMS} more problems`]
      : lines;
  return new FlowtallyError(
    "FT_REGISTRY_INVALID",
    `invalid registry change\n  ${shown.join("\n  ")}`,
  );
}
