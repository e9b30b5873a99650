/**
 * The users pages of the console (admins): the list with the form that adds a user, and one
 * user's page with its forms (role and customer, password, disable / enable, delete). Pure.
 */
import { AUTH_METHODS, ROLES, type User } from "../../accounts/model.js";
import { MIN_PASSWORD_CHARS } from "../../accounts/password.js";
import { type Html, html } from "../html.js";
import type { Viewer } from "../layout.js";
import { adminNav, csrfField, type FieldView, field, notice, selectField } from "./form-fields.js";
import type { FieldProblems } from "./portal-settings.js";

export interface UserRow extends User {
  lastLoginMs?: number | undefined;
}

/** What a user form sent back, with the problem of each field, to show it again. */
export interface UserForm {
  values: Partial<Record<string, string>>;
  problems: FieldProblems;
}

const ROLE_TEXT: Readonly<Record<string, string>> = {
  admin: "admin — everything, users too",
  operator: "operator — every customer",
  customer: "customer — one customer's data",
  "customer-admin": "customer-admin — one customer, its names",
};

export const when = (ms: number | undefined | null): string =>
  ms === undefined || ms === null
    ? "—"
    : `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;

function roleField(id: string, value: string | undefined, problem: string | undefined) {
  return selectField({
    id,
    name: "role",
    label: "Role",
    options: ROLES.map((r) => [r, ROLE_TEXT[r] ?? r] as const),
    value,
    problem,
  });
}

function customerField(id: string, value: string | undefined, problem: string | undefined) {
  const f: FieldView = {
    id,
    name: "customer",
    label: "Customer",
    value,
    problem,
    hint: "The customer's id; for the customer roles only",
  };
  return field(f);
}

export function renderUsers(v: {
  viewer: Viewer | undefined;
  users: readonly UserRow[];
  form?: UserForm | undefined;
  done?: string | undefined;
}): Html {
  const f = v.form ?? { values: {}, problems: {} };
  const rows = v.users.map(
    (u) => html`<tr>
<th scope="row"><a href="/console/admin/users/${encodeURIComponent(u.id)}">${u.id}</a></th>
<td data-label="Role">${u.role}</td>
<td data-label="Customer">${u.customer ?? "—"}</td>
<td data-label="Sign-in">${u.auth}</td>
<td data-label="State">${u.disabled ? html`<span class="badge">disabled</span>` : "active"}</td>
<td data-label="Last login">${when(u.lastLoginMs)}</td>
</tr>`,
  );
  return html`<h1>Users</h1>
${adminNav("/console/admin/users")}
${notice(v.done)}
<div class="table-wrap"><table class="data" id="users">
<caption class="visually-hidden">Every user</caption>
<thead><tr><th scope="col">User</th><th scope="col">Role</th><th scope="col">Customer</th><th scope="col">Sign-in</th><th scope="col">State</th><th scope="col">Last login</th></tr></thead>
<tbody>${rows}</tbody></table></div>
<section class="admin-form" aria-labelledby="add-user">
<h2 id="add-user">Add a user</h2>
${f.problems.form === undefined ? html`` : html`<p class="problem" role="alert">${f.problems.form}</p>`}
<form method="post" action="/console/admin/users">
${csrfField(v.viewer)}
${field({ id: "new-id", name: "id", label: "User name", value: f.values.id, problem: f.problems.id, required: true, autocomplete: "off", hint: "Letters, digits, _ . - (at most 64)" })}
${roleField("new-role", f.values.role ?? "customer", f.problems.role)}
${customerField("new-customer", f.values.customer, f.problems.customer)}
${selectField({ id: "new-auth", name: "auth", label: "Sign-in", options: AUTH_METHODS.map((a) => [a, a === "local" ? "local password" : "RADIUS"] as const), value: f.values.auth ?? "local", problem: f.problems.auth })}
${field({ id: "new-password", name: "password", label: "Password", type: "password", problem: f.problems.password, autocomplete: "new-password", hint: `Local sign-in: at least ${MIN_PASSWORD_CHARS} characters; RADIUS: leave empty` })}
<div class="actions"><button type="submit">Add the user</button></div>
</form></section>`;
}

export function renderUser(v: {
  viewer: Viewer | undefined;
  user: UserRow;
  form?: UserForm | undefined;
  done?: string | undefined;
}): Html {
  const u = v.user;
  const f = v.form ?? { values: {}, problems: {} };
  const action = `/console/admin/users/${encodeURIComponent(u.id)}`;
  const csrf = csrfField(v.viewer);
  const password =
    u.auth === "local"
      ? html`<section class="admin-form" aria-labelledby="reset-password"><h2 id="reset-password">Reset the password</h2>
