import type { z } from "zod";
import {
  customerRecordSchema,
  linkRecordSchema,
  type RegistryCustomer,
  type RegistryLink,
  type RegistrySite,
  type RegistrySnapshot,
  recordPath,
  siteRecordSchema,
} from "../../registry/index.js";
import {
  ApiError,
  type BodyProblem,
  badParameter,
  notFound,
  shown,
  unknownCustomer,
} from "./errors.js";
import { choice, readParameters } from "./parameters.js";
import { MAX_ITEM_BODY_BYTES, readOnly } from "./registry-access.js";
import {
  DEFAULT_LIST_LIMIT,
  filterAndSort,
  type ListRequest,
  type ListRow,
  listPage,
  MAX_LIST_LIMIT,
  rowJson,
} from "./registry-list.js";
import {
  badBody,
  bodyObject,
  ETAG_HEADERS,
  entityTags,
  error,
  etag,
  json,
  problemsOf,
  type RegistryRouteContext,
  refuseBeyondNames,
  refuseUnknown,
  type Target,
  WRITE_NOTE,
} from "./registry-request.js";
import {
  CUSTOMER_FIELDS,
  type createCustomerRows,
  customerRow,
  findById,
  LINK_FIELDS,
  LINK_SORTS,
  linkRow,
  SITE_FIELDS,
  siteRow,
} from "./registry-rows.js";
import {
  CustomerCreate,
  CustomerItem,
  CustomerItemPath,
  CustomerList,
  CustomerListQuery,
  CustomerPatch,
  LinkCreate,
  LinkItem,
  LinkList,
  LinkListQuery,
  LinkPatch,
  LinkPath,
  NoQuery,
  SiteCreate,
  SiteItem,
  SiteList,
  SiteListQuery,
  SitePatch,
  SitePath,
} from "./registry-schemas.js";
import { jsonReply, reply } from "./reply.js";
import type { ApiRoute } from "./routes.js";

/** The record a target names in `s`, or 404 naming the first id missing. */
function find(s: RegistrySnapshot, t: Target): RegistryCustomer | RegistrySite | RegistryLink {
  const c = s.customers.get(t.customer);
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

function listRequest(p: Map<string, string>, sorts: readonly string[], fields: readonly string[]) {
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

/**
 * A list page as JSON: what `jsonReply` makes of `{items, total, registryVersion, next}`, the
 * rows' text kept from one page to the next (rowJson: a list row is never changed, a change
 * makes a new one), since turning 100 rows into JSON was most of a page's cost.
 */
const listAnswer = (page: ReturnType<typeof listPage>, version: number) =>
  reply(
    200,
    `{"items":[${page.items.map(rowJson).join(",")}],"total":${page.total},"registryVersion":${version},"next":${JSON.stringify(page.next)}}\n`,
    "application/json; charset=utf-8",
  );

/**
 * The routes of customers, sites and links: for each kind its list (GET), its add (POST), and
 * its item's GET, PATCH and DELETE, with ETag / If-Match / If-None-Match.
 */
export function itemRoutes(
  ctx: RegistryRouteContext,
  rows: ReturnType<typeof createCustomerRows>,
): ApiRoute[] {
  const { registry, registryCall, snapshot } = ctx;
  const { customerIndex, customerRows } = rows;

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
        description: `${WRITE_NOTE} 201 with \`Location\` and \`ETag\`. Unknown fields are refused, naming them; ids are 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit.`,
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
        description: `${WRITE_NOTE} A customer-admin user may change the name and description of its own customer, sites and links, nothing else (403 naming the field). The body holds the fields to change; null removes an optional one; an id does not change. Send \`If-Match\` with the ETag read (a missing one is allowed, but then a concurrent edit is overwritten): a stale one answers 412 with the current revision.`,
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
        description: `${WRITE_NOTE} 204. Send \`If-Match\` with the ETag read: a stale one answers 412.${k.kind === "customer" ? " The customer's stored series stay readable through its traffic and response-time routes until retention removes them or `DELETE /api/v1/customers/{id}/series` purges them." : ""}`,
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
  return routes;
}
