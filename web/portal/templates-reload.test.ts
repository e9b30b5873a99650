/**
 * The provider's templates over HTTP: a template read again (SIGHUP's `reloadPortalTemplates`)
 * takes over the customer's page with the customer's own values; a bad one is refused, logged,
 * and the running one kept; a template never shows another customer.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Config } from "../../schema/config.js";
import {
  expectedTotals,
  FIXTURE,
  MARK,
  PASSWORD,
  startWebServer,
  type WebServer,
  webConfig,
} from "../../test/support/web-fixture.js";

let s: WebServer;
let dir: string;
beforeAll(async () => {
  s = await startWebServer();
  dir = mkdtempSync(join(tmpdir(), "ft-template-reload-"));
}, 60_000);
afterAll(async () => {
  await s?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function cookieOf(user: string): Promise<string> {
  const r = await s.http("POST", "/portal/login", {
    headers: { "content-type": "application/x-www-form-urlencoded" },
    raw: `user=${user}&password=${encodeURIComponent(PASSWORD)}`,
  });
  expect(r.status).toBe(303);
  return String(r.headers["set-cookie"]).split(";")[0]!;
}

/** The fixture's config with these portal templates (absolute paths). */
function withTemplates(portal: { template?: string }): Config {
  const base = webConfig();
  return { ...base, portal: { ...base.portal, ...portal } };
}

describe("provider templates, read again at SIGHUP", () => {
  it("takes over the page with the customer's own values, and keeps the running one when a new one is bad", async () => {
    const cookie = await cookieOf("acme-user");
    const get = (path: string) => s.http("GET", path, { headers: { cookie } });
    const builtIn = await get("/portal/customers/acme?period=YESTERDAY");
    expect(builtIn.text).toContain("Top classes, YESTERDAY");

    const file = join(dir, "portal.html");
    writeFileSync(
      file,
      '<h1 id="t">{{customer.name}} / {{period.name}}</h1><p id="down">{{totals.down.bytes}}</p>{{motd}}{{links}}',
    );
    expect(s.api.reloadPortalTemplates(withTemplates({ template: file }))).toBe(true);
    const acme = expectedTotals(FIXTURE[0]);
    const page = await get("/portal/customers/acme?period=YESTERDAY");
    expect(page.status).toBe(200);
    expect(page.text).toContain('<h1 id="t">Acme Corp / YESTERDAY</h1>');
    expect(page.text).toContain(`<p id="down">${acme.bytesIn}</p>`);
    expect(page.text).toContain(MARK.acme);
    expect(page.text).not.toContain(MARK.beta);
    expect(page.text).not.toContain("Top classes");

    // A bad file: refused, the running template kept.
    writeFileSync(file, "<h1>{{customer.name}}</h1>\n<script>alert(1)</script>");
    expect(s.api.reloadPortalTemplates(withTemplates({ template: file }))).toBe(false);
    const kept = await get("/portal/customers/acme?period=YESTERDAY");
    expect(kept.text).toContain('<h1 id="t">Acme Corp / YESTERDAY</h1>');

    // Another customer through the template's page: the unknown id's 404.
    const other = await get("/portal/customers/beta");
    const unknown = await get("/portal/customers/zeta");
    expect(other.status).toBe(404);
    expect(other.text).toBe(unknown.text);

    // A name with markup is text in a template too (delta's name holds <b>&amp;</b>).
    const ops = await cookieOf("ops");
    const delta = await s.http("GET", "/portal/customers/delta", { headers: { cookie: ops } });
    expect(delta.text).toContain(
      '<h1 id="t">Delta &lt;b&gt;&amp;amp;&lt;/b&gt; Co / LAST-24-HOURS</h1>',
    );

    // Back to the built-in page.
    expect(s.api.reloadPortalTemplates(withTemplates({}))).toBe(true);
    expect((await get("/portal/customers/acme")).text).toContain("Top classes");
  });
});
