import { describe, expect, it } from "vitest";
import { linkStatusRows } from "../sla/link-status.js";
import { customerOutages, measuredDownPeriods } from "./sla-outages.js";

const T0 = Date.UTC(2031, 4, 6, 8);
const M = 60_000;

describe("measured down periods", () => {
  it("merges consecutive down minutes per link; an up minute or a minute without a row ends one", () => {
    const a = { customer: "acme", site: "hq", link: "a" };
    const b = { customer: "acme", site: "hq", link: "b" };
    // a: down 0 1, up 2, down 3, (no row 4), down 5 6; b: down 1. Given out of order.
    const rows = [
      ...[6, 5, 3, 1, 0].map((m) => linkStatusRows(a, T0 + m * M, true)),
      linkStatusRows(a, T0 + 2 * M, false),
      linkStatusRows(b, T0 + M, true),
    ].flatMap((r) => r.filter((x) => x.level === "1m"));
    const got = measuredDownPeriods(rows).map((p) => [
      p.link,
      (p.startMs - T0) / M,
      (p.endMs - T0) / M,
    ]);
    expect(got).toEqual([
      ["a", 0, 2],
      ["a", 3, 4],
      ["a", 5, 7],
      ["b", 1, 2],
    ]);
  });

  it("lists declared outages (an open one with end null), not maintenance", () => {
    const got = customerOutages(
      "acme",
      [
        { site: "hq", link: "a", kind: "outage", startMs: T0 },
        { site: "hq", link: "a", kind: "maintenance", startMs: T0, endMs: T0 + M },
      ],
      [],
    );
    expect(got).toEqual([
      {
        customer: "acme",
        site: "hq",
        link: "a",
        source: "declared",
        start: "2031-05-06T08:00:00Z",
        end: null,
      },
    ]);
  });
});
