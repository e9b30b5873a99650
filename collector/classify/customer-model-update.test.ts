import { describe, expect, it } from "vitest";
import { type Config, configSchema } from "../../schema/config.js";
import {
  Draws,
  expectSameModel,
  interfaces,
  linkName,
  probeAddresses,
} from "../../test/support/same-model.js";
import { buildCustomerModel } from "./customer-model.js";
import { type CustomerChange, CustomerModelUpdater } from "./customer-model-update.js";
import { LayeredPrefixTable } from "./prefix-overlay.js";
import { formatAddress, PrefixTable } from "./prefix-table.js";
import { runSteps } from "./steps.js";

type ConfigCustomer = Config["customers"][number];
type ConfigLink = ConfigCustomer["sites"][number]["links"][number];

/** Versions per random run. */
const VERSIONS = 80;

const BASE = configSchema.parse({ classes: [{ id: "web", match: { ports: [80] } }] });
const config = (customers: ConfigCustomer[]): Config => ({ ...BASE, customers });

/**
 * Random customer trees and random versions of them, with what the registry guarantees (no
 * prefix and no interface on two links) and what makes longest-prefix matching hard: prefixes
 * of every length in one IPv4 /16 and one IPv6 /32, so they nest, and prefixes moved between
 * customers within one version.
 */
class Trees extends Draws {
  /** Prefixes and interfaces in use now. */
  readonly used = new Set<string>();
  /** Every prefix ever given: the addresses at and around them are looked up. */
  readonly ever = new Set<string>();
  #next = 0;

