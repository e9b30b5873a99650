/**
 * `flowtally aggregate --config FILE` (an aggregator worker) and `flowtally serve --config FILE`
 * (the query API only), for the scaled-out setup. Any number of each: aggregators share the
 * queue's jobs and the shards' writes (aggregator/aggregate-worker.ts); servers only read the
 * store. Both serve /healthz and /metrics on api.listen; `serve` the whole API.
 */
import type { Logger } from "pino";
import { type Accounts, accountsFor } from "../accounts/index.js";
import {
  type AggregateStats,
  type AggregateWorker,
  startAggregateWorker,
} from "../aggregator/aggregate-worker.js";
import { buildCustomerModel, type CustomerModel } from "../collector/classify/customer-model.js";
import { createApiServer, type DownDependency, type RegistryAccess } from "../query/api/index.js";
import { createMetrics, emptyMetricsSnapshot, type MetricsSnapshot } from "../query/metrics.js";
import { registryDriver } from "../registry/open-registry.js";
import {
  createRegistryRuntime,
  liveModel,
  type RegistryRuntime,
} from "../registry/registry-runtime.js";
import { shareDriver } from "../registry/shared-driver.js";
import type { Config } from "../schema/config.js";
import type { SeriesStore } from "../schema/series-store.js";
import {
  createSlaAlerts,
  emptySlaAlertsState,
  SLA_ALERTS_STOP_GRACE_MS,
} from "../sla/alerts/sla-alerts.js";
import { configLevels } from "../sla/config-levels.js";
import { createProfileRecorder } from "../sla/profile-recorder.js";
import { createStore } from "../store/create-store.js";
import { createApiRegistry } from "./api-registry.js";
import { collectorId, requireQueue } from "./collect-command.js";
import { scaledOutCompleteUntil } from "./freshness.js";
import {
  bullPrefix,
  connectRedis,
  PARTIALS_QUEUE,
  redactUrl,
  whenReady,
} from "./redis-connection.js";
import { listenError } from "./run-command.js";
import { perSecond, STATS_EVERY_MS, type StatsLine, startStatsLog } from "./stats-log.js";

export interface RunningService {
  readonly api: { address: string; port: number };
  /** The aggregator worker (aggregate only). */
  readonly worker?: AggregateWorker;
  /** The customer registry the API lists (serve only; the aggregator classifies nothing). */
  readonly registry?: RegistryRuntime;
  /** SIGHUP (serve): reads the provider's portal templates again (docs/portal.md). */
  reloadPortalTemplates?(cfg: Config): void;
  /**
   * SIGHUP (serve): the customers (registry.source: config), classes and billing of the API,
   * the billing profiles stored when they changed, and the portal templates.
   */
  reload?(cfg: Config): void;
  stop(): Promise<void>;
}

/** What the aggregator's stats line reads: its counters and the queue's state. */
interface AggregateSample extends AggregateStats {
  queue: { waiting: number; active: number; lagSeconds: number };
}

/** The stats line of aggregate: the partials' rate, the writes, the queue; a warning when down. */
function aggregateStatsLine(s: AggregateSample, last: AggregateSample, seconds: number): StatsLine {
  const fields = {
    partialsPerSecond: perSecond(s.applied, last.applied, seconds),
    applied: s.applied,
    duplicates: s.duplicates,
    rejected: s.rejected,
    applyErrors: s.applyErrors,
    seriesRowsWritten: s.seriesRowsWritten,
    responseRowsWritten: s.responseRowsWritten,
    writes: s.writes,
    writeErrors: s.writeErrors,
    shardsOwned: s.shardsOwned,
    queue: s.queue,
    down: s.down,
  };
  return s.down.length > 0 || s.writeErrors > last.writeErrors
    ? {
        level: "warn",
        fields: { ...fields, newWriteErrors: s.writeErrors - last.writeErrors },
        message: `stats: ${s.down.length > 0 ? `${s.down.join(" and ")} down` : "writes failed"} (${s.lastWriteError || "see the errors logged"})`,
      }
    : { level: "info", fields, message: "stats" };
}