<form method="post" action="${action}">${csrf}<input type="hidden" name="action" value="password">
${field({ id: "user-password", name: "password", label: "New password", type: "password", problem: f.problems.password, required: true, autocomplete: "new-password", hint: "Ends the user's sessions and tokens" })}
<div class="actions"><button type="submit">Set the password</button></div></form></section>`
      : html``;
  return html`<p class="crumbs"><a href="/console/admin/users">Users</a> › ${u.id}</p>
<h1>User ${u.id}</h1>
${adminNav("/console/admin/users")}
${notice(v.done)}
${f.problems.form === undefined ? html`` : html`<p class="problem" role="alert">${f.problems.form}</p>`}
<dl class="figures">
<div><dt>Role</dt><dd>${u.role}</dd></div>
<div><dt>Customer</dt><dd>${u.customer ?? "—"}</dd></div>
<div><dt>Sign-in</dt><dd>${u.auth}</dd></div>
<div><dt>State</dt><dd>${u.disabled ? "disabled" : "active"}</dd></div>
<div><dt>Last login</dt><dd>${when(u.lastLoginMs)}</dd></div>
<div><dt>Created</dt><dd>${when(u.createdAt)}</dd></div>
</dl>
<section class="admin-form" aria-labelledby="change-role"><h2 id="change-role">Role and customer</h2>
<form method="post" action="${action}">${csrf}<input type="hidden" name="action" value="update">
${roleField("user-role", f.values.role ?? u.role, f.problems.role)}
${customerField("user-customer", f.values.customer ?? u.customer, f.problems.customer)}
${selectField({ id: "user-auth", name: "auth", label: "Sign-in", options: AUTH_METHODS.map((a) => [a, a === "local" ? "local password" : "RADIUS"] as const), value: f.values.auth ?? u.auth, problem: f.problems.auth })}
<div class="actions"><button type="submit">Save</button></div></form>
<p class="muted">A new role, customer or sign-in ends the user's sessions and tokens.</p></section>
${password}
<section class="admin-form" aria-labelledby="access"><h2 id="access">${u.disabled ? "Enable" : "Disable"}</h2>
<form method="post" action="${action}">${csrf}<input type="hidden" name="action" value="${u.disabled ? "enable" : "disable"}">
<p class="muted">${u.disabled ? "The user may log in again." : "Ends every session and token of the user at once; it cannot log in until enabled."}</p>
<div class="actions"><button type="submit">${u.disabled ? "Enable" : "Disable"} ${u.id}</button></div></form></section>
<section class="admin-form danger" aria-labelledby="delete"><h2 id="delete">Delete</h2>
<form method="post" action="${action}">${csrf}<input type="hidden" name="action" value="delete">
<label class="check"><input type="checkbox" name="confirm" value="yes" required${f.problems.confirm === undefined ? html`` : html` aria-invalid="true" aria-describedby="confirm-problem"`}> Yes, delete ${u.id} with its sessions and tokens</label>
${f.problems.confirm === undefined ? html`` : html`<span class="problem" id="confirm-problem">${f.problems.confirm}</span>`}
<div class="actions"><button type="submit">Delete ${u.id}</button></div></form></section>`;
}
