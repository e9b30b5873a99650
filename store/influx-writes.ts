/**
 * The InfluxDB store's write path: deltas read, added and written back, totals written as they
 * are, the write-ahead log's marks, and the SLA minutes derived from the response times written.
 */
import {
  type ResponseTimeCounter,
  type ResponseTimeRowDelta,
  responseTimeCounters,
  type SeriesLevel,
  type SeriesRowDelta,
  type SlaRow,
  type StoreMark,
  slaCounters,
  zeroResponseTimeCounters,
} from "../schema/series-store.js";
import type { LevelLookup } from "../sla/config-levels.js";
import { type MinuteTotals, type SlaMinuteState, slaWrites } from "../sla/series.js";
import type { InfluxClient } from "./influx-client.js";
import type { InfluxReadBack } from "./influx-read-back.js";
import { checkLines, MARKS, responseLine, slaLine, trafficLine } from "./influx-schema.js";
import { pointLine } from "./influx-text.js";
import { rowKey, validateResponseRows, validateSeriesRows } from "./row-validation.js";

export function createInfluxWrites(
  client: InfluxClient,
  readBack: InfluxReadBack,
  slaLevel: LevelLookup,
) {
  const { ensureStarted, write, writes, slaPolicy } = client;

  const { readTraffic, readResponses, readSla } = readBack;

  /**
   * A mark (StoreMark) as a point of `flowtally_marks` dated at the start of today's UTC day: one
   * point per name a day, rewritten in place, kept by the daily rows' retention policy. Written
   * after the rows it covers, in the same turn of the write queue.
   */
  function markLine(mark: StoreMark): [SeriesLevel, string] {
    const day = Math.floor(Date.now() / 86_400_000) * 86_400_000;
    return [
      "1d",
      pointLine({
        measurement: MARKS,
        tags: [["name", mark.name]],
        fields: [["seq", mark.seq]],
        timeMs: day,
      }),
    ];
  }

  async function addDeltas(rows: readonly SeriesRowDelta[], mark?: StoreMark): Promise<void> {
    ensureStarted();
    if (rows.length === 0) return;
    validateSeriesRows("addDeltas", rows, "add");
    checkLines("addDeltas", rows, trafficLine);
    await writes(async () => {
      const sums = new Map<string, SeriesRowDelta>();
      for (const r of rows) {
        const k = rowKey(r);
        const s = sums.get(k);
        if (s === undefined) sums.set(k, { ...r });
        else {
          s.bytes += r.bytes;
          s.packets += r.packets;
          s.flows += r.flows;
        }
      }
      for (const stored of await readTraffic([...sums.values()])) {
        const s = sums.get(rowKey(stored))!;
        s.bytes += stored.bytes;
        s.packets += stored.packets;
        s.flows += stored.flows;
      }
      await write([...sums.values()].map((r) => [r.level, trafficLine(r)] as const));
      if (mark !== undefined) await write([markLine(mark)]);
    });
  }

  async function putSeries(rows: readonly SeriesRowDelta[]): Promise<void> {
    ensureStarted();
    if (rows.length === 0) return;
    validateSeriesRows("putSeries", rows, "replace");
    checkLines("putSeries", rows, trafficLine);
    await writes(() => write(rows.map((r) => [r.level, trafficLine(r)] as const)));
  }

  async function addResponseTimes(
    rows: readonly ResponseTimeRowDelta[],
    mark?: StoreMark,
  ): Promise<void> {
    ensureStarted();
    if (rows.length === 0) return;
    validateResponseRows("addResponseTimes", rows, "add");
    checkLines("addResponseTimes", rows, (r) => responseLine(r));
    await writes(async () => {
      type Sum = Record<ResponseTimeCounter, number> & {
        key: ResponseTimeRowDelta;
        bins: Map<number, number>;
        stored: boolean;
      };
      const sums = new Map<string, Sum>();
      const add = (r: ResponseTimeRowDelta, stored: boolean) => {
        const k = rowKey({ ...r, direction: "" });
        let s = sums.get(k);
        if (s === undefined) {
          if (stored) return; // read back for a key of this call, so never reached
          s = { key: r, ...zeroResponseTimeCounters(), bins: new Map(), stored: false };
          sums.set(k, s);
        }
        s.stored ||= stored;
        for (const c of responseTimeCounters) s[c] += r[c];
        for (const [key, count] of r.bins) s.bins.set(key, (s.bins.get(key) ?? 0) + count);
      };
      for (const r of rows) add(r, false);
      for (const r of await readResponses(rows)) add(r, true);
      const lines: Array<[SeriesLevel, string]> = [];
      const minutes: ResponseTimeRowDelta[] = [];
      for (const s of sums.values()) {
        const row: ResponseTimeRowDelta = { ...s.key, bins: [...s.bins] };
        for (const c of responseTimeCounters) row[c] = s[c];
        // Adding nothing to nothing stores nothing, as in the embedded store.
        const empty =
          responseTimeCounters.every((c) => row[c] === 0) && row.bins.every(([, n]) => n === 0);
        if (!s.stored && empty) continue;
        lines.push([row.level, responseLine(row)]);
        if (row.level === "1m") minutes.push(row);
      }
      await write(lines);
      await deriveSla(minutes);
      if (mark !== undefined) await write([markLine(mark)]);
    });
  }

  async function putResponseTimes(rows: readonly ResponseTimeRowDelta[]): Promise<void> {
    ensureStarted();
    if (rows.length === 0) return;
    validateResponseRows("putResponseTimes", rows, "replace");
    checkLines("putResponseTimes", rows, (r) => responseLine(r));
    await writes(async () => {
      const storedBins = new Map<string, number[]>();
      for (const r of await readResponses(rows)) {
        storedBins.set(
          rowKey({ ...r, direction: "" }),
          r.bins.map(([key]) => key),
        );
      }
      const lines = rows.map((r) => {
        const keep = new Set(r.bins.map(([key]) => key));
        const stale = storedBins.get(rowKey({ ...r, direction: "" })) ?? [];
        return [
          r.level,
          responseLine(
            r,
            stale.filter((key) => !keep.has(key)),
          ),
        ] as const;
      });
      await write(lines);
      await deriveSla(rows.filter((r) => r.level === "1m"));
    });
  }

  /**
   * After the 1-minute response rows `minutes` were written (their totals now): judges each
   * minute (sla/series.ts), writes its SLA row and adds the change to the coarse ones (read,
   * added, written back, as the response rows are). In the caller's turn of the write queue.
   */
  async function deriveSla(minutes: readonly ResponseTimeRowDelta[]): Promise<void> {
    if (minutes.length === 0) return;
    const prev = new Map<string, SlaMinuteState>();
    for (const r of await readSla(minutes)) prev.set(rowKey({ ...r, direction: "" }), r);
    const { minuteRows, coarse } = slaWrites(
      minutes.map((m) => {
        const now: MinuteTotals = {
          transactions: m.transactions,
          good: m.good,
          estimated: m.estimated,
        };
        return {
          key: m,
          startMs: m.startMs,
          prev: prev.get(rowKey({ ...m, direction: "" })),
          now,
        };
      }),
      slaLevel,
    );
    const stored = new Map<string, SlaRow>();
    for (const r of coarse.length === 0 ? [] : await readSla(coarse)) {
      stored.set(rowKey({ ...r, direction: "" }), r);
    }
    const lines: Array<[SeriesLevel, string]> = minuteRows.map((r) => [
      slaPolicy(r.level),
      slaLine(r),
    ]);
    for (const d of coarse) {
      const have = stored.get(rowKey({ ...d, direction: "" }));
      const row: SlaRow = { ...d };
      if (have !== undefined) for (const c of slaCounters) row[c] += have[c];
      lines.push([row.level, slaLine(row)]);
    }
    await write(lines);
  }

  return { addDeltas, putSeries, addResponseTimes, putResponseTimes };
}
