/**
 * The embedded store's billing-profile versions (sla/billing-profile.ts,
 * docs/series-schema.md#billing-profiles): table `billing_profiles` (customer, from_ms, profile),
 * keyed by (customer, from_ms), made at the first write (a file that never had one reads as
 * empty). Never pruned: a version can stay in force for years. Rows go in as two lists unnested
 * in one statement (bound parameters, ~70 k rows/s here, against ~6 k for multi-row VALUES).
 */
import type { BillingProfileQuery, BillingProfileRow } from "../schema/series-store.js";
import { BIGINT, LIST, listValue, VARCHAR } from "./duckdb-api.js";
import type { DuckDbConnection } from "./duckdb-connection.js";
import { hasTable } from "./duckdb-sql.js";
import { timeBound } from "./levels.js";

export const BILLING_PROFILES_TABLE = "billing_profiles";

const CREATE_SQL = `CREATE TABLE IF NOT EXISTS ${BILLING_PROFILES_TABLE} (
  customer VARCHAR NOT NULL,
  from_ms BIGINT NOT NULL,
  profile VARCHAR NOT NULL,
  PRIMARY KEY (customer, from_ms)
)`;

export function createDuckDbBillingProfiles(db: DuckDbConnection) {
  const { query, inTransaction } = db;

  async function putBillingProfiles(rows: readonly BillingProfileRow[]): Promise<void> {
    if (rows.length === 0) return;
    // One row per key within the call: DuckDB keeps one of two updates of a key in one INSERT.
    const byKey = new Map<string, BillingProfileRow>();
    for (const r of rows) {
      timeBound("putBillingProfiles: fromMs", r.fromMs);
      byKey.set(`${r.customer}\0${r.fromMs}`, r);
    }
    const list = [...byKey.values()];
    await inTransaction("write billing profiles", async (w) => {
      await w.run(CREATE_SQL);
      await w.run(
        `INSERT INTO ${BILLING_PROFILES_TABLE} (customer, from_ms, profile)
SELECT c, f, p FROM (SELECT unnest($1) AS c, unnest($2) AS f, unnest($3) AS p)
ON CONFLICT (customer, from_ms) DO UPDATE SET profile = excluded.profile`,
        [
          listValue(list.map((r) => r.customer)),
          listValue(list.map((r) => BigInt(r.fromMs))),
          listValue(list.map((r) => r.profile)),
        ],
        [LIST(VARCHAR), LIST(BIGINT), LIST(VARCHAR)],
      );
    });
  }

  async function billingProfiles(q: BillingProfileQuery): Promise<BillingProfileRow[]> {
    if (!(await hasTable(query, BILLING_PROFILES_TABLE))) return [];
    const where = q.customer === undefined ? "" : "WHERE customer = $1";
    const latest =
      q.latest === true ? "QUALIFY from_ms = max(from_ms) OVER (PARTITION BY customer)" : "";
    const rows = await query(
      `SELECT customer, from_ms, profile FROM ${BILLING_PROFILES_TABLE} ${where} ${latest}
ORDER BY customer, from_ms`,
      q.customer === undefined ? [] : [q.customer],
      q.customer === undefined ? [] : [VARCHAR],
    );
    return rows.map(([customer, fromMs, profile]) => ({
      customer: String(customer),
      fromMs: Number(fromMs),
      profile: String(profile),
    }));
  }

  return { putBillingProfiles, billingProfiles };
}
