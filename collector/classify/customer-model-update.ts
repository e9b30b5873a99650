/**
 * A customer model that follows registry versions (docs/registry.md, "Live changes"): built whole
 * once, then each version's model derived from the previous one and the customers that version
 * changed, at a cost proportional to the change rather than to the 100 000 customers.
 *
 * Numbering: a customer keeps its index and a link its number from one version to the next; a
 * removed one's slot is taken by the last one (whose index or number, and with it its prefixes'
 * and interface's values, change: a few entries), so the arrays stay dense (the API walks them).
 * The order of `customers` and `links` is then not the config's; nothing reads the order, and
 * open partial sums never meet the new numbers (a swap emits them under the previous model).
 *
 * Sharing: the customers and links are chunked arrays (chunked-array.ts) whose published
 * snapshots share every chunk a later version does not write: a version copies the chunks of
 * 1 024 entries it changes and the list of chunks (~100 and ~200 pointers), not the arrays of
 * 100 000 customers and 200 000 links; the interface maps copied per router touched, the prefix table a base with an
 * overlay of the changed prefixes (prefix-overlay.ts). The unchanged CustomerInfo and LinkInfo
 * objects are shared between versions.
 *
 * A change the registry should have refused (a prefix or an interface given to two links) makes
 * the model built whole instead, as a config's would be.
 */
import type { Config } from "../../schema/config.js";
import { ChunkedArray } from "./chunked-array.js";
import {
  type ClassRule,
  type CustomerInfo,
  type CustomerModel,
  classRules,
  type LinkInfo,
} from "./customer-model.js";
import { type PrefixKey, PrefixSet, prefixKey } from "./prefix-overlay.js";
import { parsePrefix } from "./prefix-table.js";
import type { Steps } from "./steps.js";

type ConfigCustomer = Config["customers"][number];
type ConfigLink = ConfigCustomer["sites"][number]["links"][number];

/**
 * A customer that may have changed since the last model: its record now (undefined: removed). A
 * record the model holds already (the same object) is no change.
 */
export interface CustomerChange {
  readonly id: string;
  readonly after: ConfigCustomer | undefined;
}

interface CustomerState {
  index: number;
  readonly id: string;
  source: ConfigCustomer;
  readonly links: LinkState[];
}

interface LinkState {
  index: number;
  readonly owner: CustomerState;
  readonly site: string;
  readonly id: string;
  source: ConfigLink;
}

/** Customers added, or changes applied, in one step (~1 ms). */
const CUSTOMERS_PER_STEP = 1000;

/** Two links claim one prefix or interface: the version is built whole instead. */
class Conflict extends Error {}

export class CustomerModelUpdater {
  /** Written in place; each model gets a snapshot (which shares its chunks until written). */
  #customers = new ChunkedArray<CustomerInfo>();
  #links = new ChunkedArray<LinkInfo>();
  #customerAt: CustomerState[] = [];
  #linkAt: LinkState[] = [];
  #byId = new Map<string, CustomerState>();
  #interfaces = new Map<string, Map<number, number>>();
  /** Interface maps made since the last model was published (changed in place). */
  #ownMaps = new Set<object>();
  #prefixes = new PrefixSet();
  #classes:
    | { of: Config["classes"]; defaultClass: string; classIds: string[]; rules: ClassRule[] }
    | undefined;
  /** False while a build or update runs (or failed): the next one is then a whole build. */
  #valid = false;

  /** Customers in the model now. */
  get size(): number {
    return this.#customers.length;
  }

  /** The model of `cfg` built whole, in steps; the base of the next {@link update}. */
  *build(cfg: Config): Steps<CustomerModel> {
    this.#valid = false;
    this.#customers = new ChunkedArray();
    this.#links = new ChunkedArray();
    this.#customerAt = [];
    this.#linkAt = [];
    this.#byId = new Map();
    this.#interfaces = new Map();
    this.#ownMaps = new Set([this.#interfaces]);
    this.#prefixes = new PrefixSet();
    for (let ci = 0; ci < cfg.customers.length; ci++) {
      if (ci % CUSTOMERS_PER_STEP === CUSTOMERS_PER_STEP - 1) yield;
      this.#addCustomer(cfg.customers[ci]!, true);
    }
    yield* this.#prefixes.compactSteps();
    this.#valid = true;
    return this.#publish(cfg, yield* this.#prefixes.tableSteps());
  }

