/**
 * The store contract: what the aggregator writes and what the query layer reads. The embedded
 * store (store/duckdb-store.ts) and the InfluxDB store (store/influx-store.ts) implement it and
 * pass the same conformance suite (test/support/store-conformance.ts), so the query layer never
 * cares which one it reads. "Atomically for the call" holds on DuckDB; InfluxDB has no
 * transactions, so there a call is written in requests of up to 5 000 points (see
 * store/influx-store.ts for what that means for retries).
 *
 * Every stored value is a sum over its period, written as additive deltas: the store adds a
 * delta to the row it already holds (creating it if needed). That is what makes late data a
 * correction instead of a loss, and totals exact whatever the arrival order.
 */
import type { FlowtallyError } from "./errors.js";

export type SeriesLevel = "1m" | "5m" | "1h" | "1d";
export type TrafficDirection = "in" | "out";

/** The pseudo-customer of traffic that matched no access link. */
export const UNATTRIBUTED_CUSTOMER = "unattributed";

export interface SeriesKey {
  customer: string;
  /** "" for unattributed traffic. */
  site: string;
  link: string;
  trafficClass: string;
  direction: TrafficDirection;
}

/** Where one stored row lives: its series, level and period. */
export interface SeriesRowKey extends SeriesKey {
  level: SeriesLevel;
  /** Period start, ms since the epoch, aligned to the level. */
  startMs: number;
}

export interface SeriesRowDelta extends SeriesKey {
  level: SeriesLevel;
  /** Period start, ms since the epoch, aligned to the level. */
  startMs: number;
  bytes: number;
  packets: number;
  flows: number;
}

export interface OverviewQuery {
  fromMs: number;
  toMs: number;
  /** Only these customers (e.g. one service type's); undefined for all. */
  customers?: readonly string[];
  /**
   * The 5m, 1h and 1d rows are read only for periods ending by this time (ms); the rest of the
   * range from the 1-minute rows. Scaled out, aggregators rewrite the coarse rows less often
   * than the 1-minute ones, so recent periods are fresher from the minutes. Default: no bound.
   */
  coarseUntilMs?: number;
}

export interface CustomerTotals {
  customer: string;
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
  flows: number;
}

export interface TrafficQuery {
  customer: string;
  fromMs: number;
  toMs: number;
  /** Level the points are read from: one point per period of that level. */
  level: SeriesLevel;
  site?: string;
  link?: string;
  trafficClass?: string;
}

export interface TrafficPoint {
  timeMs: number;
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
}

/** The additive counters of response-time sums, by name (the store and the rollups use this list). */
export const responseTimeCounters = [
  /** Transactions that ended in the period. */
  "transactions",
  /** Those whose total delay was under the class's threshold. */
  "good",
  "retransmissions",
  /** Sums and counts of the delays measured (a transaction without a handshake has none). */
  "networkDelaySumUs",
  "networkDelayCount",
  "serverDelaySumUs",
  "serverDelayCount",
  "totalDelaySumUs",
  /**
   * Of `transactions`, those whose good/bad status was estimated (flow exports that give only
   * sums or histogram buckets that the threshold falls inside); 0 when every one was exact.
   * Last: rows written before it existed lack it, and read as 0.
   */
  "estimated",
] as const;
export type ResponseTimeCounter = (typeof responseTimeCounters)[number];

/** Every response-time counter at 0. */
export function zeroResponseTimeCounters(): Record<ResponseTimeCounter, number> {
  const out = {} as Record<ResponseTimeCounter, number>;
  for (const c of responseTimeCounters) out[c] = 0;
  return out;
}

/**
 * Response-time sums of one (customer, site, link, class) for one period: counters, delay sums
 * and the bins of the total-delay sketch (collector/aggregate/latency-sketch.ts), all additive.
 */
export type ResponseTimeSums = Record<ResponseTimeCounter, number> & {
  /** Total-delay sketch bins: [key, count], keys of LATENCY_RELATIVE_ACCURACY's mapping. */
  bins: ReadonlyArray<readonly [number, number]>;
};

