/**
 * The audit-log page (admins): the accounts audit log (logins, users, tokens, and the portal's
 * settings and messages of the day changed on the admin pages) newest first, a page at a time,
 * filtered by user, customer, kind and period (UTC days); each change's before and after as a
 * readable diff; the same entries as CSV. Pure: the filter read from the query, the diff, the page
 * and the CSV.
 */
import type { AuditSearch } from "../../accounts/account-store.js";
import type { AccountAuditEntry } from "../../accounts/model.js";
import { csvCell } from "../../query/overview.js";
import { ID_PATTERN } from "../../schema/config.js";
import { type Html, html } from "../html.js";
import { adminNav, field, selectField } from "./form-fields.js";
import type { FieldProblems } from "./portal-settings.js";
import { when } from "./users-page.js";

export const AUDIT_PAGE_SIZE = 50;
/** Entries in one CSV at most. */
export const AUDIT_CSV_MAX = 10_000;
const DAY = 86_400_000;

/** The kinds of entries (their `action`), for the filter. */
export const AUDIT_KINDS = [
  "login",
  "login-failed",
  "login-refused",
  "logout",
  "user-add",
  "user-update",
  "user-delete",
  "password-change",
  "password-change-failed",
  "token-add",
  "token-revoke",
  "portal-branding",
  "portal-logo",
  "motd-global",
  "customer-motd",
] as const;

export interface AuditFilter {
  user: string;
  customer: string;
  kind: string;
  /** UTC days, YYYY-MM-DD, both included. */
  from: string;
  to: string;
  before?: number | undefined;
}

/** The filter from the page's query, its problems named by field. */
/**
 * The UTC days of a log's filter (`from`, `to`: YYYY-MM-DD, both kept) as `[fromMs, toMs)`; what
 * is not a day, or a last day before the first, is put in `problems` beside its field.
 */
export function auditDays(
  filter: { from: string; to: string },
  problems: FieldProblems,
): { fromMs?: number; toMs?: number } {
  const day = (k: "from" | "to") => {
    const v = filter[k];
    if (v === "") return undefined;
    const ms = /^\d{4}-\d{2}-\d{2}$/.test(v) ? Date.parse(`${v}T00:00:00Z`) : Number.NaN;
    if (Number.isNaN(ms)) problems[k] = "is not a day (YYYY-MM-DD)";
    return Number.isNaN(ms) ? undefined : ms;
  };
  const from = day("from");
  const to = day("to");
  if (from !== undefined && to !== undefined && to < from) problems.to = "is before the first day";
  return {
    ...(from === undefined ? {} : { fromMs: from }),
    ...(to === undefined ? {} : { toMs: to + DAY }),
  };
}

export function readAuditFilter(search: string): {
  filter: AuditFilter;
  query: Omit<AuditSearch, "limit">;
  problems: FieldProblems;
  csv: boolean;
} {
  const q = new URLSearchParams(search);
  const get = (k: string) => (q.get(k) ?? "").trim();
  const filter: AuditFilter = {
    user: get("user"),
    customer: get("customer"),
    kind: get("kind"),
    from: get("from"),
    to: get("to"),
  };
  const problems: FieldProblems = {};
  const query: Omit<AuditSearch, "limit"> = {};
  for (const k of ["user", "customer"] as const) {
    if (filter[k] === "") continue;
    if (ID_PATTERN.test(filter[k])) query[k] = filter[k];
    else problems[k] = "is not an id (letters, digits, _ . -)";
  }
  if (filter.kind !== "") {
    if ((AUDIT_KINDS as readonly string[]).includes(filter.kind)) query.action = filter.kind;
    else problems.kind = "is not a kind of entry";
  }
  Object.assign(query, auditDays(filter, problems));
  const before = get("before");
  if (before !== "") {
    if (/^\d{1,15}$/.test(before)) {
      filter.before = Number(before);
      query.beforeSeq = filter.before;
    } else problems.before = "is not an entry number";
  }
  return { filter, query, problems, csv: get("format") === "csv" };
}

export interface DiffLine {
  key: string;
  before?: string | undefined;
  after?: string | undefined;
}

const shownValue = (v: unknown): string | undefined =>
  v === undefined
    ? undefined
    : v === null
      ? "(none)"
      : typeof v === "string"
        ? v
        : JSON.stringify(v);

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * An entry's detail as lines: with `before`/`after`, the keys whose values differ (records
 * compared key by key; texts as one line); the other fields as they are.
 */
export function diffLines(detail: Record<string, unknown>): DiffLine[] {
  const lines: DiffLine[] = [];
  const { before, after, ...rest } = detail;
  if ("before" in detail || "after" in detail) {
    if (isRecord(before) || isRecord(after)) {
      const b = isRecord(before) ? before : {};
      const a = isRecord(after) ? after : {};
      for (const key of [...new Set([...Object.keys(b), ...Object.keys(a)])].sort()) {
        if (JSON.stringify(b[key]) === JSON.stringify(a[key])) continue;
        lines.push({ key, before: shownValue(b[key] ?? null), after: shownValue(a[key] ?? null) });
      }
    } else {
      lines.push({ key: "value", before: shownValue(before), after: shownValue(after) });
    }
  }
  for (const [key, v] of Object.entries(rest)) {
    // Times (`expiresAt`) as UTC, not milliseconds.
    const time = key.endsWith("At") && typeof v === "number";
    lines.push({ key, after: time ? new Date(v).toISOString() : shownValue(v) });
  }
  return lines;
}

