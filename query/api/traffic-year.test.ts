/**
 * A year's traffic graph (`GET /api/v1/customers/{id}/traffic?step=1d` over 365 days) over HTTP,
 * on both stores, against figures from a generator of known 5-minute values: every byte sum,
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
const TOKEN = "operator-token-0123456789";

const bytesIn = (d: number, k: number) => 1_000 + 10 * k + d;
const bytesOut = (d: number, k: number) => 500 + 20 * ((k + 144) % 288) + d;

const link = { customer: "acme", site: "hq", link: "fiber", trafficClass: "web" };

function* yearRows(): Generator<SeriesRowDelta[]> {
  let batch: SeriesRowDelta[] = [];
  for (let d = 0; d < 365; d++) {
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
  describe(`a year's traffic graph, step 1d (${kind.name})`, () => {
    let opened: { store: SeriesStore; close(): Promise<void> };
    let api: ApiServer;
    let base: string;

    beforeAll(async () => {
      opened = await kind.open();
      for (const batch of yearRows()) await opened.store.addDeltas(batch);
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
      const q = `from=${new Date(YEAR0).toISOString()}&to=${new Date(YEAR1).toISOString()}&step=1d&site=hq&link=fiber`;
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
      expect(json.points).toHaveLength(365);
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
      // The 5 257th highest of the year's slots, by hand (file comment) and by a sort.
      const slots = (f: (d: number, k: number) => number) =>
        Array.from({ length: 365 * 288 }, (_, s) => f(Math.floor(s / 288), s % 288)).sort(
          (a, b) => b - a,
        );
      expect(slots(bytesIn)[5_256]).toBe(3_915);
      expect(slots(bytesOut)[5_256]).toBe(6_144);
      expect(json.p95BpsIn).toBe((3_915 * 8) / 300);
      expect(json.p95BpsOut).toBe((6_144 * 8) / 300);
    }, 60_000);
  });
}
