/**
 * The customer registry's audit log on the audit page (its second tab): customer, site and link
 * changes with their before and after, newest first, filtered by who, customer, kind of change
 * (add, update, delete) and period (UTC days), a page at a time; the same entries as CSV.
 *
 * The registry answers its audit oldest first after a version (`audit({since, limit})`), so a
 * page is read backwards in windows of versions: the versions (since, upto] at a time, narrowed
 * when one read does not hold a whole window. A page holds whole versions; its "Older" link
 * goes on below the last version it read. Pure but for the `audit` function it is given.
 */

import { csvCell } from "../../query/overview.js";
import type { AuditEntry } from "../../registry/model.js";
import { ID_PATTERN } from "../../schema/config.js";
import { type Html, html } from "../html.js";
import { auditDays, diff } from "./audit-page.js";
import { field, selectField } from "./form-fields.js";
import type { FieldProblems } from "./portal-settings.js";
import { when } from "./users-page.js";

export const REGISTRY_OPS = ["add", "update", "delete"] as const;

export interface RegistryAuditFilter {
  user: string;
  customer: string;
  kind: string;
  /** UTC days, YYYY-MM-DD, both included. */
  from: string;
  to: string;
  /** Versions up to this one (the page's start); absent: from the newest. */
  upto?: number | undefined;
}

/** What an entry must match (parsed from the filter). */
export interface RegistryAuditMatch {
  actor?: string;
  customer?: string;
  op?: string;
  fromMs?: number;
  toMs?: number;
}

/** The filter from the page's query (`log=registry`), its problems named by field. */
export function readRegistryAuditFilter(search: string): {
  filter: RegistryAuditFilter;
  match: RegistryAuditMatch;
  problems: FieldProblems;
  csv: boolean;
} {
  const q = new URLSearchParams(search);
  const get = (k: string) => (q.get(k) ?? "").trim();
  const filter: RegistryAuditFilter = {
    user: get("user"),
    customer: get("customer"),
    kind: get("kind"),
    from: get("from"),
    to: get("to"),
  };
  const problems: FieldProblems = {};
  const match: RegistryAuditMatch = {};
  if (filter.user !== "") match.actor = filter.user;
  if (filter.customer !== "") {
    if (ID_PATTERN.test(filter.customer)) match.customer = filter.customer;
    else problems.customer = "is not an id (letters, digits, _ . -)";
  }
  if (filter.kind !== "") {
    if ((REGISTRY_OPS as readonly string[]).includes(filter.kind)) match.op = filter.kind;
    else problems.kind = "is not a kind of change (add, update or delete)";
  }
  Object.assign(match, auditDays(filter, problems));
  const upto = get("upto");
  if (upto !== "") {
    if (/^\d{1,15}$/.test(upto)) filter.upto = Number(upto);
    else problems.upto = "is not a registry version";
  }
  return { filter, match, problems, csv: get("format") === "csv" };
}

/** Whether an entry matches the filter. */
export function matches(e: AuditEntry, m: RegistryAuditMatch): boolean {
  if (m.actor !== undefined && e.actor !== m.actor) return false;
  if (m.op !== undefined && e.op !== m.op) return false;
  if (m.fromMs !== undefined && e.atMs < m.fromMs) return false;
  if (m.toMs !== undefined && e.atMs >= m.toMs) return false;
  if (m.customer !== undefined) {
    const own = `customers/${m.customer}`;
    if (e.path !== own && !e.path.startsWith(`${own}/`)) return false;
  }
  return true;
}

export type AuditReader = (query: { since?: number; limit?: number }) => Promise<AuditEntry[]>;

export interface RegistryAuditPage {
  /** Matching entries, newest first (by version, then position in its change set, descending). */
  entries: AuditEntry[];
  /** The version to go on from (the "Older" link's `upto`); undefined: nothing older. */
  older: number | undefined;
  /** A change set had more entries than one read holds: only its first ones are shown. */
  truncated: boolean;
}

/**
 * Reads matching entries newest first, from version `upto` down, until `want` are found or
 * `maxReads` reads are spent (a narrow filter over a long log: the page says there is older, and
 * the next page goes on). `readCap`: entries per read.
 */
export async function readRegistryAudit(
  read: AuditReader,
  o: {
    upto: number;
    match: RegistryAuditMatch;
    want: number;
    readCap?: number;
    maxReads?: number;
  },
): Promise<RegistryAuditPage> {
  const cap = o.readCap ?? 2000;
  const maxReads = o.maxReads ?? 20;
  const entries: AuditEntry[] = [];
  let upto = o.upto;
  let window = Math.max(1, o.want);
  let truncated = false;
  for (let reads = 0; upto > 0 && entries.length < o.want && reads < maxReads; reads += 1) {
    const since = Math.max(0, upto - window);
    const got = await read({ since, limit: cap });
    const last = got.at(-1);
    // Whole only if the read ended past `upto` (or held everything there was).
    const whole = got.length < cap || (last !== undefined && last.version > upto);
    if (!whole && window > 1) {
      window = Math.max(1, Math.floor(window / 2));
      continue;
    }
    if (!whole) truncated = true;
    const inRange = got.filter(
      (e) => e.version > since && e.version <= upto && matches(e, o.match),
    );
    for (let k = inRange.length - 1; k >= 0; k -= 1) entries.push(inRange[k]!);
    upto = since;
    // Nothing matched this window: look further back at once.
    if (inRange.length === 0) window *= 2;
  }
  return { entries, older: upto > 0 ? upto : undefined, truncated };
}

