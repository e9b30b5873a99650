/**
 * The availability and credits parts of the SLA report (`GET /api/v1/customers/{id}/sla`,
 * docs/sla.md "Availability", "Credits"): per link, sla/availability.ts over the stored
 * link-status minutes and the declared outages; per billing period, sla/credits.ts over the
 * links' availability and the classes' compliant minutes. Pure.
 */
import type { LinkStatusRow } from "../schema/series-store.js";
import {
  type AvailabilityFigures,
  availability,
  type DeclaredPeriod,
  type MinuteStatus,
} from "../sla/availability.js";
import type { Billing } from "../sla/billing.js";
import { billingPeriod } from "../sla/commit-rate.js";
import { type Credits, credits } from "../sla/credits.js";
import { isoTime } from "./api/parameters.js";

/** A declared outage as the report reads it. */
export interface DeclaredOutage extends DeclaredPeriod {
  readonly site: string;
  readonly link: string;
}

/** The measured verdict per minute of stored 1-minute link-status rows: down wins over up. */
export function measuredOfRows(rows: readonly LinkStatusRow[]): Map<number, MinuteStatus> {
  const out = new Map<number, MinuteStatus>();
  for (const r of rows) {
    if (r.downMinutes > 0) out.set(r.startMs, "down");
    else if (r.upMinutes > 0 && !out.has(r.startMs)) out.set(r.startMs, "up");
  }
  return out;
}

/** One link's availability over [fromMs, toMs). */
export function linkAvailability(
  link: { site: string; link: string },
  rows: readonly LinkStatusRow[],
  declared: readonly DeclaredOutage[],
  range: { fromMs: number; toMs: number; nowMs: number },
  targetPercent: number | undefined,
): AvailabilityFigures {
  return availability(
    measuredOfRows(rows),
    declared.filter((d) => d.site === link.site && d.link === link.link),
    range.fromMs,
    range.toMs,
    range.nowMs,
    targetPercent,
  );
}

export type ReportCredits =
  | { credits: null; creditsNote?: string }
  | {
      credits: Credits & { from: string; to: string; final: boolean };
      creditsNote?: undefined;
    };

/**
 * The credits of the report's range when it is one whole billing period (from the billing day
 * to the same day of the next month: `period=`, or the same `from`/`to`); `final` once the
 * period is over. Another range gets none, with a note saying why; no `billing.credits`, none.
 */
export function reportCredits(
  billing: Billing,
  range: { fromMs: number; toMs: number; nowMs: number },
  links: ReadonlyArray<{ site: string; link: string; availability: AvailabilityFigures }>,
  classes: ReadonlyArray<{ class: string; compliantMinutes: number; breachMinutes: number }>,
): ReportCredits {
  if (billing.credits === undefined) return { credits: null };
  const period = billingPeriod(range.fromMs, billing.day);
  if (period.fromMs !== range.fromMs || period.toMs !== range.toMs) {
    return {
      credits: null,
      creditsNote: `credits are per billing period: ask for one (period=this-month, last-month or YYYY-MM; from the billing day ${billing.day})`,
    };
  }
  const c = credits(
    billing.credits,
    links.map((l) => ({
      site: l.site,
      link: l.link,
      share: {
        part: l.availability.upMinutes,
        whole: l.availability.upMinutes + l.availability.downMinutes,
      },
    })),
    classes.map((k) => ({
      class: k.class,
      share: { part: k.compliantMinutes, whole: k.compliantMinutes + k.breachMinutes },
    })),
    { monthlyFee: billing.monthlyFee, currency: billing.currency },
  );
  return {
    credits: {
      from: isoTime(range.fromMs),
      to: isoTime(range.toMs),
      final: range.nowMs >= range.toMs,
      ...c,
    },
  };
}
