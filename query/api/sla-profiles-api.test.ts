/**
 * Billing profiles are versioned (issue 18, docs/sla.md "Profile versions"), against real stores
 * (the embedded one and influxd 1.6.7), the same expected answers on both. The versions are
 * stored by the recorder `run` and `serve` use, its clock set to the fixture's moments; the API's
 * clock is 2024-10-20 00:00 UTC (a fixed past date: the real clock never enters the figures).
 *
 * Customer acme, link hq/fiber, billing day 1, percentileOf in, monthly fee 100 EUR:
 *
 * | version | in force from      | commit rate | availability target | credit tier (availability) |
 * |---------|--------------------|-------------|---------------------|----------------------------|
 * | 1       | 2024-08-15 (first) | 1M          | 99                  | below 99: 10 %             |
 * | 2       | 2024-10-01 00:00   | 2M          | 95                  | below 95: 20 %             |
 * | 3       | 2024-10-11 00:00   | 4M          | 95                  | below 95: 20 %             |
 *
 * September (30 days, 8640 windows): 500 windows at 1.5 Mbit/s in (56.25 MB each), the rest
 * none: the 95th percentile (rank ⌈0.95 × 8640⌉ = 8208 of the windows sorted up; 8140 are 0) is
 * 1.5 Mbit/s; against version 1's 1M: above by 0.5M, 500 windows above. Link status: 1000 up
 * minutes and 20 down: 1000 / 1020 = 98.04 % < 99 → not met, tier "below 99" → 10 % of 100 = 10.
 * (Judged by version 2 instead it would be compliant, met, and owe nothing.)
 *
 * October (31 days, 8928 windows), in progress at the API's now: the same 1000 up / 20 down
 * minutes: 98.04 % ≥ 95 (version 3's, in force at the period's end) → met, no credit. Commit
 * rate 2M for 10 days then 4M for 21: prorated (2M × 10 + 4M × 21) / 31 = 3 354 838.7 → 3 354 839.
 *
 * The change inside a range, 2024-10-10 23:00 to 2024-10-11 01:00 (24 windows): 12 windows at
 * 2.5 Mbit/s before 00:00 (rate 2M: each above), 12 at 3.5 Mbit/s after (rate 4M: none above).
 * Percentile: rank ⌈0.95 × 24⌉ = 23 → 3.5 Mbit/s; against the prorated 3M (an hour of each):
 * 0.5M above, not compliant; windowsAbove 12. (Judged by the rate at the end, 4M: compliant; by
 * the one at the start, 2M: 24 windows above.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCustomerModel } from "../../collector/classify/customer-model.js";
import { validateConfig } from "../../config/load-config.js";
import type { Config } from "../../schema/config.js";
import type { LinkStatusRow, SeriesRowDelta, SeriesStore } from "../../schema/series-store.js";
import { profileHistory } from "../../sla/billing-profile.js";
import { createProfileRecorder } from "../../sla/profile-recorder.js";
import { apiStores } from "../../test/support/api-stores.js";
import { captureLog } from "../../test/support/log-capture.js";
import { type ApiServer, createApiServer } from "./index.js";

const MIN = 60_000;
const WINDOW = 5 * MIN;
const DAY = 86_400_000;
const TOKEN = "operator-token-0123456789";
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

const V1_AT = Date.UTC(2024, 7, 15);
const V2_AT = Date.UTC(2024, 9, 1);
const V3_AT = Date.UTC(2024, 9, 11);
const NOW = Date.UTC(2024, 9, 20);

function config(commitRate: string, target: number, tier: { below: number; percent: number }) {
  return validateConfig({
    api: { listen: "127.0.0.1:0", operatorTokens: [TOKEN] },
    serviceTypes: [
      {
        id: "business",
        billing: {
          percentileOf: "in",
          day: 1,
          availabilityTarget: target,
          credits: { availability: [tier] },
          monthlyFee: 100,
          currency: "EUR",
        },
      },
    ],
    customers: [
      {
        id: "acme",
        name: "Acme",
        serviceType: "business",
        sites: [{ id: "hq", links: [{ id: "fiber", prefixes: ["198.51.100.0/28"], commitRate }] }],
      },
    ],
  });
}

const V1 = config("1M", 99, { below: 99, percent: 10 });
const V2 = config("2M", 95, { below: 95, percent: 20 });
const V3 = config("4M", 95, { below: 95, percent: 20 });

/** One 5-minute window of `bps` in, on acme's hq/fiber. */
function window(startMs: number, bps: number): SeriesRowDelta {
  return {
    level: "5m",
    startMs,
    customer: "acme",
    site: "hq",
    link: "fiber",
    trafficClass: "other",
    direction: "in",
    bytes: (bps * 300) / 8,
    packets: 1,
    flows: 1,
  };
}

