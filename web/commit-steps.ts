/**
 * The commit-rate line of a traffic graph: the scope's commit rate (a link's, or the sum of the
 * scope's links') through the graph's range, as the customer's profile versions had it
 * (query/api/sla-endpoints.ts `profileHistory`, cut into parts by sla/billing-profile.ts
 * `profilePeriods` and `rateSteps`): a past range shows the rates in force then, and a change
 * inside the range makes a step. Pure: the page renders the steps into the figure
 * (`data-commit-steps`), the script draws them (web/static/console.js).
 */
import { formatBitRate } from "../schema/units.js";
import {
  type BillingProfile,
  type ProfileHistory,
  profilePeriods,
  rateSteps,
} from "../sla/billing-profile.js";

/** The part of a customer a graph shows: every link, a site's, or one link. */
export interface CommitScope {
  site?: string | undefined;
  link?: string | undefined;
}

/**
 * From each moment on (ms), the scope's commit rate in bits/s, or null where none of its links
 * had one; in time order, equal neighbours merged.
 */
export type CommitSteps = ReadonlyArray<readonly [fromMs: number, bps: number | null]>;

/** The scope's commit rate in a profile: its links' summed (undefined: none has one). */
const scopeRate =
  (scope: CommitScope) =>
  (p: BillingProfile): number | undefined => {
    let sum: number | undefined;
    for (const [key, bps] of Object.entries(p.commitRates)) {
      // "site/link": ids never hold a "/" (docs/api.md, the id character set).
      const slash = key.indexOf("/");
      if (scope.site !== undefined && key.slice(0, slash) !== scope.site) continue;
      if (scope.link !== undefined && key.slice(slash + 1) !== scope.link) continue;
      sum = (sum ?? 0) + bps;
    }
    return sum;
  };

/** The scope's commit rate through [range.fromMs, range.toMs), as the profile versions had it. */
export function commitSteps(
  history: ProfileHistory,
  range: { fromMs: number; toMs: number },
  scope: CommitScope,
): CommitSteps {
  return rateSteps(profilePeriods(history, range.fromMs, range.toMs), scopeRate(scope)).map(
    (s) => [s.fromMs, s.rate ?? null] as const,
  );
}
/** Whether any part of the range has a commit rate (else the graph draws no line). */
export function hasCommitRate(steps: CommitSteps): boolean {
  return steps.some(([, bps]) => bps !== null);
}

/**
 * The caption's words: "commit rate 10.0 Mbit/s", or its values in order when it changed inside
 * the range ("commit rate 10.0 Mbit/s → 20.0 Mbit/s"; "none" where unset), at most four.
 */
export function commitCaption(steps: CommitSteps): string {
  const shown = steps.map(([, bps]) => (bps === null ? "none" : formatBitRate(bps)));
  const values = shown.length > 4 ? [shown[0]!, "…", shown[shown.length - 1]!] : shown;
  return `commit rate ${values.join(" → ")}`;
}
