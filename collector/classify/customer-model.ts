/**
 * The customer model (customers → sites → access links) and the traffic classes, compiled from
 * the validated config into what the classifier needs on the hot path: one prefix table over
 * every link's prefixes (longest prefix wins across all customers), interfaces by exporter, and
 * class rules as flag arrays and small tables. Links are numbered; a partial sum's key carries
 * the link number, from which site and customer follow.
 */
import type { Config } from "../../schema/config.js";
import { ChunkedArray, type ReadonlyChunkedArray } from "./chunked-array.js";
import { linkPrefixSteps } from "./link-prefixes.js";
import {
  type PrefixLookup,
  type PrefixTable,
  PrefixTableBuilder,
  parsePrefix,
} from "./prefix-table.js";
import { runSteps, type Steps } from "./steps.js";

export interface LinkInfo {
  index: number;
  customerIndex: number;
  customer: string;
  site: string;
  link: string;
  commitRate: number | undefined;
}

export interface CustomerInfo {
  index: number;
  id: string;
  name: string;
  serviceType: string;
}

export interface ClassRule {
  id: string;
  /** 256 flags, or null for "any protocol". */
  protocols: Uint8Array | null;
  /** Sorted [low, high] pairs, or null for "any port". */
  ports: Uint16Array | null;
  remote: PrefixTable | null;
  /** 64 flags, or null. */
  dscp: Uint8Array | null;
  applicationIds: ReadonlySet<number> | null;
  /** exporter address → interface indexes, or null. */
  interfaces: ReadonlyMap<string, ReadonlySet<number>> | null;
}

export interface CustomerModel {
  /**
   * By customer index. In chunks that the models of successive registry versions share
   * (chunked-array.ts); a new object whenever the customers changed, so readers may cache on it.
   */
  customers: ReadonlyChunkedArray<CustomerInfo>;
  /** By link number; shared between versions as `customers` is. */
  links: ReadonlyChunkedArray<LinkInfo>;
  /**
   * Every link's prefixes; the value is the link index. Built at the first lookup (the first
   * flow), not before `run` answers: the 150 000 prefixes of 100 000 customers take 0.1 s;
   * already built when the model came from customerModelSteps. A model that follows registry
   * versions (customer-model-update.ts) may answer through a base table and an overlay.
   */
  readonly prefixes: PrefixLookup;
  /** exporter address → ifIndex → link index. */
  interfaces: ReadonlyMap<string, ReadonlyMap<number, number>>;
  /** Class ids by class index; the last one is the default class. */
  classIds: readonly string[];
  rules: readonly ClassRule[];
}

/** Customers put in the model's arrays in one step of {@link customerModelSteps} (~1 ms). */
const CUSTOMERS_PER_STEP = 2000;

/**
 * Builds the model from a config that has passed validation (validateModel), at once; its prefix
 * table is built at the first lookup.
 */
export function buildCustomerModel(cfg: Config): CustomerModel {
  return runSteps(modelSteps(cfg, false));
}

/**
 * The same model in steps of a few milliseconds, its prefix table built among them (not at the
 * first lookup): what `flowtally run` does for each registry version, its event loop turning
 * between two steps (runStepsSliced), so the API it shares the loop with keeps answering.
 */
export function customerModelSteps(cfg: Config): Steps<CustomerModel> {
  return modelSteps(cfg, true);
}

function* modelSteps(cfg: Config, buildTable: boolean): Steps<CustomerModel> {
  const prefixes = yield* linkPrefixSteps(cfg.customers);
  const unparsed = prefixes.problems.find((p) => "error" in p);
  if (unparsed !== undefined && "error" in unparsed) {
    throw new Error(`${unparsed.text}: ${unparsed.error} (the config was not validated)`);
  }
  // Chunked arrays grow by a chunk at a time: no entry is copied as they grow.
  const customers = new ChunkedArray<CustomerInfo>();
  const links = new ChunkedArray<LinkInfo>();
  const interfaces = new Map<string, Map<number, number>>();
  let index = 0;
  for (let ci = 0; ci < cfg.customers.length; ci++) {
    if (ci % CUSTOMERS_PER_STEP === CUSTOMERS_PER_STEP - 1) yield;
    const c = cfg.customers[ci]!;
    customers.push({ index: ci, id: c.id, name: c.name, serviceType: c.serviceType });
    for (const site of c.sites) {
      for (const l of site.links) {
        links.push({
          index,
          customerIndex: ci,
          customer: c.id,
          site: site.id,
          link: l.id,
          commitRate: l.commitRate,
        });
        if (l.router !== undefined && l.ifIndex !== undefined) {
          let byIf = interfaces.get(l.router);
          if (byIf === undefined) {
            byIf = new Map();
            interfaces.set(l.router, byIf);
          }
          byIf.set(l.ifIndex, index);
        }
        index++;
      }
    }
  }
  const { classIds, rules } = classRules(cfg);
  if (buildTable) yield* prefixes.tableSteps();
  return {
    customers: customers.snapshot(),
    links: links.snapshot(),
    get prefixes() {
      return prefixes.table();
    },
    interfaces,
    classIds,
    rules,
  };
}

/** The traffic classes as the model holds them: ids by class index, and compiled rules. */
export function classRules(cfg: Pick<Config, "classes" | "defaultClass">): {
  classIds: string[];
  rules: ClassRule[];
} {
  return {
    classIds: [...cfg.classes.map((c) => c.id), cfg.defaultClass],
    rules: cfg.classes.map((c) => compileRule(c)),
  };
}

function validPrefix(text: string) {
  const p = parsePrefix(text);
  if ("error" in p) throw new Error(`${text}: ${p.error} (the config was not validated)`);
  return p;
}

function compileRule(c: Config["classes"][number]): ClassRule {
  const m = c.match;
  let protocols: Uint8Array | null = null;
  if (m.protocol !== undefined) {
    protocols = new Uint8Array(256);
    for (const p of m.protocol) protocols[p] = 1;
  }
  let ports: Uint16Array | null = null;
  if (m.ports !== undefined) {
    const ranges = m.ports
      .map((p) => (typeof p === "number" ? [p, p] : p.split("-").map(Number)) as [number, number])
      .sort((a, b) => a[0] - b[0]);
    ports = Uint16Array.from(ranges.flat());
  }
  let remote: PrefixTable | null = null;
  if (m.remotePrefixes !== undefined) {
    const b = new PrefixTableBuilder();
    for (const text of m.remotePrefixes) b.add(validPrefix(text), 0);
    remote = b.build();
  }
  let dscp: Uint8Array | null = null;
  if (m.dscp !== undefined) {
    dscp = new Uint8Array(64);
    for (const d of m.dscp) dscp[d] = 1;
  }
  let interfaces: Map<string, Set<number>> | null = null;
  if (m.interface !== undefined) {
    interfaces = new Map();
    for (const i of m.interface) {
      const set = interfaces.get(i.router) ?? new Set<number>();
      set.add(i.ifIndex);
      interfaces.set(i.router, set);
    }
  }
  return {
    id: c.id,
    protocols,
    ports,
    remote,
    dscp,
    applicationIds: m.applicationId === undefined ? null : new Set(m.applicationId),
    interfaces,
  };
}
