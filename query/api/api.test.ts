/**
 * The HTTP API against real stores, the embedded one and InfluxDB (influxd 1.6.7), each case run
 * on both with the same expected answers: known deltas in, figures computed by hand out.
 *
 * The data (minute rows written at every level, as the aggregator's Rollup does), on
 * 2026-11-22 (UTC):
 *
 * | customer     | site/link    | class | dir | minute | bytes     | packets | flows |
 * |--------------|--------------|-------|-----|--------|-----------|---------|-------|
 * | acme         | hq/fiber     | web   | in  | 09:59  |   600 000 |     100 |     1 |
 * | acme         | hq/fiber     | web   | in  | 10:00  |     4 500 |       5 |     1 |
 * | acme         | hq/fiber     | web   | in  | 10:01  |     9 000 |      10 |     1 |
 * | acme         | hq/fiber     | other | out | 10:02  |    27 000 |      30 |     1 |
 * | acme         | hq/fiber     | web   | in  | 10:07  |    45 000 |      50 |     2 |
 * | acme         | branch/dsl   | other | in  | 11:30  |    90 000 |      90 |     3 |
 * | acme         | hq/fiber     | web   | in  | 13:00  | 1 500 000 |     200 |     1 |
 * | beta         | home/ftth    | other | in  | 10:00  |   900 000 |     600 |     4 |
 * | beta         | home/ftth    | other | out | 10:00  |       100 |       1 |     1 |
 * | unattributed |              | other | in  | 10:00  |     5 000 |       5 |     1 |
 *
 * gamma has no traffic.
 */

import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCustomerModel } from "../../collector/classify/customer-model.js";
import { validateConfig } from "../../config/load-config.js";
import type { Config } from "../../schema/config.js";
import type { SeriesKey, SeriesRowDelta, SeriesStore } from "../../schema/series-store.js";
import { apiStores } from "../../test/support/api-stores.js";
import { captureLog } from "../../test/support/log-capture.js";
import { atAllLevels } from "../../test/support/store-conformance.js";
import { type ApiServer, createApiServer, type DownDependency } from "./index.js";

const MIN = 60_000;
const HOUR = 3_600_000;
/** 2026-11-22T00:00:00Z */
const T0 = Date.UTC(2026, 10, 22);
const at = (h: number, m = 0) => T0 + h * HOUR + m * MIN;

const TOKEN = "operator-token-0123456789";
const TOKEN2 = "second-operator-token-abcdef";

function config(tokens: string[]): Readonly<Config> {
  return validateConfig({
    api: { listen: "127.0.0.1:0", operatorTokens: tokens },
    customers: [
      {
        id: "acme",
        name: "Acme, Inc.",
        serviceType: "business",
        sites: [
          {
            id: "hq",
            links: [
              { id: "fiber", router: "192.0.2.1", ifIndex: 10 },
              { id: "backup", prefixes: ["198.51.100.0/28"] },
            ],
          },
          { id: "branch", links: [{ id: "dsl", prefixes: ["198.51.100.16/28"] }] },
        ],
      },
      {
        id: "beta",
        name: "=Beta",
        serviceType: "retail",
        sites: [{ id: "home", links: [{ id: "ftth", router: "192.0.2.2", ifIndex: 5 }] }],
      },
      {
        id: "gamma",
        name: "Gamma",
        serviceType: "business",
        sites: [{ id: "main", links: [{ id: "fiber", prefixes: ["203.0.113.0/28"] }] }],
      },
    ],
    classes: [{ id: "web", match: { protocol: ["tcp"], ports: [80, 443] } }],
    defaultClass: "other",
  });
}

/** One minute's sums written at every level. */
function minute(
  key: Omit<SeriesKey, "direction">,
  direction: "in" | "out",
  minuteMs: number,
  bytes: number,
  packets: number,
  flows: number,
): SeriesRowDelta[] {
  return atAllLevels({ ...key, direction }, minuteMs, bytes, packets, flows);
}

const fiberWeb = { customer: "acme", site: "hq", link: "fiber", trafficClass: "web" };
const fiberOther = { ...fiberWeb, trafficClass: "other" };
const dsl = { customer: "acme", site: "branch", link: "dsl", trafficClass: "other" };
const ftth = { customer: "beta", site: "home", link: "ftth", trafficClass: "other" };
const unattributed = { customer: "unattributed", site: "", link: "", trafficClass: "other" };

const ROWS: SeriesRowDelta[] = [
  ...minute(fiberWeb, "in", at(9, 59), 600_000, 100, 1),
  ...minute(fiberWeb, "in", at(10, 0), 4_500, 5, 1),
  ...minute(fiberWeb, "in", at(10, 1), 9_000, 10, 1),
  ...minute(fiberOther, "out", at(10, 2), 27_000, 30, 1),
  ...minute(fiberWeb, "in", at(10, 7), 45_000, 50, 2),
  ...minute(dsl, "in", at(11, 30), 90_000, 90, 3),
  ...minute(fiberWeb, "in", at(13, 0), 1_500_000, 200, 1),
  ...minute(ftth, "in", at(10, 0), 900_000, 600, 4),
  ...minute(ftth, "out", at(10, 0), 100, 1, 1),
  ...minute(unattributed, "in", at(10, 0), 5_000, 5, 1),
];

const { log, lines: logLines } = captureLog();

let store: SeriesStore;
let api: ApiServer;
let base: string;
const servers: ApiServer[] = [];

async function startApi(store: SeriesStore, tokens = [TOKEN, TOKEN2]): Promise<string> {
  const cfg = config(tokens);
  const server = createApiServer({
    config: cfg,
    model: buildCustomerModel(cfg),
    store,
    log,
    // 12:00:30: the default `to` is 12:00 (overview, 1m, 1h) or midnight (1d).
    now: () => at(12) + 30_000,
  });
  servers.push(server);
  const { address, port } = await server.listen();
  expect(address).toBe("127.0.0.1");
  expect(port).toBeGreaterThan(0);
  api = server;
  return `http://127.0.0.1:${port}`;
}

/** The stores the API is checked on: every case below runs on each, with the same answers. */
const STORES = apiStores({ log });

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test JSON
  json: any;
}

