/**
 * Availability and credits in the SLA report (docs/sla.md "Availability", "Credits"), over HTTP
 * against a real embedded store and account database: measured link-status minutes written to
 * the store, outages and maintenance declared through the API (audited), the billing of the
 * customer's service type; figures against a hand-computed table.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAccountStore } from "../../accounts/account-store.js";
import { type Accounts, accountsConfigOf, createAccounts } from "../../accounts/accounts.js";
import { buildCustomerModel } from "../../collector/classify/customer-model.js";
import { validateConfig } from "../../config/load-config.js";
import { createDuckDbDriver } from "../../registry/duckdb-registry.js";
import type { LinkStatusRow, SeriesStore } from "../../schema/series-store.js";
import { linkStatusRows } from "../../sla/link-status.js";
import { createDuckDbStore } from "../../store/duckdb-store.js";
import { type HttpAnswer, type HttpOptions, httpClient } from "../../test/support/http-client.js";
import { captureLog } from "../../test/support/log-capture.js";
import { type ApiServer, createApiServer } from "./index.js";

const TOKEN = "operator-token-0123456789";
const MIN = 60_000;
/** March 2031 (billing day 1): 31 days of 1440 minutes. */
const MARCH = Date.UTC(2031, 2, 1);
const NOW = Date.UTC(2031, 3, 2, 12);
const auth = { authorization: `Bearer ${TOKEN}` };

const cfg = validateConfig({
  api: { listen: "127.0.0.1:0", operatorTokens: [TOKEN] },
  serviceTypes: [
    {
      id: "business",
      billing: {
        availabilityTarget: 99.9,
        credits: {
          availability: [
            { below: 99.9, percent: 5 },
            { below: 99.5, percent: 10 },
          ],
          serviceLevel: { below: 99, percent: 2 },
        },
        monthlyFee: 1000,
        currency: "EUR",
      },
    },
  ],
  customers: [
    {
      id: "acme",
      name: "Acme",
      serviceType: "business",
      sites: [{ id: "hq", links: [{ id: "fiber", prefixes: ["198.51.100.0/28"] }] }],
    },
    {
      id: "beta",
      name: "Beta",
      serviceType: "business",
      billing: { availabilityTarget: 95 },
      sites: [{ id: "hq", links: [{ id: "fiber", prefixes: ["198.51.100.16/28"] }] }],
    },
  ],
});

let dir: string;
let store: SeriesStore;
let accounts: Accounts;
let api: ApiServer;
let http: (method: string, path: string, o?: HttpOptions) => Promise<HttpAnswer>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "flowtally-sla-availability-"));
  store = createDuckDbStore({ path: join(dir, "series.duckdb") });
  await store.start();
  // Measured: March 1st's first 1000 minutes up, but minutes 100 to 109 down.
  const rows: LinkStatusRow[] = [];
  const link = { customer: "acme", site: "hq", link: "fiber" };
  for (let m = 0; m < 1000; m++) {
    rows.push(...linkStatusRows(link, MARCH + m * MIN, m >= 100 && m < 110));
  }
  await store.addLinkStatus(rows);
  accounts = createAccounts(accountsConfigOf(cfg.api), {
    store: createAccountStore(createDuckDbDriver({ path: join(dir, "registry.duckdb") })),
    now: () => NOW,
  });
  await accounts.start();
  api = createApiServer({
    config: cfg,
    model: buildCustomerModel(cfg),
    store,
    log: captureLog().log,
    now: () => NOW,
    accounts,
  });
  const { port } = await api.listen();
  http = httpClient({ port });
});
afterAll(async () => {
  await api.close();
  await accounts.stop();
  await store.stop();
  await rm(dir, { recursive: true, force: true });
});

const post = (body: object, customer = "acme") =>
  http("POST", `/api/v1/customers/${customer}/outages`, { headers: auth, body });

