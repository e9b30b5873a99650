import { describe, expect, it } from "vitest";
import { parseQueryTime } from "./query-times.js";

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");
/** 2026-11-22T10:37:12.345Z */
const NOW = Date.UTC(2026, 10, 22, 10, 37, 12, 345);
const at = (text: string, stepMs = MIN, now = NOW) => iso(parseQueryTime(text, now, stepMs));

describe("parseQueryTime", () => {
  it("now and now-N{m,h,d}, rounded down to the step", () => {
    expect(at("now")).toBe("2026-11-22T10:37:00Z");
    expect(at("now-15m")).toBe("2026-11-22T10:22:00Z");
    expect(at("now-1h")).toBe("2026-11-22T09:37:00Z");
    expect(at("now-1h", 5 * MIN)).toBe("2026-11-22T09:35:00Z");
    expect(at("now-1h", HOUR)).toBe("2026-11-22T09:00:00Z");
    expect(at("now-90m", HOUR)).toBe("2026-11-22T09:00:00Z");
    expect(at("now-7d")).toBe("2026-11-15T10:37:00Z");
    expect(at("now-7d", DAY)).toBe("2026-11-15T00:00:00Z");
    expect(at("now-1d", DAY)).toBe("2026-11-21T00:00:00Z");
  });

  it("today, yesterday, this-month, last-month: UTC midnights", () => {
    expect(at("today")).toBe("2026-11-22T00:00:00Z");
    expect(at("yesterday")).toBe("2026-11-21T00:00:00Z");
    expect(at("this-month")).toBe("2026-11-01T00:00:00Z");
    expect(at("last-month")).toBe("2026-10-01T00:00:00Z");
    expect(at("today", DAY)).toBe("2026-11-22T00:00:00Z");
  });

  it("crosses months and years, leap days included", () => {
    const jan1 = Date.UTC(2027, 0, 1, 0, 0, 30);
    expect(at("yesterday", MIN, jan1)).toBe("2026-12-31T00:00:00Z");
    expect(at("last-month", MIN, jan1)).toBe("2026-12-01T00:00:00Z");
    expect(at("this-month", MIN, jan1)).toBe("2027-01-01T00:00:00Z");
    expect(at("now-1h", MIN, jan1)).toBe("2026-12-31T23:00:00Z");
    const mar1 = Date.UTC(2028, 2, 1, 12);
    expect(at("yesterday", MIN, mar1)).toBe("2028-02-29T00:00:00Z");
    expect(at("last-month", MIN, mar1)).toBe("2028-02-01T00:00:00Z");
  });

  it("is UTC whatever the process's time zone", () => {
    const zone = process.env.TZ;
    process.env.TZ = "Pacific/Kiritimati"; // UTC+14: 23:30 UTC is the next day there
    try {
      const late = Date.UTC(2026, 10, 30, 23, 30);
      expect(new Date(late).getDate()).toBe(1); // the zone took effect
      expect(at("today", MIN, late)).toBe("2026-11-30T00:00:00Z");
      expect(at("this-month", MIN, late)).toBe("2026-11-01T00:00:00Z");
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });

  it("takes ISO 8601 as written, with the API's strictness", () => {
    expect(at("2026-11-22T10:00:00Z")).toBe("2026-11-22T10:00:00Z");
    expect(at("2026-11-22T11:00:00+01:00")).toBe("2026-11-22T10:00:00Z");
    expect(at("2026-11-22")).toBe("2026-11-22T00:00:00Z");
    // Not rounded: the API names the boundaries of a time that is not on one.
    expect(parseQueryTime("2026-11-22T10:00:30Z", NOW, MIN) % MIN).toBe(30_000);
  });

  it("is NaN for anything else", () => {
    for (const text of [
      "",
      "now+1h",
      "now-0m",
      "now-1",
      "now-1w",
      "now - 1h",
      "now-1.5h",
      "Today",
      "tomorrow",
      "2026-11-22T10:00:00", // no zone
      "1795341600000",
      "2026-02-30",
    ]) {
      expect(parseQueryTime(text, NOW, MIN), text).toBeNaN();
    }
  });
});