  /**
   * The model after `changes` (against the last model built or updated), in steps; `cfg` is the
   * new version's config (its classes; its customers when the model must be built whole).
   */
  *update(cfg: Config, changes: readonly CustomerChange[]): Steps<CustomerModel> {
    if (!this.#valid) return yield* this.build(cfg);
    this.#valid = false;
    try {
      // Removals first, so that a prefix or an interface moved between links is free when added.
      const plans: Array<() => void> = [];
      for (let k = 0; k < changes.length; k++) {
        if (k % CUSTOMERS_PER_STEP === CUSTOMERS_PER_STEP - 1) yield;
        const plan = this.#take(changes[k]!);
        if (plan !== undefined) plans.push(plan);
      }
      for (let k = 0; k < plans.length; k++) {
        if (k % CUSTOMERS_PER_STEP === CUSTOMERS_PER_STEP - 1) yield;
        plans[k]!();
      }
    } catch (e) {
      if (e instanceof Conflict) return yield* this.build(cfg);
      throw e;
    }
    const table = yield* this.#prefixes.tableSteps();
    this.#valid = true;
    return this.#publish(cfg, table);
  }

  #publish(cfg: Config, prefixes: CustomerModel["prefixes"]): CustomerModel {
    if (
      this.#classes === undefined ||
      this.#classes.of !== cfg.classes ||
      this.#classes.defaultClass !== cfg.defaultClass
    ) {
      this.#classes = { of: cfg.classes, defaultClass: cfg.defaultClass, ...classRules(cfg) };
    }
    this.#ownMaps.clear();
    return {
      customers: this.#customers.snapshot(),
      links: this.#links.snapshot(),
      prefixes,
      interfaces: this.#interfaces,
      classIds: this.#classes.classIds,
      rules: this.#classes.rules,
    };
  }

