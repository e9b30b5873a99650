/**
 * The console's customer management page (/console/manage), rendered: three linked panes
 * (customers → sites of the selected customer → access links of the selected site), each a table
 * whose columns the operator chooses and sorts by, rows that carry their record and revision for
 * the page's script (web/static/manage.js: unsaved changes, Save, Undo, validation beside the
 * field), an editor form per pane, the unsaved-changes panel and the import/export section. Pure:
 * a view in, Html out; every value escaped.
 */
import { CUSTOMER_FIELDS } from "../../query/api/registry-endpoints.js";
import { type Html, html } from "../html.js";

export type Kind = "customer" | "site" | "link";

/** A list page as the registry list API answers it. */
export interface ListAnswer {
  items: Array<Record<string, unknown> & { id: string }>;
  total: number;
  registryVersion: number;
  next: string | null;
}

/** The page's state: all of it is in the URL (bookmarkable, works without script). */
export interface ManageRequest {
  q: string;
  sort: string;
  order: "asc" | "desc";
  /** The customer columns shown (id always). */
  cols: string[];
  cursor?: string | undefined;
  limit: number;
  customer?: string | undefined;
  site?: string | undefined;
  ssort: string;
  sorder: "asc" | "desc";
  lsort: string;
  lorder: "asc" | "desc";
}

export interface ManageView {
  request: ManageRequest;
  source: "config" | "database";
  csrf?: string | undefined;
  customers: ListAnswer;
  /** undefined: no customer selected; null: the selected one is not in the registry (yet). */
  sites?: ListAnswer | null;
  links?: ListAnswer | null;
  /** A problem with the request (an unknown column, a bad cursor), shown above the panes. */
  problem?: string | undefined;
}

/** Each kind's fields: the editor's inputs, and the columns a table can show. */
export const FIELDS: Record<Kind, ReadonlyArray<{ name: string; label: string; hint?: string }>> = {
  customer: [
    { name: "id", label: "Id", hint: "letters, digits, _ . - (at most 64)" },
    { name: "name", label: "Name" },
    { name: "serviceType", label: "Service type" },
    { name: "contact", label: "Contact person" },
    { name: "email", label: "E-mail" },
    { name: "phone", label: "Phone" },
    { name: "address", label: "Address" },
    { name: "description", label: "Description" },
    { name: "motd", label: "Message of the day" },
    {
      name: "portalTemplate",
      label: "Portal template",
      hint: "a name of the config's portal.templates; empty: by service type",
    },
  ],
  site: [
    { name: "id", label: "Id", hint: "letters, digits, _ . - (at most 64)" },
    { name: "name", label: "Name" },
    { name: "address", label: "Address" },
    { name: "description", label: "Description" },
  ],
  link: [
    { name: "id", label: "Id", hint: "letters, digits, _ . - (at most 64)" },
    { name: "name", label: "Name" },
    { name: "description", label: "Description" },
    { name: "prefixes", label: "Prefixes", hint: "one per line, IPv4 or IPv6, e.g. 192.0.2.0/28" },
    { name: "router", label: "Router", hint: "the exporter's address (with ifIndex)" },
    { name: "ifIndex", label: "ifIndex" },
    { name: "commitRate", label: "Commit rate", hint: '"100M" or bits/s' },
  ],
};

/** The customer columns one may choose, in order; `id` is always shown. */
export const CUSTOMER_COLUMNS = CUSTOMER_FIELDS.filter((f) => f !== "id");
export const DEFAULT_COLUMNS = ["name", "serviceType", "siteCount", "linkCount"];
export const SITE_COLUMNS = ["id", "name", "address", "description", "linkCount"] as const;
export const LINK_COLUMNS = ["id", "name", "prefixes", "router", "ifIndex", "commitRate"] as const;

