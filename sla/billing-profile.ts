/**
 * Billing profiles are versioned (docs/sla.md "Profile versions"): a customer's effective billing
 * (sla/billing.ts: its own over its service type's) and each access link's commit rate, stored
 * with the moment they came into force, so that a report of a past period judges it by the values
 * in force then, not by today's. The first version known is in force from the beginning of time
 * (as class levels are); each later one from its `fromMs` until the next one's. Pure.
 *
 * Rules of a report over [fromMs, toMs) (query/sla-report.ts, query/sla-availability.ts):
 * - Commit rates (a link's, a bill's) per 5-minute window: a window is judged against the rate in
 *   force at its start (`windowsAbove`), and the range's percentile against the windows' rates
 *   averaged over the windows (prorated, as carriers bill a commit changed mid-month), rounded
 *   to whole bits/s; the same rate throughout gives that rate.
 * - Everything else (percentileOf, the billing day, the bills and their links, the availability
 *   target, credits, monthlyFee, currency) is one value for the range: the version in force at
 *   the range's last moment (toMs − 1), the terms the bill of the period is issued under.
 */
import type { Config } from "../schema/config.js";
import { type Billing, billingResolver } from "./billing.js";
import type { RateStep } from "./commit-rate.js";
import { versionsFrom } from "./profiles.js";

/** What a customer is billed by: its billing and its links' commit rates ("site/link" → bits/s). */
export interface BillingProfile {
  readonly billing: Billing;
  readonly commitRates: Readonly<Record<string, number>>;
}

/** One version of a customer's profile, in force from `fromMs`. */
export interface ProfileVersion {
  readonly fromMs: number;
  readonly profile: BillingProfile;
}

/** The versions of one customer's profile, oldest first, no two consecutive ones equal. */
export type ProfileHistory = readonly ProfileVersion[];

/** The profile as its stored text: JSON with keys sorted, so equal profiles give equal text. */
export function profileText(profile: BillingProfile): string {
  return JSON.stringify(sortedKeys(profile));
}

function sortedKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortedKeys);
  if (typeof v !== "object" || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) {
    const x = (v as Record<string, unknown>)[k];
    if (x !== undefined) out[k] = sortedKeys(x);
  }
  return out;
}

/** A customer's links as the config or the registry has them (customers[].sites[].links[]). */
type CustomerLinks = Pick<Config["customers"][number], "id" | "serviceType" | "sites">;

/**
 * Every customer's effective profile under a config (the registry's customers swapped in, with
 * registry.source: database), as stored text by customer id.
 */
export function configProfiles(
  cfg: Pick<Readonly<Config>, "customers" | "serviceTypes">,
): Map<string, string> {
  const resolve = billingResolver(cfg);
  const out = new Map<string, string>();
  for (const c of cfg.customers as readonly CustomerLinks[]) {
    out.set(c.id, profileText(customerProfile(resolve(c.id, c.serviceType), c)));
  }
  return out;
}

/** One customer's profile: its billing and the commit rates of its links. */
export function customerProfile(billing: Billing, customer: Pick<CustomerLinks, "sites">) {
  const commitRates: Record<string, number> = {};
  for (const s of customer.sites) {
    for (const l of s.links)
      if (l.commitRate !== undefined) commitRates[`${s.id}/${l.id}`] = l.commitRate;
  }
  return { billing, commitRates } satisfies BillingProfile;
}

/**
 * The history of stored versions (any order; text that does not parse as a profile is skipped and
 * counted): sorted by time, a version equal to the one before it dropped (so that processes
 * storing the same profile at different moments make one version, in force from the first).
 */
export function profileHistory(rows: ReadonlyArray<{ fromMs: number; profile: string }>): {
  history: ProfileHistory;
  unreadable: number;
} {
  const sorted = [...rows].sort((a, b) => a.fromMs - b.fromMs);
  const history: ProfileVersion[] = [];
  let unreadable = 0;
  let last: string | undefined;
  for (const r of sorted) {
    const profile = parseProfile(r.profile);
    if (profile === undefined) {
      unreadable++;
      continue;
    }
    const text = profileText(profile);
    if (text === last) continue;
    last = text;
    history.push({ fromMs: r.fromMs, profile });
  }
  return { history, unreadable };
}

function parseProfile(text: string): BillingProfile | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null) return undefined;
  const { billing, commitRates } = v as Record<string, unknown>;
  if (typeof billing !== "object" || billing === null) return undefined;
  if (typeof commitRates !== "object" || commitRates === null) return undefined;
  const b = billing as Partial<Billing>;
  if (typeof b.day !== "number" || typeof b.percentileOf !== "string" || !Array.isArray(b.bills)) {
    return undefined;
  }
  return v as BillingProfile;
}

/**
 * The version in force at `atMs`: the last one from at or before it; before the first, the first
 * (in force from the beginning of time). Undefined only for an empty history.
 */
export function profileAt(history: ProfileHistory, atMs: number): ProfileVersion | undefined {
  return history[Math.max(0, versionsFrom(history, atMs) - 1)];
}

/** The parts of [fromMs, toMs) with one version each, in order (none for an empty history). */
export function profilePeriods(
  history: ProfileHistory,
  fromMs: number,
  toMs: number,
): Array<{ fromMs: number; toMs: number; profile: BillingProfile }> {
  const out: Array<{ fromMs: number; toMs: number; profile: BillingProfile }> = [];
  const first = profileAt(history, fromMs);
  if (first === undefined || toMs <= fromMs) return out;
  let start = fromMs;
  let profile = first.profile;
  for (const v of history) {
    // The first version is also in force before its moment: no part ends there.
    if (v.fromMs <= fromMs || v === first) continue;
    if (v.fromMs >= toMs) break;
    out.push({ fromMs: start, toMs: v.fromMs, profile });
    start = v.fromMs;
    profile = v.profile;
  }
  out.push({ fromMs: start, toMs, profile });
  return out;
}

/**
 * A rate over the range's parts (`rateOf` picks it from each part's profile: a link's, a bill's),
 * equal neighbours merged.
 */
export function rateSteps(
  periods: ReadonlyArray<{ fromMs: number; toMs: number; profile: BillingProfile }>,
  rateOf: (p: BillingProfile) => number | undefined,
): RateStep[] {
  const out: RateStep[] = [];
  for (const p of periods) {
    const rate = rateOf(p.profile);
    const last = out[out.length - 1];
    if (last !== undefined && last.rate === rate) out[out.length - 1] = { ...last, toMs: p.toMs };
    else out.push({ fromMs: p.fromMs, toMs: p.toMs, rate });
  }
  return out;
}

/** A link's commit rate in a profile ("site/link"). */
export const linkRate =
  (site: string, link: string) =>
  (p: BillingProfile): number | undefined =>
    p.commitRates[`${site}/${link}`];

/** A bill's commit rate in a profile (by the bill's id). */
export const billRate =
  (id: string) =>
  (p: BillingProfile): number | undefined =>
    p.billing.bills.find((b) => b.id === id)?.commitRate;
