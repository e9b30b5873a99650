/**
 * The registry as a running process sees it (docs/registry.md, "Live changes"): with
 * `registry.source: database` it opens the registry (the one RegistryStore of the process: the API
 * uses the same instance), reads its tree at start and follows every committed change set; each
 * version becomes the customer model a config's `customers:` gives (the config with the
 * registry's customers in it), ready, prefix table included, before the listeners swap it in
 * between two datagrams. Where something classifies (`run`), each version's model is derived from
 * the previous one and the customers the version changed (customer-model-update.ts: found by
 * walking the two sorted trees, whose unchanged records are shared), in slices of a few ms with
 * the event loop turning between them (`run`'s API shares the loop), the versions committed
 * during one update folded into the next. With `registry.source: config` it holds no registry:
 * version 0, the config's own customers.
 *
 * Changes are seen at once when this process applied them (RegistryStore.watch), through
 * PostgreSQL's LISTEN/NOTIFY when another process did, and by a slow poll of the version as a
 * safety net (a lost notification, the listening connection down). While the registry cannot be
 * read, the last applied version keeps classifying; /healthz names the registry with
 * FT_REGISTRY_OPEN until it is back.
 */
import type { Logger } from "pino";
import { buildCustomerModel, type CustomerModel } from "../collector/classify/customer-model.js";
import type { CustomerChange } from "../collector/classify/customer-model-update.js";
import {
  runSteps,
  runStepsSliced,
  type SliceOptions,
  type Steps,
} from "../collector/classify/steps.js";
import type { Config } from "../schema/config.js";
import { type ErrorCode, FlowtallyError, isFlowtallyError } from "../schema/errors.js";
import type { RegistrySnapshot } from "./model.js";
import { openRegistry } from "./open-registry.js";
import type { RegistryStore, SqlDriver } from "./sql-registry.js";
import {
  changedCustomers,
  followVersions,
  versionSteps,
  withLazyCustomers,
} from "./version-model.js";

/** One registry version as classification uses it. */
export interface AppliedRegistry {
  /** The registry version (0 with `registry.source: config`). */
  readonly version: number;
  /** When it was swapped in (ms since 1970). */
  readonly appliedAtMs: number;
  /** The running config with this version's customers in `customers`. */
  readonly config: Readonly<Config>;
  /**
   * Its customer model: ready (prefix table included) before a change is announced; for the
   * version read at start built when first asked, as the config path does. Models of successive
   * versions number customers and links each their own way (a swap hands over what is open).
   */
  readonly model: CustomerModel;
  /**
   * The customers (in the config's shape; `after` undefined: removed) that may differ from those
   * of `earlier`, a version this runtime applied before: found from the registry's record of its
   * changes at a cost proportional to them, else by a walk of the two trees comparing pointers.
   * Undefined with `registry.source: config` (compare `config.customers` whole).
   */
  changedSince(earlier: AppliedRegistry): readonly CustomerChange[] | undefined;
}

/** What `GET /api/v1/status` says under `registry`. */
export interface RegistryStatus {
  source: "config" | "database";
  /** The version classification uses now (0: the config's customers, or an empty registry). */
  appliedVersion: number;
  /** When it was applied (ISO 8601), null with `registry.source: config`. */
  appliedAt: string | null;
}

export interface RegistryRuntime {
  /** Opens the registry and reads its tree (database); nothing to do for `config`. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The process's one registry store (database), for the API's writes; undefined for `config`. */
  readonly store: RegistryStore | undefined;
  readonly source: "config" | "database";
  current(): AppliedRegistry;
  appliedVersion(): number;
  /**
   * Calls `listener` with each new version, synchronously, once its model is built: the listener
   * swaps it in. Returns the function that removes it.
   */
  onApplied(listener: (applied: AppliedRegistry) => void): () => void;
  /**
   * Calls `listener` with each new version, after the onApplied listeners, for what needs its
   * config and not its model (the billing-profile recorder): unlike onApplied, it does not make
   * the runtime build each version's model (`serve` builds one only when a traffic query asks).
   * Returns the function that removes it.
   */
  onVersion(listener: (applied: AppliedRegistry) => void): () => void;
  /**
   * SIGHUP: the rest of the config (classes) from `cfg`, the customers still the registry's
   * (database); `cfg` itself for `config`. Becomes current() and is returned; not announced.
   */
  rebase(cfg: Readonly<Config>): AppliedRegistry;
  status(): RegistryStatus;
  /** The registry when it cannot be read now, with its code, for /healthz; else nothing. */
  health(): Array<{ name: string; code?: ErrorCode }>;
  /** Reads the registry now and applies a newer version (what the poll and notifications do). */
  refresh(): Promise<void>;
  /**
   * Resolves once the model of the version read at start is made for the updates (started by the
   * first onApplied; benches wait for it before timing changes).
   */
  following(): Promise<void>;
}