const HEADINGS: Record<string, string> = {
  id: "Id",
  name: "Name",
  serviceType: "Service type",
  contact: "Contact",
  email: "E-mail",
  phone: "Phone",
  address: "Address",
  description: "Description",
  motd: "Message of the day",
  portalTemplate: "Portal template",
  siteCount: "Sites",
  linkCount: "Links",
  revision: "Revision",
  prefixes: "Prefixes",
  router: "Router",
  ifIndex: "ifIndex",
  commitRate: "Commit rate",
};

const KIND_NAMES: Record<Kind, string> = {
  customer: "customer",
  site: "site",
  link: "access link",
};
const ARTICLES: Record<Kind, string> = { customer: "a", site: "a", link: "an" };

/** The page's URL for a request with some parameters changed (defaults left out). */
export function manageUrl(r: ManageRequest, change: Partial<ManageRequest> = {}): string {
  const v = { ...r, ...change };
  const q = new URLSearchParams();
  if (v.q !== "") q.set("q", v.q);
  if (v.sort !== "id") q.set("sort", v.sort);
  if (v.order !== "asc") q.set("order", v.order);
  if (v.cols.join(",") !== DEFAULT_COLUMNS.join(",")) q.set("cols", v.cols.join(","));
  if (v.limit !== 50) q.set("limit", String(v.limit));
  if (v.cursor !== undefined) q.set("cursor", v.cursor);
  if (v.customer !== undefined) q.set("customer", v.customer);
  if (v.site !== undefined) q.set("site", v.site);
  if (v.ssort !== "id") q.set("ssort", v.ssort);
  if (v.sorder !== "asc") q.set("sorder", v.sorder);
  if (v.lsort !== "id") q.set("lsort", v.lsort);
  if (v.lorder !== "asc") q.set("lorder", v.lorder);
  const s = q.toString();
  return s === "" ? "/console/manage" : `/console/manage?${s}`;
}

/** A cell's text: lists joined, bit rates as given (bits/s). */
function cellText(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (Array.isArray(v)) return v.join(", ");
  return String(v);
}

/** A link that htmx follows by swapping only the panes in (a plain link without script). */
function paneLink(href: string, label: Html | string, extra: Html = html``): Html {
  return html`<a href="${href}" hx-get="${href}" hx-target="#manage-panes" hx-select="#manage-panes" hx-swap="outerHTML" hx-push-url="true"${extra}>${label}</a>`;
}

function sortHeader(
  r: ManageRequest,
  column: string,
  sorts: readonly string[],
  current: { sort: string; order: "asc" | "desc" },
  key: { sort: "sort" | "ssort" | "lsort"; order: "order" | "sorder" | "lorder" },
): Html {
  const label = HEADINGS[column] ?? column;
  if (!sorts.includes(column)) return html`<th scope="col" data-field="${column}">${label}</th>`;
  const active = current.sort === column;
  const next = active && current.order === "asc" ? "desc" : "asc";
  const change: Partial<ManageRequest> = { [key.sort]: column, [key.order]: next };
  if (key.sort === "sort") change.cursor = undefined;
  const aria = active ? (current.order === "asc" ? "ascending" : "descending") : undefined;
  const arrow = active ? (current.order === "asc" ? " ▲" : " ▼") : "";
  return html`<th scope="col" data-field="${column}"${aria === undefined ? html`` : html` aria-sort="${aria}"`}>${paneLink(manageUrl(r, change), `${label}${arrow}`)}</th>`;
}

function rowActions(editable: boolean): Html {
  if (!editable) return html``;
  return html`<td class="actions"><button type="button" class="edit" data-action="edit" hidden>Edit</button>
<button type="button" class="delete" data-action="delete" hidden>Delete</button></td>`;
}

