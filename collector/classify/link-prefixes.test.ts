import { describe, expect, it, vi } from "vitest";
import { parseConfigText } from "../../config/load-config.js";
import { configSchema } from "../../schema/config.js";
import { buildCustomerModel } from "./customer-model.js";
import { linkPrefixes } from "./link-prefixes.js";
import { PrefixTableBuilder } from "./prefix-table.js";

const customers = [
  "customers:",
  "  - { id: a, name: A, sites: [{ id: s, links: [{ id: l1, prefixes: [10.0.0.0/24, 2001:db8::/48] }, { id: l2, prefixes: [10.1.0.0/24] }] }] }",
  "  - { id: b, name: B, sites: [{ id: s, links: [{ id: l, prefixes: [10.2.0.0/24] }] }] }",
].join("\n");

describe("link prefixes", () => {
  it("number links as the customer model does and name a repeated prefix's first owner", () => {
    const cfg = configSchema.parse({
      customers: [
        {
          id: "a",
          name: "A",
          sites: [{ id: "s", links: [{ id: "l", prefixes: ["10.0.0.0/24", "x"] }] }],
        },
        {
          id: "b",
          name: "B",
          sites: [{ id: "s", links: [{ id: "l", prefixes: ["192.0.2.0/24", "10.0.0.0/24"] }] }],
        },
      ],
    });
    expect(linkPrefixes(cfg.customers).problems).toEqual([
      { link: 0, position: 1, text: "x", error: expect.stringMatching(/is not a prefix/) },
      { link: 1, position: 1, text: "10.0.0.0/24", firstLink: 0, firstPosition: 0 },
    ]);
  });

  it("the customer model takes the table validation made (a config's prefixes are parsed once)", () => {
    const cfg = parseConfigText(customers);
    const model = buildCustomerModel(cfg);
    expect(model.prefixes).toBe(linkPrefixes(cfg.customers).table());
    expect(model.prefixes.lookup("10.1.0.7")).toBe(1);
    expect(model.prefixes.lookup("10.2.0.7")).toBe(2);
    expect(model.links.get(1)).toMatchObject({ customer: "a", link: "l2" });
  });

  it("the customer model builds its prefix table at the first lookup, once", () => {
    const build = vi.spyOn(PrefixTableBuilder.prototype, "build");
    try {
      const model = buildCustomerModel(parseConfigText(customers));
      expect(build).not.toHaveBeenCalled();
      expect(model.prefixes.lookup("10.2.0.7")).toBe(2);
      expect(model.prefixes.lookup("10.0.0.7")).toBe(0);
      expect(build).toHaveBeenCalledTimes(1);
    } finally {
      build.mockRestore();
    }
  });

  it("a customers array that is not frozen is collected anew each time", () => {
    const cfg = configSchema.parse({
      customers: [
        {
          id: "a",
          name: "A",
          sites: [{ id: "s", links: [{ id: "l", prefixes: ["10.0.0.0/8"] }] }],
        },
      ],
    });
    expect(Object.isFrozen(cfg.customers)).toBe(false);
    expect(linkPrefixes(cfg.customers)).not.toBe(linkPrefixes(cfg.customers));
  });
});
