/**
 * The SLA endpoints against real stores (the embedded one and influxd 1.6.7), the same expected
 * answers on both: known response-time minutes and 5-minute traffic in, figures computed by hand
 * out. The stores derive the SLA rows themselves (sla/series.ts) from the response rows written.
 *
 * 2026-11-22 (UTC), class web (threshold 200 ms, target 95 %), customer acme:
 *
 * | minute | hq/fiber good/tx | hq/backup good/tx | summed    | verdict   |
 * |--------|------------------|-------------------|-----------|-----------|
 * | 10:00  | 10 / 10          | 0 / 10            | 10 / 20   | breach (50 %)  |
 * | 10:01  | 90 / 100         |                   | 90 / 100  | breach (90 %)  |
 * | 10:02  | 99 / 100         |                   | 99 / 100  | compliant      |
 * | 10:03  |                  |                   |           | no data        |
 * | 10:04  | 38 / 40          |                   | 38 / 40   | compliant (95 % exactly) |
 * | 10:05  | 9 / 10           |                   |           | breach (90 %)  |
 * | 10:06  | 5 / 10           |                   |           | breach (50 %: the worst) |
 * | 10:07  | 5 / 10           |                   |           | breach (50 %, later: not the worst) |
 * | 10:08, 10:09 |            |                   |           | no data        |
 *
 * Class other (no target): acme fiber 10:00, 5 of 5: no data. beta web 10:03: 0 of 1, a breach.
 * Traffic, 5-minute rows of hq/fiber in: 37.5 MB at 10:00 (1 Mbit/s), 75 MB at 10:05 (2 Mbit/s).
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCustomerModel } from "../../collector/classify/customer-model.js";
import { validateConfig } from "../../config/load-config.js";
import type { Config } from "../../schema/config.js";
import {
  type ResponseTimeRowDelta,
  type SeriesStore,
  zeroResponseTimeCounters,
} from "../../schema/series-store.js";
import { configLevels } from "../../sla/config-levels.js";
import { apiStores } from "../../test/support/api-stores.js";
import { captureLog } from "../../test/support/log-capture.js";
import { type ApiServer, createApiServer } from "./index.js";
import { periodRange } from "./sla-endpoints.js";

const MIN = 60_000;
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 22);
const at = (h: number, m = 0) => T0 + h * HOUR + m * MIN;
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");
const TOKEN = "operator-token-0123456789";

const cfg: Readonly<Config> = validateConfig({
  api: { listen: "127.0.0.1:0", operatorTokens: [TOKEN] },
  customers: [
    {
      id: "acme",
      name: "Acme",
      billing: {
        percentileOf: "in",
        day: 1,
        bills: [{ id: "hq-all", links: ["hq/fiber", "hq/backup"], commitRate: "2M" }],
      },
      sites: [
        {
          id: "hq",
          links: [
            { id: "fiber", prefixes: ["198.51.100.0/28"], commitRate: "1M" },
            { id: "backup", prefixes: ["198.51.100.16/28"] },
          ],
        },
      ],
    },
    {
      id: "beta",
      name: "Beta",
      sites: [{ id: "home", links: [{ id: "ftth", prefixes: ["203.0.113.0/28"] }] }],
    },
  ],
  classes: [
    {
      id: "web",
      match: { protocol: ["tcp"] },
      totalDelayThreshold: "200ms",
      serviceLevelTarget: 95,
    },
  ],
  defaultClass: "other",
});

function rt(
  customer: string,
  site: string,
  link: string,
  trafficClass: string,
  t: number,
  good: number,
  transactions: number,
): ResponseTimeRowDelta {
  return {
    ...zeroResponseTimeCounters(),
    level: "1m",
    startMs: t,
    customer,
    site,
    link,
    trafficClass,
    transactions,
    good,
    bins: [[300, transactions]],
  };
}

const fiber = (m: number, good: number, tx: number) =>
  rt("acme", "hq", "fiber", "web", at(10, m), good, tx);

const RESPONSES: ResponseTimeRowDelta[] = [
  fiber(0, 10, 10),
  rt("acme", "hq", "backup", "web", at(10, 0), 0, 10),
  fiber(1, 90, 100),
  fiber(2, 99, 100),
  fiber(4, 38, 40),
  fiber(5, 9, 10),
  fiber(6, 5, 10),
  fiber(7, 5, 10),
  rt("acme", "hq", "fiber", "other", at(10, 0), 5, 5),
  rt("beta", "home", "ftth", "web", at(10, 3), 0, 1),
];

const { log } = captureLog();

const STORES = apiStores({ log, slaLevel: configLevels(cfg) });

describe("periods", () => {
  const now = Date.UTC(2026, 10, 22, 12);
  it("this-month, last-month and YYYY-MM run from the billing day to the same day of the next month", () => {
    expect(periodRange("this-month", now, 1)).toEqual({
      fromMs: Date.UTC(2026, 10, 1),
      toMs: Date.UTC(2026, 11, 1),
    });
    expect(periodRange("this-month", now, 28)).toEqual({
      fromMs: Date.UTC(2026, 9, 28),
      toMs: Date.UTC(2026, 10, 28),
    });
    expect(periodRange("last-month", now, 1)).toEqual({
      fromMs: Date.UTC(2026, 9, 1),
      toMs: Date.UTC(2026, 10, 1),
    });
    expect(periodRange("last-month", Date.UTC(2027, 0, 3), 15)).toEqual({
      fromMs: Date.UTC(2026, 10, 15),
      toMs: Date.UTC(2026, 11, 15),
    });
    expect(periodRange("2024-02", now, 1)).toEqual({
      fromMs: Date.UTC(2024, 1, 1),
      toMs: Date.UTC(2024, 2, 1),
    });
    expect(() => periodRange("2026-13", now, 1)).toThrow(/period "2026-13"/);
  });
});

for (const backend of STORES) {
  describe(`SLA API on the ${backend.name} store`, () => {
    let store: SeriesStore;
    let close: () => Promise<void>;
    let api: ApiServer;
    let base: string;

    beforeAll(async () => {
      ({ store, close } = await backend.open());
      await store.addResponseTimes(RESPONSES);
      await store.addDeltas([
        {
          level: "5m",
          startMs: at(10, 0),
          customer: "acme",
          site: "hq",
          link: "fiber",
          trafficClass: "web",
          direction: "in",
          bytes: 37_500_000,
          packets: 1,
          flows: 1,
        },
        {
          level: "5m",
          startMs: at(10, 5),
          customer: "acme",
          site: "hq",
          link: "fiber",
          trafficClass: "web",
          direction: "in",
          bytes: 75_000_000,
          packets: 1,
          flows: 1,
        },
        // The backup link: 45 MB in the first window only (1.2 Mbit/s).
        {
          level: "5m",
          startMs: at(10, 0),
          customer: "acme",
          site: "hq",
          link: "backup",
          trafficClass: "web",
          direction: "in",
          bytes: 45_000_000,
          packets: 1,
          flows: 1,
        },
        // Out is larger but acme bills `in`.
        {
          level: "5m",
          startMs: at(10, 5),
          customer: "acme",
          site: "hq",
          link: "fiber",
          trafficClass: "web",
          direction: "out",
          bytes: 750_000_000,
          packets: 1,
          flows: 1,
        },
      ]);
      api = createApiServer({
        config: cfg,
        model: buildCustomerModel(cfg),
        store,
        log,
        now: () => at(12) + 30_000,
      });
      const { port } = await api.listen();
      base = `http://127.0.0.1:${port}`;
    }, 60_000);

    afterAll(async () => {
      await api?.close();
      await close?.();
    });

    async function get(path: string, token: string | null = TOKEN) {
      const res = await fetch(`${base}${path}`, {
        headers: token === null ? {} : { authorization: `Bearer ${token}` },
      });
      const text = await res.text();
      const json = res.headers.get("content-type")?.startsWith("application/json")
        ? JSON.parse(text)
        : undefined;
      return { status: res.status, headers: res.headers, text, json };
    }

    async function bad(path: string, parameter: string) {
      const r = await get(path);
      expect(r.status, r.text).toBe(400);
      expect(r.json.error.code).toBe("FT_BAD_PARAMETER");
      expect(r.json.error.parameter).toBe(parameter);
      return r.json.error.message as string;
    }

    const RANGE = `from=${iso(at(10))}&to=${iso(at(10, 10))}`;

    it("per class: transaction-weighted good share, minutes by verdict, incidents", async () => {
      const r = await get(`/api/v1/customers/acme/sla?${RANGE}`);
      expect(r.status, r.text).toBe(200);
      expect(r.json).toMatchObject({
        customer: "acme",
        from: "2026-11-22T10:00:00Z",
        to: "2026-11-22T10:10:00Z",
        inProgress: false,
        billing: { percentileOf: "in", day: 1 },
      });
      const [web, other] = r.json.classes;
      expect(web).toEqual({
        class: "web",
        threshold: 200,
        target: 95,
        transactions: 290,
        good: 256,
        goodShare: 256 / 290,
        minutes: 10,
        compliantMinutes: 2,
        breachMinutes: 5,
        noDataMinutes: 3,
        compliantShare: 2 / 7,
        estimated: false,
        levels: [
          { from: "2026-11-22T10:00:00Z", to: "2026-11-22T10:10:00Z", threshold: 200, target: 95 },
        ],
        incidents: [
          {
            start: "2026-11-22T10:00:00Z",
            end: "2026-11-22T10:02:00Z",
            minutes: 2,
            worstMinute: "2026-11-22T10:00:00Z",
            worstShare: 0.5,
          },
          {
            start: "2026-11-22T10:05:00Z",
            end: "2026-11-22T10:08:00Z",
            minutes: 3,
            worstMinute: "2026-11-22T10:06:00Z",
            worstShare: 0.5,
          },
        ],
      });
      // No target: every minute is no data, never compliant.
      expect(other).toMatchObject({
        class: "other",
        threshold: null,
        target: null,
        transactions: 5,
        good: 5,
        goodShare: 1,
        compliantMinutes: 0,
        breachMinutes: 0,
        noDataMinutes: 10,
        compliantShare: null,
        incidents: [],
      });
    });

    it("per link: the 95th percentile of the billed direction against the commit rate", async () => {
      // No interface status and no declared outage in these ten minutes: no share.
      const NO_EVIDENCE = {
        target: null,
        minutes: 10,
        upMinutes: 0,
        downMinutes: 0,
        unknownMinutes: 10,
        maintenanceMinutes: 0,
        share: null,
        met: null,
        sources: { measuredMinutes: 0, declaredOutageMinutes: 0 },
      };
      const r = await get(`/api/v1/customers/acme/sla?${RANGE}`);
      // Two windows: nearest rank ⌈0.95 × 2⌉ = 2, the larger: 75 MB × 8 / 300 s = 2 Mbit/s.
      expect(r.json.links).toEqual([
        {
          site: "hq",
          link: "fiber",
          commitRate: 1_000_000,
          commitRates: [{ from: iso(at(10)), to: iso(at(10, 10)), commitRate: 1_000_000 }],
          percentileOf: "in",
          p95Bps: 2_000_000,
          excessBps: 1_000_000,
          compliant: false,
          windows: 2,
          windowsAbove: 1,
          availability: NO_EVIDENCE,
        },
        {
          site: "hq",
          link: "backup",
          commitRate: null,
          commitRates: [{ from: iso(at(10)), to: iso(at(10, 10)), commitRate: null }],
          percentileOf: "in",
          p95Bps: 1_200_000,
          excessBps: null,
          compliant: null,
          windows: 2,
          windowsAbove: null,
          availability: NO_EVIDENCE,
        },
      ]);
      // Billed together, the windows are summed first: 10:00 37.5 + 45 MB = 2.2 Mbit/s, 10:05
      // 75 MB = 2 Mbit/s; the 95th percentile of the two is 2.2 Mbit/s (adding each link's own,
      // 2 + 1.2 = 3.2 Mbit/s, would bill a peak that never happened), 0.2 above the bill's 2M.
      expect(r.json.bills).toEqual([
        {
          bill: "hq-all",
          links: ["hq/fiber", "hq/backup"],
          commitRate: 2_000_000,
          commitRates: [{ from: iso(at(10)), to: iso(at(10, 10)), commitRate: 2_000_000 }],
          percentileOf: "in",
          p95Bps: 2_200_000,
          excessBps: 200_000,
          compliant: false,
          windows: 2,
          windowsAbove: 1,
        },
      ]);
    });

    it("the month in progress: a projection to its end", async () => {
      const r = await get("/api/v1/customers/acme/sla?period=this-month&class=web");
      expect(r.status, r.text).toBe(200);
      expect(r.json).toMatchObject({
        from: "2026-11-01T00:00:00Z",
        to: "2026-12-01T00:00:00Z",
        inProgress: true,
      });
      expect(r.json.classes.map((c: { class: string }) => c.class)).toEqual(["web"]);
      // 30 days: 43 200 minutes, 7 with data; 8640 windows, of which 8640 − ⌈0.95 × 8640⌉ = 432
      // may be above the rate; one (2 Mbit/s) is.
      expect(r.json.classes[0]).toMatchObject({
        minutes: 43_200,
        compliantMinutes: 2,
        breachMinutes: 5,
        noDataMinutes: 43_193,
      });
      expect(r.json.links[0]).toMatchObject({
        p95Bps: 0,
        compliant: true,
        windows: 8640,
        projection: { projectedP95Bps: 0, floorP95Bps: 0, burstWindowsLeft: 431 },
      });
      const last = await get("/api/v1/customers/acme/sla?period=last-month");
      expect(last.json).toMatchObject({
        from: "2026-10-01T00:00:00Z",
        to: "2026-11-01T00:00:00Z",
        inProgress: false,
      });
      expect(last.json.classes[0]).toMatchObject({
        transactions: 0,
        goodShare: null,
        noDataMinutes: 31 * 1440,
      });
      expect(last.json.links[0].projection).toBeUndefined();
    });

    it("format=csv: one table, a row per class, incident, link and bill", async () => {
      const r = await get(`/api/v1/customers/acme/sla?${RANGE}&format=csv`);
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toBe("text/csv; charset=utf-8");
      const lines = r.text.split("\r\n");
      expect(lines[0]).toBe(
        "kind,class,site,link,threshold,target,transactions,good,goodShare,minutes,compliantMinutes,breachMinutes,noDataMinutes,compliantShare,estimated,start,end,worstMinute,worstShare,commitRate,p95Bps,excessBps,compliant,bill,availabilityTarget,availability,availabilityMet,upMinutes,downMinutes,unknownMinutes,maintenanceMinutes,creditBelow,creditPercent,creditAmount,currency",
      );
      expect(lines[1]).toBe(
        `class,web,,,200,95,290,256,${256 / 290},10,2,5,3,${2 / 7},false,,,,,,,,,${",".repeat(11)}`,
      );
      expect(lines[2]).toBe(
        `incident,web,,,,,,,,2,,,,,,2026-11-22T10:00:00Z,2026-11-22T10:02:00Z,2026-11-22T10:00:00Z,0.5,,,,,${",".repeat(11)}`,
      );
      // Links: their ten minutes all unknown (no status, no outage), no target, no share.
      const availability = ",,,,0,0,10,0,,,,";
      expect(lines).toContain(
        `link,,hq,fiber,,,,,,10,,,,,,,,,,1000000,2000000,1000000,false,${availability}`,
      );
      expect(lines).toContain(`link,,hq,backup,,,,,,10,,,,,,,,,,,1200000,,,${availability}`);
      expect(lines).toContain(
        `bill,,,hq/fiber hq/backup,,,,,,,,,,,,,,,,2000000,2200000,200000,false,hq-all${",".repeat(11)}`,
      );
      expect(lines.at(-1)).toBe("");
    });

    it("operators list every customer's incidents", async () => {
      const r = await get(`/api/v1/sla/breaches?${RANGE}`);
      expect(r.status, r.text).toBe(200);
      expect(
        r.json.incidents.map((i: Record<string, unknown>) => [
          i.customer,
          i.class,
          i.start,
          i.end,
          i.worstShare,
        ]),
      ).toEqual([
        ["acme", "web", "2026-11-22T10:00:00Z", "2026-11-22T10:02:00Z", 0.5],
        ["beta", "web", "2026-11-22T10:03:00Z", "2026-11-22T10:04:00Z", 0],
        ["acme", "web", "2026-11-22T10:05:00Z", "2026-11-22T10:08:00Z", 0.5],
      ]);
      expect((await get(`/api/v1/sla/breaches?${RANGE}`, null)).status).toBe(401);
    });

    it("bad query strings are 400 naming the parameter; an unknown customer 404", async () => {
      await bad("/api/v1/customers/acme/sla", "from");
      await bad(`/api/v1/customers/acme/sla?from=${iso(at(10))}&to=${iso(at(9))}`, "to");
      await bad(`/api/v1/customers/acme/sla?from=2026-11-22T10:00:30Z`, "from");
      await bad("/api/v1/customers/acme/sla?period=2026-13", "period");
      await bad("/api/v1/customers/acme/sla?period=soon", "period");
      await bad(`/api/v1/customers/acme/sla?period=this-month&from=${iso(at(10))}`, "period");
      await bad(`/api/v1/customers/acme/sla?${RANGE}&class=nope`, "class");
      await bad(`/api/v1/customers/acme/sla?${RANGE}&format=xml`, "format");
      await bad(`/api/v1/customers/acme/sla?${RANGE}&step=1m`, "step");
      expect(await bad("/api/v1/customers/acme/sla?from=2020-01-01&to=2026-01-01", "to")).toMatch(
        /longer than 366 days/,
      );
      await bad("/api/v1/sla/breaches?period=x", "period");
      const unknown = await get(`/api/v1/customers/nobody/sla?${RANGE}`);
      expect(unknown.status).toBe(404);
      expect(unknown.json).toEqual({
        error: { code: "FT_NOT_FOUND", message: 'no customer "nobody"' },
      });
    });
  });
}
