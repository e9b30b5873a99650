/**
 * What an alert webhook receives (docs/sla.md "Alerts"): the JSON body of an incident event and
 * its signature. The signature is HMAC-SHA256 with the webhook's secret over
 * `<timestamp>.<body>` (the timestamp in Unix seconds, also sent as X-Flowtally-Timestamp), sent
 * as `X-Flowtally-Signature: sha256=<hex>`; each attempt is signed anew with its own timestamp,
 * so a receiver can refuse old replays. Pure but for node:crypto's HMAC.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncidentEvent } from "../incident-tracker.js";

export const SIGNATURE_HEADER = "x-flowtally-signature";
export const TIMESTAMP_HEADER = "x-flowtally-timestamp";
export const DELIVERY_HEADER = "x-flowtally-delivery";
export const EVENT_HEADER = "x-flowtally-event";

export interface AlertBody {
  /** The delivery's id: the same on every attempt, and for the same event of the same incident. */
  id: string;
  event: IncidentEvent["event"];
  /** When this attempt was sent (ISO 8601). */
  sentAt: string;
  webhook: string;
  customer: string;
  class: string;
  incident: {
    id: string;
    start: string;
    /** The end of its last breach minute (so far, for `incident.started`). */
    end: string;
    minutes: number;
    worstMinute: string;
    /** Good / transactions of the worst minute, 0-1. */
    worstShare: number;
    transactions: number;
    good: number;
    /** `incident.ended` only: a compliant minute, a minute without data, or no row. */
    endReason?: string;
  };
  /** The service-level target in force (percent). */
  target: number;
  /** The class's total-delay threshold in force (ms). */
  threshold: number | null;
}

/** The delivery id of an event for a webhook: stable, so a receiver can drop repeats. */
export function deliveryId(webhook: string, e: IncidentEvent): string {
  return createHash("sha256")
    .update(`${webhook}\x1f${e.event}\x1f${e.incident.id}`)
    .digest("hex")
    .slice(0, 32);
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The body of `e` for `webhook`, sent at `sentAtMs`. */
export function alertBody(webhook: string, e: IncidentEvent, sentAtMs: number): AlertBody {
  const i = e.incident;
  return {
    id: deliveryId(webhook, e),
    event: e.event,
    sentAt: iso(sentAtMs),
    webhook,
    customer: i.customer,
    class: i.trafficClass,
    incident: {
      id: i.id,
      start: iso(i.startMs),
      end: iso(i.endMs),
      minutes: i.minutes,
      worstMinute: iso(i.worstMinuteMs),
      worstShare: i.worstShare,
      transactions: i.transactions,
      good: i.good,
      ...(e.event === "incident.ended" ? { endReason: e.reason } : {}),
    },
    target: i.targetPercent,
    threshold: i.thresholdMs ?? null,
  };
}

/** `sha256=<hex>` of HMAC-SHA256(secret, `${timestamp}.${body}`). */
export function signature(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/** Whether `header` is the signature of `body` at `timestamp` (constant time). */
export function verifySignature(
  secret: string,
  timestamp: number,
  body: string,
  header: string,
): boolean {
  const expected = Buffer.from(signature(secret, timestamp, body));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
