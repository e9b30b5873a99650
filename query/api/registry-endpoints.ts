/**
 * The customer registry over HTTP (docs/api.md#the-customer-registry): customers → sites →
 * access links as items (GET, POST, PATCH, DELETE with ETag / If-Match / If-None-Match), lists
 * (registry-list.ts), the atomic change set (`POST /api/v1/changes`, with a dry run) and the
 * audit log. Handlers parse, call the registry (registry/: a RegistryStore, or the config's
 * customers read-only with `registry.source: config`) and render; the registry's coded errors
 * become 4xx bodies naming the field.
 */
import type { Logger } from "pino";
import { z } from "zod";
import { formatPath, issueReason } from "../../config/path.js";
import {
  type AuditEntry,
  applyChangeSet,
  changeSetSchema,
  customerRecordSchema,
  insertionPoint,
  linkRecordSchema,
  type RegistryCustomer,
  type RegistryLink,
  type RegistrySite,
  type RegistrySnapshot,
  type RegistryStore,
  recordPath,
  siteRecordSchema,
} from "../../registry/index.js";
import type { Config } from "../../schema/config.js";
import { isFlowtallyError } from "../../schema/errors.js";
import type { SeriesStore } from "../../schema/series-store.js";
import type { CustomerScope } from "./data-endpoints.js";
import {
  ApiError,
  type BodyProblem,
  badParameter,
  notFound,
  shown,
  shownName,
  unknownCustomer,
} from "./errors.js";
import { choice, readParameters } from "./parameters.js";
import {
  createListIndex,
  DEFAULT_LIST_LIMIT,
  filterAndSort,
  type ListRequest,
  type ListRow,
  listPage,
  MAX_LIST_LIMIT,
} from "./registry-list.js";
import { jsonReply, reply } from "./reply.js";
import type { ApiRoute } from "./routes.js";
import { ErrorBody } from "./schemas.js";

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
  let indexed: { snapshot: RegistrySnapshot; byId: Map<string, RegistryCustomer> } | undefined;
  return {
    async get(id) {
      const snapshot = await registry.snapshot();
      if (indexed?.snapshot !== snapshot) {
        indexed = { snapshot, byId: new Map(snapshot.customers.map((c) => [c.id, c])) };
      }
      return indexed.byId.get(id);
    },
  };
}

