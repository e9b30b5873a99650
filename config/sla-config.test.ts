import { describe, expect, it } from "vitest";
import { configLevels } from "../sla/config-levels.js";
import { parseConfigText } from "./load-config.js";

const customer = (billing: string) =>
  `customers:\n  - { id: acme, name: Acme, sites: [{ id: hq, links: [{ id: l1, prefixes: [192.0.2.0/28] }] }]${billing} }\n`;

describe("SLA config keys", () => {
  it("classes[].serviceLevelTarget and defaultServiceLevelTarget: percentages with up to three decimals", () => {
    const cfg = parseConfigText(
      [
        "defaultServiceLevelTarget: 95",
        "defaultTotalDelayThreshold: 800ms",
        "classes:",
        "  - { id: web, totalDelayThreshold: 200ms, serviceLevelTarget: 99.995, match: { protocol: [tcp] } }",
        "  - { id: mail, match: { ports: [25] } }",
        "  - { id: bulk, serviceLevelTarget: 0, match: { ports: [21] } }",
      ].join("\n"),
    );
    const level = configLevels(cfg);
    expect(level("web")).toEqual({ thresholdMs: 200, targetPercent: 99.995 });
    expect(level("mail")).toEqual({ thresholdMs: 800, targetPercent: 95 });
    expect(level("bulk")).toEqual({ thresholdMs: 800, targetPercent: 0 });
    expect(level("default")).toEqual({ thresholdMs: 800, targetPercent: 95 });
    expect(level("nope")).toBeUndefined();
  });

  it("without any target, no class has an SLA", () => {
    const cfg = parseConfigText("classes: [{ id: web, totalDelayThreshold: 200ms }]");
    expect(configLevels(cfg)("web")).toBeUndefined();
    expect(configLevels(cfg)("default")).toBeUndefined();
  });

  const refused: Array<[string, RegExp]> = [
    [
      "classes: [{ id: web, serviceLevelTarget: 100.5 }]",
      /classes\[0\]\.serviceLevelTarget: must be a percentage from 0 to 100 \(got 100\.5\)/,
    ],
    [
      "classes: [{ id: web, serviceLevelTarget: 99.9995 }]",
      /classes\[0\]\.serviceLevelTarget: must have at most three decimals, such as 99\.995 \(got 99\.9995\)/,
    ],
    [
      "defaultServiceLevelTarget: -1",
      /defaultServiceLevelTarget: must be a percentage from 0 to 100/,
    ],
    ['defaultServiceLevelTarget: "95%"', /defaultServiceLevelTarget: .*number/],
    [
      customer(", billing: { percentileOf: avg }"),
      /customers\[0\]\.billing\.percentileOf: must be "max", "in", "out" or "sum"/,
    ],
    [
      customer(", billing: { day: 31 }"),
      /customers\[0\]\.billing\.day: must be a day of the month from 1 to 28 \(every month has one\)/,
    ],
    [customer(", billing: { day: 0 }"), /customers\[0\]\.billing\.day: must be a day of the month/],
    [customer(", billing: { day: 1.5 }"), /customers\[0\]\.billing\.day: must be a whole day/],
    [customer(", billing: { credits: 5 }"), /customers\[0\]\.billing: .*credits/],
    [
      customer(", billing: { bills: [{ id: b, links: [hq/l9], commitRate: 10M }] }"),
      /customers\[0\]\.billing\.bills\[0\]\.links\[0\]: "hq\/l9" is no link of customer acme/,
    ],
    [
      customer(
        ", billing: { bills: [{ id: a, links: [hq/l1], commitRate: 10M }, { id: b, links: [hq/l1], commitRate: 1M }] }",
      ),
      /customers\[0\]\.billing\.bills\[1\]\.links\[0\]: "hq\/l1" is also billed in bills\[0\]/,
    ],
    [
      customer(", billing: { bills: [{ id: b, links: [l1], commitRate: 10M }] }"),
      /customers\[0\]\.billing\.bills\[0\]\.links\[0\]: must name a link as "site\/link"/,
    ],
    [
      customer(", billing: { bills: [{ id: b, links: [hq/l1] }] }"),
      /customers\[0\]\.billing\.bills\[0\]\.commitRate/,
    ],
  ];
  for (const [text, message] of refused) {
    it(`refuses ${JSON.stringify(text)} naming the path and the reason`, () => {
      expect(() => parseConfigText(text, "s.yaml")).toThrow(message);
    });
  }

  it("customers[].billing: optional, max(in, out) from day 1 by default", () => {
    const none = parseConfigText(customer(""));
    expect(none.customers[0]!.billing).toBeUndefined();
    const some = parseConfigText(customer(", billing: { day: 15 }"));
    expect(some.customers[0]!.billing).toEqual({ percentileOf: "max", day: 15, bills: [] });
    const sum = parseConfigText(customer(", billing: { percentileOf: sum, day: 28 }"));
    expect(sum.customers[0]!.billing).toEqual({ percentileOf: "sum", day: 28, bills: [] });
  });
});
