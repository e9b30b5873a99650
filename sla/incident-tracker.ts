/**
 * Live incidents for alerts: fed the complete minutes of each (customer, class) (the customer's
 * links summed per minute, as the SLA report sums them), it says when an incident starts and when
 * it ends, by the rules of docs/sla.md: consecutive breach minutes are one incident; a compliant
 * minute, a minute without transactions (or without a target) and a minute without a row end it.
 *
 * Minutes come in steps: `judge(untilMs, minutes)` gets every complete minute of
 * [previous until, untilMs), in any order; they are judged in time order (then by customer and
 * class, so the events of one step come out in one order whatever the input's). A minute before
 * the previous step's `untilMs` is late and ignored (counted): it was judged already, as no data
 * if it had no row. A second row of the same (customer, class, minute) in a step (the minute sums
 * never give one) is a duplicate: of the rows that concern an incident (its key has one open or
 * a breach in the step), the first given is kept and the others counted. After the minutes, an open incident whose next minute is complete
 * and had no row ends there.
 *
 * The state is the open incidents only (at most `maxOpen`: beyond, a new incident is not tracked
 * and counted), so it stays bounded whatever the number of customers and classes; it can be
 * saved and restored (`save`, `restore`) to survive a restart. Pure: no clock, no I/O.
 */
import { runSteps, type Steps } from "../collector/classify/steps.js";
import { judgeMinute } from "./compliance.js";
import { sortSteps } from "./sort-steps.js";

const MINUTE_MS = 60_000;
/** Minutes walked between two yields of `judgeSteps` (well under a millisecond each). */
export const STEP_MINUTES = 2048;
/** Runs sorted at once by the engine in `sortSteps` (16 384 minutes: ~3 ms), then merged. */
const SORT_RUN = 16_384;

/** One complete minute of one customer's class, with the level in force then. */
export interface ClassMinute {
  readonly customer: string;
  readonly trafficClass: string;
  readonly startMs: number;
  readonly transactions: number;
  readonly good: number;
  /** Percent (three decimals); undefined: no target in force, the minute is no data. */
  readonly targetPercent: number | undefined;
  /** The class's total-delay threshold in force then (ms). */
  readonly thresholdMs: number | undefined;
}

/** An incident as alerts describe it. */
export interface LiveIncident {
  /** `customer/class/start ISO`: the same incident always has the same id. */
  id: string;
  customer: string;
  trafficClass: string;
  startMs: number;
  /** The end of its last breach minute so far (exclusive). */
  endMs: number;
  minutes: number;
  /** The minute with the lowest share of good transactions (the first of equals). */
  worstMinuteMs: number;
  worstShare: number;
  /** Summed over its minutes. */
  transactions: number;
  good: number;
  /** The target and threshold in force at its last minute. */
  targetPercent: number;
  thresholdMs: number | undefined;
}

/** Why an incident ended: a compliant minute, a minute without data, or no row for it. */
export type EndReason = "compliant" | "no-data" | "no-row";

export type IncidentEvent =
  | { event: "incident.started"; incident: LiveIncident }
  | { event: "incident.ended"; incident: LiveIncident; reason: EndReason };

export interface TrackerStats {
  /** Minutes judged. */
  minutes: number;
  /** Minutes before the last step's end, ignored. */
  lateMinutes: number;
  /** Minutes not complete at the step's `untilMs`, ignored. */
  earlyMinutes: number;
  /** Second rows of one (customer, class, minute) in a step, ignored. */
  duplicateMinutes: number;
  /** Incidents not tracked because `maxOpen` were open. */
  untracked: number;
  started: number;
  ended: number;
}

/** What `save` gives and `restore` takes (JSON). */
export interface TrackerState {
  untilMs: number;
  open: LiveIncident[];
}

const keyOf = (customer: string, trafficClass: string) => `${customer}\x1f${trafficClass}`;

/** The last minute's ISO time: the incidents of one step mostly start in the same minute. */
let isoMinute = { ms: Number.NaN, iso: "" };

export const incidentId = (customer: string, trafficClass: string, startMs: number): string => {
  if (startMs !== isoMinute.ms) isoMinute = { ms: startMs, iso: new Date(startMs).toISOString() };
  return `${customer}/${trafficClass}/${isoMinute.iso}`;
};

export class IncidentTracker {
  private readonly open = new Map<string, LiveIncident>();
  private untilMs = Number.NEGATIVE_INFINITY;
  private readonly maxOpen: number;
  readonly stats: TrackerStats = {
    minutes: 0,
    lateMinutes: 0,
    earlyMinutes: 0,
    duplicateMinutes: 0,
    untracked: 0,
    started: 0,
    ended: 0,
  };

  constructor(options: { maxOpen?: number } = {}) {
    this.maxOpen = options.maxOpen ?? 100_000;
  }

  /** Where the last step ended: minutes before it are late. */
  get judgedUntilMs(): number {
    return this.untilMs;
  }

