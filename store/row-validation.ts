/**
 * The checks every store makes on the rows it is given, before it writes anything: a call with
 * one bad row writes nothing, and both stores refuse the same rows with the same messages. Pure.
 */
import {
  type ResponseTimeRowDelta,
  responseTimeCounters,
  type SeriesRowDelta,
  type SeriesRowKey,
} from "../schema/series-store.js";
import { LEVEL_MS } from "./levels.js";

/** One string per (level, period, series): the identity of a stored row. */
export function rowKey(k: Omit<SeriesRowKey, "direction"> & { direction: string }): string {
  return [k.level, k.startMs, k.customer, k.site, k.link, k.trafficClass, k.direction].join("\0");
}

function checkPeriod(where: string, row: { level: string; startMs: number }): void {
  const ms = LEVEL_MS[row.level as keyof typeof LEVEL_MS] as number | undefined;
  if (ms === undefined) throw new RangeError(`${where}.level ${String(row.level)}: unknown level`);
  if (!Number.isSafeInteger(row.startMs) || row.startMs % ms !== 0) {
    throw new RangeError(`${where}.startMs ${row.startMs}: not a multiple of ${row.level}`);
  }
}

/**
 * Checks traffic rows (`addDeltas`, `putSeries`); `replace` also refuses a key given twice, since
 * absolute totals of one key in one call would contradict each other.
 */
export function validateSeriesRows(
  call: string,
  rows: readonly SeriesRowDelta[],
  mode: "add" | "replace",
): void {
  const keys = new Set<string>();
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const where = `${call}: rows[${i}]`;
    checkPeriod(where, row);
    if (row.direction !== "in" && row.direction !== "out") {
      throw new RangeError(`${where}.direction ${String(row.direction)}: expected "in" or "out"`);
    }
    if (
      !Number.isFinite(row.bytes) ||
      !Number.isFinite(row.packets) ||
      !Number.isFinite(row.flows)
    ) {
      throw new RangeError(`${where}: bytes, packets and flows must be finite numbers`);
    }
    if (mode === "replace") {
      const key = rowKey(row);
      if (keys.has(key)) throw new RangeError(`${where}: the same key twice`);
      keys.add(key);
    }
  }
}

/** Checks response-time rows (`addResponseTimes`, `putResponseTimes`), like validateSeriesRows. */
export function validateResponseRows(
  call: string,
  rows: readonly ResponseTimeRowDelta[],
  mode: "add" | "replace",
): void {
  const keys = new Set<string>();
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const where = `${call}: rows[${i}]`;
    checkPeriod(where, r);
    for (const name of responseTimeCounters) {
      if (!Number.isFinite(r[name])) throw new RangeError(`${where}.${name}: not a finite number`);
    }
    for (const [key, count] of r.bins) {
      if (!Number.isSafeInteger(key) || !Number.isFinite(count)) {
        throw new RangeError(`${where}.bins: [${key}, ${count}] is not [integer, number]`);
      }
    }
    if (mode === "replace") {
      const key = rowKey({ ...r, direction: "" });
      if (keys.has(key)) throw new RangeError(`${where}: the same key twice`);
      keys.add(key);
    }
  }
}