export type ResponseTimeRowDelta = ResponseTimeSums & {
  level: SeriesLevel;
  startMs: number;
  customer: string;
  site: string;
  link: string;
  trafficClass: string;
};

/** Where one stored response-time row lives. */
export type ResponseTimeRowKey = Omit<SeriesRowKey, "direction">;

export interface ResponseTimeQuery {
  customer: string;
  fromMs: number;
  toMs: number;
  level: SeriesLevel;
  site?: string;
  link?: string;
  trafficClass?: string;
}

export type ResponseTimePoint = ResponseTimeSums & { timeMs: number };

/**
 * The counters of an SLA row (sla/series.ts, docs/series-schema.md#sla-series), all additive: a
 * 1-minute row is one minute's (exactly one of the three minute counts is 1), a 5m / 1h / 1d row
 * the sum of its minutes'.
 */
export const slaCounters = [
  /** Transactions that ended in the period, and those that were good. */
  "transactions",
  "good",
  /** Of the transactions, those whose good/bad was estimated (an exporter's histogram). */
  "estimated",
  /** Minutes with transactions that reached the target in force. */
  "compliantMinutes",
  /** Minutes with transactions that did not. */
  "breachMinutes",
  /** Minutes with a row but no verdict: no transactions, or no target in force then. */
  "noDataMinutes",
] as const;
export type SlaCounter = (typeof slaCounters)[number];

/**
 * One stored SLA row of one (customer, site, link, class) and period. Derived by the store from
 * the 1-minute response-time row it holds after each write (sla/series.ts): never written by
 * the aggregator itself.
 */
export type SlaRow = Record<SlaCounter, number> & {
  level: SeriesLevel;
  startMs: number;
  customer: string;
  site: string;
  link: string;
  trafficClass: string;
  /**
   * 1m rows only: the class's threshold (ms) and target (percent) in force when the minute was
   * first measured; absent: the class had no SLA then.
   */
  thresholdMs?: number;
  targetPercent?: number;
};

export interface SlaQuery {
  fromMs: number;
  toMs: number;
  level: SeriesLevel;
  /** One customer; undefined: every customer (the operators' breach list). */
  customer?: string;
  trafficClass?: string;
  /** Only rows with a breach minute (`breachMinutes` > 0). */
  breachesOnly?: boolean;
}

/**
 * What the operators' breach list (`GET /api/v1/sla/breaches`) needs of the 1-minute SLA rows of
 * [fromMs, toMs), over every customer at once (`SeriesStore.slaBreachMinutes`). A class's minute
 * is judged on its links summed, by the level in force then: the level of the last row carrying
 * one (`targetPercent` set) at or before that minute, rows in `slaRows`' order (time, then site
 * and link). Only (customer, class) pairs with a breach row in the range are answered.
 */
export interface SlaBreachMinutes {
  /** Each pair with a breach row, and the level in force at the end of the range (if any). */
  classes: SlaBreachClass[];
  /**
   * The minutes of those pairs that can be a breach once summed: a minute with a breach row, or
   * one whose rows do not all carry the same level (a summed minute whose rows all carry the
   * level in force and none breaches cannot breach). Their links summed, in any order.
   */
  minutes: SlaBreachMinute[];
}

export interface SlaBreachClass {
  customer: string;
  trafficClass: string;
  thresholdMs?: number;
  targetPercent?: number;
}

export interface SlaBreachMinute extends SlaBreachClass {
  startMs: number;
  transactions: number;
  good: number;
}

/**
 * Interface-status minutes of one access link and period (sla/link-status.ts,
 * docs/series-schema.md#link-status-series), additive: a 1-minute row has one of the two at 1
 * (down when a "down" status covered any of the minute), a 5m / 1h / 1d row sums its minutes'.
 * A minute without a row had no valid status: unknown.
 */
export interface LinkStatusRow {
  level: SeriesLevel;
  startMs: number;
  customer: string;
  site: string;
  link: string;
  upMinutes: number;
  downMinutes: number;
}

