/**
 * The customer management page (/console/manage) over a real started API (HTTP, no browser), with
 * `registry.source: config` (the web fixture's customers): the tree shown read-only with the
 * setting that makes it editable named, rows sorted and columns chosen through the registry list
 * API, the linked panes of a chosen customer and site, the panes alone for an htmx request, values
 * escaped, and a customer's user refused. The expected orders are computed here from the fixture.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cookieOf } from "../../test/support/http-client.js";
import {
  FIXTURE,
  PASSWORD,
  startWebServer,
  type WebServer,
} from "../../test/support/web-fixture.js";

const FORM = { "content-type": "application/x-www-form-urlencoded" };
let s: WebServer;
let ops: string;

async function login(user: string) {
  const body = new URLSearchParams({ user, password: PASSWORD });
  const r = await s.http("POST", "/console/login", { headers: FORM, raw: body.toString() });
  expect(r.status, r.text).toBe(303);
  return cookieOf(r);
}

const get = (path: string, cookie: string, headers: Record<string, string> = {}) =>
  s.http("GET", path, { headers: { cookie, ...headers } });

/** The record paths of a table's rows, in order. */
function rowPaths(text: string, kind: string): string[] {
  const table =
    text.split(`class="manage-table" data-kind="${kind}"`)[1]?.split("</table>")[0] ?? "";
  return [...table.matchAll(/<tr data-path="([^"]+)"/g)].map((m) => m[1]!);
}

beforeAll(async () => {
  s = await startWebServer();
  ops = await login("ops");
});
afterAll(async () => {
  await s?.close();
});

describe("/console/manage", () => {
  it("shows the config's customers read-only and names the setting that makes them editable", async () => {
    const r = await get("/console/manage", ops);
    expect(r.status).toBe(200);
    expect(r.text).toContain("<code>registry.source</code> is <code>config</code>");
    expect(r.text).toContain("Set <code>registry.source: database</code>");
    expect(r.text).not.toContain('class="editor"');
    expect(r.text).not.toContain('data-action="edit"');
    expect(r.text).not.toContain('id="import-form"');
    // Export works in both modes.
    expect(r.text).toContain('href="/api/v1/registry/export?format=csv"');
    expect(rowPaths(r.text, "customer")).toEqual(
      [...FIXTURE].map((c) => `customers/${c.id}`).sort(),
    );
    // The name with markup in it is text.
    expect(r.text).toContain("Delta &lt;b&gt;&amp;amp;&lt;/b&gt; Co");
    expect(r.text).not.toContain("<b>&amp;</b>");
    // The page's script is a file (no inline script).
    expect(r.text).toMatch(/<script src="\/assets\/manage-[0-9a-f]{12}\.js" defer><\/script>/);
  });

  it("sorts by the column asked and shows the columns chosen", async () => {
    const r = await get("/console/manage?sort=name&order=desc&cols=email,name", ops);
    const byName = [...FIXTURE].sort((a, b) => (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
    expect(rowPaths(r.text, "customer")).toEqual(byName.map((c) => `customers/${c.id}`));
    expect(r.text).toContain('aria-sort="descending"');
    const head = r.text
      .split('class="manage-table" data-kind="customer"')[1]!
      .split("</thead>")[0]!;
    expect([...head.matchAll(/data-field="([^"]+)"/g)].map((m) => m[1])).toEqual([
      "id",
      "name",
      "email",
    ]);
    // Search: the list API's q.
    const q = await get("/console/manage?q=gamma", ops);
    expect(rowPaths(q.text, "customer")).toEqual(["customers/gamma"]);
  });

  it("links the panes: a customer's sites, a site's links; an htmx request gets the panes alone", async () => {
    const r = await get("/console/manage?customer=acme&site=hq", ops);
    expect(rowPaths(r.text, "site")).toEqual(["customers/acme/sites/hq"]);
    expect(rowPaths(r.text, "link")).toEqual(["customers/acme/sites/hq/links/fiber"]);
    expect(r.text).toContain('<tr data-path="customers/acme"');
    const f = await get("/console/manage?customer=beta", ops, { "hx-request": "true" });
    expect(f.status).toBe(200);
    expect(f.text.startsWith('<div id="manage-panes"')).toBe(true);
    expect(f.text).not.toContain("<html");
    expect(f.headers.vary).toContain("HX-Request");
    expect(rowPaths(f.text, "site")).toEqual(["customers/beta/sites/hq"]);
    // A customer that is not in the registry (an unsaved one): an empty pane, not an error.
    const none = await get("/console/manage?customer=nobody", ops);
    expect(none.status).toBe(200);
    expect(none.text).toContain("Not in the registry (yet)");
  });

  it("refuses a customer's user as the API's operator routes do", async () => {
    const cookie = await login("acme-user");
    const r = await get("/console/manage", cookie);
    expect(r.status).toBe(403);
    expect(r.text).not.toContain("customers/beta");
  });
});
