/**
 * The admin pages in a real browser (Debian's Chromium driven by playwright-core, as
 * web/browser.test.ts): an admin adds a customer user (a bad customer first: the problem beside
 * the field), sets the global message of the day and the customer's; that user logs in to the
 * portal and sees both; the admin disables the user and its open session ends at its next request;
 * a token made on the tokens page works as a bearer on /api/v1/ and the page never shows it
 * again; branding changed on the page shows on the portal's login page without a restart, and an
 * uploaded SVG with a script runs nothing when opened; the audit page lists these changes and its
 * CSV holds them. An operator and a customer get 403 on the admin pages. Screenshots at 390 px
 * and 1920 px go to $FLOWTALLY_ARTIFACTS (default: flowtally-web-artifacts in the temp directory).
 */
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseRegistry } from "../query/api/index.js";
import { createDuckDbRegistry } from "../registry/duckdb-registry.js";
import type { RegistryStore } from "../registry/sql-registry.js";
import { ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, shots } from "../test/support/browser.js";
import { PASSWORD, startWebServer, type WebServer } from "../test/support/web-fixture.js";
import { SETTINGS_TTL_MS } from "./admin/settings-cache.js";

const GLOBAL_MOTD = "Upgrade tonight <b>22:00</b> UTC";
const ACME_MOTD = "ACME-ADMIN-MOTD-41d2: your new link is live";
const EVIL_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><script>document.title="pwned";fetch("/pwned")</script><rect width="40" height="40" fill="red"/></svg>';
const LOGO_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 32" width="120" height="32"><rect width="32" height="32" rx="6" fill="#ffffff"/><path d="M6 24 L14 12 L20 18 L26 8" stroke="#0a7d32" stroke-width="3" fill="none"/><text x="40" y="22" font-family="sans-serif" font-size="16" fill="#ffffff">Example</text></svg>';

let s: WebServer;
let registry: RegistryStore;
let registryDir: string;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  registryDir = join(tmpdir(), `flowtally-admin-registry-${process.pid}`);
  mkdirSync(registryDir, { recursive: true });
  registry = createDuckDbRegistry({ path: join(registryDir, "registry.duckdb") });
  await registry.start();
  await registry.apply(
    [
      { op: "add", customer: "acme", record: { name: "Acme Corp", serviceType: "business" } },
      { op: "add", customer: "acme", site: "hq", record: { name: "Head office" } },
      {
        op: "add",
        customer: "acme",
        site: "hq",
        link: "fiber",
        record: { name: "Fiber", prefixes: ["198.51.100.0/28"] },
      },
      { op: "add", customer: "beta", record: { name: "Beta Ltd", serviceType: "business" } },
    ],
    { actor: "test" },
  );
  s = await startWebServer({ registry: databaseRegistry(registry, { exclusive: true }) });
  const admin = { user: "operator-token", role: "admin", via: "operator-token" } as const;
  await s.accounts.addUser(
    { id: "root", role: "admin", auth: "local", password: PASSWORD, disabled: false },
    admin,
    "test",
  );
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await s?.close();
  await registry?.stop();
  rmSync(registryDir, { recursive: true, force: true });
});

async function logIn(page: Page, area: "console" | "portal", user: string, password = PASSWORD) {
  await page.goto(`${s.base}/${area}/login`);
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForLoadState();
}

