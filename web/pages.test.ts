/**
 * The pages of web/ over a real started API (HTTP, no browser): login and logout forms with the
 * session cookie and CSRF, the overview's figures, sorting, filters, search and paging against
 * sums computed by hand from the fixture, the CSV link against the API's CSV, the portal's
 * message of the day and totals, one 404 page for another customer and an unknown id, the
 * strict CSP (no inline script anywhere), and the content-named assets.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cookieOf, type HttpAnswer } from "../test/support/http-client.js";
import {
  expectedTotals,
  FIXTURE,
  MARK,
  NOW,
  PASSWORD,
  startWebServer,
  TOKEN,
  type WebServer,
} from "../test/support/web-fixture.js";

const FORM = { "content-type": "application/x-www-form-urlencoded" };
const MONTH = "period=month&month=2026-11";

let s: WebServer;
const pagesSeen: HttpAnswer[] = [];

async function login(user: string, area = "console", next?: string) {
  const body = new URLSearchParams({ user, password: PASSWORD, ...(next ? { next } : {}) });
  const r = await s.http("POST", `/${area}/login`, { headers: FORM, raw: body.toString() });
  expect(r.status, r.text).toBe(303);
  return { cookie: cookieOf(r), location: String(r.headers.location) };
}

async function get(path: string, cookie: string) {
  const r = await s.http("GET", path, { headers: { cookie } });
  if ((r.headers["content-type"] ?? "").startsWith("text/html")) pagesSeen.push(r);
  return r;
}

/** The customer ids of the overview table's rows, in order. */
function tableIds(text: string): string[] {
  const body = text.split("<tbody>")[1]!.split("</tbody>")[0]!;
  return [...body.matchAll(/<tr><td><a href="\/console\/customers\/([^"?]+)/g)].map((m) => m[1]!);
}

const decode = (s: string) =>
  s
    .replaceAll("&amp;", "&")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&quot;", '"')
    .replaceAll("&#39;", "'");

beforeAll(async () => {
  s = await startWebServer();
});
afterAll(() => s.close());

describe("login and logout", () => {
  it("redirects a page request without a session to the login page, and back after the login", async () => {
    const r = await s.http("GET", `/console?${MONTH}`);
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe(
      `/console/login?next=${encodeURIComponent(`/console?${MONTH}`)}`,
    );
    const page = await s.http("GET", String(r.headers.location));
    expect(page.status).toBe(200);
    expect(page.text).toContain(
      '<input type="hidden" name="next" value="/console?period=month&amp;month=2026-11">',
    );
    const { cookie, location } = await login("ops", "console", `/console?${MONTH}`);
    expect(cookie).toMatch(/^__Host-flowtally_session=/);
    expect(location).toBe(`/console?${MONTH}`);
    expect((await get(location, cookie)).status).toBe(200);
  });

  it("answers a wrong password on the page, and never redirects off the site", async () => {
    const bad = await s.http("POST", "/console/login", {
      headers: FORM,
      raw: "user=ops&password=wrong",
    });
    expect(bad.status).toBe(401);
    expect(bad.text).toContain("The user name or the password is not right.");
    expect(bad.headers["set-cookie"]).toBeUndefined();
    for (const next of [
      "//evil.example/",
      "https://evil.example/",
      "/console/\\evil",
      "/api/v1/users",
    ]) {
      expect((await login("ops", "console", next)).location).toBe("/console");
    }
    // A customer's user lands on its own portal, whatever next says of the console.
    expect((await login("acme-user", "portal", "/console")).location).toBe(
      "/portal/customers/acme",
    );
  });

  it("logs out only with the session's CSRF token in the form", async () => {
    const { cookie } = await login("ops");
    const page = await get(`/console?${MONTH}`, cookie);
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)![1]!;
    const forged = await s.http("POST", "/logout", {
      headers: { ...FORM, cookie },
      raw: "area=console&csrf=not-the-token",
    });
    expect(forged.status).toBe(403);
    expect((await get("/console", cookie)).status).toBe(200);
    const crossSite = await s.http("POST", "/logout", {
      headers: { ...FORM, cookie, origin: "https://evil.example" },
      raw: `area=console&csrf=${csrf}`,
    });
    expect(crossSite.status).toBe(403);
    const fetchSite = await s.http("POST", "/logout", {
      headers: { ...FORM, cookie, "sec-fetch-site": "cross-site" },
      raw: `area=console&csrf=${csrf}`,
    });
    expect(fetchSite.status).toBe(403);
    // What Chromium sends for a page's own login form under Referrer-Policy: no-referrer.
    const ownForm = await s.http("POST", "/console/login", {
      headers: { ...FORM, origin: "null", "sec-fetch-site": "same-origin" },
      raw: new URLSearchParams({ user: "ops", password: PASSWORD }).toString(),
    });
    expect(ownForm.status).toBe(303);
    const nullOrigin = await s.http("POST", "/console/login", {
      headers: { ...FORM, origin: "null" },
      raw: new URLSearchParams({ user: "ops", password: PASSWORD }).toString(),
    });
    expect(nullOrigin.status).toBe(403);
    const out = await s.http("POST", "/logout", {
      headers: { ...FORM, cookie },
      raw: `area=console&csrf=${encodeURIComponent(csrf)}`,
    });
    expect(out.status).toBe(303);
    expect(out.headers.location).toBe("/console/login");
    expect(String(out.headers["set-cookie"])).toContain("Max-Age=0");
    expect((await s.http("GET", "/console", { headers: { cookie } })).status).toBe(303);
  });
});

