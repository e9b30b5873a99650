/**
 * A year's traffic graph (`GET /api/v1/customers/{id}/traffic?step=1d` over 365 days) over HTTP,
 * on the embedded store (InfluxDB: its first month, DAYS below), against figures from a generator of known 5-minute values: every byte sum,
 * rate, daily peak and the year's 95th percentile of the answer, not a sample of them.
 *
 * The generator, for day d (0–364 of 2025) and 5-minute slot k (0–287) of the day:
 *   in  = 1 000 + 10·k + d          out = 500 + 20·((k + 144) mod 288) + d
 * written as the aggregator writes them: a 5m row per slot and direction, and a 1d row per day
 * and direction with their sums (and 288 packets, one per slot).
 *
 * By hand: day d's sum in = 288 000 + 10·(0 + … + 287) + 288·d = 701 280 + 288·d, out =
 * 144 000 + 20·41 328 + 288·d = 970 560 + 288·d; day d's highest slot in is k = 287
 * (3 870 + d), out k = 143 (500 + 20·287 + d = 6 240 + d). The year's 95th percentile is the
 * p95Rank(105 120) = 5 257th highest of the 105 120 slots: in, 3 915 (5 248 slots are higher,
 * 5 280 at least as high), out 6 144; the test also takes it from a sort of the generated values.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCustomerModel } from "../../collector/classify/customer-model.js";
import { validateConfig } from "../../config/load-config.js";
import type { SeriesRowDelta, SeriesStore } from "../../schema/series-store.js";
import { apiStores } from "../../test/support/api-stores.js";
import { captureLog } from "../../test/support/log-capture.js";
import { type ApiServer, createApiServer } from "./index.js";

const DAY = 86_400_000;
const FIVE = 300_000;
/** 2025-01-01, a year of 365 days. */
const YEAR0 = Date.UTC(2025, 0, 1);
const YEAR1 = YEAR0 + 365 * DAY;
/** The clock: 20 days after the year, so its 1-minute rows are past retention (14 days). */
const NOW = YEAR1 + 20 * DAY;
/**
 * The days written and asked for, per store: on InfluxDB 1.6 the year's call takes seconds
 * (7.7 s measured, over the store's 10 s timeout on a loaded machine: bench/README.md), so it
 * gets the year's first month (31 days, step 1d), checked the same way.
 */
const DAYS: Record<string, number> = { embedded: 365, "InfluxDB v1": 31 };
const TOKEN = "operator-token-0123456789";

const bytesIn = (d: number, k: number) => 1_000 + 10 * k + d;
const bytesOut = (d: number, k: number) => 500 + 20 * ((k + 144) % 288) + d;

const link = { customer: "acme", site: "hq", link: "fiber", trafficClass: "web" };

function* yearRows(days: number): Generator<SeriesRowDelta[]> {
  let batch: SeriesRowDelta[] = [];
  for (let d = 0; d < days; d++) {
    for (const [direction, bytes] of [
      ["in", bytesIn],
      ["out", bytesOut],
    ] as const) {
      let sum = 0;
      for (let k = 0; k < 288; k++) {
        const b = bytes(d, k);
        sum += b;
        const startMs = YEAR0 + d * DAY + k * FIVE;
        batch.push({ ...link, direction, level: "5m", startMs, bytes: b, packets: 1, flows: 1 });
      }
      const startMs = YEAR0 + d * DAY;
      batch.push({
        ...link,
        direction,
        level: "1d",
        startMs,
        bytes: sum,
        packets: 288,
        flows: 288,
      });
    }
    if (batch.length >= 20_000) {
      yield batch;
      batch = [];
    }
  }
  yield batch;
}

const { log } = captureLog();
const cfg = validateConfig({
  api: { listen: "127.0.0.1:0", operatorTokens: [TOKEN] },
  customers: [
    {
      id: "acme",
      name: "Acme",
      serviceType: "business",
      sites: [{ id: "hq", links: [{ id: "fiber", prefixes: ["198.51.100.0/28"] }] }],
    },
  ],
  classes: [{ id: "web", match: { protocol: ["tcp"], ports: [80, 443] } }],
  defaultClass: "other",
});

for (const kind of apiStores({ log })) {
  const days = DAYS[kind.name]!;
  describe(`a year's traffic graph, step 1d, ${days} days (${kind.name})`, () => {
    let opened: { store: SeriesStore; close(): Promise<void> };
    let api: ApiServer;
    let base: string;

    beforeAll(async () => {
      opened = await kind.open();
      for (const batch of yearRows(days)) await opened.store.addDeltas(batch);
      api = createApiServer({
        config: cfg,
        model: buildCustomerModel(cfg),
        store: opened.store,
        log,
        now: () => NOW,
      });
      const { port } = await api.listen();
      base = `http://127.0.0.1:${port}`;
    }, 300_000);

    afterAll(async () => {
      await api?.close();
      await opened?.close();
    });

    it("answers every day's sums, rates and peaks and the year's 95th percentile", async () => {
      const to = YEAR0 + days * DAY;
      const q = `from=${new Date(YEAR0).toISOString()}&to=${new Date(to).toISOString()}&step=1d&site=hq&link=fiber`;
      const res = await fetch(`${base}/api/v1/customers/acme/traffic?${q}`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      const text = await res.text();
      expect(res.status, text).toBe(200);
      const json = JSON.parse(text) as {
        points: Array<Record<string, unknown>>;
        p95BpsIn: number;
        p95BpsOut: number;
      };
      expect(json.points).toHaveLength(days);
      json.points.forEach((p, d) => {
        const sumIn = 701_280 + 288 * d;
        const sumOut = 970_560 + 288 * d;
        expect(p, `day ${d}`).toEqual({
          time: new Date(YEAR0 + d * DAY).toISOString().replace(".000Z", "Z"),
          complete: true,
          bytesIn: sumIn,
          bytesOut: sumOut,
          packetsIn: 288,
          packetsOut: 288,
          bpsIn: (sumIn * 8) / 86_400,
          bpsOut: (sumOut * 8) / 86_400,
          peakBpsIn: ((3_870 + d) * 8) / 300,
          peakBpsOut: ((6_240 + d) * 8) / 300,
          peakOver: "5m",
        });
      });
      // The p95Rank-th highest of the slots written, by a sort (and for the year, by hand: the
      // 5 257th, file comment).
      const n = days * 288;
      const rank = n - Math.ceil(0.95 * n) + 1;
      const slots = (f: (d: number, k: number) => number) =>
        Array.from({ length: n }, (_, s) => f(Math.floor(s / 288), s % 288)).sort((a, b) => b - a);
      const [p95In, p95Out] = [slots(bytesIn)[rank - 1]!, slots(bytesOut)[rank - 1]!];
      if (days === 365) expect([rank, p95In, p95Out]).toEqual([5_257, 3_915, 6_144]);
      expect(json.p95BpsIn).toBe((p95In * 8) / 300);
      expect(json.p95BpsOut).toBe((p95Out * 8) / 300);
    }, 60_000);
  });
}