  /** A prefix not in use, of any length, in 10.0/16 (most) or 2001:db8::/32. */
  prefix(): string {
    for (;;) {
      let text: string;
      if (this.rand() < 0.8) {
        const length = 16 + this.int(17);
        const addr = (10 << 24) | this.int(65536);
        const net = length === 0 ? 0 : (addr >>> (32 - length)) << (32 - length);
        text = `${formatAddress(Uint8Array.of(net >>> 24, (net >>> 16) & 255, (net >>> 8) & 255, net & 255))}/${length}`;
      } else {
        const length = 32 + this.int(33);
        const bytes = new Uint8Array(16);
        bytes.set([0x20, 0x01, 0x0d, 0xb8]);
        for (let i = 4; i < 8; i++) bytes[i] = this.int(256);
        for (let bit = length; bit < 128; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
        text = `${formatAddress(bytes)}/${length}`;
      }
      if (this.used.has(text)) continue;
      this.used.add(text);
      this.ever.add(text);
      return text;
    }
  }

  link(id: string): ConfigLink {
    const prefixes = Array.from({ length: this.int(4) }, () => this.prefix());
    const link: ConfigLink = { id, prefixes } as ConfigLink;
    if (this.rand() < 0.3) {
      for (;;) {
        const router = `192.0.2.${1 + this.int(3)}`;
        const ifIndex = this.int(5000);
        if (this.used.has(`${router}#${ifIndex}`)) continue;
        this.used.add(`${router}#${ifIndex}`);
        Object.assign(link, { router, ifIndex });
        break;
      }
    }
    if (this.rand() < 0.5) Object.assign(link, { commitRate: 1e6 * (1 + this.int(100)) });
    return link;
  }

  customer(): ConfigCustomer {
    const id = `c${String(this.#next++).padStart(6, "0")}`;
    const sites = Array.from({ length: this.int(3) }, (_, s) => ({
      id: `s${s}`,
      name: `Site ${s}`,
      links: Array.from({ length: 1 + this.int(3) }, (_, l) => this.link(`l${l}`)),
    }));
    return { id, name: `Customer ${id}`, serviceType: "default", sites } as ConfigCustomer;
  }

  release(link: ConfigLink): void {
    for (const p of link.prefixes) this.used.delete(p);
    if (link.router !== undefined) this.used.delete(`${link.router}#${link.ifIndex}`);
  }

  /** `c` changed at random: names, links dropped, added, re-prefixed, re-interfaced, re-rated. */
  change(c: ConfigCustomer, moved: string[]): ConfigCustomer {
    const sites = c.sites.map((s) => ({
      ...s,
      links: s.links.flatMap((l): ConfigLink[] => {
        const r = this.rand();
        if (r < 0.15) {
          this.release(l);
          return [];
        }
        if (r < 0.45) {
          // Some prefixes given up (maybe to another customer in this version), some new.
          const keep = l.prefixes.filter((p) => {
            if (this.rand() < 0.5) return true;
            if (this.rand() < 0.5) moved.push(p);
            else this.used.delete(p);
            return false;
          });
          const given = moved.length > 0 && this.rand() < 0.5 ? [moved.pop()!] : [];
          return [
            { ...l, prefixes: [...keep, ...given, ...(this.rand() < 0.5 ? [this.prefix()] : [])] },
          ];
        }
        if (r < 0.55 && l.router !== undefined) {
          this.used.delete(`${l.router}#${l.ifIndex}`);
          const { router: _r, ifIndex: _i, ...rest } = l;
          return [rest as ConfigLink];
        }
        if (r < 0.65) return [{ ...l, commitRate: 1e6 * (1 + this.int(100)) }];
        return [{ ...l }];
      }),
    }));
    if (this.rand() < 0.3 && sites.length > 0) sites[0]!.links.push(this.link(`n${this.#next++}`));
    if (this.rand() < 0.2) {
      sites.push({ id: `t${this.#next++}`, name: "New", links: [this.link("l0")] });
    }
    const name = this.rand() < 0.3 ? `Renamed ${this.#next++}` : c.name;
    const serviceType = this.rand() < 0.2 ? "gold" : c.serviceType;
    return { ...c, name, serviceType, sites } as ConfigCustomer;
  }
}

/** Addresses at, around and inside every prefix the trees ever gave, and random ones. */
function probes(trees: Trees): string[] {
  return probeAddresses(trees.ever, trees.rand, "10.0.0.0/16");
}

describe("a customer model updated version by version (registry, run)", () => {
  it.each([1, 2, 3])(
    "equals the model built whole from the same customers, after every random version (seed %i)",
    (seed) => {
      const trees = new Trees(seed);
      let customers = Array.from({ length: 400 }, () => trees.customer());
      const updater = new CustomerModelUpdater();
      let model = runSteps(updater.build(config(customers)));
      expectSameModel(model, buildCustomerModel(config(customers)), probes(trees));
      let layered = 0;
      for (let version = 0; version < VERSIONS; version++) {
        const changes: CustomerChange[] = [];
        const moved: string[] = [];
        const next: ConfigCustomer[] = [];
        for (const c of customers) {
          const r = trees.rand();
          if (r < 0.01) {
            for (const s of c.sites) for (const l of s.links) trees.release(l);
            changes.push({ id: c.id, after: undefined });
          } else if (r < 0.04) {
            const after = trees.change(c, moved);
            changes.push({ id: c.id, after });
            next.push(after);
          } else next.push(c);
        }
        for (let k = trees.int(5); k > 0; k--) {
          const c = trees.customer();
          changes.push({ id: c.id, after: c });
          next.push(c);
        }
        for (const p of moved) trees.used.delete(p);
        customers = next;
        const before = model;
        const kept = {
          customers: [...before.customers],
          links: [...before.links],
          interfaces: interfaces(before),
        };
        model = runSteps(updater.update(config(customers), changes));
        if (model.prefixes instanceof LayeredPrefixTable) layered++;
        expectSameModel(model, buildCustomerModel(config(customers)), probes(trees));
        // The previous version's model is not changed by the next one (a swap still reads it).
        expect({
          customers: [...before.customers],
          links: [...before.links],
          interfaces: interfaces(before),
        }).toEqual(kept);
      }
      expect(layered).toBeGreaterThan(0);
    },
  );

  it("builds a new base when the changes since the last one grow many, and an overlay again after", () => {
    const trees = new Trees(7);
    let customers = Array.from({ length: 400 }, () => trees.customer());
    const updater = new CustomerModelUpdater();
    runSteps(updater.build(config(customers)));
    const added = Array.from({ length: 1500 }, () => trees.customer());
    customers = [...customers, ...added];
    const big = runSteps(
      updater.update(
        config(customers),
        added.map((c) => ({ id: c.id, after: c })),
      ),
    );
    expect(big.prefixes).toBeInstanceOf(PrefixTable);
    expectSameModel(big, buildCustomerModel(config(customers)), probes(trees));
    let one = trees.customer();
    while (!one.sites.some((s) => s.links.some((l) => l.prefixes.length > 0))) {
      one = trees.customer();
    }
    customers = [...customers, one];
    const small = runSteps(updater.update(config(customers), [{ id: one.id, after: one }]));
    expect(small.prefixes).toBeInstanceOf(LayeredPrefixTable);
    expectSameModel(small, buildCustomerModel(config(customers)), probes(trees));
  });

  it("a more-specific prefix moved to another customer answers with its new link, a removed one with its cover", () => {
    const link = (id: string, prefixes: string[]) => ({ id, prefixes }) as ConfigLink;
    const customer = (id: string, links: ConfigLink[]) =>
      ({
        id,
        name: id,
        serviceType: "default",
        sites: [{ id: "s", name: "S", links }],
      }) as ConfigCustomer;
    const a = customer("a", [link("big", ["10.0.0.0/16"]), link("small", ["10.0.1.0/24"])]);
    const b = customer("b", [link("x", ["192.0.2.0/24"])]);
    const updater = new CustomerModelUpdater();
    const m0 = runSteps(updater.build(config([a, b])));
    expect(linkName(m0, m0.prefixes.lookup("10.0.1.5"))).toBe("a/s/small");
    // The /24 moves from a's link to b's; then a's /16 goes.
    const a1 = customer("a", [link("big", ["10.0.0.0/16"]), link("small", [])]);
    const b1 = customer("b", [link("x", ["192.0.2.0/24", "10.0.1.0/24"])]);
    const m1 = runSteps(
      updater.update(config([a1, b1]), [
        { id: "a", after: a1 },
        { id: "b", after: b1 },
      ]),
    );
    expect(m1.prefixes).toBeInstanceOf(LayeredPrefixTable);
    expect(linkName(m1, m1.prefixes.lookup("10.0.1.5"))).toBe("b/s/x");
    expect(linkName(m1, m1.prefixes.lookup("10.0.2.5"))).toBe("a/s/big");
    const b2 = customer("b", [link("x", ["192.0.2.0/24"])]);
    const m2 = runSteps(updater.update(config([a1, b2]), [{ id: "b", after: b2 }]));
    expect(linkName(m2, m2.prefixes.lookup("10.0.1.5"))).toBe("a/s/big");
    const m3 = runSteps(updater.update(config([b2]), [{ id: "a", after: undefined }]));
    expect(m3.prefixes.lookup("10.0.1.5")).toBe(-1);
    expect(linkName(m3, m3.prefixes.lookup("192.0.2.9"))).toBe("b/s/x");
    // The earlier models still answer as they did.
    expect(linkName(m1, m1.prefixes.lookup("10.0.1.5"))).toBe("b/s/x");
    expect(linkName(m0, m0.prefixes.lookup("10.0.1.5"))).toBe("a/s/small");
  });

  it("builds whole when a change gives a prefix to a second link (the registry refuses it)", () => {
    const a = {
      id: "a",
      name: "a",
      serviceType: "default",
      sites: [{ id: "s", name: "S", links: [{ id: "l", prefixes: ["10.0.0.0/24"] }] }],
    } as ConfigCustomer;
    const b = { ...a, id: "b" } as ConfigCustomer;
    const updater = new CustomerModelUpdater();
    runSteps(updater.build(config([a])));
    const m = runSteps(updater.update(config([a, b]), [{ id: "b", after: b }]));
    // As a whole build: the first customer in the config keeps it.
    expect(linkName(m, m.prefixes.lookup("10.0.0.1"))).toBe("a/s/l");
    expect(m.links).toHaveLength(2);
  });
});
