/**
 * Declared outages and maintenance windows of a customer's access links (docs/sla.md "Declared
 * outages", docs/api.md): listed to the customer and operators, recorded, changed and deleted
 * by operators, each change audited (accounts/outages.ts). The SLA report counts them in each
 * link's availability. Handlers parse, check the link is the customer's, and call the book.
 */
import { z } from "zod";
import { isAccountError } from "../../accounts/accounts.js";
import type { Outage, OutageBook } from "../../accounts/outages.js";
import type { DeclaredOutage } from "../sla-availability.js";
import { ApiError, badParameter, shown, unknownCustomer } from "./errors.js";
import { isoTime, parseIsoTime, readParameters, timeParameter } from "./parameters.js";
import { type ApiReply, jsonReply, noContent } from "./reply.js";
import type { ApiRoute, RouteInput } from "./routes.js";

export interface OutageRouteDeps {
  outages: OutageBook;
  /** The customer's links as "site/link", or undefined for an unknown customer. */
  linksOf: (customer: string) => Promise<ReadonlySet<string> | undefined>;
}

const json = (schema: z.ZodType) => ({ "application/json": schema });
const isoIn = (description: string) =>
  z
    .string()
    .refine(
      (s) => !Number.isNaN(parseIsoTime(s)),
      "must be an ISO 8601 time such as 2031-03-04T10:00:00Z",
    )
    .meta({ description });
const kind = z.enum(["outage", "maintenance"], {
  error: 'must be "outage" or "maintenance"',
});
const note = z.string().max(1000, "must be at most 1000 characters");

const NewOutageBody = z
  .strictObject({
    site: z.string().min(1),
    link: z.string().min(1),
    start: isoIn("Start (UTC, ISO 8601)"),
    end: isoIn("End, excluded; left out or null: still going on").nullable().optional(),
    kind,
    note: note.optional(),
  })
  .meta({ id: "NewOutage" });

const OutagePatchBody = z
  .strictObject({
    start: isoIn("Start").optional(),
    end: isoIn("End, excluded; null: still going on").nullable().optional(),
    kind: kind.optional(),
    note: note.nullable().optional(),
  })
  .meta({ id: "OutagePatch" });

const OutageOut = z
  .strictObject({
    id: z.string(),
    customer: z.string(),
    site: z.string(),
    link: z.string(),
    kind: z.enum(["outage", "maintenance"]),
    start: z.string(),
    end: z.string().nullable().meta({ description: "null: still going on" }),
    note: z.string().nullable(),
    createdBy: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "Outage" });
const OutageList = z.strictObject({ outages: z.array(OutageOut) }).meta({ id: "Outages" });
const OutagesQuery = z.strictObject({
  from: z.string().optional().meta({ description: "Only outages going on at or after this time" }),
  to: z.string().optional().meta({ description: "Only outages that started before this time" }),
});
const OutagesPath = z.strictObject({ id: z.string() });
const OutagePath = z.strictObject({ id: z.string(), outage: z.string() });

function outageOut(o: Outage) {
  return {
    id: o.id,
    customer: o.customer,
    site: o.site,
    link: o.link,
    kind: o.kind,
    start: isoTime(o.startMs),
    end: o.endMs === null ? null : isoTime(o.endMs),
    note: o.note,
    createdBy: o.createdBy,
    createdAt: isoTime(o.createdMs),
    updatedAt: isoTime(o.updatedMs),
  };
}

async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isAccountError(e)) {
      if (e.code === "FT_ACCOUNT_NOT_FOUND") throw new ApiError(404, "FT_NOT_FOUND", e.message);
      throw new ApiError(
        400,
        "FT_BAD_BODY",
        e.message,
        e.field,
        {},
        {
          problems: [{ path: e.field ?? "", reason: e.message }],
        },
      );
    }
    throw e;
  }
}

const declaredOf = (o: Outage): DeclaredOutage => ({
  site: o.site,
  link: o.link,
  kind: o.kind,
  startMs: o.startMs,
  endMs: o.endMs ?? undefined,
});

/** The book as the SLA report reads it (query/sla-availability.ts). */
export function declaredOutages(book: OutageBook) {
  return async (customer: string, fromMs: number, toMs: number): Promise<DeclaredOutage[]> =>
    (await book.list(customer, fromMs, toMs)).map(declaredOf);
}

