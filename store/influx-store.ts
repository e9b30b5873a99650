/**
 * The InfluxDB store: the series of `schema/series-store.ts` in InfluxDB, for the scale-out setup
 * (docs/series-schema.md is the schema operators query; this comment says why it is so).
 *
 * Two APIs (`store.influx.api`):
 * - v1: line protocol POSTed to `/write`, InfluxQL on `/query`. The one path that reaches
 *   InfluxDB 1.x and, through their compatibility API, 2.x and 3.x.
 * - v2: writes through `@influxdata/influxdb-client` (`/api/v2/write`, its batching, retries and
 *   backoff); reads still InfluxQL on the v1-compatibility `/query` (with `Authorization: Token`
 *   and a DBRP mapping): InfluxQL is the one query language 1.x, 2.x and 3.x all answer.
 *
 * Schema: one measurement per level, `traffic_1m` ... `traffic_1d` (tags customer, site, link,
 * class, direction; float fields bytes, packets, flows) and `response_1m` ... `response_1d`
 * (tags customer, site, link, class; float fields: the response-time counters by name, and one
 * `bin_<key>` field per latency-sketch bin). Time is the period start in ms. One measurement per
 * level for the same reason as the embedded store's one table per level: every read names one
 * level, and a retention policy or a Grafana panel can pick a level by name.
 *
 * InfluxDB has no "add to the stored value": a point written again with the same measurement,
 * tags and time replaces the fields it carries. So `addDeltas` reads the current values of the
 * keys it touches, adds, and writes the sums back (read-modify-write). Calls of one store are
 * serialised, so they never lose each other's updates; two processes writing the same keys would,
 * so each key must have a single writer (the scale-out aggregator shards by customer, and writes
 * absolute totals with `putSeries`, which is idempotent). A call whose write fails after InfluxDB
 * stored part of it, and is then retried as deltas, would add that part twice: the reason the
 * scale-out path writes absolute totals.
 *
 * A replace (`putResponseTimes`) must also clear the sketch bins the new row no longer has: a
 * point only replaces the fields it carries, so those bins are written as 0, and bins at 0 are
 * read as absent (the embedded store does not keep empty bins either).
 *
 * Every value in a query goes through quoteString/quoteIdentifier (store/influx-text.ts) and every
 * tag through the line-protocol escaping there: no customer id, site or class can inject InfluxQL
 * or a line. Times are whole ms, clamped to InfluxDB's range (int64 ns).
 */
import { HttpError, InfluxDB, setLogger, type WriteApi } from "@influxdata/influxdb-client";
import type { Logger } from "pino";
import type { InfluxConfig } from "../schema/config.js";
import { FlowtallyError } from "../schema/errors.js";
import {
  type CustomerTotals,
  type LinkStatusQuery,
  type LinkStatusRow,
  type OverviewQuery,
  type ResponseTimeCounter,
  type ResponseTimePoint,
  type ResponseTimeQuery,
  type ResponseTimeRowDelta,
  type ResponseTimeRowKey,
  responseTimeCounters,
  type SampleQuery,
  type SampleStats,
  type SampleStatsQuery,
  type SampleSums,
  type SeriesLevel,
  type SeriesRowDelta,
  type SeriesRowKey,
  type SeriesStore,
  type SlaQuery,
  type SlaRow,
  type StoreMark,
  slaCounters,
  type TrafficPoint,
  type TrafficQuery,
  zeroResponseTimeCounters,
} from "../schema/series-store.js";
import type { LevelLookup } from "../sla/config-levels.js";
import { type MinuteTotals, type SlaMinuteState, slaWrites } from "../sla/series.js";
import { LineProtocolError, pointLine, quoteIdentifier, quoteString } from "./influx-text.js";
import { LEVEL_MS, LEVEL_NAMES, overviewRange, TILING, tileRange, timeBound } from "./levels.js";
import { rowKey, validateResponseRows, validateSeriesRows } from "./row-validation.js";
import { createSerialQueue } from "./serial-queue.js";

export interface InfluxStoreDeps {
  log: Logger;
  /** The SLA level of each class now (duckdb-store.ts's option of the same name). */
  slaLevel?: LevelLookup;
}

/** Measurement names come from these maps only, never from a caller's string. */
/** Write-ahead log marks (StoreMark): one series per name. */
const MARKS = "flowtally_marks";
const TRAFFIC: Readonly<Record<SeriesLevel, string>> = {
  "1m": "traffic_1m",
  "5m": "traffic_5m",
  "1h": "traffic_1h",
  "1d": "traffic_1d",
};
const RESPONSE: Readonly<Record<SeriesLevel, string>> = {
  "1m": "response_1m",
  "5m": "response_5m",
  "1h": "response_1h",
  "1d": "response_1d",
};
/** SLA series (sla/series.ts), derived from the 1-minute response rows at every write. */
const SLA: Readonly<Record<SeriesLevel, string>> = {
  "1m": "sla_1m",
  "5m": "sla_5m",
  "1h": "sla_1h",
  "1d": "sla_1d",
};
/** Link-status series (docs/series-schema.md#link-status-series): up and down minutes per link. */
const LINK_STATUS: Readonly<Record<SeriesLevel, string>> = {
  "1m": "link_status_1m",
  "5m": "link_status_5m",
  "1h": "link_status_1h",
  "1d": "link_status_1d",
};
const BIN_FIELD = /^(?:sum_)?bin_(-?\d+)$/;
const binField = (key: number) => `bin_${key}`;

/** InfluxDB's time range is int64 nanoseconds: bounds outside it are clamped to its edges. */
const MAX_MS = 9_223_372_036_853;
/** Lines per write request (InfluxDB's guidance: 5 000 to 10 000 points per batch). */
const WRITE_BATCH = 5000;
/** Statements per query request. */
const QUERY_BATCH = 100;
/** Above this many customers a read fetches all customers of the periods and filters here. */
const MAX_CUSTOMER_TERMS = 200;
/** Periods of a level further apart than this are read by separate statements. */
const MAX_GAP_PERIODS = 16;
/** How much of an error body a message quotes. */
const BODY_CHARS = 300;

/** `time` condition value: ms with InfluxQL's unit suffix, clamped to InfluxDB's range. */
function msLiteral(ms: number): string {
  return `${Math.min(MAX_MS, Math.max(-MAX_MS, ms))}ms`;
}

/** `"tag" = 'value'` with both quoted: the only way a caller's string reaches InfluxQL. */
function tagEquals(tag: string, value: string): string {
  return `${quoteIdentifier(tag)} = ${quoteString(value)}`;
}

