/**
 * What `flowtally query` prints: the API's answers (docs/api.md) as a table for people (human
 * units), CSV (exact numbers, a header line) or JSON (the answer as the API gives it). Pure.
 */
import {
  type OverviewColumn,
  type OverviewRow,
  overviewCsv,
  overviewTable,
} from "../query/overview.js";
import type { ResponseTimeFigures } from "../query/response-times.js";
import { formatBitRate, formatBytes, formatCount, formatMilliseconds } from "../schema/units.js";

export type QueryFormat = "table" | "csv" | "json";

export interface OverviewAnswer {
  from: string;
  to: string;
  /** Whether every minute of the range is complete (docs/api.md, "Fresh and complete data"). */
  complete: boolean;
  completeUntil: string;
  rows: OverviewRow[];
}

export interface TrafficAnswerPoint {
  time: string;
  complete: boolean;
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
  bpsIn: number;
  bpsOut: number;
  peakBpsIn: number;
  peakBpsOut: number;
  peakOver: string;
}

export interface TrafficAnswer {
  customer: string;
  step: string;
  from: string;
  to: string;
  completeUntil: string;
  points: TrafficAnswerPoint[];
  p95BpsIn: number | null;
  p95BpsOut: number | null;
}

export type ResponseTimesAnswer = ResponseTimeFigures & {
  customer: string;
  step: string;
  from: string;
  to: string;
  completeUntil: string;
  points: Array<ResponseTimeFigures & { time: string; complete: boolean }>;
};

const json = (answer: unknown) => `${JSON.stringify(answer, null, 2)}\n`;

export function overviewOutput(
  answer: OverviewAnswer,
  format: QueryFormat,
  columns?: readonly OverviewColumn[],
): string {
  if (format === "json") return json(answer);
  if (format === "csv") return overviewCsv(answer.rows, columns);
  const note = answer.complete
    ? ""
    : ` (not complete: minutes from ${answer.completeUntil} on may still grow)`;
  return `from ${answer.from} to ${answer.to}${note}\n${overviewTable(answer.rows)}`;
}

/** A point's time in a table: marked when the period may still grow. */
const timeCell = (p: { time: string; complete: boolean }) => (p.complete ? p.time : `${p.time} *`);

/** The table's last line when some point is marked. */
function incompleteNote(points: ReadonlyArray<{ complete: boolean }>, until: string): string {
  return points.every((p) => p.complete)
    ? ""
    : `* not complete: periods ending after ${until} may still grow\n`;
}

const TRAFFIC_COLUMNS = [
  "time",
  "bytesIn",
  "bytesOut",
  "packetsIn",
  "packetsOut",
  "bpsIn",
  "bpsOut",
  "peakBpsIn",
  "peakBpsOut",
  "peakOver",
  "complete",
] as const satisfies ReadonlyArray<keyof TrafficAnswerPoint>;

export function trafficOutput(answer: TrafficAnswer, format: QueryFormat): string {
  if (format === "json") return json(answer);
  if (format === "csv") return csv(TRAFFIC_COLUMNS, answer.points);
  const rate = (v: number | null) => (v === null ? "-" : formatBitRate(v));
  // Peaks over coarser samples than minutes (the minutes were pruned) are flagged per point.
  const coarse = answer.points.some((p) => p.peakOver !== "1m");
  const header = [
    "time",
    "bytes in",
    "bytes out",
    "packets in",
    "packets out",
    "avg in",
    "avg out",
    "peak in",
    "peak out",
    ...(coarse ? ["peak over"] : []),
  ];
  const rows = answer.points.map((p) => [
    timeCell(p),
    formatBytes(p.bytesIn),
    formatBytes(p.bytesOut),
    formatCount(p.packetsIn),
    formatCount(p.packetsOut),
    formatBitRate(p.bpsIn),
    formatBitRate(p.bpsOut),
    formatBitRate(p.peakBpsIn),
    formatBitRate(p.peakBpsOut),
    ...(coarse ? [p.peakOver] : []),
  ]);
  return (
    `${answer.customer}: from ${answer.from} to ${answer.to}, step ${answer.step}\n` +
    textTable(header, rows) +
    `95th percentile of the 5-minute rates: in ${rate(answer.p95BpsIn)}, out ${rate(answer.p95BpsOut)}\n` +
    incompleteNote(answer.points, answer.completeUntil)
  );
}

const RESPONSE_TIME_FIGURES = [
  "transactions",
  "goodTransactions",
  "goodRatio",
  "estimated",
  "retransmissions",
  "meanNetworkDelayMs",
  "meanServerDelayMs",
  "meanTotalDelayMs",
  "totalDelayP50Ms",
  "totalDelayP95Ms",
  "totalDelayP99Ms",
] as const satisfies ReadonlyArray<keyof ResponseTimeFigures>;

export function responseTimesOutput(answer: ResponseTimesAnswer, format: QueryFormat): string {
  if (format === "json") return json(answer);
  if (format === "csv") {
    return csv(["time", ...RESPONSE_TIME_FIGURES, "complete"], answer.points);
  }
  const header = [
    "time",
    "transactions",
    "good",
    "retransmissions",
    "network",
    "server",
    "total",
    "total p50",
    "total p95",
    "total p99",
  ];
  const cells = (f: ResponseTimeFigures) => [
    formatCount(f.transactions),
    f.goodRatio === null ? "-" : `${(f.goodRatio * 100).toFixed(1)} %`,
    formatCount(f.retransmissions),
    ...[
      f.meanNetworkDelayMs,
      f.meanServerDelayMs,
      f.meanTotalDelayMs,
      f.totalDelayP50Ms,
      f.totalDelayP95Ms,
      f.totalDelayP99Ms,
    ].map((ms) => (ms === null ? "-" : formatMilliseconds(ms))),
  ];
  const rows = answer.points.map((p) => [timeCell(p), ...cells(p)]);
  rows.push(["whole range", ...cells(answer)]);
  return (
    `${answer.customer}: from ${answer.from} to ${answer.to}, step ${answer.step}; delays are means unless a percentile is named\n` +
    textTable(header, rows) +
    incompleteNote(answer.points, answer.completeUntil)
  );
}

/** A table with a header line, text columns left-aligned and the others right-aligned. */
function textTable(header: readonly string[], rows: readonly string[][]): string {
  const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k]!.length)));
  const fmt = (r: readonly string[]) =>
    r
      .map((v, k) => (k === 0 ? v.padEnd(widths[k]!) : v.padStart(widths[k]!)))
      .join("  ")
      .trimEnd();
  return `${[fmt(header), ...rows.map(fmt)].join("\n")}\n`;
}

/** RFC 4180 CSV of numbers and fixed words (times, peakOver): nothing to quote; null is empty. */
function csv<K extends string>(
  columns: readonly K[],
  rows: ReadonlyArray<Record<K, string | number | boolean | null>>,
): string {
  const lines = [columns.join(",")];
  for (const r of rows)
    lines.push(columns.map((c) => (r[c] === null ? "" : String(r[c]))).join(","));
  return `${lines.join("\r\n")}\r\n`;
}
