/**
 * The admin pages' form pieces: a labelled field with its problem beside it (tied to the control
 * by aria-describedby, the control marked aria-invalid), the CSRF token as a hidden field, the
 * admin pages' own navigation and a notice. Pure.
 */
import { type Html, html } from "../html.js";
import type { Viewer } from "../layout.js";

export interface FieldView {
  id: string;
  name: string;
  label: string;
  value?: string | undefined;
  type?: "text" | "password" | "color" | "date" | "search";
  problem?: string | undefined;
  hint?: string | undefined;
  required?: boolean;
  autocomplete?: string;
  /** A textarea instead of an input. */
  multiline?: boolean;
  maxlength?: number;
}

/** The hidden CSRF field of a form posted with the session cookie (none for a bearer token). */
export function csrfField(viewer: Viewer | undefined): Html {
  return viewer?.csrf === undefined
    ? html``
    : html`<input type="hidden" name="csrf" value="${viewer.csrf}">`;
}

function described(f: { id: string; problem?: string | undefined; hint?: string | undefined }) {
  const ids = [
    f.problem === undefined ? undefined : `${f.id}-problem`,
    f.hint === undefined ? undefined : `${f.id}-hint`,
  ].filter((x) => x !== undefined);
  return html`${ids.length === 0 ? html`` : html` aria-describedby="${ids.join(" ")}"`}${f.problem === undefined ? html`` : html` aria-invalid="true"`}`;
}

function after(f: { id: string; problem?: string | undefined; hint?: string | undefined }): Html {
  return html`${f.hint === undefined ? html`` : html`<span class="hint" id="${f.id}-hint">${f.hint}</span>`}${f.problem === undefined ? html`` : html`<span class="problem" id="${f.id}-problem">${f.problem}</span>`}`;
}

export function field(f: FieldView): Html {
  const attrs = html`id="${f.id}" name="${f.name}"${f.required === true ? html` required` : html``}${f.autocomplete === undefined ? html`` : html` autocomplete="${f.autocomplete}"`}${f.maxlength === undefined ? html`` : html` maxlength="${f.maxlength}"`}${described(f)}`;
  const control =
    f.multiline === true
      ? html`<textarea ${attrs} rows="3">${f.value ?? ""}</textarea>`
      : html`<input ${attrs} type="${f.type ?? "text"}" value="${f.value ?? ""}">`;
  return html`<div class="field"><label for="${f.id}">${f.label}</label>${control}${after(f)}</div>`;
}

export function selectField(f: {
  id: string;
  name: string;
  label: string;
  options: ReadonlyArray<readonly [value: string, text: string]>;
  value?: string | undefined;
  problem?: string | undefined;
  hint?: string | undefined;
}): Html {
  const options = f.options.map(
    ([v, t]) => html`<option value="${v}"${v === f.value ? html` selected` : html``}>${t}</option>`,
  );
  return html`<div class="field"><label for="${f.id}">${f.label}</label><select id="${f.id}" name="${f.name}"${described(f)}>${options}</select>${after(f)}</div>`;
}

const ADMIN_PAGES = [
  ["/console/admin/users", "Users"],
  ["/console/admin/motd", "Messages of the day"],
  ["/console/admin/branding", "Portal branding"],
  ["/console/admin/audit", "Audit log"],
  ["/console/tokens", "My API tokens"],
] as const;

/** The admin pages' navigation, the current one marked. */
export function adminNav(current: string): Html {
  return html`<nav class="admin-nav" aria-label="Administration">${ADMIN_PAGES.map(
    ([href, text]) =>
      html`<a class="tab" href="${href}"${href === current ? html` aria-current="page"` : html``}>${text}</a>`,
  )}</nav>`;
}

/** A notice of what the last action did (role=status: read out by screen readers). */
export function notice(text: string | undefined): Html {
  return text === undefined ? html`` : html`<p class="notice" role="status">${text}</p>`;
}
