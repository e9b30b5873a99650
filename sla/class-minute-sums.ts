/**
 * The 1-minute response-time rows of the pipeline, summed per (customer, class, minute) over the
 * customer's sites and links (the SLA report's sum), until the minute is complete and handed to
 * the incident tracker. Two ways in: `add` for deltas (one box: each hand-over adds to the
 * minute), `put` for absolute totals per link (scaled out: each write replaces the link's row).
 * A row for a minute already taken is late: counted and left out of alerts (the store still has
 * it; reports read the store). At most `maxMinutes` (customer, class, minute) entries are held;
 * beyond, new ones are dropped and counted. Pure.
 */

import { runSteps, type Steps } from "../collector/classify/steps.js";

const MINUTE_MS = 60_000;
/** Entries handed over between two yields of `takeSteps` (~1 ms of work each). */
export const STEP_ENTRIES = 4096;

/** What is read of a 1-minute response-time row. */
export interface ResponseMinuteRow {
  readonly level: string;
  readonly startMs: number;
  readonly customer: string;
  readonly site: string;
  readonly link: string;
  readonly trafficClass: string;
  readonly transactions: number;
  readonly good: number;
}

export interface ClassMinuteCount {
  customer: string;
  trafficClass: string;
  startMs: number;
  transactions: number;
  good: number;
}

interface Entry {
  customer: string;
  trafficClass: string;
  startMs: number;
  /** What was added (deltas, one box). */
  transactions: number;
  good: number;
  /** Per link, what was put (absolute totals, scaled out): site \x1f link → [transactions, good]. */
  links: Map<string, [number, number]> | undefined;
}

export interface ClassMinuteSumsStats {
  /** Rows of minutes already taken. */
  lateRows: number;
  /** Rows dropped because `maxMinutes` entries were held. */
  droppedRows: number;
}

/**
 * Entries by minute, then class, then customer: a row finds its entry by three lookups of values
 * it already holds (no key string built per row), and `take` hands over whole minutes.
 */
type MinuteEntries = Map<string, Map<string, Entry>>;

export class ClassMinuteSums {
  private readonly minutes = new Map<number, MinuteEntries>();
  private held = 0;
  private takenUntil = Number.NEGATIVE_INFINITY;
  private readonly maxMinutes: number;
  readonly stats: ClassMinuteSumsStats = { lateRows: 0, droppedRows: 0 };

  constructor(options: { maxMinutes?: number } = {}) {
    this.maxMinutes = options.maxMinutes ?? 1_000_000;
  }

  /** (customer, class, minute) entries held. */
  get size(): number {
    return this.held;
  }

  /** Adds 1-minute deltas (other levels are ignored). */
  add(rows: readonly ResponseMinuteRow[]): void {
    for (const r of rows) this.take1(r, false);
  }

  /** Replaces each link's 1-minute totals (other levels are ignored). */
  put(rows: readonly ResponseMinuteRow[]): void {
    for (const r of rows) this.take1(r, true);
  }

  private take1(r: ResponseMinuteRow, replace: boolean): void {
    if (r.level !== "1m") return;
    if (r.startMs < this.takenUntil) {
      this.stats.lateRows++;
      return;
    }
    let minute = this.minutes.get(r.startMs);
    if (minute === undefined) {
      minute = new Map();
      this.minutes.set(r.startMs, minute);
    }
    let customers = minute.get(r.trafficClass);
    if (customers === undefined) {
      customers = new Map();
      minute.set(r.trafficClass, customers);
    }
    let e = customers.get(r.customer);
    if (e === undefined) {
      if (this.held >= this.maxMinutes) {
        this.stats.droppedRows++;
        return;
      }
      e = {
        customer: r.customer,
        trafficClass: r.trafficClass,
        startMs: r.startMs,
        transactions: 0,
        good: 0,
        links: undefined,
      };
      customers.set(r.customer, e);
      this.held++;
    }
    if (!replace) {
      e.transactions += r.transactions;
      e.good += r.good;
      return;
    }
    e.links ??= new Map();
    e.links.set(`${r.site}\x1f${r.link}`, [r.transactions, r.good]);
  }

  /** Rows of minutes before `ms` are late from now on (judged before a restart). */
  lateBefore(ms: number): void {
    this.takenUntil = Math.max(this.takenUntil, ms);
  }

  /** Drops what is held for the customers `which` names. */
  forget(which: (customer: string) => boolean): void {
    for (const minute of this.minutes.values()) {
      for (const customers of minute.values()) {
        for (const customer of customers.keys()) {
          if (!which(customer)) continue;
          customers.delete(customer);
          this.held--;
        }
      }
    }
  }

  /**
   * Removes and returns the minutes complete at `untilMs` (ending by it), links summed; later
   * rows for them are late. `untilMs` never goes back. The objects returned are the sums' own
   * (no longer held): the caller may extend them.
   */
  take(untilMs: number): ClassMinuteCount[] {
    return runSteps(this.takeSteps(untilMs));
  }

  /**
   * `take` in steps of STEP_ENTRIES entries (collector/classify/steps.ts: `flowtally run` lets its
   * loop turn between them). The minutes leave the sums, and rows for them become late, before
   * the first step: rows added between two steps never reach a minute being handed over.
   */
  *takeSteps(untilMs: number): Steps<ClassMinuteCount[]> {
    const taken: MinuteEntries[] = [];
    for (const [startMs, minute] of this.minutes) {
      if (startMs + MINUTE_MS > untilMs) continue;
      this.minutes.delete(startMs);
      taken.push(minute);
      for (const customers of minute.values()) this.held -= customers.size;
    }
    this.takenUntil = Math.max(this.takenUntil, Math.floor(untilMs / MINUTE_MS) * MINUTE_MS);
    const out: ClassMinuteCount[] = [];
    let n = 0;
    for (const minute of taken) {
      for (const customers of minute.values()) {
        for (const e of customers.values()) {
          if (e.links !== undefined) {
            for (const [t, g] of e.links.values()) {
              e.transactions += t;
              e.good += g;
            }
            e.links = undefined;
          }
          out.push(e);
          if (++n % STEP_ENTRIES === 0) yield;
        }
      }
    }
    return out;
  }
}
