/**
 * Human units. Read from the config: durations ("10s", "2m", "1h", "500ms") and bit rates
 * ("100M", "1.5G", "64k", "100Mbps", or a plain number of bits/s); each parser returns NaN when
 * the text is not one, so schemas can say why. Written for people (tables of `flowtally query`):
 * bytes, bit rates and counts with SI prefixes (powers of 1000: 1 kB = 1000 B, as network rates
 * are counted) and three significant digits. Pure.
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

/**
 * 10000 → "10s", 90000 → "90s", 1500 → "1500ms", 86400000 → "1d": the largest unit that holds
 * it whole, so that a message shows a duration the way a config would write it.
 */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  for (const unit of ["d", "h", "m", "s"]) {
    const size = durationUnits[unit]!;
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

const rateUnits: Record<string, number> = { "": 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/**
 * The last rate text read and its value: the links of a config share a few rates, and 100 000 of
 * them each ran the regex.
 */
const lastRate = { text: "", bits: Number.NaN };

/** "100M" / "100Mbps" / "100 Mbit/s" → 100000000 (bits per second). NaN when not a rate. */
export function parseBitRate(text: string | number): number {
  if (typeof text === "number") return Number.isFinite(text) && text > 0 ? text : Number.NaN;
  if (text === lastRate.text) return lastRate.bits;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKMGT]?)(?:bps|bit\/s|b\/s)?\s*$/.exec(text);
  const v = m === null ? Number.NaN : Number(m[1]) * (rateUnits[m[2] ?? ""] ?? Number.NaN);
  lastRate.text = text;
  lastRate.bits = v > 0 ? v : Number.NaN;
  return lastRate.bits;
}

/** "host:port" with an IPv4 address, "[v6]:port", or a hostname (port 0: any free port); null when not one. */
export function parseHostPort(text: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text.trim());
  if (m === null) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  return { host: (m[1] ?? m[2])!, port };
}

const SI_PREFIXES = ["", "k", "M", "G", "T", "P", "E"] as const;

/**
 * `value` with an SI prefix and three significant digits: 1234 → "1.23 k", 999.6 → "1.00 k".
 * Whole numbers under 1000 are written as they are (130, not 130.); others of that size keep
 * three significant digits (2.5 → "2.50").
 */
function siPrefixed(value: number, unit: string): string {
  if (!Number.isFinite(value)) return `${value} ${unit}`.trim();
  const sign = value < 0 ? "-" : "";
  const v = Math.abs(value);
  if (v < 1000 && Number.isInteger(v)) return `${sign}${v} ${unit}`.trim();
  let k = v < 1 ? 0 : Math.min(Math.floor(Math.log10(v) / 3), SI_PREFIXES.length - 1);
  let digits = threeDigits(v / 1000 ** k);
  // Rounding can carry into the next prefix (999.6 → "1000"): write it as 1.00 of that.
  if (Number(digits) >= 1000 && k < SI_PREFIXES.length - 1) {
    k += 1;
    digits = threeDigits(v / 1000 ** k);
  }
  return `${sign}${digits} ${SI_PREFIXES[k]}${unit}`.trim();
}

/** x (≥ 0) to three significant digits; the decimals are chosen after rounding (99.99 → "100"). */
function threeDigits(x: number): string {
  return x.toFixed(x >= 99.95 ? 0 : x >= 9.995 ? 1 : 2);
}

/** Bytes for people: 0 → "0 B", 1500 → "1.50 kB", 2.5e9 → "2.50 GB" (SI: 1 kB = 1000 B). */
export function formatBytes(bytes: number): string {
  return siPrefixed(bytes, "B");
}

/** A bit rate for people: 130 → "130 bit/s", 6000 → "6.00 kbit/s", 1.2e9 → "1.20 Gbit/s". */
export function formatBitRate(bitsPerSecond: number): string {
  return siPrefixed(bitsPerSecond, "bit/s");
}

/** A count (packets, flows, transactions) for people: 155 → "155", 12_345 → "12.3 k". */
export function formatCount(n: number): string {
  return siPrefixed(n, "");
}

/** Milliseconds for people: 0.25 → "0.250 ms", 12.34 → "12.3 ms", 1500 → "1.50 s". */
export function formatMilliseconds(ms: number): string {
  if (!Number.isFinite(ms)) return `${ms} ms`;
  const sign = ms < 0 ? "-" : "";
  const v = Math.abs(ms);
  if (v === 0) return "0 ms";
  if (v >= 999.5) return `${sign}${threeDigits(v / 1000)} s`;
  return `${sign}${v < 1 ? v.toFixed(3) : threeDigits(v)} ms`;
}
