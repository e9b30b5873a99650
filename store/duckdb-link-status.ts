/**
 * The link-status series on the embedded store (docs/series-schema.md#link-status-series): one
 * table per level (`link_status_1m` ...), its rows keyed by (customer, site, link, start_ms),
 * with up and down minutes that writes add to. The SQL and the rows' shapes;
 * duckdb-link-status-rows.ts runs them on the store's connections. Parameters are numbered and
 * typed by kind, never spliced.
 */
import type { LinkStatusQuery, LinkStatusRow, SeriesLevel } from "../schema/series-store.js";
import { LEVEL_NAMES, timeBound } from "./levels.js";

export const LINK_STATUS_TABLES: Readonly<Record<SeriesLevel, string>> = {
  "1m": "link_status_1m",
  "5m": "link_status_5m",
  "1h": "link_status_1h",
  "1d": "link_status_1d",
};

const KEY = "customer, site, link, start_ms";

export const CREATE_LINK_STATUS_SQL = LEVEL_NAMES.map(
  (level) => `CREATE TABLE IF NOT EXISTS ${LINK_STATUS_TABLES[level]} (
  start_ms BIGINT NOT NULL,
  customer VARCHAR NOT NULL,
  site VARCHAR NOT NULL,
  link VARCHAR NOT NULL,
  up_minutes DOUBLE NOT NULL,
  down_minutes DOUBLE NOT NULL,
  PRIMARY KEY (${KEY})
)`,
);

export type ParamKind = "bigint" | "varchar" | "double";

export interface Statement {
  sql: string;
  values: Array<bigint | string | number>;
  kinds: ParamKind[];
}

/**
 * The writer's staging table of link-status writes (temporary: its connection's own), appended
 * to and moved into the level tables in one transaction, as the traffic's `staging` is
 * (store/duckdb-writes.ts): `seq` is the row's place in the call, so that of a key's rows in
 * one put the last wins.
 */
export const CREATE_LINK_STATUS_STAGING_SQL = `CREATE TEMP TABLE IF NOT EXISTS link_status_staging (
  level VARCHAR, start_ms BIGINT, customer VARCHAR, site VARCHAR, link VARCHAR,
  up_minutes DOUBLE, down_minutes DOUBLE, seq DOUBLE
)`;

/**
 * Checks every row before anything is staged (a bad row writes nothing); answers the levels
 * present.
 */
export function checkLinkStatusRows(
  rows: readonly LinkStatusRow[],
  mode: "add" | "put",
): Set<SeriesLevel> {
  const what = mode === "add" ? "addLinkStatus" : "putLinkStatus";
  const levels = new Set<SeriesLevel>();
  for (const r of rows) {
    if (!(r.level in LINK_STATUS_TABLES)) {
      throw new RangeError(`${what}: level ${String(r.level)}: expected 1m, 5m, 1h, 1d`);
    }
    if (!Number.isInteger(r.startMs)) {
      throw new RangeError(`${what}: startMs ${r.startMs}: expected whole ms`);
    }
    if (!Number.isFinite(r.upMinutes))
      throw new RangeError(`${what}: ${r.upMinutes} is not a count`);
    if (!Number.isFinite(r.downMinutes)) {
      throw new RangeError(`${what}: ${r.downMinutes} is not a count`);
    }
    levels.add(r.level);
  }
  return levels;
}

/**
 * Moves one level's staged rows into its table: "add" sums a key's rows and adds them to the
 * stored ones (one statement may not touch a row twice, hence the GROUP BY); "put" replaces the
 * stored ones with the key's last row of the call.
 */
export function linkStatusUpsertSql(level: SeriesLevel, mode: "add" | "put"): string {
  const [up, down, set] =
    mode === "add"
      ? [
          "sum(up_minutes)",
          "sum(down_minutes)",
          "up_minutes = up_minutes + excluded.up_minutes, down_minutes = down_minutes + excluded.down_minutes",
        ]
      : [
          "arg_max(up_minutes, seq)",
          "arg_max(down_minutes, seq)",
          "up_minutes = excluded.up_minutes, down_minutes = excluded.down_minutes",
        ];
  // The level is a literal from LINK_STATUS_TABLES' keys, not a caller's string.
  return `INSERT INTO ${LINK_STATUS_TABLES[level]} (${KEY}, up_minutes, down_minutes)
SELECT ${KEY}, ${up}, ${down} FROM temp.link_status_staging WHERE level = '${level}'
GROUP BY ${KEY}
ON CONFLICT (${KEY}) DO UPDATE SET ${set}`;
}