function anyOf(tag: string, values: readonly string[]): string {
  return `(${values.map((v) => tagEquals(tag, v)).join(" OR ")})`;
}

interface Series {
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

interface StatementResult {
  statement_id?: number;
  series?: Series[];
  error?: string;
}

/** The rows of one series as objects keyed by column name. */
function seriesRows(s: Series): Array<Record<string, unknown>> {
  return s.values.map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]])));
}

const num = (v: unknown): number => (typeof v === "number" ? v : 0);
const tag = (s: Series, name: string): string => s.tags?.[name] ?? "";

/**
 * The rows of series grouped by "direction" as one point per time, in time order: `make` starts a
 * point, `add` puts a row of one direction into it.
 */
function byTimeOf<P extends { timeMs: number }>(
  series: readonly Series[],
  make: (timeMs: number) => P,
  add: (p: P, row: Record<string, unknown>, out: boolean) => void,
): P[] {
  const byTime = new Map<number, P>();
  for (const s of series) {
    const out = tag(s, "direction") === "out";
    for (const v of seriesRows(s)) {
      const timeMs = num(v.time);
      let p = byTime.get(timeMs);
      if (p === undefined) {
        p = make(timeMs);
        byTime.set(timeMs, p);
      }
      add(p, v, out);
    }
  }
  return [...byTime.values()].sort((a, b) => a.timeMs - b.timeMs);
}

/**
 * The WHERE conditions of one customer's series over [fromMs, toMs), optionally one site, link or
 * class (the same selection as the embedded store's).
 */
function seriesFilter(name: string, q: Omit<TrafficQuery, "level">): string {
  const where = [
    tagEquals("customer", q.customer),
    `time >= ${msLiteral(timeBound(`${name}: fromMs`, q.fromMs))}`,
    `time < ${msLiteral(timeBound(`${name}: toMs`, q.toMs))}`,
  ];
  if (q.site !== undefined) where.push(tagEquals("site", q.site));
  if (q.link !== undefined) where.push(tagEquals("link", q.link));
  if (q.trafficClass !== undefined) where.push(tagEquals("class", q.trafficClass));
  return where.join(" AND ");
}

/**
 * The statements' WHERE clauses that read the rows of these keys (one level): their customers and
 * runs of nearby periods, a superset that the caller narrows to the keys.
 */
function keyFilters(keys: readonly { customer: string; startMs: number }[], level: SeriesLevel) {
  const customers = [...new Set(keys.map((k) => k.customer))];
  const who = customers.length <= MAX_CUSTOMER_TERMS ? ` AND ${anyOf("customer", customers)}` : "";
  const starts = [...new Set(keys.map((k) => k.startMs))].sort((a, b) => a - b);
  const out: string[] = [];
  let first = starts[0]!;
  let last = first;
  const flush = () => out.push(`time >= ${msLiteral(first)} AND time <= ${msLiteral(last)}${who}`);
  for (const t of starts.slice(1)) {
    if (t - last > MAX_GAP_PERIODS * LEVEL_MS[level]) {
      flush();
      first = t;
    }
    last = t;
  }
  flush();
  return out;
}

function byLevel<K extends { level: SeriesLevel }>(keys: readonly K[]): Array<[SeriesLevel, K[]]> {
  return LEVEL_NAMES.map(
    (l) => [l, keys.filter((k) => k.level === l)] as [SeriesLevel, K[]],
  ).filter(([, ks]) => ks.length > 0);
}

function trafficLine(r: SeriesRowDelta): string {
  return pointLine({
    measurement: TRAFFIC[r.level],
    tags: [
      ["customer", r.customer],
      ["site", r.site],
      ["link", r.link],
      ["class", r.trafficClass],
      ["direction", r.direction],
    ],
    fields: [
      ["bytes", r.bytes],
      ["packets", r.packets],
      ["flows", r.flows],
    ],
    timeMs: r.startMs,
  });
}

/** The tags of a response-time or SLA point: its customer, site, link and class. */
function seriesTags(r: {
  customer: string;
  site: string;
  link: string;
  trafficClass: string;
}): Array<[string, string]> {
  return [
    ["customer", r.customer],
    ["site", r.site],
    ["link", r.link],
    ["class", r.trafficClass],
  ];
}

/** A response-time row's point: every counter, its bins, and `cleared` bins written as 0. */
function responseLine(r: ResponseTimeRowDelta, cleared: readonly number[] = []): string {
  const fields: Array<[string, number]> = responseTimeCounters.map((c) => [c, r[c]]);
  for (const [key, count] of r.bins) fields.push([binField(key), count]);
  for (const key of cleared) fields.push([binField(key), 0]);
  return pointLine({
    measurement: RESPONSE[r.level],
    tags: seriesTags(r),
    fields,
    timeMs: r.startMs,
  });
}

/** An SLA row's point: its counters, and on 1m rows the level in force when it was measured. */
function slaLine(r: SlaRow): string {
  const fields: Array<[string, number]> = slaCounters.map((c) => [c, r[c]]);
  if (r.thresholdMs !== undefined) fields.push(["thresholdMs", r.thresholdMs]);
  if (r.targetPercent !== undefined) fields.push(["targetPercent", r.targetPercent]);
  return pointLine({
    measurement: SLA[r.level],
    tags: seriesTags(r),
    fields,
    timeMs: r.startMs,
  });
}

/** Builds every row's line once, so a row line protocol cannot carry fails the call before any I/O. */
function checkLines<R>(call: string, rows: readonly R[], line: (r: R) => string): void {
  rows.forEach((r, i) => {
    try {
      line(r);
    } catch (e) {
      if (e instanceof LineProtocolError) throw new RangeError(`${call}: rows[${i}]: ${e.message}`);
      throw e;
    }
  });
}

/** Bins of a response-time result row (fields `bin_<key>` or `sum_bin_<key>`), empty ones left out. */
function binsOf(row: Record<string, unknown>): Array<[number, number]> {
  const bins: Array<[number, number]> = [];
  for (const [column, value] of Object.entries(row)) {
    const m = BIN_FIELD.exec(column);
    if (m !== null && typeof value === "number" && value !== 0) bins.push([Number(m[1]), value]);
  }
  return bins.sort((a, b) => a[0] - b[0]);
}

function countersOf(row: Record<string, unknown>, prefix: string) {
  const out = zeroResponseTimeCounters();
  for (const c of responseTimeCounters) out[c] = num(row[`${prefix}${c}`]);
  return out;
}

