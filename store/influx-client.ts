/**
 * The InfluxDB store's connection: the server's address, database and retention policies, the
 * credentials' header, requests with their timeout and errors, InfluxQL queries in batches,
 * writes by the v1 API or the v2 client, the write queue, and start (a ping) and stop.
 */
import { HttpError, InfluxDB, setLogger, type WriteApi } from "@influxdata/influxdb-client";
import type { InfluxConfig } from "../schema/config.js";
import { FlowtallyError } from "../schema/errors.js";
import type { SeriesLevel } from "../schema/series-store.js";
import type { StatementResult } from "./influx-ql.js";
import { SLA } from "./influx-schema.js";
import type { InfluxStoreDeps } from "./influx-store.js";
import { quoteIdentifier } from "./influx-text.js";
import { createSerialQueue } from "./serial-queue.js";

/** Lines per write request (InfluxDB's guidance: 5 000 to 10 000 points per batch). */
const WRITE_BATCH = 5000;

/** Statements per query request. */
const QUERY_BATCH = 100;

/** How much of an error body a message quotes. */
const BODY_CHARS = 300;

/** What the store's other files use of the connection. */
export type InfluxClient = ReturnType<typeof createInfluxClient>;

export function createInfluxClient(config: InfluxConfig, deps: InfluxStoreDeps) {
  const { log } = deps;
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

  return {
    config,
    log,
    start,
    stop,
    ensureStarted,
    request,
    query,
    write,
    writes,
    from,
    fromSla,
    slaPolicy,
  };
}
