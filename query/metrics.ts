/**
 * `GET /metrics`: the running process's counters in the Prometheus text format (prom-client).
 * Everything is read from the process's own counters at scrape time, so the hot path does no
 * metrics work at all; counters that the collector keeps as running totals are exposed as
 * Prometheus counters (increased by what changed since the last scrape).
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";

/** What the process reports at each scrape. */
export interface MetricsSnapshot {
  exporters: ReadonlyArray<{
    exporter: string;
    datagrams: number;
    records: number;
    lostRecords: number;
    templates: number;
  }>;
  problems: Readonly<Record<string, number>>;
  inputs: ReadonlyArray<{
    listen: string;
    datagrams: number;
    /** Datagrams from sources not in allowedExporters (absent: 0). */
    refusedDatagrams?: number;
    kernelDrops: number | null;
  }>;
  rcvbufErrors: number | null;
  records: number;
  unattributedRecords: number;
  /** Records dropped before the sums, by reason (RecordDrops). */
  droppedRecords?: Readonly<Record<string, number>>;
  seriesRowsWritten: number;
  storeErrors: number;
  pendingRows: number;
  heldSets: number;
  /** Interface status samples that came after their minutes were closed (sla/link-status.ts). */
  lateLinkStatusSamples?: number;
  /** A collector's queue side (flowtally collect). */
  queue?: {
    bufferedMessages: number;
    bufferedRows: number;
    shippedMessages: number;
    droppedRows: number;
  } | null;
  /** An aggregator's side (flowtally aggregate). */
  aggregator?: {
    applied: number;
    duplicates: number;
    rejected: number;
    waiting: number;
    active: number;
    lagSeconds: number;
  };
  /** SLA alert webhooks (sla/alerts/webhook-sender.ts): counters per webhook. */
  slaWebhooks?: ReadonlyArray<{
    name: string;
    pending: number;
    delivered: number;
    failed: number;
    dropped: number;
    attempts: number;
    failedAttempts: number;
  }>;
  /** The query API's side (added by the API itself at each scrape). */
  api?: ApiStats;
}

/** A process's counters before anything happened (aggregate and serve have no inputs of their own). */
export function emptyMetricsSnapshot(): MetricsSnapshot {
  return {
    exporters: [],
    problems: {},
    inputs: [],
    rcvbufErrors: null,
    records: 0,
    unattributedRecords: 0,
    seriesRowsWritten: 0,
    storeErrors: 0,
    pendingRows: 0,
    heldSets: 0,
  };
}

/** Requests Node's HTTP parser refused, by reason (query/api/server.ts). */
export type ApiClientError = "timeout" | "headers-too-large" | "malformed";

/** The query API's own counters (query/api/server.ts), which it passes in with each scrape. */
export interface ApiStats {
  /** Connections open now. */
  connections: number;
  /** Connections closed as they arrived because api.maxConnections were open. */
  connectionsRefused: number;
  clientErrors: Readonly<Record<ApiClientError, number>>;
  /** Requests with credentials that were not right (a wrong token or scheme). */
  authFailures: number;
  /** Requests answered 429 because their client was blocked. */
  authBlockedRequests: number;
  /** Client addresses (an IPv6 /64 counts as one) blocked now. */
  authBlockedAddresses: number;
  /** Client addresses dropped from the full failure table (api.authFailures.maxAddresses). */
  authAddressesEvicted: number;
}

export interface Metrics {
  readonly contentType: string;
  /** The exposition text (runs the collection); `api`: the serving API's own counters. */
  text(api?: ApiStats): Promise<string>;
}