/** One customer's link-status rows, optionally of one site or link, at one level. */
export type LinkStatusQuery = Omit<TrafficQuery, "trafficClass">;

/**
 * One stored version of a customer's billing profile (sla/billing-profile.ts,
 * docs/series-schema.md#billing-profiles): the profile as JSON text with sorted keys, in force
 * from `fromMs`.
 */
export interface BillingProfileRow {
  customer: string;
  fromMs: number;
  profile: string;
}

/** Which stored profile versions to read: one customer's (or every customer's), or the latest. */
export interface BillingProfileQuery {
  customer?: string;
  /** Only the latest version of each customer. */
  latest?: boolean;
}

/**
 * A position in the writer's write-ahead log (wal/), written with the rows it covers: on the
 * embedded store in their transaction, so that replaying the log at start adds exactly what the
 * store does not have; on InfluxDB right after them (docs/durability.md says what that leaves).
 */
export interface StoreMark {
  name: string;
  seq: number;
}

export interface SeriesStore {
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Why the store takes no writes for good, checked now and cheaply (for /healthz and each
   * hand-over): the embedded file was deleted or replaced under the process (FT_STORE_FILE), or
   * DuckDB gave up after a FATAL error (FT_STORE_WRITE); undefined while it works. Passing
   * failures (a server away) show in the calls that fail, not here.
   */
  problem(): FlowtallyError | undefined;
  /** Adds the deltas to the stored rows, atomically for the whole call (with `mark`, if given). */
  addDeltas(rows: readonly SeriesRowDelta[], mark?: StoreMark): Promise<void>;
  /** The marks written (StoreMark), by name; a store that has none answers {}. */
  readMarks(): Promise<Record<string, number>>;
  /**
   * Deletes the rows of each level given whose period starts before its time (retention);
   * returns the rows deleted per level.
   */
  prune(
    before: Partial<Readonly<Record<SeriesLevel, number>>>,
  ): Promise<Record<SeriesLevel, number>>;
  /**
   * Deletes everything stored for one customer id (traffic and response times, every level): the
   * explicit purge of a deleted customer's series. Answers what it removed, by table (DuckDB:
   * rows, in one transaction; InfluxDB: series).
   */
  purgeCustomer(customer: string): Promise<Record<string, number>>;
  /** Adds response-time sums (and sketch bins) to the stored rows, atomically for the call. */
  addResponseTimes(rows: readonly ResponseTimeRowDelta[], mark?: StoreMark): Promise<void>;
  /**
   * Replaces what the store holds for each row's key and period with the row's values: absolute
   * totals, not deltas, so writing the same rows twice leaves the same state (the scale-out
   * aggregator keeps its running totals in Redis and writes them here, as often as it likes).
   * Keys must be unique within one call.
   */
  putSeries(rows: readonly SeriesRowDelta[]): Promise<void>;
  /** The stored rows of these keys and periods; keys with nothing stored are left out. */
  readSeries(keys: readonly SeriesRowKey[]): Promise<SeriesRowDelta[]>;
  /** `putSeries` for response times: each row's counters and bins replace the stored ones. */
  putResponseTimes(rows: readonly ResponseTimeRowDelta[]): Promise<void>;
  /** The stored response-time rows of these keys and periods (bins in key order). */
  readResponseTimes(keys: readonly ResponseTimeRowKey[]): Promise<ResponseTimeRowDelta[]>;
  /** One point per period of `level` with data, sites/links/classes summed as filtered. */
  responseTimes(q: ResponseTimeQuery): Promise<ResponseTimePoint[]>;
  /**
   * The stored SLA rows of [fromMs, toMs) at `level`, one per (customer, site, link, class) and
   * period, sorted by time, then customer, site, link and class.
   */
  slaRows(q: SlaQuery): Promise<SlaRow[]>;
  /**
   * The breach list's minutes of [fromMs, toMs) over every customer (SlaBreachMinutes), read in
   * a few whole-range queries (not one per customer).
   */
  slaBreachMinutes(q: { fromMs: number; toMs: number }): Promise<SlaBreachMinutes>;
  /**
   * Every link's 1-minute link-status rows of [fromMs, toMs) with a down minute, over every
   * customer, in one whole-range read (the breach list's measured outages); in any order.
   */
  downMinutes(q: { fromMs: number; toMs: number }): Promise<LinkStatusRow[]>;
  /** Adds link-status minutes (deltas) to the stored rows, atomically for the call on DuckDB. */
  addLinkStatus(rows: readonly LinkStatusRow[]): Promise<void>;
  /**
   * `putSeries` for link status: each row's minutes replace the stored ones (the scale-out
   * aggregator's running totals, written as often as it likes). Keys unique within one call.
   */
  putLinkStatus(rows: readonly LinkStatusRow[]): Promise<void>;
  /** The stored link-status rows of these keys (counts ignored); keys with nothing stored left out. */
  readLinkStatus(keys: readonly LinkStatusRow[]): Promise<LinkStatusRow[]>;
  /** The stored link-status rows of [fromMs, toMs) at `level`, by time, then site and link. */
  linkStatus(q: LinkStatusQuery): Promise<LinkStatusRow[]>;
  /** Sums per customer over [fromMs, toMs), read from the coarsest level that fits exactly. */
  overview(q: OverviewQuery): Promise<CustomerTotals[]>;
  /** Points of one customer (optionally one site / link / class) at one level. */
  traffic(q: TrafficQuery): Promise<TrafficPoint[]>;
  /**
   * Per-period byte sums of one customer's series at `level` ("5m" for the 95th percentile,
   * "1m" for the peak), in and out, for rates computed at query time.
   */
  samples(
    q: Omit<TrafficQuery, "level"> & { level: "1m" | "5m" },
  ): Promise<Array<{ timeMs: number; bytesIn: number; bytesOut: number }>>;
  /**
   * What `samples` would answer, reduced in the store to the highest sample in and out (each
   * direction on its own) per period of `stepMs` (periods counted from the epoch, UTC; a period
   * without samples is left out), so that a year's graph does not carry its 105 120 5-minute
   * samples out of the store to take 365 maxima.
   */
  samplePeaks(q: SampleQuery & { stepMs: number }): Promise<SampleSums[]>;
  /**
   * The `rank`-th highest of the samples `samples` would answer, in and out on their own (rank 1:
   * the highest); 0 for a direction with fewer samples. A nearest-rank percentile over the
   * range's periods, counting those without a sample as 0, is this (traffic.ts `p95Rank`).
   */
  sampleRank(q: SampleQuery & { rank: number }): Promise<{ bytesIn: number; bytesOut: number }>;
  /**
   * `samplePeaks` (with `stepMs`; else `peaks` is empty) and `sampleRank` (with `rank`; else
   * `rank` is null) of the same samples in one call: a graph's traffic call needs both, and the
   * embedded store reads the samples once for them.
   */
  sampleStats(q: SampleStatsQuery): Promise<SampleStats>;
  /**
   * Stores profile versions; a row with the customer and time of a stored one replaces it
   * (writing the same rows twice leaves the same state). Kept whatever the retention of the
   * series (DuckDB); on InfluxDB in the 1d level's retention policy.
   */
  putBillingProfiles(rows: readonly BillingProfileRow[]): Promise<void>;
  /** Stored profile versions, sorted by customer, then time. */
  billingProfiles(q: BillingProfileQuery): Promise<BillingProfileRow[]>;
}

/** What `SeriesStore.sampleStats` is asked: the samples, and the peaks' step and/or a rank. */
export type SampleStatsQuery = SampleQuery & { stepMs?: number; rank?: number };

/** `SeriesStore.sampleStats`' answer. */
export interface SampleStats {
  peaks: SampleSums[];
  rank: { bytesIn: number; bytesOut: number } | null;
}

/** The samples of one customer's series at level 1m or 5m (`SeriesStore.samples`). */
export type SampleQuery = Omit<TrafficQuery, "level"> & { level: "1m" | "5m" };

/** Byte sums of one period, in and out. */
export interface SampleSums {
  timeMs: number;
  bytesIn: number;
  bytesOut: number;
}