function table(o: {
  kind: Kind;
  caption: string;
  parent: string;
  columns: readonly string[];
  sorts: readonly string[];
  current: { sort: string; order: "asc" | "desc" };
  key: { sort: "sort" | "ssort" | "lsort"; order: "order" | "sorder" | "lorder" };
  request: ManageRequest;
  items: ListAnswer["items"];
  selected?: string | undefined;
  select?: (id: string) => string;
  editable: boolean;
}): Html {
  const head = o.columns.map((c) => sortHeader(o.request, c, o.sorts, o.current, o.key));
  const rows = o.items.map((item) => {
    const path = o.parent === "" ? `customers/${item.id}` : `${o.parent}/${o.kind}s/${item.id}`;
    const { revision, ...record } = item;
    const selected = o.selected === item.id;
    const cells = o.columns.map((c) => {
      const text = cellText(item[c]);
      if (c === "id" && o.select !== undefined) {
        return html`<th scope="row" data-field="id">${paneLink(o.select(item.id), text, selected ? html` aria-current="true"` : html``)}</th>`;
      }
      return c === "id"
        ? html`<th scope="row" data-field="id">${text}</th>`
        : html`<td data-field="${c}">${text}</td>`;
    });
    return html`<tr data-path="${path}" data-revision="${String(revision)}" data-record="${JSON.stringify(record)}"${selected ? html` class="selected"` : html``}>${cells}${rowActions(o.editable)}</tr>`;
  });
  return html`<div class="table-scroll" tabindex="0" role="region" aria-label="${o.caption}"><table class="manage-table" data-kind="${o.kind}" data-parent="${o.parent}">
<caption class="visually-hidden">${o.caption}</caption>
<thead><tr>${head}${o.editable ? html`<th scope="col"><span class="visually-hidden">Actions</span></th>` : html``}</tr></thead>
<tbody>${rows}</tbody>
</table></div>`;
}

function editor(kind: Kind, parent: string): Html {
  const inputs = FIELDS[kind].map((f) => {
    const id = `f-${kind}-${f.name}`;
    const err = `err-${kind}-${f.name}`;
    const hint =
      f.hint === undefined ? html`` : html`<small class="hint" id="${id}-hint">${f.hint}</small>`;
    const described = f.hint === undefined ? err : `${id}-hint ${err}`;
    const control =
      f.name === "prefixes" || f.name === "description" || f.name === "motd" || f.name === "address"
        ? html`<textarea id="${id}" name="${f.name}" rows="2" aria-describedby="${described}"></textarea>`
        : html`<input id="${id}" name="${f.name}" ${f.name === "ifIndex" ? html`inputmode="numeric"` : html``} aria-describedby="${described}"${f.name === "id" ? html` required` : html``}>`;
    return html`<div class="field" data-field="${f.name}"><label for="${id}">${f.label}</label>${control}${hint}<span class="field-error" id="${err}" role="alert"></span></div>`;
  });
  return html`<form class="editor" data-kind="${kind}" data-parent="${parent}" hidden>
<h3 class="editor-title">Add ${ARTICLES[kind]} ${KIND_NAMES[kind]}</h3>
${inputs}
<p class="field-error form-error" id="err-${kind}-form" role="alert"></p>
<div class="editor-buttons"><button type="submit">Keep as unsaved change</button> <button type="button" data-action="cancel">Cancel</button></div>
</form>`;
}

function pane(o: {
  id: string;
  kind: Kind;
  title: Html;
  parent: string;
  body: Html;
  editable: boolean;
  addable: boolean;
}): Html {
  const add =
    o.editable && o.addable
      ? html`<button type="button" class="add" data-action="add" data-kind="${o.kind}" hidden>Add ${KIND_NAMES[o.kind]}</button>`
      : html``;
  return html`<section class="pane" id="${o.id}" data-kind="${o.kind}" data-parent="${o.parent}" aria-labelledby="${o.id}-title">
<div class="pane-head"><h2 id="${o.id}-title">${o.title}</h2>${add}</div>
${o.body}
${o.editable && o.addable ? editor(o.kind, o.parent) : html``}
</section>`;
}