  /** Undoes what `change` removes now; returns what it adds, to run after every removal. */
  #take(change: CustomerChange): (() => void) | undefined {
    const { id, after } = change;
    const state = this.#byId.get(id);
    if (state === undefined)
      return after === undefined ? undefined : () => this.#addCustomer(after, false);
    if (state.source === after) return undefined;
    if (after === undefined) {
      this.#removeCustomer(state);
      return undefined;
    }
    // The same customer, another record: its links matched by site and link id.
    const next = new Map<string, { site: string; link: ConfigLink }>();
    for (const s of after.sites) {
      for (const l of s.links) next.set(`${s.id}\n${l.id}`, { site: s.id, link: l });
    }
    const kept: Array<{ ls: LinkState; link: ConfigLink; prefixes: boolean; iface: boolean }> = [];
    for (const ls of [...state.links]) {
      const n = next.get(`${ls.site}\n${ls.id}`);
      if (n === undefined) {
        this.#removeLink(ls);
        continue;
      }
      next.delete(`${ls.site}\n${ls.id}`);
      const was = ls.source;
      const prefixes = !sameTexts(was.prefixes, n.link.prefixes);
      const iface = was.router !== n.link.router || was.ifIndex !== n.link.ifIndex;
      if (prefixes) this.#removePrefixes(ls);
      if (iface) this.#removeInterface(ls);
      kept.push({ ls, link: n.link, prefixes, iface });
    }
    return () => {
      state.source = after;
      const info = this.#customers.get(state.index)!;
      if (info.name !== after.name || info.serviceType !== after.serviceType) {
        this.#customers.set(state.index, customerInfo(state));
      }
      for (const { ls, link, prefixes, iface } of kept) {
        const rate = ls.source.commitRate !== link.commitRate;
        ls.source = link;
        if (prefixes) this.#addPrefixes(ls, false);
        if (iface) this.#addInterface(ls, false);
        if (rate) this.#links.set(ls.index, linkInfo(ls));
      }
      for (const { site, link } of next.values()) this.#addLink(state, site, link, false);
    };
  }

  #addCustomer(c: ConfigCustomer, bulk: boolean): void {
    if (this.#byId.has(c.id)) throw new Conflict(`customer ${c.id} twice`);
    const state: CustomerState = { index: this.#customerAt.length, id: c.id, source: c, links: [] };
    this.#byId.set(c.id, state);
    this.#customerAt.push(state);
    this.#customers.push(customerInfo(state));
    for (const site of c.sites) {
      for (const l of site.links) this.#addLink(state, site.id, l, bulk);
    }
  }

  #removeCustomer(state: CustomerState): void {
    while (state.links.length > 0) this.#removeLink(state.links[state.links.length - 1]!);
    this.#byId.delete(state.id);
    const at = state.index;
    const last = this.#customerAt.pop()!;
    this.#customers.pop();
    if (last === state) return;
    last.index = at;
    this.#customerAt[at] = last;
    this.#customers.set(at, customerInfo(last));
    for (const ls of last.links) this.#links.set(ls.index, linkInfo(ls));
  }

  #addLink(owner: CustomerState, site: string, l: ConfigLink, bulk: boolean): void {
    const ls: LinkState = {
      index: this.#linkAt.length,
      owner,
      site,
      id: l.id,
      source: l,
    };
    owner.links.push(ls);
    this.#linkAt.push(ls);
    this.#links.push(linkInfo(ls));
    this.#addPrefixes(ls, bulk);
    this.#addInterface(ls, bulk);
  }

  #removeLink(ls: LinkState): void {
    this.#removePrefixes(ls);
    this.#removeInterface(ls);
    const links = ls.owner.links;
    links.splice(links.indexOf(ls), 1);
    const at = ls.index;
    const last = this.#linkAt.pop()!;
    this.#links.pop();
    if (last === ls) return;
    // The last link takes the freed number: its prefixes and interface follow.
    const was = last.index;
    last.index = at;
    this.#linkAt[at] = last;
    this.#links.set(at, linkInfo(last));
    for (const key of keysOf(last.source)) {
      if (this.#prefixes.valueOf(key) === was) this.#prefixes.set(key, at);
    }
    const { router, ifIndex } = last.source;
    if (router !== undefined && ifIndex !== undefined) {
      if (this.#interfaces.get(router)?.get(ifIndex) === was) {
        this.#interfaceMap(router).set(ifIndex, at);
      }
    }
  }

  #addPrefixes(ls: LinkState, bulk: boolean): void {
    for (const key of keysOf(ls.source)) {
      // A repeated prefix keeps its first owner, as a table built whole does.
      if (bulk) {
        this.#prefixes.load(key, ls.index);
        continue;
      }
      const owner = this.#prefixes.valueOf(key);
      if (owner !== undefined && owner !== ls.index) throw new Conflict(`${key} given twice`);
      this.#prefixes.set(key, ls.index);
    }
  }

  /** The link's prefixes out of the table (those it holds: a repeated one is its first owner's). */
  #removePrefixes(ls: LinkState): void {
    for (const key of keysOf(ls.source)) {
      if (this.#prefixes.valueOf(key) === ls.index) this.#prefixes.delete(key);
    }
  }

  #addInterface(ls: LinkState, bulk: boolean): void {
    const { router, ifIndex } = ls.source;
    if (router === undefined || ifIndex === undefined) return;
    const owner = this.#interfaces.get(router)?.get(ifIndex);
    // A whole build lets the last link on an interface have it (Map.set).
    if (!bulk && owner !== undefined && owner !== ls.index) {
      throw new Conflict(`${router} ifIndex ${ifIndex} given twice`);
    }
    this.#interfaceMap(router).set(ifIndex, ls.index);
  }

  #removeInterface(ls: LinkState): void {
    const { router, ifIndex } = ls.source;
    if (router === undefined || ifIndex === undefined) return;
    if (this.#interfaces.get(router)?.get(ifIndex) !== ls.index) return;
    const byIf = this.#interfaceMap(router);
    byIf.delete(ifIndex);
    if (byIf.size === 0) this.#interfaces.delete(router);
  }

  /** The router's interface map, copied (with the map of routers) if the last model holds it. */
  #interfaceMap(router: string): Map<number, number> {
    if (!this.#ownMaps.has(this.#interfaces)) {
      this.#interfaces = new Map(this.#interfaces);
      this.#ownMaps.add(this.#interfaces);
    }
    let byIf = this.#interfaces.get(router);
    if (byIf === undefined || !this.#ownMaps.has(byIf)) {
      byIf = new Map(byIf);
      this.#ownMaps.add(byIf);
      this.#interfaces.set(router, byIf);
    }
    return byIf;
  }
}

function customerInfo(state: CustomerState): CustomerInfo {
  const c = state.source;
  return { index: state.index, id: c.id, name: c.name, serviceType: c.serviceType };
}

function linkInfo(ls: LinkState): LinkInfo {
  return {
    index: ls.index,
    customerIndex: ls.owner.index,
    customer: ls.owner.id,
    site: ls.site,
    link: ls.id,
    commitRate: ls.source.commitRate,
  };
}

/** A link's prefixes as keys (parsed again when needed rather than kept: 150 000 arrays). */
function keysOf(l: ConfigLink): PrefixKey[] {
  return l.prefixes.map((text) => {
    const p = parsePrefix(text);
    if ("error" in p) throw new Error(`${text}: ${p.error} (the registry was not validated)`);
    return prefixKey(p);
  });
}

function sameTexts(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
