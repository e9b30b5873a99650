/**
 * The console's graphs in Chromium (as web/browser.test.ts drives it): traffic by class (the
 * table's exact figures and the stacked graph's per-class series, against sums of the rows this
 * file writes), zoom by dragging and the "Back to …" button, and times in the browser's time zone
 * (a context in America/New_York), and the response-time graph of one class against that class's
 * threshold. Screenshots at 390 px and 1920 px go to $FLOWTALLY_ARTIFACTS.
 */
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SeriesRowDelta } from "../schema/series-store.js";
import { formatBitRate } from "../schema/units.js";
import { configProfiles } from "../sla/billing-profile.js";
import { ARTIFACTS, launchChromium, logIn, shots } from "../test/support/browser.js";
import { atAllLevels } from "../test/support/store-conformance.js";
import {
  PASSWORD,
  startWebServer,
  TOKEN,
  type WebServer,
  webConfig,
} from "../test/support/web-fixture.js";

const MIN = 60_000;
/** The day of this file's rows: 2026-10-15, apart from the shared fixture's 2026-11-01. */
const DAY1 = Date.UTC(2026, 9, 15);
const CLASSES = [
  { id: "web", match: { protocol: ["tcp"], ports: [80, 443] } },
  { id: "voip", match: { protocol: ["udp"], ports: [5060] }, totalDelayThreshold: "150ms" },
];

/**
 * acme's link, 08:00-08:59 of DAY1, minute k: web in 1 000 000 + 1000k, out 50 000; voip in
 * 200 000 + k, out 180 000; and 10 000 bytes in of "legacy" (a class no longer configured) at
 * 08:30.
 */
function classRows(): SeriesRowDelta[] {
  const rows: SeriesRowDelta[] = [];
  const key = { customer: "acme", site: "hq", link: "fiber" };
  for (let k = 0; k < 60; k++) {
    const t = DAY1 + 8 * 3_600_000 + k * MIN;
    const add = (trafficClass: string, direction: "in" | "out", bytes: number) =>
      rows.push(...atAllLevels({ ...key, trafficClass, direction }, t, bytes, 1, 1));
    add("web", "in", 1_000_000 + 1000 * k);
    add("web", "out", 50_000);
    add("voip", "in", 200_000 + k);
    add("voip", "out", 180_000);
    if (k === 30) add("legacy", "in", 10_000);
  }
  return rows;
}
/** By hand: Σk=0..59 k = 1770. */
const WEB_IN = 60 * 1_000_000 + 1000 * 1770;
const WEB_OUT = 60 * 50_000;
const VOIP_IN = 60 * 200_000 + 1770;
const VOIP_OUT = 60 * 180_000;
const LEGACY_IN = 10_000;

let s: WebServer;
let browser: Browser;

beforeAll(async () => {
  s = await startWebServer({ classes: CLASSES });
  await s.store.addDeltas(classRows());
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await s?.close();
});

