/**
 * The page of the signed-in user's own personal API tokens: the list (never a secret), the form
 * that makes one, and a new token shown this once with a copy button (web/static/admin.js). Pure.
 */
import type { TokenInfo } from "../../accounts/model.js";
import { type Html, html } from "../html.js";
import type { Viewer } from "../layout.js";
import { adminNav, csrfField, field, notice, selectField } from "./form-fields.js";
import type { FieldProblems } from "./portal-settings.js";
import { when } from "./users-page.js";

const DAY_S = 86_400;

/** The expiries the form offers (seconds; "" never). */
export const TOKEN_EXPIRIES: ReadonlyArray<readonly [string, string]> = [
  [String(7 * DAY_S), "in 7 days"],
  [String(30 * DAY_S), "in 30 days"],
  [String(90 * DAY_S), "in 90 days"],
  [String(365 * DAY_S), "in a year"],
  ["", "never"],
];

export function renderTokens(v: {
  viewer: Viewer | undefined;
  tokens: readonly TokenInfo[];
  /** A token just made: shown this once. */
  made?: { token: string; name: string } | undefined;
  form?: { values: Partial<Record<string, string>>; problems: FieldProblems } | undefined;
  done?: string | undefined;
  admin: boolean;
}): Html {
  const f = v.form ?? { values: {}, problems: {} };
  const csrf = csrfField(v.viewer);
  const made =
    v.made === undefined
      ? html``
      : html`<section class="new-token" aria-labelledby="new-token-title">
<h2 id="new-token-title">Your new token “${v.made.name}”</h2>
<p><strong>Copy it now: it is shown this once.</strong> Send it as <code>Authorization: Bearer …</code>.</p>
<div class="copy-row"><label for="new-token" class="visually-hidden">The new token</label><input id="new-token" class="token-value" readonly value="${v.made.token}" spellcheck="false" autocomplete="off"><button type="button" data-copy="new-token">Copy</button><span class="muted" data-copied-for="new-token" role="status"></span></div>
</section>`;
  const rows = v.tokens.map(
    (t) => html`<tr>
<th scope="row">${t.name}</th>
<td data-label="Created">${when(t.createdAt)}</td>
<td data-label="Expires">${t.expiresAt === null ? "never" : when(t.expiresAt)}</td>
<td data-label="Last used">${t.lastUsedAt === null ? "not yet" : when(t.lastUsedAt)}</td>
<td><form method="post" action="/console/tokens">${csrf}<input type="hidden" name="action" value="revoke"><input type="hidden" name="id" value="${t.id}"><button type="submit" class="secondary">Revoke<span class="visually-hidden"> ${t.name}</span></button></form></td>
</tr>`,
  );
  return html`<h1>My API tokens</h1>
${v.admin ? adminNav("/console/tokens") : html``}
${notice(v.done)}
${made}
<p class="muted">A token acts as you on the API (<code>/api/v1/…</code>) until it expires or is revoked; a new password ends them all.</p>
<div class="table-wrap"><table class="data" id="tokens">
<caption class="visually-hidden">Your tokens</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col">Last used</th><th scope="col"><span class="visually-hidden">Revoke</span></th></tr></thead>
<tbody>${rows.length === 0 ? html`<tr><td colspan="5" class="muted">No tokens yet.</td></tr>` : rows}</tbody></table></div>
<section class="admin-form" aria-labelledby="make-token"><h2 id="make-token">Make a token</h2>
${f.problems.form === undefined ? html`` : html`<p class="problem" role="alert">${f.problems.form}</p>`}
<form method="post" action="/console/tokens">${csrf}<input type="hidden" name="action" value="create">
${field({ id: "token-name", name: "name", label: "Name", value: f.values.name, problem: f.problems.name, required: true, maxlength: 100, hint: "What it is for, e.g. “billing export”" })}
${selectField({ id: "token-expiry", name: "expiresIn", label: "Expires", options: TOKEN_EXPIRIES, value: f.values.expiresIn ?? String(90 * DAY_S), problem: f.problems.expiresIn })}
<div class="actions"><button type="submit">Make the token</button></div></form></section>`;
}
