/**
 * Test support: what Grafana (10/11) does to an InfluxQL raw query before InfluxDB sees it, so that
 * a dashboard's queries can be run against a real influxd without Grafana:
 *
 * - the panel's interval: `(to - from) / maxDataPoints` rounded to Grafana's ladder of round
 *   intervals, raised to the panel's min interval (`interval`, else the data source's
 *   `timeInterval`) when lower (rangeutil.calculateInterval in the frontend);
 * - dashboard variables and the request's scoped variables (`$__interval`, `$__interval_ms`,
 *   `$__from`, `$__to`, `$__range...`) in the frontend's three syntaxes `$name`, `${name}` and
 *   `[[name]]`; a single-value variable goes in as it is (InfluxDB's interpolateQueryExpr escapes
 *   only multi-value and "include All" variables, which these dashboards don't use);
 * - then the InfluxDB backend's macros (pkg/tsdb/influxdb/models/query.go): `$timeFilter` is
 *   `time >= <from>ms and time <= <to>ms` (the upper bound inclusive), `$interval` and
 *   `$__interval` the interval as gtime.FormatInterval writes it, `$__interval_ms` in ms.
 *
 * A `$` left over afterwards (a macro Grafana does not know for InfluxQL, such as the SQL data
 * sources' `$__timeFilter`, or a misspelt variable) is an error: Grafana would send it to InfluxDB
 * as it is, and the panel would fail.
 */

/** A rendered interval: Grafana's rounding ladder (gtime.RoundInterval / rangeutil.roundInterval). */
export function roundInterval(ms: number): number {
  const ladder: Array<[number, number]> = [
    [10, 1],
    [15, 10],
    [35, 20],
    [75, 50],
    [150, 100],
    [350, 200],
    [750, 500],
    [1500, 1000],
    [3500, 2000],
    [7500, 5000],
    [12_500, 10_000],
    [17_500, 15_000],
    [25_000, 20_000],
    [45_000, 30_000],
    [90_000, 60_000],
    [210_000, 120_000],
    [450_000, 300_000],
    [750_000, 600_000],
    [1_050_000, 900_000],
    [1_500_000, 1_200_000],
    [2_700_000, 1_800_000],
    [5_400_000, 3_600_000],
    [9_000_000, 7_200_000],
    [16_200_000, 10_800_000],
    [32_400_000, 21_600_000],
    [86_400_000, 43_200_000],
    [172_800_000, 86_400_000],
    [604_800_000, 86_400_000],
    [1_814_400_000, 604_800_000],
  ];
  for (const [upTo, interval] of ladder) if (ms <= upTo) return interval;
  return ms < 3_628_800_000 ? 2_592_000_000 : 31_536_000_000;
}

/** gtime.FormatInterval: the largest whole unit (y, d, h, m, s, ms), truncated. */
export function formatInterval(ms: number): string {
  const units: Array<[string, number]> = [
    ["y", 31_536_000_000],
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
    ["ms", 1],
  ];
  for (const [unit, size] of units) if (ms >= size) return `${Math.floor(ms / size)}${unit}`;
  return "1ms";
}

/** A min interval as a panel or data source gives it: "1m", "30s", ">1m", "15" (seconds). */
export function parseInterval(text: string): number {
  const t = text.replace(/^[<>]/, "").replace(/>$/, "");
  const m = /^(\d+)(ms|s|m|h|d|w|y)?$/.exec(t);
  if (m === null) throw new Error(`"${text}" is not a Grafana interval`);
  const size = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
  const unit = (m[2] ?? "s") as keyof typeof size | "y";
  if (unit === "y") throw new Error(`"${text}": years are not a fixed length`);
  return Number(m[1]) * size[unit];
}

export interface GrafanaRequest {
  /** The dashboard's time range, ms since the epoch, both ends as Grafana sends them. */
  fromMs: number;
  toMs: number;
  /** The panel's maxDataPoints: its `maxDataPoints`, else its width in pixels. */
  maxDataPoints: number;
  /** The dashboard variables' current values (single values). */
  variables: Readonly<Record<string, string>>;
  /** The data source's min interval (jsonData.timeInterval), if set. */
  dataSourceInterval?: string;
}

/** rangeutil.calculateInterval: the round interval of the range, at least the min interval. */
export function panelIntervalMs(req: GrafanaRequest, panelInterval: string | undefined): number {
  const low = panelInterval ?? req.dataSourceInterval;
  const lowMs = low === undefined || low === "" ? 1 : parseInterval(replaceVariables(low, req, {}));
  return Math.max(lowMs, roundInterval((req.toMs - req.fromMs) / req.maxDataPoints));
}

const VARIABLE = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?::([^}]+))?\}/g;

/** templateSrv.replace: known variables replaced in any of the three syntaxes, others left. */
function replaceVariables(
  text: string,
  req: GrafanaRequest,
  scoped: Readonly<Record<string, string>>,
): string {
  return text.replace(
    VARIABLE,
    (match, a?: string, b?: string, bFormat?: string, c?: string, cFormat?: string) => {
      const name = (a ?? b ?? c) as string;
      if (bFormat !== undefined || cFormat !== undefined) {
        throw new Error(`${match}: variable formats are not used by these dashboards`);
      }
      return scoped[name] ?? req.variables[name] ?? match;
    },
  );
}

/**
 * The query InfluxDB receives for a raw InfluxQL target of a panel with min interval
 * `panelInterval` (its `interval` field).
 */
export function interpolateInfluxQL(
  query: string,
  panelInterval: string | undefined,
  req: GrafanaRequest,
): string {
  const intervalMs = panelIntervalMs(req, panelInterval);
  const interval = formatInterval(intervalMs);
  const scoped: Record<string, string> = {
    __interval: interval,
    __interval_ms: String(intervalMs),
    __from: String(req.fromMs),
    __to: String(req.toMs),
    __range_ms: String(req.toMs - req.fromMs),
    __range_s: String(Math.round((req.toMs - req.fromMs) / 1000)),
    __range: `${Math.round((req.toMs - req.fromMs) / 1000)}s`,
  };
  let q = replaceVariables(query, req, scoped);
  q = q.replaceAll("$timeFilter", `time >= ${req.fromMs}ms and time <= ${req.toMs}ms`);
  q = q.replaceAll("$interval", interval);
  q = q.replaceAll("$__interval_ms", String(intervalMs));
  q = q.replaceAll("$__interval", interval);
  const left = /\$\w+|\[\[\w+\]\]|\$\{[^}]*\}/.exec(q);
  if (left !== null) throw new Error(`${left[0]}: not a variable or macro Grafana knows: ${query}`);
  return q;
}