export function configRegistry(customers: Config["customers"]): RegistryAccess {
  const byId = <T extends { id: string }>(a: T, b: T) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const snapshot: RegistrySnapshot = {
    version: 0,
    customers: customers
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
  };
  return {
    source: "config",
    snapshot: () => Promise.resolve(snapshot),
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
    const c = findById(s.customers, customer);
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

// --- The rows the API shows -------------------------------------------------------------------

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
const SITE_FIELDS = ["id", "name", "address", "description", "revision", "linkCount"] as const;
const LINK_FIELDS = [
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
const LINK_SORTS = LINK_FIELDS.filter((f) => f !== "prefixes");

/** A customer's own fields, its revision and how many sites and links it has. */
function customerRow(c: RegistryCustomer): ListRow {
  const { sites, ...own } = c;
  let links = 0;
  for (const s of sites) links += s.links.length;
  return { ...own, siteCount: sites.length, linkCount: links };
}

function siteRow(s: RegistrySite): ListRow {
  const { links, ...own } = s;
  return { ...own, linkCount: links.length };
}

function linkRow(l: RegistryLink): ListRow {
  return { ...l };
}

/** A record by id in a list sorted by id. */
function findById<T extends { id: string }>(list: readonly T[], id: string): T | undefined {
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

// --- Schemas (OpenAPI) ------------------------------------------------------------------------

const idText = z.string().max(64).meta({
  description: "1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit",
});
const CustomerItemPath = z.strictObject({ id: idText });
const SitePath = z.strictObject({ id: idText, site: idText });
const LinkPath = z.strictObject({ id: idText, site: idText, link: idText });

const listText = (description: string) => z.string().max(256).meta({ description });
function listQuery(sorts: readonly string[], fields: readonly string[], serviceType: boolean) {
  return z.strictObject({
    limit: z
      .int()
      .min(1)
      .max(MAX_LIST_LIMIT)
      .default(DEFAULT_LIST_LIMIT)
      .meta({ description: "Rows per page" }),
    cursor: listText(
      "The `next` of the previous page (with the same sort, order and filters)",
    ).optional(),
    sort: z
      .enum(sorts as [string, ...string[]])
      .default("id")
      .meta({ description: "Column to sort by (then by id)" }),
    order: z.enum(["asc", "desc"]).default("asc"),
    fields: listText(
      `Comma-separated fields to answer (id always): ${fields.join(", ")}`,
    ).optional(),
    q: listText("Only rows whose id, name or description contains this text (any case)").optional(),
    ...(serviceType
      ? { serviceType: listText("Only customers of this service type").optional() }
      : {}),
  });
}
const CustomerListQuery = listQuery(CUSTOMER_FIELDS, CUSTOMER_FIELDS, true);
const SiteListQuery = listQuery(SITE_FIELDS, SITE_FIELDS, false);
const LinkListQuery = listQuery(LINK_SORTS, LINK_FIELDS, false);
const NoQuery = z.strictObject({});
const ChangesQuery = z.strictObject({
  dryRun: z
    .enum(["true", "false"])
    .default("false")
    .meta({ description: "true: validate and answer what would change, write nothing" }),
});
const AuditQuery = z.strictObject({
  since: z
    .int()
    .min(0)
    .optional()
    .meta({ description: "Only changes after this registry version" }),
  limit: z.int().min(1).max(MAX_LIST_LIMIT).default(DEFAULT_LIST_LIMIT),
  cursor: listText("The `next` of the previous page").optional(),
});

const revisionField = z
  .number()
  .meta({ description: "The registry version that last wrote it; its ETag" });
const CustomerItem = customerRecordSchema
  .extend({ revision: revisionField, siteCount: z.number(), linkCount: z.number() })
  .partial()
  .meta({ id: "Customer" });
const SiteItem = siteRecordSchema
  .extend({ revision: revisionField, linkCount: z.number() })
  .partial()
  .meta({ id: "Site" });
const LinkItem = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    prefixes: z.array(z.string()),
    router: z.string(),
    ifIndex: z.number(),
    commitRate: z.number().meta({ description: "bits/s" }),
    revision: revisionField,
  })
  .partial()
  .meta({ id: "Link" });
/** The whole tree with its revisions: what `flowtally customers import|export --api` reads. */
const RegistryTree = z
  .strictObject({
    version: z.number().meta({ description: "The registry version of this tree" }),
    customers: z.array(
      CustomerItem.omit({ siteCount: true, linkCount: true }).extend({
        sites: z.array(SiteItem.omit({ linkCount: true }).extend({ links: z.array(LinkItem) })),
      }),
    ),
  })
  .meta({ id: "RegistryTree" });
const list = (item: z.ZodType, id: string) =>
  z
    .strictObject({
      items: z.array(item),
      total: z.number().meta({ description: "Rows matching the filters" }),
      registryVersion: z.number(),
      next: z
        .string()
        .nullable()
        .meta({ description: "`cursor` for the next page; null on the last" }),
    })
    .meta({ id });

const CustomerList = list(CustomerItem, "CustomerList");
const SiteList = list(SiteItem, "SiteList");
const LinkList = list(LinkItem, "LinkList");
const SeriesPurge = z
  .strictObject({ customer: z.string(), removed: z.record(z.string(), z.number()) })
  .meta({ id: "SeriesPurge" });

/** Body schemas for the document (the handlers check with the registry's own). */
const nullable = (schema: z.ZodObject) =>
  z.strictObject(
    Object.fromEntries(
      Object.entries(schema.shape)
        .filter(([k]) => k !== "id")
        .map(([k, v]) => [k, z.union([v as z.ZodType, z.null()]).optional()]),
    ),
  );
const CustomerCreate = z
  .strictObject({
    id: idText,
    name: z.string(),
    serviceType: z.string().optional(),
    contact: z.string().max(4096).optional(),
    email: z.string().max(4096).optional(),
    phone: z.string().max(4096).optional(),
    address: z.string().max(4096).optional(),
    description: z.string().max(4096).optional(),
    motd: z.string().max(4096).optional(),
    portalTemplate: z.string().optional().meta({
      description:
        "The customer's own portal template: a name of the config's portal.templates (422 for another); admins and operators only",
    }),
  })
  .meta({ id: "CustomerCreate" });
const SiteCreate = z
  .strictObject({
    id: idText,
    name: z.string().optional(),
    address: z.string().max(4096).optional(),
    description: z.string().max(4096).optional(),
  })
  .meta({ id: "SiteCreate" });
const rate = z.union([z.string(), z.number()]).meta({ description: '"100M" or bits/s' });
const LinkCreate = z
  .strictObject({
    id: idText,
    name: z.string().optional(),
    description: z.string().max(4096).optional(),
    prefixes: z.array(z.string()).optional(),
    router: z.string().optional(),
    ifIndex: z.int().min(0).optional(),
    commitRate: rate.optional(),
  })
  .meta({ id: "LinkCreate" });
const CustomerPatch = nullable(CustomerCreate).meta({ id: "CustomerPatch" });
const SitePatch = nullable(SiteCreate).meta({ id: "SitePatch" });
const LinkPatch = nullable(LinkCreate).meta({ id: "LinkPatch" });
const ChangesBody = z
  .strictObject({
    changes: z
      .array(z.record(z.string(), z.unknown()))
      .meta({ description: "Operations as in docs/registry.md#change-sets (add, update, delete)" }),
  })
  .meta({ id: "ChangeSet" });
const ChangesAnswer = z
  .strictObject({
    dryRun: z.boolean(),
    registryVersion: z
      .number()
      .meta({ description: "The version the change created (dry run: the current one)" }),
    summary: z.strictObject({ add: z.number(), update: z.number(), delete: z.number() }),
    changes: z.array(
      z.strictObject({
        op: z.enum(["add", "update", "delete"]),
        path: z.string(),
        before: z.unknown(),
        after: z.unknown(),
      }),
    ),
  })
  .meta({ id: "ChangeSetResult" });
const AuditAnswer = z
  .strictObject({
    entries: z.array(
      z.strictObject({
        version: z.number(),
        index: z.number(),
        atMs: z.number(),
        actor: z.string(),
        op: z.enum(["add", "update", "delete"]),
        path: z.string(),
        before: z.unknown(),
        after: z.unknown(),
      }),
    ),
    next: z.string().nullable(),
  })
  .meta({ id: "AuditLog" });

// --- Requests ---------------------------------------------------------------------------------

const json = (schema: z.ZodType) => ({ "application/json": schema });
const error = (description: string) => ({ description, content: json(ErrorBody) });
const ETAG_HEADERS = "ETag: the item's revision, quoted";

function etag(revision: number): string {
  return `"${revision}"`;
}

/**
 * The revisions an `If-Match` / `If-None-Match` header names: `*` (any), or strong entity tags
 * (`"12"`); weak ones (`W/"12"`) never match a strong comparison and are left out.
 */
function entityTags(header: string): "*" | number[] {
  if (header.trim() === "*") return "*";
  const out: number[] = [];
  for (const m of header.matchAll(/(W\/)?"([^"]*)"/g)) {
    if (m[1] === undefined && /^[0-9]{1,15}$/.test(m[2]!)) out.push(Number(m[2]));
  }
  return out;
}

/** Zod's issues as problems; an unknown key is named in the path (`changes[0].colour`). */
export function problemsOf(
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly PropertyKey[] = [],
) {
  return issues.flatMap((i): BodyProblem[] =>
    i.code === "unrecognized_keys"
      ? i.keys.map((key) => ({
          path: formatPath([...prefix, ...i.path, key]),
          reason: "is not a field of this record",
        }))
      : [{ path: formatPath([...prefix, ...i.path]), reason: issueReason(i) }],
  );
}

export function badBody(message: string, problems: readonly BodyProblem[]): ApiError {
  return new ApiError(400, "FT_BAD_BODY", message, undefined, {}, { problems });
}

/** The body as a JSON object, or a 400 naming what it is instead. */
function bodyObject(body: unknown): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw badBody("the request body must be a JSON object", [
      { path: "", reason: body === undefined ? "the body is empty" : "not an object" },
    ]);
  }
  return body as Record<string, unknown>;
}