async function get(path: string, init: RequestInit & { token?: string | null } = {}) {
  const { token = TOKEN, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (token !== null) headers.set("authorization", `Bearer ${token}`);
  const res = await fetch(`${base}${path}`, { ...rest, headers });
  const text = await res.text();
  const reply: Reply = { status: res.status, headers: res.headers, text, json: undefined };
  if (text !== "" && res.headers.get("content-type")?.startsWith("application/json") === true) {
    reply.json = JSON.parse(text);
  }
  return reply;
}

/** Expects a 400 naming `parameter`; returns the message. */
async function bad(path: string, parameter: string): Promise<string> {
  const r = await get(path);
  expect(r.status, `${path}: ${r.text}`).toBe(400);
  expect(r.json.error.code).toBe("FT_BAD_PARAMETER");
  expect(r.json.error.parameter).toBe(parameter);
  expect(typeof r.json.error.message).toBe("string");
  return r.json.error.message as string;
}

/** `complete`: the point ended by completeUntil (11:58, the clock less the 2-minute lateness). */
const zeroPoint = (time: string, complete = true) => ({
  time,
  complete,
  bytesIn: 0,
  bytesOut: 0,
  packetsIn: 0,
  packetsOut: 0,
  bpsIn: 0,
  bpsOut: 0,
  peakBpsIn: 0,
  peakBpsOut: 0,
  peakOver: "1m",
});

const acme = {
  customer: "acme",
  name: "Acme, Inc.",
  serviceType: "business",
  bytesIn: 148_500, // 4 500 + 9 000 + 45 000 + 90 000
  bytesOut: 27_000,
  packetsIn: 155, // 5 + 10 + 50 + 90
  packetsOut: 30,
  flows: 8, // 1 + 1 + 1 + 2 + 3
  // The rates of RANGE, which ended before the clock (12:00:30): bytes × 8 / 7 200 s.
  bpsIn: 165, // 148 500 × 8 / 7 200
  bpsOut: 30, // 27 000 × 8 / 7 200
};
const beta = {
  customer: "beta",
  name: "=Beta",
  serviceType: "retail",
  bytesIn: 900_000,
  bytesOut: 100,
  packetsIn: 600,
  packetsOut: 1,
  flows: 5,
  bpsIn: 1_000, // 900 000 × 8 / 7 200
  bpsOut: 800 / 7_200,
};
const gamma = {
  customer: "gamma",
  name: "Gamma",
  serviceType: "business",
  bytesIn: 0,
  bytesOut: 0,
  packetsIn: 0,
  packetsOut: 0,
  flows: 0,
  bpsIn: 0,
  bpsOut: 0,
};
const unattributedRow = {
  customer: "unattributed",
  name: "traffic matching no customer",
  serviceType: "",
  bytesIn: 5_000,
  bytesOut: 0,
  packetsIn: 5,
  packetsOut: 0,
  flows: 1,
  bpsIn: 40_000 / 7_200, // 5 000 × 8 / 7 200
  bpsOut: 0,
};

const RANGE = "from=2026-11-22T10:00:00Z&to=2026-11-22T12:00:00Z";

describe.each(STORES)("on the $name store", (under) => {
  let closeStore: () => Promise<void> = async () => undefined;

  beforeAll(async () => {
    const opened = await under.open();
    store = opened.store;
    closeStore = opened.close;
    await store.addDeltas(ROWS);
    base = await startApi(store);
  }, 60_000);

  afterAll(async () => {
    for (const s of servers.splice(0)) await s.close();
    await closeStore();
  });

  describe("GET /api/v1/overview", () => {
    it("lists every customer for [from, to), by bytesIn descending", async () => {
      const r = await get(`/api/v1/overview?${RANGE}`);
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toBe("application/json; charset=utf-8");
      expect(r.headers.get("cache-control")).toBe("no-store");
      expect(r.json).toEqual({
        from: "2026-11-22T10:00:00Z",
        to: "2026-11-22T12:00:00Z",
        // The clock is 12:00:30: minutes up to 11:58 are past the 2-minute lateness.
        complete: false,
        completeUntil: "2026-11-22T11:58:00Z",
        ratesUntil: "2026-11-22T12:00:00Z",
        rows: [beta, acme, unattributedRow, gamma],
      });
    });

    it("reads whole days from the day rows", async () => {
      const r = await get("/api/v1/overview?from=2026-11-22&to=2026-11-23&sort=customer&order=asc");
      expect(r.status).toBe(200);
      expect(r.json.rows.map((x: { customer: string }) => x.customer)).toEqual([
        "acme",
        "beta",
        "gamma",
        "unattributed",
      ]);
      expect(r.json.rows[0]).toEqual({
        ...acme,
        bytesIn: 148_500 + 600_000 + 1_500_000,
        packetsIn: 155 + 100 + 200,
        flows: 8 + 1 + 1,
        // The day is still running at 12:00:30: 43 230 s have passed of it.
        bpsIn: ((148_500 + 600_000 + 1_500_000) * 8) / 43_230,
        bpsOut: (27_000 * 8) / 43_230,
      });
    });

    it("sorts by any column, either way", async () => {
      const names = async (q: string) =>
        (await get(`/api/v1/overview?${RANGE}&${q}`)).json.rows.map(
          (x: { customer: string }) => x.customer,
        );
      expect(await names("sort=customer&order=asc")).toEqual([
        "acme",
        "beta",
        "gamma",
        "unattributed",
      ]);
      expect(await names("sort=bytesOut")).toEqual(["acme", "beta", "gamma", "unattributed"]);
      // By rate: acme 30, beta 0.11, gamma and unattributed 0 bit/s out (ties by id).
      expect(await names("sort=bpsOut")).toEqual(["acme", "beta", "gamma", "unattributed"]);
      // gamma 0, unattributed 5.56, acme 165, beta 1 000 bit/s in.
      expect(await names("sort=bpsIn&order=asc")).toEqual([
        "gamma",
        "unattributed",
        "acme",
        "beta",
      ]);
      expect(await names("sort=flows&order=asc")).toEqual([
        "gamma",
        "unattributed",
        "beta",
        "acme",
      ]);
      expect(await names("sort=name&order=desc")).toEqual([
        "unattributed",
        "gamma",
        "acme",
        "beta",
      ]);
    });

    it("keeps the first `limit` rows after sorting", async () => {
      const names = async (q: string) =>
        (await get(`/api/v1/overview?${RANGE}&${q}`)).json.rows.map(
          (x: { customer: string }) => x.customer,
        );
      expect(await names("limit=2")).toEqual(["beta", "acme"]);
      expect(await names("sort=bytesIn&order=asc&limit=3")).toEqual([
        "gamma",
        "unattributed",
        "acme",
      ]);
      expect(await names("limit=1&serviceType=business")).toEqual(["acme"]);
      expect(await names("limit=1000000")).toEqual(["beta", "acme", "unattributed", "gamma"]);
      const csv = await get(`/api/v1/overview?${RANGE}&format=csv&limit=1`);
      expect(csv.text).toBe(
        `customer,name,serviceType,bytesIn,bytesOut,packetsIn,packetsOut,flows,bpsIn,bpsOut\r\nbeta,'=Beta,retail,900000,100,600,1,5,1000,${800 / 7200}\r\n`,
      );
    });

    it("filters by service type and by router", async () => {
      expect((await get(`/api/v1/overview?${RANGE}&serviceType=business`)).json.rows).toEqual([
        acme,
        gamma,
      ]);
      expect((await get(`/api/v1/overview?${RANGE}&router=192.0.2.2`)).json.rows).toEqual([beta]);
      expect(
        (await get(`/api/v1/overview?${RANGE}&router=192.0.2.1&serviceType=retail`)).json.rows,
      ).toEqual([]);
    });

    it("defaults `to` to the end of the current minute, and says the answer is not complete", async () => {
      const r = await get("/api/v1/overview?from=2026-11-22T10:00:00Z");
      expect(r.json.to).toBe("2026-11-22T12:01:00Z");
      expect(r.json.complete).toBe(false);
      const old = await get("/api/v1/overview?from=2026-11-22T10:00:00Z&to=2026-11-22T11:58:00Z");
      expect([old.json.complete, old.json.completeUntil]).toEqual([true, "2026-11-22T11:58:00Z"]);
      // The rates of the running period: over the 7 230 s from 10:00 to the clock's 12:00:30,
      // not over the 7 260 s to `to` (12:01), whose last 30 s have not happened yet.
      expect(r.json.ratesUntil).toBe("2026-11-22T12:00:30Z");
      const running = (x: typeof acme) => ({
        ...x,
        bpsIn: (x.bytesIn * 8) / 7_230,
        bpsOut: (x.bytesOut * 8) / 7_230,
      });
      expect(r.json.rows).toEqual([beta, acme, unattributedRow, gamma].map(running));
      expect(r.json.rows[0].bpsIn).toBeCloseTo(995.85, 2); // 7 200 000 / 7 230, by hand
    });

    it("accepts offsets and converts them to UTC", async () => {
      const r = await get(
        "/api/v1/overview?from=2026-11-22T11:00:00%2B01:00&to=2026-11-22T07:00:00-05:00",
      );
      expect(r.status).toBe(200);
      expect([r.json.from, r.json.to]).toEqual(["2026-11-22T10:00:00Z", "2026-11-22T12:00:00Z"]);
    });

    it("answers CSV with a header, quoting and defused formulas", async () => {
      const r = await get(`/api/v1/overview?${RANGE}&format=csv`);
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toBe("text/csv; charset=utf-8");
      expect(r.headers.get("content-disposition")).toBe(
        'attachment; filename="flowtally-overview-20261122T100000Z-20261122T120000Z.csv"',
      );
      expect(r.text).toBe(
        [
          "customer,name,serviceType,bytesIn,bytesOut,packetsIn,packetsOut,flows,bpsIn,bpsOut",
          `beta,'=Beta,retail,900000,100,600,1,5,1000,${800 / 7200}`,
          'acme,"Acme, Inc.",business,148500,27000,155,30,8,165,30',
          `unattributed,traffic matching no customer,,5000,0,5,0,1,${40_000 / 7200},0`,
          "gamma,Gamma,business,0,0,0,0,0,0,0",
          "",
        ].join("\r\n"),
      );
    });

    it("answers CSV of the columns of `fields`, in its order", async () => {
      const r = await get(
        `/api/v1/overview?${RANGE}&format=csv&sort=bpsOut&serviceType=business&fields=bpsOut,customer,bytesOut`,
      );
      expect(r.status).toBe(200);
      expect(r.text).toBe("bpsOut,customer,bytesOut\r\n30,acme,27000\r\n0,gamma,0\r\n");
      const o = `/api/v1/overview?${RANGE}&`;
      expect(await bad(`${o}format=csv&fields=customer,bytes`, "fields")).toMatch(
        /"bytes" is not a column/,
      );
      expect(await bad(`${o}format=csv&fields=name,name`, "fields")).toMatch(/more than once/);
      expect(await bad(`${o}format=csv&fields=name,`, "fields")).toMatch(/"" is not a column/);
      expect(await bad(`${o}fields=name`, "fields")).toMatch(/format=csv/);
    });

    it("answers HEAD with the headers only", async () => {
      const r = await get(`/api/v1/overview?${RANGE}`, { method: "HEAD" });
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toBe("application/json; charset=utf-8");
      expect(r.text).toBe("");
    });

    it("refuses bad parameters, naming them", async () => {
      const o = "/api/v1/overview?";
      expect(await bad(`${o}to=2026-11-22T12:00:00Z`, "from")).toMatch(/from is required/);
      expect(await bad(`${o}from=yesterday`, "from")).toMatch(/not an ISO 8601 time/);
      expect(await bad(`${o}from=1795341600000`, "from")).toMatch(/not an ISO 8601 time/);
      expect(await bad(`${o}from=2026-02-30T00:00:00Z`, "from")).toMatch(/not an ISO 8601/);
      expect(await bad(`${o}from=2026-11-22T24:00:00Z`, "from")).toMatch(/not an ISO 8601/);
      expect(await bad(`${o}from=2026-11-22T10:00:00`, "from")).toMatch(/not an ISO 8601/);
      expect(await bad(`${o}from=2026-11-22T10:00:00+01:00`, "from")).toMatch(/%2B/);
      expect(await bad(`${o}from=2026-11-22T10:00:30Z`, "from")).toMatch(/whole minute/);
      expect(await bad(`${o}from=2026-11-22T12:00:00Z&to=2026-11-22T12:00:00Z`, "to")).toMatch(
        /must be after from/,
      );
      expect(await bad(`${o}${RANGE}&router=gateway`, "router")).toMatch(/not an IP address/);
      expect(await bad(`${o}${RANGE}&router=192.0.2.99`, "router")).toMatch(/no configured link/);
      expect(await bad(`${o}${RANGE}&serviceType=gold`, "serviceType")).toMatch(/"gold"/);
      expect(await bad(`${o}${RANGE}&sort=bytes`, "sort")).toMatch(/expected one of customer,/);
      expect(await bad(`${o}${RANGE}&order=up`, "order")).toMatch(/asc, desc/);
      expect(await bad(`${o}${RANGE}&format=xml`, "format")).toMatch(/json, csv/);
      for (const limit of ["0", "-1", "1.5", "1e3", "ten", "01x", "1000001", "99999999"]) {
        expect(await bad(`${o}${RANGE}&limit=${limit}`, "limit")).toBe(
          `limit "${limit}": expected a whole number from 1 to 1000000`,
        );
      }
      expect(await bad(`${o}${RANGE}&serviceTyp=business`, "serviceTyp")).toMatch(
        /unknown parameter "serviceTyp"/,
      );
      expect(await bad(`${o}${RANGE}&from=2026-11-22T09:00:00Z`, "from")).toMatch(/more than once/);
      expect(await bad(`${o}${RANGE}&router=`, "router")).toMatch(/empty/);
    });
  });

  describe("GET /api/v1/customers/{id}/traffic", () => {
    const t = (id: string, q: string) => get(`/api/v1/customers/${id}/traffic?${q}`);

    it("step 1h: points for every hour, averages, peaks and the zero-padded p95", async () => {
      const r = await t("acme", "from=2026-11-22T10:00:00Z&to=2026-11-22T13:00:00Z&step=1h");
      expect(r.status).toBe(200);
      expect(r.headers.get("cache-control")).toBe("no-store");
      expect(r.json).toEqual({
        customer: "acme",
        step: "1h",
        from: "2026-11-22T10:00:00Z",
        to: "2026-11-22T13:00:00Z",
        completeUntil: "2026-11-22T11:58:00Z",
        points: [
          {
            time: "2026-11-22T10:00:00Z",
            complete: true,
            bytesIn: 58_500, // 4 500 + 9 000 + 45 000
            bytesOut: 27_000,
            packetsIn: 65,
            packetsOut: 30,
            bpsIn: 130, // 58 500 × 8 / 3600
            bpsOut: 60, // 27 000 × 8 / 3600
            peakBpsIn: 6_000, // 10:07: 45 000 × 8 / 60
            peakBpsOut: 3_600, // 10:02: 27 000 × 8 / 60
            peakOver: "1m",
          },
          {
            time: "2026-11-22T11:00:00Z",
            complete: false,
            bytesIn: 90_000,
            bytesOut: 0,
            packetsIn: 90,
            packetsOut: 0,
            bpsIn: 200, // 90 000 × 8 / 3600
            bpsOut: 0,
            peakBpsIn: 12_000, // 11:30: 90 000 × 8 / 60
            peakBpsOut: 0,
            peakOver: "1m",
          },
          zeroPoint("2026-11-22T12:00:00Z", false),
        ],
        // 5-minute rates in: 10:00 (4 500 + 9 000) × 8 / 300 = 360, 10:05 45 000 → 1200,
        // 11:30 90 000 → 2400. 36 periods, rank ceil(0.95 × 36) = 35 of [33 zeros, 360, 1200,
        // 2400] → 1200 (unpadded, rank 3 of 3 would be 2400).
        p95BpsIn: 1_200,
        // Out: one period (10:00, 720) and 35 zeros; rank 35 is a zero.
        p95BpsOut: 0,
      });
    });

    it("step 1m: the peak is the minute's rate; p95 over the 5-minute periods starting in range", async () => {
      const r = await t("acme", "from=2026-11-22T10:00:00Z&to=2026-11-22T10:10:00Z&step=1m");
      expect(r.status).toBe(200);
      const minute = (m: number, bytesIn: number, bytesOut: number, pIn: number, pOut: number) => ({
        time: `2026-11-22T10:0${m}:00Z`,
        complete: true,
        bytesIn,
        bytesOut,
        packetsIn: pIn,
        packetsOut: pOut,
        bpsIn: (bytesIn * 8) / 60,
        bpsOut: (bytesOut * 8) / 60,
        peakBpsIn: (bytesIn * 8) / 60,
        peakBpsOut: (bytesOut * 8) / 60,
        peakOver: "1m",
      });
      expect(r.json.points).toEqual([
        { ...minute(0, 4_500, 0, 5, 0), bpsIn: 600, peakBpsIn: 600 },
        { ...minute(1, 9_000, 0, 10, 0), bpsIn: 1_200, peakBpsIn: 1_200 },
        { ...minute(2, 0, 27_000, 0, 30), bpsOut: 3_600, peakBpsOut: 3_600, peakOver: "1m" },
        zeroPoint("2026-11-22T10:03:00Z"),
        zeroPoint("2026-11-22T10:04:00Z"),
        zeroPoint("2026-11-22T10:05:00Z"),
        zeroPoint("2026-11-22T10:06:00Z"),
        { ...minute(7, 45_000, 0, 50, 0), bpsIn: 6_000, peakBpsIn: 6_000 },
        zeroPoint("2026-11-22T10:08:00Z"),
        zeroPoint("2026-11-22T10:09:00Z"),
      ]);
      // Two periods: in [360, 1200] → rank 2 → 1200; out [720, 0] → 720.
      expect([r.json.p95BpsIn, r.json.p95BpsOut]).toEqual([1_200, 720]);
    });

    it("step 5m: a point per 5-minute period, the peak its busiest minute", async () => {
      const r = await t("acme", "from=2026-11-22T10:00:00Z&to=2026-11-22T10:15:00Z&step=5m");
      expect(r.status).toBe(200);
      expect(r.json.step).toBe("5m");
      expect(r.json.points).toEqual([
        {
          time: "2026-11-22T10:00:00Z",
          complete: true,
          bytesIn: 13_500, // 4 500 + 9 000
          bytesOut: 27_000,
          packetsIn: 15,
          packetsOut: 30,
          bpsIn: 360, // 13 500 × 8 / 300
          bpsOut: 720,
          peakBpsIn: 1_200, // 10:01: 9 000 × 8 / 60
          peakBpsOut: 3_600, // 10:02: 27 000 × 8 / 60
          peakOver: "1m",
        },
        {
          time: "2026-11-22T10:05:00Z",
          complete: true,
          bytesIn: 45_000,
          bytesOut: 0,
          packetsIn: 50,
          packetsOut: 0,
          bpsIn: 1_200,
          bpsOut: 0,
          peakBpsIn: 6_000, // 10:07
          peakBpsOut: 0,
          peakOver: "1m",
        },
        zeroPoint("2026-11-22T10:10:00Z"),
      ]);
      // Three samples, rank 3: in [0, 360, 1200] → 1200; out [0, 0, 720] → 720.
      expect([r.json.p95BpsIn, r.json.p95BpsOut]).toEqual([1_200, 720]);
      const d = await t("acme", "from=2026-11-22T11:45:00Z&step=5m");
      expect(d.json.to).toBe("2026-11-22T12:05:00Z"); // now 12:00:30, rounded up to 5 minutes
      expect(d.json.points).toHaveLength(4);
    });

    it("step 1d: whole UTC days; the peak minute of the day; p95 zero under 5% of periods", async () => {
      const r = await t("acme", "from=2026-11-22T00:00:00Z&to=2026-11-24T00:00:00Z&step=1d");
      expect(r.status).toBe(200);
      const bytesIn = 600_000 + 58_500 + 90_000 + 1_500_000;
      expect(r.json.points).toEqual([
        {
          time: "2026-11-22T00:00:00Z",
          complete: false,
          bytesIn,
          bytesOut: 27_000,
          packetsIn: 100 + 65 + 90 + 200,
          packetsOut: 30,
          bpsIn: (bytesIn * 8) / 86_400,
          bpsOut: 2.5, // 27 000 × 8 / 86 400
          peakBpsIn: 200_000, // 13:00: 1 500 000 × 8 / 60
          peakBpsOut: 3_600,
          peakOver: "1m",
        },
        zeroPoint("2026-11-23T00:00:00Z", false),
      ]);
      // 576 periods, 5 with traffic in: rank 548 falls among the 571 zeros.
      expect([r.json.p95BpsIn, r.json.p95BpsOut]).toEqual([0, 0]);
    });

    it("filters by site, link and class", async () => {
      const q = "from=2026-11-22T10:00:00Z&to=2026-11-22T12:00:00Z";
      const inBytes = async (extra: string) =>
        (await t("acme", `${q}&${extra}`)).json.points.map(
          (p: { bytesIn: number; bytesOut: number }) => [p.bytesIn, p.bytesOut],
        );
      expect(await inBytes("class=web")).toEqual([
        [58_500, 0],
        [0, 0],
      ]);
      expect(await inBytes("class=other")).toEqual([
        [0, 27_000],
        [90_000, 0],
      ]);
      expect(await inBytes("site=branch")).toEqual([
        [0, 0],
        [90_000, 0],
      ]);
      expect(await inBytes("link=fiber")).toEqual([
        [58_500, 27_000],
        [0, 0],
      ]);
      expect(await inBytes("site=hq&link=fiber&class=web")).toEqual([
        [58_500, 0],
        [0, 0],
      ]);
      expect(await inBytes("site=hq&link=backup")).toEqual([
        [0, 0],
        [0, 0],
      ]);
      const r = await t("acme", `${q}&site=branch`);
      // One 5-minute period with 2400 bit/s among 24: rank 23 is a zero.
      expect(r.json.p95BpsIn).toBe(0);
      expect(r.json.points[1].peakBpsIn).toBe(12_000);
    });

    it("serves the unattributed traffic and customers without traffic", async () => {
      const r = await t("unattributed", "from=2026-11-22T10:00:00Z&to=2026-11-22T11:00:00Z");
      expect(r.status).toBe(200);
      expect(r.json.step).toBe("1h");
      expect(r.json.points).toEqual([
        {
          time: "2026-11-22T10:00:00Z",
          complete: true,
          bytesIn: 5_000,
          bytesOut: 0,
          packetsIn: 5,
          packetsOut: 0,
          bpsIn: (5_000 * 8) / 3_600,
          bpsOut: 0,
          peakBpsIn: (5_000 * 8) / 60,
          peakBpsOut: 0,
          peakOver: "1m",
        },
      ]);
      // 12 periods, one at 5 000 × 8 / 300: rank 12 is that one.
      expect(r.json.p95BpsIn).toBe((5_000 * 8) / 300);
      const g = await t("gamma", "from=2026-11-22T10:00:00Z&to=2026-11-22T12:00:00Z");
      expect(g.json.points).toEqual([
        zeroPoint("2026-11-22T10:00:00Z"),
        zeroPoint("2026-11-22T11:00:00Z", false),
      ]);
      expect([g.json.p95BpsIn, g.json.p95BpsOut]).toEqual([0, 0]);
    });

    it("defaults `to` to the end of the current step, whose point is marked not complete", async () => {
      // The clock is 12:00:30, the lateness 2 minutes: complete until 11:58.
      const r = await t("acme", "from=2026-11-22T11:00:00Z&step=1m");
      expect(r.json.to).toBe("2026-11-22T12:01:00Z");
      expect(r.json.completeUntil).toBe("2026-11-22T11:58:00Z");
      expect(r.json.points).toHaveLength(61);
      const flags = r.json.points.map((p: { complete: boolean }) => p.complete);
      expect(flags.indexOf(false)).toBe(58); // 11:58 is the first that may still change
      expect(flags.slice(58)).toEqual([false, false, false]);
      const d = await t("acme", "from=2026-11-21T00:00:00Z&step=1d");
      expect(d.json.to).toBe("2026-11-23T00:00:00Z");
      expect(d.json.points[0]).toEqual(zeroPoint("2026-11-21T00:00:00Z"));
      expect(d.json.points[1].time).toBe("2026-11-22T00:00:00Z");
      expect(d.json.points[1].complete).toBe(false);
    });

    it("answers 404 for an unknown customer, naming it", async () => {
      const r = await t("acne", "from=2026-11-22T10:00:00Z");
      expect(r.status).toBe(404);
      expect(r.json.error).toEqual({ code: "FT_NOT_FOUND", message: 'no customer "acne"' });
    });

    it("refuses bad parameters, naming them", async () => {
      const p = "/api/v1/customers/acme/traffic?";
      const from = "from=2026-11-22T10:00:00Z";
      expect(await bad(`${p}to=2026-11-22T12:00:00Z`, "from")).toMatch(/required/);
      expect(await bad(`${p}${from}&step=10m`, "step")).toMatch(/expected one of 1m, 5m, 1h, 1d/);
      expect(await bad(`${p}from=2026-11-22T10:03:00Z&step=5m`, "from")).toMatch(/5m boundary/);
      expect(await bad(`${p}from=2026-11-22T10:30:00Z&step=1h`, "from")).toBe(
        "from 2026-11-22T10:30:00Z is not on a 1h boundary (UTC) as step=1h needs; use 2026-11-22T10:00:00Z or 2026-11-22T11:00:00Z",
      );
      expect(await bad(`${p}${from}&to=2026-11-22T11:30:00Z`, "to")).toMatch(/1h boundary/);
      expect(await bad(`${p}${from}&step=1d`, "from")).toMatch(/1d boundary/);
      expect(await bad(`${p}${from}&to=2026-11-22T09:00:00Z`, "to")).toMatch(/after from/);
      expect(
        await bad(`${p}from=2026-11-01T00:00:00Z&to=2026-11-08T00:00:00Z&step=1m`, "step"),
      ).toBe(
        "range too long for step 1m: 10080 points, at most 10000; use step=1h or a shorter range",
      );
      expect(
        await bad(`${p}from=2025-11-01T00:00:00Z&to=2026-11-08T00:00:00Z&step=1d`, "to"),
      ).toMatch(/more than 366 days/);
      expect(await bad(`${p}${from}&site=annex`, "site")).toBe(
        'site "annex" is not a site of customer acme',
      );
      expect(await bad(`${p}${from}&link=ftth`, "link")).toBe(
        'link "ftth" is not a link of customer acme',
      );
      expect(await bad(`${p}${from}&site=hq&link=dsl`, "link")).toBe(
        'link "dsl" is not a link of site hq of customer acme',
      );
      expect(await bad(`${p}${from}&class=video`, "class")).toBe(
        'class "video" is not a traffic class; expected one of web, other',
      );
      expect(await bad(`${p}${from}&clas=web`, "clas")).toMatch(/unknown parameter "clas"/);
      expect(await bad(`${p}${from}&step=1h&step=1m`, "step")).toMatch(/more than once/);
      expect(
        await bad(
          "/api/v1/customers/unattributed/traffic?from=2026-11-22T10:00:00Z&site=hq",
          "site",
        ),
      ).toMatch(/not a site of customer unattributed/);
    });
  });

  describe("hostile requests", () => {
    it("answers 400 or 404, never 500, and never runs what it is given", async () => {
      const p = "/api/v1/customers/acme/traffic?from=2026-11-22T10:00:00Z";
      const sqlId = encodeURIComponent("acme' OR '1'='1");
      const r1 = await get(`/api/v1/customers/${sqlId}/traffic?from=2026-11-22T10:00:00Z`);
      expect(r1.status).toBe(404);
      expect(r1.json.error.message).toBe(`no customer "acme' OR '1'='1"`);
      const drop = encodeURIComponent("x'; DROP TABLE series_1m; --");
      expect(
        (await get(`/api/v1/customers/${drop}/traffic?from=2026-11-22T10:00:00Z`)).status,
      ).toBe(404);
      await bad(`${p}&class=${encodeURIComponent(`web' OR time > 0 --`)}`, "class");
      await bad(`${p}&site=${encodeURIComponent('hq"; SELECT * FROM series; --')}`, "site");
      await bad(`${p}&link=%00`, "link");
      await bad(`${p}&site=hq%0D%0AX-Injected:%201`, "site");
      await bad(`${p}&site=${"a".repeat(300)}`, "site");
      expect(await bad(`${p}&%00x=1`, "?x")).toMatch(/unknown parameter "\\u0000x"/);
      await bad(
        `/api/v1/overview?from=2026-11-22T10:00:00Z&router=${encodeURIComponent("::1'--")}`,
        "router",
      );
      // Malformed percent-encoding and encoded slashes in the id.
      expect(
        (await get("/api/v1/customers/%E0%A4%A/traffic?from=2026-11-22T10:00:00Z")).status,
      ).toBe(404);
      expect(
        (await get("/api/v1/customers/..%2F..%2Fetc%2Fpasswd/traffic?from=2026-11-22T10:00:00Z"))
          .status,
      ).toBe(404);
      const long = await get(`${p}&site=${"a".repeat(5_000)}`);
      expect(long.status).toBe(414);
      expect(long.json.error.code).toBe("FT_URI_TOO_LONG");
      // Extreme but valid ranges are served.
      const all = await get("/api/v1/overview?from=0000-01-01&to=9999-12-31");
      expect(all.status).toBe(200);
      expect(all.json.rows[0].bytesIn).toBe(148_500 + 600_000 + 1_500_000);
      // The store still answers: nothing was dropped.
      expect((await get(`/api/v1/overview?${RANGE}`)).json.rows).toHaveLength(4);
    });

    it("answers 400 (Node's HTTP parser) for raw control characters in the request line", async () => {
      const { port } = new URL(base);
      const reply = await new Promise<string>((resolve, reject) => {
        let text = "";
        const socket = connect(Number(port), "127.0.0.1", () => {
          socket.write(`GET /api/v1/overview?router=\u0001 HTTP/1.1\r\nHost: x\r\n\r\n`);
        });
        socket.setEncoding("latin1");
        socket.on("data", (d) => {
          text += d;
        });
        socket.on("end", () => resolve(text));
        socket.on("error", reject);
      });
      expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    });
  });

  describe("authentication", () => {
    it("answers 401 with WWW-Authenticate without a token", async () => {
      const r = await get(`/api/v1/overview?${RANGE}`, { token: null });
      expect(r.status).toBe(401);
      expect(r.headers.get("www-authenticate")).toBe('Bearer realm="flowtally"');
      expect(r.json.error.code).toBe("FT_UNAUTHORIZED");
      expect(r.json.error.message).toMatch(/missing Authorization/);
    });

    it("answers 401 for a wrong token or scheme, before looking at the path", async () => {
      for (const token of ["operator-token-0123456788", "operator-token", `${TOKEN}x`]) {
        const r = await get(`/api/v1/overview?${RANGE}`, { token });
        expect(r.status).toBe(401);
        expect(r.headers.get("www-authenticate")).toBe(
          'Bearer realm="flowtally", error="invalid_token"',
        );
      }
      const basic = await get(`/api/v1/overview?${RANGE}`, {
        token: null,
        headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString("base64")}` },
      });
      expect(basic.status).toBe(401);
      expect((await get("/api/v1/secret", { token: "wrong-wrong-wrong-wrong" })).status).toBe(401);
      expect((await get("/api/v1/customers/acne/traffic", { token: null })).status).toBe(401);
    });

    it("accepts every configured token, any case of the scheme", async () => {
      expect((await get(`/api/v1/overview?${RANGE}`, { token: TOKEN2 })).status).toBe(200);
      const r = await get(`/api/v1/overview?${RANGE}`, {
        token: null,
        headers: { authorization: `bearer ${TOKEN}` },
      });
      expect(r.status).toBe(200);
    });

    it("refuses every API request when no operator tokens are configured", async () => {
      const open = await startApi(store, []);
      const r = await fetch(`${open}/api/v1/overview?${RANGE}`);
      expect(r.status).toBe(503);
      const body = (await r.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("FT_NO_OPERATOR_TOKENS");
      expect(body.error.message).toMatch(/no api.operatorTokens are configured/);
      expect(
        (await fetch(`${open}/api/v1/overview?${RANGE}`, { headers: { authorization: "Bearer " } }))
          .status,
      ).toBe(503);
      expect((await fetch(`${open}/healthz`)).status).toBe(200);
      expect(logLines.some((l) => l.includes("api.operatorTokens is empty"))).toBe(true);
    });
  });

  describe("routes", () => {
    it("GET /healthz needs no token", async () => {
      const r = await get("/healthz", { token: null });
      expect(r.status).toBe(200);
      expect(r.json).toEqual({ status: "ok" });
      expect(r.headers.get("cache-control")).toBe("no-store");
    });

    it("answers 404 for unknown paths", async () => {
      for (const path of [
        "/",
        "/nope",
        "/api",
        "/api/v1/overview/",
        "/api/v2/overview",
        "/api/v1/customers/acme",
      ]) {
        const r = await get(path);
        expect(r.status, path).toBe(404);
        expect(r.json.error.code).toBe("FT_NOT_FOUND");
      }
    });

    it("answers 405 with Allow for other methods", async () => {
      for (const [method, path] of [
        ["POST", `/api/v1/overview?${RANGE}`],
        ["DELETE", "/api/v1/customers/acme/traffic"],
        ["PUT", "/healthz"],
      ] as const) {
        const r = await get(path, { method });
        expect(r.status, `${method} ${path}`).toBe(405);
        expect(r.headers.get("allow")).toBe("GET, HEAD");
        expect(r.json.error.code).toBe("FT_METHOD_NOT_ALLOWED");
      }
    });
  });

  describe("failures", () => {
    it("answer(): in process, without a token, what HTTP answers; a store failure is thrown", async () => {
      await startApi(store, []); // no tokens: HTTP refuses every request, answer() needs none
      const local = api;
      for (const target of [
        `/api/v1/overview?${RANGE}&limit=2`,
        `/api/v1/overview?${RANGE}&format=csv`,
        "/api/v1/customers/acme/traffic?from=2026-11-22T10:00:00Z&to=2026-11-22T12:00:00Z",
        "/api/v1/customers/acme/response-times?from=2026-11-22T10:00:00Z&step=5m",
        "/api/v1/overview?from=2026-11-22T10:00:30Z",
        "/api/v1/customers/acne/traffic?from=2026-11-22T10:00:00Z",
      ]) {
        const http = await get(target);
        const inProcess = await local.answer(target);
        expect([inProcess.status, inProcess.contentType, inProcess.body]).toEqual([
          http.status,
          http.headers.get("content-type"),
          http.text,
        ]);
      }
      for (const target of ["/api/v1/status", "/healthz", "/metrics"]) {
        expect((await local.answer(target)).status).toBe(404);
      }
      const failing = createApiServer({
        config: config([]),
        model: buildCustomerModel(config([])),
        store: { ...store, overview: () => Promise.reject(new Error("disk I/O error")) },
        log,
      });
      await expect(failing.answer(`/api/v1/overview?${RANGE}`)).rejects.toThrow("disk I/O error");
    });

    it("answers a store failure with a generic 500 and logs the cause", async () => {
      const secret = "disk I/O error at /var/lib/secret-path";
      const failing: SeriesStore = {
        ...store,
        overview: () => Promise.reject(new Error(secret)),
      };
      const url = await startApi(failing);
      const r = await fetch(`${url}/api/v1/overview?${RANGE}`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(r.status).toBe(500);
      const text = await r.text();
      expect(JSON.parse(text)).toEqual({
        error: { code: "FT_INTERNAL", message: "internal error; see the server log" },
      });
      expect(text).not.toContain("secret");
      expect(text).not.toContain("at ");
      const logged = logLines.find((l) => l.includes("API request failed"));
      expect(logged).toBeDefined();
      expect(logged).toContain(secret);
      expect(logged).not.toContain(TOKEN);
    });

    it("close() ends keep-alive connections promptly", async () => {
      const url = await startApi(store);
      const server = api;
      const r = await fetch(`${url}/healthz`, { headers: { connection: "keep-alive" } });
      await r.text();
      const started = performance.now();
      await server.close();
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(server.server.listening).toBe(false);
      await server.close(); // twice is fine
    });

    it("reports a listen failure naming api.listen", async () => {
      const cfg = config([TOKEN]);
      const first = new URL(base);
      const busy = { ...cfg, api: { ...cfg.api, listen: `127.0.0.1:${first.port}` } };
      const s = createApiServer({ config: busy, model: buildCustomerModel(cfg), store, log });
      await expect(s.listen()).rejects.toThrow(`api.listen 127.0.0.1:${first.port}`);
    });

    const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

    describe("GET /api/v1/customers/{id}/response-times", () => {
      it("serves the stored response-time sums as points with delays in ms", async () => {
        await store.addResponseTimes([
          {
            level: "1h",
            startMs: at(10),
            ...fiberWeb,
            transactions: 4,
            good: 3,
            retransmissions: 2,
            networkDelaySumUs: 8_000,
            networkDelayCount: 4,
            serverDelaySumUs: 40_000,
            serverDelayCount: 4,
            totalDelaySumUs: 100_000,
            estimated: 0,
            bins: [],
          },
        ]);
        const r = await get(
          `/api/v1/customers/acme/response-times?from=${iso(at(10))}&to=${iso(at(12))}&step=1h`,
        );
        expect(r.status).toBe(200);
        const body = r.json as { points: Array<Record<string, unknown>>; transactions: number };
        expect(body.points.map((p) => [p.time, p.transactions, p.meanNetworkDelayMs])).toEqual([
          [iso(at(10)), 4, 2],
          [iso(at(11)), 0, null],
        ]);
        expect(body.points[0]).toMatchObject({ goodRatio: 0.75, meanServerDelayMs: 10 });
        expect(body.transactions).toBe(4);
        await store.addResponseTimes([
          {
            level: "5m",
            startMs: at(10, 5),
            ...fiberWeb,
            transactions: 2,
            good: 2,
            retransmissions: 0,
            networkDelaySumUs: 0,
            networkDelayCount: 0,
            serverDelaySumUs: 6_000,
            serverDelayCount: 2,
            totalDelaySumUs: 0,
            estimated: 0,
            bins: [],
          },
        ]);
        const five = await get(
          `/api/v1/customers/acme/response-times?from=${iso(at(10))}&to=${iso(at(10, 15))}&step=5m`,
        );
        expect(five.status).toBe(200);
        expect(
          (five.json as { points: Array<Record<string, unknown>> }).points.map((p) => [
            p.time,
            p.transactions,
            p.meanServerDelayMs,
          ]),
        ).toEqual([
          [iso(at(10)), 0, null],
          [iso(at(10, 5)), 2, 3],
          [iso(at(10, 10)), 0, null],
        ]);
        const bad = await get(
          `/api/v1/customers/acme/response-times?from=${iso(at(10))}&to=${iso(at(12))}&step=2h`,
        );
        expect(bad.status).toBe(400);
        expect((bad.json as { error: { parameter: string } }).error.parameter).toBe("step");
      });
    });

    describe("GET /api/v1/interfaces", () => {
      it("lists the interfaces it is given, filters by router, 400s a bad router", async () => {
        const cfg = config([TOKEN]);
        const rows = [
          { exporter: "192.0.2.1", ifIndex: 3, inBps: 1000 },
          { exporter: "192.0.2.9", ifIndex: 1, inBps: 5 },
        ];
        const server = createApiServer({
          config: cfg,
          model: buildCustomerModel(cfg),
          store,
          log,
          interfaces: (exporter) =>
            rows.filter((r) => exporter === undefined || r.exporter === exporter),
        });
        servers.push(server);
        const { port } = await server.listen();
        const headers = { authorization: `Bearer ${TOKEN}` };
        const all = await fetch(`http://127.0.0.1:${port}/api/v1/interfaces`, { headers });
        expect(await all.json()).toEqual({ interfaces: rows });
        const one = await fetch(`http://127.0.0.1:${port}/api/v1/interfaces?router=192.0.2.9`, {
          headers,
        });
        expect(await one.json()).toEqual({ interfaces: [rows[1]] });
        const bad = await fetch(`http://127.0.0.1:${port}/api/v1/interfaces?router=x`, { headers });
        expect(bad.status).toBe(400);
        // Without the dependency (the tests' main server) the endpoint does not exist.
        expect((await get("/api/v1/interfaces")).status).toBe(404);
      });
    });

    describe("GET /healthz with a dependency down", () => {
      it("answers 503 naming it and its error code when known, without auth", async () => {
        const cfg = config([TOKEN]);
        let down: DownDependency[] = [{ name: "store" }];
        const server = createApiServer({
          config: cfg,
          model: buildCustomerModel(cfg),
          store,
          log,
          health: () => down,
        });
        servers.push(server);
        const { port } = await server.listen();
        const bad = await fetch(`http://127.0.0.1:${port}/healthz`);
        expect(bad.status).toBe(503);
        expect(await bad.json()).toEqual({ status: "degraded", down: ["store"] });
        down = [{ name: "store", code: "FT_STORE_FILE" }, { name: "redis" }];
        const coded = await fetch(`http://127.0.0.1:${port}/healthz`);
        expect([coded.status, await coded.json()]).toEqual([
          503,
          { status: "degraded", down: ["store", "redis"], codes: { store: "FT_STORE_FILE" } },
        ]);
        down = [];
        const ok = await fetch(`http://127.0.0.1:${port}/healthz`);
        expect([ok.status, await ok.json()]).toEqual([200, { status: "ok" }]);
      });
    });
  });
});
