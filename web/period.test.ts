import { describe, expect, it } from "vitest";
import { consoleRange, exactParts, PeriodError, portalPeriods, portalRange } from "./period.js";

const at = (s: string) => Date.parse(s);
const iso = (r: { fromMs: number; toMs: number }) => [
  new Date(r.fromMs).toISOString(),
  new Date(r.toMs).toISOString(),
];

describe("periods", () => {
  // A clock fixed in the middle of a minute: 2026-03-01T00:10:30Z (a month after a short one).
  const now = at("2026-03-01T00:10:30Z");

  it("console presets end with the last whole minute", () => {
    const r = (period: never, extra = {}) => iso(consoleRange({ period, ...extra }, now));
    expect(r("last15m" as never)).toEqual(["2026-02-28T23:55:00.000Z", "2026-03-01T00:10:00.000Z"]);
    expect(r("last1h" as never)).toEqual(["2026-02-28T23:10:00.000Z", "2026-03-01T00:10:00.000Z"]);
    expect(r("last24h" as never)).toEqual(["2026-02-28T00:10:00.000Z", "2026-03-01T00:10:00.000Z"]);
    expect(r("today" as never)).toEqual(["2026-03-01T00:00:00.000Z", "2026-03-01T00:10:00.000Z"]);
    expect(r("yesterday" as never)).toEqual([
      "2026-02-28T00:00:00.000Z",
      "2026-03-01T00:00:00.000Z",
    ]);
    expect(r("last7d" as never)).toEqual(["2026-02-22T00:10:00.000Z", "2026-03-01T00:10:00.000Z"]);
    expect(r("thisMonth" as never)).toEqual([
      "2026-03-01T00:00:00.000Z",
      "2026-03-01T00:10:00.000Z",
    ]);
    expect(r("lastMonth" as never)).toEqual([
      "2026-02-01T00:00:00.000Z",
      "2026-03-01T00:00:00.000Z",
    ]);
    expect(r("year" as never, { year: "2024" })).toEqual([
      "2024-01-01T00:00:00.000Z",
      "2025-01-01T00:00:00.000Z",
    ]);
    expect(r("month" as never, { month: "2024-02" })).toEqual([
      "2024-02-01T00:00:00.000Z",
      "2024-03-01T00:00:00.000Z",
    ]);
    expect(r("month" as never, { month: "2024-12" })).toEqual([
      "2024-12-01T00:00:00.000Z",
      "2025-01-01T00:00:00.000Z",
    ]);
    expect(r("custom" as never, { from: "2026-11-01T10:00", to: "2026-11-01T11:00" })).toEqual([
      "2026-11-01T10:00:00.000Z",
      "2026-11-01T11:00:00.000Z",
    ]);
  });

  it("today holds a minute at 00:00:30, and bad choices name their field", () => {
    const early = at("2026-03-01T00:00:30Z");
    expect(iso(consoleRange({ period: "today" }, early))).toEqual([
      "2026-03-01T00:00:00.000Z",
      "2026-03-01T00:01:00.000Z",
    ]);
    const field = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e instanceof PeriodError ? e.field : "other";
      }
      return "none";
    };
    expect(field(() => consoleRange({ period: "year", year: "26" }, now))).toBe("year");
    expect(field(() => consoleRange({ period: "month", month: "2026-13" }, now))).toBe("month");
    expect(field(() => consoleRange({ period: "custom", from: "x", to: "2026-11-01" }, now))).toBe(
      "from",
    );
    expect(
      field(() => consoleRange({ period: "custom", from: "2026-11-02", to: "2026-11-01" }, now)),
    ).toBe("to");
  });

  it("portal periods as Packeteer names them", () => {
    const n = at("2026-11-02T12:34:56Z");
    const got = Object.fromEntries(portalPeriods.map((p) => [p, iso(portalRange(p, n))]));
    expect(got).toEqual({
      "LAST-MINUTE": ["2026-11-02T12:33:00.000Z", "2026-11-02T12:34:00.000Z"],
      "LAST-15-MINUTES": ["2026-11-02T12:19:00.000Z", "2026-11-02T12:34:00.000Z"],
      "LAST-60-MINUTES": ["2026-11-02T11:34:00.000Z", "2026-11-02T12:34:00.000Z"],
      "LAST-FULL-HOUR": ["2026-11-02T11:00:00.000Z", "2026-11-02T12:00:00.000Z"],
      "LAST-24-HOURS": ["2026-11-01T12:34:00.000Z", "2026-11-02T12:34:00.000Z"],
      "LAST-7-DAYS": ["2026-10-26T12:34:00.000Z", "2026-11-02T12:34:00.000Z"],
      TODAY: ["2026-11-02T00:00:00.000Z", "2026-11-02T12:34:00.000Z"],
      YESTERDAY: ["2026-11-01T00:00:00.000Z", "2026-11-02T00:00:00.000Z"],
      "THIS-MONTH": ["2026-11-01T00:00:00.000Z", "2026-11-02T12:34:00.000Z"],
      "LAST-MONTH": ["2026-10-01T00:00:00.000Z", "2026-11-01T00:00:00.000Z"],
    });
  });
});

describe("exact parts", () => {
  const t = (s: string) => Date.parse(s);
  const shown = (parts: ReturnType<typeof exactParts>) =>
    parts.map(
      (p) =>
        `${new Date(p.fromMs).toISOString().slice(5, 16)}/${new Date(p.toMs).toISOString().slice(5, 16)}@${p.step}`,
    );
  it("splits a range into minutes, whole hours and minutes, covering it exactly once", () => {
    expect(
      shown(exactParts({ fromMs: t("2026-11-01T10:15:00Z"), toMs: t("2026-11-03T08:20:00Z") })),
    ).toEqual([
      "11-01T10:15/11-01T11:00@1m",
      "11-01T11:00/11-03T08:00@1h",
      "11-03T08:00/11-03T08:20@1m",
    ]);
    expect(
      shown(exactParts({ fromMs: t("2026-11-01T00:00:00Z"), toMs: t("2026-12-01T00:00:00Z") })),
    ).toEqual(["11-01T00:00/12-01T00:00@1h"]);
    expect(
      shown(exactParts({ fromMs: t("2026-11-01T10:15:00Z"), toMs: t("2026-11-01T10:45:00Z") })),
    ).toEqual(["11-01T10:15/11-01T10:45@1m"]);
    // No whole hour inside: one part of minutes (50 points).
    expect(
      shown(exactParts({ fromMs: t("2026-11-01T10:15:00Z"), toMs: t("2026-11-01T11:05:00Z") })),
    ).toEqual(["11-01T10:15/11-01T11:05@1m"]);
  });
});