/** Unknown fields of a body, all named in one answer. */
/** What a customer-admin may change (the seed's cCPE customer administrators): names and words. */
const CUSTOMER_ADMIN_FIELDS: ReadonlySet<string> = new Set(["name", "description"]);

function refuseBeyondNames(body: Record<string, unknown>): void {
  const refused = Object.keys(body).filter((k) => !CUSTOMER_ADMIN_FIELDS.has(k));
  if (refused.length === 0) return;
  throw new ApiError(
    403,
    "FT_FORBIDDEN",
    `a customer-admin may change only the name and description, not ${refused.map((k) => shown(k)).join(", ")}`,
    shownName(refused[0]!),
  );
}

function refuseUnknown(body: Record<string, unknown>, known: readonly string[]): void {
  const unknown = Object.keys(body).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw badBody(
      `unknown field${unknown.length > 1 ? "s" : ""} ${unknown.map(shown).join(", ")}; this body takes ${known.join(", ")}`,
      unknown.map((k) => ({ path: k, reason: "is not a field of this record" })),
    );
  }
}

/**
 * An FT_REGISTRY_INVALID message's lines (`path: reason`) as problems; `base` (the record an item
 * route writes) is taken off their paths, so that they name the body's fields.
 */
function registryProblems(message: string, base?: string): BodyProblem[] {
  return message
    .split("\n")
    .slice(1)
    .map((line) => {
      const text = line.trim();
      const at = text.indexOf(": ");
      let path = at < 0 ? "" : text.slice(0, at);
      const reason = at < 0 ? text : text.slice(at + 2);
      if (base !== undefined) {
        if (path === base) path = "";
        else if (path.startsWith(`${base}.`)) path = path.slice(base.length + 1);
      }
      return { path, reason };
    });
}

/**
 * Runs a registry call, turning its coded errors into answers (422 with problems, 409, 404, 412,
 * 503); `base` names the record an item route writes (taken off the problems' paths).
 */