describe("declared outages", () => {
  it("refuses a link of another customer, an end before the start, a bad kind, naming the field", async () => {
    const fiber = { site: "hq", link: "fiber", start: "2031-03-02T00:00:00Z", kind: "outage" };
    const other = await post({ ...fiber, link: "copper" });
    expect(other.status).toBe(400);
    expect(other.json.error).toMatchObject({ code: "FT_BAD_BODY", parameter: "link" });
    const backwards = await post({ ...fiber, end: "2031-03-01T00:00:00Z" });
    expect(backwards.status).toBe(400);
    expect(backwards.json.error.message).toMatch(/end must be after start/);
    const kind = await post({ ...fiber, kind: "down" });
    expect(kind.status).toBe(400);
    expect(kind.text).toMatch(/kind/);
    const time = await post({ ...fiber, start: "2031-02-30T00:00:00Z" });
    expect(time.status).toBe(400);
    expect(time.text).toMatch(/start.*ISO 8601/);
    const unknown = await post(fiber, "zeta");
    expect(unknown.status).toBe(404);
  });

  it("records, lists, changes and deletes them, each audited", async () => {
    const made = await post({
      site: "hq",
      link: "fiber",
      start: "2031-03-05T00:00:00Z",
      kind: "outage",
      note: "fibre cut",
    });
    expect(made.status, made.text).toBe(201);
    expect(made.json).toMatchObject({ kind: "outage", end: null, note: "fibre cut" });
    expect(made.json.createdBy).toMatch(/^operator-token:/);
    const id = made.json.id as string;
    const patched = await http("PATCH", `/api/v1/customers/acme/outages/${id}`, {
      headers: auth,
      body: { end: "2031-03-05T01:00:00Z" },
    });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.json.end).toBe("2031-03-05T01:00:00Z");
    // Another customer's path does not reach it.
    const wrong = await http("DELETE", `/api/v1/customers/beta/outages/${id}`, { headers: auth });
    expect(wrong.status).toBe(404);
    const gone = await http("DELETE", `/api/v1/customers/acme/outages/${id}`, { headers: auth });
    expect(gone.status).toBe(204);
    const list = await http("GET", "/api/v1/customers/acme/outages", { headers: auth });
    expect(list.json.outages).toEqual([]);
    const audit = await accounts.readAudit({});
    expect(audit.map((a) => [a.action, a.target])).toEqual([
      ["outage.add", `acme/${id}`],
      ["outage.update", `acme/${id}`],
      ["outage.delete", `acme/${id}`],
    ]);
  });
});