export function createInfluxStore(config: InfluxConfig, deps: InfluxStoreDeps): SeriesStore {
  const { log } = deps;
  const slaLevel: LevelLookup = deps.slaLevel ?? (() => undefined);
  const base = config.url.replace(/\/+$/, "");
  const database = config.api === "v1" ? config.database : (config.database ?? config.bucket);
  const policies = config.retentionPolicy;
  /** The retention policy a level is written to and read from (undefined: the default one). */
  const policyOf = (level: SeriesLevel): string | undefined =>
    typeof policies === "object" ? policies[level] : policies;
  /** A level's measurement in a statement, qualified by its retention policy when it has one. */
  const from = (names: Readonly<Record<SeriesLevel, string>>, level: SeriesLevel): string => {
    const policy = policyOf(level);
    const name = quoteIdentifier(names[level]);
    return policy === undefined ? name : `${quoteIdentifier(policy)}.${name}`;
  };
  /**
   * SLA minutes are kept as long as the 5-minute level (a month's report judges each minute):
   * `sla_1m` goes to the 5m retention policy when there is one per level.
   */
  const slaPolicy = (level: SeriesLevel): SeriesLevel => (level === "1m" ? "5m" : level);
  const fromSla = (level: SeriesLevel, names = SLA): string => {
    const policy = policyOf(slaPolicy(level));
    const name = quoteIdentifier(names[level]);
    return policy === undefined ? name : `${quoteIdentifier(policy)}.${name}`;
  };
  /** Credentials travel in this header only: never in a URL, a message or a log line. */
  const authorization =
    config.token !== undefined
      ? `Token ${config.token}`
      : config.api === "v1" && config.username !== undefined
        ? `Basic ${Buffer.from(`${config.username}:${config.password ?? ""}`).toString("base64")}`
        : undefined;
  const writes = createSerialQueue();
  let started = false;
  let client: InfluxDB | undefined;

  function failure(
    code: "FT_STORE_UNREACHABLE" | "FT_STORE_WRITE" | "FT_STORE_QUERY",
    what: string,
    cause?: unknown,
  ): FlowtallyError {
    return new FlowtallyError(
      code,
      `${base}: ${what}`,
      cause === undefined ? undefined : { cause },
    );
  }

  function unreachable(e: unknown): FlowtallyError {
    const err = e as Error & { cause?: { message?: string; code?: string } };
    const reason =
      err.name === "TimeoutError" || err.name === "AbortError"
        ? `no answer within ${config.timeout} ms`
        : (err.cause?.message ?? err.message);
    return failure("FT_STORE_UNREACHABLE", `InfluxDB could not be reached: ${reason}`, e);
  }

  /** What an error response says: InfluxDB's `{"error": "..."}` or the body's start. */
  function bodyText(text: string): string {
    try {
      const json = JSON.parse(text) as { error?: unknown; message?: unknown };
      const said = json.error ?? json.message;
      if (typeof said === "string") return said.slice(0, BODY_CHARS);
    } catch {
      // not JSON: quote it as it is
    }
    return text.trim().slice(0, BODY_CHARS) || "(empty body)";
  }

  async function request(
    kind: "write" | "query",
    path: string,
    params: Record<string, string>,
    body: string,
    contentType: string,
  ): Promise<string> {
    const url = `${base}${path}?${new URLSearchParams(params)}`;
    const headers: Record<string, string> = { "content-type": contentType };
    if (authorization !== undefined) headers.authorization = authorization;
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method: "POST",
        headers,
        body,
        signal: AbortSignal.timeout(config.timeout),
      });
      text = await res.text();
    } catch (e) {
      throw unreachable(e);
    }
    if (!res.ok) {
      const hint =
        res.status === 401 || res.status === 403
          ? " (check store.influx username/password or token)"
          : "";
      throw failure(
        kind === "write" ? "FT_STORE_WRITE" : "FT_STORE_QUERY",
        `InfluxDB refused a ${kind}: HTTP ${res.status}${hint}: ${bodyText(text)}`,
      );
    }
    return text;
  }

  /** Runs the statements (batched per request) and returns one result per statement. */
  async function query(statements: readonly string[]): Promise<StatementResult[]> {
    const out: StatementResult[] = [];
    for (let i = 0; i < statements.length; i += QUERY_BATCH) {
      const batch = statements.slice(i, i + QUERY_BATCH);
      const params: Record<string, string> = { db: database, epoch: "ms" };
      const text = await request(
        "query",
        "/query",
        params,
        new URLSearchParams({ q: batch.join(";\n") }).toString(),
        "application/x-www-form-urlencoded",
      );
      let parsed: { results?: StatementResult[]; error?: string };
      try {
        parsed = JSON.parse(text) as typeof parsed;
      } catch (e) {
        throw failure(
          "FT_STORE_QUERY",
          `InfluxDB answered a query with no JSON: ${bodyText(text)}`,
          e,
        );
      }
      if (parsed.error !== undefined) {
        throw failure("FT_STORE_QUERY", `InfluxDB refused a query: ${parsed.error}`);
      }
      const results = parsed.results ?? [];
      for (const r of results) {
        if (r.error !== undefined) {
          throw failure("FT_STORE_QUERY", `InfluxDB refused a query: ${r.error}`);
        }
      }
      if (results.length !== batch.length) {
        throw failure(
          "FT_STORE_QUERY",
          `InfluxDB answered ${results.length} results to ${batch.length} statements`,
        );
      }
      out.push(...results);
    }
    return out;
  }

  async function writeV1(lines: readonly string[], policy: string | undefined): Promise<void> {
    const params: Record<string, string> = { db: database, precision: "ms" };
    if (policy !== undefined) params.rp = policy;
    for (let i = 0; i < lines.length; i += WRITE_BATCH) {
      await request(
        "write",
        "/write",
        params,
        lines.slice(i, i + WRITE_BATCH).join("\n"),
        "text/plain; charset=utf-8",
      );
    }
  }

  /**
   * v2: one WriteApi per call, flushed at once. The client batches, and retries what failed with
   * its backoff (in its retry buffer); its success and failure callbacks tell when every line is
   * written or one batch has failed for good, which is when the call's promise settles. A call that
   * failed leaves nothing behind to be retried later: a stale retry could overwrite newer totals.
   */
  function writeV2(lines: readonly string[]): Promise<void> {
    if (config.api !== "v2" || client === undefined) {
      throw new FlowtallyError("FT_STORE_CLOSED", `${base}: not a started v2 store`);
    }
    const { maxRetries } = config;
    const api = client;
    return new Promise((resolve, reject) => {
      let written = 0;
      let settled = false;
      let writer: WriteApi | undefined;
      const settle = (e?: unknown) => {
        if (settled) return;
        settled = true;
        writer?.dispose();
        if (e === undefined) resolve();
        else reject(e);
      };
      writer = api.getWriteApi(config.org, config.bucket, "ms", {
        batchSize: WRITE_BATCH,
        flushInterval: 0,
        maxRetries,
        minRetryDelay: config.minRetryDelay,
        maxRetryTime: config.maxRetryTime,
        maxBufferLines: lines.length + 1,
        writeSuccess(batch) {
          written += batch.length;
          if (written >= lines.length) settle();
        },
        writeFailed(error, _batch, attempts, expires) {
          // The client retries (no HTTP answer, or 429/5xx) while attempts and time are left.
          const retriable = !(error instanceof HttpError) || error.statusCode >= 429;
          if (retriable && attempts <= maxRetries && Date.now() < expires) return;
          settle(
            error instanceof HttpError
              ? failure(
                  "FT_STORE_WRITE",
                  `InfluxDB refused a write: HTTP ${error.statusCode}${
                    error.statusCode === 401 || error.statusCode === 403
                      ? " (check store.influx.token)"
                      : ""
                  }: ${bodyText(error.body ?? error.message)}`,
                  error,
                )
              : unreachable(error),
          );
        },
      });
      writer.writeRecords([...lines]);
      // The outcome arrives through the callbacks above; flush's own rejection repeats it.
      writer.flush().catch(() => undefined);
    });
  }

  /** Writes points given as [level, line]: on v1, one request (or more) per retention policy. */
  async function write(points: ReadonlyArray<readonly [SeriesLevel, string]>): Promise<void> {
    if (points.length === 0) return;
    if (config.api === "v2") return writeV2(points.map(([, line]) => line));
    const byPolicy = new Map<string | undefined, string[]>();
    for (const [level, line] of points) {
      const policy = policyOf(level);
      const lines = byPolicy.get(policy) ?? [];
      lines.push(line);
      byPolicy.set(policy, lines);
    }
    for (const [policy, lines] of byPolicy) await writeV1(lines, policy);
  }

  function ensureStarted(): void {
    if (!started) {
      throw new FlowtallyError("FT_STORE_CLOSED", `${base}: the InfluxDB store is not started`);
    }
  }

  async function start(): Promise<void> {
    if (started) return;
    if (config.api === "v2") {
      // The client logs its retries to the console by default; they belong in our log.
      setLogger({
        error: (message, error) => log.warn({ err: error }, `influxdb-client: ${message}`),
        warn: (message, error) => log.warn({ err: error }, `influxdb-client: ${message}`),
      });
      client = new InfluxDB({ url: base, token: config.token, timeout: config.timeout });
      // /ping answers on 1.x, 2.x, 3.x and VictoriaMetrics: the server is there.
      try {
        const res = await fetch(`${base}/ping`, { signal: AbortSignal.timeout(config.timeout) });
        await res.arrayBuffer();
      } catch (e) {
        throw unreachable(e);
      }
    } else {
      // Reaches the server, checks the credentials and that the database exists, reads nothing.
      // (SHOW MEASUREMENTS answers an empty result for a missing database on 1.6; this errs.)
      await query(["SHOW RETENTION POLICIES"]);
    }
    started = true;
  }

  async function stop(): Promise<void> {
    if (!started) return;
    started = false; // calls from now on are refused; queued writes still run
    await writes(() => Promise.resolve());
    client = undefined;
  }

  /**
   * The stored rows of these keys: per level, one statement per run of nearby periods (a
   * superset), narrowed here to the keys asked for (`id` of a key and of a row must match).
   */
  async function readKeys<K extends { level: SeriesLevel; customer: string; startMs: number }, R>(
    keys: readonly K[],
    select: (level: SeriesLevel) => string,
    toRow: (level: SeriesLevel, s: Series, v: Record<string, unknown>) => R,
    id: (k: K | R) => string,
  ): Promise<R[]> {
    const out: R[] = [];
    for (const [level, mine] of byLevel(keys)) {
      const wanted = new Set(mine.map(id));
      const statements = keyFilters(mine, level).map(
        (where) => `${select(level)} WHERE ${where} GROUP BY *`,
      );
      for (const s of (await query(statements)).flatMap((r) => r.series ?? [])) {
        for (const v of seriesRows(s)) {
          const row = toRow(level, s, v);
          if (wanted.has(id(row))) out.push(row);
        }
      }
    }
    return out;
  }

  /** Where a row of a result lives (its level, period and tags). */
  const rowPlace = (level: SeriesLevel, s: Series, v: Record<string, unknown>) => ({
    level,
    startMs: num(v.time),
    customer: tag(s, "customer"),
    site: tag(s, "site"),
    link: tag(s, "link"),
    trafficClass: tag(s, "class"),
  });

  function readTraffic(keys: readonly SeriesRowKey[]): Promise<SeriesRowDelta[]> {
    return readKeys(
      keys,
      (level) => `SELECT bytes, packets, flows FROM ${from(TRAFFIC, level)}`,
      (level, s, v): SeriesRowDelta => ({
        ...rowPlace(level, s, v),
        // Every point has direction in or out: flowtally writes no other.
        direction: tag(s, "direction") === "out" ? "out" : "in",
        bytes: num(v.bytes),
        packets: num(v.packets),
        flows: num(v.flows),
      }),
      rowKey,
    );
  }

  /** The stored response-time rows of these keys, bins in key order. */
  function readResponses(keys: readonly ResponseTimeRowKey[]): Promise<ResponseTimeRowDelta[]> {
    return readKeys(
      keys,
      (level) => `SELECT * FROM ${from(RESPONSE, level)}`,
      (level, s, v): ResponseTimeRowDelta => ({
        ...rowPlace(level, s, v),
        ...countersOf(v, ""),
        bins: binsOf(v),
      }),
      (k) => rowKey({ ...k, direction: "" }),
    );
  }

  /**
   * A mark (StoreMark) as a point of `flowtally_marks` dated at the start of today's UTC day: one
   * point per name a day, rewritten in place, kept by the daily rows' retention policy. Written
   * after the rows it covers, in the same turn of the write queue.
   */
  function markLine(mark: StoreMark): [SeriesLevel, string] {
    const day = Math.floor(Date.now() / 86_400_000) * 86_400_000;
    return [
      "1d",
      pointLine({
        measurement: MARKS,
        tags: [["name", mark.name]],
        fields: [["seq", mark.seq]],
        timeMs: day,
      }),
    ];
  }

  async function readMarks(): Promise<Record<string, number>> {
    ensureStarted();
    const [result] = await query([
      `SELECT last(seq) AS seq FROM ${from({ "1m": MARKS, "5m": MARKS, "1h": MARKS, "1d": MARKS }, "1d")} GROUP BY "name"`,
    ]);
    const out: Record<string, number> = {};
    for (const series of result?.series ?? []) {
      const name = series.tags?.name;
      const row = seriesRows(series)[0];
      if (name !== undefined && row !== undefined) out[name] = num(row.seq);
    }
    return out;
  }

  async function addDeltas(rows: readonly SeriesRowDelta[], mark?: StoreMark): Promise<void> {
    ensureStarted();
    if (rows.length === 0) return;
    validateSeriesRows("addDeltas", rows, "add");
    checkLines("addDeltas", rows, trafficLine);
    await writes(async () => {
      const sums = new Map<string, SeriesRowDelta>();
      for (const r of rows) {
        const k = rowKey(r);
        const s = sums.get(k);
        if (s === undefined) sums.set(k, { ...r });
        else {
          s.bytes += r.bytes;
          s.packets += r.packets;
          s.flows += r.flows;
        }
      }
      for (const stored of await readTraffic([...sums.values()])) {
        const s = sums.get(rowKey(stored))!;
        s.bytes += stored.bytes;
        s.packets += stored.packets;
        s.flows += stored.flows;
      }
      await write([...sums.values()].map((r) => [r.level, trafficLine(r)] as const));
      if (mark !== undefined) await write([markLine(mark)]);
    });
  }

  async function putSeries(rows: readonly SeriesRowDelta[]): Promise<void> {
    ensureStarted();
    if (rows.length === 0) return;
    validateSeriesRows("putSeries", rows, "replace");
    checkLines("putSeries", rows, trafficLine);
    await writes(() => write(rows.map((r) => [r.level, trafficLine(r)] as const)));
  }

  async function readSeries(keys: readonly SeriesRowKey[]): Promise<SeriesRowDelta[]> {
    ensureStarted();
    return keys.length === 0 ? [] : readTraffic(keys);
  }

  async function addResponseTimes(
    rows: readonly ResponseTimeRowDelta[],
    mark?: StoreMark,
  ): Promise<void> {
    ensureStarted();
    if (rows.length === 0) return;
    validateResponseRows("addResponseTimes", rows, "add");
    checkLines("addResponseTimes", rows, (r) => responseLine(r));
    await writes(async () => {
      type Sum = Record<ResponseTimeCounter, number> & {
        key: ResponseTimeRowDelta;
        bins: Map<number, number>;
        stored: boolean;
      };
      const sums = new Map<string, Sum>();
      const add = (r: ResponseTimeRowDelta, stored: boolean) => {
        const k = rowKey({ ...r, direction: "" });
        let s = sums.get(k);
        if (s === undefined) {
          if (stored) return; // read back for a key of this call, so never reached
          s = { key: r, ...zeroResponseTimeCounters(), bins: new Map(), stored: false };
          sums.set(k, s);
        }
        s.stored ||= stored;
        for (const c of responseTimeCounters) s[c] += r[c];
        for (const [key, count] of r.bins) s.bins.set(key, (s.bins.get(key) ?? 0) + count);
      };
      for (const r of rows) add(r, false);
      for (const r of await readResponses(rows)) add(r, true);
      const lines: Array<[SeriesLevel, string]> = [];
      const minutes: ResponseTimeRowDelta[] = [];
      for (const s of sums.values()) {
        const row: ResponseTimeRowDelta = { ...s.key, bins: [...s.bins] };
        for (const c of responseTimeCounters) row[c] = s[c];
        // Adding nothing to nothing stores nothing, as in the embedded store.
        const empty =
          responseTimeCounters.every((c) => row[c] === 0) && row.bins.every(([, n]) => n === 0);
        if (!s.stored && empty) continue;
        lines.push([row.level, responseLine(row)]);
        if (row.level === "1m") minutes.push(row);
      }
      await write(lines);
      await deriveSla(minutes);
      if (mark !== undefined) await write([markLine(mark)]);
    });
  }

  async function putResponseTimes(rows: readonly ResponseTimeRowDelta[]): Promise<void> {
    ensureStarted();
    if (rows.length === 0) return;
    validateResponseRows("putResponseTimes", rows, "replace");
    checkLines("putResponseTimes", rows, (r) => responseLine(r));
    await writes(async () => {
      const storedBins = new Map<string, number[]>();
      for (const r of await readResponses(rows)) {
        storedBins.set(
          rowKey({ ...r, direction: "" }),
          r.bins.map(([key]) => key),
        );
      }
      const lines = rows.map((r) => {
        const keep = new Set(r.bins.map(([key]) => key));
        const stale = storedBins.get(rowKey({ ...r, direction: "" })) ?? [];
        return [
          r.level,
          responseLine(
            r,
            stale.filter((key) => !keep.has(key)),
          ),
        ] as const;
      });
      await write(lines);
      await deriveSla(rows.filter((r) => r.level === "1m"));
    });
  }

  /** The stored SLA rows of these keys (one level each call's keys are of). */
  function readSla(keys: readonly ResponseTimeRowKey[]): Promise<SlaRow[]> {
    return readKeys(
      keys,
      (level) => `SELECT * FROM ${fromSla(level)}`,
      (level, s, v): SlaRow => slaRowOf(level, s, v),
      (k) => rowKey({ ...k, direction: "" }),
    );
  }

  function slaRowOf(level: SeriesLevel, s: Series, v: Record<string, unknown>): SlaRow {
    const row = { ...rowPlace(level, s, v) } as SlaRow;
    for (const c of slaCounters) row[c] = num(v[c]);
    if (typeof v.thresholdMs === "number") row.thresholdMs = v.thresholdMs;
    if (typeof v.targetPercent === "number") row.targetPercent = v.targetPercent;
    return row;
  }

  /**
   * After the 1-minute response rows `minutes` were written (their totals now): judges each
   * minute (sla/series.ts), writes its SLA row and adds the change to the coarse ones (read,
   * added, written back, as the response rows are). In the caller's turn of the write queue.
   */
  async function deriveSla(minutes: readonly ResponseTimeRowDelta[]): Promise<void> {
    if (minutes.length === 0) return;
    const prev = new Map<string, SlaMinuteState>();
    for (const r of await readSla(minutes)) prev.set(rowKey({ ...r, direction: "" }), r);
    const { minuteRows, coarse } = slaWrites(
      minutes.map((m) => {
        const now: MinuteTotals = {
          transactions: m.transactions,
          good: m.good,
          estimated: m.estimated,
        };
        return {
          key: m,
          startMs: m.startMs,
          prev: prev.get(rowKey({ ...m, direction: "" })),
          now,
        };
      }),
      slaLevel,
    );
    const stored = new Map<string, SlaRow>();
    for (const r of coarse.length === 0 ? [] : await readSla(coarse)) {
      stored.set(rowKey({ ...r, direction: "" }), r);
    }
    const lines: Array<[SeriesLevel, string]> = minuteRows.map((r) => [
      slaPolicy(r.level),
      slaLine(r),
    ]);
    for (const d of coarse) {
      const have = stored.get(rowKey({ ...d, direction: "" }));
      const row: SlaRow = { ...d };
      if (have !== undefined) for (const c of slaCounters) row[c] += have[c];
      lines.push([row.level, slaLine(row)]);
    }
    await write(lines);
  }

  async function slaRows(q: SlaQuery): Promise<SlaRow[]> {
    ensureStarted();
    if (!(q.level in SLA)) {
      throw new RangeError(`slaRows: level ${String(q.level)}: expected 1m, 5m, 1h, 1d`);
    }
    const where = [
      `time >= ${msLiteral(timeBound("slaRows: fromMs", q.fromMs))}`,
      `time < ${msLiteral(timeBound("slaRows: toMs", q.toMs))}`,
    ];
    if (q.customer !== undefined) where.push(tagEquals("customer", q.customer));
    if (q.trafficClass !== undefined) where.push(tagEquals("class", q.trafficClass));
    if (q.breachesOnly === true) where.push(`"breachMinutes" > 0`);
    const [result] = await query([
      `SELECT * FROM ${fromSla(q.level)} WHERE ${where.join(" AND ")} GROUP BY "customer", "site", "link", "class"`,
    ]);
    const out: SlaRow[] = [];
    for (const s of result?.series ?? []) {
      for (const v of seriesRows(s)) out.push(slaRowOf(q.level, s, v));
    }
    const text = (r: SlaRow) => [r.customer, r.site, r.link, r.trafficClass];
    return out.sort((a, b) => {
      if (a.startMs !== b.startMs) return a.startMs - b.startMs;
      const x = text(a);
      const y = text(b);
      for (let k = 0; k < 4; k++) if (x[k] !== y[k]) return x[k]! < y[k]! ? -1 : 1;
      return 0;
    });
  }

  const linkStatusKey = (r: Omit<LinkStatusRow, "upMinutes" | "downMinutes">) =>
    `${r.level}\0${r.customer}\0${r.site}\0${r.link}\0${r.startMs}`;
  const linkStatusOf = (level: SeriesLevel, s: Series, v: Record<string, unknown>) => ({
    level,
    startMs: num(v.time),
    customer: tag(s, "customer"),
    site: tag(s, "site"),
    link: tag(s, "link"),
    upMinutes: num(v.upMinutes),
    downMinutes: num(v.downMinutes),
  });
  const linkStatusLine = (r: LinkStatusRow): [SeriesLevel, string] => [
    slaPolicy(r.level),
    pointLine({
      measurement: LINK_STATUS[r.level],
      tags: [
        ["customer", r.customer],
        ["site", r.site],
        ["link", r.link],
      ],
      fields: [
        ["upMinutes", r.upMinutes],
        ["downMinutes", r.downMinutes],
      ],
      timeMs: r.startMs,
    }),
  ];

  /** Adds link-status minutes: the stored rows of their keys read, added to, written back. */
  async function addLinkStatus(rows: readonly LinkStatusRow[]): Promise<void> {
    ensureStarted();
    if (rows.length === 0) return;
    const sums = new Map<string, LinkStatusRow>();
    for (const r of rows) {
      if (!(r.level in LINK_STATUS)) {
        throw new RangeError(`addLinkStatus: level ${String(r.level)}: expected 1m, 5m, 1h, 1d`);
      }
      const k = linkStatusKey(r);
      const was = sums.get(k);
      if (was === undefined) sums.set(k, { ...r });
      else {
        was.upMinutes += r.upMinutes;
        was.downMinutes += r.downMinutes;
      }
    }
    checkLines("addLinkStatus", [...sums.values()], (r) => linkStatusLine(r)[1]);
    await writes(async () => {
      const stored = await readKeys(
        [...sums.values()],
        (level) => `SELECT upMinutes, downMinutes FROM ${fromSla(level, LINK_STATUS)}`,
        linkStatusOf,
        linkStatusKey,
      );
      for (const have of stored) {
        const row = sums.get(linkStatusKey(have))!;
        row.upMinutes += have.upMinutes;
        row.downMinutes += have.downMinutes;
      }
      await write([...sums.values()].map(linkStatusLine));
    });
  }

  async function linkStatus(q: LinkStatusQuery): Promise<LinkStatusRow[]> {
    ensureStarted();
    if (!(q.level in LINK_STATUS)) {
      throw new RangeError(`linkStatus: level ${String(q.level)}: expected 1m, 5m, 1h, 1d`);
    }
    const where = [
      tagEquals("customer", q.customer),
      `time >= ${msLiteral(timeBound("linkStatus: fromMs", q.fromMs))}`,
      `time < ${msLiteral(timeBound("linkStatus: toMs", q.toMs))}`,
    ];
    if (q.site !== undefined) where.push(tagEquals("site", q.site));
    if (q.link !== undefined) where.push(tagEquals("link", q.link));
    const [result] = await query([
      `SELECT upMinutes, downMinutes FROM ${fromSla(q.level, LINK_STATUS)} WHERE ${where.join(" AND ")} GROUP BY "customer", "site", "link"`,
    ]);
    const out: LinkStatusRow[] = [];
    for (const s of result?.series ?? []) {
      for (const v of seriesRows(s)) out.push(linkStatusOf(q.level, s, v));
    }
    return out.sort((a, b) =>
      a.startMs !== b.startMs
        ? a.startMs - b.startMs
        : a.site !== b.site
          ? a.site < b.site
            ? -1
            : 1
          : a.link < b.link
            ? -1
            : a.link > b.link
              ? 1
              : 0,
    );
  }

  async function readResponseTimes(
    keys: readonly ResponseTimeRowKey[],
  ): Promise<ResponseTimeRowDelta[]> {
    ensureStarted();
    return keys.length === 0 ? [] : readResponses(keys);
  }

  async function prune(
    before: Partial<Readonly<Record<SeriesLevel, number>>>,
  ): Promise<Record<SeriesLevel, number>> {
    ensureStarted();
    const deleted: Record<SeriesLevel, number> = { "1m": 0, "5m": 0, "1h": 0, "1d": 0 };
    const cutoffs: Array<[SeriesLevel, number]> = [];
    for (const level of LEVEL_NAMES) {
      const ms = before[level];
      if (ms === undefined || ms === Number.NEGATIVE_INFINITY) continue;
      if (!Number.isFinite(ms)) throw new RangeError(`prune ${level}: ${ms} is not a time`);
      cutoffs.push([level, Math.floor(ms)]);
    }
    if (cutoffs.length === 0) return deleted;
    if (config.api === "v2") {
      log.info(
        { levels: cutoffs.map(([l]) => l) },
        "store.influx (v2): rows are not deleted by flowtally; the bucket's retention period applies",
      );
      return deleted;
    }
    await writes(async () => {
      for (const [level, ms] of cutoffs) {
        const time = `time < ${msLiteral(ms)}`;
        // DELETE says nothing of what it removed: the rows are counted first. DELETE takes no
        // retention policy: it deletes from every policy of the database.
        const [counted] = await query([
          `SELECT count(bytes) FROM ${from(TRAFFIC, level)} WHERE ${time}`,
        ]);
        deleted[level] = num(counted?.series?.[0]?.values[0]?.[1]);
        // SLA minutes are kept as long as the 5-minute rows (a month's report needs them).
        const sla = level === "5m" ? ["1m", "5m"] : level === "1m" ? [] : [level];
        await query([
          `DELETE FROM ${quoteIdentifier(TRAFFIC[level])} WHERE ${time}`,
          `DELETE FROM ${quoteIdentifier(RESPONSE[level])} WHERE ${time}`,
          ...(sla as SeriesLevel[]).flatMap((l) => [
            `DELETE FROM ${quoteIdentifier(SLA[l])} WHERE ${time}`,
            `DELETE FROM ${quoteIdentifier(LINK_STATUS[l])} WHERE ${time}`,
          ]),
        ]);
      }
    });
    return deleted;
  }

  /**
   * One customer's series, every level, traffic and response times: counted first (DROP SERIES
   * and the v2 delete say nothing of what they removed), then v1 `DROP SERIES … WHERE customer`,
   * v2 the delete API with a `customer="…"` predicate over all time. Answers the points counted
   * per measurement.
   */
  async function purgeCustomer(customer: string): Promise<Record<string, number>> {
    ensureStarted();
    const removed: Record<string, number> = {};
    await writes(async () => {
      const who = tagEquals("customer", customer);
      const counted = await query(
        LEVEL_NAMES.flatMap((level) => [
          `SELECT count(bytes) FROM ${from(TRAFFIC, level)} WHERE ${who}`,
          `SELECT count(transactions) FROM ${from(RESPONSE, level)} WHERE ${who}`,
        ]),
      );
      LEVEL_NAMES.forEach((level, k) => {
        removed[TRAFFIC[level]] = num(counted[2 * k]?.series?.[0]?.values[0]?.[1]);
        removed[RESPONSE[level]] = num(counted[2 * k + 1]?.series?.[0]?.values[0]?.[1]);
      });
      const sla = await query(
        LEVEL_NAMES.map(
          (level) => `SELECT count(transactions) FROM ${fromSla(level)} WHERE ${who}`,
        ),
      );
      LEVEL_NAMES.forEach((level, k) => {
        removed[SLA[level]] = num(sla[k]?.series?.[0]?.values[0]?.[1]);
      });
      const status = await query(
        LEVEL_NAMES.map(
          (level) => `SELECT count(upMinutes) FROM ${fromSla(level, LINK_STATUS)} WHERE ${who}`,
        ),
      );
      LEVEL_NAMES.forEach((level, k) => {
        removed[LINK_STATUS[level]] = num(status[k]?.series?.[0]?.values[0]?.[1]);
      });
      if (config.api === "v1") {
        const names = LEVEL_NAMES.flatMap((l) => [
          TRAFFIC[l],
          RESPONSE[l],
          SLA[l],
          LINK_STATUS[l],
        ]).map(quoteIdentifier);
        await query([`DROP SERIES FROM ${names.join(", ")} WHERE ${who}`]);
        return;
      }
      // The delete predicate's string literal: double quotes, with " and \ escaped.
      const literal = `"${customer.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
      for (const level of LEVEL_NAMES) {
        for (const measurement of [
          TRAFFIC[level],
          RESPONSE[level],
          SLA[level],
          LINK_STATUS[level],
        ]) {
          await request(
            "write",
            "/api/v2/delete",
            { org: config.org, bucket: config.bucket },
            JSON.stringify({
              start: "1677-09-21T00:12:44Z",
              stop: "2262-04-11T23:47:16Z",
              predicate: `_measurement="${measurement}" AND customer=${literal}`,
            }),
            "application/json",
          );
        }
      }
    });
    return removed;
  }

  async function overview(q: OverviewQuery): Promise<CustomerTotals[]> {
    ensureStarted();
    const [fromMs, toMs] = overviewRange(q);
    if (fromMs >= toMs || q.customers?.length === 0) return [];
    const who = q.customers === undefined ? "" : ` AND ${anyOf("customer", q.customers)}`;
    const pieces = tileRange(fromMs, toMs, q.coarseUntilMs);
    const statements: string[] = [];
    for (const level of TILING) {
      for (const p of pieces.filter((x) => x.level === level)) {
        statements.push(
          `SELECT sum(bytes) AS bytes, sum(packets) AS packets, sum(flows) AS flows FROM ${from(TRAFFIC, level)} WHERE time >= ${msLiteral(p.fromMs)} AND time < ${msLiteral(p.toMs)}${who} GROUP BY "customer", "direction"`,
        );
      }
    }
    const totals = new Map<string, CustomerTotals>();
    for (const s of (await query(statements)).flatMap((r) => r.series ?? [])) {
      const customer = tag(s, "customer");
      let t = totals.get(customer);
      if (t === undefined) {
        t = { customer, bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0, flows: 0 };
        totals.set(customer, t);
      }
      for (const v of seriesRows(s)) {
        if (tag(s, "direction") === "out") {
          t.bytesOut += num(v.bytes);
          t.packetsOut += num(v.packets);
        } else {
          t.bytesIn += num(v.bytes);
          t.packetsIn += num(v.packets);
        }
        t.flows += num(v.flows);
      }
    }
    return [...totals.values()].sort((a, b) =>
      a.customer < b.customer ? -1 : a.customer > b.customer ? 1 : 0,
    );
  }

  /** Per-period in/out sums of one customer's rows at one level, in time order. */
  async function points(
    name: string,
    q: Omit<TrafficQuery, "level">,
    level: SeriesLevel,
    allowed: readonly SeriesLevel[],
  ): Promise<TrafficPoint[]> {
    if (!allowed.includes(level)) {
      throw new RangeError(`${name}: level ${String(level)}: expected ${allowed.join(", ")}`);
    }
    ensureStarted();
    const [result] = await query([
      `SELECT sum(bytes) AS bytes, sum(packets) AS packets FROM ${from(TRAFFIC, level)} WHERE ${seriesFilter(name, q)} GROUP BY time(${level}), "direction" fill(none)`,
    ]);
    return byTimeOf(
      result?.series ?? [],
      (timeMs): TrafficPoint => ({ timeMs, bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0 }),
      (p, v, out) => {
        if (out) {
          p.bytesOut += num(v.bytes);
          p.packetsOut += num(v.packets);
        } else {
          p.bytesIn += num(v.bytes);
          p.packetsIn += num(v.packets);
        }
      },
    );
  }

  async function traffic(q: TrafficQuery): Promise<TrafficPoint[]> {
    return points("traffic", q, q.level, ["1m", "5m", "1h", "1d"]);
  }

  async function samples(
    q: Omit<TrafficQuery, "level"> & { level: "1m" | "5m" },
  ): Promise<Array<{ timeMs: number; bytesIn: number; bytesOut: number }>> {
    const rows = await points("samples", q, q.level, ["1m", "5m"]);
    return rows.map(({ timeMs, bytesIn, bytesOut }) => ({ timeMs, bytesIn, bytesOut }));
  }

  /** The samples of a SampleQuery as a subquery: `bytes` per period of the level and direction. */
  function samplesSubquery(name: string, q: SampleQuery): string {
    if (q.level !== "1m" && q.level !== "5m") {
      throw new RangeError(`${name}: level ${String(q.level)}: expected 1m, 5m`);
    }
    ensureStarted();
    return `SELECT sum(bytes) AS bytes FROM ${from(TRAFFIC, q.level)} WHERE ${seriesFilter(name, q)} GROUP BY time(${q.level}), "direction" fill(none)`;
  }

  /** samplePeaks' statement: the highest sample per direction and period of `stepMs`. */
  function peaksStatement(q: SampleQuery & { stepMs: number }): string {
    if (!Number.isSafeInteger(q.stepMs) || q.stepMs <= 0) {
      throw new RangeError(`samplePeaks: stepMs ${q.stepMs}: expected a whole number of ms > 0`);
    }
    const inner = samplesSubquery("samplePeaks", q);
    // The outer GROUP BY time() needs the range again (without it InfluxDB ends it at now()).
    return `SELECT max(bytes) AS bytes FROM (${inner}) WHERE time >= ${msLiteral(q.fromMs)} AND time < ${msLiteral(q.toMs)} GROUP BY time(${q.stepMs}ms), "direction" fill(none)`;
  }

  function peaksOf(result: StatementResult | undefined): SampleSums[] {
    return byTimeOf(
      result?.series ?? [],
      (timeMs): SampleSums => ({ timeMs, bytesIn: 0, bytesOut: 0 }),
      (p, v, out) => {
        if (out) p.bytesOut = num(v.bytes);
        else p.bytesIn = num(v.bytes);
      },
    );
  }

  /** sampleRank's statement: the lowest of the `rank` highest samples, and how many there were. */
  function rankStatement(q: SampleQuery & { rank: number }): string {
    if (!Number.isSafeInteger(q.rank) || q.rank < 1) {
      throw new RangeError(`sampleRank: rank ${q.rank}: expected a whole number ≥ 1`);
    }
    const inner = samplesSubquery("sampleRank", q);
    return `SELECT min(b) AS b, count(b) AS n FROM (SELECT top(bytes, ${q.rank}) AS b FROM (${inner}) GROUP BY "direction") GROUP BY "direction"`;
  }

  function rankOf(
    result: StatementResult | undefined,
    rank: number,
  ): { bytesIn: number; bytesOut: number } {
    const out = { bytesIn: 0, bytesOut: 0 };
    for (const s of result?.series ?? []) {
      const [v] = seriesRows(s);
      // Fewer than `rank` samples: the rank-th is a 0.
      if (v === undefined || num(v.n) < rank) continue;
      if (tag(s, "direction") === "out") out.bytesOut = num(v.b);
      else out.bytesIn = num(v.b);
    }
    return out;
  }

  async function samplePeaks(q: SampleQuery & { stepMs: number }): Promise<SampleSums[]> {
    const [result] = await query([peaksStatement(q)]);
    return peaksOf(result);
  }

  async function sampleRank(
    q: SampleQuery & { rank: number },
  ): Promise<{ bytesIn: number; bytesOut: number }> {
    const [result] = await query([rankStatement(q)]);
    return rankOf(result, q.rank);
  }

  /**
   * samplePeaks and sampleRank as two requests at once: in one request InfluxDB runs the
   * statements in turn, and a year of samples took longer than the two side by side.
   */
  async function sampleStats(q: SampleStatsQuery): Promise<SampleStats> {
    const { stepMs, rank } = q;
    const peaks = stepMs === undefined ? undefined : peaksStatement({ ...q, stepMs });
    const top = rank === undefined ? undefined : rankStatement({ ...q, rank });
    if (peaks === undefined && top === undefined) samplesSubquery("sampleStats", q); // its checks
    const [peaksResult, rankResult] = await Promise.all([
      peaks === undefined ? undefined : query([peaks]),
      top === undefined ? undefined : query([top]),
    ]);
    return {
      peaks: peaksResult === undefined ? [] : peaksOf(peaksResult[0]),
      rank: rankResult === undefined ? null : rankOf(rankResult[0], rank!),
    };
  }

  async function responseTimes(q: ResponseTimeQuery): Promise<ResponseTimePoint[]> {
    if (!(q.level in RESPONSE)) {
      throw new RangeError(`responseTimes: level ${String(q.level)}: expected 1m, 5m, 1h, 1d`);
    }
    ensureStarted();
    const [result] = await query([
      `SELECT sum(*) FROM ${from(RESPONSE, q.level)} WHERE ${seriesFilter("responseTimes", q)} GROUP BY time(${q.level}) fill(none)`,
    ]);
    return (result?.series ?? [])
      .flatMap(seriesRows)
      .map((v) => ({ timeMs: num(v.time), ...countersOf(v, "sum_"), bins: binsOf(v) }))
      .sort((a, b) => a.timeMs - b.timeMs);
  }

  return {
    start,
    stop,
    // A server away is a passing failure: the calls that fail say so.
    problem: () => undefined,
    addDeltas,
    addResponseTimes,
    readMarks,
    putSeries,
    readSeries,
    putResponseTimes,
    readResponseTimes,
    prune,
    purgeCustomer,
    overview,
    traffic,
    samples,
    samplePeaks,
    sampleRank,
    sampleStats,
    responseTimes,
    slaRows,
    addLinkStatus,
    linkStatus,
  };
}