export async function callRegistry<T>(
  fn: () => Promise<T>,
  base?: string,
  log?: Logger,
): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (!isFlowtallyError(e)) throw e;
    const message = e.message;
    switch (e.code) {
      case "FT_REGISTRY_INVALID":
        throw new ApiError(
          422,
          "FT_REGISTRY_INVALID",
          message.split("\n", 1)[0]!,
          undefined,
          {},
          {
            problems: registryProblems(message, base),
          },
        );
      case "FT_REGISTRY_EXISTS":
        throw new ApiError(409, "FT_REGISTRY_EXISTS", message);
      case "FT_REGISTRY_NOT_FOUND":
        throw notFound(message);
      case "FT_REGISTRY_CONFLICT":
        throw new ApiError(412, "FT_REGISTRY_CONFLICT", message);
      case "FT_REGISTRY_OPEN":
        // The cause (the database's host, its error) goes to the log, not to the client.
        log?.error({ err: e }, "API: the customer registry is unavailable");
        throw new ApiError(
          503,
          "FT_REGISTRY_UNAVAILABLE",
          "the customer registry cannot be reached; see the server log",
        );
      default:
        throw e;
    }
  }
}

interface Target {
  customer: string;
  site?: string;
  link?: string;
}

export interface RegistryEndpointOptions {
  log?: Logger;
  /** Largest body of `POST /api/v1/changes` (api.maxChangeSetBytes). */
  maxChangeSetBytes: number;
  now?: () => number;
  /**
   * Removes a customer's stored series (`DELETE /api/v1/customers/{id}/series`); absent in a
   * process that keeps no series.
   */
  purgeSeries?: (customer: string) => Promise<Record<string, number>>;
}