export interface RegistryRuntimeDeps {
  log: Logger;
  /** The store to use instead of openRegistry(cfg) (tests). */
  store?: RegistryStore;
  /** The database connection to open the registry on, shared with the account store. */
  driver?: SqlDriver;
  now?: () => number;
  /** The safety-net poll of the version (default 5 s). */
  pollMs?: number;
  /** Applied-version log lines at most this often (default 1 s); the others are counted. */
  logEveryMs?: number;
  /** A read of the registry that takes longer fails (default 10 s): the registry is away. */
  readTimeoutMs?: number;
  /** How a version's model is built in slices (`run`): their length, what runs between. */
  slice?: SliceOptions;
}

const DEFAULT_POLL_MS = 5000;
const DEFAULT_LOG_EVERY_MS = 1000;
const DEFAULT_READ_TIMEOUT_MS = 10_000;
/** While the registry stays unreachable, the error is logged again this often. */
const ERROR_LOG_EVERY_MS = 60_000;

export function createRegistryRuntime(
  cfg: Readonly<Config>,
  deps: RegistryRuntimeDeps,
): RegistryRuntime {
  const { log } = deps;
  const now = deps.now ?? Date.now;
  const source = cfg.registry.source;
  let base = cfg;

  if (source === "config") {
    let current = lazyApplied(0, now(), cfg, undefined);
    return {
      source,
      store: undefined,
      async start() {},
      async stop() {},
      current: () => current,
      appliedVersion: () => 0,
      onApplied: () => () => {},
      onVersion: () => () => {},
      rebase(next) {
        current = lazyApplied(0, now(), next, undefined);
        return current;
      },
      status: () => ({ source, appliedVersion: 0, appliedAt: null }),
      health: () => [],
      async refresh() {},
      async following() {},
    };
  }

  const store =
    deps.store ??
    openRegistry(cfg, { now, ...(deps.driver === undefined ? {} : { driver: deps.driver }) });
  const listeners = new Set<(a: AppliedRegistry) => void>();
  const versionListeners = new Set<(a: AppliedRegistry) => void>();
  let current: AppliedRegistry | undefined;
  let snapshot: RegistrySnapshot | undefined;
  /** The versions as classification follows them (`run`): each model from the one before. */
  const following = followVersions();
  /**
   * The model of the version read at start made for the updates (customer-model-update.ts),
   * in slices, once something classifies and has not asked for that model yet: the first change
   * then costs what it changed, not a whole build (~1 s of CPU at 100 000 customers).
   */
  let warming: Promise<void> | undefined;
  let warmAsked = false;
  /** Steps that end early once the runtime stops (the model left unmade: built whole later). */
  function* unlessStopped<T>(steps: Steps<T>): Steps<T | undefined> {
    for (;;) {
      if (stopped) return undefined;
      const r = steps.next();
      if (r.done) return r.value;
      yield;
    }
  }
  /** Whether the updater is free: no version being made for classification, none ahead. */
  const updaterIdle = () =>
    warming === undefined && refreshing === undefined && following.last === undefined;
  /**
   * Made a turn later: `run` and `collect` ask for the start version's model right after they
   * call onApplied, which then makes it for the updates at once (startModel), not twice.
   */
  const warm = () => {
    if (warmAsked) return;
    warmAsked = true;
    setImmediate(() => {
      if (stopped || snapshot === undefined || !updaterIdle()) return;
      // Sliced as the updates are, with the loop's own turn between slices (not a test's hook).
      const slice = deps.slice?.sliceMs === undefined ? {} : { sliceMs: deps.slice.sliceMs };
      warming = runStepsSliced(unlessStopped(versionSteps(base, snapshot, following)), slice).then(
        () => undefined,
        (e: unknown) => log.warn({ err: e }, "registry: the start version's model not made ahead"),
      );
    });
  };
  /**
   * The model of the version read at start, when first asked for: where something classifies,
   * made by the updater while nothing else has used it (so the first change costs what it
   * changed); else whole (`serve`, `aggregate`: no updater state kept for nothing).
   */
  const startModel = (config: Config, read: RegistrySnapshot): CustomerModel => {
    if (listeners.size === 0 || snapshot !== read || !updaterIdle()) {
      return buildCustomerModel(config);
    }
    const model = runSteps(following.updater.build(config));
    following.last = read;
    return model;
  };
  let stopped = false;
  let unwatch: (() => void) | undefined;
  let poll: NodeJS.Timeout | undefined;
  /** Why the registry cannot be read now, or undefined. */
  let down: { code: ErrorCode; message: string } | undefined;
  let downLoggedAt = Number.NEGATIVE_INFINITY;
  let lastLogAt = Number.NEGATIVE_INFINITY;
  let heldLines = 0;
  /** One refresh at a time; a request during one runs one more after it. */
  let refreshing: Promise<void> | undefined;
  let again = false;

  const fail = (e: unknown) => {
    const code: ErrorCode = isFlowtallyError(e) ? e.code : "FT_REGISTRY_OPEN";
    const message = e instanceof Error ? e.message : String(e);
    const t = now();
    if (down === undefined || t - downLoggedAt >= ERROR_LOG_EVERY_MS) {
      log.error(
        { code, appliedVersion: current?.version ?? 0 },
        `registry unreadable, classifying with the last applied version: ${message} [${code}]`,
      );
      downLoggedAt = t;
    }
    down = { code, message };
  };

  const logApplied = (version: number, tookMs: number, customers: number) => {
    const t = now();
    if (t >= lastLogAt && t - lastLogAt < (deps.logEveryMs ?? DEFAULT_LOG_EVERY_MS)) {
      heldLines += 1;
      return;
    }
    log.info(
      {
        registryVersion: version,
        tookMs: Math.round(tookMs * 10) / 10,
        customers,
        ...(heldLines > 0 ? { alsoApplied: heldLines } : {}),
      },
      `registry version ${version} applied to classification`,
    );
    lastLogAt = t;
    heldLines = 0;
  };

  /** Reads the tree; builds and announces its model when the version moved. */
  async function readAndApply(): Promise<void> {
    const started = performance.now();
    let next: RegistrySnapshot;
    let timer: NodeJS.Timeout | undefined;
    try {
      // A database that does not answer (a network partition) counts as away, not as waiting.
      const timeoutMs = deps.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
      next = await Promise.race([
        store.snapshot(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new FlowtallyError(
                  "FT_REGISTRY_OPEN",
                  `the registry did not answer within ${timeoutMs} ms`,
                ),
              ),
            timeoutMs,
          );
        }),
      ]);
    } catch (e) {
      fail(e);
      return;
    } finally {
      clearTimeout(timer);
    }
    if (down !== undefined) {
      log.info({ registryVersion: next.version }, "registry readable again");
      down = undefined;
    }
    if (stopped || current === undefined || next.version === current.version) return;
    if (listeners.size === 0) {
      // Nothing classifies here (`serve`): the model is built when first asked
      // for (a traffic query), not for every version on the event loop the API's writes share
      // (0.3 s of CPU at 100 000 customers: under a stream of writes, every request's wait).
      snapshot = next;
      current = lazyApplied(next.version, now(), base, next);
    } else {
      // `run`: built in slices of a few ms, prefix table included, the loop turning between
      // them (the API answers meanwhile); versions committed during the build are folded into
      // the next one (refresh's `again`: the newest tree then). A SIGHUP during the build
      // (rebase) makes it again with the new classes.
      await warming;
      let from: Readonly<Config>;
      let built: { config: Config; model: CustomerModel };
      do {
        from = base;
        built = await runStepsSliced(versionSteps(from, next, following), deps.slice);
      } while (from !== base && !stopped);
      if (stopped) return;
      snapshot = next;
      current = withSnapshot({ version: next.version, appliedAtMs: now(), ...built }, next);
    }
    for (const l of [...listeners, ...versionListeners]) {
      try {
        l(current);
      } catch (e) {
        log.error({ err: e, registryVersion: next.version }, "registry version not swapped in");
      }
    }
    logApplied(next.version, performance.now() - started, next.customers.length);
  }

  function refresh(): Promise<void> {
    if (refreshing !== undefined) {
      again = true;
      return refreshing;
    }
    refreshing = (async () => {
      try {
        do {
          again = false;
          await readAndApply();
        } while (again && !stopped);
      } finally {
        refreshing = undefined;
      }
    })();
    return refreshing;
  }

  return {
    source,
    store,
    async start() {
      const started = performance.now();
      await store.start();
      try {
        snapshot = await store.snapshot();
      } catch (e) {
        await store.stop().catch(() => undefined);
        throw e;
      }
      const read = snapshot;
      current = lazyApplied(snapshot.version, now(), base, snapshot, (c) => startModel(c, read));
      log.info(
        {
          registryVersion: snapshot.version,
          customers: snapshot.customers.length,
          tookMs: Math.round(performance.now() - started),
        },
        `registry version ${snapshot.version} read`,
      );
      unwatch = store.watch((version) => {
        if (current !== undefined && version === current.version) return;
        void refresh();
      });
      poll = setInterval(() => void refresh(), deps.pollMs ?? DEFAULT_POLL_MS);
      poll.unref();
    },
    async stop() {
      stopped = true;
      if (poll !== undefined) clearInterval(poll);
      unwatch?.();
      await refreshing?.catch(() => undefined);
      await warming;
      await store.stop();
    },
    current() {
      if (current === undefined) throw new Error("the registry runtime is not started");
      return current;
    },
    appliedVersion: () => current?.version ?? 0,
    onApplied(listener) {
      listeners.add(listener);
      warm();
      return () => listeners.delete(listener);
    },
    onVersion(listener) {
      versionListeners.add(listener);
      return () => versionListeners.delete(listener);
    },
    rebase(next) {
      base = next;
      if (current === undefined) throw new Error("the registry runtime is not started");
      const s = snapshot;
      current = lazyApplied(current.version, current.appliedAtMs, next, s);
      return current;
    },
    status: () => ({
      source,
      appliedVersion: current?.version ?? 0,
      appliedAt: current === undefined ? null : new Date(current.appliedAtMs).toISOString(),
    }),
    health: () => (down === undefined ? [] : [{ name: "registry", code: down.code }]),
    refresh,
    following: async () => {
      await warming;
    },
  };
}

