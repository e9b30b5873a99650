import { expect, it } from "vitest";
import { tileRange } from "./levels.js";

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** A UTC midnight. */
const T0 = Date.UTC(2026, 10, 1);

it("tiles a range with the coarsest levels that fit", () => {
  const from = T0 + 7 * HOUR + 23 * MINUTE;
  const to = T0 + 2 * DAY + 5 * HOUR + 41 * MINUTE;
  expect(tileRange(from, to)).toEqual([
    { level: "1m", fromMs: from, toMs: T0 + 7 * HOUR + 25 * MINUTE },
    { level: "5m", fromMs: T0 + 7 * HOUR + 25 * MINUTE, toMs: T0 + 8 * HOUR },
    { level: "1h", fromMs: T0 + 8 * HOUR, toMs: T0 + DAY },
    { level: "1d", fromMs: T0 + DAY, toMs: T0 + 2 * DAY },
    { level: "1h", fromMs: T0 + 2 * DAY, toMs: T0 + 2 * DAY + 5 * HOUR },
    { level: "5m", fromMs: T0 + 2 * DAY + 5 * HOUR, toMs: T0 + 2 * DAY + 5 * HOUR + 40 * MINUTE },
    { level: "1m", fromMs: T0 + 2 * DAY + 5 * HOUR + 40 * MINUTE, toMs: to },
  ]);
  expect(tileRange(T0, T0 + 30 * DAY)).toEqual([{ level: "1d", fromMs: T0, toMs: T0 + 30 * DAY }]);
  expect(tileRange(T0, T0)).toEqual([]);
});

it("reads the part after coarseUntilMs from the 1-minute rows, the rest as before", () => {
  const to = T0 + DAY + 2 * HOUR + 10 * MINUTE;
  const until = T0 + DAY + HOUR + 57 * MINUTE + 30_000; // not on a minute: rounded down
  expect(tileRange(T0, to, until)).toEqual([
    { level: "1d", fromMs: T0, toMs: T0 + DAY },
    { level: "1h", fromMs: T0 + DAY, toMs: T0 + DAY + HOUR },
    { level: "5m", fromMs: T0 + DAY + HOUR, toMs: T0 + DAY + HOUR + 55 * MINUTE },
    { level: "1m", fromMs: T0 + DAY + HOUR + 55 * MINUTE, toMs: T0 + DAY + HOUR + 57 * MINUTE },
    { level: "1m", fromMs: T0 + DAY + HOUR + 57 * MINUTE, toMs: to },
  ]);
  // A bound before the range: all of it from the minutes; after it: no change.
  expect(tileRange(T0, T0 + HOUR, T0 - DAY)).toEqual([
    { level: "1m", fromMs: T0, toMs: T0 + HOUR },
  ]);
  expect(tileRange(T0, to, to + DAY)).toEqual(tileRange(T0, to));
});