export async function startAggregate(
  cfg: Config,
  log: Logger,
  overrides: { writeIntervalMs?: number; statsMs?: number } = {},
): Promise<RunningService> {
  const q = requireQueue(cfg, "aggregate");
  const id = collectorId(cfg);
  const store = createStore(cfg.store, { log, slaLevel: configLevels(cfg) });
  await store.start();
  const workerConnection = connectRedis(q, "worker", `flowtally-aggregate-${id}`);
  const commands = connectRedis(q, "commands", `flowtally-aggregate-${id}-totals`);
  for (const c of [workerConnection, commands]) c.on("error", () => {}); // logged by the worker
  if (!(await whenReady(commands, 5000))) {
    log.error({ redis: redactUrl(q.redis.url) }, "Redis unreachable: waiting for it");
  }
  // SLA alerts of the customers of the shards this worker writes; nothing kept in a file (the
  // shards move between workers): docs/sla.md "Alerts".
  const serviceTypes = new Map(cfg.customers.map((c) => [c.id, c.serviceType]));
  const slaAlerts =
    cfg.sla.webhooks.length === 0
      ? undefined
      : createSlaAlerts(
          { ...cfg, sla: { ...cfg.sla, statePath: "" } },
          { log, serviceTypeOf: (c) => serviceTypes.get(c) },
        );
  slaAlerts?.start();
  const worker = startAggregateWorker({
    id: `${id}.${process.pid}`,
    workerConnection,
    commands,
    queueName: PARTIALS_QUEUE,
    bullPrefix: bullPrefix(q.prefix),
    prefix: q.prefix,
    shards: q.shards,
    store,
    log,
    concurrency: q.concurrency,
    stalledAfterMs: q.stalledAfter,
    dedupForMs: q.dedupFor,
    keepTotalsMs: q.keepTotals,
    writeIntervalMs: overrides.writeIntervalMs ?? q.writeInterval,
    rollupWriteIntervalMs: q.rollupWriteInterval,
    ...(slaAlerts === undefined
      ? {}
      : { slaAlerts, slaUntil: (nowMs: number) => scaledOutCompleteUntil(cfg, nowMs) }),
  });
  log.info(
    { redis: redactUrl(q.redis.url), shards: q.shards, concurrency: q.concurrency },
    "aggregator: taking partials from the queue",
  );
  const status = () => ({ role: "aggregate", ...worker.stats });
  const sample = async (): Promise<AggregateSample> => ({
    ...worker.stats,
    down: [...worker.stats.down],
    shardsOwned: [...worker.stats.shardsOwned],
    queue: await worker.queueState().catch(() => ({ waiting: 0, active: 0, lagSeconds: 0 })),
  });
  const statsLog = startStatsLog({
    log,
    everyMs: overrides.statsMs ?? STATS_EVERY_MS,
    initial: { ...worker.stats, queue: { waiting: 0, active: 0, lagSeconds: 0 } },
    sample,
    line: aggregateStatsLine,
  });
  const api = await serveApi(
    cfg,
    log,
    undefined,
    status,
    // The worker notices Redis at its first write cycle; the connection says it before.
    () =>
      downWith(
        store,
        commands.status === "ready" || worker.stats.down.includes("redis")
          ? worker.stats.down
          : ["redis", ...worker.stats.down],
      ),
    async () => {
      const s = worker.stats;
      const queue = await worker
        .queueState()
        .catch(() => ({ waiting: 0, active: 0, lagSeconds: 0 }));
      return {
        ...emptyMetricsSnapshot(),
        seriesRowsWritten: s.seriesRowsWritten,
        storeErrors: s.writeErrors,
        aggregator: { ...s, ...queue },
        ...(slaAlerts === undefined ? {} : { slaWebhooks: slaAlerts.state().webhooks }),
      };
    },
    undefined,
    undefined,
    undefined,
    () => slaAlerts?.state() ?? emptySlaAlertsState(),
  );
  return {
    api: api.address,
    worker,
    async stop() {
      statsLog.stop();
      await worker.close();
      await slaAlerts?.stop(SLA_ALERTS_STOP_GRACE_MS);
      await api.close();
      await store.stop();
      commands.disconnect();
      workerConnection.disconnect();
      log.info(status(), "stopped");
    },
  };
}

