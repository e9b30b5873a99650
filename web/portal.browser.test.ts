/**
 * The portal's top classes, SLA status, CSV downloads and provider templates in a real browser
 * (Debian's Chromium driven by playwright-core, as web/browser.test.ts), over real traffic: a
 * generated capture of TCP connections in four classes with known sizes and server delays goes
 * through `flowtally replay` (flow table, classification, TCP timing, aggregator, embedded store),
 * then the API and pages serve the store with a clock fixed after the capture. The expected
 * figures are the generator's own (IP bytes of every packet it wrote, transactions under the
 * threshold per minute), never read back from flowtally.
 *
 * - acme (built-in page, a name holding `<script>`): the top classes table and its CSV equal the
 *   generator's per-class bytes; the links' CSV their sum; the SLA status says what the API's
 *   report says, which equals the generator's minutes; the name shows as text, no script runs.
 * - gamma (a provider template): the template's values and graphs are gamma's own.
 * - beta: acme's user reaches none of beta's data through any of the new URLs (page, CSV, API).
 * Screenshots at 390 and 1920 px go to $FLOWTALLY_ARTIFACTS.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAccountStore } from "../accounts/account-store.js";
import { type Accounts, accountsConfigOf, createAccounts } from "../accounts/accounts.js";
import { runReplay } from "../cli/replay-command.js";
import { buildCustomerModel } from "../collector/classify/customer-model.js";
import { loadConfigFile } from "../config/load-config.js";
import { type ApiServer, createApiServer } from "../query/api/index.js";
import { createDuckDbDriver } from "../registry/duckdb-registry.js";
import type { SeriesStore } from "../schema/series-store.js";
import { linkStatusRows } from "../sla/link-status.js";
import { createDuckDbStore } from "../store/duckdb-store.js";
import { launchChromium, logIn, shots } from "../test/support/browser.js";
import { captureLog } from "../test/support/log-capture.js";
import { type PcapRecord, pcapFile, TCP, tcpFrame } from "../test/support/pcap-writer.js";
import { shownTime } from "./period.js";

const PASSWORD = "a long enough password";
const MIN = 60_000;
/** The capture's first minute; the pages' clock is 30 minutes later. */
const T0 = Date.UTC(2026, 10, 22, 10);
const NOW = T0 + 30 * MIN + 30_000;
const PERIOD = "LAST-60-MINUTES";
const HOSTILE_NAME = `Acme <script>alert("pwned")</script> & "Co" <img src=x onerror=alert(2)>`;

/** Classes by server port; `default` takes the rest. */
const CLASSES = { web: 80, mail: 25, ssh: 22, default: 9000 } as const;
type ClassId = keyof typeof CLASSES;
const THRESHOLD_MS = 50;
const TARGET = 80;

/**
 * Per customer and minute: connections as [class, request bytes, response bytes, server delay
 * ms]. Web's delays make minute 0 compliant (3 of 3 good), minute 1 a breach (1 of 3), minute 2
 * without web transactions (no data), minute 3 compliant (4 of 5 = 80 %).
 */
type Conn = [ClassId, number, number, number];
const TRAFFIC: Record<"acme" | "beta" | "gamma", Conn[][]> = {
  acme: [
    [
      ["web", 300, 1400, 10],
      ["web", 200, 1200, 20],
      ["web", 100, 900, 30],
      ["mail", 1400, 100, 5],
    ],
    [
      ["web", 300, 1400, 10],
      ["web", 200, 1300, 120],
      ["web", 100, 1000, 90],
      ["ssh", 600, 700, 3],
    ],
    [
      ["mail", 1300, 200, 5],
      ["default", 50, 1460, 8],
    ],
    [
      ["web", 300, 1400, 10],
      ["web", 300, 1400, 11],
      ["web", 300, 1400, 12],
      ["web", 300, 1400, 13],
      ["web", 300, 1400, 70],
      ["ssh", 800, 900, 4],
    ],
  ],
  beta: [
    [
      ["web", 1000, 1460, 10],
      ["mail", 777, 1111, 10],
    ],
  ],
  gamma: [
    [
      ["web", 123, 1234, 10],
      ["ssh", 321, 432, 10],
    ],
    [["default", 55, 1455, 10]],
  ],
};
const PREFIX = { acme: "198.51.100", beta: "198.51.101", gamma: "198.51.102" } as const;
type Customer = keyof typeof TRAFFIC;

