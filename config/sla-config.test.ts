import { describe, expect, it } from "vitest";
import { billingResolver } from "../sla/billing.js";
import { configLevels } from "../sla/config-levels.js";
import { configWarnings, formatWarning } from "./config-warnings.js";
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
    [
      customer(", billing: { credits: 5 }"),
      /customers\[0\]\.billing\.credits: credits must be \{ availability: \[\{ below, percent \}\]/,
    ],
    [
      customer(", billing: { credits: { availability: [{ below: 99.9 }] } }"),
      /customers\[0\]\.billing\.credits\.availability: must be a tier \{ below, percent \} or a list of them/,
    ],
    [
      customer(", billing: { credits: { serviceLevel: { below: 99, percent: 2, over: 1 } } }"),
      /customers\[0\]\.billing\.credits\.serviceLevel: must be a tier/,
    ],
    [
      customer(", billing: { availabilityTarget: 100.5 }"),
      /customers\[0\]\.billing\.availabilityTarget: must be a percentage from 0 to 100 \(got 100\.5\)/,
    ],
    [
      customer(", billing: { availabilityTarget: 99.9995 }"),
      /customers\[0\]\.billing\.availabilityTarget: must have at most three decimals/,
    ],
    [
      customer(", billing: { monthlyFee: -1 }"),
      /customers\[0\]\.billing\.monthlyFee: must be 0 or more/,
    ],
    [
      customer(", billing: { currency: eur }"),
      /customers\[0\]\.billing\.currency: must be an ISO 4217 currency code such as "EUR"/,
    ],
    [
      "serviceTypes: [{ id: business, billing: { day: 3 } }, { id: business }]",
      /serviceTypes\[1\]\.id: "business" is also the id of serviceTypes\[0\]/,
    ],
    [
      "serviceTypes: [{ id: business, billing: { bills: [] } }]",
      /serviceTypes\[0\]\.billing: .*bills/,
    ],
    ["sla: { availability: { staleAfter: 0s } }", /sla\.availability\.staleAfter/],
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
    expect(billingResolver(none)("acme", "default")).toEqual({
      percentileOf: "max",
      day: 1,
      bills: [],
    });
    const some = parseConfigText(customer(", billing: { day: 15 }"));
    expect(billingResolver(some)("acme", "default")).toEqual({
      percentileOf: "max",
      day: 15,
      bills: [],
    });
    const sum = parseConfigText(customer(", billing: { percentileOf: sum, day: 28 }"));
    expect(billingResolver(sum)("acme", "default")).toEqual({
      percentileOf: "sum",
      day: 28,
      bills: [],
    });
  });

  it("serviceTypes[].billing is the default of its customers', overridden key by key", () => {
    const cfg = parseConfigText(
      [
        "serviceTypes:",
        "  - id: business",
        "    billing:",
        "      percentileOf: in",
        "      day: 5",
        "      availabilityTarget: 99.9",
        "      credits: { availability: [{ below: 99.9, percent: 5 }, { below: 99.5, percent: 10 }], serviceLevel: { below: 99, percent: 2 } }",
        "      monthlyFee: 1200",
        "      currency: EUR",
        "customers:",
        "  - { id: acme, name: Acme, serviceType: business, billing: { day: 15, availabilityTarget: 99.5 }, sites: [{ id: hq, links: [{ id: l1, prefixes: [192.0.2.0/28] }] }] }",
        "  - { id: beta, name: Beta, serviceType: business, sites: [{ id: hq, links: [{ id: l1, prefixes: [192.0.2.16/28] }] }] }",
        "  - { id: home, name: Home, sites: [{ id: hq, links: [{ id: l1, prefixes: [192.0.2.32/28] }] }] }",
      ].join("\n"),
    );
    const billing = billingResolver(cfg);
    const credits = {
      availability: [
        { below: 99.9, percent: 5 },
        { below: 99.5, percent: 10 },
      ],
      serviceLevel: [{ below: 99, percent: 2 }],
      maxPercent: 100,
    };
    expect(billing("acme", "business")).toEqual({
      percentileOf: "in",
      day: 15,
      bills: [],
      availabilityTarget: 99.5,
      credits,
      monthlyFee: 1200,
      currency: "EUR",
    });
    expect(billing("beta", "business")).toEqual({
      percentileOf: "in",
      day: 5,
      bills: [],
      availabilityTarget: 99.9,
      credits,
      monthlyFee: 1200,
      currency: "EUR",
    });
    // A customer of the database registry: not in the config, its service type's billing.
    expect(billing("from-db", "business").day).toBe(5);
    expect(billing("home", "default")).toEqual({ percentileOf: "max", day: 1, bills: [] });
    expect(configWarnings(cfg)).toEqual([]);
  });

  it("warns of a service type no configured customer has (not with the database registry)", () => {
    const text = `serviceTypes: [{ id: busines, billing: { day: 3 } }]\n${customer("")}`;
    expect(configWarnings(parseConfigText(text)).map(formatWarning)).toEqual([
      'serviceTypes[0].id: "busines" is the serviceType of no customer: its billing applies to none (a typo?)',
    ]);
    const database = "serviceTypes: [{ id: business }]\nregistry: { source: database }\n";
    expect(configWarnings(parseConfigText(database))).toEqual([]);
  });
});
