/**
 * Delivers incident events to the configured webhooks (`sla.webhooks`), never blocking the
 * pipeline: `send` only appends to a bounded queue per webhook and returns; each webhook's queue
 * is worked by one loop that POSTs its oldest delivery (so a webhook gets an incident's start
 * before its end), retries with exponential backoff and jitter until `maxAttempts`, then marks
 * the delivery failed and goes on. A full queue drops the new delivery (counted, logged at most
 * once a minute). What was delivered, failed, dropped and is waiting is `state()` (the operator
 * route `GET /api/v1/sla/webhooks`) and the metrics. Deliveries not done at `stop` are returned,
 * for the caller to keep until the next start (`restore`).
 */
import type { Logger } from "pino";
import type { SlaWebhookConfig } from "../../schema/config.js";
import { redactUrl } from "../../schema/secrets.js";
import type { IncidentEvent } from "../incident-tracker.js";
import {
  alertBody,
  DELIVERY_HEADER,
  deliveryId,
  EVENT_HEADER,
  SIGNATURE_HEADER,
  signature,
  TIMESTAMP_HEADER,
} from "./alert-body.js";

/** The longest wait between two attempts. */
const MAX_RETRY_DELAY_MS = 600_000;
/** Finished deliveries listed per webhook. */
const RECENT = 20;
const DROP_LOG_MS = 60_000;

export interface Delivery {
  id: string;
  webhook: string;
  event: IncidentEvent;
  /** Attempts made. */
  attempts: number;
  createdMs: number;
  /** When the next attempt may be made. */
  nextAttemptMs: number;
  lastAttemptMs?: number;
  /** The last attempt's HTTP status, or its error (timeout, refused). */
  lastStatus?: number;
  lastError?: string;
  state: "pending" | "delivered" | "failed";
}

export interface WebhookCounters {
  /** Deliveries that got a 2xx. */
  delivered: number;
  /** Deliveries given up after maxAttempts. */
  failed: number;
  /** Deliveries not queued because maxPending were waiting. */
  dropped: number;
  /** Attempts made (the first ones and the retries). */
  attempts: number;
  /** Attempts that did not get a 2xx. */
  failedAttempts: number;
}

export interface DeliveryView {
  id: string;
  event: string;
  customer: string;
  class: string;
  incident: string;
  state: Delivery["state"];
  attempts: number;
  createdAt: string;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
}

export interface WebhookState extends WebhookCounters {
  name: string;
  /** Its password, if any, as "***". */
  url: string;
  pending: number;
  /** The waiting deliveries (oldest first, at most 20) and the last finished ones (newest first). */
  pendingDeliveries: DeliveryView[];
  lastDeliveries: DeliveryView[];
}

export interface WebhookSender {
  /** Queues `e` for every webhook whose scope it is in; never blocks, never throws. */
  send(e: IncidentEvent, serviceType: string | undefined): void;
  /** Deliveries kept from an earlier run (for webhooks still configured; the others are logged). */
  restore(deliveries: readonly Delivery[]): void;
  /** Copies of the deliveries waiting (to keep them). */
  pending(): Delivery[];
  /** Each webhook's counters and deliveries. */
  state(): WebhookState[];
  /** Resolves once every queue is empty, or after `ms`. */
  drain(ms: number): Promise<void>;
  /** Stops the loops (an attempt in flight is aborted) and returns what was not done. */
  stop(): Delivery[];
}

interface Hook {
  cfg: SlaWebhookConfig;
  queue: Delivery[];
  recent: Delivery[];
  counters: WebhookCounters;
  busy: boolean;
  timer: NodeJS.Timeout | undefined;
  abort: AbortController | undefined;
  lastDropLog: number;
}

export interface WebhookSenderDeps {
  log: Logger;
  now?: () => number;
  /** [0, 1): the jitter. */
  random?: () => number;
}

