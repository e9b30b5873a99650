/**
 * What one write-ahead log entry of `run` holds: the 1-minute rows (traffic and response times)
 * that one hand-over added, named (customer, site, link, class) so that a reload of the customer
 * model between the crash and the replay cannot move them. The coarser levels are made from them
 * at replay (atEveryLevel), as the rollup made them. JSON of compact arrays: a few tens of bytes
 * a row. Pure.
 */

import { countersLengthOk } from "../schema/partials-message.js";
import {
  type ResponseTimeRowDelta,
  responseTimeCounters,
  type SeriesLevel,
  type SeriesRowDelta,
} from "../schema/series-store.js";
import { LEVEL_MS, LEVEL_NAMES } from "../store/levels.js";

export const WAL_BATCH_VERSION = 1;

export interface WalBatch {
  series: SeriesRowDelta[];
  responses: ResponseTimeRowDelta[];
}

type SeriesCells = [number, string, string, string, string, "in" | "out", number, number, number];
type ResponseCells = [number, string, string, string, string, number[], number[]];

/** The 1-minute rows of `batch` as an entry's payload (other levels are left out). */
export function encodeBatch(batch: WalBatch): Buffer {
  const t: SeriesCells[] = [];
  for (const r of batch.series) {
    if (r.level !== "1m") continue;
    t.push([
      r.startMs,
      r.customer,
      r.site,
      r.link,
      r.trafficClass,
      r.direction,
      r.bytes,
      r.packets,
      r.flows,
    ]);
  }
  const x: ResponseCells[] = [];
  for (const r of batch.responses) {
    if (r.level !== "1m") continue;
    x.push([
      r.startMs,
      r.customer,
      r.site,
      r.link,
      r.trafficClass,
      responseTimeCounters.map((c) => r[c]),
      r.bins.flat(),
    ]);
  }
  return Buffer.from(JSON.stringify({ v: WAL_BATCH_VERSION, t, r: x }));
}

const isText = (v: unknown): v is string => typeof v === "string";
const isCount = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v >= 0;

/** An entry's 1-minute rows; throws a RangeError saying what is wrong with a payload not ours. */
export function decodeBatch(payload: Uint8Array): WalBatch {
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString());
  } catch {
    throw new RangeError("not JSON");
  }
  const d = data as { v?: unknown; t?: unknown; r?: unknown };
  if (d === null || typeof d !== "object" || d.v !== WAL_BATCH_VERSION) {
    throw new RangeError(`not a version ${WAL_BATCH_VERSION} batch`);
  }
  if (!Array.isArray(d.t) || !Array.isArray(d.r)) throw new RangeError("t and r must be arrays");
  const series = d.t.map((c: unknown, i): SeriesRowDelta => {
    const a = c as unknown[];
    if (
      !Array.isArray(a) ||
      a.length !== 9 ||
      !Number.isSafeInteger(a[0]) ||
      !a.slice(1, 5).every(isText) ||
      (a[5] !== "in" && a[5] !== "out") ||
      !a.slice(6).every(isCount)
    ) {
      throw new RangeError(`t[${i}]: not a traffic row`);
    }
    const [startMs, customer, site, link, trafficClass, direction, bytes, packets, flows] =
      a as SeriesCells;
    return {
      level: "1m",
      startMs,
      customer,
      site,
      link,
      trafficClass,
      direction,
      bytes,
      packets,
      flows,
    };
  });
  const responses = d.r.map((c: unknown, i): ResponseTimeRowDelta => {
    const a = c as unknown[];
    if (
      !Array.isArray(a) ||
      a.length !== 7 ||
      !Number.isSafeInteger(a[0]) ||
      !a.slice(1, 5).every(isText) ||
      !Array.isArray(a[5]) ||
      !countersLengthOk(a[5].length) ||
      !a[5].every(isCount) ||
      !Array.isArray(a[6]) ||
      a[6].length % 2 !== 0 ||
      !a[6].every((v, k) => (k % 2 === 0 ? Number.isSafeInteger(v) : isCount(v)))
    ) {
      throw new RangeError(`r[${i}]: not a response-time row`);
    }
    const [startMs, customer, site, link, trafficClass, counters, flat] = a as ResponseCells;
    const bins: Array<[number, number]> = [];
    for (let k = 0; k < flat.length; k += 2) bins.push([flat[k]!, flat[k + 1]!]);
    const row = {
      level: "1m",
      startMs,
      customer,
      site,
      link,
      trafficClass,
      bins,
    } as unknown as ResponseTimeRowDelta;
    responseTimeCounters.forEach((name, k) => {
      row[name] = counters[k] ?? 0;
    });
    return row;
  });
  return { series, responses };
}

/** Each 1-minute row at every level (1m, 5m, 1h, 1d), as the rollup emits them. */
export function atEveryLevel<R extends { level: SeriesLevel; startMs: number }>(
  rows: readonly R[],
): R[] {
  const out: R[] = [];
  for (const r of rows) {
    for (const level of LEVEL_NAMES) {
      const ms = LEVEL_MS[level];
      out.push({ ...r, level, startMs: Math.floor(r.startMs / ms) * ms });
    }
  }
  return out;
}