/** Every packet of every connection, and the generator's IP bytes per customer, class, direction. */
function capture() {
  const records: PcapRecord[] = [];
  const truth = {} as Record<Customer, Record<ClassId, { down: number; up: number }>>;
  const { SYN, ACK, PSH, FIN } = TCP;
  let port = 40000;
  for (const customer of Object.keys(TRAFFIC) as Customer[]) {
    const bytes = Object.fromEntries(
      Object.keys(CLASSES).map((c) => [c, { down: 0, up: 0 }]),
    ) as Record<ClassId, { down: number; up: number }>;
    truth[customer] = bytes;
    TRAFFIC[customer].forEach((conns, m) => {
      conns.forEach(([cls, request, response, delay], k) => {
        const client = `${PREFIX[customer]}.${10 + k}`;
        const server = "203.0.113.80";
        const sport = port++;
        const dport = CLASSES[cls];
        const t = (T0 + m * MIN + 5_000 + k * 3_000) * 1000;
        const c = 1000;
        const s = 5000;
        const up = (us: number, seq: number, ack: number, flags: number, len: number) => {
          records.push({ us, data: tcpFrame(client, server, sport, dport, seq, ack, flags, len) });
          bytes[cls].up += 40 + len;
        };
        const down = (us: number, seq: number, ack: number, flags: number, len: number) => {
          records.push({ us, data: tcpFrame(server, client, dport, sport, seq, ack, flags, len) });
          bytes[cls].down += 40 + len;
        };
        up(t, c, 0, SYN, 0);
        down(t + 1000, s, c + 1, SYN | ACK, 0);
        up(t + 1100, c + 1, s + 1, ACK, 0);
        up(t + 2000, c + 1, s + 1, PSH | ACK, request);
        const answer = t + 2000 + Math.round(delay * 1000);
        down(answer, s + 1, c + 1 + request, PSH | ACK, response);
        up(answer + 100, c + 1 + request, s + 1 + response, ACK, 0);
        down(answer + 200, s + 1 + response, c + 1 + request, FIN | ACK, 0);
        up(answer + 300, c + 1 + request, s + 2 + response, FIN | ACK, 0);
        down(answer + 400, s + 2 + response, c + 2 + request, ACK, 0);
      });
    });
  }
  return { pcap: pcapFile(records), truth };
}

/** The generator's web minutes of acme: compliant, breach, no data (total delay = delay + 0.1). */
function webMinutes(customer: Customer) {
  const minutes = TRAFFIC[customer].map((conns) => {
    const web = conns.filter((c) => c[0] === "web");
    const good = web.filter((c) => c[3] + 0.1 < THRESHOLD_MS).length;
    return web.length === 0 ? "none" : good * 100 >= TARGET * web.length ? "ok" : "breach";
  });
  return {
    compliant: minutes.filter((m) => m === "ok").length,
    breach: minutes.filter((m) => m === "breach").length,
  };
}

const TEMPLATE = `<div class="provider-page">
<h1>Welcome, {{customer.name}}</h1>
<p>Your traffic of <span id="period">{{period.name}}</span>: <span id="down">{{totals.down.bytes}}</span> bytes down,
<span id="up">{{totals.up.bytes}}</span> bytes up ({{totals.down}} / {{totals.up}}).</p>
{{motd}}
{{periods}}
<h2>What you use</h2>
{{classes}}
<h2>Throughput</h2>
{{graph.throughput}}
<p><a id="classes-csv" href="{{csv.classes}}" download>Classes as CSV</a></p>
</div>
`;

