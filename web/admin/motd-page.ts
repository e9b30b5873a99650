/**
 * The messages-of-the-day page (admins): the global one (saved over the config's `motd`) and a
 * customer's (found by a search; its registry record's `motd`), each with a preview exactly as the
 * portal shows it: as text, escaped. Pure.
 */
import { type Html, html } from "../html.js";
import type { Viewer } from "../layout.js";
import { adminNav, csrfField, field, notice } from "./form-fields.js";

export interface MotdView {
  viewer: Viewer | undefined;
  global: { text: string; fromConfig: boolean; configText: string | undefined };
  /** The search's words and its matches (id, name). */
  find: string;
  matches: ReadonlyArray<{ id: string; name: string }>;
  /** The customer chosen, with its message. */
  customer?: { id: string; name: string; text: string } | undefined;
  /** Customers' messages are read-only (registry.source: config): why. */
  readOnly?: string | undefined;
  preview?: { of: "global" | "customer"; text: string } | undefined;
  problems: Partial<Record<"global" | "customer", string>>;
  /** What was sent, shown again after a problem or a preview. */
  sent?: Partial<Record<"global" | "customer", string>>;
  done?: string | undefined;
}

function preview(v: MotdView, of: "global" | "customer"): Html {
  if (v.preview?.of !== of) return html``;
  const text = v.preview.text.trim();
  return html`<div class="motd-preview"><h3>Preview</h3>${text === "" ? html`<p class="muted">(no message)</p>` : html`<section class="motd" aria-label="Message of the day (preview)"><p>${text}</p></section>`}</div>`;
}

export function renderMotd(v: MotdView): Html {
  const csrf = csrfField(v.viewer);
  const buttons = (of: string) =>
    html`<div class="actions"><button type="submit" name="action" value="save-${of}">Save</button><button type="submit" name="action" value="preview-${of}" class="secondary">Preview</button></div>`;
  const results =
    v.find === ""
      ? html``
      : v.matches.length === 0
        ? html`<p class="muted" role="status">No customer matches “${v.find}”.</p>`
        : html`<ul class="matches" aria-label="Customers found">${v.matches.map(
            (m) =>
              html`<li><a href="/console/admin/motd?customer=${encodeURIComponent(m.id)}">${m.name}</a> <span class="muted">${m.id}</span></li>`,
          )}</ul>`;
  const c = v.customer;
  const customerForm =
    c === undefined
      ? html``
      : v.readOnly !== undefined
        ? html`<p class="muted">${v.readOnly}</p>${c.text === "" ? html`` : html`<section class="motd"><p>${c.text}</p></section>`}`
        : html`<form method="post" action="/console/admin/motd">${csrf}<input type="hidden" name="customer" value="${c.id}">
${field({ id: "motd-customer", name: "text", label: `Message of the day of ${c.name} (${c.id})`, value: v.sent?.customer ?? c.text, problem: v.problems.customer, multiline: true, hint: "Shown to this customer's users on their portal page, below the global one; empty: none" })}
${buttons("customer")}</form>${preview(v, "customer")}`;
  const g = v.global;
  return html`<h1>Messages of the day</h1>
${adminNav("/console/admin/motd")}
${notice(v.done)}
<section class="admin-form" aria-labelledby="global-motd"><h2 id="global-motd">Everyone's</h2>
<form method="post" action="/console/admin/motd">${csrf}
${field({ id: "motd-global", name: "text", label: "Global message of the day", value: v.sent?.global ?? g.text, problem: v.problems.global, multiline: true, hint: g.fromConfig ? "The config's (motd); saving another overrides it" : `Saved here over the config's${g.configText === undefined ? "" : ` (“${g.configText}”)`}; the config's text again puts it back in force` })}
${buttons("global")}</form>${preview(v, "global")}</section>
<section class="admin-form" aria-labelledby="customer-motd"><h2 id="customer-motd">A customer's</h2>
<form method="get" action="/console/admin/motd" role="search">
${field({ id: "motd-find", name: "find", label: "Find a customer", type: "search", value: v.find, hint: "Part of its id or name" })}
<div class="actions"><button type="submit">Find</button></div></form>
${results}
${customerForm}</section>`;
}
