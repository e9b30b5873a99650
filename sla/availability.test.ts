import { describe, expect, it } from "vitest";
import { availability, type DeclaredPeriod, measuredMinutes } from "./availability.js";

/** 2031-03-04 10:00 UTC plus minutes and seconds: fixture times far from the real clock. */
const T0 = Date.UTC(2031, 2, 4, 10, 0, 0);
const at = (min: number, sec = 0) => T0 + min * 60_000 + sec * 1000;
const STALE = 120_000;

/** The verdicts by minute number after T0, for comparing with a hand-made table. */
function table(m: ReadonlyMap<number, string>): Record<number, string> {
  const out: Record<number, string> = {};
  for (const [start, v] of [...m].sort((a, b) => a[0] - b[0])) out[(start - T0) / 60_000] = v;
  return out;
}

describe("measured minutes (interface status)", () => {
  it("carries a status forward to the next sample, for at most staleAfter", () => {
    // up at 0:30 covers [0:30, 2:30) (stale before the next sample at 3:10): minutes 0, 1, 2;
    // down at 3:10 covers [3:10, 3:40): minute 3 down; up at 3:40 covers [3:40, 5:40): 4, 5
    // (minute 3 stays down: a down status in a minute makes it down); 6 to 9 nothing: unknown.
    const samples = [
      { timeMs: at(0, 30), operUp: true },
      { timeMs: at(3, 10), operUp: false },
      { timeMs: at(3, 40), operUp: true },
    ];
    expect(table(measuredMinutes(samples, at(0), at(10), STALE))).toEqual({
      0: "up",
      1: "up",
      2: "up",
      3: "down",
      4: "up",
      5: "up",
    });
  });

  it("a down status anywhere in a minute makes it down, after an up one too", () => {
    const samples = [
      { timeMs: at(0, 10), operUp: true },
      { timeMs: at(0, 50), operUp: false },
      { timeMs: at(1, 5), operUp: true },
    ];
    // down at 0:50 covers [0:50, 1:05): minutes 0 and 1 down; up from 1:05 to 3:05: 2, 3 up.
    expect(table(measuredMinutes(samples, at(0), at(5), STALE))).toEqual({
      0: "down",
      1: "down",
      2: "up",
      3: "up",
    });
  });

  it("a sample before the range carries into it; the range cuts the minutes", () => {
    // down at -0:30 covers [-0:30, 1:30): minutes 0 and 1 of the range.
    const samples = [{ timeMs: at(-1, 30), operUp: false }];
    expect(table(measuredMinutes(samples, at(0), at(10), STALE))).toEqual({ 0: "down", 1: "down" });
    expect(table(measuredMinutes(samples, at(1), at(10), STALE))).toEqual({ 1: "down" });
    // A partial minute at either end of the range is left out.
    expect(table(measuredMinutes(samples, at(0, 1), at(1, 59), STALE))).toEqual({});
  });

  it("a shorter staleAfter leaves the gaps between samples unknown", () => {
    const samples = [
      { timeMs: at(0, 0), operUp: true },
      { timeMs: at(5, 0), operUp: true },
    ];
    expect(table(measuredMinutes(samples, at(0), at(7), 30_000))).toEqual({ 0: "up", 5: "up" });
    expect(table(measuredMinutes(samples, at(0), at(7), 300_000))).toEqual({
      0: "up",
      1: "up",
      2: "up",
      3: "up",
      4: "up",
      5: "up",
      6: "up",
    });
  });
});

describe("a link's availability (measured and declared)", () => {
  const measured = new Map(
    Object.entries({ 0: "up", 1: "up", 2: "up", 3: "down", 4: "up", 5: "up" }).map(([m, v]) => [
      at(Number(m)),
      v as "up" | "down",
    ]),
  );

  it("maintenance leaves minutes out, declared outages are down, measured fills the rest", () => {
    const declared: DeclaredPeriod[] = [
      { kind: "maintenance", startMs: at(4, 30), endMs: at(5, 0) }, // minute 4
      { kind: "outage", startMs: at(1, 0), endMs: at(2, 0) }, // minute 1 (end exclusive)
      { kind: "outage", startMs: at(8, 20) }, // going on: minutes 8 and 9 until now (10:10)
    ];
    // Hand-checked: maintenance {4}; declared down {1, 8, 9}; measured up {0, 2, 5}, down {3};
    // unknown {6, 7}. share = 3 / (3 + 4).
    const a = availability(measured, declared, at(0), at(10), at(10), 50);
    expect(a).toEqual({
      target: 50,
      minutes: 10,
      upMinutes: 3,
      downMinutes: 4,
      unknownMinutes: 2,
      maintenanceMinutes: 1,
      share: 3 / 7,
      met: false,
      sources: { measuredMinutes: 4, declaredOutageMinutes: 3 },
    });
    // 3 × 100 000 = 300 000 ≥ 42 857 × 7 = 299 999: met at 42.857 %, not at 42.858 %.
    expect(availability(measured, declared, at(0), at(10), at(10), 42.857).met).toBe(true);
    expect(availability(measured, declared, at(0), at(10), at(10), 42.858).met).toBe(false);
  });

  it("an outage going on runs until now; maintenance wins over a declared outage", () => {
    const declared: DeclaredPeriod[] = [
      { kind: "outage", startMs: at(2, 0) },
      { kind: "maintenance", startMs: at(3, 0), endMs: at(4, 0) },
    ];
    const a = availability(measured, declared, at(0), at(10), at(5, 30), undefined);
    // outage {2, 4, 5} (3 is maintenance); measured up {0, 1}; unknown {6..9}.
    expect(a).toMatchObject({
      upMinutes: 2,
      downMinutes: 3,
      maintenanceMinutes: 1,
      unknownMinutes: 4,
      met: null,
      target: null,
      sources: { measuredMinutes: 2, declaredOutageMinutes: 3 },
    });
  });

  it("no evidence is no share (never 100 % by default)", () => {
    const a = availability(new Map(), [], at(0), at(60), at(60), 99.9);
    expect(a).toMatchObject({ minutes: 60, unknownMinutes: 60, share: null, met: null });
    const all = availability(
      new Map(),
      [{ kind: "maintenance", startMs: at(-5), endMs: at(70) }],
      at(0),
      at(60),
      at(60),
      99.9,
    );
    expect(all).toMatchObject({ maintenanceMinutes: 60, unknownMinutes: 0, share: null });
  });
});
