import { describe, expect, it } from "vitest";
import { credits, tierReached } from "./credits.js";

const config = {
  availability: [
    { below: 99.9, percent: 5 },
    { below: 99.5, percent: 10 },
  ],
  serviceLevel: [{ below: 99, percent: 2 }],
  maxPercent: 100,
};

describe("credits", () => {
  it("the lowest tier reached applies; at the tier's value is not below it", () => {
    expect(tierReached({ part: 9990, whole: 10_000 }, config.availability)).toBeUndefined();
    expect(tierReached({ part: 9989, whole: 10_000 }, config.availability)?.percent).toBe(5);
    expect(tierReached({ part: 9950, whole: 10_000 }, config.availability)?.percent).toBe(5);
    expect(tierReached({ part: 9949, whole: 10_000 }, config.availability)?.percent).toBe(10);
    expect(tierReached({ part: 0, whole: 0 }, config.availability)).toBeUndefined();
  });

  // Hand-computed: l1 99.90 % none; l2 99.85 % → 5; l3 99.49 % → 10; web 98 % → 2; mail 99 %
  // none; l4 without evidence none. 17 % of 1234.56 = 209.8752 → 209.88; capped at 12 %:
  // 148.1472 → 148.15.
  const links = [
    { site: "hq", link: "l1", share: { part: 9990, whole: 10_000 } },
    { site: "hq", link: "l2", share: { part: 9985, whole: 10_000 } },
    { site: "br", link: "l3", share: { part: 9949, whole: 10_000 } },
    { site: "br", link: "l4", share: { part: 0, whole: 0 } },
  ];
  const classes = [
    { class: "web", share: { part: 98, whole: 100 } },
    { class: "mail", share: { part: 99, whole: 100 } },
  ];

  it("adds the items' percents and turns them into an amount of the monthly fee", () => {
    const c = credits(config, links, classes, { monthlyFee: 1234.56, currency: "EUR" });
    expect(c).toEqual({
      percent: 17,
      amount: 209.88,
      currency: "EUR",
      items: [
        { reason: "availability", site: "hq", link: "l2", share: 0.9985, below: 99.9, percent: 5 },
        { reason: "availability", site: "br", link: "l3", share: 0.9949, below: 99.5, percent: 10 },
        { reason: "serviceLevel", class: "web", share: 0.98, below: 99, percent: 2 },
      ],
    });
  });

  it("caps the total at maxPercent; without a fee, no amount", () => {
    const capped = credits({ ...config, maxPercent: 12 }, links, classes, { monthlyFee: 1234.56 });
    expect(capped.percent).toBe(12);
    expect(capped.amount).toBe(148.15);
    expect(capped.currency).toBeUndefined();
    const bare = credits(config, links, []);
    expect(bare).toMatchObject({ percent: 15 });
    expect(bare.amount).toBeUndefined();
    // Tenths add exactly: 0.1 + 0.2.
    const tenths = credits(
      {
        availability: [{ below: 99.9, percent: 0.1 }],
        serviceLevel: [{ below: 99, percent: 0.2 }],
        maxPercent: 100,
      },
      [links[1]!],
      [classes[0]!],
    );
    expect(tenths.percent).toBe(0.3);
  });
});