export function createMetrics(snapshot: () => MetricsSnapshot | Promise<MetricsSnapshot>): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "flowtally_" });
  let current: MetricsSnapshot | undefined;
  /** Counters fed from running totals: increased by the difference since the last scrape. */
  const totals = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    read: (s: MetricsSnapshot) => Array<[Record<L, string>, number]>,
  ) => {
    const last = new Map<string, number>();
    return new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        if (current === undefined) return;
        for (const [labels, value] of read(current)) {
          const key = JSON.stringify(labels);
          const delta = value - (last.get(key) ?? 0);
          // A series shows from its first scrape, at 0 if need be; a total that went down (a
          // restart of its source) starts over.
          if (delta > 0 || !last.has(key)) this.inc(labels as never, Math.max(delta, 0));
          last.set(key, value);
        }
      },
    });
  };
  const gauge = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    read: (s: MetricsSnapshot) => Array<[Record<L, string>, number]>,
  ) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        if (current === undefined) return;
        this.reset();
        for (const [labels, value] of read(current)) this.set(labels as never, value);
      },
    });

  totals(
    "flowtally_datagrams_received_total",
    "Flow export datagrams received, per exporter",
    ["exporter"],
    (s) => s.exporters.map((e) => [{ exporter: e.exporter }, e.datagrams]),
  );
  totals(
    "flowtally_records_received_total",
    "Flow records decoded, per exporter",
    ["exporter"],
    (s) => s.exporters.map((e) => [{ exporter: e.exporter }, e.records]),
  );
  totals(
    "flowtally_records_lost_total",
    "Flow records missing according to the exporters' sequence numbers (estimated loss)",
    ["exporter"],
    (s) => s.exporters.map((e) => [{ exporter: e.exporter }, e.lostRecords]),
  );
  gauge("flowtally_templates", "Templates known, per exporter", ["exporter"], (s) =>
    s.exporters.map((e) => [{ exporter: e.exporter }, e.templates]),
  );
  totals("flowtally_decode_problems_total", "Decode problems by reason", ["reason"], (s) =>
    Object.entries(s.problems).map(([reason, n]) => [{ reason }, n]),
  );
  totals(
    "flowtally_udp_kernel_drops_total",
    "Datagrams the kernel dropped on flowtally's sockets (receive buffer full)",
    ["listen"],
    (s) => s.inputs.map((i) => [{ listen: i.listen }, i.kernelDrops ?? 0]),
  );
  totals("flowtally_udp_datagrams_total", "Datagrams read from each UDP input", ["listen"], (s) =>
    s.inputs.map((i) => [{ listen: i.listen }, i.datagrams]),
  );
  totals(
    "flowtally_host_udp_rcvbuf_errors_total",
    "UDP RcvbufErrors of the whole host since flowtally started (/proc/net/snmp)",
    [],
    (s) => [[{}, s.rcvbufErrors ?? 0]],
  );
  totals("flowtally_records_total", "Records classified (all inputs)", [], (s) => [
    [{}, s.records],
  ]);
  totals(
    "flowtally_records_unattributed_total",
    "Records that matched no customer (kept as unattributed)",
    [],
    (s) => [[{}, s.unattributedRecords]],
  );
  totals(
    "flowtally_records_dropped_total",
    "Records dropped before the sums, by reason (absurd counts or rates, too old for aggregation.maxPast)",
    ["reason"],
    (s) => Object.entries(s.droppedRecords ?? {}).map(([reason, n]) => [{ reason }, n]),
  );
  totals(
    "flowtally_datagrams_refused_total",
    "Datagrams dropped because their source is not in the input's allowedExporters",
    ["listen"],
    (s) => s.inputs.map((i) => [{ listen: i.listen }, i.refusedDatagrams ?? 0]),
  );
  totals("flowtally_series_rows_written_total", "Series rows the store accepted", [], (s) => [
    [{}, s.seriesRowsWritten],
  ]);
  totals(
    "flowtally_link_status_late_samples_total",
    "Interface status samples dropped: their minutes were already closed",
    [],
    (s) => [[{}, s.lateLinkStatusSamples ?? 0]],
  );
  totals("flowtally_store_write_errors_total", "Store writes that failed (rows kept)", [], (s) => [
    [{}, s.storeErrors],
  ]);
  gauge("flowtally_store_pending_rows", "Rows waiting for the store", [], (s) => [
    [{}, s.pendingRows],
  ]);
  gauge("flowtally_held_data_sets", "Data sets waiting for their template", [], (s) => [
    [{}, s.heldSets],
  ]);

  const hooks = (s: MetricsSnapshot) => s.slaWebhooks ?? [];
  for (const [name, help, read] of [
    ["delivered", "SLA webhook deliveries that got a 2xx", (w) => w.delivered],
    ["failed", "SLA webhook deliveries given up after maxAttempts", (w) => w.failed],
    ["dropped", "SLA webhook deliveries dropped because maxPending were waiting", (w) => w.dropped],
    ["attempts", "SLA webhook attempts (first ones and retries)", (w) => w.attempts],
    ["failed_attempts", "SLA webhook attempts without a 2xx answer", (w) => w.failedAttempts],
  ] as Array<
    [string, string, (w: NonNullable<MetricsSnapshot["slaWebhooks"]>[number]) => number]
  >) {
    totals(`flowtally_sla_webhook_${name}_total`, help, ["webhook"], (s) =>
      hooks(s).map((w) => [{ webhook: w.name }, read(w)]),
    );
  }
  gauge("flowtally_sla_webhook_pending", "SLA webhook deliveries waiting", ["webhook"], (s) =>
    hooks(s).map((w) => [{ webhook: w.name }, w.pending]),
  );

  const queue = (s: MetricsSnapshot) =>
    s.queue === null || s.queue === undefined ? [] : [s.queue];
  gauge(
    "flowtally_partials_buffered_messages",
    "Partials messages waiting for Redis in this collector",
    [],
    (s) => queue(s).map((q) => [{}, q.bufferedMessages]),
  );
  gauge(
    "flowtally_partials_buffered_rows",
    "Partial rows waiting for Redis in this collector (bounded by collector.maxBufferedRows)",
    [],
    (s) => queue(s).map((q) => [{}, q.bufferedRows]),
  );
  totals("flowtally_partials_shipped_total", "Partials messages delivered to the queue", [], (s) =>
    queue(s).map((q) => [{}, q.shippedMessages]),
  );
  totals(
    "flowtally_partial_rows_dropped_total",
    "Partial rows dropped because Redis was unreachable past collector.maxBufferedRows",
    [],
    (s) => queue(s).map((q) => [{}, q.droppedRows]),
  );
  const agg = (s: MetricsSnapshot) => (s.aggregator === undefined ? [] : [s.aggregator]);
  totals(
    "flowtally_partials_applied_total",
    "Partials messages applied to the totals (once each)",
    [],
    (s) => agg(s).map((a) => [{}, a.applied]),
  );
  totals(
    "flowtally_partials_duplicates_total",
    "Partials messages delivered again and not counted twice",
    [],
    (s) => agg(s).map((a) => [{}, a.duplicates]),
  );
  totals("flowtally_partials_rejected_total", "Partials messages refused as malformed", [], (s) =>
    agg(s).map((a) => [{}, a.rejected]),
  );
  gauge("flowtally_queue_jobs", "Partials jobs in the queue, by state", ["state"], (s) =>
    agg(s).flatMap((a) => [
      [{ state: "waiting" }, a.waiting],
      [{ state: "active" }, a.active],
    ]),
  );
  gauge(
    "flowtally_queue_lag_seconds",
    "Age of the oldest partials job waiting in the queue",
    [],
    (s) => agg(s).map((a) => [{}, a.lagSeconds]),
  );

  const api = (s: MetricsSnapshot) => (s.api === undefined ? [] : [s.api]);
  gauge("flowtally_api_connections", "Connections open to the HTTP API", [], (s) =>
    api(s).map((a) => [{}, a.connections]),
  );
  totals(
    "flowtally_api_connections_refused_total",
    "Connections to the HTTP API closed as they arrived because api.maxConnections were open",
    [],
    (s) => api(s).map((a) => [{}, a.connectionsRefused]),
  );
  totals(
    "flowtally_api_client_errors_total",
    "HTTP requests refused before routing: timeout (api.headersTimeout, api.requestTimeout), headers-too-large (api.maxHeaderSize), malformed",
    ["reason"],
    (s) =>
      api(s).flatMap((a) =>
        Object.entries(a.clientErrors).map(
          ([reason, n]) => [{ reason }, n] as [{ reason: string }, number],
        ),
      ),
  );
  totals(
    "flowtally_api_auth_failures_total",
    "HTTP API requests with a wrong bearer token or scheme",
    [],
    (s) => api(s).map((a) => [{}, a.authFailures]),
  );
  totals(
    "flowtally_api_auth_blocked_requests_total",
    "HTTP API requests answered 429 because their client had api.authFailures.limit failures in the window",
    [],
    (s) => api(s).map((a) => [{}, a.authBlockedRequests]),
  );
  gauge(
    "flowtally_api_auth_blocked_addresses",
    "Client addresses (an IPv6 /64 counts as one) blocked now for failed authentications",
    [],
    (s) => api(s).map((a) => [{}, a.authBlockedAddresses]),
  );
  totals(
    "flowtally_api_auth_addresses_evicted_total",
    "Client addresses dropped from the full failed-authentication table (api.authFailures.maxAddresses)",
    [],
    (s) => api(s).map((a) => [{}, a.authAddressesEvicted]),
  );

  return {
    contentType: registry.contentType,
    async text(apiStats) {
      const s = await snapshot();
      current = apiStats === undefined ? s : { ...s, api: apiStats };
      return registry.metrics();
    },
  };
}