/** An applied version whose config and model are made when first asked for. */
function lazyApplied(
  version: number,
  appliedAtMs: number,
  base: Readonly<Config>,
  snapshot: RegistrySnapshot | undefined,
  build: (config: Config) => CustomerModel = buildCustomerModel,
): AppliedRegistry {
  let config: Config | undefined;
  let model: CustomerModel | undefined;
  return withSnapshot(
    {
      version,
      appliedAtMs,
      get config() {
        // Its customers made when read: what reads the version's classes or service types
        // (the billing-profile recorder) does not make 100 000 of them.
        config ??= snapshot === undefined ? base : withLazyCustomers(base, snapshot);
        return config;
      },
      get model() {
        model ??= build(this.config);
        return model;
      },
    },
    snapshot,
  );
}

/** The tree of each applied version (none for `config`), for changedSince. */
const snapshots = new WeakMap<AppliedRegistry, RegistrySnapshot>();

/** `applied` with its changedSince, answered from `snapshot` and the earlier version's tree. */
function withSnapshot(
  applied: Omit<AppliedRegistry, "changedSince">,
  snapshot: RegistrySnapshot | undefined,
): AppliedRegistry {
  const out = applied as AppliedRegistry & {
    changedSince: AppliedRegistry["changedSince"];
  };
  out.changedSince = (earlier) => {
    const before = snapshots.get(earlier);
    return before === undefined || snapshot === undefined
      ? undefined
      : changedCustomers(before, snapshot);
  };
  if (snapshot !== undefined) snapshots.set(out, snapshot);
  return out;
}

/**
 * A customer model that reads whichever model `get` gives now: for the API of a process whose
 * model is replaced (SIGHUP, a registry version), made once.
 */
export function liveModel(get: () => CustomerModel): CustomerModel {
  return {
    get customers() {
      return get().customers;
    },
    get links() {
      return get().links;
    },
    get prefixes() {
      return get().prefixes;
    },
    get interfaces() {
      return get().interfaces;
    },
    get classIds() {
      return get().classIds;
    },
    get rules() {
      return get().rules;
    },
  };
}
