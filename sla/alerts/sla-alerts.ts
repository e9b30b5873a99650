/**
 * SLA alerts, the component the pipeline hooks into (cli/pipeline.ts on one box,
 * aggregator/aggregate-worker.ts scaled out): the 1-minute response-time rows go in as the
 * pipeline makes them (`addDeltas` or `putTotals`), `judge(untilMs)` hands the minutes complete
 * by then to the incident tracker with the level in force at each, and the events go to the
 * webhook sender. Nothing here waits on the network: the pipeline's calls are synchronous.
 *
 * Kept across a restart (`sla.statePath`, written after each step that started or ended an
 * incident and at stop, read at start): the open incidents, where judging stopped, and the
 * deliveries not done. A crash loses what changed since the last write (see docs/sla.md).
 */
import { readFileSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import type { Logger } from "pino";
import {
  runSteps,
  runStepsSliced,
  type SliceOptions,
  type Steps,
} from "../../collector/classify/steps.js";
import type { Config } from "../../schema/config.js";
import { ClassLevels } from "../class-levels.js";
import {
  type ClassMinuteCount,
  ClassMinuteSums,
  type ResponseMinuteRow,
  STEP_ENTRIES,
} from "../class-minute-sums.js";
import {
  type ClassMinute,
  type IncidentEvent,
  IncidentTracker,
  type LiveIncident,
  type TrackerState,
  type TrackerStats,
} from "../incident-tracker.js";
import {
  createWebhookSender,
  type Delivery,
  type WebhookSender,
  type WebhookState,
} from "./webhook-sender.js";

const MINUTE_MS = 60_000;
/** Events logged and queued between two yields (a log line and a delivery each). */
const EVENTS_PER_STEP = 256;

/** How long a stop waits for webhook deliveries before keeping them for the next start. */
export const SLA_ALERTS_STOP_GRACE_MS = 5000;
const STATE_VERSION = 1;

/** What `GET /api/v1/sla/webhooks` shows. */
export interface SlaAlertsState {
  webhooks: WebhookState[];
  openIncidents: Array<{
    id: string;
    customer: string;
    class: string;
    start: string;
    end: string;
    minutes: number;
  }>;
  /** The first minute not judged yet (ISO 8601), null before the first step. */
  judgedUntil: string | null;
  minutes: TrackerStats & { lateRows: number; droppedRows: number };
}

/** The state of a process without webhooks. */
export function emptySlaAlertsState(): SlaAlertsState {
  return {
    webhooks: [],
    openIncidents: [],
    judgedUntil: null,
    minutes: {
      minutes: 0,
      lateMinutes: 0,
      earlyMinutes: 0,
      duplicateMinutes: 0,
      untracked: 0,
      started: 0,
      ended: 0,
      lateRows: 0,
      droppedRows: 0,
    },
  };
}

export interface SlaAlerts {
  /** 1-minute response-time deltas (other levels ignored): one box. */
  addDeltas(rows: readonly ResponseMinuteRow[]): void;
  /** Absolute 1-minute totals per link, as written to the store: scaled out. */
  putTotals(rows: readonly ResponseMinuteRow[]): void;
  /**
   * Judges the minutes that ended by `untilMs` (a minute boundary, never going back) and queues
   * the events; returns them (tests, logs).
   */
  judge(untilMs: number): IncidentEvent[];
  /**
   * `judge` in slices with the event loop turning between them (`flowtally run`, whose API and
   * inputs share the loop): the same events. Calls run one after the other, in call order.
   */
  judgeSliced(untilMs: number, options?: SliceOptions): Promise<IncidentEvent[]>;
  /**
   * Forgets the customers `which` names (their open incidents and minutes), without events:
   * scaled out, when their shard passes to another worker.
   */
  forget(which: (customer: string) => boolean): void;
  /** Open incidents of the customers `which` names (copies). */
  openIncidents(which: (customer: string) => boolean): LiveIncident[];
  /** Takes over open incidents tracked by another worker until now (scaled out). */
  adopt(incidents: readonly LiveIncident[]): void;
  /** A new config's levels, in force from `atMs` (webhooks change at the next start). */
  reload(cfg: Config, atMs: number): void;
  state(): SlaAlertsState;
  /** Reads the kept state and starts delivering. */
  start(): void;
  /** Waits up to `graceMs` for the deliveries, stops, and keeps what is left. */
  stop(graceMs: number): Promise<void>;
}

export interface SlaAlertsDeps {
  log: Logger;
  /** A customer's service type (the webhooks' `serviceTypes` scope). */
  serviceTypeOf(customer: string): string | undefined;
  now?: () => number;
  random?: () => number;
}

interface KeptState {
  version: number;
  tracker: TrackerState;
  deliveries: Delivery[];
}

export function createSlaAlerts(cfg: Config, deps: SlaAlertsDeps): SlaAlerts {
  const { log } = deps;
  const sums = new ClassMinuteSums();
  const tracker = new IncidentTracker();
  const levels = new ClassLevels();
  levels.update(cfg, Number.NEGATIVE_INFINITY);
  const sender: WebhookSender = createWebhookSender(cfg.sla.webhooks, {
    log,
    ...(deps.now === undefined ? {} : { now: deps.now }),
    ...(deps.random === undefined ? {} : { random: deps.random }),
  });
  const statePath = cfg.sla.statePath;
  let saving: Promise<void> = Promise.resolve();
  let saveQueued = false;
  let lastUntil = Number.NEGATIVE_INFINITY;
  /** The sliced judging under way (judgeSliced), or done. */
  let judging: Promise<unknown> = Promise.resolve();

  function kept(deliveries: Delivery[]): KeptState {
    return { version: STATE_VERSION, tracker: tracker.save(), deliveries };
  }

  const write = (state: KeptState) => writeText(JSON.stringify(state));

  async function writeText(text: string): Promise<void> {
    if (statePath === "") return;
    const tmp = `${statePath}.tmp`;
    try {
      await writeFile(tmp, text);
      await rename(tmp, statePath);
    } catch (e) {
      log.error({ err: e, path: statePath }, "SLA alerts: state not saved");
    }
  }

  /**
   * The kept state as JSON text, in steps (JSON.stringify(kept(...)) of tens of thousands of
   * incidents and deliveries would hold the loop for tens of ms): the same text.
   */
  function* keptText(deliveries: Delivery[]): Steps<string> {
    const t = yield* tracker.saveSteps();
    const parts: string[] = [];
    for (const list of [t.open, deliveries]) {
      const items: string[] = [];
      for (const x of list) {
        items.push(JSON.stringify(x));
        if (items.length % EVENTS_PER_STEP === 0) yield;
      }
      parts.push(`[${items.join(",")}]`);
    }
    return `{"version":${STATE_VERSION},"tracker":{"untilMs":${JSON.stringify(t.untilMs)},"open":${parts[0]}},"deliveries":${parts[1]}}`;
  }

  /** Saves the tracker (and the deliveries waiting) behind any save running, in slices. */
  function save(): void {
    if (statePath === "" || saveQueued) return;
    saveQueued = true;
    saving = saving.then(async () => {
      saveQueued = false;
      return writeText(await runStepsSliced(keptText(sender.pending())));
    });
  }

  /** The minute with the level in force then, in place (no copy of hundreds of thousands). */
  function minuteOf(c: ClassMinuteCount): ClassMinute {
    const level = levels.at(c.trafficClass, c.startMs);
    const m = c as ClassMinuteCount & {
      targetPercent: number | undefined;
      thresholdMs: number | undefined;
    };
    m.targetPercent = level?.targetPercent;
    m.thresholdMs = level?.thresholdMs;
    return m as ClassMinute;
  }

  /** Takes the complete minutes, judges them, and sends and logs the events, in steps. */
  function* judgeSteps(until: number): Steps<IncidentEvent[]> {
    const minutes = yield* sums.takeSteps(until);
    for (let i = 0; i < minutes.length; i++) {
      minuteOf(minutes[i]!);
      if ((i + 1) % STEP_ENTRIES === 0) yield;
    }
    const events = yield* tracker.judgeSteps(until, minutes as ClassMinute[]);
    let n = 0;
    for (const e of events) {
      log.info(
        {
          event: e.event,
          incident: e.incident.id,
          minutes: e.incident.minutes,
          ...(e.event === "incident.ended" ? { reason: e.reason } : {}),
        },
        e.event === "incident.started" ? "SLA incident started" : "SLA incident ended",
      );
      sender.send(e, deps.serviceTypeOf(e.incident.customer));
      if (++n % EVENTS_PER_STEP === 0) yield;
    }
    if (events.length > 0) save();
    return events;
  }

  const incidentView = (i: LiveIncident) => ({
    id: i.id,
    customer: i.customer,
    class: i.trafficClass,
    start: new Date(i.startMs).toISOString(),
    end: new Date(i.endMs).toISOString(),
    minutes: i.minutes,
  });

  return {
    addDeltas(rows) {
      sums.add(rows);
    },
    putTotals(rows) {
      sums.put(rows);
    },
    judge(untilMs) {
      const until = Math.floor(untilMs / MINUTE_MS) * MINUTE_MS;
      if (until <= lastUntil) return [];
      lastUntil = until;
      return runSteps(judgeSteps(until));
    },
    judgeSliced(untilMs, options) {
      const until = Math.floor(untilMs / MINUTE_MS) * MINUTE_MS;
      if (until <= lastUntil) return judging.then(() => []);
      lastUntil = until;
      const done = judging.then(() => runStepsSliced(judgeSteps(until), options));
      judging = done.catch(() => undefined);
      return done;
    },
    openIncidents(which) {
      return tracker.openIncidents().filter((i) => which(i.customer));
    },
    adopt(incidents) {
      if (tracker.adopt(incidents) > 0) save();
    },
    forget(which) {
      sums.forget(which);
      if (tracker.forget(which) > 0) save();
    },
    reload(next, atMs) {
      levels.update(next, atMs);
    },
    state() {
      const until = tracker.judgedUntilMs;
      return {
        webhooks: sender.state(),
        openIncidents: tracker.openIncidents().map(incidentView),
        judgedUntil: Number.isFinite(until) ? new Date(until).toISOString() : null,
        minutes: { ...tracker.stats, ...sums.stats },
      };
    },
    start() {
      if (statePath === "") return;
      let text: string;
      try {
        text = readFileSync(statePath, "utf8");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
          log.error(
            { err: e, path: statePath },
            "SLA alerts: kept state not read; starting afresh",
          );
        }
        return;
      }
      try {
        const state = JSON.parse(text) as KeptState;
        if (state.version !== STATE_VERSION) throw new Error(`version ${state.version}`);
        tracker.restore({
          untilMs: state.tracker.untilMs ?? Number.NEGATIVE_INFINITY,
          open: state.tracker.open,
        });
        if (Number.isFinite(tracker.judgedUntilMs)) {
          lastUntil = tracker.judgedUntilMs;
          sums.lateBefore(lastUntil);
        }
        sender.restore(state.deliveries);
        log.info(
          {
            path: statePath,
            openIncidents: state.tracker.open.length,
            deliveries: state.deliveries.length,
          },
          "SLA alerts: kept state read",
        );
      } catch (e) {
        log.error(
          { err: e, path: statePath },
          "SLA alerts: kept state unreadable; starting afresh",
        );
      }
    },
    async stop(graceMs) {
      await sender.drain(graceMs);
      const left = sender.stop();
      await saving;
      await write(kept(left));
      if (left.length > 0) {
        log.warn(
          { deliveries: left.length, path: statePath || "(not kept: sla.statePath is empty)" },
          "SLA alerts: deliveries not done at stop are kept for the next start",
        );
      }
    },
  };
}
