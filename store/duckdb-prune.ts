/** The embedded store's deletions: rows past retention, and every row of one customer. */
import type { SeriesLevel } from "../schema/series-store.js";
import { BILLING_PROFILES_TABLE } from "./duckdb-billing-profiles.js";
import type { DuckDbConnection } from "./duckdb-connection.js";
import { LINK_STATUS_TABLES } from "./duckdb-link-status.js";
import { RESPONSE_TABLES, TABLES } from "./duckdb-schema.js";
import { SLA_TABLES } from "./duckdb-sla.js";
import { hasTable } from "./duckdb-sql.js";
import { LEVEL_NAMES } from "./levels.js";

export function createDuckDbPrune(db: DuckDbConnection) {
  const { opened, write, writeRefusal, writeError, inTransaction, query } = db;

  async function prune(
    before: Partial<Readonly<Record<SeriesLevel, number>>>,
  ): Promise<Record<SeriesLevel, number>> {
    const deleted: Record<SeriesLevel, number> = { "1m": 0, "5m": 0, "1h": 0, "1d": 0 };
    const w = opened().writer;
    await write(async () => {
      const refused = writeRefusal();
      if (refused !== undefined) throw refused;
      for (const level of LEVEL_NAMES) {
        const ms = before[level];
        if (ms === undefined || ms === Number.NEGATIVE_INFINITY) continue;
        if (!Number.isFinite(ms)) throw new RangeError(`prune ${level}: ${ms} is not a time`);
        try {
          const r = await w.run(`DELETE FROM ${TABLES[level]} WHERE start_ms < $1`, [
            BigInt(Math.floor(ms)),
          ]);
          await w.run(`DELETE FROM ${RESPONSE_TABLES[level]} WHERE start_ms < $1`, [
            BigInt(Math.floor(ms)),
          ]);
          // SLA minutes are kept as long as the 5-minute rows (a month's report needs them).
          const slaLevels = level === "5m" ? ["1m", "5m"] : level === "1m" ? [] : [level];
          for (const l of slaLevels as SeriesLevel[]) {
            for (const table of [SLA_TABLES[l], LINK_STATUS_TABLES[l]]) {
              await w.run(`DELETE FROM ${table} WHERE start_ms < $1`, [BigInt(Math.floor(ms))]);
            }
          }
          deleted[level] = Number(r.rowsChanged);
        } catch (e) {
          throw writeError("delete old rows", e);
        }
      }
    });
    return deleted;
  }

  /**
   * Deletes every row of one customer, traffic, response times, SLA and link status, and its
   * billing-profile versions (a report then uses its profile now, or none), in one transaction.
   */
  async function purgeCustomer(customer: string): Promise<Record<string, number>> {
    const removed: Record<string, number> = {};
    // The table is made at the first write and never dropped: asked once, before.
    const profiles = await hasTable(query, BILLING_PROFILES_TABLE);
    await inTransaction("purge", async (w) => {
      const b = profiles
        ? await w.run(`DELETE FROM ${BILLING_PROFILES_TABLE} WHERE customer = $1`, [customer])
        : undefined;
      removed.billing_profiles = b === undefined ? 0 : Number(b.rowsChanged);
      for (const level of LEVEL_NAMES) {
        const t = await w.run(`DELETE FROM ${TABLES[level]} WHERE customer = $1`, [customer]);
        removed[`traffic_${level}`] = Number(t.rowsChanged);
        const r = await w.run(`DELETE FROM ${RESPONSE_TABLES[level]} WHERE customer = $1`, [
          customer,
        ]);
        removed[`response_${level}`] = Number(r.rowsChanged);
        const s = await w.run(`DELETE FROM ${SLA_TABLES[level]} WHERE customer = $1`, [customer]);
        removed[`sla_${level}`] = Number(s.rowsChanged);
        const l = await w.run(`DELETE FROM ${LINK_STATUS_TABLES[level]} WHERE customer = $1`, [
          customer,
        ]);
        removed[`link_status_${level}`] = Number(l.rowsChanged);
      }
    });
    return removed;
  }

  return { prune, purgeCustomer };
}