/** Every customer's, as the breach list reads them (one query), by customer then start. */
export function everyDeclaredOutage(book: OutageBook) {
  return async (
    fromMs: number,
    toMs: number,
  ): Promise<Array<DeclaredOutage & { customer: string }>> =>
    (await book.listAll(fromMs, toMs)).map((o) => ({ customer: o.customer, ...declaredOf(o) }));
}

const ms = (s: string | null | undefined) =>
  s === undefined ? undefined : s === null ? null : parseIsoTime(s);

export function outageRoutes(deps: OutageRouteDeps): ApiRoute[] {
  const { outages } = deps;
  const links = async (customer: string) => {
    const l = await deps.linksOf(customer);
    if (l === undefined) throw unknownCustomer(customer);
    return l;
  };
  const base = { inProcess: false, responses: {} } as const;
  return [
    {
      ...base,
      path: "/api/v1/customers/{id}/outages",
      access: "customer",
      summary: "A customer's declared outages and maintenance windows",
      params: OutagesPath,
      query: OutagesQuery,
      responses: { 200: { description: "The outages, by start", content: json(OutageList) } },
      async handler({ params, search }): Promise<ApiReply> {
        const customer = params.id ?? "";
        const p = readParameters(search, ["from", "to"]);
        const fromMs = timeParameter(p, "from") ?? Number.MIN_SAFE_INTEGER;
        const toMs = timeParameter(p, "to") ?? Number.MAX_SAFE_INTEGER;
        if (toMs <= fromMs) throw badParameter("to", "to must be after from");
        await links(customer);
        const list = await outages.list(customer, fromMs, toMs);
        return jsonReply(200, { outages: list.map(outageOut) });
      },
    },
    {
      ...base,
      method: "POST",
      path: "/api/v1/customers/{id}/outages",
      access: "operator",
      summary: "Record an outage or a maintenance window of one of the customer's links",
      params: OutagesPath,
      body: NewOutageBody,
      responses: {
        201: { description: "The outage", content: json(OutageOut) },
      },
      async handler(input: RouteInput): Promise<ApiReply> {
        const customer = input.params.id ?? "";
        const b = input.body as z.infer<typeof NewOutageBody>;
        if (!(await links(customer)).has(`${b.site}/${b.link}`)) {
          throw new ApiError(
            400,
            "FT_BAD_BODY",
            `link: ${shown(`${b.site}/${b.link}`)} is no link of customer ${shown(customer)}`,
            "link",
            {},
            { problems: [{ path: "link", reason: "is no link of the customer (site/link)" }] },
          );
        }
        const o = await call(() =>
          outages.add(
            customer,
            {
              site: b.site,
              link: b.link,
              kind: b.kind,
              startMs: parseIsoTime(b.start),
              endMs: ms(b.end) ?? null,
              note: b.note,
            },
            input.actor,
            input.client,
          ),
        );
        return jsonReply(201, outageOut(o));
      },
    },
    {
      ...base,
      method: "PATCH",
      path: "/api/v1/customers/{id}/outages/{outage}",
      access: "operator",
      summary: "Change an outage: its start, end (null: going on), kind or note",
      params: OutagePath,
      body: OutagePatchBody,
      responses: { 200: { description: "The outage", content: json(OutageOut) } },
      async handler(input: RouteInput): Promise<ApiReply> {
        const customer = input.params.id ?? "";
        const b = input.body as z.infer<typeof OutagePatchBody>;
        await links(customer);
        const o = await call(() =>
          outages.update(
            customer,
            input.params.outage ?? "",
            { kind: b.kind, startMs: ms(b.start) ?? undefined, endMs: ms(b.end), note: b.note },
            input.actor,
            input.client,
          ),
        );
        return jsonReply(200, outageOut(o));
      },
    },
    {
      ...base,
      method: "DELETE",
      path: "/api/v1/customers/{id}/outages/{outage}",
      access: "operator",
      summary: "Delete an outage",
      params: OutagePath,
      responses: { 204: { description: "Deleted" } },
      async handler(input: RouteInput): Promise<ApiReply> {
        const customer = input.params.id ?? "";
        await links(customer);
        await call(() =>
          outages.remove(customer, input.params.outage ?? "", input.actor, input.client),
        );
        return noContent();
      },
    },
  ];
}
