/**
 * The SLA report of one customer (`GET /api/v1/customers/{id}/sla`, docs/api.md#sla) and the
 * operators' breach list (`GET /api/v1/sla/breaches`), made of the stored 1-minute SLA rows
 * (sla/series.ts) and the 5-minute traffic samples: per class, sla/report.ts's classReport over
 * the customer's links summed per minute, each minute judged by the level stored with it; per
 * link, sla/commit-rate.ts's 95th percentile against the commit rate. Pure.
 */
import type { SlaRow } from "../schema/series-store.js";
import type { AvailabilityFigures } from "../sla/availability.js";
import type { CurrentLevel } from "../sla/config-levels.js";
import type { Credits } from "../sla/credits.js";
import {
  billSamples,
  type ClassLevel,
  type ClassReport,
  classReport,
  commitCompliance,
  type LevelHistory,
  type PercentileOf,
  projectPeriod,
  proratedRate,
  type RateStep,
  WINDOW_MS,
  windowsAboveSteps,
  withLevel,
} from "../sla/index.js";
import { isoTime } from "./api/parameters.js";
import { defusedCell } from "./overview.js";

/** The level history of one class as its stored minutes carry it (sorted by time). */
export function historyOfRows(rows: readonly SlaRow[]): LevelHistory {
  let history: LevelHistory = [];
  for (const r of rows) {
    if (r.targetPercent === undefined) continue;
    const level: ClassLevel = {
      fromMs: r.startMs,
      thresholdMs: r.thresholdMs ?? 0,
      targetPercent: r.targetPercent,
    };
    history = withLevel(history, level);
  }
  return history;
}

export interface ClassSla {
  class: string;
  /** The threshold (ms) and target (percent) in force at the end of the range, or now. */
  threshold: number | null;
  target: number | null;
  transactions: number;
  good: number;
  goodShare: number | null;
  minutes: number;
  compliantMinutes: number;
  breachMinutes: number;
  noDataMinutes: number;
  compliantShare: number | null;
  estimated: boolean;
  levels: Array<{ from: string; to: string; threshold: number | null; target: number | null }>;
  incidents: Array<{
    start: string;
    end: string;
    minutes: number;
    worstMinute: string;
    worstShare: number;
  }>;
}

/** One class's figures over [fromMs, toMs) from its 1-minute rows (any links, sorted by time). */
export function classSla(
  trafficClass: string,
  rows: readonly SlaRow[],
  fromMs: number,
  toMs: number,
  now: CurrentLevel | undefined,
): ClassSla {
  const r: ClassReport = classReport(
    rows.map((x) => ({
      startMs: x.startMs,
      transactions: x.transactions,
      good: x.good,
      estimated: x.estimated > 0,
    })),
    historyOfRows(rows),
    fromMs,
    toMs,
  );
  return {
    class: trafficClass,
    threshold: r.threshold ?? now?.thresholdMs ?? null,
    target: r.targetPercent ?? now?.targetPercent ?? null,
    transactions: r.transactions,
    good: r.good,
    goodShare: r.goodShare,
    minutes: r.minutes,
    compliantMinutes: r.compliantMinutes,
    breachMinutes: r.breachMinutes,
    noDataMinutes: r.noDataMinutes,
    compliantShare: r.compliantShare,
    estimated: r.estimated,
    levels: r.levels.map((l) => ({
      from: isoTime(l.fromMs),
      to: isoTime(l.toMs),
      threshold: l.level?.thresholdMs ?? null,
      target: l.level?.targetPercent ?? null,
    })),
    incidents: r.incidents.map((i) => ({
      start: isoTime(i.startMs),
      end: isoTime(i.endMs),
      minutes: i.minutes,
      worstMinute: isoTime(i.worstMinuteMs),
      worstShare: i.worstShare,
    })),
  };
}

/** Rows grouped by class, each group in time order (rows come sorted by time). */
export function rowsByClass(rows: readonly SlaRow[]): Map<string, SlaRow[]> {
  const out = new Map<string, SlaRow[]>();
  for (const r of rows) {
    const list = out.get(r.trafficClass);
    if (list === undefined) out.set(r.trafficClass, [r]);
    else list.push(r);
  }
  return out;
}