describe("availability and credits in the SLA report", () => {
  beforeAll(async () => {
    // Declared: an outage of 30 minutes on March 2nd (nothing measured then), maintenance over
    // minutes 100 to 104 of March 1st (measured down: left out).
    for (const body of [
      { start: "2031-03-02T00:00:00Z", end: "2031-03-02T00:30:00Z", kind: "outage" },
      { start: "2031-03-01T01:40:00Z", end: "2031-03-01T01:45:00Z", kind: "maintenance" },
    ]) {
      const r = await post({ site: "hq", link: "fiber", ...body });
      expect(r.status, r.text).toBe(201);
    }
  });

  it("counts measured and declared minutes per link; credits of the billing period", async () => {
    const r = await http("GET", "/api/v1/customers/acme/sla?period=2031-03", { headers: auth });
    expect(r.status, r.text).toBe(200);
    // Hand-computed: up 990 (1000 measured minutes, 10 down); maintenance 5 of the down ones;
    // down 5 measured + 30 declared; unknown 44 640 − 5 − 1025.
    expect(r.json.links[0].availability).toEqual({
      target: 99.9,
      minutes: 44_640,
      upMinutes: 990,
      downMinutes: 35,
      unknownMinutes: 43_610,
      maintenanceMinutes: 5,
      share: 990 / 1025,
      met: false,
      sources: { measuredMinutes: 995, declaredOutageMinutes: 30 },
    });
    // 96.59 % is below both tiers: the lower one (99.5) applies, 10 % of 1000 EUR.
    expect(r.json.credits).toEqual({
      from: "2031-03-01T00:00:00Z",
      to: "2031-04-01T00:00:00Z",
      final: true,
      percent: 10,
      amount: 100,
      currency: "EUR",
      items: [
        {
          reason: "availability",
          site: "hq",
          link: "fiber",
          share: 990 / 1025,
          below: 99.5,
          percent: 10,
        },
      ],
    });
    expect(r.json.billing).toMatchObject({
      availabilityTarget: 99.9,
      monthlyFee: 1000,
      currency: "EUR",
    });
  });

  it("gives no credits for a range that is not a billing period, and says why", async () => {
    const r = await http(
      "GET",
      "/api/v1/customers/acme/sla?from=2031-03-01T00:00:00Z&to=2031-03-02T00:00:00Z",
      { headers: auth },
    );
    expect(r.status, r.text).toBe(200);
    expect(r.json.credits).toBeNull();
    expect(r.json.creditsNote).toMatch(/credits are per billing period/);
    expect(r.json.links[0].availability).toMatchObject({
      minutes: 1440,
      upMinutes: 990,
      downMinutes: 5,
    });
  });

  it("the customer's own billing key wins over its service type's; no evidence, no share", async () => {
    const r = await http("GET", "/api/v1/customers/beta/sla?period=2031-03", { headers: auth });
    expect(r.json.links[0].availability).toMatchObject({ target: 95, share: null, met: null });
    expect(r.json.credits).toMatchObject({ percent: 0, amount: 0, items: [] });
  });

  it("puts availability and credits in the CSV", async () => {
    const r = await http("GET", "/api/v1/customers/acme/sla?period=2031-03&format=csv", {
      headers: auth,
    });
    const [header, ...lines] = r.text.trim().split("\r\n");
    const columns = header!.split(",");
    const rowOf = (kind: string) => {
      const cells = lines.find((l) => l.startsWith(`${kind},`))!.split(",");
      return Object.fromEntries(columns.map((c, i) => [c, cells[i]]));
    };
    expect(rowOf("link")).toMatchObject({
      availabilityTarget: "99.9",
      availability: String(990 / 1025),
      availabilityMet: "false",
      upMinutes: "990",
      downMinutes: "35",
      unknownMinutes: "43610",
      maintenanceMinutes: "5",
    });
    expect(rowOf("credits")).toMatchObject({
      creditPercent: "10",
      creditAmount: "100",
      currency: "EUR",
    });
    expect(rowOf("credit")).toMatchObject({
      site: "hq",
      link: "fiber",
      creditBelow: "99.5",
      creditPercent: "10",
    });
  });

  it("lists every link's outages beside the incidents for operators: declared (not maintenance) and measured down periods, JSON and CSV", async () => {
    const r = await http("GET", "/api/v1/sla/breaches?period=2031-03", { headers: auth });
    expect(r.status, r.text).toBe(200);
    expect(r.json.incidents).toEqual([]);
    // Measured: minutes 100 to 109 of March 1st down, one period; declared: March 2nd's 30 min.
    expect(r.json.outages).toEqual([
      {
        customer: "acme",
        site: "hq",
        link: "fiber",
        source: "measured",
        start: "2031-03-01T01:40:00Z",
        end: "2031-03-01T01:50:00Z",
      },
      {
        customer: "acme",
        site: "hq",
        link: "fiber",
        source: "declared",
        start: "2031-03-02T00:00:00Z",
        end: "2031-03-02T00:30:00Z",
      },
    ]);
    // A range after the measured period and before the declared one has none.
    const none = await http(
      "GET",
      "/api/v1/sla/breaches?from=2031-03-01T02:00:00Z&to=2031-03-02T00:00:00Z",
      { headers: auth },
    );
    expect(none.json.outages).toEqual([]);
    const csv = await http("GET", "/api/v1/sla/breaches?period=2031-03&format=csv", {
      headers: auth,
    });
    expect(csv.status, csv.text).toBe(200);
    expect(csv.headers["content-type"]).toMatch(/^text\/csv/);
    expect(csv.text.split("\r\n")).toEqual([
      "kind,customer,class,site,link,source,threshold,target,start,end,minutes,worstMinute,worstShare",
      "outage,acme,,hq,fiber,measured,,,2031-03-01T01:40:00Z,2031-03-01T01:50:00Z,,,",
      "outage,acme,,hq,fiber,declared,,,2031-03-02T00:00:00Z,2031-03-02T00:30:00Z,,,",
      "",
    ]);
    const bad = await http("GET", "/api/v1/sla/breaches?period=2031-03&format=xml", {
      headers: auth,
    });
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/format/);
  });
});