describe("the console's overview", () => {
  let cookie: string;
  beforeAll(async () => {
    cookie = (await login("ops")).cookie;
  });

  it("shows every customer with the hand-summed bytes down and up, exact on hover", async () => {
    const r = await get(`/console?${MONTH}`, cookie);
    expect(r.status).toBe(200);
    for (const c of FIXTURE) {
      const t = expectedTotals(c);
      const row = r.text
        .split(`<tr><td><a href="/console/customers/${c.id}?`)[1]!
        .split("</tr>")[0]!;
      expect(row).toContain(`title="${t.bytesIn.toLocaleString("en-US")} bytes"`);
      expect(row).toContain(`title="${t.bytesOut.toLocaleString("en-US")} bytes"`);
    }
    // Escaped, never markup: the name with < > & in it.
    expect(r.text).toContain("Delta &lt;b&gt;&amp;amp;&lt;/b&gt; Co");
    expect(r.text).not.toContain("Delta <b>");
    // Sorted by bytes down, highest first.
    const byIn = [...FIXTURE].sort((a, b) => expectedTotals(b).bytesIn - expectedTotals(a).bytesIn);
    expect(tableIds(r.text)).toEqual(byIn.map((c) => c.id));
  });

  it("sorts by any column both ways, and filters by service type, router and text", async () => {
    const ids = async (q: string) => tableIds((await get(`/console?${MONTH}&${q}`, cookie)).text);
    const byOut = [...FIXTURE].sort(
      (a, b) => expectedTotals(a).bytesOut - expectedTotals(b).bytesOut,
    );
    expect(await ids("sort=bytesOut&order=asc")).toEqual(byOut.map((c) => c.id));
    expect(await ids("sort=name&order=desc")).toEqual(
      [...FIXTURE].sort((a, b) => b.name.localeCompare(a.name)).map((c) => c.id),
    );
    expect(await ids("serviceType=residential&sort=customer&order=asc")).toEqual([
      "delta",
      "gamma",
    ]);
    expect(await ids("router=192.0.2.2&sort=customer&order=asc")).toEqual(["beta", "delta"]);
    expect(await ids("search=ACM")).toEqual(["acme"]);
    expect(await ids("search=home")).toEqual(["gamma"]);
    // The period decides: nothing on 2026-11-02 (every row zero), and a bad router is shown.
    const bad = await get(`/console?${MONTH}&router=203.0.113.9`, cookie);
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('id="problem-router"');
    const year = await get("/console?period=year&year=26", cookie);
    expect(year.status).toBe(400);
    expect(year.text).toContain(
      '<span class="problem" id="problem-year" role="alert">a year is four digits (2026)</span>',
    );
    expect(year.text).toContain('<option value="year" selected>');
    const custom = await get(
      "/console?period=custom&from=2026-11-02T00:00&to=2026-11-01T00:00",
      cookie,
    );
    expect(custom.status).toBe(400);
    expect(custom.text).toContain('id="problem-to"');
  });

  it("shows only the chosen columns", async () => {
    const r = await get(`/console?${MONTH}&col=customer&col=bytesOut`, cookie);
    const head = r.text.split("<thead>")[1]!.split("</thead>")[0]!;
    expect([...head.matchAll(/<th /g)].length).toBe(2);
    expect(head).toContain("Bytes up");
    expect(head).not.toContain("Bytes down");
  });

  it("shows the average rates over the time covered, and links the CSV of the columns shown", async () => {
    // November is still running at the clock's 2026-11-02T12:00:30Z: 129 630 s have passed.
    const r = await get(
      `/console?${MONTH}&col=bpsOut&col=customer&col=bpsIn&sort=bpsIn&order=asc`,
      cookie,
    );
    expect(r.status).toBe(200);
    const head = r.text.split("<thead>")[1]!.split("</thead>")[0]!;
    // The page's order, whatever the order of the URL's col.
    expect([...head.matchAll(/data-field="(\w+)"/g)].map((m) => m[1])).toEqual([
      "customer",
      "bpsIn",
      "bpsOut",
    ]);
    expect(head).toContain('aria-sort="ascending"');
    const byRate = [...FIXTURE].sort(
      (a, b) => expectedTotals(a).bytesIn - expectedTotals(b).bytesIn,
    );
    expect(tableIds(r.text)).toEqual(byRate.map((c) => c.id));
    const acme = expectedTotals(FIXTURE[0]);
    const bps = Math.round((acme.bytesIn * 8) / 129_630);
    expect(r.text).toContain(`title="${bps.toLocaleString("en-US")} bit/s"`);
    const href = decode(/<a href="([^"]+)" download/.exec(r.text)![1]!);
    expect(new URLSearchParams(href.split("?")[1]).get("fields")).toBe("customer,bpsIn,bpsOut");
    const csv = await s.http("GET", href, { headers: { cookie } });
    expect(csv.text.split("\r\n")[0]).toBe("customer,bpsIn,bpsOut");
    const acmeLine = csv.text.split("\r\n").find((l) => l.startsWith("acme,"));
    expect(acmeLine).toBe(`acme,${(acme.bytesIn * 8) / 129_630},${(acme.bytesOut * 8) / 129_630}`);
  });

  it("links the API's CSV of exactly the rows shown (filters, search and order), which equals the hand figures", async () => {
    const r = await get(`/console?${MONTH}&serviceType=business&sort=bytesOut&order=asc`, cookie);
    // Every column, in the page's order (the rates beside the bytes).
    const fields =
      "customer,name,serviceType,bytesIn,bytesOut,bpsIn,bpsOut,packetsIn,packetsOut,flows";
    const href = decode(/<a href="([^"]+)" download/.exec(r.text)![1]!);
    expect(href.startsWith("/api/v1/overview?")).toBe(true);
    const viaPage = await s.http("GET", href, { headers: { cookie } });
    const viaApi = await s.http(
      "GET",
      `/api/v1/overview?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z&serviceType=business&sort=bytesOut&order=asc&format=csv&fields=${fields}`,
      { headers: { authorization: `Bearer ${TOKEN}` } },
    );
    expect(viaPage.status).toBe(200);
    expect(viaPage.text).toBe(viaApi.text);
    const lines = viaPage.text.trimEnd().split("\r\n");
    expect(lines[0]).toBe(fields);
    // The page says the CSV holds every page's rows, not only the page on screen.
    expect(r.text).toContain("(the columns shown, the rows of every page: 2 rows)");
    const business = FIXTURE.filter((c) => c.serviceType === "business").sort(
      (a, b) => expectedTotals(a).bytesOut - expectedTotals(b).bytesOut,
    );
    expect(lines.slice(1).map((l) => l.split(",").slice(0, 5).join(","))).toEqual(
      business.map((c) => {
        const t = expectedTotals(c);
        return `${c.id},${c.name},${c.serviceType},${t.bytesIn},${t.bytesOut}`;
      }),
    );
    expect(tableIds(r.text)).toEqual(business.map((c) => c.id));
  });

  it("keeps customer users out (403 page) and shows a customer's drill-down with a graph of the API's series", async () => {
    const acme = (await login("acme-user", "portal")).cookie;
    const refused = await get("/console", acme);
    expect(refused.status).toBe(403);
    const r = await get(`/console/customers/acme?${MONTH}&view=day&at=2026-11-01`, cookie);
    expect(r.status).toBe(200);
    const t = expectedTotals(FIXTURE[0]);
    expect(r.text).toContain(`title="${t.bytesIn.toLocaleString("en-US")} bytes"`);
    const url = decode(/data-traffic="([^"]+)"/.exec(r.text)![1]!);
    expect(url).toBe(
      "/api/v1/customers/acme/traffic?from=2026-11-01T00%3A00%3A00.000Z&to=2026-11-02T00%3A00%3A00.000Z&step=5m",
    );
    // No profile version stored: the link's rate now, through the graph's range.
    expect(r.text).toContain(`data-commit-steps="[[${Date.UTC(2026, 10, 1)},10000000]]"`);
    const series = await s.http("GET", url, { headers: { cookie } });
    expect(series.status).toBe(200);
    expect(series.json.points).toHaveLength(288);
    const link = await get(
      "/console/customers/acme/sites/hq/links/fiber?view=week&at=2026-11-01",
      cookie,
    );
    expect(link.status).toBe(200);
    expect(decode(/data-traffic="([^"]+)"/.exec(link.text)![1]!)).toContain(
      "step=1h&site=hq&link=fiber",
    );
    for (const missing of [
      "/console/customers/zeta",
      "/console/customers/acme/sites/nosite",
      "/console/customers/acme/sites/hq/links/nolink",
      "/console/nowhere",
    ]) {
      expect((await get(missing, cookie)).status, missing).toBe(404);
    }
  });
});