/** The registry's routes, in the route table's form. */
export function registryRoutes(
  registry: RegistryAccess,
  options: RegistryEndpointOptions,
): ApiRoute[] {
  const now = options.now ?? Date.now;
  const customerIndex = createListIndex();
  let rowsVersion = -1;
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
        const c = findById(snapshot.customers, id);
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
    if (snapshot.version !== rowsVersion || (snapshot.version === 0 && rows.length === 0)) {
      const customers = snapshot.customers;
      const fresh: ListRow[] = new Array(customers.length);
      const added: ListRow[] = [];
      const removed = new Set<ListRow>();
      let i = 0;
      for (let j = 0; j < customers.length; j++) {
        const c = customers[j]!;
        while (i < rows.length && rows[i]!.id < c.id) removed.add(rows[i++]!);
        if (i < rows.length && rows[i]!.id === c.id) {
          if (rowSources[i] === c) {
            fresh[j] = rows[i]!;
            i++;
            continue;
          }
          removed.add(rows[i++]!);
        }
        const row = customerRow(c);
        fresh[j] = row;
        added.push(row);
      }
      while (i < rows.length) removed.add(rows[i++]!);
      customerIndex.advance(rowsVersion, snapshot.version, removed, added);
      rows = fresh;
      // A copy: the rows' sources are patched in place later, the snapshot's tree never.
      rowSources = customers.slice();
      rowsVersion = snapshot.version;
    }
    return rows;
  };

  const registryCall = <T>(fn: () => Promise<T>, base?: string) =>
    callRegistry(fn, base, options.log);

  const snapshot = () => registryCall(() => registry.snapshot());

  /** The record a target names in `s`, or 404 naming the first id missing. */
  function find(s: RegistrySnapshot, t: Target): RegistryCustomer | RegistrySite | RegistryLink {
    const c = findById(s.customers, t.customer);
    if (c === undefined) throw unknownCustomer(t.customer);
    if (t.site === undefined) return c;
    const site = findById(c.sites, t.site);
    if (site === undefined) {
      throw notFound(`no site ${shown(t.site)} of customer ${shown(t.customer)}`);
    }
    if (t.link === undefined) return site;
    const link = findById(site.links, t.link);
    if (link === undefined) {
      throw notFound(
        `no link ${shown(t.link)} of site ${shown(t.site)} of customer ${shown(t.customer)}`,
      );
    }
    return link;
  }

  function itemRow(kind: "customer" | "site" | "link", record: object): ListRow {
    return kind === "customer"
      ? customerRow(record as RegistryCustomer)
      : kind === "site"
        ? siteRow(record as RegistrySite)
        : linkRow(record as RegistryLink);
  }

  function targetOf(params: Readonly<Record<string, string>>, kind: "customer" | "site" | "link") {
    const t: Target = { customer: params.id ?? "" };
    if (kind !== "customer") t.site = params.site ?? "";
    if (kind === "link") t.link = params.link ?? "";
    return t;
  }

  function itemUrl(t: Target): string {
    return `/api/v1/${recordPath(t)
      .split("/")
      .map((s) => encodeURIComponent(s))
      .join("/")}`;
  }

  /**
   * The revision `If-Match` lets a write go on from: undefined without the header (allowed, but
   * a client should send it) or with `*`; else the current revision when it is among those
   * named, or 412 naming it.
   */
  function ifMatch(
    header: (name: string) => string | undefined,
    current: { revision: number },
    path: string,
  ): number | undefined {
    const h = header("if-match");
    if (h === undefined) return undefined;
    const tags = entityTags(h);
    if (tags === "*") return undefined;
    if (tags.includes(current.revision)) return current.revision;
    throw conflict(path, current.revision);
  }

  function conflict(path: string, revision: number): ApiError {
    return new ApiError(
      412,
      "FT_REGISTRY_CONFLICT",
      `${path} is at revision ${revision}: it changed since it was read; read it again (ETag "${revision}") and retry`,
      undefined,
      { etag: etag(revision) },
      { revision },
    );
  }

  /** Applies one operation; a stale `ifRevision` (a write between our read and the commit) is 412 too. */
  async function write(
    change: Record<string, unknown>,
    actor: string,
    base: string,
    t: Target,
  ): Promise<number> {
    try {
      const { version } = await registryCall(() => registry.apply([change], { actor }), base);
      return version;
    } catch (e) {
      if (e instanceof ApiError && e.code === "FT_REGISTRY_CONFLICT") {
        const s = await snapshot();
        throw conflict(base, find(s, t).revision);
      }
      throw e;
    }
  }

  function listRequest(
    p: Map<string, string>,
    sorts: readonly string[],
    fields: readonly string[],
  ) {
    const limitText = p.get("limit");
    let limit = DEFAULT_LIST_LIMIT;
    if (limitText !== undefined) {
      limit = /^[0-9]{1,7}$/.test(limitText) ? Number(limitText) : Number.NaN;
      if (!(limit >= 1 && limit <= MAX_LIST_LIMIT)) {
        throw badParameter(
          "limit",
          `limit ${shown(limitText)}: expected a whole number from 1 to ${MAX_LIST_LIMIT}`,
        );
      }
    }
    const fieldsText = p.get("fields");
    let selected: string[] | undefined;
    if (fieldsText !== undefined) {
      selected = fieldsText.split(",").map((f) => f.trim());
      const unknown = selected.filter((f) => !fields.includes(f));
      if (unknown.length > 0) {
        throw badParameter(
          "fields",
          `unknown field ${unknown.map(shown).join(", ")} in fields; expected some of ${fields.join(", ")}`,
        );
      }
    }
    const r: ListRequest = {
      sort: choice(p, "sort", sorts, "id"),
      order: choice(p, "order", ["asc", "desc"] as const, "asc"),
      limit,
      ...(selected === undefined ? {} : { fields: selected }),
      ...(p.get("q") === undefined ? {} : { q: p.get("q")! }),
      ...(p.get("serviceType") === undefined ? {} : { serviceType: p.get("serviceType")! }),
      ...(p.get("cursor") === undefined ? {} : { cursor: p.get("cursor")! }),
    };
    return r;
  }

  const listAnswer = (page: ReturnType<typeof listPage>, version: number) =>
    jsonReply(200, {
      items: page.items,
      total: page.total,
      registryVersion: version,
      next: page.next,
    });

  // --- Items ----------------------------------------------------------------------------------

  const kinds = [
    {
      kind: "customer" as const,
      name: "customer",
      itemPath: "/api/v1/customers/{id}",
      listPath: "/api/v1/customers",
      params: CustomerItemPath,
      listParams: undefined,
      record: customerRecordSchema,
      create: CustomerCreate,
      patch: CustomerPatch,
      item: CustomerItem,
      list: CustomerList,
      fields: CUSTOMER_FIELDS as readonly string[],
      sorts: CUSTOMER_FIELDS as readonly string[],
      listQuery: CustomerListQuery,
    },
    {
      kind: "site" as const,
      name: "site",
      itemPath: "/api/v1/customers/{id}/sites/{site}",
      listPath: "/api/v1/customers/{id}/sites",
      params: SitePath,
      listParams: CustomerItemPath,
      record: siteRecordSchema,
      create: SiteCreate,
      patch: SitePatch,
      item: SiteItem,
      list: SiteList,
      fields: SITE_FIELDS as readonly string[],
      sorts: SITE_FIELDS as readonly string[],
      listQuery: SiteListQuery,
    },
    {
      kind: "link" as const,
      name: "access link",
      itemPath: "/api/v1/customers/{id}/sites/{site}/links/{link}",
      listPath: "/api/v1/customers/{id}/sites/{site}/links",
      params: LinkPath,
      listParams: SitePath,
      record: linkRecordSchema,
      create: LinkCreate,
      patch: LinkPatch,
      item: LinkItem,
      list: LinkList,
      fields: LINK_FIELDS as readonly string[],
      sorts: LINK_SORTS as readonly string[],
      listQuery: LinkListQuery,
    },
  ];

  const writeNote =
    "Operators and admins may call it. Answers `Registry-Version: N`, the registry version the write created.";
  const routes: ApiRoute[] = [];
  for (const k of kinds) {
    const recordFieldNames = Object.keys(k.record.shape);
    const parentKind = k.kind === "site" ? "customer" : "site";

    routes.push(
      {
        method: "GET",
        path: k.listPath,
        // Customers' own sites and links are theirs to read; the list of customers is not.
        access: k.kind === "customer" ? "operator" : "customer",
        inProcess: false,
        summary: `List ${k.name}s: sorted, filtered, paginated`,
        description: `${k.kind === "customer" ? "Operators" : "Operators, and the customer's own users"} may call it. \`limit\` rows per page after \`cursor\` (the previous page's \`next\`: a keyset position, stable while others write), sorted by \`sort\` then id, \`fields\` to choose the columns, \`q\` to search id, name and description.`,
        ...(k.listParams === undefined ? {} : { params: k.listParams }),
        query: k.listQuery,
        responses: {
          200: { description: `The ${k.name}s`, content: json(k.list) },
        },
        handler: async ({ params, search }) => {
          const p = readParameters(search, Object.keys(k.listQuery.shape));
          const r = listRequest(p, k.sorts, k.fields);
          const s = await snapshot();
          if (k.kind === "customer") {
            const all = customerRows(s);
            const sorted = customerIndex.sorted(s.version, () => all, r);
            return listAnswer(listPage(sorted, r), s.version);
          }
          const parent = find(s, targetOf(params, parentKind));
          const children =
            k.kind === "site"
              ? (parent as RegistryCustomer).sites.map(siteRow)
              : (parent as RegistrySite).links.map(linkRow);
          return listAnswer(listPage(filterAndSort(children, r), r), s.version);
        },
      },
      {
        method: "POST",
        path: k.listPath,
        access: "operator",
        inProcess: false,
        summary: `Add a ${k.name}`,
        description: `${writeNote} 201 with \`Location\` and \`ETag\`. Unknown fields are refused, naming them; ids are 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit.`,
        ...(k.listParams === undefined ? {} : { params: k.listParams }),
        query: NoQuery,
        body: k.create,
        bodyCheckedBy: "handler",
        maxBodyBytes: MAX_ITEM_BODY_BYTES,
        responses: {
          201: { description: `The ${k.name} added`, content: json(k.item) },
          409: error(
            "The id is taken (FT_REGISTRY_EXISTS), or registry.source is config (FT_REGISTRY_READONLY)",
          ),
          422: error(
            "The registry's rules refuse it (FT_REGISTRY_INVALID); problems names each field",
          ),
        },
        handler: async ({ params, search, body, actor }) => {
          readParameters(search, []);
          const given = bodyObject(body);
          refuseUnknown(given, recordFieldNames);
          const parsed = k.record.safeParse(given);
          if (!parsed.success) {
            throw badBody(`the ${k.name} is not valid`, problemsOf(parsed.error.issues));
          }
          const { id, ...record } = given as { id: string };
          const t: Target = k.kind === "customer" ? { customer: id } : targetOf(params, parentKind);
          if (k.kind === "customer") t.customer = id;
          else if (k.kind === "site") t.site = id;
          else t.link = id;
          if (k.kind !== "customer" && registry.source === "database") {
            // 404 for an unknown parent before anything else, as GET would answer.
            find(await snapshot(), targetOf(params, parentKind));
          }
          const base = recordPath(t);
          const version = await registryCall(
            () => registry.apply([{ op: "add", ...t, record }], { actor }),
            base,
          );
          const s = await snapshot();
          const created = find(s, t);
          return jsonReply(201, itemRow(k.kind, created), {
            location: itemUrl(t),
            etag: etag(created.revision),
            "registry-version": String(version.version),
          });
        },
      },
      {
        method: "GET",
        path: k.itemPath,
        access: "customer",
        inProcess: false,
        summary: `One ${k.name}`,
        description: `Operators, and the customer's own users, may call it. ${ETAG_HEADERS}; \`If-None-Match\` with it answers 304.`,
        params: k.params,
        query: NoQuery,
        responses: {
          200: { description: `The ${k.name}`, content: json(k.item) },
          304: { description: "Not modified since the ETag given in If-None-Match" },
        },
        handler: async ({ params, search, header }) => {
          readParameters(search, []);
          const s = await snapshot();
          const record = find(s, targetOf(params, k.kind));
          const tag = etag(record.revision);
          const none = header("if-none-match");
          if (none !== undefined) {
            const tags =
              none.trim() === "*" ? "*" : [...none.matchAll(/(?:W\/)?"([^"]*)"/g)].map((m) => m[1]);
            // If-None-Match compares weakly: W/"3" matches "3".
            if (tags === "*" || tags.includes(String(record.revision))) {
              return reply(304, "", "", { etag: tag });
            }
          }
          return jsonReply(200, itemRow(k.kind, record), { etag: tag });
        },
      },
      {
        method: "PATCH",
        path: k.itemPath,
        access: "customer-admin",
        inProcess: false,
        summary: `Change fields of a ${k.name}`,
        description: `${writeNote} A customer-admin user may change the name and description of its own customer, sites and links, nothing else (403 naming the field). The body holds the fields to change; null removes an optional one; an id does not change. Send \`If-Match\` with the ETag read (a missing one is allowed, but then a concurrent edit is overwritten): a stale one answers 412 with the current revision.`,
        params: k.params,
        query: NoQuery,
        body: k.patch,
        bodyCheckedBy: "handler",
        maxBodyBytes: MAX_ITEM_BODY_BYTES,
        responses: {
          200: { description: `The ${k.name} as changed`, content: json(k.item) },
          409: error("registry.source is config (FT_REGISTRY_READONLY)"),
          412: error("If-Match names a revision the record no longer has (FT_REGISTRY_CONFLICT)"),
          422: error(
            "The registry's rules refuse it (FT_REGISTRY_INVALID); problems names each field",
          ),
        },
        handler: async ({ params, search, header, body, actor, principal }) => {
          readParameters(search, []);
          const given = bodyObject(body);
          if (principal?.role === "customer-admin") refuseBeyondNames(given);
          if ("id" in given) {
            throw badBody("an id does not change: delete the record and add it anew", [
              { path: "id", reason: "an id does not change" },
            ]);
          }
          refuseUnknown(
            given,
            recordFieldNames.filter((f) => f !== "id"),
          );
          const problems: BodyProblem[] = [];
          for (const [key, value] of Object.entries(given)) {
            if (value === null) continue;
            const field = (k.record.shape as Record<string, z.ZodType>)[key]!;
            const r = field.safeParse(value);
            if (!r.success) problems.push(...problemsOf(r.error.issues, [key]));
          }
          if (problems.length > 0) throw badBody(`the ${k.name}'s changes are not valid`, problems);
          const t = targetOf(params, k.kind);
          if (registry.source === "config") readOnly();
          const current = find(await snapshot(), t);
          const base = recordPath(t);
          const ifRevision = ifMatch(header, current, base);
          const version = await write(
            { op: "update", ...t, set: given, ...(ifRevision === undefined ? {} : { ifRevision }) },
            actor,
            base,
            t,
          );
          const changed = find(await snapshot(), t);
          return jsonReply(200, itemRow(k.kind, changed), {
            etag: etag(changed.revision),
            "registry-version": String(version),
          });
        },
      },
      {
        method: "DELETE",
        path: k.itemPath,
        access: "operator",
        inProcess: false,
        summary: `Delete a ${k.name} and everything under it`,
        description: `${writeNote} 204. Send \`If-Match\` with the ETag read: a stale one answers 412.${k.kind === "customer" ? " The customer's stored series stay readable through its traffic and response-time routes until retention removes them or `DELETE /api/v1/customers/{id}/series` purges them." : ""}`,
        params: k.params,
        query: NoQuery,
        responses: {
          204: { description: "Deleted" },
          409: error("registry.source is config (FT_REGISTRY_READONLY)"),
          412: error("If-Match names a revision the record no longer has (FT_REGISTRY_CONFLICT)"),
        },
        handler: async ({ params, search, header, actor }) => {
          readParameters(search, []);
          const t = targetOf(params, k.kind);
          if (registry.source === "config") readOnly();
          const current = find(await snapshot(), t);
          const base = recordPath(t);
          const ifRevision = ifMatch(header, current, base);
          const version = await write(
            { op: "delete", ...t, ...(ifRevision === undefined ? {} : { ifRevision }) },
            actor,
            base,
            t,
          );
          return reply(204, "", "", { "registry-version": String(version) });
        },
      },
    );
  }

  // --- Change sets, audit, purge --------------------------------------------------------------

  const changesBody = z.strictObject({ changes: changeSetSchema });
  routes.push(
    {
      method: "POST",
      path: "/api/v1/changes",
      access: "operator",
      inProcess: false,
      summary:
        "Apply a change set: many operations validated together, in one transaction, or none",
      description: `${writeNote} \`?dryRun=true\` validates and answers what would change (before and after of each record) without writing. Body: \`{"changes": [...]}\`, at most api.maxChangeSetBytes.`,
      query: ChangesQuery,
      body: ChangesBody,
      bodyCheckedBy: "handler",
      maxBodyBytes: options.maxChangeSetBytes,
      responses: {
        200: { description: "Applied (or, dry run, what would be)", content: json(ChangesAnswer) },
        404: error("An operation names a record that does not exist (FT_NOT_FOUND)"),
        409: error(
          "An add's id is taken (FT_REGISTRY_EXISTS), or registry.source is config (FT_REGISTRY_READONLY)",
        ),
        412: error("An operation's ifRevision is stale (FT_REGISTRY_CONFLICT)"),
        422: error(
          "The registry's rules refuse the set (FT_REGISTRY_INVALID); problems names each",
        ),
      },
      handler: async ({ search, body, actor }) => {
        const p = readParameters(search, Object.keys(ChangesQuery.shape));
        const dryRun = choice(p, "dryRun", ["true", "false"] as const, "false") === "true";
        const given = bodyObject(body);
        const parsed = changesBody.safeParse(given);
        if (!parsed.success) {
          throw badBody("the change set is not valid", problemsOf(parsed.error.issues));
        }
        if (registry.source === "config") readOnly();
        const s = await snapshot();
        // The dry run, and the answer's before/after of a real apply (the store checks again
        // against the tree it holds under its write lock).
        const preview = await registryCall(async () => {
          registry.checkChanges?.(parsed.data.changes);
          return applyChangeSet(s, parsed.data.changes, { actor, atMs: now() });
        });
        let version = s.version;
        if (!dryRun) {
          version = (await registryCall(() => registry.apply(parsed.data.changes, { actor })))
            .version;
        }
        const summary = { add: 0, update: 0, delete: 0 };
        for (const a of preview.audit) summary[a.op] += 1;
        return jsonReply(
          200,
          {
            dryRun,
            registryVersion: version,
            summary,
            changes: preview.audit.map((a) => ({
              op: a.op,
              path: a.path,
              before: a.before,
              after: a.after,
            })),
          },
          dryRun ? {} : { "registry-version": String(version) },
        );
      },
    },
    {
      method: "GET",
      path: "/api/v1/registry/tree",
      access: "operator",
      inProcess: false,
      summary: "The whole registry: every customer with its sites and links, and their revisions",
      description:
        "Operators and admins may call it. What `flowtally customers export --api` writes and `flowtally customers import --api` compares a file with (its changes carry these revisions, so an edit made meanwhile refuses the import instead of being overwritten). With registry.source: config, the config's customers at version 0.",
      query: NoQuery,
      responses: { 200: { description: "The tree", content: json(RegistryTree) } },
      handler: async ({ search }) => {
        readParameters(search, []);
        return jsonReply(200, await snapshot());
      },
    },
    {
      method: "GET",
      path: "/api/v1/registry/audit",
      access: "operator",
      inProcess: false,
      summary: "The registry's audit log: who changed what, when, before and after",
      description:
        "Operators and admins may call it. Oldest first; `since` a registry version, `next` the cursor of the next page.",
      query: AuditQuery,
      responses: { 200: { description: "Audit entries", content: json(AuditAnswer) } },
      handler: async ({ search }) => {
        const p = readParameters(search, Object.keys(AuditQuery.shape));
        const limitText = p.get("limit");
        const limit = limitText === undefined ? DEFAULT_LIST_LIMIT : Number(limitText);
        if (!/^[0-9]{1,7}$/.test(limitText ?? "1") || !(limit >= 1 && limit <= MAX_LIST_LIMIT)) {
          throw badParameter(
            "limit",
            `limit ${shown(limitText ?? "")}: expected a whole number from 1 to ${MAX_LIST_LIMIT}`,
          );
        }
        const sinceText = p.get("since");
        const cursorText = p.get("cursor");
        if (sinceText !== undefined && cursorText !== undefined) {
          throw badParameter("cursor", "give since or cursor, not both");
        }
        let since = 0;
        let skip = 0;
        if (sinceText !== undefined) {
          if (!/^[0-9]{1,15}$/.test(sinceText)) {
            throw badParameter("since", `since ${shown(sinceText)} is not a registry version`);
          }
          since = Number(sinceText);
        }
        if (cursorText !== undefined) {
          const m = /^([0-9]{1,15})\.([0-9]{1,9})$/.exec(cursorText);
          if (m === null || Number(m[1]) < 1) {
            throw badParameter(
              "cursor",
              `cursor ${shown(cursorText)} is not a cursor this API gave`,
            );
          }
          // The entries of the cursor's version up to its index were on earlier pages.
          since = Number(m[1]) - 1;
          skip = Number(m[2]) + 1;
        }
        const got = await registryCall(() => registry.audit({ since, limit: skip + limit + 1 }));
        const entries = got.slice(skip, skip + limit);
        const last = entries.at(-1);
        return jsonReply(200, {
          entries,
          next:
            got.length > skip + limit && last !== undefined
              ? `${last.version}.${last.index}`
              : null,
        });
      },
    },
  );
  const purge = options.purgeSeries;
  if (purge !== undefined) {
    routes.push({
      method: "DELETE",
      path: "/api/v1/customers/{id}/series",
      access: "operator",
      inProcess: false,
      summary: "Purge a customer's stored series (traffic and response times, every level)",
      description:
        "Operators and admins may call it. Removes what the series store holds for this customer id, whether or not the registry still has it (a customer still in the registry goes on collecting); answers the rows removed per level.",
      params: CustomerItemPath,
      query: NoQuery,
      responses: {
        200: {
          description: "What was removed",
          content: json(SeriesPurge),
        },
      },
      handler: async ({ params, search }) => {
        readParameters(search, []);
        const id = params.id ?? "";
        if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(id)) throw unknownCustomer(id);
        return jsonReply(200, { customer: id, removed: await purge(id) });
      },
    });
  }
  return routes;
}
