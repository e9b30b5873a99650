import { describe, expect, it } from "vitest";
import { createRng, type Rng } from "../test/fuzz/mutate.js";
import { customerSchema } from "./config.js";
import { FAST_PATH_KEYS, plainCustomer } from "./customer-fast-path.js";
import { formatKeyPath, walkSchema } from "./secrets.js";

function validCustomer(rng: Rng, k: number): Record<string, unknown> {
  const link = (j: number): Record<string, unknown> => {
    const l: Record<string, unknown> = { id: `l${j}` };
    if (rng.below(2) === 0) l.name = `Link ${j}`;
    if (rng.below(4) !== 0)
      l.prefixes = [`10.${k % 256}.${j}.0/24`, "2001:db8::/48"].slice(0, 1 + rng.below(2));
    if (rng.below(3) === 0)
      Object.assign(l, {
        router: rng.below(2) ? "192.0.2.1" : "2001:db8::1",
        ifIndex: rng.below(1000),
      });
    if (rng.below(2) === 0) l.commitRate = ["100M", 1e9, "1.5G", "64k", 2048][rng.below(5)];
    return l;
  };
  const site = (j: number): Record<string, unknown> => ({
    id: `s${j}`,
    ...(rng.below(2) === 0 ? { name: `Site ${j}` } : {}),
    links: Array.from({ length: 1 + rng.below(3) }, (_, i) => link(i)),
  });
  // Keys in any order: the output must still be in the schema's.
  const c: Record<string, unknown> = {
    sites: Array.from({ length: 1 + rng.below(3) }, (_, i) => site(i)),
    name: `Customer ${k}`,
    id: `c-${k}.x_${k}`,
  };
  if (rng.below(2) === 0) c.serviceType = "business";
  if (rng.below(3) === 0) c.motd = `Maintenance ${k}`;
  return c;
}

/** One random change somewhere in the customer: a field removed, retyped or made absurd. */
function mutate(rng: Rng, c: Record<string, unknown>): void {
  const objects: Array<Record<string, unknown>> = [c];
  const within = (list: unknown) =>
    (Array.isArray(list) ? list : []).filter(
      (o): o is Record<string, unknown> => o !== null && typeof o === "object" && !Array.isArray(o),
    );
  for (const s of within(c.sites)) {
    objects.push(s);
    objects.push(...within(s.links));
  }
  const o = objects[rng.below(objects.length)]!;
  const keys = [
    ...Object.keys(o),
    "extra",
    "prefixes",
    "router",
    "ifIndex",
    "commitRate",
    "serviceType",
    "motd",
  ];
  const key = keys[rng.below(keys.length)]!;
  const values: unknown[] = [
    undefined,
    null,
    "",
    " ",
    0,
    -1,
    1.5,
    2 ** 32,
    true,
    [],
    {},
    ["x"],
    [1],
    "unattributed",
    "UNATTRIBUTED",
    "-a",
    "a".repeat(65),
    "999.1.1.1",
    "192.0.2.1",
    "fast",
    "100M",
    "x\u0000",
    Object.create({ inherited: 1 }),
  ];
  if (rng.below(5) === 0) delete o[key];
  else o[key] = values[rng.below(values.length)];
}

describe("customer fast path", () => {
  it("knows every key of customerSchema", () => {
    const keys = new Set<string>();
    walkSchema(customerSchema, (path) => {
      if (path.length > 0) keys.add(formatKeyPath(path));
    });
    const known = new Set([
      ...FAST_PATH_KEYS.customer,
      ...FAST_PATH_KEYS.zodOnly,
      ...FAST_PATH_KEYS.site.map((k) => `sites[].${k}`),
      ...FAST_PATH_KEYS.link.map((k) => `sites[].links[].${k}`),
    ]);
    const schemaKeys = [...keys].filter((k) => !k.endsWith("[]"));
    expect(new Set(schemaKeys)).toEqual(known);
  });

  it("returns what zod returns for valid customers, keys in the schema's order", () => {
    const rng = createRng(3);
    for (let k = 0; k < 2000; k++) {
      const c = validCustomer(rng, k);
      const fast = plainCustomer(c);
      expect(fast, JSON.stringify(c)).toBeDefined();
      expect(JSON.stringify(fast)).toBe(JSON.stringify(customerSchema.parse(c)));
    }
  });

  it("leaves to zod everything zod refuses, and agrees on what it accepts", () => {
    const rng = createRng(5);
    let refused = 0;
    for (let k = 0; k < 20_000; k++) {
      const c = validCustomer(rng, k);
      for (let m = 1 + rng.below(2); m > 0; m--) mutate(rng, c);
      const zod = customerSchema.safeParse(c);
      const fast = plainCustomer(c);
      if (!zod.success) {
        refused++;
        expect(fast, JSON.stringify(c)).toBeUndefined();
      } else if (fast !== undefined) {
        expect(JSON.stringify(fast)).toBe(JSON.stringify(zod.data));
      }
    }
    expect(refused).toBeGreaterThan(5000);
  });

  it("given the input (owned), returns the same, taking its objects where they fit, and changes nothing else", () => {
    const rng = createRng(7);
    let taken = 0;
    for (let k = 0; k < 20_000; k++) {
      let c = validCustomer(rng, k);
      if (rng.below(2) === 0) {
        // In the schema's order, as a config is usually written.
        const { id, name, serviceType, motd, sites } = c;
        c = {
          id,
          name,
          serviceType: serviceType ?? "default",
          ...(motd === undefined ? {} : { motd }),
          sites,
        };
      }
      if (rng.below(2) === 0) mutate(rng, c);
      const before = structuredClone(c);
      const zod = customerSchema.safeParse(before);
      const fast = plainCustomer(c, true);
      if (fast === undefined) {
        // Left as it was, for zod to say why.
        expect(c, JSON.stringify(before)).toStrictEqual(before);
        continue;
      }
      expect(zod.success).toBe(true);
      expect(JSON.stringify(fast)).toBe(JSON.stringify(zod.data));
      if (fast === c) taken++;
    }
    expect(taken).toBeGreaterThan(2000);
    const inOrder = { id: "c", name: "C", serviceType: "b", sites: [{ id: "s", links: [] }] };
    const link = { id: "l", name: "L", prefixes: ["10.0.0.0/24"], commitRate: "100M" };
    inOrder.sites[0]!.links.push(link as never);
    expect(plainCustomer(inOrder, true)).toBe(inOrder);
    expect(link.commitRate).toBe(100_000_000);
  });

  it("never shares an array with its input (the config is frozen, the input is the caller's)", () => {
    const c = validCustomer(createRng(9), 1);
    const fast = plainCustomer(c)!;
    const inSites = c.sites as Array<{ links: Array<{ prefixes?: string[] }> }>;
    expect(fast.sites).not.toBe(inSites);
    fast.sites.forEach((s, i) => {
      expect(s.links).not.toBe(inSites[i]!.links);
      s.links.forEach((l, j) => {
        expect(l.prefixes).not.toBe(inSites[i]!.links[j]!.prefixes);
      });
    });
  });
});
