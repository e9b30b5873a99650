import { describe, expect, it } from "vitest";
import { formatBitRate } from "../schema/units.js";
import type { Billing } from "../sla/billing.js";
import { commitCaption, commitSteps, hasCommitRate } from "./commit-steps.js";

const T0 = Date.UTC(2026, 9, 1);
const H = 3_600_000;

const billing: Billing = { day: 1, percentileOf: "max", bills: [] };
/**
 * Three versions: hq's fiber 10 M then 20 M from 08:00, its dsl 2 M throughout; branch's lte 5 M,
 * then none; the version of 12:00 the same rates again (a change of billing only).
 */
const HISTORY = [
  {
    fromMs: T0,
    profile: { billing, commitRates: { "hq/fiber": 10e6, "hq/dsl": 2e6, "branch/lte": 5e6 } },
  },
  { fromMs: T0 + 8 * H, profile: { billing, commitRates: { "hq/fiber": 20e6, "hq/dsl": 2e6 } } },
  { fromMs: T0 + 12 * H, profile: { billing, commitRates: { "hq/fiber": 20e6, "hq/dsl": 2e6 } } },
];
const DAY = { fromMs: T0, toMs: T0 + 24 * H };
const steps = (scope: Parameters<typeof commitSteps>[2], range = DAY) =>
  commitSteps(HISTORY, range, scope);

describe("a graph's commit-rate steps", () => {
  it("sums the scope's links in each part, from each change on, equal neighbours merged", () => {
    expect(steps({})).toEqual([
      [T0, 17e6],
      [T0 + 8 * H, 22e6],
    ]);
    expect(steps({ site: "hq" })).toEqual([
      [T0, 12e6],
      [T0 + 8 * H, 22e6],
    ]);
    expect(steps({ site: "hq", link: "dsl" })).toEqual([[T0, 2e6]]);
    // A link whose rate was removed: none from then on.
    expect(steps({ site: "branch", link: "lte" })).toEqual([
      [T0, 5e6],
      [T0 + 8 * H, null],
    ]);
    // A range inside a version, and one before the first (which is in force from always).
    expect(steps({ site: "hq", link: "fiber" }, { fromMs: T0 + 9 * H, toMs: T0 + 10 * H })).toEqual(
      [[T0 + 9 * H, 20e6]],
    );
    expect(steps({ site: "hq", link: "fiber" }, { fromMs: T0 - 2 * H, toMs: T0 + 9 * H })).toEqual([
      [T0 - 2 * H, 10e6],
      [T0 + 8 * H, 20e6],
    ]);
    // A site's link of the same id elsewhere is not counted: the key is "site/link".
    expect(steps({ site: "branch", link: "fiber" })).toEqual([[T0, null]]);
  });

  it("draws a line only where a rate is set, and says the values in order", () => {
    expect(hasCommitRate(steps({ site: "branch", link: "fiber" }))).toBe(false);
    expect(hasCommitRate(steps({ site: "branch", link: "lte" }))).toBe(true);
    expect(hasCommitRate(commitSteps([], DAY, {}))).toBe(false);
    expect(commitCaption([[T0, 10e6]])).toBe(`commit rate ${formatBitRate(10e6)}`);
    expect(
      commitCaption([
        [T0, 5e6],
        [T0 + H, null],
      ]),
    ).toBe(`commit rate ${formatBitRate(5e6)} → none`);
    const many = [1, 2, 3, 4, 5].map((k) => [T0 + k * H, k * 1e6] as const);
    expect(commitCaption(many)).toBe(
      `commit rate ${formatBitRate(1e6)} → … → ${formatBitRate(5e6)}`,
    );
  });
});
