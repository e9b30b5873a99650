/**
 * The declared outages and maintenance windows of access links (docs/sla.md "Declared outages"):
 * recorded by operators through the API, read by the SLA report, each change written with its
 * audit entry (action `outage.add`, `outage.update`, `outage.delete`) in one transaction of the
 * account database.
 */
import { randomBytes } from "node:crypto";
import { type AccountStore, writeAudit } from "./account-store.js";
import { AccountError } from "./accounts.js";
import {
  deleteOutage,
  getOutage,
  insertOutage,
  listAllOutages,
  listOutages,
  type Outage,
  type OutageKind,
  updateOutage,
} from "./outage-sql.js";

export type { Outage, OutageKind } from "./outage-sql.js";

export interface NewOutage {
  site: string;
  link: string;
  kind: OutageKind;
  startMs: number;
  endMs?: number | null | undefined;
  note?: string | undefined;
}

/** A change: the fields given replace the stored ones (`endMs: null` reopens it). */
export interface OutagePatch {
  kind?: OutageKind | undefined;
  startMs?: number | undefined;
  endMs?: number | null | undefined;
  note?: string | null | undefined;
}

export interface OutageBook {
  /** One customer's outages overlapping [fromMs, toMs), by start. */
  list(customer: string, fromMs: number, toMs: number): Promise<Outage[]>;
  /** Every customer's outages overlapping [fromMs, toMs), by customer, then start. */
  listAll(fromMs: number, toMs: number): Promise<Outage[]>;
  add(customer: string, input: NewOutage, actor: string, client: string): Promise<Outage>;
  /** FT_ACCOUNT_NOT_FOUND when the customer has no outage by that id. */
  update(
    customer: string,
    id: string,
    patch: OutagePatch,
    actor: string,
    client: string,
  ): Promise<Outage>;
  remove(customer: string, id: string, actor: string, client: string): Promise<void>;
}

function checkSpan(o: { startMs: number; endMs: number | null }): void {
  if (o.endMs !== null && o.endMs <= o.startMs) {
    throw new AccountError("FT_ACCOUNT_INVALID", "end must be after start", "end");
  }
}

const notFound = (id: string) =>
  new AccountError("FT_ACCOUNT_NOT_FOUND", `no outage ${JSON.stringify(id)}`);

export function createOutageBook(store: AccountStore, now: () => number): OutageBook {
  const audit = (actor: string, action: string, o: Outage, client: string) => ({
    at: now(),
    actor,
    action,
    target: `${o.customer}/${o.id}`,
    client,
    detail: {
      site: o.site,
      link: o.link,
      kind: o.kind,
      start: new Date(o.startMs).toISOString(),
      end: o.endMs === null ? null : new Date(o.endMs).toISOString(),
    },
  });
  return {
    list: (customer, fromMs, toMs) =>
      store.transaction("read", (s) => listOutages(s, customer, fromMs, toMs)),
    listAll: (fromMs, toMs) => store.transaction("read", (s) => listAllOutages(s, fromMs, toMs)),
    add: (customer, input, actor, client) => {
      const t = now();
      const o: Outage = {
        id: randomBytes(8).toString("hex"),
        customer,
        site: input.site,
        link: input.link,
        kind: input.kind,
        startMs: input.startMs,
        endMs: input.endMs ?? null,
        note: input.note ?? null,
        createdBy: actor,
        createdMs: t,
        updatedMs: t,
      };
      checkSpan(o);
      return store.transaction("write", async (s) => {
        await insertOutage(s, o);
        await writeAudit(s, audit(actor, "outage.add", o, client));
        return o;
      });
    },
    // Refusals are thrown outside the transaction: the store reports what throws inside as its own.
    update: async (customer, id, patch, actor, client) => {
      const done = await store.transaction("write", async (s) => {
        const was = await getOutage(s, customer, id);
        if (was === undefined) return undefined;
        const o: Outage = {
          ...was,
          kind: patch.kind ?? was.kind,
          startMs: patch.startMs ?? was.startMs,
          endMs: patch.endMs === undefined ? was.endMs : patch.endMs,
          note: patch.note === undefined ? was.note : patch.note,
          updatedMs: now(),
        };
        if (o.endMs !== null && o.endMs <= o.startMs) return "backwards" as const;
        await updateOutage(s, o);
        await writeAudit(s, audit(actor, "outage.update", o, client));
        return o;
      });
      if (done === undefined) throw notFound(id);
      if (done === "backwards") checkSpan({ startMs: 1, endMs: 0 });
      return done as Outage;
    },
    remove: async (customer, id, actor, client) => {
      const found = await store.transaction("write", async (s) => {
        const was = await getOutage(s, customer, id);
        if (was === undefined) return false;
        await deleteOutage(s, id);
        await writeAudit(s, audit(actor, "outage.delete", was, client));
        return true;
      });
      if (!found) throw notFound(id);
    },
  };
}
