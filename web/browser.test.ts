/**
 * The console and the portal in a real browser: Debian's Chromium driven by playwright-core
 * (`executablePath: /usr/bin/chromium`, flags that keep it off the network; installed by
 * `scripts/setup.sh --test`). An operator logs in, sorts and filters the overview, chooses its
 * columns, sorts by a rate and downloads the CSV, which equals the API's for the same query and
 * holds the table's columns, rows and exact figures; opens a customer and sees a graph whose
 * plotted values are the API's series; a customer logs in, sees its message of the day and its
 * own graphs, and URL edits to another customer get the page of an unknown id. Screenshots of
 * each page at 390 px and 1920 px go to $FLOWTALLY_ARTIFACTS (default: a flowtally-web-artifacts
 * directory in the temp directory). Without Chromium the test fails, it does not skip.
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
    await shots(page, "console-overview", { noSideways: true });

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

    // Columns: drop some, then sort by the average rate up (the header's link).
    await page.getByText("Columns", { exact: true }).click();
    for (const name of ["Service type", "Bytes down", "Packets down", "Packets up", "Flows"]) {
      await page.getByRole("checkbox", { name, exact: true }).uncheck();
    }
    await page.getByRole("button", { name: "Show" }).click();
    await page.waitForURL(/col=name&col=bytesOut&col=bpsIn/);
    await page.getByRole("link", { name: "Rate up (avg)" }).click();
    await page.waitForURL(/sort=bpsOut/);
    await page.waitForSelector('th[aria-sort="descending"] >> text=Rate up (avg)');
    await shots(page, "console-overview-rates", { noSideways: true });
    const shown = ["customer", "name", "bytesOut", "bpsIn", "bpsOut"];
    const labels = ["Customer", "Name", "Bytes up", "Rate down (avg)", "Rate up (avg) ▼"];
    const table = await page.$eval("#overview table", (t) => ({
      fields: [...t.querySelectorAll("thead th")].map((th) => th.getAttribute("data-field")),
      labels: [...t.querySelectorAll("thead th")].map((th) => th.textContent?.trim()),
      rows: [...t.querySelectorAll("tbody tr")].map((tr) =>
        [...tr.querySelectorAll("td")].map((td) => ({
          text: td.textContent?.trim() ?? "",
          title: td.querySelector("span[title]")?.getAttribute("title") ?? null,
        })),
      ),
    }));
    expect(table.fields).toEqual(shown);
    expect(table.labels).toEqual(labels);
    // The month is running at the clock's 2026-11-02T12:00:30Z: rates over its 129 630 s so far.
    const ELAPSED = 129_630;
    const byRateOut = [...business].sort(
      (a, b) => expectedTotals(b).bytesOut - expectedTotals(a).bytesOut,
    );
    expect(table.rows.map((r) => r[0]!.text)).toEqual(byRateOut.map((c) => c.id));
    // acme by hand: 24 001 770 bytes up, 181 770 000 × 8 / 129 630 = 11 217.7 bit/s down.
    const acmeRow = table.rows.find((r) => r[0]!.text === "acme")!;
    expect(acme.bytesOut).toBe(24_001_770);
    expect(acmeRow[2]).toEqual({ text: "24.0 MB", title: "24,001,770 bytes" });
    expect(acmeRow[3]).toEqual({
      text: "11.2 kbit/s",
      title: `${Math.round((181_770_000 * 8) / ELAPSED).toLocaleString("en-US")} bit/s`,
    });

    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("link", { name: "Download CSV" }).click(),
    ]);
    const csv = readFileSync((await download.path())!, "utf8");
    // The API's CSV of the same query: the page's columns in the page's order, every row.
    const api = await apiJson(
      `/api/v1/overview?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z&serviceType=business&sort=bpsOut&order=desc&format=csv&fields=${shown.join(",")}`,
    );
    expect(csv).toBe(api.text);
    // And the table's cells: the same columns, rows and figures (the exact ones of the tooltips).
    expect(csv).not.toContain('"');
    const [head, ...lines] = csv
      .split("\r\n")
      .slice(0, -1)
      .map((l) => l.split(","));
    expect(head).toEqual(table.fields);
    expect(lines).toHaveLength(table.rows.length);
    lines.forEach((line, i) => {
      const cells = table.rows[i]!;
      expect(line.slice(0, 2)).toEqual([cells[0]!.text, cells[1]!.text]);
      expect(cells[2]!.title).toBe(`${Number(line[2]).toLocaleString("en-US")} bytes`);
      for (const k of [3, 4]) {
        expect(cells[k]!.title).toBe(
          `${Math.round(Number(line[k])).toLocaleString("en-US")} bit/s`,
        );
      }
    });
    const c = byRateOut.map((x) => ({ id: x.id, t: expectedTotals(x) }));
    expect(lines.map((l) => [l[0], Number(l[3]), Number(l[4])])).toEqual(
      c.map((x) => [x.id, (x.t.bytesIn * 8) / ELAPSED, (x.t.bytesOut * 8) / ELAPSED]),
    );

    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it("an operator opens a customer: the graph plots the API's series", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${s.base}/console/login`);
    await logIn(page, "ops", PASSWORD, "**/console");
    await page.goto(`${s.base}/console/customers/acme?${MONTH}&view=day&at=2026-11-01`);
    // The traffic graph (the page's other graphs may be drawn before it).
    await page.waitForSelector('figure.chart[data-traffic][data-drawn="yes"]');
    const plotted = await page.$eval("figure.chart[data-traffic]", (f) => {
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
