/**
 * The rows of a month of every customer's traffic, as the aggregator writes what a month's
 * overview reads (bench/overview-scale.ts, bench/web-pages.ts): a 1-day row per customer,
 * direction and day for the month's first 29 days, and 1-hour rows for the last day's first 12
 * hours, so that a range ending mid-day tiles days and hours. Customer c's site and link are
 * bench/customers-config.ts's (`site-c`, `link-c`), class `web`.
 */
import type { SeriesLevel, SeriesRowDelta } from "../schema/series-store.js";

export const HOUR = 3_600_000;
export const DAY = 86_400_000;
/** A UTC midnight, the month's first day (2026-10-01). */
export const T0 = Date.UTC(2026, 9, 1);
export const DAYS = 30;

export const bytesOf = (c: number, slot: number, direction: "in" | "out") =>
  1_000 + ((c * 7_919 + slot * 104_729 + (direction === "in" ? 0 : 3)) % 1_000_000);

/** A row of customer c's one link (`site-c`/`link-c`, class web); packets of 1 200 bytes. */
export function linkRow(
  c: number,
  level: SeriesLevel,
  startMs: number,
  direction: "in" | "out",
  bytes: number,
): SeriesRowDelta {
  return {
    customer: `c${c}`,
    site: `site-${c}`,
    link: `link-${c}`,
    trafficClass: "web",
    direction,
    level,
    startMs,
    bytes,
    packets: Math.ceil(bytes / 1200),
    flows: 1,
  };
}

export function* rows(customers: number): Generator<SeriesRowDelta[]> {
  const put = (
    batch: SeriesRowDelta[],
    c: number,
    level: SeriesLevel,
    startMs: number,
    slot: number,
  ) => {
    for (const direction of ["in", "out"] as const) {
      batch.push(linkRow(c, level, startMs, direction, bytesOf(c, slot, direction)));
    }
  };
  for (let day = 0; day < DAYS - 1; day++) {
    const batch: SeriesRowDelta[] = [];
    for (let c = 0; c < customers; c++) put(batch, c, "1d", T0 + day * DAY, day);
    yield batch;
  }
  for (let h = 0; h < 12; h++) {
    const batch: SeriesRowDelta[] = [];
    for (let c = 0; c < customers; c++)
      put(batch, c, "1h", T0 + (DAYS - 1) * DAY + h * HOUR, 100 + h);
    yield batch;
  }
}

/** What the month holds for customer c, in: the sum of what rows() wrote. */
export function expectedIn(c: number): number {
  let sum = 0;
  for (let day = 0; day < DAYS - 1; day++) sum += bytesOf(c, day, "in");
  for (let h = 0; h < 12; h++) sum += bytesOf(c, 100 + h, "in");
  return sum;
}

/** GET `url` once (cold), then `runs` times: first, median and max ms, and the first body. */
export async function timedGet(
  url: string,
  headers: Record<string, string>,
  runs: number,
): Promise<{ first: number; median: number; max: number; body: string; bytes: number }> {
  const once = async () => {
    const t = performance.now();
    const r = await fetch(url, { headers, redirect: "manual" });
    const body = await r.text();
    if (r.status !== 200) throw new Error(`${url}: ${r.status} ${body.slice(0, 300)}`);
    return { ms: performance.now() - t, body };
  };
  const first = await once();
  const times: number[] = [];
  for (let k = 0; k < runs; k++) times.push((await once()).ms);
  times.sort((a, b) => a - b);
  return {
    first: first.ms,
    median: times[Math.floor(times.length / 2)]!,
    max: times[times.length - 1]!,
    body: first.body,
    bytes: Buffer.byteLength(first.body),
  };
}