describe("the admin pages in Chromium", () => {
  let admin: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    const context = await browser.newContext({ acceptDownloads: true });
    await context.grantPermissions(["clipboard-read", "clipboard-write"]);
    admin = await context.newPage();
    admin.on("console", (m) => {
      // A form sent back with its problems is answered 400 on purpose; nothing else may fail.
      if (m.type() === "error" && !m.text().includes("status of 400")) errors.push(m.text());
    });
    await logIn(admin, "console", "root");
  }, 60_000);

  it("adds a customer user (the problem beside the field first), who sees the messages of the day the admin set, until disabled", async () => {
    await admin.goto(`${s.base}/console/admin/users`);
    await admin.getByLabel("User name").fill("acme-new");
    await admin.getByLabel("Role").selectOption("customer");
    await admin.getByLabel("Customer", { exact: true }).fill("nope");
    await admin.getByLabel("Password").fill(PASSWORD);
    await admin.getByRole("button", { name: "Add the user" }).click();
    await admin.waitForLoadState();
    const problem = admin.locator("#new-customer-problem");
    expect(await problem.textContent()).toBe("no customer nope");
    expect(await admin.getAttribute("#new-customer", "aria-describedby")).toContain(
      "new-customer-problem",
    );
    expect(await admin.inputValue("#new-id")).toBe("acme-new");
    await shots(admin, "admin-users-problem");
    await admin.getByLabel("Customer", { exact: true }).fill("acme");
    await admin.getByLabel("Password").fill(PASSWORD);
    await admin.getByRole("button", { name: "Add the user" }).click();
    await admin.waitForURL(/done=added/);
    expect(await admin.locator("p.notice").textContent()).toBe("User acme-new added.");
    const row = admin.locator('#users tbody tr:has(a:text-is("acme-new"))');
    expect(await row.locator("td").allTextContents()).toEqual([
      "customer",
      "acme",
      "local",
      "active",
      "—",
    ]);

    // The global message of the day (previewed as text first), then acme's.
    await admin.goto(`${s.base}/console/admin/motd`);
    await admin.getByLabel("Global message of the day").fill(GLOBAL_MOTD);
    await admin.locator("form:has(#motd-global) button[value=preview-global]").click();
    await admin.waitForLoadState();
    expect(await admin.locator(".motd-preview .motd p").textContent()).toBe(GLOBAL_MOTD);
    expect(await admin.locator(".motd-preview b").count()).toBe(0);
    await admin.locator("form:has(#motd-global) button[value=save-global]").click();
    await admin.waitForURL(/done=motd-global/);
    await admin.getByLabel("Find a customer").fill("acm");
    await admin.getByRole("button", { name: "Find" }).click();
    await admin.getByRole("link", { name: "Acme Corp" }).click();
    await admin.waitForURL(/customer=acme/);
    await admin.getByLabel("Message of the day of Acme Corp (acme)").fill(ACME_MOTD);
    await admin.locator("form:has(#motd-customer) button[value=save-customer]").click();
    await admin.waitForURL(/done=motd-customer/);
    expect(await admin.inputValue("#motd-customer")).toBe(ACME_MOTD);
    await shots(admin, "admin-motd");

    // The new user logs in to the portal and sees both.
    const userContext = await browser.newContext();
    const user = await userContext.newPage();
    await logIn(user, "portal", "acme-new");
    expect(new URL(user.url()).pathname).toBe("/portal/customers/acme");
    const motd = await user.locator("section.motd").textContent();
    expect(motd).toContain(GLOBAL_MOTD);
    expect(motd).toContain(ACME_MOTD);
    expect(await user.locator("section.motd b").count()).toBe(0);

    // Disabled: the open session ends at its next request.
    await admin.goto(`${s.base}/console/admin/users/acme-new`);
    await shots(admin, "admin-user");
    await admin.getByRole("button", { name: "Disable acme-new" }).click();
    await admin.waitForURL(/done=disabled/);
    expect(await admin.locator("p.notice").textContent()).toContain("sessions and tokens ended");
    await user.reload();
    expect(new URL(user.url()).pathname).toBe("/portal/login");
    await userContext.close();
  });

  it("makes a token shown once that works as a bearer, and revokes it", async () => {
    await admin.goto(`${s.base}/console/tokens`);
    await admin.getByLabel("Name").fill("billing export");
    await admin.getByLabel("Expires").selectOption({ label: "in 30 days" });
    await admin.getByRole("button", { name: "Make the token" }).click();
    await admin.waitForLoadState();
    const token = await admin.inputValue("#new-token");
    expect(token).toMatch(/^ftk_/);
    await admin.getByRole("button", { name: "Copy" }).click();
    await expect
      .poll(() => admin.locator('[data-copied-for="new-token"]').textContent())
      .toBe("Copied.");
    expect(await admin.evaluate("navigator.clipboard.readText()")).toBe(token);
    await shots(admin, "admin-tokens-new");
    const me = await s.http("GET", "/api/v1/me", { headers: { authorization: `Bearer ${token}` } });
    expect(me.status, me.text).toBe(200);
    expect(me.json.id).toBe("root");
    // The global message of the day saved on the page is the API's too.
    expect(me.json.motd.global).toBe(GLOBAL_MOTD);
    // Never again: not on the page after a reload, only its name.
    await admin.goto(`${s.base}/console/tokens`);
    expect(await admin.content()).not.toContain(token);
    expect(await admin.locator('#tokens tbody th:text-is("billing export")').count()).toBe(1);
    await admin.getByRole("button", { name: "Revoke billing export" }).click();
    await admin.waitForURL(/done=revoked/);
    const after = await s.http("GET", "/api/v1/me", {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(after.status).toBe(401);
  });

  it("changes the portal's branding without a restart; an uploaded SVG runs no script", async () => {
    const portal = await (await browser.newContext()).newPage();
    await portal.goto(`${s.base}/portal/login`);
    expect(await portal.locator("header .brand").textContent()).toBe("Example Networks portal");

    await admin.goto(`${s.base}/console/admin/branding`);
    await admin.getByLabel("Title").fill("");
    await admin.getByRole("button", { name: "Save", exact: true }).click();
    await admin.waitForLoadState();
    expect(await admin.locator("#brand-title-problem").textContent()).toMatch(/1 character/);
    await admin.getByLabel("Title").fill("Admin Branded Portal");
    await admin
      .getByLabel("Login text")
      .fill("Welcome, <customers>: use the account from your welcome letter.");
    await admin.locator("#brand-primary").fill("#0a7d32");
    await admin.getByRole("button", { name: "Save", exact: true }).click();
    await admin.waitForURL(/done=branding/);

    // An SVG with a script: accepted as an image, but opened on its own it runs nothing.
    await admin.setInputFiles("#brand-logo-file", {
      name: "evil.svg",
      mimeType: "image/svg+xml",
      buffer: Buffer.from(EVIL_SVG),
    });
    await admin.getByRole("button", { name: "Upload" }).click();
    await admin.waitForURL(/done=logo/);
    const evil = await admin.getAttribute("img.logo-preview", "src");
    expect(evil).toMatch(/^\/assets\/logo-[0-9a-f]{12}\.svg$/);
    const opened = await (await browser.newContext()).newPage();
    const asked: string[] = [];
    opened.on("request", (r) => asked.push(new URL(r.url()).pathname));
    const answer = await opened.goto(`${s.base}${evil}`);
    expect(answer?.headers()["content-type"]).toBe("image/svg+xml");
    expect(answer?.headers()["content-security-policy"]).toContain("sandbox");
    await opened.waitForTimeout(300);
    expect(await opened.title()).not.toBe("pwned");
    expect(asked).not.toContain("/pwned");

    await admin.setInputFiles("#brand-logo-file", {
      name: "logo.svg",
      mimeType: "image/svg+xml",
      buffer: Buffer.from(LOGO_SVG),
    });
    await admin.getByRole("button", { name: "Upload" }).click();
    await admin.waitForURL(/done=logo/);
    await shots(admin, "admin-branding");

    // A file that is no image: refused beside the field.
    await admin.setInputFiles("#brand-logo-file", {
      name: "logo.png",
      mimeType: "image/png",
      buffer: Buffer.from("<html><script>alert(1)</script></html>"),
    });
    await admin.getByRole("button", { name: "Upload" }).click();
    await admin.waitForLoadState();
    expect(await admin.locator("#brand-logo-problem").textContent()).toBe(
      "is not a PNG, JPEG, WebP or SVG image",
    );

    // A file over the logo's limit is not sent at all: the problem beside the field at once.
    let posted = 0;
    const count = (r: { method(): string }) => {
      if (r.method() === "POST") posted += 1;
    };
    admin.on("request", count);
    const big = Buffer.alloc(300 * 1024);
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(big);
    await admin.setInputFiles("#brand-logo-file", {
      name: "big.png",
      mimeType: "image/png",
      buffer: big,
    });
    await admin.getByRole("button", { name: "Upload" }).click();
    await expect
      .poll(() => admin.locator("#brand-logo-problem").textContent())
      .toBe("is larger than 256 KiB (this file: 300 KiB)");
    expect(posted).toBe(0);
    admin.off("request", count);
    await shots(admin, "admin-branding-too-large");

    // The same server, no restart: the portal's login page shows the new branding.
    await portal.reload();
    expect(await portal.locator("header .brand").textContent()).toBe("Admin Branded Portal");
    expect(await portal.locator("p.login-text").textContent()).toBe(
      "Welcome, <customers>: use the account from your welcome letter.",
    );
    const logo = await portal.getAttribute("header img.logo", "src");
    expect(logo).not.toBe(evil);
    const served = await s.http("GET", logo!);
    expect(served.text).toBe(LOGO_SVG);
    expect(
      await portal.evaluate(
        "getComputedStyle(document.querySelector('header.top')).backgroundColor",
      ),
    ).toBe("rgb(10, 125, 50)");
    await shots(portal, "portal-login-branded");

    // Another process's save (straight into the database, not through this process's settings):
    // in force here once the settings are older than the TTL, still without a restart.
    await s.accounts.writeSettings(
      new Map([["branding.title", "Saved Elsewhere"]]),
      { user: "root", role: "admin", via: "session" },
      "192.0.2.50",
      { action: "settings-elsewhere", target: "branding", detail: {} },
    );
    await expect
      .poll(
        async () => {
          await portal.reload();
          return portal.locator("header .brand").textContent();
        },
        { timeout: SETTINGS_TTL_MS + 5000, interval: 500 },
      )
      .toBe("Saved Elsewhere");
  });

  it("without scripts, a file over the body limit gets a page saying so, and the way back to the form", async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await logIn(page, "console", "root");
    await page.goto(`${s.base}/console/admin/branding`);
    const huge = Buffer.alloc(1536 * 1024);
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(huge);
    await page.setInputFiles("#brand-logo-file", {
      name: "huge.png",
      mimeType: "image/png",
      buffer: huge,
    });
    await page.getByRole("button", { name: "Upload" }).click();
    await page.waitForLoadState();
    expect(await page.locator("section.error h1").textContent()).toBe("Too large");
    expect(await page.locator("section.error p").first().textContent()).toContain(
      "larger than 1 MiB",
    );
    await shots(page, "admin-too-large", { noSideways: true });
    await page.getByRole("link", { name: "Back to the form" }).click();
    await page.waitForURL(/\/console\/admin\/branding$/);
    expect(await page.locator("h1").first().textContent()).toBe("Portal branding");
    await context.close();
  });

  it("lists the changes in the audit log, filters them, and gives them as CSV", async () => {
    await admin.goto(`${s.base}/console/admin/audit`);
    const kinds = await admin.locator("#audit tbody td[data-label=Kind]").allTextContents();
    for (const k of [
      "user-add",
      "user-update",
      "motd-global",
      "customer-motd",
      "token-add",
      "token-revoke",
      "portal-branding",
      "portal-logo",
    ]) {
      expect(kinds).toContain(k);
    }
    await shots(admin, "admin-audit");
    await admin.getByLabel("Kind").selectOption("portal-branding");
    await admin.getByRole("button", { name: "Show" }).click();
    await admin.waitForURL(/kind=portal-branding/);
    expect(await admin.locator("#audit tbody tr").count()).toBe(1);
    const diff = await admin.locator("#audit tbody ul.diff").textContent();
    expect(diff).toContain("title: Example Networks portal → Admin Branded Portal");
    expect(diff).toContain("primary: #6a1b9a → #0a7d32");
    await admin.goto(`${s.base}/console/admin/audit?customer=acme`);
    const forAcme = await admin.locator("#audit tbody td[data-label=Kind]").allTextContents();
    expect(new Set(forAcme)).toEqual(new Set(["user-add", "customer-motd"]));
    const [download] = await Promise.all([
      admin.waitForEvent("download"),
      admin.getByRole("link", { name: "Download CSV" }).click(),
    ]);
    const csv = readFileSync((await download.path())!, "utf8").split("\r\n");
    expect(csv[0]).toBe("seq,at,actor,action,target,client,detail");
    expect(csv.filter((l) => l.includes(",root,customer-motd,acme,"))).toHaveLength(1);
    expect(csv.filter((l) => l.includes(",root,user-add,acme-new,"))).toHaveLength(1);

    // The customer registry's tab: the records added, and acme's message of the day changed on
    // the admin page, with before and after.
    await admin.getByRole("link", { name: "Customer registry" }).click();
    await admin.waitForURL(/log=registry/);
    const records = await admin
      .locator("#registry-audit tbody td[data-label=Record]")
      .allTextContents();
    expect(records).toEqual(
      expect.arrayContaining([
        "customers/acme",
        "customers/acme/sites/hq",
        "customers/acme/sites/hq/links/fiber",
        "customers/beta",
      ]),
    );
    await shots(admin, "admin-audit-registry", { noSideways: true });
    await admin.getByLabel("Kind").selectOption("update");
    await admin.getByRole("button", { name: "Show" }).click();
    await admin.waitForURL(/kind=update/);
    expect(await admin.locator("#registry-audit tbody tr").count()).toBe(1);
    expect(await admin.locator("#registry-audit tbody td[data-label=Who]").textContent()).toBe(
      "root",
    );
    expect(await admin.locator("#registry-audit tbody ul.diff").textContent()).toBe(
      `motd: (none) → ${ACME_MOTD}`,
    );
    const [registryCsv] = await Promise.all([
      admin.waitForEvent("download"),
      admin.getByRole("link", { name: "Download CSV" }).click(),
    ]);
    const rows = readFileSync((await registryCsv.path())!, "utf8").split("\r\n");
    expect(rows[0]).toBe("version,index,at,actor,op,path,before,after");
    expect(rows.slice(1, -1)).toHaveLength(1);
    expect(rows[1]).toContain(",root,update,customers/acme,");
    expect(rows[1]).toContain(ACME_MOTD);
    expect(errors).toEqual([]);
  });

  it("refuses a form posted with the admin's session cookie but without its CSRF token", async () => {
    const forged = await admin.request.post(`${s.base}/console/admin/users`, {
      form: { id: "forged", role: "admin", auth: "local", password: PASSWORD },
      maxRedirects: 0,
    });
    expect(forged.status()).toBe(403);
    expect((await s.accounts.listUsers()).map((u) => u.id)).not.toContain("forged");
    const withToken = await admin.request.post(`${s.base}/console/admin/users`, {
      form: {
        id: "csrf-ok",
        role: "operator",
        auth: "local",
        password: PASSWORD,
        csrf: (await admin.inputValue("form.logout input[name=csrf]")) ?? "",
      },
      maxRedirects: 0,
    });
    expect(withToken.status()).toBe(303);
  });

  it("answers an operator and a customer 403 on the admin pages", async () => {
    for (const [area, user] of [
      ["console", "ops"],
      ["portal", "acme-user"],
    ] as const) {
      const page = await (await browser.newContext()).newPage();
      await logIn(page, area, user);
      for (const path of ["users", "motd", "branding", "audit"]) {
        const answer = await page.goto(`${s.base}/console/admin/${path}`);
        expect(answer?.status(), `${user} ${path}`).toBe(403);
      }
      if (user === "ops") await shots(page, "admin-forbidden");
      // Their own tokens page they may use.
      expect((await page.goto(`${s.base}/console/tokens`))?.status()).toBe(200);
      if (user === "acme-user") await shots(page, "portal-tokens");
    }
  });
});
