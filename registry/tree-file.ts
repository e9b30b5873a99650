/**
 * The whole registry in and out as YAML, in the config's `customers:` format (pure functions; the
 * CLI reads and writes the file): {@link exportTree} writes a snapshot, {@link parseTree} reads a
 * file (a whole flowtally config file too: keys other than `customers` are ignored, so a config's
 * customers move into the registry as they are), and {@link diffTree} says what an import would
 * add, change and delete, as the change set that makes it one atomic change.
 */
import { CORE_SCHEMA, dump, load, YAMLException } from "js-yaml";
import { formatPath, issueReason } from "../config/path.js";
import { configRecordPath, validateCustomers } from "../config/validate-model.js";
import { FlowtallyError } from "../schema/errors.js";
import { recordFields, withoutRevisions } from "./change-set.js";
import {
  type ChangeInput,
  type CustomerTreeEntry,
  type RegistrySnapshot,
  recordPath,
  registryCustomerSchema,
} from "./model.js";

/** The snapshot as a YAML document `customers: [...]`, without revisions. */
export function exportTree(snapshot: RegistrySnapshot): string {
  return dump(
    { customers: withoutRevisions(snapshot.customers.toArray()) },
    { schema: CORE_SCHEMA, noRefs: true, lineWidth: -1 },
  );
}

/**
 * Reads an import file: every customer checked with the registry's schema and the tree with the
 * config's rules, problems named by position as in the config (`customers[3].sites[0].id`).
 */
export function parseTree(text: string, source = "import"): CustomerTreeEntry[] {
  let doc: unknown;
  try {
    doc = load(text, { schema: CORE_SCHEMA });
  } catch (e) {
    const reason = e instanceof YAMLException ? e.message : String(e);
    throw new FlowtallyError("FT_REGISTRY_INVALID", `${source}: not valid YAML: ${reason}`, {
      cause: e,
    });
  }
  if (sharesNodes(doc)) {
    // An alias makes one node appear in many places: a small file could expand without bound.
    throw invalid(source, ["(top level): YAML aliases (*name) are not accepted in an import"]);
  }
  const customers =
    doc !== null && typeof doc === "object" && !Array.isArray(doc)
      ? (doc as Record<string, unknown>).customers
      : undefined;
  if (!Array.isArray(customers)) {
    throw invalid(source, ["customers: a list of customers is missing"]);
  }
  const problems: string[] = [];
  const out: CustomerTreeEntry[] = [];
  customers.forEach((c, k) => {
    const r = registryCustomerSchema.safeParse(c);
    if (r.success) out.push(r.data);
    else
      for (const i of r.error.issues) {
        problems.push(`${formatPath(["customers", k, ...i.path])}: ${issueReason(i)}`);
      }
  });
  if (problems.length === 0) problems.push(...validateCustomers(out, configRecordPath));
  if (problems.length > 0) throw invalid(source, problems);
  return out;
}

export interface TreeDiff {
  /** Deletes, then updates, then adds: one change set, validated and applied as a whole. */
  readonly changes: ChangeInput[];
  readonly added: number;
  readonly updated: number;
  readonly deleted: number;
}

/**
 * What importing `wanted` over `snapshot` does: records only in the file are added, records in
 * both whose fields differ are updated (with the revision read, so a change made meanwhile fails
 * the import rather than being overwritten), records only in the registry are deleted (a customer
 * or site with everything under it).
 */
export function diffTree(
  snapshot: RegistrySnapshot,
  wanted: readonly CustomerTreeEntry[],
): TreeDiff {
  const deletes: ChangeInput[] = [];
  const updates: ChangeInput[] = [];
  const adds: ChangeInput[] = [];
  type Node = { id: string; revision?: number };
  const compare = <T extends Node, U extends { id: string }>(
    have: readonly T[],
    want: readonly U[],
    at: (id: string) => { customer: string; site?: string; link?: string },
    below: (h: T | undefined, w: U) => void,
  ) => {
    const wantIds = new Set(want.map((w) => w.id));
    for (const h of have) {
      if (!wantIds.has(h.id)) deletes.push({ op: "delete", ...at(h.id), ifRevision: h.revision! });
    }
    const haveById = new Map(have.map((h) => [h.id, h]));
    for (const w of want) {
      const h = haveById.get(w.id);
      const { id: _id, ...fields } = recordFields(w);
      if (h === undefined) adds.push({ op: "add", ...at(w.id), record: fields });
      else {
        const set = changedFields(recordFields(h), recordFields(w));
        if (set !== undefined) {
          updates.push({ op: "update", ...at(w.id), set, ifRevision: h.revision! });
        }
      }
      below(h, w);
    }
  };
  compare(
    snapshot.customers.toArray(),
    wanted,
    (customer) => ({ customer }),
    (hc, wc) =>
      compare(
        hc?.sites ?? [],
        wc.sites,
        (site) => ({ customer: wc.id, site }),
        (hs, ws) =>
          compare(
            hs?.links ?? [],
            ws.links,
            (link) => ({ customer: wc.id, site: ws.id, link }),
            () => {},
          ),
      ),
  );
  return {
    changes: [...deletes, ...updates, ...adds],
    added: adds.length,
    updated: updates.length,
    deleted: deletes.length,
  };
}

/** One line per change (`+ customers/acme`, `~ customers/acme/sites/hq: name, address`, `- …`): a dry run's output. */
export function describeDiff(diff: TreeDiff): string[] {
  const lines = diff.changes.map((c) => {
    const path = recordPath(c);
    if (c.op === "add") return `+ ${path}`;
    if (c.op === "delete") return `- ${path}`;
    return `~ ${path}: ${Object.keys(c.set).join(", ")}`;
  });
  lines.push(`${diff.added} to add, ${diff.updated} to change, ${diff.deleted} to delete`);
  return lines;
}

/** The fields to set (null: to remove) so that `have` becomes `want`; undefined when equal. */
function changedFields(
  have: Record<string, unknown>,
  want: Record<string, unknown>,
): Record<string, unknown> | undefined {
  const set: Record<string, unknown> = {};
  let any = false;
  for (const [k, v] of Object.entries(want)) {
    if (JSON.stringify(have[k]) !== JSON.stringify(v)) {
      set[k] = v;
      any = true;
    }
  }
  for (const k of Object.keys(have)) {
    if (!(k in want)) {
      set[k] = null;
      any = true;
    }
  }
  return any ? set : undefined;
}

/** Whether a node is reached twice (a YAML alias), in one walk over the distinct nodes. */
function sharesNodes(doc: unknown): boolean {
  const seen = new Set<object>();
  const stack: unknown[] = [doc];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== "object") continue;
    if (seen.has(v)) return true;
    seen.add(v);
    for (const child of Object.values(v)) stack.push(child);
  }
  return false;
}

function invalid(source: string, lines: readonly string[]): FlowtallyError {
  return new FlowtallyError(
    "FT_REGISTRY_INVALID",
    `${source}: invalid customers\n  ${lines.join("\n  ")}`,
  );
}
