// The console's customer management page (/console/manage): unsaved changes held in the page.
// - Add / Edit / Delete make operations of a change set (docs/registry.md#change-sets), kept in
//   sessionStorage (a reload of the tab keeps them) and shown on the rows and in a numbered list;
//   each add or edit is checked at once by the registry (POST /api/v1/changes?dryRun=true with
//   every unsaved change), its problems shown beside the field.
// - Save sends them all to POST /api/v1/changes: one transaction or none. Its problems point at the
//   change and the field; a stale edit (412: another operator changed the record) keeps the
//   changes and offers to reload that record. Undo drops one change, Undo all every one.
// - Import shows the registry's diff of a file first (POST /api/v1/registry/import?dryRun=true),
//   then applies exactly that change set.
// Every value goes into the page as text (textContent), never as markup. No inline script.
(() => {
  const root = document.getElementById("manage");
  if (root?.dataset.source !== "database") return;
  const csrf = root.dataset.csrf || "";
  const KEY = "flowtally.manage.pending";
  const NAMES = { customer: "customer", site: "site", link: "access link" };
  const OPS = { add: "Add", update: "Change", delete: "Delete" };

  function load() {
    try {
      const v = JSON.parse(sessionStorage.getItem(KEY) || "null");
      if (v && Array.isArray(v.changes)) return { changes: v.changes, problems: v.problems || [] };
    } catch (_) {
      // A damaged entry: start afresh.
    }
    return { changes: [], problems: [] };
  }
  // The browser gives inputs an empty style attribute (autofill); htmx would copy it onto the
  // swapped-in inputs, which the CSP (no inline styles) refuses with a console error each time.
  if (window.htmx) window.htmx.config.attributesToSettle = ["class", "width", "height"];
  let state = load();
  let conflictPath = null;
  let importChanges = null;

  function save() {
    if (state.changes.length === 0 && state.problems.length === 0) sessionStorage.removeItem(KEY);
    else sessionStorage.setItem(KEY, JSON.stringify(state));
  }

  const pathOf = (c) =>
    `customers/${c.customer}${c.site !== undefined ? `/sites/${c.site}` : ""}${c.link !== undefined ? `/links/${c.link}` : ""}`;
  const parentOf = (path) => path.split("/").slice(0, -2).join("/");
  const kindOf = (c) =>
    c.link !== undefined ? "link" : c.site !== undefined ? "site" : "customer";
  function targetOf(path) {
    const p = path.split("/");
    const t = { customer: p[1] };
    if (p[3] !== undefined) t.site = p[3];
    if (p[5] !== undefined) t.link = p[5];
    return t;
  }
  const under = (path, parent) => path === parent || path.startsWith(`${parent}/`);
  const rowOf = (path) =>
    [...document.querySelectorAll("tr[data-path]")].find((tr) => tr.dataset.path === path);

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  async function api(method, url, body) {
    const res = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let json = null;
    try {
      json = await res.json();
    } catch (_) {
      json = null;
    }
    return { ok: res.ok, status: res.status, json };
  }

  /**
   * An error answer's problems as {index, field, message}: `changes[2].record.name` names the
   * change; `customers/acme/sites/hq/links/l1.prefixes[0]` names a record (the last change of it)
   * and its field; `changes[1]: …` in a message names the change. index -1: none of them.
   */
  function problemsOf(answer, changes) {
    const err = answer.json?.error || { message: `HTTP ${answer.status}` };
    const list =
      err.problems && err.problems.length > 0 ? err.problems : [{ path: "", reason: err.message }];
    const byPath = (p) => {
      for (let i = changes.length - 1; i >= 0; i -= 1) if (pathOf(changes[i]) === p) return i;
      return -1;
    };
    return list.map((pr) => {
      let index = -1;
      let field = "";
      let message = pr.reason;
      const m = /^changes\[(\d+)\](?:\.(?:record|set))?(?:\.([A-Za-z]+))?/.exec(pr.path);
      if (m) {
        index = Number(m[1]);
        field = m[2] || "";
      } else if (pr.path.startsWith("customers/")) {
        const dot = pr.path.indexOf(".");
        index = byPath(dot < 0 ? pr.path : pr.path.slice(0, dot));
        field = dot < 0 ? "" : pr.path.slice(dot + 1).replace(/\[.*$/, "");
      }
      // A clash reported at an untouched record that names an unsaved one ("… is also given to
      // customers/x/sites/y/links/z.prefixes[0]"): said of the unsaved one, naming the other.
      const also =
        /^(.*) is also (given to )?(customers\/[^\s.]+)(?:\.([A-Za-z]+)(\[\d+\])?)?$/.exec(message);
      if (also && byPath(also[3]) >= 0 && (index < 0 || pathOf(changes[index]) !== also[3])) {
        index = byPath(also[3]);
        field = also[4] || (/^router /.test(also[1]) ? "router" : "");
        message = `${also[1]} is also ${also[2] || ""}${pr.path}`;
      }
      const w = /^changes\[(\d+)\](?: \([^)]*\))?: ([\s\S]*)$/.exec(message);
      if (w) {
        if (index < 0) index = Number(w[1]);
        message = w[2];
      }
      if (field === "" && err.code === "FT_REGISTRY_EXISTS") field = "id";
      if (field === "" && /^router /.test(message)) field = "router";
      if (field === "" && /^has no prefixes/.test(message)) field = "prefixes";
      return { index, field, message, code: err.code || "" };
    });
  }

  // --- The rows: unsaved changes shown where they apply ---------------------------------------

  function recordOf(tr) {
    try {
      return JSON.parse(tr.dataset.record || "{}");
    } catch (_) {
      return {};
    }
  }

  function cellText(v) {
    if (v === undefined || v === null) return "";
    return Array.isArray(v) ? v.join(", ") : String(v);
  }

  function selectUrl(kind, path) {
    const url = new URL(location.href);
    const t = targetOf(path);
    url.searchParams.delete("cursor");
    if (kind === "customer") {
      url.searchParams.set("customer", t.customer);
      url.searchParams.delete("site");
    } else {
      url.searchParams.set("customer", t.customer);
      url.searchParams.set("site", t.site);
    }
    return url.pathname + url.search;
  }

  function badge(text) {
    return el("span", { class: "badge" }, text);
  }

  function newRow(table, c, index) {
    const path = pathOf(c);
    const kind = kindOf(c);
    const record = { id: path.split("/").pop(), ...c.record };
    const tr = el("tr", { "data-path": path, "data-pending": String(index), class: "pending-add" });
    for (const th of table.tHead.rows[0].cells) {
      const field = th.dataset.field;
      if (field === undefined) {
        const td = el("td", { class: "actions" });
        td.append(
          el("button", { type: "button", "data-action": "edit" }, "Edit"),
          " ",
          el("button", { type: "button", "data-action": "delete" }, "Delete"),
        );
        tr.append(td);
        continue;
      }
      if (field === "id") {
        const cell = el("th", { scope: "row", "data-field": "id" });
        if (kind !== "link") {
          const href = selectUrl(kind, path);
          const a = el(
            "a",
            {
              href,
              "hx-get": href,
              "hx-target": "#manage-panes",
              "hx-select": "#manage-panes",
              "hx-swap": "outerHTML",
              "hx-push-url": "true",
            },
            record.id,
          );
          cell.append(a);
        } else cell.append(record.id);
        cell.append(" ", badge("new"));
        tr.append(cell);
      } else tr.append(el("td", { "data-field": field }, cellText(record[field])));
    }
    if (window.htmx) window.htmx.process(tr);
    return tr;
  }

  function overlay() {
    for (const tr of document.querySelectorAll("tr.pending-add")) tr.remove();
    for (const tr of document.querySelectorAll("tr[data-path]")) {
      tr.classList.remove("pending-update", "pending-delete", "has-problem");
      delete tr.dataset.pending;
      for (const b of tr.querySelectorAll(".badge")) b.remove();
      const record = recordOf(tr);
      for (const cell of tr.querySelectorAll("td[data-field]")) {
        cell.classList.remove("changed");
        cell.textContent = cellText(record[cell.dataset.field]);
      }
    }
    for (const b of root.querySelectorAll("[data-action][hidden]")) b.hidden = false;
    state.changes.forEach((c, i) => {
      const path = pathOf(c);
      if (c.op === "add") {
        const table = [
          ...document.querySelectorAll(`table.manage-table[data-kind="${kindOf(c)}"]`),
        ].find((t) => t.dataset.parent === parentOf(path));
        if (table) table.tBodies[0].prepend(newRow(table, c, i));
        return;
      }
      const tr = rowOf(path);
      if (!tr) return;
      tr.dataset.pending = String(i);
      tr.classList.add(c.op === "delete" ? "pending-delete" : "pending-update");
      tr.querySelector("[data-field='id']")?.append(
        " ",
        badge(c.op === "delete" ? "deleted" : "changed"),
      );
      if (c.op === "update") {
        for (const [k, v] of Object.entries(c.set)) {
          const cell = tr.querySelector(`td[data-field="${k}"]`);
          if (cell) {
            cell.textContent = cellText(v);
            cell.classList.add("changed");
          }
        }
      }
    });
    for (const p of state.problems) {
      if (p.index < 0 || p.index >= state.changes.length) continue;
      const tr = rowOf(pathOf(state.changes[p.index]));
      if (tr) tr.classList.add("has-problem");
    }
    renderPending();
  }

  // --- The list of unsaved changes -------------------------------------------------------------

  function describe(c) {
    if (c.op === "update") return `: ${Object.keys(c.set).join(", ")}`;
    return "";
  }

  function renderPending() {
    const section = document.getElementById("pending");
    const n = state.changes.length;
    section.hidden = n === 0;
    document.getElementById("pending-count").textContent = String(n);
    document.getElementById("pending-title").lastChild.textContent =
      n === 1 ? " unsaved change" : " unsaved changes";
    const list = document.getElementById("pending-list");
    list.replaceChildren();
    state.changes.forEach((c, i) => {
      const li = el("li", { "data-index": String(i), class: `pending-${c.op}` });
      li.append(
        el("span", { class: "op" }, OPS[c.op]),
        " ",
        el("code", {}, pathOf(c)),
        describe(c),
        " ",
      );
      const undo = el("button", { type: "button", "data-undo": String(i) }, "Undo");
      undo.setAttribute("aria-label", `Undo: ${OPS[c.op]} ${pathOf(c)}`);
      li.append(undo);
      for (const p of state.problems.filter((x) => x.index === i)) {
        li.classList.add("has-problem");
        li.append(
          el(
            "p",
            { class: "field-error" },
            p.field === "" ? p.message : `${p.field}: ${p.message}`,
          ),
        );
      }
      list.append(li);
    });
    for (const p of state.problems.filter((x) => x.index < 0 || x.index >= n)) {
      list.append(el("li", { class: "has-problem" }, p.message));
    }
    const conflict = document.getElementById("pending-conflict");
    conflict.replaceChildren();
    conflict.hidden = conflictPath === null;
    if (conflictPath !== null) {
      const p = state.problems.find((x) => x.code === "FT_REGISTRY_CONFLICT");
      conflict.append(
        el(
          "p",
          {},
          `${conflictPath} was changed by someone else since you read it${p ? ` (${p.message})` : ""}. Nothing was saved; your changes are kept.`,
        ),
        el("button", { type: "button", id: "conflict-reload" }, `Reload ${conflictPath}`),
      );
    }
  }

  function status(text) {
    document.getElementById("manage-status").textContent = text;
  }

  function undo(index) {
    const c = state.changes[index];
    if (!c) return;
    const path = pathOf(c);
    // Undoing an add drops the unsaved records under it too.
    state.changes = state.changes.filter(
      (x, i) => i !== index && !(c.op === "add" && under(pathOf(x), path) && x !== c),
    );
    state.problems = [];
    conflictPath = null;
    save();
    overlay();
    status(`Undone: ${OPS[c.op]} ${path}.`);
  }

  function refreshPanes() {
    if (window.htmx) {
      return window.htmx.ajax("GET", location.pathname + location.search, {
        target: "#manage-panes",
        select: "#manage-panes",
        swap: "outerHTML",
      });
    }
    location.reload();
    return Promise.resolve();
  }

  async function saveChanges() {
    if (state.changes.length === 0) return;
    const button = document.getElementById("pending-save");
    button.disabled = true;
    try {
      const answer = await api("POST", "/api/v1/changes", { changes: state.changes });
      if (answer.ok) {
        const n = state.changes.length;
        state = { changes: [], problems: [] };
        conflictPath = null;
        save();
        overlay();
        await refreshPanes();
        overlay();
        status(
          `Saved ${n} change${n === 1 ? "" : "s"}: registry version ${answer.json.registryVersion}.`,
        );
        return;
      }
      state.problems = problemsOf(answer, state.changes);
      const c = state.problems.find((p) => p.code === "FT_REGISTRY_CONFLICT" && p.index >= 0);
      conflictPath = c ? pathOf(state.changes[c.index]) : null;
      save();
      overlay();
      status("Nothing was saved: see the changes marked below.");
    } finally {
      button.disabled = false;
    }
  }

  async function reloadRecord(path) {
    const url = `/api/v1/${path.split("/").map(encodeURIComponent).join("/")}`;
    const answer = await api("GET", url);
    if (answer.status === 404) {
      status(`${path} was deleted meanwhile: undo your changes of it.`);
      return;
    }
    if (!answer.ok) {
      status(`Could not reload ${path}: ${answer.json?.error?.message ?? answer.status}`);
      return;
    }
    const revision = answer.json.revision;
    for (const c of state.changes) {
      if (pathOf(c) === path && c.op !== "add") c.ifRevision = revision;
    }
    state.problems = [];
    conflictPath = null;
    save();
    await refreshPanes();
    overlay();
    status(
      `Reloaded ${path} (revision ${revision}): its current values are shown; your change of it is still unsaved. Save applies it on top, Undo drops it.`,
    );
  }

  // --- The editors ---------------------------------------------------------------------------

  function editorOf(kind) {
    return document.querySelector(`form.editor[data-kind="${kind}"]`);
  }

  function clearErrors(form) {
    for (const e of form.querySelectorAll(".field-error")) e.textContent = "";
    for (const f of form.querySelectorAll(".field.invalid")) f.classList.remove("invalid");
    for (const i of form.querySelectorAll("[aria-invalid]")) i.removeAttribute("aria-invalid");
  }

  function currentRecord(path) {
    const pending = state.changes.find((c) => pathOf(c) === path && c.op === "add");
    if (pending) return { id: path.split("/").pop(), ...pending.record };
    const tr = rowOf(path);
    const record = tr ? recordOf(tr) : {};
    const update = state.changes.find((c) => pathOf(c) === path && c.op === "update");
    if (update) {
      for (const [k, v] of Object.entries(update.set)) {
        if (v === null) delete record[k];
        else record[k] = v;
      }
    }
    return record;
  }

  function openEditor(kind, path) {
    const form = editorOf(kind);
    if (!form) return;
    form.reset();
    clearErrors(form);
    form.dataset.path = path || "";
    form.querySelector(".editor-title").textContent = path
      ? `Edit ${path}`
      : `Add ${kind === "link" ? "an" : "a"} ${NAMES[kind]}${form.dataset.parent === "" ? "" : ` to ${form.dataset.parent}`}`;
    const record = path ? currentRecord(path) : {};
    for (const input of form.elements) {
      if (!input.name) continue;
      const v = record[input.name];
      input.value = input.name === "prefixes" && Array.isArray(v) ? v.join("\n") : cellText(v);
      if (input.name === "id") input.readOnly = Boolean(path);
    }
    form.hidden = false;
    const first = [...form.elements].find((e) => e.name && !e.readOnly);
    first?.focus();
  }

  function fieldValue(name, text) {
    const t = text.trim();
    if (t === "") return undefined;
    if (name === "prefixes") return t.split(/[\s,]+/).filter((x) => x !== "");
    if ((name === "ifIndex" || name === "commitRate") && /^[0-9]+$/.test(t)) return Number(t);
    return t;
  }

  function showProblems(form, problems) {
    for (const p of problems) {
      const field = form.querySelector(`.field[data-field="${p.field}"]`);
      if (field) {
        field.classList.add("invalid");
        field.querySelector("input, textarea")?.setAttribute("aria-invalid", "true");
        const slot = field.querySelector(".field-error");
        slot.textContent = slot.textContent ? `${slot.textContent} ${p.message}` : p.message;
      } else {
        const slot = form.querySelector(".form-error");
        slot.textContent = slot.textContent ? `${slot.textContent} ${p.message}` : p.message;
      }
    }
    form.querySelector("[aria-invalid]")?.focus();
  }

  async function submitEditor(form) {
    clearErrors(form);
    const kind = form.dataset.kind;
    const parent = form.dataset.parent;
    const editing = form.dataset.path;
    const values = {};
    for (const input of form.elements) {
      if (input.name) values[input.name] = fieldValue(input.name, input.value);
    }
    let changes;
    let index;
    if (!editing) {
      if (values.id === undefined) {
        showProblems(form, [{ field: "id", message: "Enter an id." }]);
        return;
      }
      const path = parent === "" ? `customers/${values.id}` : `${parent}/${kind}s/${values.id}`;
      const { id: _id, ...record } = values;
      for (const k of Object.keys(record)) if (record[k] === undefined) delete record[k];
      changes = [...state.changes, { op: "add", ...targetOf(path), record }];
      index = changes.length - 1;
    } else {
      changes = state.changes.map((c) => ({ ...c }));
      const addAt = changes.findIndex((c) => pathOf(c) === editing && c.op === "add");
      const { id: _id, ...record } = values;
      for (const k of Object.keys(record)) if (record[k] === undefined) delete record[k];
      if (addAt >= 0) {
        changes[addAt] = { ...changes[addAt], record };
        index = addAt;
      } else {
        const tr = rowOf(editing);
        const original = tr ? recordOf(tr) : {};
        const set = {};
        for (const [k, v] of Object.entries(values)) {
          if (k === "id") continue;
          if (v === undefined) {
            if (original[k] !== undefined) set[k] = null;
          } else if (JSON.stringify(v) !== JSON.stringify(original[k])) set[k] = v;
        }
        const at = changes.findIndex((c) => pathOf(c) === editing && c.op === "update");
        if (Object.keys(set).length === 0) {
          if (at >= 0) changes.splice(at, 1);
          state.changes = changes;
          save();
          form.hidden = true;
          overlay();
          return;
        }
        const change = {
          op: "update",
          ...targetOf(editing),
          set,
          ifRevision: Number(tr ? tr.dataset.revision : 0),
        };
        if (at >= 0) {
          changes[at] = change;
          index = at;
        } else {
          changes.push(change);
          index = changes.length - 1;
        }
      }
    }
    // The registry checks it now, with every unsaved change before it (nothing is written).
    const answer = await api("POST", "/api/v1/changes?dryRun=true", { changes });
    if (!answer.ok) {
      const problems = problemsOf(answer, changes);
      const mine = problems.filter((p) => p.index === index || p.index < 0);
      if (mine.length > 0) {
        showProblems(form, mine);
        return;
      }
      state.problems = problems;
    } else state.problems = [];
    state.changes = changes;
    save();
    form.hidden = true;
    overlay();
    status(`Kept as an unsaved change: ${OPS[changes[index].op]} ${pathOf(changes[index])}.`);
  }

  function deleteRow(tr) {
    const path = tr.dataset.path;
    const addAt = state.changes.findIndex((c) => pathOf(c) === path && c.op === "add");
    if (addAt >= 0) {
      undo(addAt);
      return;
    }
    if (state.changes.some((c) => pathOf(c) === path && c.op === "delete")) return;
    state.changes = state.changes.filter((c) => pathOf(c) !== path);
    state.changes.push({
      op: "delete",
      ...targetOf(path),
      ifRevision: Number(tr.dataset.revision),
    });
    save();
    overlay();
    status(`Kept as an unsaved change: Delete ${path} (and everything under it).`);
  }

  // --- Import ----------------------------------------------------------------------------------

  async function previewImport(form) {
    const error = document.getElementById("import-error");
    error.textContent = "";
    const file = document.getElementById("import-file").files[0];
    if (!file) {
      error.textContent = "Choose a file first.";
      return;
    }
    if (state.changes.length > 0) {
      error.textContent = "Save or undo the unsaved changes first.";
      return;
    }
    const format = /\.csv$/i.test(file.name) ? "csv" : /\.ya?ml$/i.test(file.name) ? "yaml" : null;
    if (format === null) {
      error.textContent = "Name the file .yaml, .yml or .csv.";
      return;
    }
    const answer = await api("POST", "/api/v1/registry/import?dryRun=true", {
      format,
      text: await file.text(),
    });
    if (answer.status === 413) {
      error.textContent = `The file is too large to import here (${answer.json?.error?.message ?? "HTTP 413"}; the limit is api.maxChangeSetBytes). Import it with: flowtally customers import FILE`;
      return;
    }
    if (!answer.ok) {
      const err = answer.json?.error ?? {};
      error.textContent = [
        err.message ?? `HTTP ${answer.status}`,
        ...(err.problems ?? []).map((p) => `${p.path}: ${p.reason}`),
      ].join(" · ");
      return;
    }
    importChanges = answer.json.changes;
    document.getElementById("import-diff").textContent = answer.json.lines.join("\n");
    document.getElementById("import-preview").hidden = false;
    document.getElementById("import-apply").disabled = importChanges.length === 0;
    form.hidden = false;
  }

  async function applyImport() {
    const error = document.getElementById("import-error");
    if (!importChanges || importChanges.length === 0) return;
    const answer = await api("POST", "/api/v1/changes", { changes: importChanges });
    if (!answer.ok) {
      const problems = problemsOf(answer, importChanges);
      error.textContent = `Nothing was imported: ${problems.map((p) => p.message).join(" · ")}${answer.status === 412 ? " Show the changes again." : ""}`;
      return;
    }
    importChanges = null;
    document.getElementById("import-preview").hidden = true;
    status(`Imported: registry version ${answer.json.registryVersion}.`);
    await refreshPanes();
    overlay();
  }

  // --- Events ----------------------------------------------------------------------------------

  root.addEventListener("click", (e) => {
    const target = e.target instanceof Element ? e.target : null;
    if (!target) return;
    const undoButton = target.closest("[data-undo]");
    if (undoButton) {
      undo(Number(undoButton.dataset.undo));
      return;
    }
    if (target.closest("#conflict-reload") && conflictPath !== null) {
      reloadRecord(conflictPath);
      return;
    }
    if (target.closest("#pending-save")) {
      saveChanges();
      return;
    }
    if (target.closest("#pending-undo-all")) {
      const n = state.changes.length;
      state = { changes: [], problems: [] };
      conflictPath = null;
      save();
      overlay();
      status(`Undone: all ${n} unsaved change${n === 1 ? "" : "s"}.`);
      return;
    }
    if (target.closest("#import-apply")) {
      applyImport();
      return;
    }
    if (target.closest("#import-cancel")) {
      importChanges = null;
      document.getElementById("import-preview").hidden = true;
      return;
    }
    const action = target.closest("[data-action]");
    if (!action) return;
    const kind = action.dataset.action;
    if (kind === "add") openEditor(action.dataset.kind, "");
    else if (kind === "cancel") {
      const form = action.closest("form");
      form.hidden = true;
    } else {
      const tr = action.closest("tr[data-path]");
      const table = action.closest("table[data-kind]");
      if (!tr || !table) return;
      if (kind === "edit") openEditor(table.dataset.kind, tr.dataset.path);
      else if (kind === "delete") deleteRow(tr);
    }
  });

  root.addEventListener("submit", (e) => {
    const form = e.target;
    if (!(form instanceof HTMLFormElement)) return;
    if (form.classList.contains("editor")) {
      e.preventDefault();
      submitEditor(form);
    } else if (form.id === "import-form") {
      e.preventDefault();
      previewImport(form);
    }
  });

  // A pane swapped in (a row chosen, a column sorted): show the unsaved changes on it again.
  document.body.addEventListener("htmx:afterSettle", () => overlay());

  // Leaving the page with unsaved changes asks first (a reload of the tab keeps them).
  window.addEventListener("beforeunload", (e) => {
    if (state.changes.length > 0) {
      e.preventDefault();
      e.returnValue = "";
    }
  });

  const importForm = document.getElementById("import-form");
  if (importForm) importForm.hidden = false;
  overlay();
  if (state.changes.length > 0) {
    status(
      `${state.changes.length} unsaved change${state.changes.length === 1 ? "" : "s"} kept from before the reload.`,
    );
  }
})();