export interface LinkSla extends CommitSla {
  site: string;
  link: string;
}

/** Links billed together (`customers[].billing.bills`): their samples summed per window. */
export interface BillSla extends CommitSla {
  bill: string;
  /** "site/link" of each link of the bill. */
  links: string[];
}

interface CommitSla {
  /**
   * bits/s; null: the link has no commit rate (then compliant and excessBps are null). When the
   * rate changed inside the range: the rates in force prorated over it (sla/billing-profile.ts).
   */
  commitRate: number | null;
  /** The parts of the range with the commit rate in force in each (null: none then). */
  commitRates: Array<{ from: string; to: string; commitRate: number | null }>;
  percentileOf: PercentileOf;
  p95Bps: number;
  excessBps: number | null;
  compliant: boolean | null;
  /** 5-minute windows in the range, and those above the commit rate in force at their start. */
  windows: number;
  windowsAbove: number | null;
  /** For a range still in progress (now inside it): where the period is heading. */
  projection?: { projectedP95Bps: number; floorP95Bps: number; burstWindowsLeft: number | null };
}

type Samples = ReadonlyArray<{ timeMs: number; bytesIn: number; bytesOut: number }>;

/**
 * One link's commit-rate figures over [fromMs, toMs) (whole 5-minute windows) from its 5-minute
 * byte sums and its commit rates in force (`steps`, sla/billing-profile.ts rateSteps); `nowMs`
 * inside the range adds the projection to its end.
 */
export function linkSla(
  link: { site: string; link: string },
  steps: readonly RateStep[],
  samples: Samples,
  percentileOf: PercentileOf,
  range: { fromMs: number; toMs: number; nowMs: number },
): LinkSla {
  return {
    site: link.site,
    link: link.link,
    ...commitSla([samples], steps, percentileOf, range),
  };
}

/** A bill's figures: its links' 5-minute samples summed per window, then the percentile. */
export function billSla(
  bill: { id: string; links: readonly string[] },
  steps: readonly RateStep[],
  samples: readonly Samples[],
  percentileOf: PercentileOf,
  range: { fromMs: number; toMs: number; nowMs: number },
): BillSla {
  return {
    bill: bill.id,
    links: [...bill.links],
    ...commitSla(samples, steps, percentileOf, range),
  };
}

function commitSla(
  samples: readonly Samples[],
  steps: readonly RateStep[],
  percentileOf: PercentileOf,
  { fromMs, toMs, nowMs }: { fromMs: number; toMs: number; nowMs: number },
): CommitSla {
  const windows = Math.max(0, Math.floor((toMs - fromMs) / WINDOW_MS));
  const bill = billSamples(
    samples.map((list) =>
      list.map((s) => ({ startMs: s.timeMs, bytesIn: s.bytesIn, bytesOut: s.bytesOut })),
    ),
    percentileOf,
  );
  const rate = proratedRate(steps, fromMs, fromMs + windows * WINDOW_MS);
  const c = commitCompliance(bill, windows, rate ?? Number.POSITIVE_INFINITY);
  const above = rate === undefined ? null : windowsAboveSteps(bill, steps);
  const out: CommitSla = {
    commitRate: rate ?? null,
    commitRates: steps.map((s) => ({
      from: isoTime(s.fromMs),
      to: isoTime(s.toMs),
      commitRate: s.rate ?? null,
    })),
    percentileOf,
    p95Bps: c.p95Bps,
    excessBps: rate === undefined ? null : c.excessBps,
    compliant: rate === undefined ? null : c.compliant,
    windows,
    windowsAbove: above,
  };
  if (nowMs >= fromMs && nowMs < toMs) {
    const elapsed = Math.max(1, Math.ceil((nowMs - fromMs) / WINDOW_MS));
    const p = projectPeriod(
      bill,
      elapsed,
      windows,
      rate ?? Number.POSITIVE_INFINITY,
      above ?? undefined,
    );
    out.projection = {
      projectedP95Bps: p.projectedP95Bps,
      floorP95Bps: p.floorP95Bps,
      burstWindowsLeft: rate === undefined ? null : p.burstWindowsLeft,
    };
  }
  return out;
}

