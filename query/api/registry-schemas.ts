import { z } from "zod";
import { customerRecordSchema, siteRecordSchema } from "../../registry/index.js";
import { DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT } from "./registry-list.js";
import { CUSTOMER_FIELDS, LINK_FIELDS, LINK_SORTS, SITE_FIELDS } from "./registry-rows.js";

// --- Schemas (OpenAPI) ------------------------------------------------------------------------

export const idText = z.string().max(64).meta({
  description: "1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit",
});
export const CustomerItemPath = z.strictObject({ id: idText });
export const SitePath = z.strictObject({ id: idText, site: idText });
export const LinkPath = z.strictObject({ id: idText, site: idText, link: idText });

export const listText = (description: string) => z.string().max(256).meta({ description });
export function listQuery(
  sorts: readonly string[],
  fields: readonly string[],
  serviceType: boolean,
) {
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
export const CustomerListQuery = listQuery(CUSTOMER_FIELDS, CUSTOMER_FIELDS, true);
export const SiteListQuery = listQuery(SITE_FIELDS, SITE_FIELDS, false);
export const LinkListQuery = listQuery(LINK_SORTS, LINK_FIELDS, false);
export const NoQuery = z.strictObject({});
export const ChangesQuery = z.strictObject({
  dryRun: z
    .enum(["true", "false"])
    .default("false")
    .meta({ description: "true: validate and answer what would change, write nothing" }),
});
export const AuditQuery = z.strictObject({
  since: z
    .int()
    .min(0)
    .optional()
    .meta({ description: "Only changes after this registry version" }),
  limit: z.int().min(1).max(MAX_LIST_LIMIT).default(DEFAULT_LIST_LIMIT),
  cursor: listText("The `next` of the previous page").optional(),
});

export const revisionField = z
  .number()
  .meta({ description: "The registry version that last wrote it; its ETag" });
export const CustomerItem = customerRecordSchema
  .extend({ revision: revisionField, siteCount: z.number(), linkCount: z.number() })
  .partial()
  .meta({ id: "Customer" });
export const SiteItem = siteRecordSchema
  .extend({ revision: revisionField, linkCount: z.number() })
  .partial()
  .meta({ id: "Site" });
export const LinkItem = z
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
export const RegistryTree = z
  .strictObject({
    version: z.number().meta({ description: "The registry version of this tree" }),
    customers: z.array(
      CustomerItem.omit({ siteCount: true, linkCount: true }).extend({
        sites: z.array(SiteItem.omit({ linkCount: true }).extend({ links: z.array(LinkItem) })),
      }),
    ),
  })
  .meta({ id: "RegistryTree" });
export const list = (item: z.ZodType, id: string) =>
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

export const CustomerList = list(CustomerItem, "CustomerList");
export const SiteList = list(SiteItem, "SiteList");
export const LinkList = list(LinkItem, "LinkList");
export const SeriesPurge = z
  .strictObject({ customer: z.string(), removed: z.record(z.string(), z.number()) })
  .meta({ id: "SeriesPurge" });

/** Body schemas for the document (the handlers check with the registry's own). */
export const nullable = (schema: z.ZodObject) =>
  z.strictObject(
    Object.fromEntries(
      Object.entries(schema.shape)
        .filter(([k]) => k !== "id")
        .map(([k, v]) => [k, z.union([v as z.ZodType, z.null()]).optional()]),
    ),
  );
export const CustomerCreate = z
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
export const SiteCreate = z
  .strictObject({
    id: idText,
    name: z.string().optional(),
    address: z.string().max(4096).optional(),
    description: z.string().max(4096).optional(),
  })
  .meta({ id: "SiteCreate" });
export const rate = z.union([z.string(), z.number()]).meta({ description: '"100M" or bits/s' });
export const LinkCreate = z
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
export const CustomerPatch = nullable(CustomerCreate).meta({ id: "CustomerPatch" });
export const SitePatch = nullable(SiteCreate).meta({ id: "SitePatch" });
export const LinkPatch = nullable(LinkCreate).meta({ id: "LinkPatch" });
export const ChangesBody = z
  .strictObject({
    changes: z
      .array(z.record(z.string(), z.unknown()))
      .meta({ description: "Operations as in docs/registry.md#change-sets (add, update, delete)" }),
  })
  .meta({ id: "ChangeSet" });
export const ChangesAnswer = z
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
export const AuditAnswer = z
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