describe("the portal", () => {
  it("shows the customer its messages of the day, branding and yesterday's hand-summed totals", async () => {
    const { cookie, location } = await login("acme-user", "portal");
    expect(location).toBe("/portal/customers/acme");
    const r = await get(location, cookie);
    expect(r.status).toBe(200);
    expect(r.text).toContain(MARK.acme);
    expect(r.text).toContain("Maintenance on Sunday 02:00 UTC");
    expect(r.text).toContain("Example Networks · support +1 555 0100");
    expect(r.text).not.toContain(MARK.beta);
    const yesterday = r.text.split('<a href="?period=YESTERDAY"')[1]!.split("</tr>")[0]!;
    const t = expectedTotals(FIXTURE[0]);
    expect(yesterday).toContain(`title="${t.bytesIn.toLocaleString("en-US")} bytes"`);
    expect(yesterday).toContain(`title="${t.bytesOut.toLocaleString("en-US")} bytes"`);
    // Every Packeteer period is there.
    for (const p of ["LAST-MINUTE", "LAST-FULL-HOUR", "LAST-7-DAYS", "THIS-MONTH", "LAST-MONTH"]) {
      expect(r.text).toContain(`?period=${p}"`);
    }
    const loginPage = await s.http("GET", "/portal/login");
    expect(loginPage.text).toContain(
      "Customers of Example Networks: log in with the account we sent you.",
    );
    expect(loginPage.text).toMatch(
      /<link rel="stylesheet" href="\/assets\/brand-[0-9a-f]{12}\.css">/,
    );
  });

  it("sums each link's bytes of the chosen period exactly, partial hours included", async () => {
    const { cookie } = await login("acme-user", "portal");
    s.clock.now = Date.parse("2026-11-02T10:30:30Z");
    try {
      // LAST-24-HOURS is 2026-11-01 10:30 to 2026-11-02 10:30: acme's minutes 30-59 of 10:00.
      // By hand: Σk=30..59 (3 000 000 + 1000k) = 90 000 000 + 1000 × 1335; out: 12 000 000 + 1335.
      const r = await get("/portal/customers/acme?period=LAST-24-HOURS", cookie);
      expect(r.status).toBe(200);
      const links = r.text.split('<table class="data" data-links>')[1]!.split("</table>")[0]!;
      expect(links).toContain("Head office › Fiber");
      expect(links).toContain('title="91,335,000 bytes"');
      expect(links).toContain('title="12,001,335 bytes"');
      const total = r.text.split('<a href="?period=LAST-24-HOURS"')[1]!.split("</tr>")[0]!;
      expect(total).toContain('title="91,335,000 bytes"');
    } finally {
      s.clock.now = NOW;
    }
  });

  it("answers another customer's pages exactly as an unknown id's", async () => {
    const acme = (await login("acme-user", "portal")).cookie;
    const ops = (await login("ops")).cookie;
    const unknown = await get("/portal/customers/zeta", ops);
    expect(unknown.status).toBe(404);
    for (const path of [
      "/portal/customers/beta",
      "/portal/customers/beta?period=TODAY",
      "/portal/customers/zeta",
    ]) {
      const r = await get(path, acme);
      expect(r.status, path).toBe(404);
      expect(r.text, path).toBe(unknown.text);
    }
    const api = await s.http(
      "GET",
      "/api/v1/customers/beta/traffic?from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z",
      { headers: { cookie: acme } },
    );
    expect(api.status).toBe(404);
    expect(api.text).not.toContain(MARK.beta);
  });
});

