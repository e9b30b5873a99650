/**
 * The audit page's route (admins): two tabs, the accounts audit log (logins, users, tokens, the
 * portal's settings: audit-page.ts) and the customer registry's (customer, site and link changes
 * with before and after: registry-audit.ts), each filtered, paged, and as CSV (`format=csv`).
 */

import type { ApiReply } from "../../query/api/reply.js";
import { reply } from "../../query/api/reply.js";
import type { ApiRoute, RouteInput } from "../../query/api/routes.js";
import { html } from "../html.js";
import type { AdminDeps } from "./admin-deps.js";
import {
  AUDIT_CSV_MAX,
  AUDIT_PAGE_SIZE,
  auditCsv,
  auditTabs,
  readAuditFilter,
  renderAudit,
} from "./audit-page.js";
import { adminNav } from "./form-fields.js";
import {
  REGISTRY_CSV_MAX,
  readRegistryAudit,
  readRegistryAuditFilter,
  registryAuditCsv,
  renderRegistryAudit,
} from "./registry-audit.js";

const PAGE = { 200: { description: "An HTML page" } } as const;

export function auditRoutes(deps: AdminDeps): ApiRoute[] {
  async function accountsLog(input: RouteInput): Promise<ApiReply> {
    const { filter, query, problems, csv } = readAuditFilter(input.search);
    const bad = Object.keys(problems).length > 0;
    if (csv && !bad) {
      const entries = await deps.accounts.searchAudit({ ...query, limit: AUDIT_CSV_MAX });
      return reply(200, auditCsv(entries), "text/csv; charset=utf-8", {
        "content-disposition": 'attachment; filename="flowtally-audit.csv"',
      });
    }
    const found = bad
      ? []
      : await deps.accounts.searchAudit({ ...query, limit: AUDIT_PAGE_SIZE + 1 });
    return deps.render(
      input,
      bad ? 400 : 200,
      "Audit log",
      renderAudit({
        filter,
        problems,
        entries: found.slice(0, AUDIT_PAGE_SIZE),
        more: found.length > AUDIT_PAGE_SIZE,
        tabs: auditTabs("accounts"),
      }),
    );
  }

  async function registryLog(input: RouteInput): Promise<ApiReply> {
    const { filter, match, problems, csv } = readRegistryAuditFilter(input.search);
    const bad = Object.keys(problems).length > 0;
    const upto = filter.upto ?? (await deps.registry.snapshot()).version;
    const read = (want: number, maxReads: number) =>
      readRegistryAudit((q) => deps.registry.audit(q), { upto, match, want, maxReads });
    if (csv && !bad) {
      const page = await read(REGISTRY_CSV_MAX, 200);
      return reply(
        200,
        registryAuditCsv(page.entries.slice(0, REGISTRY_CSV_MAX)),
        "text/csv; charset=utf-8",
        { "content-disposition": 'attachment; filename="flowtally-registry-audit.csv"' },
      );
    }
    const page = bad
      ? { entries: [], older: undefined, truncated: false }
      : await read(AUDIT_PAGE_SIZE, 20);
    return deps.render(
      input,
      bad ? 400 : 200,
      "Audit log",
      html`<h1>Audit log</h1>
${adminNav("/console/admin/audit")}
${auditTabs("registry")}
${renderRegistryAudit({ filter, problems, page, fromConfig: deps.registry.source === "config" })}`,
    );
  }

  return [
    {
      page: true,
      inProcess: false,
      access: "admin",
      path: "/console/admin/audit",
      summary:
        "Admin: the audit logs, newest first, filtered: the accounts' (default) or the customer registry's (`log=registry`); `format=csv` for CSV",
      responses: PAGE,
      handler: (input) =>
        new URLSearchParams(input.search).get("log") === "registry"
          ? registryLog(input)
          : accountsLog(input),
    },
  ];
}
