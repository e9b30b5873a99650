/**
 * Helpers of the embedded store's reads: bound parameters, a customer's series filter, keys
 * grouped by level, DuckDB numbers as JS numbers, per-direction sums.
 */
import type { DuckDBType, DuckDBValue } from "@duckdb/node-api";
import type { SeriesLevel, SeriesRowKey, TrafficQuery } from "../schema/series-store.js";
import { BIGINT, VARCHAR } from "./duckdb-api.js";
import { LEVEL_NAMES, timeBound } from "./levels.js";
import { rowKey } from "./row-validation.js";

/** SQL parameters numbered as they are added, so that no value is ever spliced into SQL. */
export class Params {
  readonly values: DuckDBValue[] = [];
  readonly types: DuckDBType[] = [];

  add(value: DuckDBValue, type: DuckDBType): string {
    this.values.push(value);
    this.types.push(type);
    return `$${this.values.length}`;
  }
}

/**
 * The WHERE conditions of one customer's series over [fromMs, toMs), optionally one site, link
 * or class: every value a bound parameter.
 */
export function seriesFilter(
  name: string,
  q: Omit<TrafficQuery, "level">,
  params: Params,
): string[] {
  const from = BigInt(timeBound(`${name}: fromMs`, q.fromMs));
  const to = BigInt(timeBound(`${name}: toMs`, q.toMs));
  const where = [
    `customer = ${params.add(q.customer, VARCHAR)}`,
    `start_ms >= ${params.add(from, BIGINT)}`,
    `start_ms < ${params.add(to, BIGINT)}`,
  ];
  if (q.site !== undefined) where.push(`site = ${params.add(q.site, VARCHAR)}`);
  if (q.link !== undefined) where.push(`link = ${params.add(q.link, VARCHAR)}`);
  if (q.trafficClass !== undefined) {
    where.push(`traffic_class = ${params.add(q.trafficClass, VARCHAR)}`);
  }
  return where;
}

/** Keys grouped by level, with the distinct periods and customers of each (a superset filter). */
export function keysByLevel<K extends Omit<SeriesRowKey, "direction"> & { direction?: string }>(
  keys: readonly K[],
): Array<{ level: SeriesLevel; wanted: Set<string>; starts: bigint[]; customers: string[] }> {
  const out = [];
  for (const level of LEVEL_NAMES) {
    const mine = keys.filter((k) => k.level === level);
    if (mine.length === 0) continue;
    out.push({
      level,
      wanted: new Set(mine.map((k) => rowKey({ ...k, direction: k.direction ?? "" }))),
      starts: [...new Set(mine.map((k) => k.startMs))].map((ms) => BigInt(ms)),
      customers: [...new Set(mine.map((k) => k.customer))],
    });
  }
  return out;
}

export function toNumber(value: unknown): number {
  return typeof value === "bigint" ? Number(value) : (value as number);
}

/** Sums of one direction, 0 when the group has none. */
export function directionSum(column: string, direction: "in" | "out"): string {
  return `coalesce(sum(${column}) FILTER (WHERE direction = '${direction}'), 0)`;
}

/**
 * Whether the file has this table: one written before the table existed, opened read-only
 * (`flowtally query`), has not, and a read of it answers nothing.
 */
export async function hasTable(
  query: (sql: string, values: DuckDBValue[], types: DuckDBType[]) => Promise<unknown[][]>,
  name: string,
): Promise<boolean> {
  const have = await query(
    "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = $1",
    [name],
    [VARCHAR],
  );
  return Number(have[0]![0]) !== 0;
}