let dir: string;
let store: SeriesStore;
let accounts: Accounts;
let api: ApiServer;
let base: string;
let browser: Browser;
let truth: ReturnType<typeof capture>["truth"];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ft-portal-browser-"));
  const made = capture();
  truth = made.truth;
  writeFileSync(join(dir, "portal.pcap"), made.pcap);
  writeFileSync(join(dir, "gamma.html"), TEMPLATE);
  const link = (customer: Customer, commit: number) =>
    `sites: [{ id: hq, name: Head office, links: [{ id: fiber, name: Fiber, prefixes: [${PREFIX[customer]}.0/24], commitRate: ${commit} }] }]`;
  writeFileSync(
    join(dir, "ft.yaml"),
    [
      `store: { embedded: { path: ${JSON.stringify(join(dir, "ft.duckdb"))} } }`,
      'decoder: { statePath: "" }',
      "api: { listen: 127.0.0.1:0, login: { window: 15m, perAddress: 1000, perUserAddress: 100, perUser: 1000 } }",
      `motd: Maintenance on Sunday`,
      "portal: { branding: { title: Example Networks portal, footer: Example Networks } }",
      // Availability: acme's link is measured for 30 minutes, 3 of them down (written below).
      "serviceTypes:",
      "  - id: business",
      "    billing: { availabilityTarget: 99.9, monthlyFee: 1000, currency: EUR, credits: { availability: [{ below: 99.9, percent: 5 }, { below: 99.5, percent: 10 }] } }",
      "classes:",
      `  - { id: web, match: { protocol: [tcp], ports: [80] }, totalDelayThreshold: ${THRESHOLD_MS}ms, serviceLevelTarget: ${TARGET} }`,
      "  - { id: mail, match: { protocol: [tcp], ports: [25] } }",
      "  - { id: ssh, match: { protocol: [tcp], ports: [22] } }",
      "customers:",
      `  - { id: acme, name: ${JSON.stringify(HOSTILE_NAME)}, serviceType: business, ${link("acme", 10_000_000)} }`,
      `  - { id: beta, name: Beta Ltd, motd: BETA-SECRET-MOTD, serviceType: business, ${link("beta", 20_000)} }`,
      `  - { id: gamma, name: Gamma Home, serviceType: home, portalTemplate: gamma.html, ${link("gamma", 1_000_000)} }`,
      "",
    ].join("\n"),
  );
  const config = join(dir, "ft.yaml");
  await runReplay([join(dir, "portal.pcap")], { config, logLevel: "silent", progress: false });
  const cfg = loadConfigFile(config);
  // acme's link-status minutes: T0's first 30 minutes up, but minutes 12 to 14 down.
  const writer = createDuckDbStore({ path: join(dir, "ft.duckdb") });
  await writer.start();
  await writer.addLinkStatus(
    Array.from({ length: 30 }, (_, m) =>
      linkStatusRows(
        { customer: "acme", site: "hq", link: "fiber" },
        T0 + m * MIN,
        m >= 12 && m < 15,
      ),
    ).flat(),
  );
  await writer.stop();
  store = createDuckDbStore({ path: join(dir, "ft.duckdb"), readOnly: true });
  await store.start();
  const now = () => NOW;
  accounts = createAccounts(accountsConfigOf(cfg.api), {
    store: createAccountStore(createDuckDbDriver({ path: join(dir, "registry.duckdb") })),
    now,
    passwordParams: { ln: 10, r: 8, p: 1 },
  });
  await accounts.start();
  const admin = { user: "operator-token", role: "admin", via: "operator-token" } as const;
  for (const customer of ["acme", "beta", "gamma"] as const) {
    await accounts.addUser(
      {
        id: `${customer}-user`,
        role: "customer",
        customer,
        password: PASSWORD,
        auth: "local",
        disabled: false,
      },
      admin,
      "test",
    );
  }
  const { log } = captureLog();
  api = createApiServer({
    config: cfg,
    model: buildCustomerModel(cfg),
    store,
    log,
    now,
    completeUntil: () => T0 + 30 * MIN,
    accounts,
  });
  const { port } = await api.listen();
  base = `http://127.0.0.1:${port}`;
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await api?.close();
  await accounts?.stop();
  await store?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function loggedIn(user: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  await page.goto(`${base}/portal/login`);
  await logIn(page, user, PASSWORD, "**/portal/customers/*");
  return { context, page };
}

async function download(page: Page, name: string | RegExp): Promise<string> {
  const [d] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name }).click(),
  ]);
  return readFileSync((await d.path())!, "utf8");
}