/** Whether `e` is in the webhook's scope. */
export function inScope(
  w: Pick<SlaWebhookConfig, "classes" | "customers" | "serviceTypes">,
  e: IncidentEvent,
  serviceType: string | undefined,
): boolean {
  if (w.classes !== undefined && !w.classes.includes(e.incident.trafficClass)) return false;
  if (w.customers !== undefined && !w.customers.includes(e.incident.customer)) return false;
  if (
    w.serviceTypes !== undefined &&
    (serviceType === undefined || !w.serviceTypes.includes(serviceType))
  ) {
    return false;
  }
  return true;
}

/** The wait after `attempts` failed attempts: retryDelayMs × 2^(attempts-1), capped, × [0.5, 1). */
export function retryDelay(retryDelayMs: number, attempts: number, random: number): number {
  const base = Math.min(MAX_RETRY_DELAY_MS, retryDelayMs * 2 ** Math.min(30, attempts - 1));
  return Math.round(base * (0.5 + random / 2));
}

/** fetch refuses URLs with credentials: they go in an Authorization header instead. */
function target(url: string): { url: string; authorization?: string } {
  const u = new URL(url);
  if (u.username === "" && u.password === "") return { url };
  const authorization = `Basic ${Buffer.from(
    `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`,
  ).toString("base64")}`;
  u.username = "";
  u.password = "";
  return { url: u.toString(), authorization };
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

function view(d: Delivery): DeliveryView {
  return {
    id: d.id,
    event: d.event.event,
    customer: d.event.incident.customer,
    class: d.event.incident.trafficClass,
    incident: d.event.incident.id,
    state: d.state,
    attempts: d.attempts,
    createdAt: new Date(d.createdMs).toISOString(),
    lastAttemptAt: iso(d.lastAttemptMs),
    nextAttemptAt: d.state === "pending" ? iso(d.nextAttemptMs) : null,
    lastStatus: d.lastStatus ?? null,
    lastError: d.lastError ?? null,
  };
}

export function createWebhookSender(
  webhooks: readonly SlaWebhookConfig[],
  deps: WebhookSenderDeps,
): WebhookSender {
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const { log } = deps;
  const hooks = new Map<string, Hook>();
  for (const cfg of webhooks) {
    hooks.set(cfg.name, {
      cfg,
      queue: [],
      recent: [],
      counters: { delivered: 0, failed: 0, dropped: 0, attempts: 0, failedAttempts: 0 },
      busy: false,
      timer: undefined,
      abort: undefined,
      lastDropLog: Number.NEGATIVE_INFINITY,
    });
  }
  let stopped = false;
  let drained: Array<() => void> = [];

  function idle(): boolean {
    for (const h of hooks.values()) if (h.queue.length > 0) return false;
    return true;
  }
  function checkDrained(): void {
    if (!idle()) return;
    const waiting = drained;
    drained = [];
    for (const f of waiting) f();
  }

  function enqueue(h: Hook, d: Delivery): void {
    if (h.queue.length >= h.cfg.maxPending) {
      h.counters.dropped++;
      const t = now();
      if (t - h.lastDropLog >= DROP_LOG_MS) {
        h.lastDropLog = t;
        log.error(
          { webhook: h.cfg.name, pending: h.queue.length, dropped: h.counters.dropped },
          "SLA webhook: too many deliveries waiting (maxPending); new ones are dropped",
        );
      }
      return;
    }
    h.queue.push(d);
    pump(h);
  }

  function finish(h: Hook, d: Delivery, state: "delivered" | "failed"): void {
    d.state = state;
    h.queue.shift();
    h.recent.unshift(d);
    if (h.recent.length > RECENT) h.recent.length = RECENT;
    if (state === "delivered") h.counters.delivered++;
    else {
      h.counters.failed++;
      log.warn(
        {
          webhook: h.cfg.name,
          delivery: d.id,
          event: d.event.event,
          incident: d.event.incident.id,
          attempts: d.attempts,
          lastStatus: d.lastStatus,
          lastError: d.lastError,
        },
        "SLA webhook: delivery failed after its last attempt",
      );
    }
  }

  function pump(h: Hook): void {
    if (stopped || h.busy || h.timer !== undefined) return;
    const d = h.queue[0];
    if (d === undefined) {
      checkDrained();
      return;
    }
    const wait = d.nextAttemptMs - now();
    if (wait > 0) {
      h.timer = setTimeout(() => {
        h.timer = undefined;
        pump(h);
      }, wait);
      h.timer.unref();
      return;
    }
    h.busy = true;
    attempt(h, d).finally(() => {
      h.busy = false;
      h.abort = undefined;
      pump(h);
    });
  }

  async function attempt(h: Hook, d: Delivery): Promise<void> {
    const t = now();
    d.attempts++;
    d.lastAttemptMs = t;
    h.counters.attempts++;
    const body = JSON.stringify(alertBody(h.cfg.name, d.event, t));
    const timestamp = Math.floor(t / 1000);
    const to = target(h.cfg.url);
    const abort = new AbortController();
    h.abort = abort;
    const timer = setTimeout(() => abort.abort(new Error("timeout")), h.cfg.timeoutMs);
    let ok = false;
    try {
      const res = await fetch(to.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "flowtally-sla-alerts",
          [TIMESTAMP_HEADER]: String(timestamp),
          [SIGNATURE_HEADER]: signature(h.cfg.secret, timestamp, body),
          [DELIVERY_HEADER]: d.id,
          [EVENT_HEADER]: d.event.event,
          ...(to.authorization === undefined ? {} : { authorization: to.authorization }),
        },
        body,
        redirect: "manual",
        signal: abort.signal,
      });
      // Read (and drop) the answer, so the connection is free again.
      await res.arrayBuffer().catch(() => undefined);
      d.lastStatus = res.status;
      delete d.lastError;
      ok = res.status >= 200 && res.status < 300;
    } catch (e) {
      delete d.lastStatus;
      const reason = abort.signal.aborted ? abort.signal.reason : e;
      d.lastError =
        reason instanceof Error
          ? ((reason.cause as Error | undefined)?.message ?? reason.message)
          : String(reason);
    } finally {
      clearTimeout(timer);
    }
    if (stopped) return;
    if (ok) {
      finish(h, d, "delivered");
      return;
    }
    h.counters.failedAttempts++;
    if (d.attempts >= h.cfg.maxAttempts) {
      finish(h, d, "failed");
      return;
    }
    d.nextAttemptMs = now() + retryDelay(h.cfg.retryDelayMs, d.attempts, random());
  }

  return {
    send(e, serviceType) {
      try {
        for (const h of hooks.values()) {
          if (!inScope(h.cfg, e, serviceType)) continue;
          const t = now();
          enqueue(h, {
            id: deliveryId(h.cfg.name, e),
            webhook: h.cfg.name,
            event: e,
            attempts: 0,
            createdMs: t,
            nextAttemptMs: t,
            state: "pending",
          });
        }
      } catch (err) {
        log.error({ err }, "SLA webhook: event not queued");
      }
    },
    restore(deliveries) {
      let unknown = 0;
      for (const d of deliveries) {
        const h = hooks.get(d.webhook);
        if (h === undefined) {
          unknown++;
          continue;
        }
        enqueue(h, { ...d, state: "pending", nextAttemptMs: Math.min(d.nextAttemptMs, now()) });
      }
      if (unknown > 0) {
        log.warn(
          { deliveries: unknown },
          "SLA webhook: deliveries kept for webhooks no longer configured are dropped",
        );
      }
    },
    pending() {
      const out: Delivery[] = [];
      for (const h of hooks.values()) out.push(...h.queue.map((d) => ({ ...d })));
      return out;
    },
    state() {
      return [...hooks.values()].map((h) => ({
        name: h.cfg.name,
        url: redactUrl(h.cfg.url),
        pending: h.queue.length,
        ...h.counters,
        pendingDeliveries: h.queue.slice(0, RECENT).map(view),
        lastDeliveries: h.recent.map(view),
      }));
    },
    drain(ms) {
      if (idle()) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        drained.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
    stop() {
      stopped = true;
      const left: Delivery[] = [];
      for (const h of hooks.values()) {
        clearTimeout(h.timer);
        h.timer = undefined;
        h.abort?.abort(new Error("stopped"));
        left.push(...h.queue.map((d) => ({ ...d })));
      }
      const waiting = drained;
      drained = [];
      for (const f of waiting) f();
      return left;
    },
  };
}
