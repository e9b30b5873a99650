/**
 * Credits owed for one billing period's missed targets (docs/sla.md "Credits"): per link whose
 * availability share is below a tier, per class whose share of compliant minutes is; of each
 * list, the lowest tier reached applies (the one with the smallest `below` the share is under);
 * the percents add up, to at most `maxPercent`; with a monthly fee, an amount. A share of null
 * (no evidence) owes nothing. Comparisons in integers, like the targets. Pure.
 */
import type { CreditsConfig } from "../schema/config.js";

type Tier = CreditsConfig["availability"] extends (infer T)[] | undefined ? T : never;

/** A share as counts: `part` of `whole` (up of up + down minutes; compliant of judged minutes). */
export interface ShareCounts {
  readonly part: number;
  readonly whole: number;
}

export interface CreditItem {
  reason: "availability" | "serviceLevel";
  site?: string;
  link?: string;
  class?: string;
  /** The share (0–1) that missed, the tier's `below` (percent) and its credit (percent). */
  share: number;
  below: number;
  percent: number;
}

export interface Credits {
  /** Percent of the monthly fee, the items summed and capped at maxPercent. */
  percent: number;
  /** monthlyFee × percent / 100, rounded to cents; only with a monthly fee. */
  amount?: number;
  currency?: string;
  items: CreditItem[];
}

/** The tier a share falls in: the smallest `below` it is under; undefined when none. */
export function tierReached(share: ShareCounts, tiers: readonly Tier[]): Tier | undefined {
  if (share.whole === 0) return undefined;
  let best: Tier | undefined;
  for (const t of tiers) {
    const under = share.part * 100_000 < Math.round(t.below * 1000) * share.whole;
    if (under && (best === undefined || t.below < best.below)) best = t;
  }
  return best;
}

export function credits(
  config: CreditsConfig,
  links: ReadonlyArray<{ site: string; link: string; share: ShareCounts }>,
  classes: ReadonlyArray<{ class: string; share: ShareCounts }>,
  fee?: { monthlyFee?: number | undefined; currency?: string | undefined },
): Credits {
  const items: CreditItem[] = [];
  for (const l of links) {
    const t = tierReached(l.share, config.availability ?? []);
    if (t === undefined) continue;
    items.push({
      reason: "availability",
      site: l.site,
      link: l.link,
      share: l.share.part / l.share.whole,
      below: t.below,
      percent: t.percent,
    });
  }
  for (const c of classes) {
    const t = tierReached(c.share, config.serviceLevel ?? []);
    if (t === undefined) continue;
    items.push({
      reason: "serviceLevel",
      class: c.class,
      share: c.share.part / c.share.whole,
      below: t.below,
      percent: t.percent,
    });
  }
  // Thousandths of a percent, so that 0.1 + 0.2 adds to 0.3.
  const milli = items.reduce((sum, i) => sum + Math.round(i.percent * 1000), 0);
  const percent = Math.min(milli, Math.round(config.maxPercent * 1000)) / 1000;
  const out: Credits = { percent, items };
  if (fee?.monthlyFee !== undefined) {
    out.amount = Math.round(fee.monthlyFee * percent) / 100;
    if (fee.currency !== undefined) out.currency = fee.currency;
  }
  return out;
}