/** CSV (no quoted commas in these) as records by header. */
function records(csv: string): Array<Record<string, string>> {
  const [head, ...lines] = csv.trimEnd().split("\r\n");
  const names = head!.split(",");
  return lines.map((l) => Object.fromEntries(l.split(",").map((v, k) => [names[k]!, v])));
}

/** The page's fetch with the session's cookie: status and text. */
const fetched = (page: Page, url: string) =>
  page.evaluate(async (u) => {
    const r = await fetch(u);
    return { status: r.status, text: await r.text() };
  }, url);

describe("the portal in Chromium, over a replayed capture", () => {
  it("acme's top classes, links, CSV and SLA status equal the generator's figures; its name stays text", async () => {
    const { context, page } = await loggedIn("acme-user");
    const dialogs: string[] = [];
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    const errors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    const res = await page.goto(`${base}/portal/customers/acme?period=${PERIOD}`);
    expect(res?.status()).toBe(200);
    const t = truth.acme;
    const used = (Object.keys(t) as ClassId[]).filter((c) => t[c].down + t[c].up > 0);
    const all = used.reduce((a, c) => a + t[c].down + t[c].up, 0);

    // The table: a row per class with traffic, largest first, exact bytes on hover.
    const rows = await page.$$eval("table[data-classes] tbody tr", (trs) =>
      trs.map((tr) => ({
        cls: tr.getAttribute("data-class"),
        down: tr.querySelector("td:nth-child(2) span")?.getAttribute("title"),
        up: tr.querySelector("td:nth-child(3) span")?.getAttribute("title"),
        share: tr.querySelector("td:nth-child(4)")?.textContent,
      })),
    );
    const bySize = [...used].sort((a, b) => t[b].down + t[b].up - (t[a].down + t[a].up));
    expect(rows).toEqual(
      bySize.map((c) => ({
        cls: c,
        down: `${t[c].down.toLocaleString("en-US")} bytes`,
        up: `${t[c].up.toLocaleString("en-US")} bytes`,
        share: `${(((t[c].down + t[c].up) / all) * 100).toFixed(1)} %`,
      })),
    );
    // The bars: one per class, down + up of each as long as its share.
    const bars = await page.$$eval(".class-bars g", (gs) =>
      gs.map((g) => ({
        share: Number(g.getAttribute("data-share")),
        length: [...g.querySelectorAll("rect")].reduce(
          (a, r) => a + Number.parseFloat(r.getAttribute("width")!),
          0,
        ),
      })),
    );
    const top = t[bySize[0]!].down + t[bySize[0]!].up;
    expect(bars).toEqual(
      bySize.map((c) => ({
        share: expect.closeTo((t[c].down + t[c].up) / all, 6),
        length: expect.closeTo(((t[c].down + t[c].up) / top) * 75, 2),
      })),
    );

    // The CSVs of classes and links: the generator's bytes.
    const classes = records(await download(page, "Top classes (CSV)"));
    expect(
      Object.fromEntries(classes.map((r) => [r.class, [Number(r.bytesIn), Number(r.bytesOut)]])),
    ).toEqual(
      Object.fromEntries((Object.keys(t) as ClassId[]).map((c) => [c, [t[c].down, t[c].up]])),
    );
    const links = records(await download(page, "Totals per link (CSV)"));
    expect(links.map((r) => [r.site, r.link, Number(r.bytesIn), Number(r.bytesOut)])).toEqual([
      [
        "hq",
        "fiber",
        used.reduce((a, c) => a + t[c].down, 0),
        used.reduce((a, c) => a + t[c].up, 0),
      ],
    ]);
    const series = records(await download(page, "Throughput series (CSV)"));
    expect(series.reduce((a, r) => a + Number(r.bytesIn), 0)).toBe(
      used.reduce((a, c) => a + t[c].down, 0),
    );

    // The SLA status: the API's report, in words, which is the generator's minutes.
    const range = await page.$eval(".sla h3", (c) => c.textContent);
    expect(range).toContain(PERIOD);
    const report = await fetched(
      page,
      `/api/v1/customers/acme/sla?from=2026-11-22T09:30:00Z&to=2026-11-22T10:30:00Z`,
    );
    expect(report.status).toBe(200);
    const web = (
      JSON.parse(report.text) as { classes: Array<Record<string, unknown>> }
    ).classes.find((c) => c.class === "web")!;
    const minutes = webMinutes("acme");
    expect(web).toMatchObject({
      compliantMinutes: minutes.compliant,
      breachMinutes: minutes.breach,
      target: TARGET,
    });
    const share = minutes.compliant / (minutes.compliant + minutes.breach);
    const webText = await page.$eval(
      'li[data-sla-class="web"] .sla-sentence',
      (p) => p.textContent,
    );
    expect(webText).toBe(
      `web: ${(share * 100).toFixed(1)} % of minutes met the ${TARGET} % target; ${(web.incidents as unknown[]).length} incident${(web.incidents as unknown[]).length === 1 ? "" : "s"}.`,
    );
    expect(
      await page.$eval('li[data-sla-class="web"] [data-minutes]', (p) => p.textContent),
    ).toMatch(new RegExp(`^${minutes.compliant} of ${minutes.compliant + minutes.breach} `));
    // The commit rate of the running billing month, with where it is heading.
    const line = await page.$eval('li[data-sla-link="hq/fiber"]', (li) => li.textContent);
    expect(line).toMatch(
      /^Head office › Fiber: 95th percentile .* within the commit rate of 10\.0 Mbit\/s\. By the end of the billing period: at least /,
    );
    // Availability of the billing month: 27 of 30 measured minutes up (hand-counted), 90 %, below
    // the 99.9 % target; credits 10 % (the lower tier, 99.5) of 1000 EUR, not final yet. The
    // figures shown are the API report's.
    const billingReport = JSON.parse(
      (await fetched(page, "/api/v1/customers/acme/sla?period=this-month")).text,
    ) as {
      links: Array<{ availability: Record<string, number | boolean | null> }>;
      credits: Record<string, unknown>;
    };
    const a = billingReport.links[0]!.availability;
    expect(a).toMatchObject({
      upMinutes: 27,
      downMinutes: 3,
      share: 0.9,
      target: 99.9,
      met: false,
    });
    expect(billingReport.credits).toMatchObject({ percent: 10, amount: 100, final: false });
    const availability = 'li[data-sla-availability="hq/fiber"]';
    expect(await page.$eval(`${availability} .sla-sentence`, (p) => p.textContent)).toBe(
      "Head office › Fiber: up 90 % of the time in this billing period, below the 99.9 % target.",
    );
    expect(await page.$eval(`${availability} [data-availability]`, (p) => p.textContent)).toBe(
      `${(a.share as number) * 100} %`,
    );
    expect(
      await page.$eval(`${availability} [data-availability-minutes]`, (p) => p.textContent),
    ).toBe(
      `${a.upMinutes} minutes up, ${a.downMinutes} down, ${a.unknownMinutes} without information (not counted).`,
    );
    expect(await page.$eval(".sla-credits", (p) => p.textContent)).toBe(
      `Credits owed so far: ${billingReport.credits.percent} % of the monthly fee (100.00 EUR). Credits are only owed for a whole billing period: the figure is final when it ends, ${shownTime(Date.UTC(2026, 11, 1))} UTC.`,
    );
    const slaCsv = await download(page, "SLA report of the period (CSV)");
    expect(slaCsv).toBe(
      (
        await fetched(
          page,
          "/api/v1/customers/acme/sla?from=2026-11-22T09%3A30%3A00Z&to=2026-11-22T10%3A30%3A00Z&format=csv",
        )
      ).text,
    );

    // The hostile name is text: shown as written, no dialog, no extra element.
    expect(await page.$eval("main h1", (h) => h.textContent)).toBe(HOSTILE_NAME);
    expect(await page.$$eval("main script, main img[onerror]", (x) => x.length)).toBe(0);
    await page.waitForSelector('figure.chart[data-drawn="yes"]');
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    expect(await page.content()).not.toContain("BETA-SECRET-MOTD");
    await shots(page, "portal-classes-sla");
    await context.close();
  }, 90_000);

  it("gamma's provider template renders gamma's values, classes and graph", async () => {
    const { context, page } = await loggedIn("gamma-user");
    await page.goto(`${base}/portal/customers/gamma?period=${PERIOD}`);
    const t = truth.gamma;
    const down = (Object.keys(t) as ClassId[]).reduce((a, c) => a + t[c].down, 0);
    const up = (Object.keys(t) as ClassId[]).reduce((a, c) => a + t[c].up, 0);
    expect(await page.$eval("main h1", (h) => h.textContent)).toBe("Welcome, Gamma Home");
    expect(await page.$eval("#down", (e) => e.textContent)).toBe(String(down));
    expect(await page.$eval("#up", (e) => e.textContent)).toBe(String(up));
    expect(await page.$eval("#period", (e) => e.textContent)).toBe(PERIOD);
    expect(await page.locator(".motd").textContent()).toContain("Maintenance on Sunday");
    expect(
      await page.$$eval("table[data-classes] tbody tr", (trs) =>
        trs.map((tr) => tr.getAttribute("data-class")),
      ),
    ).toEqual(
      (Object.keys(t) as ClassId[])
        .filter((c) => t[c].down + t[c].up > 0)
        .sort((a, b) => t[b].down + t[b].up - (t[a].down + t[a].up)),
    );
    await page.waitForSelector('figure.chart[data-drawn="yes"]');
    const plotted = await page.$eval("figure.chart", (f) => {
      const d = (f as unknown as { flowtally: { data: number[][] } }).flowtally.data;
      return d[1]!.reduce((a, b) => a + b, 0);
    });
    // 1-minute points: bps × 60 / 8 of each, summed, is the bytes down.
    expect((plotted * 60) / 8).toBeCloseTo(down, 6);
    const csv = records(await download(page, "Classes as CSV"));
    expect(csv.reduce((a, r) => a + Number(r.bytesIn), 0)).toBe(down);
    // Only the template's pieces: no links table, no SLA, which it does not place.
    expect(await page.locator("table[data-links]").count()).toBe(0);
    await shots(page, "portal-template");
    await context.close();
  }, 90_000);

  it("acme's user reaches nothing of beta through the new URLs: each answers as an unknown id", async () => {
    const { context, page } = await loggedIn("acme-user");
    const range = "from=2026-11-22T09:30:00Z&to=2026-11-22T10:30:00Z";
    const paths = [
      `/api/v1/customers/{id}/totals?${range}`,
      `/api/v1/customers/{id}/totals?${range}&by=link&format=csv`,
      `/api/v1/customers/{id}/traffic?${range}&step=1m&format=csv`,
      `/api/v1/customers/{id}/response-times?${range}&step=1m&format=csv`,
      `/api/v1/customers/{id}/sla?${range}&format=csv`,
      "/api/v1/customers/{id}/sla?period=this-month&format=csv",
    ];
    for (const path of paths) {
      const other = await fetched(page, path.replace("{id}", "beta"));
      const unknown = await fetched(page, path.replace("{id}", "zeta"));
      expect(other.status, path).toBe(404);
      expect(other.text.replace("beta", "zeta"), path).toBe(unknown.text);
    }
    for (const query of ["", `?period=${PERIOD}`, "?period=THIS-MONTH"]) {
      const other = await page.goto(`${base}/portal/customers/beta${query}`);
      expect(other?.status()).toBe(404);
      const otherText = await page.locator("main").innerText();
      const unknown = await page.goto(`${base}/portal/customers/zeta${query}`);
      expect(unknown?.status()).toBe(404);
      expect(await page.locator("main").innerText()).toBe(otherText);
      expect(await page.content()).not.toContain("BETA-SECRET-MOTD");
    }
    // The CSV links acme's page offers are acme's own.
    await page.goto(`${base}/portal/customers/acme?period=${PERIOD}`);
    const hrefs = await page.$$eval(".csv-links a", (as) => as.map((a) => a.getAttribute("href")));
    expect(hrefs.length).toBe(6);
    for (const h of hrefs) expect(h).toMatch(/^\/api\/v1\/customers\/acme\//);
    await context.close();
  }, 90_000);
});