  /** The open incidents (copies), oldest first. */
  openIncidents(): LiveIncident[] {
    return [...this.open.values()]
      .map((i) => ({ ...i }))
      .sort((a, b) => a.startMs - b.startMs || a.id.localeCompare(b.id));
  }

  /**
   * Judges the complete minutes of [previous until, `untilMs`) (whole minutes: `untilMs` is a
   * minute boundary) and returns the events, in time order.
   */
  judge(untilMs: number, minutes: readonly ClassMinute[]): IncidentEvent[] {
    return runSteps(this.judgeSteps(untilMs, minutes));
  }

  /**
   * `judge` in steps of about STEP_MINUTES minutes (collector/classify/steps.ts: `flowtally run`
   * lets its loop turn between them); the same events. The tracker must not be given another
   * step, adopt or forget before these steps are done.
   */
  *judgeSteps(untilMs: number, minutes: readonly ClassMinute[]): Steps<IncidentEvent[]> {
    const events: IncidentEvent[] = [];
    let n = 0;
    // Only minutes that can start, extend or end an incident are sorted and walked: breach
    // minutes, and the others of keys open now or with a breach in this step. The rest (most
    // minutes: compliant, of keys without an incident) are counted and left, so a step over
    // hundreds of thousands of minutes costs little more than one pass.
    const complete: ClassMinute[] = [];
    const breaching = new Set<string>();
    // The customers of those keys: most minutes are told apart by their customer alone, without
    // building their key.
    const concerned = new Set<string>();
    for (const i of this.open.values()) {
      concerned.add(i.customer);
      if (++n % STEP_MINUTES === 0) yield;
    }
    // The passes over every minute run in plain methods, STEP_MINUTES at a time (a loop inside
    // a generator runs slower).
    for (let at = 0; at < minutes.length; at += STEP_MINUTES) {
      this.sortOut(minutes, at, untilMs, { complete, breaching, concerned });
      yield;
    }
    const fresh: ClassMinute[] = [];
    const seen = new Set<string>();
    for (let at = 0; at < complete.length; at += STEP_MINUTES) {
      this.pickConcerned(complete, at, { concerned, breaching, seen, fresh });
      yield;
    }
    const sorted = yield* sortSteps(
      fresh,
      (a, b) =>
        a.startMs - b.startMs ||
        (a.customer < b.customer ? -1 : a.customer > b.customer ? 1 : 0) ||
        (a.trafficClass < b.trafficClass ? -1 : a.trafficClass > b.trafficClass ? 1 : 0),
      SORT_RUN,
    );
    // Incidents whose next minute passed without a row end at their last minute's end; done
    // minute by minute (after that minute's rows) so that events stay in time order.
    const openNow = this.open;
    const end = (i: LiveIncident, reason: EndReason) => this.end(i, reason, events);
    function* endMissing(beforeMs: number): Steps<void> {
      const due: LiveIncident[] = [];
      for (const i of openNow.values()) {
        if (i.endMs + MINUTE_MS <= beforeMs) due.push(i);
        if (++n % STEP_MINUTES === 0) yield;
      }
      const ordered = yield* sortSteps(
        due,
        (a, b) => a.endMs - b.endMs || (a.id < b.id ? -1 : 1),
        STEP_MINUTES,
      );
      for (const i of ordered) {
        end(i, "no-row");
        if (++n % STEP_MINUTES === 0) yield;
      }
    }
    let group = Number.NaN;
    for (const m of sorted) {
      if (++n % STEP_MINUTES === 0) yield;
      this.stats.minutes++;
      if (m.startMs !== group) {
        // The minutes before this one are done: an incident that missed one ended there.
        yield* endMissing(m.startMs);
        group = m.startMs;
      }
      const key = keyOf(m.customer, m.trafficClass);
      const open = this.open.get(key);
      if (open !== undefined && m.startMs < open.endMs) {
        // Judged already where the incident was tracked before (adopted): late here.
        this.stats.lateMinutes++;
        this.stats.minutes--;
        continue;
      }
      const verdict = judgeMinute(m.transactions, m.good, m.targetPercent);
      if (verdict !== "breach") {
        if (open !== undefined)
          this.end(open, verdict === "compliant" ? "compliant" : "no-data", events);
        continue;
      }
      const share = m.good / m.transactions;
      if (open !== undefined && open.endMs === m.startMs) {
        open.endMs = m.startMs + MINUTE_MS;
        open.minutes++;
        open.transactions += m.transactions;
        open.good += m.good;
        open.targetPercent = m.targetPercent as number;
        open.thresholdMs = m.thresholdMs;
        if (share < open.worstShare) {
          open.worstShare = share;
          open.worstMinuteMs = m.startMs;
        }
        continue;
      }
      // (An open incident that did not end at m.startMs ended in endMissing.)
      if (this.open.size >= this.maxOpen) {
        this.stats.untracked++;
        continue;
      }
      const incident: LiveIncident = {
        id: incidentId(m.customer, m.trafficClass, m.startMs),
        customer: m.customer,
        trafficClass: m.trafficClass,
        startMs: m.startMs,
        endMs: m.startMs + MINUTE_MS,
        minutes: 1,
        worstMinuteMs: m.startMs,
        worstShare: share,
        transactions: m.transactions,
        good: m.good,
        targetPercent: m.targetPercent as number,
        thresholdMs: m.thresholdMs,
      };
      this.open.set(key, incident);
      this.stats.started++;
      events.push({ event: "incident.started", incident: { ...incident } });
    }
    yield* endMissing(untilMs);
    this.untilMs = Math.max(this.untilMs, untilMs);
    return events;
  }

