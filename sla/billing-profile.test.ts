/**
 * Profile versions, pure: equal profiles stored at two moments read as one version from the
 * first; the first version known is in force from always; a range splits only where a later
 * version starts; rates prorated over the time each was in force.
 */
import { describe, expect, it } from "vitest";
import type { Billing } from "./billing.js";
import {
  type BillingProfile,
  linkRate,
  profileAt,
  profileHistory,
  profilePeriods,
  profileText,
  rateSteps,
} from "./billing-profile.js";
import { proratedRate, windowsAboveSteps } from "./commit-rate.js";

const billing: Billing = { percentileOf: "max", day: 1, bills: [] };
const p = (rate: number): BillingProfile => ({ billing, commitRates: { "s/l": rate } });
const row = (fromMs: number, rate: number) => ({ fromMs, profile: profileText(p(rate)) });

describe("billing profile versions", () => {
  it("text is the same whatever the key order", () => {
    expect(profileText({ commitRates: { b: 2, a: 1 }, billing })).toBe(
      profileText({
        billing: { bills: [], day: 1, percentileOf: "max" },
        commitRates: { a: 1, b: 2 },
      }),
    );
  });

  it("equal neighbours merge (the first moment kept); unreadable rows are counted", () => {
    const { history, unreadable } = profileHistory([
      row(300, 2),
      row(100, 1),
      row(200, 1),
      { fromMs: 250, profile: "{not json" },
      { fromMs: 260, profile: '{"billing":{}}' },
      row(400, 2),
    ]);
    expect(history.map((v) => [v.fromMs, v.profile.commitRates["s/l"]])).toEqual([
      [100, 1],
      [300, 2],
    ]);
    expect(unreadable).toBe(2);
  });

  it("the first version is in force before its moment; parts split where a later one starts", () => {
    const { history } = profileHistory([row(100, 1), row(300, 2)]);
    expect(profileAt(history, 0)?.fromMs).toBe(100);
    expect(profileAt(history, 299)?.fromMs).toBe(100);
    expect(profileAt(history, 300)?.fromMs).toBe(300);
    expect(profileAt([], 0)).toBeUndefined();
    const parts = profilePeriods(history, 0, 500);
    expect(parts.map((x) => [x.fromMs, x.toMs, x.profile.commitRates["s/l"]])).toEqual([
      [0, 300, 1],
      [300, 500, 2],
    ]);
    expect(profilePeriods(history, 0, 200)).toHaveLength(1);
    expect(rateSteps(parts, linkRate("s", "l"))).toEqual([
      { fromMs: 0, toMs: 300, rate: 1 },
      { fromMs: 300, toMs: 500, rate: 2 },
    ]);
    expect(rateSteps(parts, linkRate("s", "other"))).toEqual([
      { fromMs: 0, toMs: 500, rate: undefined },
    ]);
  });

  it("prorated: weighted by time; parts without a rate left out", () => {
    const steps = [
      { fromMs: 0, toMs: 100, rate: 1_000_000 },
      { fromMs: 100, toMs: 400, rate: 3_000_000 },
      { fromMs: 400, toMs: 500, rate: undefined },
    ];
    // (1M × 100 + 3M × 300) / 400 = 2.5M.
    expect(proratedRate(steps, 0, 500)).toBe(2_500_000);
    expect(proratedRate(steps, 100, 400)).toBe(3_000_000);
    expect(proratedRate(steps, 400, 500)).toBeUndefined();
    // Windows at 0 (2M > 1M: above), 100 (2M < 3M), 400 (no rate: above nothing).
    expect(
      windowsAboveSteps(
        new Map([
          [0, 2_000_000],
          [100, 2_000_000],
          [400, 9_000_000],
        ]),
        steps,
      ),
    ).toBe(1);
  });
});