export const SLA_CSV_COLUMNS = [
  "kind",
  "class",
  "site",
  "link",
  "threshold",
  "target",
  "transactions",
  "good",
  "goodShare",
  "minutes",
  "compliantMinutes",
  "breachMinutes",
  "noDataMinutes",
  "compliantShare",
  "estimated",
  "start",
  "end",
  "worstMinute",
  "worstShare",
  "commitRate",
  "p95Bps",
  "excessBps",
  "compliant",
  "bill",
  "availabilityTarget",
  "availability",
  "availabilityMet",
  "upMinutes",
  "downMinutes",
  "unknownMinutes",
  "maintenanceMinutes",
  "creditBelow",
  "creditPercent",
  "creditAmount",
  "currency",
] as const;

type CsvRow = Partial<
  Record<(typeof SLA_CSV_COLUMNS)[number], string | number | boolean | null | undefined>
>;

/**
 * The report as one CSV table (RFC 4180, header line): a `class` row per class, an `incident`
 * row per incident (under its class), a `link` row per link (with its availability), a `bill` row
 * per bill (its links in `link`, space-separated), under a link or bill whose commit rate changed
 * inside the range a `commitRate` row per rate in force (start, end), and with credits a `credits` row (the
 * period in start/end, the total) and a `credit` row per item; cells a kind does not have are
 * empty.
 */
export function slaCsv(
  classes: readonly ClassSla[],
  links: ReadonlyArray<LinkSla & { availability?: AvailabilityFigures }>,
  bills: readonly BillSla[] = [],
  owed: (Credits & { from: string; to: string }) | null = null,
): string {
  const rows: CsvRow[] = [];
  for (const c of classes) {
    rows.push({ kind: "class", ...c, class: c.class });
    for (const i of c.incidents) {
      rows.push({
        kind: "incident",
        class: c.class,
        minutes: i.minutes,
        start: i.start,
        end: i.end,
        worstMinute: i.worstMinute,
        worstShare: i.worstShare,
      });
    }
  }
  /** Rows of the commit rates in force, when the rate changed inside the range. */
  const rateRows = (c: CommitSla, where: CsvRow) => {
    if (c.commitRates.length < 2) return;
    for (const r of c.commitRates) {
      rows.push({
        kind: "commitRate",
        ...where,
        start: r.from,
        end: r.to,
        commitRate: r.commitRate,
      });
    }
  };
  for (const l of links) {
    const { availability: a, commitRates: _rates, ...commit } = l;
    rows.push({
      kind: "link",
      ...commit,
      ...(a === undefined
        ? {}
        : {
            minutes: a.minutes,
            availabilityTarget: a.target,
            availability: a.share,
            availabilityMet: a.met,
            upMinutes: a.upMinutes,
            downMinutes: a.downMinutes,
            unknownMinutes: a.unknownMinutes,
            maintenanceMinutes: a.maintenanceMinutes,
          }),
    });
    rateRows(l, { site: l.site, link: l.link });
  }
  for (const b of bills) {
    const { commitRates: _rates, ...bill } = b;
    rows.push({ kind: "bill", ...bill, link: b.links.join(" ") });
    rateRows(b, { bill: b.bill });
  }
  if (owed !== null) {
    rows.push({
      kind: "credits",
      start: owed.from,
      end: owed.to,
      creditPercent: owed.percent,
      creditAmount: owed.amount,
      currency: owed.currency,
    });
    for (const i of owed.items) {
      rows.push({
        kind: "credit",
        class: i.class,
        site: i.site,
        link: i.link,
        ...(i.reason === "availability" ? { availability: i.share } : { compliantShare: i.share }),
        creditBelow: i.below,
        creditPercent: i.percent,
      });
    }
  }
  const cell = (v: unknown): string => {
    if (v === undefined || v === null) return "";
    const s = typeof v === "string" ? defusedCell(v) : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  const lines = [SLA_CSV_COLUMNS.join(",")];
  for (const r of rows) lines.push(SLA_CSV_COLUMNS.map((c) => cell(r[c])).join(","));
  return `${lines.join("\r\n")}\r\n`;
}
