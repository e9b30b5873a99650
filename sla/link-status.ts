/**
 * The link-status series, live (docs/series-schema.md#link-status-series): each access link's
 * interface status samples (sFlow counter samples' ifOperStatus, by exporter and ifIndex) in,
 * each complete minute's verdict out as store rows: 1 up or 1 down minute at 1m, added to the
 * 5m, 1h and 1d rows. A minute is complete once `close` is called past its end (the pipeline
 * calls it `aggregation.lateness` after); a sample for a closed minute is late and dropped
 * (counted). Minutes no status covers get no row: unknown. Pure: the clock is the caller's.
 */
import type { LinkStatusRow } from "../schema/series-store.js";
import { MINUTE_MS, measuredMinutes, type StatusSample } from "./availability.js";
import { COARSE } from "./series.js";

/** Samples kept per link between two closes (a sample every second for a minute, and more). */
const MAX_SAMPLES = 128;

export interface LinkRef {
  readonly customer: string;
  readonly site: string;
  readonly link: string;
}

interface LinkState {
  ref: LinkRef;
  /** Samples not yet fully used, by time: the last one before `nextMinute` and any after. */
  samples: StatusSample[];
  /** The first minute not closed. */
  nextMinute: number;
}

export interface LinkStatusStats {
  links: number;
  late: number;
}

export class LinkStatusMinutes {
  private readonly links = new Map<string, LinkState>();
  private late = 0;
  /** Minutes before this were closed (of every link, tracked or not). */
  private closedUntil = Number.NEGATIVE_INFINITY;

  constructor(private readonly staleAfterMs: number) {}

  add(ref: LinkRef, timeMs: number, operUp: boolean): void {
    const id = `${ref.customer}\0${ref.site}\0${ref.link}`;
    let state = this.links.get(id);
    if (state === undefined) {
      // A new link (or one forgotten once stale): from its sample's minute, unless closed (then
      // the sample may still carry into the open minutes).
      const minute = Math.floor(timeMs / MINUTE_MS) * MINUTE_MS;
      state = { ref, samples: [], nextMinute: Math.max(minute, this.closedUntil) };
      if (timeMs + this.staleAfterMs <= state.nextMinute) {
        this.late++;
        return;
      }
      this.links.set(id, state);
    } else if (timeMs < state.nextMinute) {
      this.late++;
      return;
    }
    const list = state.samples;
    let at = list.length;
    while (at > 0 && list[at - 1]!.timeMs > timeMs) at--;
    list.splice(at, 0, { timeMs, operUp });
    // Bounded where nothing closes minutes (`flowtally collect`): the oldest go first.
    if (list.length > MAX_SAMPLES) list.shift();
  }

  /** Closes every minute that ends by `untilMs`: their rows, every level. */
  close(untilMs: number): LinkStatusRow[] {
    const end = Math.floor(untilMs / MINUTE_MS) * MINUTE_MS;
    this.closedUntil = Math.max(this.closedUntil, end);
    const out: LinkStatusRow[] = [];
    for (const [id, state] of this.links) {
      if (end <= state.nextMinute) continue;
      const minutes = measuredMinutes(state.samples, state.nextMinute, end, this.staleAfterMs);
      for (const [startMs, status] of [...minutes].sort((a, b) => a[0] - b[0])) {
        out.push(...linkStatusRows(state.ref, startMs, status === "down"));
      }
      state.nextMinute = end;
      // Keep the last sample before the end (it may still carry on) and those after it.
      let first = 0;
      while (first + 1 < state.samples.length && state.samples[first + 1]!.timeMs < end) first++;
      state.samples = state.samples.slice(first);
      const last = state.samples[state.samples.length - 1];
      if (last === undefined || last.timeMs + this.staleAfterMs <= end) this.links.delete(id);
    }
    return out;
  }

  stats(): LinkStatusStats {
    return { links: this.links.size, late: this.late };
  }
}

/** One minute's rows: the 1-minute row and the 5m, 1h and 1d rows it adds to. */
export function linkStatusRows(ref: LinkRef, minuteMs: number, down: boolean): LinkStatusRow[] {
  const counts = { upMinutes: down ? 0 : 1, downMinutes: down ? 1 : 0 };
  const place = { customer: ref.customer, site: ref.site, link: ref.link };
  return [
    { level: "1m", startMs: minuteMs, ...place, ...counts },
    ...COARSE.map(([level, ms]) => ({
      level,
      startMs: Math.floor(minuteMs / ms) * ms,
      ...place,
      ...counts,
    })),
  ];
}