  /** judgeSteps' first pass over minutes[at, at + STEP_MINUTES): late, early, complete, breaching. */
  private sortOut(
    minutes: readonly ClassMinute[],
    at: number,
    untilMs: number,
    into: { complete: ClassMinute[]; breaching: Set<string>; concerned: Set<string> },
  ): void {
    const end = Math.min(minutes.length, at + STEP_MINUTES);
    for (let k = at; k < end; k++) {
      const m = minutes[k]!;
      if (m.startMs < this.untilMs) {
        this.stats.lateMinutes++;
        continue;
      }
      if (m.startMs + MINUTE_MS > untilMs) {
        // Not complete at `untilMs`: the caller's mistake, never judged on part of a minute.
        this.stats.earlyMinutes++;
        continue;
      }
      into.complete.push(m);
      if (judgeMinute(m.transactions, m.good, m.targetPercent) === "breach") {
        into.breaching.add(keyOf(m.customer, m.trafficClass));
        into.concerned.add(m.customer);
      }
    }
  }

  /** judgeSteps' second pass: the minutes of keys with a breach or an open incident, once each. */
  private pickConcerned(
    complete: readonly ClassMinute[],
    at: number,
    into: {
      concerned: Set<string>;
      breaching: Set<string>;
      seen: Set<string>;
      fresh: ClassMinute[];
    },
  ): void {
    const end = Math.min(complete.length, at + STEP_MINUTES);
    for (let k = at; k < end; k++) {
      const m = complete[k]!;
      if (!into.concerned.has(m.customer)) {
        this.stats.minutes++;
        continue;
      }
      const key = keyOf(m.customer, m.trafficClass);
      if (!into.breaching.has(key) && !this.open.has(key)) {
        this.stats.minutes++;
        continue;
      }
      const id = `${key}\x1f${m.startMs}`;
      if (into.seen.has(id)) {
        this.stats.duplicateMinutes++;
        continue;
      }
      into.seen.add(id);
      into.fresh.push(m);
    }
  }

  private end(i: LiveIncident, reason: EndReason, events: IncidentEvent[]): void {
    this.open.delete(keyOf(i.customer, i.trafficClass));
    this.stats.ended++;
    events.push({ event: "incident.ended", incident: { ...i }, reason });
  }

  /**
   * Drops the open incidents of the customers `which` names, without an event (scaled out: their
   * shard is another worker's now, which tracks them from then on).
   */
  forget(which: (customer: string) => boolean): number {
    let n = 0;
    for (const [key, i] of this.open) {
      if (!which(i.customer)) continue;
      this.open.delete(key);
      n++;
    }
    return n;
  }

  /**
   * Takes over open incidents tracked elsewhere until now (scaled out: a shard's, from the worker
   * that wrote it before); an incident of a (customer, class) already open here is left alone.
   */
  adopt(incidents: readonly LiveIncident[]): number {
    let n = 0;
    for (const i of incidents) {
      const key = keyOf(i.customer, i.trafficClass);
      if (this.open.has(key) || this.open.size >= this.maxOpen) continue;
      this.open.set(key, { ...i });
      n++;
    }
    return n;
  }

  /** The state to keep across a restart (JSON-safe). */
  save(): TrackerState {
    return { untilMs: this.untilMs, open: this.openIncidents() };
  }

  /** `save` in steps (tens of thousands of open incidents copied and sorted): the same state. */
  *saveSteps(): Steps<TrackerState> {
    const copies: LiveIncident[] = [];
    for (const i of this.open.values()) {
      copies.push({ ...i });
      if (copies.length % STEP_MINUTES === 0) yield;
    }
    const open = yield* sortSteps(
      copies,
      (a, b) => a.startMs - b.startMs || a.id.localeCompare(b.id),
      STEP_MINUTES / 4,
    );
    return { untilMs: this.untilMs, open };
  }

  /**
   * Takes back a saved state (before the first `judge`). The minutes between the save and the
   * next step had no row here: the next step ends the incidents they would have continued.
   */
  restore(state: TrackerState): void {
    if (Number.isFinite(state.untilMs)) this.untilMs = state.untilMs;
    for (const i of state.open) {
      if (this.open.size >= this.maxOpen) break;
      this.open.set(keyOf(i.customer, i.trafficClass), { ...i });
    }
  }
}