function customersPane(v: ManageView, editable: boolean): Html {
  const r = v.request;
  const columns = ["id", ...r.cols];
  const chooser = CUSTOMER_COLUMNS.map(
    (c) =>
      html`<label class="col-choice"><input type="checkbox" name="cols" value="${c}"${r.cols.includes(c) ? html` checked` : html``}> ${HEADINGS[c] ?? c}</label>`,
  );
  const keep = (
    [
      ["sort", r.sort],
      ["order", r.order],
      ["limit", String(r.limit)],
    ] as const
  ).map(([k, val]) => html`<input type="hidden" name="${k}" value="${val}">`);
  const search = html`<form class="manage-search" method="get" action="/console/manage" hx-get="/console/manage" hx-target="#manage-panes" hx-select="#manage-panes" hx-swap="outerHTML" hx-push-url="true">
<label for="manage-q">Search</label> <input id="manage-q" name="q" type="search" value="${r.q}" placeholder="id, name or description">
${keep}
<details class="columns"><summary>Columns</summary>${chooser}</details>
<button type="submit">Show</button>
</form>`;
  const first = v.customers.items.length === 0 ? 0 : 1;
  const paging = html`<p class="paging">${v.customers.total} customer${v.customers.total === 1 ? "" : "s"}${v.customers.total > v.customers.items.length ? html` · showing ${first === 0 ? 0 : v.customers.items.length}` : html``}
${r.cursor !== undefined ? paneLink(manageUrl(r, { cursor: undefined }), "First page") : html``}
${v.customers.next !== null ? paneLink(manageUrl(r, { cursor: v.customers.next }), "Next page") : html``}</p>`;
  const body = html`${search}${table({
    kind: "customer",
    caption: "Customers",
    parent: "",
    columns,
    sorts: ["id", ...CUSTOMER_COLUMNS],
    current: { sort: r.sort, order: r.order },
    key: { sort: "sort", order: "order" },
    request: r,
    items: v.customers.items,
    selected: r.customer,
    select: (id) => manageUrl(r, { customer: id, site: undefined }),
    editable,
  })}${paging}`;
  return pane({
    id: "pane-customers",
    kind: "customer",
    title: html`Customers`,
    parent: "",
    body,
    editable,
    addable: true,
  });
}

function sitesPane(v: ManageView, editable: boolean): Html {
  const r = v.request;
  if (r.customer === undefined) {
    return html`<section class="pane pane-empty" id="pane-sites" aria-labelledby="pane-sites-title"><h2 id="pane-sites-title">Sites</h2><p>Choose a customer to see its sites.</p></section>`;
  }
  const parent = `customers/${r.customer}`;
  const body =
    v.sites === null || v.sites === undefined
      ? html`<p class="note not-saved">Not in the registry (yet): its sites below are unsaved changes.</p>${table(
          {
            kind: "site",
            caption: "Sites",
            parent,
            columns: SITE_COLUMNS,
            sorts: [],
            current: { sort: r.ssort, order: r.sorder },
            key: { sort: "ssort", order: "sorder" },
            request: r,
            items: [],
            select: (id) => manageUrl(r, { site: id }),
            editable,
          },
        )}`
      : table({
          kind: "site",
          caption: "Sites",
          parent,
          columns: SITE_COLUMNS,
          sorts: SITE_COLUMNS,
          current: { sort: r.ssort, order: r.sorder },
          key: { sort: "ssort", order: "sorder" },
          request: r,
          items: v.sites.items,
          selected: r.site,
          select: (id) => manageUrl(r, { site: id }),
          editable,
        });
  return pane({
    id: "pane-sites",
    kind: "site",
    title: html`Sites of <span class="record-id">${r.customer}</span>`,
    parent,
    body,
    editable,
    addable: true,
  });
}