/** `up` up minutes from `fromMs`, then `down` down minutes. */
function status(fromMs: number, up: number, down: number): LinkStatusRow[] {
  return Array.from({ length: up + down }, (_, k) => ({
    level: "1m" as const,
    startMs: fromMs + k * MIN,
    customer: "acme",
    site: "hq",
    link: "fiber",
    upMinutes: k < up ? 1 : 0,
    downMinutes: k < up ? 0 : 1,
  }));
}

/** A customer with one link, s/l, of `commitRate`, as the config holds one. */
function oneLinkCustomer(id: string, commitRate: number) {
  return {
    id,
    name: id,
    serviceType: "business",
    sites: [{ id: "s", links: [{ id: "l", prefixes: [], commitRate }] }],
  };
}

const { log } = captureLog();

for (const backend of apiStores({ log })) {
  describe(`billing profile versions on the ${backend.name} store`, () => {
    let store: SeriesStore;
    let close: () => Promise<void>;
    let api: ApiServer;
    let base: string;

    /** The recorder of a process whose clock reads `atMs`. */
    const recordAt = (cfg: Readonly<Config>, atMs: number, fresh = true) =>
      createProfileRecorder({ store, log, now: () => atMs }).record({ config: cfg }, fresh);

    beforeAll(async () => {
      ({ store, close } = await backend.open());
      // September: 500 windows at 1.5 Mbit/s from Sep 2. October: the 24 windows around Oct 11.
      const sep = Date.UTC(2024, 8, 2);
      const rows = Array.from({ length: 500 }, (_, k) => window(sep + k * WINDOW, 1_500_000));
      for (let k = 0; k < 12; k++) {
        rows.push(window(V3_AT - 3_600_000 + k * WINDOW, 2_500_000));
        rows.push(window(V3_AT + k * WINDOW, 3_500_000));
      }
      await store.addDeltas(rows);
      await store.addLinkStatus([
        ...status(Date.UTC(2024, 8, 10), 1000, 20),
        ...status(Date.UTC(2024, 9, 3), 1000, 20),
      ]);
      // Three processes' lives: each starts with the config of its time.
      expect(await recordAt(V1, V1_AT)).toBe(1);
      expect(await recordAt(V2, V2_AT)).toBe(1);
      expect(await recordAt(V3, V3_AT)).toBe(1);
      // The API runs with today's config (version 3): the past is judged by what is stored.
      api = createApiServer({
        config: V3,
        model: buildCustomerModel(V3),
        store,
        log,
        now: () => NOW,
      });
      const { port } = await api.listen();
      base = `http://127.0.0.1:${port}`;
    }, 60_000);

    afterAll(async () => {
      await api?.close();
      await close?.();
    });

    async function get(path: string) {
      const res = await fetch(`${base}${path}`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      const text = await res.text();
      expect(res.status, text).toBe(200);
      return {
        text,
        json: res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : undefined,
      };
    }

    it("last month keeps the commit rate, availability target and credit tier in force then", async () => {
      const { json } = await get("/api/v1/customers/acme/sla?period=last-month");
      expect(json).toMatchObject({ from: "2024-09-01T00:00:00Z", to: "2024-10-01T00:00:00Z" });
      expect(json.billing.availabilityTarget).toBe(99);
      expect(json.links).toEqual([
        expect.objectContaining({
          site: "hq",
          link: "fiber",
          commitRate: 1_000_000,
          commitRates: [
            { from: "2024-09-01T00:00:00Z", to: "2024-10-01T00:00:00Z", commitRate: 1_000_000 },
          ],
          p95Bps: 1_500_000,
          excessBps: 500_000,
          compliant: false,
          windows: 8640,
          windowsAbove: 500,
        }),
      ]);
      expect(json.links[0].availability).toMatchObject({
        target: 99,
        upMinutes: 1000,
        downMinutes: 20,
        met: false,
      });
      expect(json.credits).toMatchObject({
        from: "2024-09-01T00:00:00Z",
        to: "2024-10-01T00:00:00Z",
        final: true,
        percent: 10,
        amount: 10,
        currency: "EUR",
        items: [{ reason: "availability", site: "hq", link: "fiber", below: 99, percent: 10 }],
      });
      expect(json.profiles).toEqual([
        {
          from: "2024-09-01T00:00:00Z",
          to: "2024-10-01T00:00:00Z",
          billing: expect.objectContaining({ availabilityTarget: 99 }),
          commitRates: { "hq/fiber": 1_000_000 },
        },
      ]);
    });

    it("this month: the new values, the commit rate prorated over its change on the 11th", async () => {
      const { json } = await get("/api/v1/customers/acme/sla?period=this-month");
      expect(json).toMatchObject({ from: "2024-10-01T00:00:00Z", to: "2024-11-01T00:00:00Z" });
      const [link] = json.links;
      expect(link).toMatchObject({
        commitRate: 3_354_839,
        commitRates: [
          { from: "2024-10-01T00:00:00Z", to: "2024-10-11T00:00:00Z", commitRate: 2_000_000 },
          { from: "2024-10-11T00:00:00Z", to: "2024-11-01T00:00:00Z", commitRate: 4_000_000 },
        ],
        windows: 8928,
        // 24 windows with traffic of 8928: the percentile is 0.
        p95Bps: 0,
        compliant: true,
        // The 12 windows at 2.5 Mbit/s before the 11th were above the 2M in force then.
        windowsAbove: 12,
      });
      // 8928 − ⌈0.95 × 8928⌉ = 446 windows may be above; 12 were.
      expect(link.projection.burstWindowsLeft).toBe(434);
      expect(link.availability).toMatchObject({ target: 95, met: true });
      expect(json.credits).toMatchObject({ final: false, percent: 0, amount: 0, items: [] });
      expect(json.profiles.map((p: { from: string }) => p.from)).toEqual([
        "2024-10-01T00:00:00Z",
        "2024-10-11T00:00:00Z",
      ]);
    });

    it("a change inside the range: each window against its own rate, the percentile against the prorated one", async () => {
      const range = `from=${iso(V3_AT - 3_600_000)}&to=${iso(V3_AT + 3_600_000)}`;
      const { json } = await get(`/api/v1/customers/acme/sla?${range}`);
      expect(json.links[0]).toMatchObject({
        commitRate: 3_000_000,
        p95Bps: 3_500_000,
        excessBps: 500_000,
        compliant: false,
        windows: 24,
        windowsAbove: 12,
      });
      const csv = (await get(`/api/v1/customers/acme/sla?${range}&format=csv`)).text;
      const rateRows = csv.split("\r\n").filter((l) => l.startsWith("commitRate,"));
      expect(rateRows).toHaveLength(2);
      expect(rateRows[0]).toContain(`${iso(V3_AT - 3_600_000)},${iso(V3_AT)}`);
      expect(rateRows[0]).toContain(",2000000,");
      expect(rateRows[1]).toContain(",4000000,");
    });

    it("a restart with the same config stores nothing; two processes storing one profile make one version", async () => {
      // A restart on Oct 20 with version 3's config: nothing differs from the last stored.
      expect(await recordAt(V3, NOW)).toBe(0);
      const before = await store.billingProfiles({ customer: "acme" });
      expect(before.map((r) => r.fromMs)).toEqual([V1_AT, V2_AT, V3_AT]);
      // Two processes that read the store before either wrote, storing the same new profile at
      // two moments: two rows, one version, in force from the first.
      const other = config("8M", 95, { below: 95, percent: 20 });
      const a = createProfileRecorder({ store, log, now: () => NOW + 1000 });
      const b = createProfileRecorder({ store, log, now: () => NOW + 2000 });
      await Promise.all([a.record({ config: V3 }, true), b.record({ config: V3 }, true)]);
      await Promise.all([a.record({ config: other }), b.record({ config: other })]);
      const rows = await store.billingProfiles({ customer: "acme" });
      expect(rows.map((r) => r.fromMs)).toEqual([V1_AT, V2_AT, V3_AT, NOW + 1000, NOW + 2000]);
      const { history } = profileHistory(rows);
      expect(history.map((v) => v.fromMs)).toEqual([V1_AT, V2_AT, V3_AT, NOW + 1000]);
      // A third process after them: nothing new.
      expect(await recordAt(other, NOW + 3000)).toBe(0);
      // Last month still reads as before.
      const { json } = await get("/api/v1/customers/acme/sla?period=last-month");
      expect(json.links[0]).toMatchObject({ commitRate: 1_000_000, compliant: false });
      expect((await store.billingProfiles({ latest: true })).map((r) => r.fromMs)).toEqual([
        NOW + 2000,
      ]);
    });

    it("a burst of versions waiting for the recorder stores only the newest", async () => {
      const before = await store.billingProfiles({ customer: "acme" });
      let clock = NOW + 10_000;
      const recorder = createProfileRecorder({ store, log, now: () => clock++ });
      // Three registry versions applied before the recorder's turn comes: they join one call.
      const counts = await Promise.all([
        recorder.record({ config: config("16M", 95, { below: 95, percent: 20 }) }, true),
        recorder.record({ config: config("32M", 95, { below: 95, percent: 20 }) }),
        recorder.record({ config: config("64M", 95, { below: 95, percent: 20 }) }),
      ]);
      expect(counts).toEqual([1, 1, 1]);
      const rows = await store.billingProfiles({ customer: "acme" });
      expect(rows).toHaveLength(before.length + 1);
      const last = profileHistory(rows).history.at(-1)!;
      expect(Object.values(last.profile.commitRates)).toEqual([64_000_000]);
    });

    /** The commit rates of s/l in `customer`'s stored versions, oldest first. */
    const rates = async (customer: string) =>
      profileHistory(await store.billingProfiles({ customer })).history.map(
        (v) => v.profile.commitRates["s/l"],
      );

    it("a registry version that tells which customers it changed is compared for those alone; a fresh record compares all", async () => {
      type Source = Parameters<ReturnType<typeof createProfileRecorder>["record"]>[0];
      let clock = NOW + 20_000;
      const recorder = createProfileRecorder({
        store,
        log,
        now: () => clock++,
        minIntervalMs: 0,
      });
      const asked: Source[] = [];
      const version = (a: number, b: number, told?: (earlier: Source) => string[] | undefined) => {
        const customers = [oneLinkCustomer("delta-a", a), oneLinkCustomer("delta-b", b)];
        const source: Source = {
          config: { ...V3, customers },
          changedSince(earlier) {
            asked.push(earlier);
            return told?.(earlier)?.map((id) => ({
              id,
              after: customers.find((c) => c.id === id),
            }));
          },
        };
        return source;
      };
      const v1 = version(1_000_000, 1_000_000);
      expect(await recorder.record(v1, true)).toBe(2);
      // Both rates changed, the version names delta-a alone: delta-a alone is compared.
      const v2 = version(2_000_000, 2_000_000, (earlier) =>
        earlier === v1 ? ["delta-a"] : undefined,
      );
      expect(await recorder.record(v2)).toBe(1);
      expect(asked).toEqual([v1]);
      expect(await rates("delta-a")).toEqual([1_000_000, 2_000_000]);
      expect(await rates("delta-b")).toEqual([1_000_000]);
      // A fresh record (start, SIGHUP) compares every customer, without asking.
      expect(await recorder.record(v2, true)).toBe(1);
      expect(asked).toEqual([v1]);
      expect(await rates("delta-b")).toEqual([1_000_000, 2_000_000]);
      // A version that cannot tell (a tree read whole again): every customer compared.
      const v3 = version(2_000_000, 3_000_000, () => undefined);
      expect(await recorder.record(v3)).toBe(1);
      expect(asked).toEqual([v1, v2]);
      expect(await rates("delta-b")).toEqual([1_000_000, 2_000_000, 3_000_000]);
      // Gone again, for the tests after this one that read every customer's latest.
      await store.purgeCustomer("delta-a");
      await store.purgeCustomer("delta-b");
    });

    it("a stored profile spelled otherwise (keys in another order, spaces) is the same profile; another value is not", async () => {
      const cfg = (rate: number) => ({
        config: { ...V3, customers: [oneLinkCustomer("spelled", rate)] },
      });
      let clock = NOW + 40_000;
      const recorder = () =>
        createProfileRecorder({ store, log, now: () => clock++, minIntervalMs: 0 });
      expect(await recorder().record(cfg(1_000_000), true)).toBe(1);
      const [row] = await store.billingProfiles({ customer: "spelled" });
      // As another version of flowtally might have written it: every object's keys reversed.
      const reversed = (v: unknown): unknown =>
        v !== null && typeof v === "object" && !Array.isArray(v)
          ? Object.fromEntries(
              Object.entries(v)
                .reverse()
                .map(([k, x]) => [k, reversed(x)]),
            )
          : v;
      const respelled = JSON.stringify(reversed(JSON.parse(row!.profile))).replaceAll('":', '": ');
      expect(respelled).not.toBe(row!.profile);
      await store.putBillingProfiles([{ ...row!, profile: respelled }]);
      expect(await recorder().record(cfg(1_000_000), true)).toBe(0);
      expect(await recorder().record(cfg(2_000_000), true)).toBe(1);
      expect(await rates("spelled")).toEqual([1_000_000, 2_000_000]);
      await store.purgeCustomer("spelled");
    });

    it("writes at most once per minIntervalMs, the versions of the changes meanwhile in one write; settled() writes a waiting one at once", async () => {
      const version = (rate: number) => ({
        config: { ...V3, customers: [oneLinkCustomer("paced", rate)] },
      });
      let clock = NOW + 30_000;
      const paced = (minIntervalMs: number) =>
        createProfileRecorder({ store, log, now: () => clock++, minIntervalMs });
      const recorder = paced(400);
      expect(await recorder.record(version(1_000_000), true)).toBe(1);
      const wrote = performance.now();
      // Two changes right after: they wait for the interval and go in one write, the newest.
      const [a, b] = await Promise.all([
        recorder.record(version(2_000_000)),
        recorder.record(version(3_000_000)),
      ]);
      expect(performance.now() - wrote).toBeGreaterThanOrEqual(400);
      expect([a, b]).toEqual([1, 1]);
      expect(await rates("paced")).toEqual([1_000_000, 3_000_000]);
      // A stop does not wait: with an hour's interval, settled() writes the waiting version now.
      const slow = paced(3_600_000);
      expect(await slow.record(version(3_000_000), true)).toBe(0);
      expect(await slow.record(version(4_000_000))).toBe(1);
      const waiting = slow.record(version(5_000_000));
      await slow.settled();
      expect(await waiting).toBe(1);
      expect(await rates("paced")).toEqual([1_000_000, 3_000_000, 4_000_000, 5_000_000]);
      await store.purgeCustomer("paced");
    });

    it("stores a customer id with spaces, commas, = and quotes and any profile text as given, a second write of a key replacing it", async () => {
      const customer = 'odd id, with=signs "and" spaces';
      const profile = '{"billing":{"currency":"a \\"quoted\\" \\\\ value"},"commitRates":{}}';
      await store.putBillingProfiles([{ customer, fromMs: V1_AT, profile: "{}" }]);
      await store.putBillingProfiles([{ customer, fromMs: V1_AT, profile }]);
      expect(await store.billingProfiles({ customer })).toEqual([
        { customer, fromMs: V1_AT, profile },
      ]);
    });

    it("before the first version known, the first is in force", async () => {
      const { json } = await get(
        `/api/v1/customers/acme/sla?from=${iso(V1_AT - 30 * DAY)}&to=${iso(V1_AT - 29 * DAY)}`,
      );
      expect(json.links[0].commitRate).toBe(1_000_000);
      expect(json.billing.availabilityTarget).toBe(99);
    });
  });
}
