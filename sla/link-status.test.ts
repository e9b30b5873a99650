import { describe, expect, it } from "vitest";
import type { LinkStatusRow } from "../schema/series-store.js";
import { LinkStatusMinutes } from "./link-status.js";

const T0 = Date.UTC(2031, 2, 4, 10, 0, 0);
const at = (min: number, sec = 0) => T0 + min * 60_000 + sec * 1000;
const L1 = { customer: "acme", site: "hq", link: "l1" };

/** "minute:up" or "minute:down" of the 1-minute rows. */
const minutes = (rows: readonly LinkStatusRow[]) =>
  rows
    .filter((r) => r.level === "1m")
    .map((r) => `${(r.startMs - T0) / 60_000}:${r.downMinutes > 0 ? "down" : "up"}`);

describe("live link-status minutes", () => {
  it("closes complete minutes as they come, carrying the status forward until stale", () => {
    const t = new LinkStatusMinutes(120_000);
    t.add(L1, at(0, 30), true);
    expect(minutes(t.close(at(2, 10)))).toEqual(["0:up", "1:up"]);
    t.add(L1, at(3, 10), false);
    t.add(L1, at(3, 40), true);
    expect(minutes(t.close(at(4)))).toEqual(["2:up", "3:down"]);
    const rows = t.close(at(10));
    expect(minutes(rows)).toEqual(["4:up", "5:up"]);
    // Each minute adds to its 5-minute, hour and day rows.
    expect(rows.filter((r) => r.level === "5m")).toEqual([
      { level: "5m", startMs: at(0), ...L1, upMinutes: 1, downMinutes: 0 },
      { level: "5m", startMs: at(5), ...L1, upMinutes: 1, downMinutes: 0 },
    ]);
    expect(t.stats()).toEqual({ links: 0, late: 0 });
    // A sample for closed minutes that no longer carries into open ones: late.
    t.add(L1, at(1), false);
    expect(t.stats().late).toBe(1);
    // One that still carries: from the first open minute.
    t.add(L1, at(9, 30), false);
    expect(minutes(t.close(at(13)))).toEqual(["10:down", "11:down"]);
  });

  it("a sample out of order within open minutes counts; each link apart", () => {
    const t = new LinkStatusMinutes(60_000);
    const l2 = { ...L1, link: "l2" };
    t.add(L1, at(0, 40), true);
    t.add(L1, at(0, 10), false);
    t.add(l2, at(0, 0), true);
    expect(minutes(t.close(at(2)))).toEqual(["0:down", "1:up", "0:up"]);
  });
});