function linksPane(v: ManageView, editable: boolean): Html {
  const r = v.request;
  if (r.customer === undefined || r.site === undefined) {
    return html`<section class="pane pane-empty" id="pane-links" aria-labelledby="pane-links-title"><h2 id="pane-links-title">Access links</h2><p>Choose a site to see its access links.</p></section>`;
  }
  const parent = `customers/${r.customer}/sites/${r.site}`;
  const known = v.links !== null && v.links !== undefined;
  const body = html`${known ? html`` : html`<p class="note not-saved">Not in the registry (yet): its links below are unsaved changes.</p>`}${table(
    {
      kind: "link",
      caption: "Access links",
      parent,
      columns: LINK_COLUMNS,
      sorts: known ? LINK_COLUMNS.filter((c) => c !== "prefixes") : [],
      current: { sort: r.lsort, order: r.lorder },
      key: { sort: "lsort", order: "lorder" },
      request: r,
      items: known ? v.links!.items : [],
      editable,
    },
  )}`;
  return pane({
    id: "pane-links",
    kind: "link",
    title: html`Access links of <span class="record-id">${r.customer}/${r.site}</span>`,
    parent,
    body,
    editable,
    addable: true,
  });
}

/** The panes alone: what an htmx request swaps in. */
export function renderPanes(v: ManageView): Html {
  const editable = v.source === "database";
  const problem =
    v.problem === undefined ? html`` : html`<p class="problem" role="alert">${v.problem}</p>`;
  return html`<div id="manage-panes" class="manage-panes" data-registry-version="${String(v.customers.registryVersion)}">
${problem}${customersPane(v, editable)}${sitesPane(v, editable)}${linksPane(v, editable)}
</div>`;
}

export function renderManage(v: ManageView, script: string): Html {
  const editable = v.source === "database";
  const readOnly = editable
    ? html``
    : html`<p class="note read-only" role="note"><strong>Read-only.</strong> <code>registry.source</code> is <code>config</code>: customers come from the config file. Set <code>registry.source: database</code> (docs/registry.md) to add, change and delete them here.</p>`;
  const pending = editable
    ? html`<section id="pending" class="pending" aria-labelledby="pending-title" hidden>
<h2 id="pending-title"><span id="pending-count">0</span> unsaved changes</h2>
<div id="pending-conflict" class="conflict" role="alert" hidden></div>
<ol id="pending-list"></ol>
<div class="pending-buttons"><button type="button" id="pending-save" class="primary">Save</button> <button type="button" id="pending-undo-all">Undo all</button></div>
</section>`
    : html``;
  const transfer = html`<section class="transfer" aria-labelledby="transfer-title">
<h2 id="transfer-title">Import and export</h2>
<p>The whole tree, in the formats of <code>flowtally customers export</code>:
<a class="button" href="/api/v1/registry/export?format=yaml" download="customers.yaml">Export YAML</a>
<a class="button" href="/api/v1/registry/export?format=csv" download="customers.csv">Export CSV</a></p>
${
  editable
    ? html`<form id="import-form" class="import" hidden>
<label for="import-file">Import a file (.yaml, .yml or .csv): it replaces the registry's tree</label>
<input id="import-file" name="file" type="file" accept=".yaml,.yml,.csv" aria-describedby="import-error">
<button type="submit">Show the changes</button>
<span class="field-error" id="import-error" role="alert"></span>
</form>
<div id="import-preview" class="import-preview" hidden>
<h3>What the import changes</h3>
<pre id="import-diff"></pre>
<button type="button" id="import-apply" class="primary">Apply the import</button> <button type="button" id="import-cancel">Cancel</button>
</div>`
    : html``
}
</section>`;
  return html`<div id="manage" class="manage" data-source="${v.source}" data-csrf="${v.csrf ?? ""}">
<h1>Customer management</h1>
${readOnly}
${editable ? html`<noscript><p class="note">Browsing works without JavaScript; adding, changing and deleting need it.</p></noscript>` : html``}
<p id="manage-status" class="manage-status" role="status"></p>
${pending}
${renderPanes(v)}
${transfer}
</div>
<script src="${script}" defer></script>`;
}