function query(filter: RegistryAuditFilter, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams({ log: "registry" });
  for (const k of ["user", "customer", "kind", "from", "to"] as const) {
    if (filter[k] !== "") q.set(k, filter[k]);
  }
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  return `?${q.toString()}`;
}

export function renderRegistryAudit(v: {
  filter: RegistryAuditFilter;
  problems: FieldProblems;
  page: RegistryAuditPage;
  /** The registry is the config's (nothing is changed through it, nothing audited). */
  fromConfig: boolean;
}): Html {
  const f = v.filter;
  const rows = v.page.entries.map(
    (e) => html`<tr>
<td data-label="When">${when(e.atMs)}</td>
<td data-label="Who">${e.actor}</td>
<td data-label="Kind"><span class="kind">${e.op}</span></td>
<td data-label="Record">${e.path}</td>
<td data-label="Version">${String(e.version)}</td>
<td data-label="Change">${diff({ before: e.before, after: e.after })}</td>
</tr>`,
  );
  const pager = html`<nav class="pager" aria-label="Pages">${
    f.upto === undefined ? html`` : html`<a href="/console/admin/audit${query(f)}">Newest</a>`
  }${
    v.page.older === undefined
      ? html``
      : html`<a href="/console/admin/audit${query(f, { upto: String(v.page.older) })}" rel="next">Older</a>`
  }</nav>`;
  return html`<form class="filters" method="get" action="/console/admin/audit">
<input type="hidden" name="log" value="registry">
${field({ id: "raudit-user", name: "user", label: "Who", value: f.user, problem: v.problems.user })}
${field({ id: "raudit-customer", name: "customer", label: "Customer", value: f.customer, problem: v.problems.customer })}
${selectField({ id: "raudit-kind", name: "kind", label: "Kind", options: [["", "any"], ...REGISTRY_OPS.map((k) => [k, k] as const)], value: f.kind, problem: v.problems.kind })}
${field({ id: "raudit-from", name: "from", label: "From (UTC day)", type: "date", value: f.from, problem: v.problems.from })}
${field({ id: "raudit-to", name: "to", label: "To (UTC day, included)", type: "date", value: f.to, problem: v.problems.to })}
<div class="actions"><button type="submit">Show</button></div>
</form>
${v.fromConfig ? html`<p class="notice">Customers come from the config file (registry.source: config): they are changed by editing it, and the registry keeps no audit of its own.</p>` : html``}
<p><a href="/console/admin/audit${query(f, { format: "csv", ...(f.upto === undefined ? {} : { upto: String(f.upto) }) })}" download>Download CSV</a> <span class="muted">(the changes shown, and older ones of this filter up to ${REGISTRY_CSV_MAX.toLocaleString("en-US")})</span></p>
${v.problems.upto === undefined ? html`` : html`<p class="problem" role="alert">upto ${v.problems.upto}</p>`}
${v.page.truncated ? html`<p class="notice">A change set here holds more changes than a page reads: only its first ones are shown (the API's /api/v1/registry/audit has them all).</p>` : html``}
<div class="table-wrap"><table class="data" id="registry-audit">
<caption class="visually-hidden">Customer registry changes, newest first</caption>
<thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Kind</th><th scope="col">Record</th><th scope="col">Version</th><th scope="col">Change</th></tr></thead>
<tbody>${rows.length === 0 ? html`<tr><td colspan="6" class="muted">No changes.</td></tr>` : rows}</tbody></table></div>
${pager}`;
}

/** Entries in one registry CSV at most. */
export const REGISTRY_CSV_MAX = 10_000;
const CSV_COLUMNS = ["version", "index", "at", "actor", "op", "path", "before", "after"] as const;

/** The entries as RFC 4180 CSV, before and after as their JSON. */
export function registryAuditCsv(entries: readonly AuditEntry[]): string {
  const lines = [CSV_COLUMNS.join(",")];
  for (const e of entries) {
    lines.push(
      [
        e.version,
        e.index,
        new Date(e.atMs).toISOString(),
        e.actor,
        e.op,
        e.path,
        e.before === null || e.before === undefined ? "" : JSON.stringify(e.before),
        e.after === null || e.after === undefined ? "" : JSON.stringify(e.after),
      ]
        .map(csvCell)
        .join(","),
    );
  }
  return `${lines.join("\r\n")}\r\n`;
}