/** The SELECT of `linkStatus`. */
export function linkStatusSelect(q: LinkStatusQuery): Statement {
  if (!(q.level in LINK_STATUS_TABLES)) {
    throw new RangeError(`linkStatus: level ${String(q.level)}: expected 1m, 5m, 1h, 1d`);
  }
  const values: Statement["values"] = [
    q.customer,
    BigInt(timeBound("linkStatus: fromMs", q.fromMs)),
    BigInt(timeBound("linkStatus: toMs", q.toMs)),
  ];
  const kinds: ParamKind[] = ["varchar", "bigint", "bigint"];
  const where = ["customer = $1", "start_ms >= $2", "start_ms < $3"];
  for (const [column, value] of [
    ["site", q.site],
    ["link", q.link],
  ] as const) {
    if (value === undefined) continue;
    values.push(value);
    kinds.push("varchar");
    where.push(`${column} = $${values.length}`);
  }
  return {
    sql: `SELECT start_ms, customer, site, link, up_minutes, down_minutes FROM ${LINK_STATUS_TABLES[q.level]}
WHERE ${where.join(" AND ")} ORDER BY start_ms, site, link`,
    values,
    kinds,
  };
}

/** The SELECT of `downMinutes`: every customer's 1-minute rows with a down minute. */
export function downMinutesSelect(q: { fromMs: number; toMs: number }): Statement {
  return {
    sql: `SELECT start_ms, customer, site, link, up_minutes, down_minutes FROM ${LINK_STATUS_TABLES["1m"]}
WHERE start_ms >= $1 AND start_ms < $2 AND down_minutes > 0`,
    values: [
      BigInt(timeBound("downMinutes: fromMs", q.fromMs)),
      BigInt(timeBound("downMinutes: toMs", q.toMs)),
    ],
    kinds: ["bigint", "bigint"],
  };
}

export function linkStatusRowOf(level: SeriesLevel, r: readonly unknown[]): LinkStatusRow {
  return {
    level,
    startMs: Number(r[0]),
    customer: String(r[1]),
    site: String(r[2]),
    link: String(r[3]),
    upMinutes: Number(r[4]),
    downMinutes: Number(r[5]),
  };
}

/** Keys per SELECT of `readLinkStatus`: 4 parameters each. */
const READ_CHUNK = 500;

/** The SELECTs of `readLinkStatus`: per level, the keys joined as a VALUES list. */
export function linkStatusReads(
  keys: readonly LinkStatusRow[],
): Array<Statement & { level: SeriesLevel }> {
  const byLevel = new Map<SeriesLevel, LinkStatusRow[]>();
  for (const k of keys) {
    if (!(k.level in LINK_STATUS_TABLES)) {
      throw new RangeError(`readLinkStatus: level ${String(k.level)}: expected 1m, 5m, 1h, 1d`);
    }
    const list = byLevel.get(k.level) ?? [];
    byLevel.set(k.level, list);
    list.push(k);
  }
  const out: Array<Statement & { level: SeriesLevel }> = [];
  for (const [level, list] of byLevel) {
    for (let at = 0; at < list.length; at += READ_CHUNK) {
      const values: Statement["values"] = [];
      const kinds: ParamKind[] = [];
      const tuples = list.slice(at, at + READ_CHUNK).map((k) => {
        const n = values.length;
        values.push(k.customer, k.site, k.link, BigInt(k.startMs));
        kinds.push("varchar", "varchar", "varchar", "bigint");
        return `($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4})`;
      });
      out.push({
        level,
        sql: `SELECT t.start_ms, t.customer, t.site, t.link, t.up_minutes, t.down_minutes FROM ${LINK_STATUS_TABLES[level]} t
JOIN (VALUES ${tuples.join(", ")}) k(customer, site, link, start_ms)
ON t.customer = k.customer AND t.site = k.site AND t.link = k.link AND t.start_ms = k.start_ms`,
        values,
        kinds,
      });
    }
  }
  return out;
}
