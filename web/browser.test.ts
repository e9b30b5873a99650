/**
 * The console and the portal in a real browser: Debian's Chromium driven by playwright-core
 * (`executablePath: /usr/bin/chromium`, flags that keep it off the network; installed by
 * `scripts/setup.sh --test`). An operator logs in, sorts and filters the overview and downloads
 * the CSV, which equals the API's; opens a customer and sees a graph whose plotted values are the
 * API's series; a customer logs in, sees its message of the day and its own graphs, and URL edits
 * to another customer get the page of an unknown id. Screenshots of each page at 390 px and
 * 1920 px go to $FLOWTALLY_ARTIFACTS (default: a flowtally-web-artifacts directory in the temp
 * directory). Without Chromium the test fails, it does not skip.
 */
import { readFileSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { linkStatusRows } from "../sla/link-status.js";
import { launchChromium, logIn, shots } from "../test/support/browser.js";
import {
  expectedTotals,
  FIXTURE,
  MARK,
  PASSWORD,
  startWebServer,
  TOKEN,
  type WebServer,
} from "../test/support/web-fixture.js";

const MONTH = "period=month&month=2026-11";

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

async function apiJson(path: string) {
  const r = await s.http("GET", path, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(r.status, r.text).toBe(200);
  return r;
}

async function tableIds(page: Page): Promise<string[]> {
  return page.$$eval("#overview tbody tr td:first-child a", (as) =>
    as.map((a) => a.textContent ?? ""),
  );
}

describe("in Chromium", () => {
  it("an operator logs in, sorts and filters the overview and downloads the CSV the API gives", async () => {
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    await page.goto(`${s.base}/console?${MONTH}`);
    expect(new URL(page.url()).pathname).toBe("/console/login");
    await shots(page, "console-login");
    await logIn(page, "ops", PASSWORD, `**/console?${MONTH}`);
    const byIn = [...FIXTURE].sort((a, b) => expectedTotals(b).bytesIn - expectedTotals(a).bytesIn);
    expect(await tableIds(page)).toEqual(byIn.map((c) => c.id));
    await shots(page, "console-overview");

    // Keyboard: the first Tab reaches the skip link, Enter on a column header sorts by it.
    await page.keyboard.press("Tab");
    expect(await page.evaluate("document.activeElement.textContent")).toBe("Skip to the content");
    await page.getByRole("link", { name: "Name" }).focus();
    await page.keyboard.press("Enter");
    await page.waitForURL(/sort=name/);
    await expect
      .poll(() => tableIds(page))
      .toEqual([...FIXTURE].sort((a, b) => a.name.localeCompare(b.name)).map((c) => c.id));

    // Sort by bytes up (a click on the column's header; htmx swaps the table in).
    await page.getByRole("link", { name: "Bytes up" }).click();
    await page.waitForURL(/sort=bytesOut/);
    await page.waitForSelector('th[aria-sort="descending"] >> text=Bytes up');
    const byOut = [...FIXTURE].sort(
      (a, b) => expectedTotals(b).bytesOut - expectedTotals(a).bytesOut,
    );
    expect(await tableIds(page)).toEqual(byOut.map((c) => c.id));

    // Filter: business customers only.
    await page.getByRole("combobox", { name: "Service type" }).selectOption("business");
    await page.getByRole("button", { name: "Show" }).click();
    await page.waitForURL(/serviceType=business/);
    await expect.poll(() => page.locator("#overview tbody tr").count()).toBe(2);
    const business = byOut.filter((c) => c.serviceType === "business");
    expect(await tableIds(page)).toEqual(business.map((c) => c.id));

    // The exact figure on hover.
    const acme = expectedTotals(FIXTURE[0]);
    expect(
      await page.getAttribute(
        '#overview tbody tr:has(a:text-is("acme")) td:nth-child(4) span',
        "title",
      ),
    ).toBe(`${acme.bytesIn.toLocaleString("en-US")} bytes`);

    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("link", { name: "Download CSV" }).click(),
    ]);
    const csv = readFileSync((await download.path())!, "utf8");
    const api = await apiJson(
      "/api/v1/overview?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z&serviceType=business&sort=bytesOut&order=desc&format=csv",
    );
    expect(csv).toBe(api.text);
    expect(
      csv
        .split("\r\n")
        .slice(1, -1)
        .map((l) => l.split(",")[0]),
    ).toEqual(business.map((c) => c.id));

    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it("an operator opens a customer: the graph plots the API's series", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${s.base}/console/login`);
    await logIn(page, "ops", PASSWORD, "**/console");
    await page.goto(`${s.base}/console/customers/acme?${MONTH}&view=day&at=2026-11-01`);
    await page.waitForSelector('figure.chart[data-drawn="yes"]');
    const plotted = await page.$eval("figure.chart", (f) => {
      const d = (f as unknown as { flowtally: { data: number[][] } }).flowtally.data;
      return { x: d[0], bpsIn: d[1], bpsOut: d[2], p95In: d[5], commit: d[7] };
    });
    const api = (
      await apiJson(
        "/api/v1/customers/acme/traffic?from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z&step=5m",
      )
    ).json;
    expect(plotted.x).toEqual(api.points.map((p: { time: string }) => Date.parse(p.time) / 1000));
    expect(plotted.bpsIn).toEqual(api.points.map((p: { bpsIn: number }) => p.bpsIn));
    expect(plotted.bpsOut).toEqual(api.points.map((p: { bpsOut: number }) => p.bpsOut));
    expect(new Set(plotted.p95In)).toEqual(new Set([api.p95BpsIn]));
    expect(new Set(plotted.commit)).toEqual(new Set([10_000_000]));
    // By hand: 10:00-10:04 of acme is Σk=0..4 (3 000 000 + 1000k) bytes over 300 s.
    const first = api.points.find((p: { time: string }) => p.time === "2026-11-01T10:00:00Z");
    expect(first.bpsIn).toBeCloseTo(((5 * 3_000_000 + 1000 * 10) * 8) / 300, 6);
    // The response-time graph: the API's points (the fixture has no transactions: empty lines).
    await page.waitForSelector('figure.chart[data-response-times][data-drawn="yes"]');
    const rt = await page.$eval("figure.chart[data-response-times]", (f) => {
      const d = (f as unknown as { flowtally: { data: (number | null)[][] } }).flowtally.data;
      return { x: d[0], total: d[3], threshold: d[5] };
    });
    const rtApi = (
      await apiJson(
        "/api/v1/customers/acme/response-times?from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z&step=5m",
      )
    ).json;
    expect(rt.x).toEqual(rtApi.points.map((p: { time: string }) => Date.parse(p.time) / 1000));
    expect(rt.total).toEqual(
      rtApi.points.map((p: { meanTotalDelayMs: number | null }) => p.meanTotalDelayMs),
    );
    expect(new Set(rt.threshold)).toEqual(new Set([1000]));
    // Availability of the billing month: acme's link measured 10 minutes (Nov 1st 10:00–10:09),
    // minute 5 down: 9 of 10 up (hand-counted), no target configured. The page shows the
    // API report's figures.
    await s.store.addLinkStatus(
      Array.from({ length: 10 }, (_, m) =>
        linkStatusRows(
          { customer: "acme", site: "hq", link: "fiber" },
          Date.UTC(2026, 10, 1, 10, m),
          m === 5,
        ),
      ).flat(),
    );
    const report = (await apiJson("/api/v1/customers/acme/sla?period=this-month")).json;
    const a = report.links[0].availability;
    expect(a).toMatchObject({ upMinutes: 9, downMinutes: 1, share: 0.9, target: null });
    await page.reload();
    const shown = 'li[data-sla-availability="hq/fiber"]';
    expect(await page.$eval(`${shown} .sla-sentence`, (p) => p.textContent)).toBe(
      "Head office › Fiber: up 90 % of the time in this billing period (no availability target).",
    );
    expect(await page.$eval(`${shown} [data-availability]`, (p) => p.textContent)).toBe(
      `${a.share * 100} %`,
    );
    expect(await page.$eval(`${shown} [data-availability-minutes]`, (p) => p.textContent)).toBe(
      `${a.upMinutes} minutes up, ${a.downMinutes} down, ${a.unknownMinutes} without information (not counted).`,
    );
    await page.waitForSelector('figure.chart[data-drawn="yes"]');
    await shots(page, "console-customer");
    await context.close();
  }, 60_000);

  it("a customer logs in, sees its message of the day and its own graphs, and not another customer", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${s.base}/portal`);
    expect(new URL(page.url()).pathname).toBe("/portal/login");
    await shots(page, "portal-login");
    await logIn(page, "acme-user", PASSWORD, "**/portal/customers/acme");
    await page.goto(`${s.base}/portal/customers/acme?period=YESTERDAY`);
    await expect.poll(() => page.locator(".motd").textContent()).toContain(MARK.acme);
    await page.waitForSelector('figure.chart[data-drawn="yes"]');
    await expect
      .poll(() => page.$$eval("figure.chart", (fs) => fs.map((f) => f.getAttribute("data-drawn"))))
      .toEqual(["yes", "yes", "yes"]);
    expect(await page.content()).not.toContain(MARK.beta);
    await shots(page, "portal-customer");

    const other = await page.goto(`${s.base}/portal/customers/beta`);
    expect(other?.status()).toBe(404);
    const otherText = await page.locator("main").innerText();
    await shots(page, "portal-other-customer");
    const unknown = await page.goto(`${s.base}/portal/customers/zeta`);
    expect(unknown?.status()).toBe(404);
    expect(await page.locator("main").innerText()).toBe(otherText);
    // The API behind the graphs: the same 404 as an unknown id.
    const apiOther = await page.evaluate(async () => {
      const r = await fetch(
        "/api/v1/customers/beta/traffic?from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z",
      );
      return [r.status, await r.text()] as const;
    });
    expect(apiOther[0]).toBe(404);
    expect(apiOther[1]).not.toContain(MARK.beta);
    await context.close();
  }, 60_000);
});