export async function startServe(
  cfg: Config,
  log: Logger,
  options: { registryPollMs?: number } = {},
): Promise<RunningService> {
  const store = createStore(cfg.store, { log });
  await store.start();
  // The registry's database: customers (registry.source: database) and the accounts (always),
  // one connection for both (docs/accounts.md).
  const driver = shareDriver(registryDriver(cfg));
  // The customers the API lists: the config's, or the registry's, followed as they change. The
  // runtime owns the process's registry store; the API's writes go through it.
  const runtime = createRegistryRuntime(cfg, {
    log,
    driver,
    ...(options.registryPollMs === undefined ? {} : { pollMs: options.registryPollMs }),
  });
  const registry = createApiRegistry(cfg, {
    log,
    driver,
    ...(runtime.store === undefined ? {} : { store: runtime.store }),
    // registry.source: config: the customers of the config in force (SIGHUP swaps them).
    customers: () => runtime.current().config.customers,
  });
  try {
    await runtime.start();
    await registry.start();
  } catch (e) {
    await runtime.stop().catch(() => undefined);
    await store.stop();
    throw e;
  }
  let accounts: Accounts | undefined;
  try {
    // Users, sessions and tokens, in the registry's database (docs/accounts.md).
    accounts = accountsFor(cfg, { log, driver });
    await accounts.start();
    const api = await serveApi(
      cfg,
      log,
      store,
      () => ({ role: "serve", registry: runtime.status() }),
      () => [...downWith(store, []), ...runtime.health()],
      emptyMetricsSnapshot,
      registry.access,
      accounts,
      liveModel(() => runtime.current().model),
    );
    // Listening: what the first write would wait for, made now in the background.
    registry.prepareWrites();
    // The customers' billing profiles, versioned in the store (docs/sla.md "Profile versions"):
    // now, at each registry version (a commit rate PATCHed) and at each SIGHUP.
    const profiles = createProfileRecorder({ store, log });
    // onVersion, not onApplied: recording a version needs its customers, not its model (which
    // `serve` builds only when a traffic query asks).
    const unRecorded = runtime.onVersion((applied) => void profiles.record(applied));
    void profiles.record(runtime.current(), true);
    return {
      api: api.address,
      registry: runtime,
      reloadPortalTemplates: api.reloadPortalTemplates,
      reload(next) {
        const applied = runtime.rebase(next);
        api.reloadConfig(applied.config);
        void profiles.record(applied, true);
      },
      async stop() {
        unRecorded();
        await profiles.settled();
        await api.close();
        await accounts?.stop().catch((e: unknown) => {
          log.warn({ err: e }, "the accounts database did not close cleanly");
        });
        await registry.stop();
        await runtime.stop();
        await store.stop();
      },
    };
  } catch (e) {
    await accounts?.stop().catch(() => {});
    await registry.stop();
    await runtime.stop().catch(() => undefined);
    await store.stop();
    throw e;
  }
}

/**
 * The dependencies named down, with the store added when it is down for good (its embedded file
 * deleted or replaced): the same /healthz answer as `run`'s.
 */
function downWith(store: SeriesStore, names: readonly string[]): DownDependency[] {
  const problem = store.problem();
  const out: DownDependency[] = names.map((name) =>
    name === "store" && problem !== undefined ? { name, code: problem.code } : { name },
  );
  if (problem !== undefined && !names.includes("store")) {
    out.push({ name: "store", code: problem.code });
  }
  return out;
}

async function serveApi(
  cfg: Config,
  log: Logger,
  store: SeriesStore | undefined,
  status: () => unknown,
  health: () => DownDependency[],
  metrics: () => MetricsSnapshot | Promise<MetricsSnapshot>,
  registry?: RegistryAccess,
  accounts?: Accounts,
  model: CustomerModel = buildCustomerModel(cfg),
  slaWebhooks?: () => unknown,
) {
  const api = createApiServer({
    ...(registry === undefined ? {} : { registry }),
    config: cfg,
    ...(accounts === undefined ? {} : { accounts }),
    model,
    ...(store === undefined ? {} : { store }),
    log,
    completeUntil: () => scaledOutCompleteUntil(cfg, Date.now()),
    status,
    health,
    metrics: createMetrics(metrics),
    ...(slaWebhooks === undefined ? {} : { slaWebhooks }),
  });
  const address = await api.listen().catch((e: unknown) => {
    throw listenError(`api.listen ${cfg.api.listen}`, e);
  });
  log.info({ listen: cfg.api.listen, ...address }, "HTTP API listening");
  return {
    address,
    close: () => api.close(),
    reloadPortalTemplates: (c: Config) => api.reloadPortalTemplates(c),
    reloadConfig: (c: Config) => api.reloadConfig(c),
  };
}
