import { describe, expect, it } from "vitest";
import { formatBitRate, formatBytes, formatCount, formatMilliseconds } from "./units.js";

describe("human units for tables", () => {
  it("bytes with SI prefixes and three significant digits", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(1_000)).toBe("1.00 kB");
    expect(formatBytes(1_500)).toBe("1.50 kB");
    expect(formatBytes(148_500)).toBe("149 kB");
    expect(formatBytes(15_049)).toBe("15.0 kB");
    expect(formatBytes(2_500_000_000)).toBe("2.50 GB");
    expect(formatBytes(3.2e12)).toBe("3.20 TB");
    expect(formatBytes(5e21)).toBe("5000 EB");
  });

  it("carries a rounding up into the next prefix", () => {
    expect(formatBytes(999.6)).toBe("1.00 kB");
    expect(formatBytes(999_999)).toBe("1.00 MB");
    expect(formatBytes(99_999)).toBe("100 kB");
    expect(formatBytes(9_999)).toBe("10.0 kB");
  });

  it("keeps three digits for fractions (sampled counts) and signs", () => {
    expect(formatBytes(2.5)).toBe("2.50 B");
    expect(formatBytes(0.004)).toBe("0.00 B");
    expect(formatBytes(-1_500)).toBe("-1.50 kB");
  });

  it("bit rates in bit/s with SI prefixes", () => {
    expect(formatBitRate(0)).toBe("0 bit/s");
    expect(formatBitRate(130)).toBe("130 bit/s");
    expect(formatBitRate(2.5)).toBe("2.50 bit/s");
    expect(formatBitRate(6_000)).toBe("6.00 kbit/s");
    expect(formatBitRate(200_000)).toBe("200 kbit/s");
    expect(formatBitRate(1.2e9)).toBe("1.20 Gbit/s");
    expect(formatBitRate(100e9)).toBe("100 Gbit/s");
  });

  it("counts with a bare prefix", () => {
    expect(formatCount(0)).toBe("0");
    expect(formatCount(155)).toBe("155");
    expect(formatCount(12_345)).toBe("12.3 k");
    expect(formatCount(1_234_567)).toBe("1.23 M");
    expect(formatCount(0.5)).toBe("0.50");
  });

  it("milliseconds, and seconds from one", () => {
    expect(formatMilliseconds(0)).toBe("0 ms");
    expect(formatMilliseconds(0.25)).toBe("0.250 ms");
    expect(formatMilliseconds(12.34)).toBe("12.3 ms");
    expect(formatMilliseconds(999.4)).toBe("999 ms");
    expect(formatMilliseconds(999.6)).toBe("1.00 s");
    expect(formatMilliseconds(1_500)).toBe("1.50 s");
  });
});
