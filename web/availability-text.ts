/**
 * A link's availability and the credits owed, in words a customer reads at a glance, with the
 * figures of the SLA report (`GET /api/v1/customers/{id}/sla`: links[].availability, credits):
 * the portal's SLA status and the console's customer page. Pure.
 */
import type { AvailabilityFigures } from "../sla/availability.js";
import type { Credits } from "../sla/credits.js";
import { type Html, html } from "./html.js";
import { shownTime } from "./period.js";

/** The report's `credits` (one whole billing period). */
export type ReportCredits = Credits & { from: string; to: string; final: boolean };

/**
 * An availability share as a percentage with up to three decimals, rounded down (99.9996 % is
 * not 100 %): the precision of the targets.
 */
export function availabilityPercent(share: number): string {
  return `${Math.floor(share * 100_000 + 1e-6) / 1000} %`;
}

/** "Fiber: available 99.95 % of the time…, meets the 99.9 % target" — or not measured. */
export function availabilitySentence(name: Html, a: AvailabilityFigures): Html {
  if (a.share === null) {
    return html`${name}: availability not measured yet in this billing period (no interface status and no declared outage).`;
  }
  const verdict =
    a.target === null
      ? html` (no availability target)`
      : a.met === true
        ? html`, <span class="ok">meeting</span> the ${a.target} % target`
        : html`, <span class="bad">below</span> the ${a.target} % target`;
  return html`${name}: up <strong data-availability>${availabilityPercent(a.share)}</strong> of the time in this billing period${verdict}.`;
}

export function availabilityDetails(a: AvailabilityFigures): Html {
  const parts = [`${a.upMinutes} minutes up`, `${a.downMinutes} down`];
  if (a.unknownMinutes > 0) parts.push(`${a.unknownMinutes} without information (not counted)`);
  if (a.maintenanceMinutes > 0) parts.push(`${a.maintenanceMinutes} of maintenance (not counted)`);
  return html`<span class="muted" data-availability-minutes>${parts.join(", ")}.</span>`;
}

/** The credits owed for the billing period, and that they only exist for a whole one. */
export function creditsSentence(c: ReportCredits): Html {
  const shownDate = (iso: string) => shownTime(Date.parse(iso));
  const amount =
    c.amount === undefined
      ? ""
      : ` (${c.amount.toFixed(2)}${c.currency === undefined ? "" : ` ${c.currency}`})`;
  const owed =
    c.percent === 0
      ? html`No credits owed${c.final ? "" : " so far"} for this billing period.`
      : html`Credits owed${c.final ? "" : " so far"}: <strong data-credits>${c.percent} %</strong> of the monthly fee${amount}.`;
  const note = c.final
    ? html``
    : html` Credits are only owed for a whole billing period: the figure is final when it ends, ${shownDate(c.to)} UTC.`;
  return html`<p class="sla-credits">${owed}${note}</p>`;
}