describe("the pages' safety", () => {
  it("sends a strict CSP, and no page has an inline script or event handler attribute", () => {
    expect(pagesSeen.length).toBeGreaterThan(10);
    for (const p of pagesSeen) {
      expect(p.headers["content-security-policy"]).toBe(
        "default-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'",
      );
      expect(p.headers["cache-control"]).toBe("no-store");
      for (const tag of p.text.matchAll(/<script\b[^>]*>/g))
        expect(tag[0]).toMatch(/ src="\/assets\//);
      expect(p.text).not.toMatch(/<[^>]+\son[a-z]+\s*=/i);
      expect(p.text).not.toMatch(/\sstyle\s*=/i);
    }
  });

  it("serves the npm packages' files, named by content and cached for a year", async () => {
    const page = await s.http("GET", "/console/login");
    const src = /<script src="(\/assets\/htmx-[0-9a-f]{12}\.js)"/.exec(page.text)![1]!;
    const r = await s.http("GET", src);
    expect(r.status).toBe(200);
    expect(r.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    const require = createRequire(import.meta.url);
    expect(r.text).toBe(readFileSync(require.resolve("htmx.org/dist/htmx.min.js"), "utf8"));
    expect(r.text).toContain('version:"2.0.11"');
    expect((await s.http("GET", "/assets/htmx-000000000000.js")).status).toBe(404);
  });
});

describe("10 000 customers", () => {
  let big: WebServer;
  beforeAll(async () => {
    big = await startWebServer({ extraCustomers: 10_000 });
  }, 120_000);
  afterAll(() => big.close());

  it("pages and sorts on the server: a page holds the page's rows only, in the asked order", async () => {
    const r0 = await big.http("POST", "/console/login", {
      headers: FORM,
      raw: new URLSearchParams({ user: "ops", password: PASSWORD }).toString(),
    });
    const cookie = cookieOf(r0);
    const started = performance.now();
    const r = await big.http("GET", `/console?${MONTH}&sort=customer&order=desc&size=50&page=3`, {
      headers: { cookie },
    });
    const ms = performance.now() - started;
    expect(r.status).toBe(200);
    // 10 004 ids sorted descending (letters after digits): gamma, delta, c10000 … c00001, beta,
    // acme; page 3 of 50 rows is rows 100-149.
    const all = [
      "gamma",
      "delta",
      ...Array.from({ length: 10_000 }, (_, i) => `c${String(10_000 - i).padStart(5, "0")}`),
      "beta",
      "acme",
    ];
    expect(tableIds(r.text)).toEqual(all.slice(100, 150));
    expect(r.text).toContain("<span>Page 3 of 201</span>");
    expect(r.text).toContain("<span data-total>10004</span>");
    // The page stays small whatever the customer count (50 rows, not 10 004).
    expect(Buffer.byteLength(r.text)).toBeLessThan(60_000);
    console.log(
      `overview of 10 004 customers, page of 50: ${Math.round(ms)} ms, ${Buffer.byteLength(r.text)} bytes`,
    );
    const last = await big.http(
      "GET",
      `/console?${MONTH}&sort=customer&order=desc&size=50&page=999`,
      {
        headers: { cookie },
      },
    );
    expect(tableIds(last.text)).toEqual(all.slice(10_000));
  }, 60_000);
});
