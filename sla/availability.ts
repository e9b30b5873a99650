/**
 * A link's availability, minute by minute (docs/sla.md "Availability"), from two sources:
 * measured, the interface status (ifOperStatus) of its sFlow counter samples, and declared, the
 * outages and maintenance windows operators record. Pure: samples, declarations and the range in;
 * verdicts and sums out.
 *
 * - A status sample holds from its time until the next sample of the link, for at most
 *   `staleAfterMs`. A minute some "down" status covers (even partly) is **down**; else one some
 *   "up" status covers is **up**; else it is **unknown** (no valid status).
 * - Declared: a minute a maintenance window touches is **maintenance** (left out of the share);
 *   else one a declared outage touches is **down**, whatever was measured; else the measured
 *   verdict stands.
 * - share = up / (up + down); null when no minute has evidence (never 100 % by default).
 */

export const MINUTE_MS = 60_000;

export interface StatusSample {
  readonly timeMs: number;
  readonly operUp: boolean;
}

export type MinuteStatus = "up" | "down";

/** The measured minutes of one link: up or down per minute start; minutes left out are unknown. */
export type MeasuredMinutes = ReadonlyMap<number, MinuteStatus>;

/**
 * The measured verdict of each whole minute of [fromMs, toMs) that a status covers. `samples`
 * sorted by time; a sample before `fromMs` still carries into it (within `staleAfterMs`).
 */
export function measuredMinutes(
  samples: readonly StatusSample[],
  fromMs: number,
  toMs: number,
  staleAfterMs: number,
): Map<number, MinuteStatus> {
  const out = new Map<number, MinuteStatus>();
  const first = Math.ceil(fromMs / MINUTE_MS) * MINUTE_MS;
  const end = Math.floor(toMs / MINUTE_MS) * MINUTE_MS;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    const next = samples[i + 1];
    // [s.timeMs, until): what this sample covers.
    const until = Math.min(s.timeMs + staleAfterMs, next?.timeMs ?? Number.POSITIVE_INFINITY);
    if (until <= s.timeMs) continue;
    const lo = Math.max(first, Math.floor(s.timeMs / MINUTE_MS) * MINUTE_MS);
    const hi = Math.min(end, until);
    for (let m = lo; m < hi; m += MINUTE_MS) {
      if (!s.operUp) out.set(m, "down");
      else if (!out.has(m)) out.set(m, "up");
    }
  }
  return out;
}

export interface DeclaredPeriod {
  readonly kind: "outage" | "maintenance";
  readonly startMs: number;
  /** Undefined: still going on (until the report's `nowMs`). */
  readonly endMs?: number | undefined;
}

export interface AvailabilityFigures {
  /** The target in force (percent), or null. */
  target: number | null;
  /** Whole minutes of the range. */
  minutes: number;
  upMinutes: number;
  downMinutes: number;
  /** Minutes outside maintenance without any evidence (no valid status, no declared outage). */
  unknownMinutes: number;
  maintenanceMinutes: number;
  /** up / (up + down), 0–1; null when no minute has evidence. */
  share: number | null;
  /** share ≥ target (integer comparison); null without a target or a share. */
  met: boolean | null;
  /** Where the verdicts came from: measured minutes (up or down) and declared outage minutes. */
  sources: { measuredMinutes: number; declaredOutageMinutes: number };
}

/**
 * A link's figures over the whole minutes of [fromMs, toMs): maintenance first, then declared
 * outages, then the measured minutes. A declaration without an end runs until `nowMs`.
 */
export function availability(
  measured: MeasuredMinutes,
  declared: readonly DeclaredPeriod[],
  fromMs: number,
  toMs: number,
  nowMs: number,
  targetPercent: number | undefined,
): AvailabilityFigures {
  const first = Math.ceil(fromMs / MINUTE_MS) * MINUTE_MS;
  const end = Math.floor(toMs / MINUTE_MS) * MINUTE_MS;
  const minutes = Math.max(0, (end - first) / MINUTE_MS);
  const maintenance = touchedMinutes(declared, "maintenance", first, end, nowMs);
  const outage = touchedMinutes(declared, "outage", first, end, nowMs);
  let up = 0;
  let down = 0;
  let measuredCount = 0;
  let declaredCount = 0;
  for (const m of outage) {
    if (maintenance.has(m)) continue;
    down++;
    declaredCount++;
  }
  for (const [m, status] of measured) {
    if (m < first || m >= end || maintenance.has(m) || outage.has(m)) continue;
    measuredCount++;
    if (status === "up") up++;
    else down++;
  }
  const judged = up + down;
  const share = judged === 0 ? null : up / judged;
  return {
    target: targetPercent ?? null,
    minutes,
    upMinutes: up,
    downMinutes: down,
    unknownMinutes: minutes - maintenance.size - judged,
    maintenanceMinutes: maintenance.size,
    share,
    met: share === null || targetPercent === undefined ? null : reaches(up, judged, targetPercent),
    sources: { measuredMinutes: measuredCount, declaredOutageMinutes: declaredCount },
  };
}

/** part / whole ≥ percent, in integers (percent has at most three decimals). */
export function reaches(part: number, whole: number, percent: number): boolean {
  return part * 100_000 >= Math.round(percent * 1000) * whole;
}

/** The minute starts in [first, end) that a declaration of `kind` touches (even partly). */
function touchedMinutes(
  declared: readonly DeclaredPeriod[],
  kind: DeclaredPeriod["kind"],
  first: number,
  end: number,
  nowMs: number,
): Set<number> {
  const out = new Set<number>();
  for (const d of declared) {
    if (d.kind !== kind) continue;
    const stop = Math.min(end, d.endMs ?? Math.max(nowMs, d.startMs));
    const lo = Math.max(first, Math.floor(d.startMs / MINUTE_MS) * MINUTE_MS);
    for (let m = lo; m < stop; m += MINUTE_MS) out.add(m);
  }
  return out;
}
