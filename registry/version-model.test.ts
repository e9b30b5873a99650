import { describe, expect, it } from "vitest";
import { buildCustomerModel } from "../collector/classify/customer-model.js";
import { runSteps } from "../collector/classify/steps.js";
import { configSchema } from "../schema/config.js";
import { Draws, expectSameModel, probeAddresses } from "../test/support/same-model.js";
import { applyChangeSet } from "./change-set.js";
import { CustomerList } from "./customer-list.js";
import { type ChangeInput, EMPTY_SNAPSHOT, type RegistrySnapshot } from "./model.js";
import { changedBetween } from "./tree-derivation.js";
import { followVersions, versionSteps } from "./version-model.js";

const BASE = configSchema.parse({ classes: [{ id: "web", match: { ports: [80] } }] });

/** Random change sets on a registry tree: customers, links and prefixes added, moved, removed. */
class Changes extends Draws {
  readonly given = new Set<string>();
  #next = 0;

  /** A prefix in 10.0/16 of length 22-30, maybe holding or inside another one. */
  prefix(): string {
    const length = 22 + this.int(9);
    const addr = ((10 << 24) | this.int(65536)) >>> 0;
    const net = ((addr >>> (32 - length)) << (32 - length)) >>> 0;
    const text = `${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.${net & 255}/${length}`;
    this.given.add(text);
    return text;
  }

  addCustomer(): ChangeInput[] {
    const id = `c${String(this.#next++).padStart(5, "0")}`;
    const out: ChangeInput[] = [
      { op: "add", customer: id, record: { name: `Customer ${id}` } },
      { op: "add", customer: id, site: "s", record: {} },
    ];
    for (let l = 1 + this.int(2); l > 0; l--) out.push(this.addLink(id));
    return out;
  }

  addLink(customer: string): ChangeInput {
    const record: Record<string, unknown> = { prefixes: [this.prefix()] };
    if (this.rand() < 0.3) Object.assign(record, { router: "192.0.2.1", ifIndex: this.int(1e6) });
    return { op: "add", customer, site: "s", link: `l${this.#next++}`, record };
  }

  /** One change set on `tree` (which may be refused: a prefix already given, say). */
  on(tree: RegistrySnapshot): ChangeInput[] {
    const c = tree.customers.at(this.int(tree.customers.length));
    const link = c?.sites[0]?.links[this.int(c.sites[0].links.length)];
    const r = this.rand();
    if (c === undefined || r < 0.25) return this.addCustomer();
    if (r < 0.4) return [{ op: "delete", customer: c.id }];
    if (r < 0.5)
      return [{ op: "update", customer: c.id, set: { name: `Renamed ${this.int(1e6)}` } }];
    if (r < 0.6) return [{ op: "update", customer: c.id, set: { description: "only that" } }];
    if (r < 0.7 || link === undefined) return [this.addLink(c.id)];
    if (r < 0.8) return [{ op: "delete", customer: c.id, site: "s", link: link.id }];
    const prefixes = [...link.prefixes.filter(() => this.rand() < 0.5), this.prefix()];
    return [{ op: "update", customer: c.id, site: "s", link: link.id, set: { prefixes } }];
  }
}

function apply(tree: RegistrySnapshot, changes: ChangeInput[]): RegistrySnapshot {
  try {
    return applyChangeSet(tree, changes, { actor: "t", atMs: 0, commit: true }).snapshot;
  } catch {
    return tree; // refused, as the registry refuses it
  }
}

describe("registry versions followed by classification (run)", () => {
  it.each([1, 2])(
    "gives each version the model a whole build of its customers gives (seed %i)",
    (seed) => {
      const changes = new Changes(seed);
      let tree = EMPTY_SNAPSHOT;
      tree = apply(tree, Array.from({ length: 150 }, () => changes.addCustomer()).flat());
      const following = followVersions();
      runSteps(versionSteps(BASE, tree, following));
      for (let round = 0; round < 60; round++) {
        const before = tree;
        // One to three versions at a time: the runtime folds those committed during an update.
        for (let k = 1 + changes.int(3); k > 0; k--) tree = apply(tree, changes.on(tree));
        if (round % 10 === 9) {
          // A tree that does not say what changed (read again): walked side by side instead.
          tree = { version: tree.version + 1, customers: CustomerList.from([...tree.customers]) };
          expect(changedBetween(before, tree)).toBeUndefined();
        } else if (tree !== before) {
          expect(changedBetween(before, tree)).toBeDefined();
        }
        const { config, model } = runSteps(versionSteps(BASE, tree, following));
        const addresses = probeAddresses(changes.given, changes.rand, "10.0.0.0/16");
        expectSameModel(model, buildCustomerModel(config), addresses);
        expect(config.customers.map((c) => c.id)).toEqual(
          tree.customers.toArray().map((c) => c.id),
        );
      }
    },
  );

  it("names the customers that may differ between two trees of a run, and nothing it cannot vouch for", () => {
    const changes = new Changes(3);
    const t1 = apply(EMPTY_SNAPSHOT, [...changes.addCustomer(), ...changes.addCustomer()]);
    const [a, b] = t1.customers.toArray().map((c) => c.id) as [string, string];
    const t2 = apply(t1, [{ op: "update", customer: a, set: { name: "A" } }]);
    const t3 = apply(t2, [{ op: "delete", customer: b }]);
    const between = (x: RegistrySnapshot, y: RegistrySnapshot) => changedBetween(x, y)?.toSorted();
    expect(between(t2, t3)).toEqual([a, b]);
    expect(between(t1, t3)).toEqual([a, b]);
    expect(between(t3, t3)).toEqual([]);
    expect(between(t3, t2)).toEqual([a, b]);
    // A tree read again (no derivation), or a run that does not include the other tree: unknown.
    const reread = { version: t3.version, customers: CustomerList.from([...t3.customers]) };
    expect(changedBetween(t2, reread)).toBeUndefined();
    expect(changedBetween(reread, t3)).toBeUndefined();
    const t4 = apply(reread, [{ op: "update", customer: a, set: { name: "AA" } }]);
    expect(between(reread, t4)).toEqual([a]);
    expect(changedBetween(t3, t4)).toBeUndefined();
  });
});
