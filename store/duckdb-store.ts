/**
 * The embedded store: the series of `schema/series-store.ts` in one DuckDB file, for the
 * single-box setup (no server to install; the DuckDB binary ships inside an npm package).
 *
 * Layout: one table per level (`series_1m`, `series_5m`, `series_1h`, `series_1d`), each keyed by
 * (customer, site, link, traffic_class, direction, start_ms), plus a view `series` with a
 * `level` column over all four for people who query the file by hand. One table per level
 * rather than one table with a level column because every read names exactly one level: a
 * month's overview reads ~30 rows per key from `series_1d` instead of scanning row groups that
 * mix all levels (deltas of all four levels arrive interleaved, so a level column would defeat
 * DuckDB's per-row-group min/max pruning), and each primary-key index is smaller.
 *
 * Columns: `start_ms` BIGINT (period start, ms since the epoch, aligned to the level);
 * `bytes`, `packets`, `flows` DOUBLE. DOUBLE and not BIGINT because deltas can carry a fraction
 * (a non-integer sampling rate, see collector/aggregate/partial-sums.ts) that BIGINT would round
 * away; a DOUBLE holds every JS number as it is and sums whole numbers exactly up to 2^53
 * (9e15 bytes: over 8 days at 100 Gbit/s in one row), the same arithmetic the aggregator does.
 *
 * Writes: `addDeltas` appends the rows into a temporary staging table (DuckDB appender, data
 * chunks of 2048 rows) and moves them with one `INSERT ... SELECT ... GROUP BY ... ON CONFLICT
 * DO UPDATE SET bytes = bytes + excluded.bytes, ...` per level, all in one transaction. The
 * GROUP BY is required, not an optimisation: DuckDB drops all but one of the updates when two
 * rows of one INSERT hit the same key. Measured against the alternatives on 10 k-row batches:
 * appender ~170-200 k rows/s, unnest of LIST parameters ~70 k rows/s, multi-row VALUES with
 * bound parameters ~6 k rows/s.
 *
 * Concurrency: one connection writes and one reads, each running one statement sequence at a
 * time (a connection runs one thing at a time, and a transaction is per connection); calls
 * queue. Reads see the last committed state (DuckDB's MVCC), never half of an `addDeltas`.
 *
 * Failures: every error leaves as a FlowtallyError. A committed write is in the write-ahead log
 * (`<path>.wal`) before the call returns, so a stop whose checkpoint fails (disk full, read-only)
 * loses nothing: the next open applies the log. A write that fails is rolled back whole. After a
 * FATAL error DuckDB refuses every later call on that instance, so the store reports itself down
 * (`problem()`) for good. Before each write the store checks that its path still names the file
 * it opened (device and inode): a file deleted or replaced under the process would swallow the
 * rows into a file no one can open again, so writes are refused from then on (FT_STORE_FILE).
 */
import type { SeriesStore } from "../schema/series-store.js";
import type { LevelLookup } from "../sla/config-levels.js";
import { createDuckDbBillingProfiles } from "./duckdb-billing-profiles.js";
import { createDuckDbConnection } from "./duckdb-connection.js";
import { createDuckDbLinkStatusRows } from "./duckdb-link-status-rows.js";
import { createDuckDbPrune } from "./duckdb-prune.js";
import { createDuckDbReadBack } from "./duckdb-read-back.js";
import { createDuckDbResponseReads } from "./duckdb-response-reads.js";
import { createDuckDbTrafficReads } from "./duckdb-traffic-reads.js";
import { createDuckDbWrites } from "./duckdb-writes.js";

export interface DuckDbStoreOptions {
  /** The database file; its directory is created if missing. ":memory:" for a throwaway store. */
  path: string;
  /**
   * Open for reading only (`flowtally query`): a missing file is an error, never created, nothing
   * is written to the file (no tables made, no checkpoint), and writes are refused.
   */
  readOnly?: boolean;
  /**
   * The SLA level of each class now (sla/config-levels.ts), written into a minute's SLA row when
   * it is first measured; without: every class has no SLA (its minutes are no data).
   */
  slaLevel?: LevelLookup;
}

/** The store: its connection (store/duckdb-connection.ts) and the files of each job, wired. */
export function createDuckDbStore(options: DuckDbStoreOptions): SeriesStore {
  const slaLevel: LevelLookup = options.slaLevel ?? (() => undefined);
  const db = createDuckDbConnection(options);
  return {
    start: db.start,
    stop: db.stop,
    problem: db.problem,
    ...createDuckDbWrites(db, slaLevel),
    ...createDuckDbReadBack(db),
    ...createDuckDbPrune(db),
    ...createDuckDbTrafficReads(db),
    ...createDuckDbResponseReads(db),
    ...createDuckDbLinkStatusRows(db),
    ...createDuckDbBillingProfiles(db),
  };
}
