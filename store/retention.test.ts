import { describe, expect, it } from "vitest";
import { keptFrom, pruneBefore } from "./retention.js";

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 22, 10, 7, 30);

describe("retention", () => {
  const retention = { "1m": 14 * DAY, "5m": 400 * DAY, "1h": Infinity, "1d": Infinity };

  it("deletes whole periods older than the retention; keeps 'forever' levels", () => {
    expect(pruneBefore(retention, NOW)).toEqual({
      // 14 days before 10:07:30 is 2026-11-08T10:07:30: the minute 10:07 is partly inside, kept.
      "1m": Date.UTC(2026, 10, 8, 10, 7),
      "5m": Date.UTC(2025, 9, 18, 10, 5),
    });
  });

  it("tells the earliest period a query can rely on", () => {
    expect(keptFrom(retention, "1m", NOW)).toBe(Date.UTC(2026, 10, 8, 10, 8));
    expect(keptFrom(retention, "5m", NOW)).toBe(Date.UTC(2025, 9, 18, 10, 10));
    expect(keptFrom(retention, "1h", NOW)).toBe(-Infinity);
  });
});
