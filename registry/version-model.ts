/**
 * Each registry version's config and customer model as classification follows them
 * (registry-runtime.ts, `run`): the model derived from the last version's model and the
 * customers changed since (collector/classify/customer-model-update.ts), at a cost proportional
 * to the change. Which customers changed comes from the snapshots themselves (tree-derivation.ts:
 * a change set's tree records the ids it changed); where they do not tell (a tree read whole
 * again), the two trees are walked side by side, their unchanged records being shared objects.
 * The config's `customers` (the registry's records in the config's shape) is made when first
 * asked for: nothing on the way from a commit to classification reads it.
 */
import type { CustomerModel } from "../collector/classify/customer-model.js";
import {
  type CustomerChange,
  CustomerModelUpdater,
} from "../collector/classify/customer-model-update.js";
import { runSteps, type Steps } from "../collector/classify/steps.js";
import type { Config } from "../schema/config.js";
import type { RegistryCustomer, RegistrySnapshot } from "./model.js";
import { changedBetween } from "./tree-derivation.js";

type ConfigCustomer = Config["customers"][number];

/**
 * Each registry customer as the config holds one, kept per customer record: a version shares the
 * records it did not change with the version before, so only changed customers are made again
 * (and the model updater sees an unchanged customer as the same object).
 */
const asConfig = new WeakMap<RegistryCustomer, ConfigCustomer>();

/**
 * `cfg` with the registry's customers, in the config's shape: objects of one layout (the
 * registry's records, spread from parsed JSON, come in many), which the model's build reads
 * several times faster.
 */
export function withCustomers(cfg: Readonly<Config>, snapshot: RegistrySnapshot): Config {
  return runSteps(withCustomersSteps(cfg, snapshot));
}

/** Customers looked up or converted in one step of {@link withCustomersSteps}. */
const CUSTOMERS_PER_STEP = 5000;

function* withCustomersSteps(cfg: Readonly<Config>, snapshot: RegistrySnapshot): Steps<Config> {
  const customers = new Array<ConfigCustomer>(snapshot.customers.length);
  let k = 0;
  for (const c of snapshot.customers) {
    if (k % CUSTOMERS_PER_STEP === CUSTOMERS_PER_STEP - 1) yield;
    customers[k++] = configCustomer(c);
  }
  return { ...cfg, customers };
}

/** `cfg` with the registry's customers made when first read. */
export function withLazyCustomers(cfg: Readonly<Config>, snapshot: RegistrySnapshot): Config {
  let customers: ConfigCustomer[] | undefined;
  return {
    ...cfg,
    get customers() {
      customers ??= withCustomers(cfg, snapshot).customers;
      return customers;
    },
  };
}

/** A registry customer in the config's shape, made once per record. */
function configCustomer(c: RegistryCustomer): ConfigCustomer {
  let made = asConfig.get(c);
  if (made === undefined) {
    made = {
      id: c.id,
      name: c.name,
      serviceType: c.serviceType,
      sites: c.sites.map((s) => ({
        id: s.id,
        name: s.name,
        links: s.links.map((l) => ({
          id: l.id,
          name: l.name,
          prefixes: l.prefixes,
          router: l.router,
          ifIndex: l.ifIndex,
          commitRate: l.commitRate,
        })),
      })),
    } as ConfigCustomer;
    asConfig.set(c, made);
  }
  return made;
}

/** The model of the versions followed one after the other, and the last one's tree. */
export interface FollowedVersions {
  readonly updater: CustomerModelUpdater;
  /** The tree the updater's model is of. */
  last: RegistrySnapshot | undefined;
}

export function followVersions(): FollowedVersions {
  return { updater: new CustomerModelUpdater(), last: undefined };
}

/**
 * A version changing more than this share of the customers (a tree read whole again: every
 * record a new object) is built whole rather than changed customer by customer.
 */
const MAX_CHANGED_SHARE = 0.1;

/** Customers walked in one step of {@link walkSteps} (pointer compares: ~0.2 ms). */
const WALKED_PER_STEP = 20_000;

/**
 * A version's config and its model, prefix table included, in steps: from the model of the
 * last version followed and the customers changed since, or whole.
 */
export function* versionSteps(
  base: Readonly<Config>,
  snapshot: RegistrySnapshot,
  following: FollowedVersions,
): Steps<{ config: Config; model: CustomerModel }> {
  const last = following.last;
  following.last = undefined;
  let config: Config;
  let model: CustomerModel;
  if (last === undefined) {
    config = yield* withCustomersSteps(base, snapshot);
    model = yield* following.updater.build(config);
  } else {
    const ids = changedBetween(last, snapshot);
    const changes = ids === undefined ? yield* walkSteps(last, snapshot) : changesOf(ids, snapshot);
    config = withLazyCustomers(base, snapshot);
    // A turn of the loop between finding the changes and applying them: an update is never one
    // slice, so what commits (or a SIGHUP) meanwhile meets one under way, as with a whole build.
    yield;
    model =
      changes.length > MAX_CHANGED_SHARE * Math.max(snapshot.customers.length, 1000)
        ? yield* following.updater.build(config)
        : yield* following.updater.update(config, changes);
  }
  following.last = snapshot;
  return { config, model };
}

/**
 * The customers (in the config's shape) that changed from `earlier` to `later`: from what the
 * snapshots recorded of their making (tree-derivation.ts), at a cost proportional to the change,
 * or, where that does not reach back to `earlier` (its record is of an older run of changes, or
 * the tree was read whole again), by walking the two trees, whose unchanged records are shared
 * objects (pointer compares: ~1 ms at 100 000 customers).
 */
export function changedCustomers(
  earlier: RegistrySnapshot,
  later: RegistrySnapshot,
): CustomerChange[] {
  const ids = changedBetween(earlier, later);
  return ids === undefined ? runSteps(walkSteps(earlier, later)) : changesOf(ids, later);
}

/** The customers `ids` as `next` has them (found by binary search: the tree is sorted by id). */
function changesOf(ids: readonly string[], next: RegistrySnapshot): CustomerChange[] {
  return ids.map((id) => {
    const c = next.customers.get(id);
    return { id, after: c === undefined ? undefined : configCustomer(c) };
  });
}

/**
 * The changes from `last` to `next`, walking both trees (sorted by id, as the registry keeps
 * them: change-set.ts) side by side: a record the two share is the same customer; any other is
 * added, removed or replaced.
 */
function* walkSteps(last: RegistrySnapshot, next: RegistrySnapshot): Steps<CustomerChange[]> {
  const changes: CustomerChange[] = [];
  // The lists skip the chunks both versions share: the walk costs what changed in between.
  for (const d of last.customers.changesTo(next.customers, WALKED_PER_STEP)) {
    if (d === undefined) {
      yield;
      continue;
    }
    const [x, y] = d;
    changes.push(
      y === undefined ? { id: x!.id, after: undefined } : { id: y.id, after: configCustomer(y) },
    );
  }
  return changes;
}
