/**
 * Human units in the config: durations ("10s", "2m", "1h", "500ms") and bit rates ("100M",
 * "1.5G", "64k", "100Mbps", or a plain number of bits/s). Pure; each returns NaN when the text
 * is not one, so schemas can say why.
 */

const durationUnits: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** "10s" → 10000 (milliseconds); a bare number is seconds. NaN when not a duration. */
export function parseDuration(text: string | number): number {
  if (typeof text === "number")
    return Number.isFinite(text) && text >= 0 ? text * 1000 : Number.NaN;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (m === null) return Number.NaN;
  return Number(m[1]) * (durationUnits[m[2] ?? "s"] ?? Number.NaN);
}

const rateUnits: Record<string, number> = { "": 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** "100M" / "100Mbps" / "100 Mbit/s" → 100000000 (bits per second). NaN when not a rate. */
export function parseBitRate(text: string | number): number {
  if (typeof text === "number") return Number.isFinite(text) && text > 0 ? text : Number.NaN;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKMGT]?)(?:bps|bit\/s|b\/s)?\s*$/.exec(text);
  if (m === null) return Number.NaN;
  const v = Number(m[1]) * (rateUnits[m[2] ?? ""] ?? Number.NaN);
  return v > 0 ? v : Number.NaN;
}

/** "host:port" with an IPv4 address, "[v6]:port", or a hostname (port 0: any free port); null when not one. */
export function parseHostPort(text: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text.trim());
  if (m === null) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  return { host: (m[1] ?? m[2])!, port };
}
