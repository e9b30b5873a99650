/**
 * Every page of the console and the portal checked by axe-core (the accessibility engine of
 * Deque, an independent reference) in Debian's Chromium against WCAG 2.1 A and AA: labelled
 * controls, names of links and buttons, contrast, landmarks, headings, ARIA used as specified.
 * A page with a violation fails the test with axe's own description of each. The pages are
 * loaded as a user sees them (logged in through the form, graphs drawn); axe is put into the page
 * over the DevTools protocol, so the pages' Content-Security-Policy stays as it is.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, logIn } from "../test/support/browser.js";
import { PASSWORD, startWebServer, type WebServer } from "../test/support/web-fixture.js";

const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
const MONTH = "period=month&month=2026-11";

interface Violation {
  id: string;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

let s: WebServer;
let browser: Browser;

beforeAll(async () => {
  s = await startWebServer();
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await s?.close();
});

/** axe's violations of the page as it is now, one line each with the elements. */
async function violations(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  const found = (await page.evaluate(
    `axe.run(document, { runOnly: { type: "tag", values: ${JSON.stringify(TAGS)} } })
       .then((r) => r.violations.map((v) => ({ id: v.id, help: v.help,
         nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })) })))`,
  )) as Violation[];
  return found.map(
    (v) =>
      `${v.id} (${v.help}): ${v.nodes.map((n) => `${n.target.join(" ")} — ${n.failureSummary ?? ""}`).join("; ")}`,
  );
}

async function check(page: Page, path: string, ready?: string): Promise<void> {
  const r = await page.goto(`${s.base}${path}`);
  expect(r?.status(), path).toBeLessThan(500);
  if (ready !== undefined) await page.waitForSelector(ready);
  for (const width of [390, 1920]) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 1080 });
    expect(await violations(page), `${path} at ${width} px`).toEqual([]);
  }
}

describe("accessibility (axe-core, WCAG 2.1 AA)", () => {
  it("the login pages and the pages of an unknown address", async () => {
    const page = await browser.newPage();
    await check(page, "/console/login");
    await check(page, "/portal/login");
    await page.getByLabel("User name").fill("nobody");
    await page.getByLabel("Password").fill("wrong password");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForSelector("[role=alert], .problem");
    expect(await violations(page), "a refused login").toEqual([]);
    await page.close();
  }, 60_000);

  it("the console's pages", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${s.base}/console/login`);
    await logIn(page, "ops", PASSWORD, "**/console");
    await check(page, `/console?${MONTH}`, "#overview");
    await check(page, "/console?period=custom&from=2026-11-02&to=2026-11-01");
    const day = "view=day&at=2026-11-01";
    const drawn = 'figure.chart[data-drawn="yes"]';
    await check(page, `/console/customers/acme?${MONTH}&${day}`, drawn);
    await check(page, `/console/customers/acme/sites/hq?${day}`, drawn);
    await check(
      page,
      `/console/customers/acme/sites/hq/links/fiber?view=year&at=2026-11-01`,
      drawn,
    );
    await check(page, "/console/status");
    await check(page, "/console/manage");
    await check(page, "/console/manage?customer=acme&site=hq");
    await check(page, "/console/customers/zeta");
    await context.close();
  }, 90_000);

  it("the admin pages (web/admin/)", async () => {
    await s.accounts.addUser(
      { id: "root", role: "admin", auth: "local", password: PASSWORD, disabled: false },
      { user: "operator-token", role: "admin", via: "operator-token" },
      "test",
    );
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${s.base}/console/login`);
    await logIn(page, "root", PASSWORD, "**/console");
    await check(page, "/console/admin/users");
    await check(page, "/console/admin/users/ops");
    await check(page, "/console/tokens");
    await check(page, "/console/admin/motd?find=a&customer=acme");
    await check(page, "/console/admin/branding");
    await check(page, "/console/admin/audit");
    await check(page, "/console/admin/audit?kind=nope");
    await check(page, "/console/admin/audit?log=registry");
    await check(page, "/console/admin/audit?log=registry&kind=nope");
    await context.close();
  }, 90_000);

  it("the portal's pages", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${s.base}/portal/login`);
    await logIn(page, "acme-user", PASSWORD, "**/portal/customers/acme");
    await check(page, "/portal/customers/acme?period=YESTERDAY", 'figure.chart[data-drawn="yes"]');
    await check(page, "/portal/customers/beta");
    await context.close();
  }, 60_000);
});
