/**
 * The incidents of the operators' breach list (`GET /api/v1/sla/breaches`, docs/sla.md) from the
 * store's breach minutes (schema/series-store.ts `SlaBreachMinutes`, read over every customer at
 * once): per (customer, class), its minutes judged by the level in force then and merged into
 * incidents (sla/compliance.ts `incidents`, as the customer's report does), with the level in
 * force at the end of the range (or the config's now). Pure.
 */
import type { SlaBreachMinute, SlaBreachMinutes } from "../schema/series-store.js";
import type { CurrentLevel } from "../sla/config-levels.js";
import { incidents } from "../sla/index.js";
import { isoTime } from "./api/parameters.js";

export type BreachIncident = {
  customer: string;
  class: string;
  threshold: number | null;
  target: number | null;
  start: string;
  end: string;
  minutes: number;
  worstMinute: string;
  worstShare: number;
};

/**
 * Every incident, by start; incidents starting together in the order of their customer and
 * class (`customer\0class` as text).
 */
export function breachIncidents(
  b: SlaBreachMinutes,
  levelNow: (trafficClass: string) => CurrentLevel | undefined,
): BreachIncident[] {
  const byPair = new Map<string, SlaBreachMinute[]>();
  for (const m of b.minutes) {
    const id = `${m.customer}\0${m.trafficClass}`;
    const list = byPair.get(id);
    if (list === undefined) byPair.set(id, [m]);
    else list.push(m);
  }
  const classes = b.classes
    .map((c) => ({ id: `${c.customer}\0${c.trafficClass}`, c }))
    .sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  const out: BreachIncident[] = [];
  for (const { id, c } of classes) {
    const minutes = (byPair.get(id) ?? []).sort((x, y) => x.startMs - y.startMs);
    const now = levelNow(c.trafficClass);
    const threshold = c.thresholdMs ?? now?.thresholdMs ?? null;
    const target = c.targetPercent ?? now?.targetPercent ?? null;
    const judged = minutes.map((m) => ({
      startMs: m.startMs,
      transactions: m.transactions,
      good: m.good,
      targetPercent: m.targetPercent,
    }));
    for (const i of incidents(judged)) {
      out.push({
        customer: c.customer,
        class: c.trafficClass,
        threshold,
        target,
        start: isoTime(i.startMs),
        end: isoTime(i.endMs),
        minutes: i.minutes,
        worstMinute: isoTime(i.worstMinuteMs),
        worstShare: i.worstShare,
      });
    }
  }
  // Stable: equal starts keep the pairs' order.
  return out.sort((x, y) => (x.start === y.start ? 0 : x.start < y.start ? -1 : 1));
}