/** An entry's detail as a list of what changed (diffLines). */
export function diff(detail: Record<string, unknown>): Html {
  const lines = diffLines(detail);
  if (lines.length === 0) return html``;
  return html`<ul class="diff">${lines.map((l) =>
    l.before === undefined
      ? html`<li><span class="key">${l.key}</span>: ${l.after ?? ""}</li>`
      : html`<li><span class="key">${l.key}</span>: <del>${l.before}</del> → <ins>${l.after ?? "(none)"}</ins></li>`,
  )}</ul>`;
}

function query(filter: AuditFilter, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams();
  for (const k of ["user", "customer", "kind", "from", "to"] as const) {
    if (filter[k] !== "") q.set(k, filter[k]);
  }
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  const s = q.toString();
  return s === "" ? "" : `?${s}`;
}

export function renderAudit(v: {
  filter: AuditFilter;
  problems: FieldProblems;
  entries: readonly AccountAuditEntry[];
  /** There are older entries than these. */
  more: boolean;
  /** The tabs of the two logs (auditTabs), under the admin pages' navigation. */
  tabs?: Html;
}): Html {
  const f = v.filter;
  const rows = v.entries.map(
    (e) => html`<tr>
<td data-label="When">${when(e.at)}</td>
<td data-label="Who">${e.actor}</td>
<td data-label="Kind"><span class="kind">${e.action}</span></td>
<td data-label="Target">${e.target}</td>
<td data-label="From">${e.client}</td>
<td data-label="Change">${diff(e.detail)}</td>
</tr>`,
  );
  const last = v.entries.at(-1);
  const pager = html`<nav class="pager" aria-label="Pages">${
    f.before === undefined ? html`` : html`<a href="/console/admin/audit${query(f)}">Newest</a>`
  }${
    v.more && last !== undefined
      ? html`<a href="/console/admin/audit${query(f, { before: String(last.seq) })}" rel="next">Older</a>`
      : html``
  }</nav>`;
  return html`<h1>Audit log</h1>
${adminNav("/console/admin/audit")}
${v.tabs ?? html``}
<form class="filters" method="get" action="/console/admin/audit">
${field({ id: "audit-user", name: "user", label: "User", value: f.user, problem: v.problems.user })}
${field({ id: "audit-customer", name: "customer", label: "Customer", value: f.customer, problem: v.problems.customer })}
${selectField({ id: "audit-kind", name: "kind", label: "Kind", options: [["", "any"], ...AUDIT_KINDS.map((k) => [k, k] as const)], value: f.kind, problem: v.problems.kind })}
${field({ id: "audit-from", name: "from", label: "From (UTC day)", type: "date", value: f.from, problem: v.problems.from })}
${field({ id: "audit-to", name: "to", label: "To (UTC day, included)", type: "date", value: f.to, problem: v.problems.to })}
<div class="actions"><button type="submit">Show</button></div>
</form>
<p><a href="/console/admin/audit${query(f, { format: "csv" })}" download>Download CSV</a> <span class="muted">(the entries of this filter, newest first, at most ${AUDIT_CSV_MAX.toLocaleString("en-US")})</span></p>
${v.problems.before === undefined ? html`` : html`<p class="problem" role="alert">before ${v.problems.before}</p>`}
<div class="table-wrap"><table class="data" id="audit">
<caption class="visually-hidden">Audit entries, newest first</caption>
<thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Kind</th><th scope="col">Target</th><th scope="col">From</th><th scope="col">Change</th></tr></thead>
<tbody>${rows.length === 0 ? html`<tr><td colspan="6" class="muted">No entries.</td></tr>` : rows}</tbody></table></div>
${pager}`;
}

const CSV_COLUMNS = ["seq", "at", "actor", "action", "target", "client", "detail"] as const;

/** The entries as RFC 4180 CSV, the detail as its JSON. */
export function auditCsv(entries: readonly AccountAuditEntry[]): string {
  const lines = [CSV_COLUMNS.join(",")];
  for (const e of entries) {
    lines.push(
      [
        e.seq,
        new Date(e.at).toISOString(),
        e.actor,
        e.action,
        e.target,
        e.client,
        JSON.stringify(e.detail),
      ]
        .map(csvCell)
        .join(","),
    );
  }
  return `${lines.join("\r\n")}\r\n`;
}

/** The tabs of the page's two logs: the accounts' (and settings') and the customer registry's. */
export function auditTabs(current: "accounts" | "registry"): Html {
  const tab = (log: "accounts" | "registry", href: string, text: string) =>
    html`<a class="tab" href="${href}"${log === current ? html` aria-current="page"` : html``}>${text}</a>`;
  return html`<nav class="admin-nav audit-tabs" aria-label="Audit logs">${tab("accounts", "/console/admin/audit", "Accounts and settings")}${tab("registry", "/console/admin/audit?log=registry", "Customer registry")}</nav>`;
}
