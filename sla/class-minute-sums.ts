/**
 * The 1-minute response-time rows of the pipeline, summed per (customer, class, minute) over the
 * customer's sites and links (the SLA report's sum), until the minute is complete and handed to
 * the incident tracker. Two ways in: `add` for deltas (one box: each hand-over adds to the
 * minute), `put` for absolute totals per link (scaled out: each write replaces the link's row).
 * A row for a minute already taken is late: counted and left out of alerts (the store still has
 * it; reports read the store). At most `maxMinutes` (customer, class, minute) entries are held;
 * beyond, new ones are dropped and counted. Pure.
 */

const MINUTE_MS = 60_000;

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

export class ClassMinuteSums {
  private readonly entries = new Map<string, Entry>();
  private takenUntil = Number.NEGATIVE_INFINITY;
  private readonly maxMinutes: number;
  readonly stats: ClassMinuteSumsStats = { lateRows: 0, droppedRows: 0 };

  constructor(options: { maxMinutes?: number } = {}) {
    this.maxMinutes = options.maxMinutes ?? 1_000_000;
  }

  /** (customer, class, minute) entries held. */
  get size(): number {
    return this.entries.size;
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
    const key = `${r.customer}\x1f${r.trafficClass}\x1f${r.startMs}`;
    let e = this.entries.get(key);
    if (e === undefined) {
      if (this.entries.size >= this.maxMinutes) {
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
      this.entries.set(key, e);
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
    for (const [key, e] of this.entries) if (which(e.customer)) this.entries.delete(key);
  }

  /**
   * Removes and returns the minutes complete at `untilMs` (ending by it), links summed; later
   * rows for them are late. `untilMs` never goes back.
   */
  take(untilMs: number): ClassMinuteCount[] {
    const out: ClassMinuteCount[] = [];
    for (const [key, e] of this.entries) {
      if (e.startMs + MINUTE_MS > untilMs) continue;
      this.entries.delete(key);
      let transactions = e.transactions;
      let good = e.good;
      if (e.links !== undefined) {
        for (const [t, g] of e.links.values()) {
          transactions += t;
          good += g;
        }
      }
      out.push({
        customer: e.customer,
        trafficClass: e.trafficClass,
        startMs: e.startMs,
        transactions,
        good,
      });
    }
    this.takenUntil = Math.max(this.takenUntil, Math.floor(untilMs / MINUTE_MS) * MINUTE_MS);
    return out;
  }
}
