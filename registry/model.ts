/**
 * The customer registry's records: customers → sites → access links, a superset of the config's
 * `customers:` (schema/config.ts). The schemas extend the config's own, so a field means and
 * checks the same in both (ids, reserved ids, router addresses, bit rates); the registry adds
 * contact and descriptive fields, and lets a customer exist before its sites (the config wants
 * at least one site per customer and one link per site, since it is written whole).
 */
import { z } from "zod";
import {
  customerSchema,
  idSchema,
  linkSchema,
  portalTemplateName,
  siteSchema,
} from "../schema/config.js";
import { CustomerList } from "./customer-list.js";

const note = z.string().max(4096);

/** An access link: the config's link with a description. */
export const linkRecordSchema = linkSchema.extend({
  description: note.optional(),
});

/** A site without its links: the config's site with an address and a description. */
export const siteRecordSchema = siteSchema.omit({ links: true }).extend({
  address: note.optional(),
  description: note.optional(),
});

/** A customer without its sites: the config's customer with contact fields and a message of the day. */
export const customerRecordSchema = customerSchema
  .omit({
    sites: true,
    billing: true,
    portalTemplate: true,
  })
  .extend({
    /** The contact person. */
    contact: note.optional(),
    email: note.optional(),
    phone: note.optional(),
    address: note.optional(),
    description: note.optional(),
    /** Message of the day, shown to this customer's users. */
    motd: note.optional(),
    /**
     * The customer's own portal template: a name of the config's `portal.templates` (checked
     * against them where the config is known: the API, the import), never a file path.
     */
    portalTemplate: portalTemplateName.optional(),
  });

/** One customer with its sites and links, as an import file (the config's `customers:`) holds it. */
export const registryCustomerSchema = customerRecordSchema.extend({
  sites: z
    .array(siteRecordSchema.extend({ links: z.array(linkRecordSchema).default([]) }))
    .default([]),
});

export type LinkRecord = z.output<typeof linkRecordSchema>;
export type SiteRecord = z.output<typeof siteRecordSchema>;
export type CustomerRecord = z.output<typeof customerRecordSchema>;
/** A customer tree without revisions: what export writes and import reads. */
export type CustomerTreeEntry = z.output<typeof registryCustomerSchema>;

/**
 * Each record's revision is the registry version that last wrote it: the record's ETag. An update
 * or delete may name it (`ifRevision`) and then fails if someone wrote the record since.
 */
export type RegistryLink = LinkRecord & { readonly revision: number };
export type RegistrySite = SiteRecord & {
  readonly revision: number;
  readonly links: readonly RegistryLink[];
};
export type RegistryCustomer = CustomerRecord & {
  readonly revision: number;
  readonly sites: readonly RegistrySite[];
};

/** The whole registry at one version; customers, sites and links each sorted by id. */
export interface RegistrySnapshot {
  readonly version: number;
  /** Shared in chunks with the versions before and after it (customer-list.ts). */
  readonly customers: CustomerList;
}

export const EMPTY_SNAPSHOT: RegistrySnapshot = Object.freeze({
  version: 0,
  customers: CustomerList.EMPTY,
});

/**
 * One operation of a change set. `customer`, `site` and `link` name the record it is about (a
 * link: all three; a site: customer and site; a customer: customer alone); an add gives the new
 * record's other fields in `record`, an update the fields to change in `set` (null removes an
 * optional field). Deleting a customer or site deletes what is under it.
 */
const target = {
  customer: idSchema,
  site: idSchema.optional(),
  link: idSchema.optional(),
};
const fields = z.record(z.string(), z.unknown());
const revision = z.number().int().min(0);

export const changeSchema = z
  .discriminatedUnion("op", [
    z.strictObject({ op: z.literal("add"), ...target, record: fields.default({}) }),
    z.strictObject({
      op: z.literal("update"),
      ...target,
      set: fields,
      ifRevision: revision.optional(),
    }),
    z.strictObject({ op: z.literal("delete"), ...target, ifRevision: revision.optional() }),
  ])
  .refine((c) => c.link === undefined || c.site !== undefined, {
    message: "a link is named with its site: give site too",
    path: ["site"],
  });

/** Operations validated together and applied in one transaction, or none. */
export const changeSetSchema = z.array(changeSchema).min(1);

export type Change = z.output<typeof changeSchema>;
export type ChangeInput = z.input<typeof changeSchema>;

export type RecordKind = "customer" | "site" | "link";

export function kindOf(c: { site?: string | undefined; link?: string | undefined }): RecordKind {
  return c.link !== undefined ? "link" : c.site !== undefined ? "site" : "customer";
}

/** `customers/acme/sites/hq/links/l1`: how the registry names a record (the API's path too). */
export function recordPath(c: {
  customer: string;
  site?: string | undefined;
  link?: string | undefined;
}): string {
  let out = `customers/${c.customer}`;
  if (c.site !== undefined) out += `/sites/${c.site}`;
  if (c.link !== undefined) out += `/links/${c.link}`;
  return out;
}

/** One change as the audit log keeps it: who, when, what, and the record before and after. */
export interface AuditEntry {
  /** The registry version the change set created. */
  readonly version: number;
  /** The operation's position in its change set. */
  readonly index: number;
  readonly atMs: number;
  readonly actor: string;
  readonly op: Change["op"];
  /** `customers/acme/sites/hq`. */
  readonly path: string;
  /** The record (a deleted customer or site with everything under it), or null. */
  readonly before: unknown;
  readonly after: unknown;
}
