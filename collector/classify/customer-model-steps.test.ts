import { describe, expect, it } from "vitest";
import { type Config, configSchema } from "../../schema/config.js";
import { prng } from "../../test/support/latency-exports.js";
import { buildCustomerModel, customerModelSteps } from "./customer-model.js";
import { type Prefix, PrefixTableBuilder, parsePrefix } from "./prefix-table.js";
import { runSteps, runStepsSliced, type Steps } from "./steps.js";

const CUSTOMERS = 20_000;

/**
 * `n` customers, one site each with two links: a /28 in 10/8 (a thousand /16s: many root
 * subtrees) and a /48 or /56 in 2001:db8::/32 on every third; every fifth link on an interface.
 */
function bigConfig(n: number): Config {
  const customers = [];
  for (let i = 0; i < n; i++) {
    const v4 = (k: number) => `10.${(i >> 7) & 255}.${((i & 127) << 1) | k}.${16 * (i % 16)}/28`;
    const links = [0, 1].map((k) => ({
      id: `l${k}`,
      prefixes: [v4(k), ...(i % 3 === k ? [`2001:db8:${(2 * i + k).toString(16)}::/48`] : [])],
      ...((2 * i + k) % 5 === 0 ? { router: "192.0.2.1", ifIndex: 2 * i + k } : {}),
    }));
    customers.push({ id: `c${i}`, name: `C ${i}`, sites: [{ id: "s", links }] });
  }
  return configSchema.parse({ customers, classes: [{ id: "web", match: { ports: [80] } }] });
}

/** Counts the yields of `steps` while running it through. */
function countSteps<T>(steps: Steps<T>): { value: T; steps: number } {
  let n = 0;
  for (;;) {
    const r = steps.next();
    if (r.done) return { value: r.value, steps: n };
    n++;
  }
}

describe("the customer model built in steps (run, a registry version)", () => {
  const cfg = bigConfig(CUSTOMERS);

  it("equals the model built at once, prefix table included, and yields every thousand or so customers", () => {
    const whole = buildCustomerModel(cfg);
    const { value: stepped, steps } = countSteps(customerModelSteps(bigConfig(CUSTOMERS)));
    // Parsing (a step per 1000 customers), the arrays (per 2000), the sorts, the root subtrees.
    expect(steps).toBeGreaterThan(CUSTOMERS / 1000 + CUSTOMERS / 2000);
    expect(stepped.customers).toEqual(whole.customers);
    expect(stepped.links).toEqual(whole.links);
    expect(stepped.interfaces).toEqual(whole.interfaces);
    expect(stepped.classIds).toEqual(whole.classIds);
    expect(stepped.prefixes.stats()).toEqual(whole.prefixes.stats());
    // Every link's own addresses, and random ones (most outside every prefix), map alike.
    const rand = prng(15);
    const probes: string[] = [];
    for (const c of cfg.customers) {
      for (const l of c.sites[0]!.links) {
        for (const p of l.prefixes) probes.push(p.replace(/\/.*/, ""));
      }
    }
    for (let k = 0; k < 20_000; k++) {
      const a = Math.floor(rand() * 2 ** 32);
      probes.push(`10.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`);
      probes.push(`2001:db8:${(a & 0xffff).toString(16)}::${(a >>> 16).toString(16)}`);
    }
    const differ = probes.filter((a) => stepped.prefixes.lookup(a) !== whole.prefixes.lookup(a));
    expect(differ).toEqual([]);
    expect(stepped.prefixes.lookup("10.0.0.5")).toBe(0);
    expect(stepped.prefixes.lookup("10.0.2.20")).toBe(2);
  });

  it("builds its prefix table among the steps, not at the first lookup", () => {
    const builder = new PrefixTableBuilder();
    const at = (i: number) => `10.${(i >> 8) & 255}.${i & 255}.0/28`;
    for (let i = 0; i < 50_000; i++) builder.add(parsePrefix(at(i)) as Prefix, i);
    const { value: table, steps } = countSteps(builder.buildSteps());
    // The sort's passes, then 196 /16 subtrees 16 a step.
    expect(steps).toBeGreaterThan(10);
    expect(table.lookup("10.1.2.3")).toBe(258);
    expect(table.stats()).toEqual(builder.build().stats());
  });

  it("lets the event loop turn between slices", async () => {
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    let between = 0;
    try {
      const model = await runStepsSliced(customerModelSteps(bigConfig(CUSTOMERS)), {
        sliceMs: 1,
        between: async () => {
          between++;
          await new Promise((resolve) => setImmediate(resolve));
        },
      });
      expect(model.links).toHaveLength(2 * CUSTOMERS);
    } finally {
      clearInterval(ticker);
    }
    expect(between).toBeGreaterThan(5);
    // A timer due every turn ran while the build went on.
    expect(turns).toBeGreaterThan(2);
  });

  it("runs a whole slice's steps back to back, however long, before the loop turns", async () => {
    function* three(): Steps<string> {
      yield;
      yield;
      return "done";
    }
    let between = 0;
    let clock = 0;
    const value = await runStepsSliced(three(), {
      sliceMs: 10,
      now: () => clock++,
      between: async () => {
        between++;
      },
    });
    expect(value).toBe("done");
    // The clock moves 1 per look: the slice [0, 10) holds every step.
    expect(between).toBe(0);
    expect(runSteps(three())).toBe("done");
  });
});