async function loggedIn(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${s.base}/console/login`);
  await logIn(page, "ops", PASSWORD, "**/console");
  return page;
}

async function apiJson(path: string) {
  const r = await s.http("GET", path, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(r.status, r.text).toBe(200);
  return r.json;
}

const LINK_DAY = "/console/customers/acme/sites/hq/links/fiber?view=day&at=2026-10-15";

describe("the console's graphs in Chromium", () => {
  it("traffic by class: exact bytes per class in the table, the classes stacked in the graph", async () => {
    const context = await browser.newContext();
    const page = await loggedIn(context);
    const errors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    await page.goto(`${s.base}${LINK_DAY}`);
    const table = page.locator("table[data-by-class]");
    const cells = await table
      .locator("tbody tr")
      .evaluateAll((trs) =>
        trs.map((tr) => [
          tr.querySelector("th")?.textContent?.trim(),
          ...[...tr.querySelectorAll("td span[title]")].map((x) => x.getAttribute("title")),
        ]),
      );
    const b = (n: number) => `${n.toLocaleString("en-US")} bytes`;
    expect(cells.map((c) => [c[0], c[1], c[2]])).toEqual([
      ["web", b(WEB_IN), b(WEB_OUT)],
      ["voip", b(VOIP_IN), b(VOIP_OUT)],
      ["other (classes no longer configured)", b(LEGACY_IN), b(0)],
    ]);
    const total = await table
      .locator("tfoot td span[title]")
      .evaluateAll((xs) => xs.map((x) => x.getAttribute("title")));
    expect(total.slice(0, 2)).toEqual([b(WEB_IN + VOIP_IN + LEGACY_IN), b(WEB_OUT + VOIP_OUT)]);

    // The stacked graph: each class's own rates are the API's series of that class.
    const figure = page.locator("figure.chart[data-class-traffic]");
    await expect.poll(() => figure.getAttribute("data-drawn"), { timeout: 20_000 }).toBe("yes");
    const plotted = await figure.evaluate((f) => {
      const ft = (
        f as unknown as {
          flowtally: {
            data: number[][];
            raw: Array<{ class: string; direction: string; own: number[] }>;
          };
        }
      ).flowtally;
      return { data: ft.data, raw: ft.raw };
    });
    const range = "from=2026-10-15T00:00:00Z&to=2026-10-16T00:00:00Z&step=5m&site=hq&link=fiber";
    const web = await apiJson(`/api/v1/customers/acme/traffic?${range}&class=web`);
    const voip = await apiJson(`/api/v1/customers/acme/traffic?${range}&class=voip`);
    const series = (j: { points: Array<Record<string, number>> }, k: string) =>
      j.points.map((p) => p[k]);
    const own = (cls: string, direction: string) =>
      plotted.raw.find((r) => r.class === cls && r.direction === direction)?.own;
    expect(own("web", "In")).toEqual(series(web, "bpsIn"));
    expect(own("voip", "Out")).toEqual(series(voip, "bpsOut"));
    // The top band of "in" is web + voip; "out" is drawn below the axis.
    const at0800 = web.points.findIndex((p: { time: string }) => p.time === "2026-10-15T08:00:00Z");
    // 08:00-08:04 by hand: web 5 000 000 + 1000·10, voip 1 000 000 + 10 bytes over 300 s.
    const webBps = ((5_000_000 + 10_000) * 8) / 300;
    const voipBps = ((1_000_000 + 10) * 8) / 300;
    expect(plotted.data[1]?.[at0800]).toBeCloseTo(webBps + voipBps, 6);
    expect(Math.min(...(plotted.data[3] ?? []))).toBeLessThan(0);
    await shots(page, "console-link-by-class");
    expect(errors).toEqual([]);
    await context.close();
  }, 90_000);

  it("drag to zoom, then the 'Back to the whole day' button restores the view", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await loggedIn(context);
    await page.goto(`${s.base}${LINK_DAY}`);
    const figure = page.locator("figure.chart[data-traffic]");
    await expect.poll(() => figure.getAttribute("data-drawn"), { timeout: 20_000 }).toBe("yes");
    const back = figure.getByRole("button", { name: "Back to the whole day" });
    await expect.poll(() => back.isHidden(), { timeout: 20_000 }).toBe(true);
    const scale = () =>
      figure.evaluate((f) => {
        const { plot } = (
          f as unknown as { flowtally: { plot: { scales: { x: { min: number; max: number } } } } }
        ).flowtally;
        return [plot.scales.x.min, plot.scales.x.max];
      });
    const whole = await scale();
    const box = (await figure.locator(".u-over").boundingBox())!;
    const y = box.y + box.height / 2;
    await page.mouse.move(box.x + box.width * 0.3, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, y, { steps: 5 });
    await page.mouse.up();
    await expect.poll(() => back.isVisible(), { timeout: 20_000 }).toBe(true);
    const zoomed = await scale();
    expect(zoomed[0]).toBeGreaterThan(whole[0]!);
    expect(zoomed[1]).toBeLessThan(whole[1]!);
    expect(await figure.getAttribute("data-zoomed")).toBe("yes");
    await page.screenshot({ path: join(ARTIFACTS, "console-graph-zoomed-1280.png") });
    await back.click();
    await expect.poll(() => back.isHidden(), { timeout: 20_000 }).toBe(true);
    expect(await scale()).toEqual(whole);
    // The response-time and by-class graphs zoom the same way.
    for (const sel of ["figure.chart[data-response-times]", "figure.chart[data-class-traffic]"]) {
      const f = page.locator(sel);
      await expect.poll(() => f.getAttribute("data-drawn"), { timeout: 20_000 }).toBe("yes");
      expect(await f.locator("button.zoom-back").textContent()).toBe("Back to the whole day");
    }
    await context.close();
  }, 90_000);

  it("the response-time graph of one class is drawn against that class's threshold", async () => {
    const context = await browser.newContext();
    const page = await loggedIn(context);
    await page.goto(`${s.base}${LINK_DAY}`);
    const rt = page.locator("figure.chart[data-response-times]");
    expect(await rt.getAttribute("data-threshold")).toBe("1000");
    await page.getByLabel("Class of the response-time graph").selectOption("voip");
    await page.getByRole("button", { name: "Show" }).click();
    await page.waitForURL(/class=voip/);
    await expect.poll(() => rt.getAttribute("data-drawn"), { timeout: 20_000 }).toBe("yes");
    expect(await rt.getAttribute("data-threshold")).toBe("150");
    expect(await rt.getAttribute("data-response-times")).toContain("&class=voip");
    expect(await rt.locator("figcaption").textContent()).toContain("class voip");
    const threshold = await rt.evaluate(
      (f) => (f as unknown as { flowtally: { data: number[][] } }).flowtally.data[5],
    );
    expect(new Set(threshold)).toEqual(new Set([150]));
    // The view links keep the class; the overview link does not get it.
    expect(await page.getByRole("link", { name: "Week" }).getAttribute("href")).toContain(
      "class=voip",
    );
    const crumbs = page.getByRole("navigation", { name: "Breadcrumb" });
    expect(await crumbs.getByRole("link", { name: "Overview" }).getAttribute("href")).not.toContain(
      "class=",
    );
    // A class that is not configured: 400, naming the field.
    const bad = await page.goto(`${s.base}${LINK_DAY}&class=nope`);
    expect(bad?.status()).toBe(400);
    expect(await page.locator("main").innerText()).toContain(
      'class "nope" is not a traffic class; expected one of web, voip, default',
    );
    await context.close();
  }, 90_000);

  it("shows the graphs' times in the browser's time zone (America/New_York)", async () => {
    const context = await browser.newContext({
      timezoneId: "America/New_York",
      locale: "en-US",
      viewport: { width: 1280, height: 900 },
    });
    const page = await loggedIn(context);
    await page.goto(`${s.base}${LINK_DAY}`);
    const figure = page.locator("figure.chart[data-traffic]");
    await expect.poll(() => figure.getAttribute("data-drawn"), { timeout: 20_000 }).toBe("yes");
    expect(await figure.locator(".chart-zone").textContent()).toBe(
      "Times in America/New_York (this browser's time zone).",
    );
    // Hover the point of 08:00 UTC: the legend says 04:00 EDT (UTC-4 on 15 October).
    const shown = await figure.evaluate((f) => {
      const { plot } = (
        f as unknown as {
          flowtally: {
            plot: {
              data: number[][];
              valToPos(v: number, s: string): number;
              setCursor(c: { left: number; top: number }): void;
            };
          };
        }
      ).flowtally;
      const x = Date.UTC(2026, 9, 15, 8) / 1000;
      plot.setCursor({ left: plot.valToPos(x, "x"), top: 10 });
      return f.querySelector(".u-legend .u-series:first-child .u-value")?.textContent;
    });
    const expected = new Intl.DateTimeFormat("en-US", {
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      timeZone: "America/New_York",
      timeZoneName: "short",
    }).format(Date.UTC(2026, 9, 15, 8));
    expect(expected).toBe("10/15/2026, 04:00 AM EDT");
    expect(shown).toBe(expected);
    await shots(page, "console-link-new-york");
    await context.close();
  }, 90_000);

  // Last in this file: it stores acme's profile versions, which the tests above do not expect.
  it("draws the commit rate in force at each point of a past day, a change inside it as a step, on the console and in the portal", async () => {
    // acme's profile as the config gives it (10 Mbit/s on hq/fiber) since long before DAY1, and
    // the same with 20 Mbit/s from 08:30 on DAY1 (as the recorder stores a PATCHed rate).
    const profile = JSON.parse(configProfiles(webConfig(0, CLASSES)).get("acme")!);
    expect(profile.commitRates).toEqual({ "hq/fiber": 10_000_000 });
    const CHANGE = DAY1 + 8.5 * 3_600_000;
    await s.store.putBillingProfiles([
      { customer: "acme", fromMs: DAY1 - 40 * 86_400_000, profile: JSON.stringify(profile) },
      {
        customer: "acme",
        fromMs: CHANGE,
        profile: JSON.stringify({ ...profile, commitRates: { "hq/fiber": 20_000_000 } }),
      },
    ]);
    const context = await browser.newContext({ timezoneId: "UTC", locale: "en-US" });
    const page = await loggedIn(context);
    await page.goto(`${s.base}${LINK_DAY}`);
    const figure = page.locator("figure.chart[data-traffic]");
    await expect.poll(() => figure.getAttribute("data-drawn"), { timeout: 20_000 }).toBe("yes");
    expect(await figure.locator("figcaption").textContent()).toContain(
      `commit rate ${formatBitRate(10_000_000)} → ${formatBitRate(20_000_000)}`,
    );
    const drawn = await figure.evaluate((f) => {
      const data = (f as unknown as { flowtally: { data: number[][] } }).flowtally.data;
      return { x: data[0]!, commit: data[7]! };
    });
    // Every 5-minute point of the day against the version in force at its start.
    expect(drawn.x).toHaveLength(288);
    expect(drawn.commit).toEqual(drawn.x.map((t) => (t * 1000 < CHANGE ? 10_000_000 : 20_000_000)));
    expect(await figure.locator(".chart-summary").textContent()).toContain(
      "commit rate 10.0 Mbit/s, then 20.0 Mbit/s from 10/15/2026, 08:30 AM UTC",
    );
    await shots(page, "console-link-commit-step");
    // The whole customer (its one link) likewise; today's rate alone would be 10 Mbit/s flat.
    await page.goto(`${s.base}/console/customers/acme?view=day&at=2026-10-15`);
    expect(JSON.parse((await figure.getAttribute("data-commit-steps"))!)).toEqual([
      [DAY1, 10_000_000],
      [CHANGE, 20_000_000],
    ]);
    await context.close();
    // The portal's graphs of last month (October: hourly points) for acme's user.
    const portal = await browser.newContext({ timezoneId: "UTC", locale: "en-US" });
    const p = await portal.newPage();
    await p.goto(`${s.base}/portal/login`);
    await logIn(p, "acme-user", PASSWORD, "**/portal/customers/*");
    await p.goto(`${s.base}/portal/customers/acme?period=LAST-MONTH`);
    // "Your links": the rate through October, as it changed.
    expect(await p.locator("table[data-links] tbody tr td").last().textContent()).toBe(
      `${formatBitRate(10_000_000)} → ${formatBitRate(20_000_000)}`,
    );
    const graphs = p.locator("figure.chart[data-traffic]");
    expect(await graphs.count()).toBe(2);
    const OCT = Date.UTC(2026, 9, 1);
    for (const g of await graphs.all()) {
      expect(JSON.parse((await g.getAttribute("data-commit-steps"))!)).toEqual([
        [OCT, 10_000_000],
        [CHANGE, 20_000_000],
      ]);
      await expect.poll(() => g.getAttribute("data-drawn"), { timeout: 20_000 }).toBe("yes");
      const points = await g.evaluate((f) => {
        const data = (f as unknown as { flowtally: { data: number[][] } }).flowtally.data;
        return { x: data[0]!, commit: data[7]! };
      });
      expect(points.commit).toEqual(
        points.x.map((t) => (t * 1000 < CHANGE ? 10_000_000 : 20_000_000)),
      );
    }
    await shots(p, "portal-commit-step");
    await portal.close();
  }, 90_000);
});
